/**
 * Fault injection on the devnet: `venus-worker daemon` (two seal stores, external pc2 and c2) with the real
 * manager, killed with SIGKILL (its whole process group, processors included) when one of its seal stores
 * reaches each state of the pipeline in turn (observed in the store's meta/sector.json), and restarted.
 * Every sector must still end active on chain; no sector number may be skipped or reused; each sector must be
 * in exactly one pre-commit and one prove-commit message (decoded from the messages the messager sent).
 * The same with the fake manager, kills exactly at each state: test/e2e/worker-sigkill.test.ts.
 *
 * Part of `npm test` (it builds first): about 5.5 minutes at a load average near 30 on 2 cores, most of it the
 * 17 restarts of the built worker and its two processors (the tsx-run worker did not finish in 10 minutes there).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MessagerAPI } from '../../src/api/messager.js';
import { setupLogging } from '../../src/common/log.js';
import { decodeCbor, setDefaultNetwork } from '../../src/fil/index.js';
import { MinerMethod } from '../../src/manager/params.js';
import { createClient } from '../../src/rpc/index.js';
import { SEALER_PIPELINE } from '../../src/worker/sealing/states.js';
import { type Cluster, run, startCluster, until, WORKER } from './worker-harness.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });
setDefaultNetwork('t');

// the states as the store's meta/sector.json spells them (read as plain strings)
const PIPELINE: readonly string[] = SEALER_PIPELINE;

let cluster: Cluster | undefined;
after(() => cluster?.close());

/** Sector numbers in a PreCommitSectorBatch2 or ProveCommitSectors3 message. */
function sectorsOf(method: number, params: string): number[] {
  const p = decodeCbor(Buffer.from(params, 'base64')) as unknown[];
  if (method === MinerMethod.PreCommitSectorBatch2) return (p[0] as unknown[][]).map((info) => Number(info[1]));
  return (p[0] as unknown[][]).map((act) => Number(act[0]));
}

test('SIGKILL at every state: both sectors end active, numbers 1 and 2 only, one pre-commit and one prove each', {
  timeout: 900_000,
}, async (t) => {
  // A kill can land while the other thread's AllocateSector answer is in flight: the manager re-offers that
  // number to the same seal store (AllocateSectorSpec.Worker, src/api/sealer-types.ts), so none is skipped.
  cluster = await startCluster({ maxNumber: 2 });
  const c = cluster;
  const seal = [join(c.dir, 'seal', 'seal_01'), join(c.dir, 'seal', 'seal_02')];
  assert.equal((await run(WORKER, ['store', 'seal-init', '-l', ...seal])).code, 0);
  assert.equal((await run(WORKER, ['store', 'file-init', '-l', c.remote])).code, 0);
  const cfg = join(c.dir, 'venus-worker.toml');
  writeFileSync(cfg, c.workerConfig(seal));

  const state = (s: string): string | null => {
    try {
      return JSON.parse(readFileSync(join(s, 'meta', 'sector.json'), 'utf8')).state;
    } catch {
      return null;
    }
  };
  const active = async () => {
    let n = 0;
    for (const k of [1, 2]) if (await c.chain.StateSectorGetInfo(c.minerAddr, k, null)) n++;
    return n;
  };
  const hadSector = new Set<string>();
  const kills: string[] = [];
  let target = 0;
  // the built worker (npm test builds first): each of the ~17 restarts, with its two processors, starts twice as fast
  const started = Date.now();
  let w = c.startWorker(cfg, { built: true });
  while (target < PIPELINE.length) {
    const at = await until(
      `a seal store in ${PIPELINE[target]}`,
      async () => {
        const states = seal.map(state);
        states.forEach((s, i) => {
          if (s) hadSector.add(seal[i]!);
        });
        if (states.includes(PIPELINE[target]!)) return 'kill';
        // no store can reach the target any more (both past it, or done): next target
        const behind = states.some(
          (s, i) => (s === null && !hadSector.has(seal[i]!)) || (s !== null && PIPELINE.indexOf(s) < target),
        );
        return behind ? undefined : 'skip';
      },
      300_000,
      20,
    ).catch((err) => {
      throw new Error(`${(err as Error).message}\nworker log tail:\n${w.log().slice(-4000)}`);
    });
    if (at === 'kill') {
      process.kill(-w.child.pid!, 'SIGKILL');
      await w.exited;
      kills.push(PIPELINE[target]!);
      t.diagnostic(`killed in ${PIPELINE[target]} at ${Math.round((Date.now() - started) / 1000)} s`);
      w = c.startWorker(cfg, { built: true });
    }
    target++;
  }
  await until('both sectors active', async () => ((await active()) === 2 ? true : undefined), 300_000).catch((err) => {
    throw new Error(`${(err as Error).message}\nworker log tail:\n${w.log().slice(-4000)}`);
  });
  assert.ok(kills.length >= PIPELINE.length - 3, `killed at ${kills.join(', ')}`);

  // numbers: 1 and 2 active, nothing else allocated on chain
  assert.equal(await c.chain.StateSectorGetInfo(c.minerAddr, 3, null), null);
  // messages: each sector in exactly one pre-commit and one prove-commit
  const messager = createClient(MessagerAPI, { url: c.devnet.url('v1'), token: c.devnet.token });
  try {
    const msgs = ((await messager.ListMessageByAddress(c.owner)) ?? []).filter((m) => m.To === c.minerAddr);
    const count = (method: number) => {
      const seen = new Map<number, number>();
      for (const m of msgs.filter((x) => x.Method === method)) {
        for (const n of sectorsOf(method, m.Params!)) seen.set(n, (seen.get(n) ?? 0) + 1);
      }
      return Object.fromEntries(seen);
    };
    assert.deepEqual(count(MinerMethod.PreCommitSectorBatch2), { 1: 1, 2: 1 });
    assert.deepEqual(count(MinerMethod.ProveCommitSectors3), { 1: 1, 2: 1 });
  } finally {
    await messager.close();
  }
});
