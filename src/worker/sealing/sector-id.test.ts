/**
 * Security review H4: sector ids come from the manager (or a saved sector.json) and become file names. A
 * hostile or impersonated manager answering AllocateSector with "1000/../../../../victim", 1e21, -1, 1.5 or
 * "7" must not make the thread touch anything: the allocation is refused as a permanent failure naming the
 * value, nothing is asked of the manager for that sector, and a directory next to the seal store survives.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SealerAPI } from '../../api/sealer.js';
import { createClient } from '../../rpc/index.js';
import { SEALING_DEFAULTS, type SealingThreadConfig } from '../config.js';
import type { Sealer } from '../processor/index.js';
import { SealStore, sectorFileName, sectorIdProblem } from '../store.js';
import type { FakeManager } from './testkit.js';
import { SealingThread } from './thread.js';
import { fakeManager, testBase, testDeps, until } from './threads.test-util.js';

const base = await testBase('sector-id-');

/** Records what would run; nothing here should ever be reached. */
const ran: string[] = [];
const sealer: Sealer = {
  run: async (stage) => {
    ran.push(stage);
    throw new Error(`${stage} must not run`);
  },
  where: () => 'builtin',
  stop: async () => {},
};

let n = 0;
/** A thread on a fresh seal store <dir>/store, with <dir>/victim-1 (a file inside) next to it. */
async function run(prepare: (mgr: FakeManager, store: string) => Promise<void> | void, allowedMiners?: number[]) {
  const dir = join(base, `t${n++}`);
  const location = join(dir, 'store');
  const { mgr, remote } = await fakeManager(dir, [location]);
  const victim = join(dir, 'victim-1');
  await mkdir(victim);
  await writeFile(join(victim, 'keep'), 'precious');
  await prepare(mgr, location);
  await mgr.listen();
  const manager = createClient(SealerAPI, { url: mgr.url, timeoutMs: 5000 });
  const cfg: SealingThreadConfig = {
    location,
    plan: 'sealer',
    sealing: {
      ...SEALING_DEFAULTS,
      allowedMiners: allowedMiners ?? null,
      recoverIntervalMs: 20,
      sealIntervalMs: 20,
      rpcPollingIntervalMs: 10,
    },
  };
  const t = new SealingThread(0, cfg, testDeps(manager, remote, { sealer }));
  try {
    await t.start();
    await until('the thread paused', () => t.info().thread_state.state === 'Paused');
    const info = t.info();
    assert.equal(await readFile(join(victim, 'keep'), 'utf8'), 'precious');
    assert.deepEqual(await readdir(join(location, 'data'), { recursive: true }), []);
    return { info, calls: mgr.calls };
  } finally {
    await t.stop();
    await manager.close();
    await mgr.down();
  }
}

describe('sector ids from the manager (H4)', () => {
  for (const [what, set, expect] of [
    [
      'a path in Number (rm -rf outside the store before the fix)',
      (m: FakeManager, store: string) => {
        // planted as an allocation this store never reported, which the fake re-offers as it is
        const allocated = { ID: { Miner: 1000, Number: '1/../../../../victim' as unknown as number }, ProofType: 5 };
        const fake = m as unknown as {
          newSector(a: unknown, w: unknown): FakeManager['sectors'] extends Map<number, infer S> ? S : never;
        };
        m.sectors.set(allocated.ID.Number, fake.newSector(allocated, { Instance: 'test-worker', Location: store }));
      },
      /invalid id: sector id Number "1\/\.\.\/\.\.\/\.\.\/\.\.\/victim" is not a non-negative integer/,
    ],
    [
      'a path in Miner',
      (m: FakeManager) => {
        m.miner = '1000/../../../../victim' as unknown as number;
      },
      /invalid id: sector id Miner "1000\/\.\.\/\.\.\/\.\.\/\.\.\/victim" is not a non-negative integer/,
    ],
    [
      'a huge Number',
      (m: FakeManager) => {
        m.nextNumber = 1e21;
      },
      /Number 1e\+21 is not a non-negative integer below 2\^53/,
    ],
    [
      'a negative Number',
      (m: FakeManager) => {
        m.nextNumber = -1;
      },
      /Number -1 /,
    ],
    [
      'a fraction',
      (m: FakeManager) => {
        m.nextNumber = 1.5;
      },
      /Number 1\.5 /,
    ],
  ] as const) {
    it(`refuses ${what}: a permanent failure, nothing touched`, async () => {
      const { info, calls } = await run(set);
      assert.match(info.last_error ?? '', expect);
      assert.match(info.last_error ?? '', /^the manager allocated a sector with an invalid id/);
      assert.equal(info.job_id, null);
      assert.deepEqual(
        calls.filter((c) => c !== 'AllocateSector' && c !== 'WorkerPing'),
        [],
      );
      assert.deepEqual(ran, []);
    });
  }

  it('refuses a miner outside allowed_miners', async () => {
    const { info, calls } = await run(() => {}, [2000]);
    assert.match(info.last_error ?? '', /sector of miner 1000, not one of allowed_miners/);
    assert.deepEqual(calls, ['AllocateSector']);
  });

  it('a sector.json with a path in its id is refused at load', async () => {
    const { info, calls } = await run(async (_m, store) => {
      const doc = {
        version: 1,
        plan: 'sealer',
        state: 'PieceAdded',
        prev_state: 'DealsAcquired',
        retry: 0,
        base: { allocated: { ID: { Miner: 1000, Number: '1/../../../../victim-1' }, ProofType: 5 }, prover_id: [] },
        deals: null,
        phases: {},
      };
      await writeFile(join(store, 'meta', 'sector.json'), JSON.stringify(doc));
    });
    assert.match(
      info.last_error ?? '',
      /sector\.json is damaged: sector id Number "1\/\.\.\/.*" is not a non-negative/,
    );
    assert.deepEqual(calls, []);
  });

  it('the store itself refuses to name such a sector', async () => {
    assert.throws(() => sectorFileName(1000, '1/../x' as unknown as number), RangeError);
    assert.throws(() => sectorFileName(1000, 2 ** 53), RangeError);
    assert.equal(sectorFileName(1000, 2 ** 53 - 1), `s-t01000-${2 ** 53 - 1}`);
    const s = await SealStore.open(join(base, 't0', 'store'));
    assert.throws(() => s.sector('..' as unknown as number, 1), /sector id Miner "\.\." is not/);
    assert.equal(sectorIdProblem({ Miner: 0, Number: 0 }), null);
    assert.match(sectorIdProblem(null) ?? '', /not an object/);
    assert.match(sectorIdProblem({ Miner: 1, Number: 'x'.repeat(1000) }) ?? '', /^.{0,120}$/);
  });
});
