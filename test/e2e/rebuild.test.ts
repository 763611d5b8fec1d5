// Sector rebuild with the real programs (docs/rebuild.md): `venus-cluster` seals two 2KiB sectors on a fast devnet
// clock and Window PoSt proves them; one sector's sealed file is deleted from the persist store; the poster skips it
// and the chain marks it faulty; `venus-sector-manager util sealer sectors rebuild` hands it to the worker's
// `plan = "rebuild"` thread (the runner's worker config has one), which seals it again from its ticket, checks the
// comm_r against the chain and persists it: the file is byte-identical to the lost one, the poster declares the
// recovery and a later Window PoSt proves it — read from the devnet's own API, not from the manager's word.
// The same for a snapped sector (its updated replica lost, the CC sector sealed again and its deal encoded again):
// test/e2e/snapup.test.ts, which has the upgraded sector already.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { e2eProcesses } from './cluster-harness.js';
import { devnetApi, managerUp, managerUtil, minerPartitions, readClusterState, startCluster } from './cluster-run.js';

const { home, start, run } = e2eProcesses('rebuild-e2e-');

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('rebuild: a sector whose sealed file was lost goes faulty, is rebuilt byte-identical, recovered and proven again', {
  timeout: 9 * 60_000,
}, async () => {
  const t0 = Date.now();
  const cluster = startCluster(start, home, ['--sectors', '2'], { pollMs: 250 });
  const { tail, until } = cluster;

  // the devnet and the manager, from what the runner recorded
  const { managerPort, miner } = await until('the sector-manager and the miner', 5 * 60_000, async () => {
    const m = await managerUp(home);
    const state = readClusterState(home);
    return m && state.miner ? { managerPort: m.port, miner: String(state.miner) } : undefined;
  });
  const { chain } = devnetApi(home);
  /** The miner's sectors per partition state, summed over its deadlines (the chain's view). */
  const chainSectors = () => minerPartitions(chain, miner);
  const util = managerUtil(run, home, managerPort);

  // both sectors sealed, and proven by Window PoSt (active: proven at least once and not faulty)
  await until('both sectors active on chain', 6 * 60_000, async () => (await chainSectors()).active.size === 2);
  const sealedAt = (Date.now() - t0) / 1000;
  const number = 1;
  const name = `s-${miner}-${number}`;
  const sealedFile = join(home, 'remote', 'sealed', name);
  const original = readFileSync(sealedFile);
  assert.equal(original.length, 2048);
  unlinkSync(sealedFile);
  const lostAt = Date.now();

  // the poster's check fails for it: the next Window PoSt of its deadline skips it and the chain marks it faulty
  await until(`${name} faulty on chain`, 3 * 60_000, async () => (await chainSectors()).faulty.has(number));
  const faultyAfter = (Date.now() - lostAt) / 1000;
  assert.ok((await chainSectors()).active.has(2), 'the other sector stays active');

  const r = await util('sealer', 'sectors', 'rebuild', miner, String(number));
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, new RegExp(`${name} set for rebuild`));
  const rebuildAt = Date.now();

  // the rebuild thread seals it again and persists it: the same bytes as the lost file
  await until(`${name} rebuilt in the persist store`, 3 * 60_000, async () => {
    if (!existsSync(sealedFile)) return false;
    const now = readFileSync(sealedFile);
    return now.length === original.length && sha256(now) === sha256(original);
  });
  const rebuiltAfter = (Date.now() - rebuildAt) / 1000;
  assert.ok(readFileSync(sealedFile).equals(original), 'byte-identical');

  // the manager ends the task: the sector is finalized again, no longer set for rebuild, never aborted
  const state = await until('the rebuild task ended', 60_000, async () => {
    const s = await util('sealer', 'sectors', 'state', '--offline', miner, String(number));
    if (s.code !== 0) return undefined;
    const st = JSON.parse(s.out.slice(s.out.indexOf('{')));
    return st.NeedRebuild === false && st.Finalized === true ? st : undefined;
  });
  assert.equal(state.AbortReason, '');

  // the poster declares the recovery and a later Window PoSt proves it: not faulty, active
  await until(`${name} recovered and proven on chain`, 3 * 60_000, async () => {
    const c = await chainSectors();
    return !c.faulty.has(number) && !c.recovering.has(number) && c.active.has(number) && c.active.size === 2;
  });
  const managerLog = readFileSync(join(home, 'logs', 'manager.log'), 'utf8');
  assert.match(managerLog, /declared faults recovered/);
  assert.match(managerLog, /sector rebuilt: its files are persisted again/);
  const workerLog = readFileSync(join(home, 'logs', 'worker.log'), 'utf8');
  assert.match(workerLog, /rebuild task allocated/);
  const total = (Date.now() - t0) / 1000;
  process.stdout.write(
    `# rebuild e2e: ${total.toFixed(0)} s (sealed and proven ${sealedAt.toFixed(0)} s, faulty after ${faultyAfter.toFixed(0)} s, rebuilt in ${rebuiltAfter.toFixed(0)} s)\n`,
  );

  // Ctrl-C stops every program
  assert.equal(await cluster.stop(), 0, tail());
});
