import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { parseManagerConfig } from './config.js';
import { haSettings } from './config-ha.js';

test('[Common.HA]: Name and LeaseTTL, defaults hostname-pid and 30s; bad values refused naming the key', () => {
  const c = parseManagerConfig('t.cfg', '[Common.HA]\nName = "manager-a"\nLeaseTTL = "3s"\n');
  assert.deepEqual(haSettings(c.Common.HA), { name: 'manager-a', ttlMs: 3000 });
  const d = parseManagerConfig('t.cfg', '');
  assert.deepEqual(haSettings(d.Common.HA), { name: `${hostname()}-${process.pid}`, ttlMs: 30_000 });
  assert.equal(d.Common.DB.Driver, 'sqlite', '[Common.DB] keeps its defaults next to it');
  const e = parseManagerConfig('t.cfg', '[Common.DB]\nDriver = "sqlite"\n[Common.HA]\nLeaseTTL = "1m"\n');
  assert.equal(haSettings(e.Common.HA).ttlMs, 60_000);
  assert.throws(
    () => parseManagerConfig('t.cfg', '[Common.HA]\nLeaseTTL = "100ms"\n'),
    /Common\.HA\.LeaseTTL: "100ms" is out of range: between 1s and 10m0s/,
  );
  assert.throws(
    () => parseManagerConfig('t.cfg', '[Common.HA]\nLeaseTTL = "soon"\n'),
    /Common\.HA\.LeaseTTL: bad duration/,
  );
  assert.throws(() => parseManagerConfig('t.cfg', '[Common.HA]\nName = "a b"\n'), /Common\.HA\.Name: must be 1–64/);
  assert.throws(() => parseManagerConfig('t.cfg', '[Common.HA]\nName = 5\n'), /Common\.HA\.Name/);
  assert.throws(() => parseManagerConfig('t.cfg', '[Common.HA]\nTTL = "3s"\n'), /Common\.HA/);
});
