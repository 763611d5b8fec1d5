/**
 * The worker on the devnet, as the deployment guide runs it: venus-sector-manager and the devnet (see
 * worker-harness.ts), then `venus-worker store seal-init` / `store file-init` / `daemon --config` as real
 * programs, with two seal stores and external pc2 and c2 processors. Two 2KiB CC sectors must become active on
 * chain with their files in the remote store. Seal proofs are the devnet's format (the C1 output), verified in
 * full by the manager and by the chain.
 */
import assert from 'node:assert/strict';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setupLogging } from '../../src/common/log.js';
import { setDefaultNetwork } from '../../src/fil/index.js';
import { type Cluster, run, startCluster, until, WORKER } from './worker-harness.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });
setDefaultNetwork('t');

let cluster: Cluster | undefined;
after(() => cluster?.close());

test('venus-worker with 2 seal stores and external pc2/c2 seals two 2KiB sectors to active on chain', {
  timeout: 600_000,
}, async () => {
  cluster = await startCluster({ maxNumber: 2 });
  const c = cluster;
  const seal = [join(c.dir, 'seal', 'seal_01'), join(c.dir, 'seal', 'seal_02')];
  let r = await run(WORKER, ['store', 'seal-init', '-l', ...seal]);
  assert.equal(r.code, 0, r.stderr);
  r = await run(WORKER, ['store', 'file-init', '-l', c.remote]);
  assert.equal(r.code, 0, r.stderr);
  const cfg = join(c.dir, 'venus-worker.toml');
  // the guide's shape: [remote] has only a path (the manager names the store "store-<miner>" at the same Path),
  // and rpc_polling_interval keeps the guide's default (3m0s), the longest between two chain checks
  const guideShape = c
    .workerConfig(seal)
    .replace(`name = "${c.storeName}"\n`, '')
    .replace('rpc_polling_interval = "1s"\n', '');
  assert.doesNotMatch(guideShape, /^name =|rpc_polling_interval/m);
  writeFileSync(cfg, guideShape);
  const w = c.startWorker(cfg);
  for (const n of [1, 2]) {
    await until(
      `sector ${n} active on chain`,
      async () => ((await c.chain.StateSectorGetInfo(c.minerAddr, n, null)) ? true : undefined),
      480_000,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\nworker log tail:\n${w.log().slice(-4000)}`);
    });
  }
  for (const n of [1, 2]) {
    const name = `s-t0${c.miner}-${n}`;
    assert.equal(statSync(join(c.remote, 'sealed', name)).size, 2048);
    assert.deepEqual(readdirSync(join(c.remote, 'cache', name)).sort(), [
      'p_aux',
      'sc-02-data-tree-r-last.dat',
      't_aux',
    ]);
  }
  assert.match(w.log(), /processor ready/);
  assert.doesNotMatch(w.log(), /has room|Venus\.StoreReserveSpace|ERROR/);
  assert.match(w.log(), /PreCommit sent; waiting for it to land .*rpc_polling_interval 3m0s/);
  // the chain shows the sector active before the worker's next proof-state poll sees it land
  await until(
    'the worker to finish both sectors',
    async () => (w.log().match(/sector finished/g)?.length === 2 ? true : undefined),
    120_000,
  );
});
