import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { initHome, loadManagerConfig, parseManagerConfig } from './config.js';
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

test('daemon init writes [Common.HA] (and [Common.DB]) commented, each key documented; uncommented it parses', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-ha-init-'));
  try {
    const { file } = initHome(join(dir, 'home'));
    const text = readFileSync(file, 'utf8');
    assert.match(text, /\n#\[Common\]\n/);
    assert.match(text, /\n# {2}\[Common\.DB\]\n# {4}Driver = "sqlite"\n/);
    assert.match(text, /\n# {2}\[Common\.HA\]\n/);
    // every key with a line saying what it is, right above it
    assert.match(text, /# {4}# this manager in the lease table[^\n]*\n(# {4}#[^\n]*\n)*# {4}Name = ""\n/);
    assert.match(text, /# {4}# between 1s and 10m[^\n]*\n# {4}LeaseTTL = "30s"\n/);
    // as written (all commented): the defaults
    assert.deepEqual(haSettings(loadManagerConfig(file).Common.HA), {
      name: `${hostname()}-${process.pid}`,
      ttlMs: 30_000,
    });
    // an operator uncommenting the section and naming the manager
    const at = text.indexOf('#[Common]');
    const mine = (
      text.slice(0, at) +
      text
        .slice(at)
        .split('\n')
        .map((l) => l.replace(/^#/, ''))
        .join('\n')
    )
      .replace('Name = ""', 'Name = "manager-a"')
      .replace('LeaseTTL = "30s"', 'LeaseTTL = "10s"');
    const cfg = parseManagerConfig(file, mine);
    assert.deepEqual(haSettings(cfg.Common.HA), { name: 'manager-a', ttlMs: 10_000 });
    assert.equal(cfg.Common.DB.Driver, 'sqlite');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
