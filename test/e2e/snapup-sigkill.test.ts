// kill -9 of the real worker at every state of the `snapup` and `rebuild` plans (docs/snapup-worker.md,
// docs/rebuild.md), with the real programs: `venus-cluster --deals 0 --sectors 2` seals two CC sectors; a verified
// DDO file is snapped into one of them while the worker's process group is stopped (SIGSTOP, so the step in flight
// is frozen where it was) and killed (SIGKILL) as the snapup thread's seal store enters each state of the plan; the
// cluster's supervisor starts the worker again and the thread resumes. Then the snapped sector's updated replica is
// deleted and rebuilt the same way, killed at each state of the rebuild plan. Nothing may be lost — the deal active,
// the update on chain, the rebuilt replica byte-identical, the sector proven again — and no message sent twice: one
// ProveReplicaUpdates3 for the sector, read back from the messager, and the sealed CID unchanged by the rebuild.
//
// Slow (9.5 minutes on 2 busy cores, all 17 states killed: the supervisor restarts a daemon at most 5 times a minute, so the kills
// are paced), so it runs only with VENUS_SLOW_E2E=1. The same kills at every state with the fake manager run in
// `npm test`: src/worker/sealing/snapup.test.ts and src/worker/sealing/rebuild.test.ts.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeCbor, decodeProveReplicaUpdates3Params, PROVE_REPLICA_UPDATES3_METHOD } from '../../src/fil/index.js';
import { REBUILD_PIPELINE } from '../../src/worker/sealing/planner/rebuild.js';
import { SNAPUP_PIPELINE } from '../../src/worker/sealing/planner/snapup.js';
import { e2eProcesses } from './cluster-harness.js';
import {
  type ChainSectorInfo,
  devnetApi,
  managerUtil,
  minerPartitions,
  provenCcSectorsThenDdoFile,
  readClusterState,
  startCluster,
  untilDealActive,
} from './cluster-run.js';

const { home, start, run } = e2eProcesses('snapup-sigkill-e2e-');
const SLOW = process.env.VENUS_SLOW_E2E === '1';

