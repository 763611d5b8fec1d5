/**
 * Batch PC1 on the devnet: venus-sector-manager with an 8MiB miner and the devnet (worker-harness.ts), then the
 * built `venus-worker daemon --config` with four sealing threads and `[processors.pc1] batch = 4`. The four
 * sectors must be labeled in one batch (one "batch PC1 starts" line naming four sectors) and each must become
 * active on chain, its sealed file and cache in the remote store. PC2 and C2 run in external processors, as
 * in the guide.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setupLogging } from '../../src/common/log.js';
import { setDefaultNetwork } from '../../src/fil/index.js';
import { type Cluster, run, startCluster, until, WORKER, WORKER_BUILT } from './worker-harness.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });
setDefaultNetwork('t');

let cluster: Cluster | undefined;
after(() => cluster?.close());

const SECTOR = 8 << 20;

test('venus-worker with four sealing threads and batch PC1 seals four 8MiB sectors to active on chain', {
  timeout: 900_000,
}, async () => {
  cluster = await startCluster({ maxNumber: 4, sectorSize: '8MiB' });
  const c = cluster;
  const seal = [1, 2, 3, 4].map((i) => join(c.dir, 'seal', `seal_0${i}`));
  let r = await run(WORKER, ['store', 'seal-init', '-l', ...seal]);
  assert.equal(r.code, 0, r.stderr);
  r = await run(WORKER, ['store', 'file-init', '-l', c.remote]);
  assert.equal(r.code, 0, r.stderr);
  const cfg = join(c.dir, 'venus-worker.toml');
  const text = c
    .workerConfig(seal, '\n[processors.pc1]\nbatch = 4\ngather_timeout = "5m"\n')
    .replace('[limit]\n', '[limit]\npc1 = 4\n');
  writeFileSync(cfg, text);
  // the built worker when there is one (half the start-up time, for it and its processors)
  const w = c.startWorker(cfg, { built: existsSync(WORKER_BUILT) });
  const started = Date.now();
  const tail = (err: unknown) => {
    throw new Error(`${(err as Error).message}\nworker log tail:\n${w.log().slice(-4000)}`);
  };
  await until('batch PC1 to start', async () => (/batch PC1 starts/.test(w.log()) ? true : undefined), 300_000).catch(
    tail,
  );
  for (const n of [1, 2, 3, 4]) {
    await until(
      `sector ${n} active on chain`,
      async () => ((await c.chain.StateSectorGetInfo(c.minerAddr, n, null)) ? true : undefined),
      600_000,
    ).catch(tail);
  }
  const log = w.log();
  // one batch of the four sectors: no sector labeled alone
  const starts = log.split('\n').filter((l) => l.includes('batch PC1 starts'));
  assert.equal(starts.length, 1, starts.join('\n'));
  const inBatch = /"sectors":\[([\d,]+)\]/.exec(starts[0]!)?.[1];
  assert.deepEqual(inBatch?.split(',').map(Number).sort(), [1, 2, 3, 4], starts[0]);
  assert.doesNotMatch(log, /batch PC1: sector failed|batch PC1 failed|ERROR/);
  for (const n of [1, 2, 3, 4]) {
    const name = `s-t0${c.miner}-${n}`;
    assert.equal(statSync(join(c.remote, 'sealed', name)).size, SECTOR);
    const cache = readdirSync(join(c.remote, 'cache', name));
    assert.ok(cache.includes('p_aux') && cache.includes('t_aux'), cache.join(', '));
  }
  await until(
    'the worker to finish four sectors',
    async () => (w.log().match(/sector finished/g)?.length === 4 ? true : undefined),
    120_000,
  ).catch(tail);
  process.stderr.write(`# four 8MiB sectors with batch PC1: active in ${Math.round((Date.now() - started) / 1000)}s\n`);
});
