// AllocateSector on PostgreSQL costs one round trip per statement (the worker-thread bridge, ~1 ms each) and every
// allocation of a miner waits for the one before (its number lock): the statements an allocation makes are what
// bounds allocations per second. Counted here on whichever backend the tests run (VENUS_TEST_DB), with a Db that
// counts what reaches the database, and the same answers as always.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ChainAPI } from '../chain.js';
import { CommitmentManager } from '../commit/index.js';
import { parseManagerConfig } from '../config.js';
import { ManagerStore } from '../db.js';
import { makeHarness } from '../harness.test-util.js';
import { MinerInfoCache } from '../miners.js';
import { SealerService } from '../sealer.js';
import { openTestDb } from '../sql/pg.test-util.js';
import type { Db } from '../sql/types.js';
import { PersistStores, storesFromConfig } from '../stores.js';
import { FakeChain, fakeVerifier, TEST_POLICY } from '../testkit.js';

function counting(db: Db): Db & { statements: number } {
  const self = {
    statements: 0,
    dialect: db.dialect,
    prepare(sql: string) {
      const s = db.prepare(sql);
      return {
        get: (...p: unknown[]) => count(() => s.get(...p)),
        all: (...p: unknown[]) => count(() => s.all(...p)),
        run: (...p: unknown[]) => count(() => s.run(...p)),
      };
    },
    exec: (sql: string) => count(() => db.exec(sql)),
    // BEGIN and COMMIT: a round trip each
    tx: <T>(fn: () => T): T => count(() => db.tx(fn), 2),
    now: () => count(() => db.now()),
    close: () => db.close(),
  };
  function count<T>(f: () => T, n = 1): T {
    self.statements += n;
    return f();
  }
  return self;
}

test('AllocateSector: a seal store’s allocation takes at most 10 statements (it took 17)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-alloc-rt-'));
  const chain = new FakeChain();
  chain.addMiner(1000);
  const cfg = parseManagerConfig('t.cfg', '[[SectorManager.Miners]]\nID = 1000\nInitNumber = 0\nMaxNumber = 1000\n');
  const db = counting(openTestDb(join(dir, 'manager.db')));
  const store = new ManagerStore(db);
  const miners = new MinerInfoCache(chain.api());
  const commit = new CommitmentManager({
    store,
    chain: chain.api(),
    messager: chain.messager(),
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
  });
  const sealer = new SealerService({
    store,
    chain: chain.api(),
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
    commit,
    stores: new PersistStores(storesFromConfig(cfg), store),
    verifier: fakeVerifier,
  });
  const worker = { admin: false, name: 'w1' };
  const stores = [0, 1, 2, 3].map((i) => ({ Instance: 'worker-1', Location: `/seal/${i}` }));
  const alloc = (w: (typeof stores)[number]) =>
    sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null, Worker: w }, worker);
  // each store once: its first allocation (the miner's facts are fetched and cached, the store is new)
  for (const w of stores) await alloc(w);
  const costs: number[] = [];
  const numbers: number[] = [];
  for (let round = 0; round < 3; round++)
    for (const w of stores) {
      // the store's sector moved on (a ticket): the next call allocates a new one
      const prev = store.allocationOf(w)!;
      await sealer.assignTicket(prev, worker);
      const before = db.statements;
      const s = (await alloc(w))!;
      costs.push(db.statements - before);
      numbers.push(s.ID.Number);
      assert.deepEqual(store.allocationOf(w), s.ID, 'recorded as the store’s allocation');
      assert.equal(store.sectorOwner(s.ID), 'w1');
      assert.deepEqual(
        store.sectorEvents(s.ID).map((e) => e.state),
        ['Allocated'],
      );
    }
  assert.deepEqual(
    numbers,
    Array.from({ length: 12 }, (_, i) => i + 5),
  );
  // the same store asking again before its sector moved on gets the same sector back, and no new number
  const again = (await alloc(stores[0]!))!;
  assert.equal(again.ID.Number, numbers[numbers.length - 4]);
  assert.ok(Math.max(...costs) <= 10, `statements per allocation: ${costs.join(', ')}`);
  // a worker's ping: its first one caps the table in a transaction, the next ones replace its row (it took 4)
  const info = { Name: 'w1', Dest: '127.0.0.1', Threads: [] } as unknown as Parameters<typeof store.pingWorker>[0];
  store.pingWorker(info);
  const before = db.statements;
  store.pingWorker(info);
  assert.equal(db.statements - before, 1, 'one statement per ping of a known worker');
  assert.equal(store.listWorkers().length, 1);
  commit.stop();
  store.close();
});

/** A FakeChain whose ChainHead takes a while (a loaded node) and is counted. */
class SlowHeadChain extends FakeChain {
  heads = 0;
  override api(): ChainAPI {
    const api = super.api();
    return {
      ...api,
      ChainHead: async () => {
        this.heads++;
        await new Promise((r) => setTimeout(r, 30));
        return api.ChainHead();
      },
    };
  }
}

test('AllocateSector: allocations queued for a miner share one chain head read, not one each under the lock', async () => {
  const chain = new SlowHeadChain();
  const h = makeHarness({ chain });
  const worker = { admin: false, name: 'w1' };
  const all = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      h.sealer.allocateSector(
        { AllowedMiners: null, AllowedProofTypes: null, Worker: { Instance: 'w', Location: `/seal/${i}` } },
        worker,
      ),
    ),
  );
  assert.deepEqual(
    all.map((s) => s!.ID.Number).sort((a, b) => a - b),
    Array.from({ length: 10 }, (_, i) => i + 1),
  );
  // before: the head was read under the miner's lock, one after another (10 reads, 10 × its latency in a row)
  assert.ok(chain.heads <= 2, `${chain.heads} ChainHead reads for 10 queued allocations`);
  h.commit.stop();
});