test('kill -9 of the worker at every state of snapup and rebuild: nothing lost, one ProveReplicaUpdates3', {
  timeout: 30 * 60_000,
  skip: SLOW ? false : 'slow (about 10 minutes): set VENUS_SLOW_E2E=1',
}, async (t) => {
  const t0 = Date.now();
  const cluster = startCluster(start, home, ['--deals', '0', '--sectors', '2']);
  const { tail, until } = cluster;
  const clusterState = () => readClusterState(home);

  const miner = await until('the miner', 5 * 60_000, async () => clusterState().miner);
  const { rpc, chain } = devnetApi(home);
  const partitions = () => minerPartitions(chain, miner);
  const util = managerUtil(run, home, clusterState().ports.manager);
  const manager = (...args: string[]) => util('sealer', ...args);

  // the worker's process group, killed as a seal store enters each state; the supervisor restarts it, at most 5
  // times a minute (src/cluster/runner.ts), so a kill waits with the group stopped until it may die again. A 2 KiB
  // step takes milliseconds: polling the sector document would miss most states, so the group is stopped (SIGSTOP)
  // while the document is read and let go (SIGCONT) for 2 ms at a time — the state read is the state the frozen
  // worker is in, and no step can pass unseen unless it begins and ends within one such slice.
  const deaths: number[] = [];
  let lastPid: number | undefined;
  const workerPid = (): number | undefined => {
    try {
      lastPid = clusterState().pids?.worker ?? lastPid;
    } catch {
      // cluster.json being written: the last pid read
    }
    return lastPid;
  };
  const signal = (pid: number, sig: NodeJS.Signals): boolean => {
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      return false; // between a death and the restart
    }
  };
  async function killAtEveryState(store: string, plan: string, pipeline: readonly string[]): Promise<string[]> {
    const docState = (): string | null => {
      try {
        const d = JSON.parse(readFileSync(join(store, 'meta', 'sector.json'), 'utf8')) as {
          plan: string;
          state: string;
        };
        return d.plan === plan ? d.state : null;
      } catch {
        return null;
      }
    };
    const kills: string[] = [];
    let seen = false;
    let target = 0;
    const end = Date.now() + 10 * 60_000;
    while (target < pipeline.length) {
      const exitCode = cluster.exitCode();
      if (exitCode !== undefined) assert.fail(`venus-cluster exited (${exitCode}) during the ${plan} kills\n${tail()}`);
      if (Date.now() > end) assert.fail(`the ${plan} thread never reached ${pipeline[target]}\n${tail()}`);
      const pid = workerPid();
      const stopped = pid !== undefined && signal(pid, 'SIGSTOP');
      const s = docState();
      if (s) seen = true;
      if (stopped && s === pipeline[target]) {
        for (;;) {
          const recent = deaths.filter((d) => Date.now() - d < 62_000);
          if (recent.length < 4) break;
          await sleep(500);
        }
        signal(pid!, 'SIGKILL');
        deaths.push(Date.now());
        kills.push(s);
        t.diagnostic(`${plan}: killed in ${s} at ${Math.round((Date.now() - t0) / 1000)} s`);
        await until(
          'the worker started again',
          60_000,
          async () => {
            const now = workerPid();
            return now !== undefined && now !== pid;
          },
          100,
        );
        target++;
        continue;
      }
      if ((s === null && seen) || (s !== null && pipeline.indexOf(s) > target)) {
        target++; // passed (or done): the next target is checked while the worker is still stopped
        continue;
      }
      if (stopped) signal(pid!, 'SIGCONT');
      await sleep(2);
    }
    const pid = workerPid();
    if (pid !== undefined) signal(pid, 'SIGCONT');
    return kills;
  }
  /** ProveReplicaUpdates3 messages the messager sent for the sector, read back from the devnet. */
  async function updateMessages(sector: number): Promise<number> {
    const info = await chain<{ Owner: string; Worker: string; ControlAddresses: string[] | null }>('StateMinerInfo', [
      miner,
      null,
    ]);
    const ids = [info.Owner, info.Worker, ...(info.ControlAddresses ?? [])];
    const addrs = new Set<string>(ids);
    for (const id of ids) addrs.add(await chain<string>('StateAccountKey', [id, null]));
    const seen = new Map<string, { To: string; Method: number; Params: string | null }>();
    for (const a of addrs) {
      const msgs =
        (await rpc<{ ID: string; To: string; Method: number; Params: string | null }[] | null>(
          'Message.ListMessageByAddress',
          [a],
        ).catch(() => null)) ?? [];
      for (const m of msgs) seen.set(m.ID, m);
    }
    let n = 0;
    for (const m of seen.values()) {
      if (m.To !== miner || m.Method !== PROVE_REPLICA_UPDATES3_METHOD || !m.Params) continue;
      const p = decodeProveReplicaUpdates3Params(decodeCbor(Buffer.from(m.Params, 'base64')));
      if (p.sectorUpdates.some((u) => u.sector === sector)) n++;
    }
    return n;
  }

  const { before, piece } = await provenCcSectorsThenDdoFile(cluster, run, home, miner);
  // snapup, killed at each of its states: watched from before the fetch (a 2 KiB upgrade may be over before the
  // CLI process has exited)
  const snapping = killAtEveryState(join(home, 'worker', 'snapup-1'), 'snapup', SNAPUP_PIPELINE);
  const fetched = await manager('snap', 'fetch', miner);
  assert.equal(fetched.code, 0, fetched.out);
  const snapKills = await snapping;
  const deal = await untilDealActive(cluster, run, home, piece, 'the deal active in a snapped sector', 6 * 60_000);
  assert.ok(snapKills.length >= SNAPUP_PIPELINE.length - 3, `snapup killed in ${snapKills.join(', ')}`);
  const after = await chain<ChainSectorInfo>('StateSectorGetInfo', [miner, deal.Sector, null]);
  assert.equal(after.SectorKeyCID?.['/'], before.get(deal.Sector)!.SealedCID['/'], 'updated from the CC replica');
  assert.equal(await updateMessages(deal.Sector), 1, 'one ProveReplicaUpdates3 for the sector');
  const name = `s-${miner}-${deal.Sector}`;
  const updated = join(home, 'remote', 'update', name);
  await until('the update persisted and indexed', 3 * 60_000, async () => {
    const s = await manager('sectors', 'state', '--offline', miner, String(deal.Sector));
    if (s.code !== 0) return false;
    return existsSync(updated) && JSON.parse(s.out.slice(s.out.indexOf('{'))).Finalized === true;
  });
  process.stdout.write(
    `# snapup-sigkill: snapup killed in ${snapKills.join(', ')}; ${Math.round((Date.now() - t0) / 1000)} s\n`,
  );

  // rebuild of the snapped sector, killed at each of its states
  const original = readFileSync(updated);
  unlinkSync(updated);
  await until(`${name} faulty on chain`, 3 * 60_000, async () => (await partitions()).faulty.has(deal.Sector));
  const rebuilding = killAtEveryState(join(home, 'worker', 'rebuild-1'), 'rebuild', REBUILD_PIPELINE);
  const set = await manager('sectors', 'rebuild', miner, String(deal.Sector), '--pieces-available');
  assert.equal(set.code, 0, set.out);
  const rebuildKills = await rebuilding;
  assert.ok(rebuildKills.length >= REBUILD_PIPELINE.length - 3, `rebuild killed in ${rebuildKills.join(', ')}`);
  await until(
    `${name}'s updated replica rebuilt`,
    3 * 60_000,
    async () => existsSync(updated) && readFileSync(updated).equals(original),
  );
  await until(`${name} recovered and proven`, 4 * 60_000, async () => {
    const c = await partitions();
    return !c.faulty.has(deal.Sector) && c.active.has(deal.Sector) && c.active.size === 2;
  });
  const now = await chain<ChainSectorInfo>('StateSectorGetInfo', [miner, deal.Sector, null]);
  assert.equal(now.SealedCID['/'], after.SealedCID['/'], 'the rebuild changed nothing on chain');
  assert.equal(await updateMessages(deal.Sector), 1, 'still one ProveReplicaUpdates3: a rebuild sends none');
  process.stdout.write(
    `# snapup-sigkill: rebuild killed in ${rebuildKills.join(', ')}; ${Math.round((Date.now() - t0) / 1000)} s in all\n`,
  );

  assert.equal(await cluster.stop(), 0, tail());
});
