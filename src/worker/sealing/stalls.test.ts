/**
 * The deployment guide's worker config, as written, against the manager's own persist-store matching
 * (src/manager/stores.ts behind the fake manager): the sector persists, a mismatch is said once with the keys
 * to set, and the chain waits are quick at first and logged once (docs/worker-waits.md).
 */
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { SealerAPI } from '../../api/sealer.js';
import { setupLogging } from '../../common/log.js';
import { parseManagerConfig } from '../../manager/config.js';
import { ManagerStore, openDb } from '../../manager/db.js';
import { PersistStores, storesFromConfig } from '../../manager/stores.js';
import { createClient } from '../../rpc/index.js';
import { parseWorkerConfig } from '../config.js';
import { fileInit, sealInit } from '../store.js';
import { StageLimits } from './limits.js';
import { checkPersistStoresAtManager } from './persist-stores.js';
import { FakeManager } from './testkit.js';
import { SealingThread } from './thread.js';
// C1/C2 are test doubles: this file is about waits and stores, not proofs
import { testBase, testSealer, until } from './threads.test-util.js';

const base = await testBase('stalls-');

/** The guide's worker TOML with only the placeholders replaced (one seal store). */
function guideWorkerToml(url: string, seal: string, remote: string, extraSealing = ''): string {
  return `# venus-sector-manager API
[sealer_rpc]
url = "${url}"

# sealing related config
[sealing]
# allow deals?
enable_deals = false
# when sealing fails, how many times to retry before giving up
max_retries = 3
${extraSealing}
# path to local storage
[[store]]
location = "${seal}"

# number of parallel tasks for each phase
[limit]
pc2 = 1
c2 = 1

# path to remote permanent storage
[remote]
path = "${remote}"
`;
}

/** The guide's manager snippet: one persist store with a Name and a Path. */
function managerStores(dir: string, name: string, path: string): PersistStores {
  const cfg = parseManagerConfig(
    'sector-manager.cfg',
    `[[PersistedStore.Stores]]\nName = "${name}"\nPath = "${path}"\n`,
  );
  return new PersistStores(storesFromConfig(cfg), new ManagerStore(openDb(join(dir, 'manager.db'))));
}

let n = 0;
async function setup(opts: { storeName: string; managerPath?: string; extraSealing?: string }) {
  const dir = join(base, `t${n++}`);
  const seal = join(dir, 'seal_01');
  const remote = join(dir, 'persist');
  await sealInit([seal]);
  await fileInit([remote]);
  const mgr = new FakeManager({ sectors: 1 });
  const stores = managerStores(dir, opts.storeName, opts.managerPath ?? remote);
  mgr.persist = stores;
  await mgr.listen();
  const cfg = parseWorkerConfig('venus-worker.toml', guideWorkerToml(mgr.url, seal, remote, opts.extraSealing), dir);
  const manager = createClient(SealerAPI, { url: mgr.url, timeoutMs: 5000 });
  const thread = new SealingThread(0, cfg.threads[0]!, {
    manager,
    sealer: testSealer,
    limits: new StageLimits(cfg.limits),
    persistStores: cfg.persistStores,
    instance: 'vm',
    pieceStoreUrl: null,
    pieceToken: null,
    localPiecesDirs: [],
    staticTreeD: {},
  });
  return {
    dir,
    remote,
    mgr,
    cfg,
    stores,
    manager,
    thread,
    async close() {
      await thread.stop();
      await manager.close();
      await mgr.down();
    },
  };
}

/** Collects the log lines (text format) at `level` while `fn` runs. */
async function captureLog<T>(level: string, fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
  setupLogging({ levelSpec: level, format: 'text', dest: sink });
  try {
    return await fn(lines);
  } finally {
    setupLogging({ levelSpec: 'info', dest: process.stderr });
  }
}

