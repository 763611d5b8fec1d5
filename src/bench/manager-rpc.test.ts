/**
 * Keeps `npm run bench -- manager-rpc` from rotting: the whole harness (devnet and sector-manager in child
 * processes, a miner made by the CLI) with two simulated workers for a few seconds. Not a measurement.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { degradesAt, formatLoad, parseOptions, runLoad } from './manager-rpc.js';
import { startCluster } from './rpc-load/cluster.js';

test('manager-rpc options: the defaults, the sweep with the headline count, bad values refused', () => {
  const d = parseOptions([]);
  assert.deepEqual([d.workers, d.sweep, d.rate, d.dbs], [200, [25, 50, 100, 200, 400], 30, ['sqlite']]);
  assert.deepEqual(parseOptions(['--workers', '30', '--sweep', '10,50']).sweep, [10, 30, 50]);
  assert.deepEqual(parseOptions(['--workers', '7', '--sweep', 'none']).sweep, [7]);
  assert.deepEqual(parseOptions(['--db', 'both']).dbs, ['sqlite', 'postgres']);
  assert.throws(() => parseOptions(['--workers', '0']), /--workers: expected an integer 1\.\.5000, got "0"/);
  assert.throws(() => parseOptions(['--db', 'mysql']), /--db: sqlite, postgres or both/);
  assert.throws(() => parseOptions(['--rate']), /--rate needs a value/);
});

test('two simulated workers drive sectors through a real manager over the devnet', { timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-manager-rpc-test-'));
  const cluster = await startCluster({ dir, blockMs: 200 });
  try {
    const f = await runLoad(cluster, { workers: 2, rate: 20, warmupSeconds: 0, seconds: 4 });
    const text = formatLoad(f, 40).join('\n');
    assert.equal(f.errors, 0, text);
    assert.ok(f.calls > 0 && f.callsPerSecond > 0, text);
    const methods = f.methods.map((m) => m.method);
    // a sector's first calls come within the first second; what follows depends on the chain's pace
    for (const m of ['ReportState', 'AllocateSector']) assert.ok(methods.includes(m), `${m}?\n${text}`);
    assert.ok(f.p99 >= f.p50 && Number.isFinite(f.p99), text);
    assert.equal(degradesAt([{ ...f, p99: 25 }], 20), 2);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