describe("the guide's worker config", () => {
  it('[remote] path only, manager Name + Path: the sector persists into the named store, quickly', async () => {
    const s = await setup({ storeName: 'store-f01000' });
    try {
      // the guide's [remote] has no name: the worker's store is named after its path
      assert.equal(s.cfg.persistStores[0]!.name, s.remote);
      assert.equal(s.cfg.threads[0]!.sealing.rpcPollingIntervalMs, 180_000, "the guide's default");
      assert.deepEqual(await checkPersistStoresAtManager(s.manager, s.cfg.persistStores), []);
      const t0 = Date.now();
      await s.thread.start();
      await until('the sector finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      const took = Date.now() - t0;
      assert.equal(s.mgr.sectors.get(1)!.persisted, 'store-f01000', "SubmitPersisted names the manager's store");
      assert.deepEqual(
        s.stores.detailed()[0]!.ReservedBy?.map((r) => r.By),
        ['s-t01000-1'],
        'reserved in the named store',
      );
      // two chain waits (PreCommit, ProveCommit), each landing at the second poll: seconds, not 2 × 180 s
      assert.ok(took < 20_000, `sealed in ${took} ms`);
    } finally {
      await s.close();
    }
  });

  it('a mismatch is one ERROR naming both config keys, retried quietly, and the sector goes on once fixed', async () => {
    const elsewhere = join(base, 'elsewhere');
    await mkdir(elsewhere, { recursive: true });
    const s = await setup({
      storeName: 'store-f01000',
      managerPath: elsewhere,
      extraSealing: 'rpc_polling_interval = "50ms"',
    });
    try {
      await captureLog('warn', async (lines) => {
        // the start-up check already says it
        assert.deepEqual(await checkPersistStoresAtManager(s.manager, s.cfg.persistStores), [s.remote]);
        await new Promise((r) => setImmediate(r));
        const startWarn = lines.filter((l) => l.includes('is unknown to the manager'));
        assert.equal(startWarn.length, 1, lines.join('\n'));
        assert.match(startWarn[0]!, /\[remote\] name .*\[\[PersistedStore\.Stores\]\] Name/);

        await s.thread.start();
        await until(
          'five refused reservations',
          () => s.mgr.calls.filter((c) => c === 'StoreReserveSpace').length >= 5,
        );
        const info = s.thread.info();
        assert.equal(info.job_state, 'PCLanded');
        assert.equal(info.thread_state.state, 'Waiting');
        assert.match(info.last_error ?? '', /worker offers persist stores/);
        const errors = lines.filter((l) => /\tERROR/.test(l));
        assert.equal(errors.length, 1, `said once:\n${lines.join('\n')}`);
        assert.ok(errors[0]!.includes(`the worker offers persist stores ["${s.remote}"]`), errors[0]);
        assert.ok(errors[0]!.includes(`configured: ["store-f01000" at ${elsewhere}]`), errors[0]);
        assert.ok(errors[0]!.includes('set [remote] name = "store-f01000"'), errors[0]);
        assert.ok(errors[0]!.includes(`[[PersistedStore.Stores]] Path = "${s.remote}"`), errors[0]);
        assert.ok(!lines.some((l) => l.includes('has room')), 'not reported as a lack of space');

        // the operator fixes the manager's Path (no worker restart): the sector goes on
        s.stores.reload(
          storesFromConfig(
            parseManagerConfig(
              'sector-manager.cfg',
              `[[PersistedStore.Stores]]\nName = "store-f01000"\nPath = "${s.remote}"\n`,
            ),
          ),
        );
        await until('the sector finalized', () => s.mgr.sectors.get(1)?.finalized === true);
        assert.equal(s.mgr.sectors.get(1)!.persisted, 'store-f01000');
        assert.equal(s.thread.info().last_error, null);
      });
    } finally {
      await s.close();
    }
  });

  it('each chain wait is logged once at INFO with its next check time, and shown in worker list', async () => {
    const s = await setup({ storeName: 'store-f01000' });
    s.mgr.landAfter = 2;
    try {
      await captureLog('info', async (lines) => {
        await s.thread.start();
        await until('the PreCommit wait', () => s.thread.info().thread_state.state === 'Waiting');
        const shown = s.thread.info();
        assert.equal(shown.job_state, 'PCSubmitted');
        assert.match(shown.thread_state.proc ?? '', /^PreCommit Pending, next check \d\d:\d\d:\d\d$/);
        await until('the sector finalized', () => s.mgr.sectors.get(1)?.finalized === true);
        const waits = lines.filter((l) => l.includes('waiting for it to land'));
        assert.equal(waits.length, 2, `one line per wait, not per poll:\n${waits.join('\n')}`);
        assert.match(
          waits[0]!,
          /PreCommit sent; waiting for it to land \(Pending\), next check at \d\d:\d\d:\d\d \(checks back off up to rpc_polling_interval 3m0s\)/,
        );
        assert.match(waits[1]!, /ProveCommit sent; waiting for it to land/);
        assert.equal(s.mgr.calls.filter((c) => c === 'PollPreCommitState').length, 3);
      });
    } finally {
      await s.close();
    }
  });
});
