// Chaos on the one-command cluster: while `venus-cluster` seals 2KiB sectors on a fast devnet clock, a daemon
// (devnet, wallet, sector-manager, worker) or an external processor (pc2, c2, window_post) is killed with SIGKILL
// every 15–45 s for about three minutes (CHAOS_MS; CHAOS_SEED replays an order). Then a calm period: the runner
// must have started every killed daemon again (and the worker or manager its processors), and the cluster must
// finish as if nothing happened — every sector finalized and none aborted (the manager's dashboard JSON), every
// message of the miner landed without an error (the devnet's messager), every sector active and none faulty on
// chain after a Window PoSt that came after the last kill (the devnet's own status). Ctrl-C then stops it all.
// CHAOS_MANAGERS=2 runs the same on `--managers 2 --db postgres` (a throwaway local PostgreSQL; each manager is a
// target, the worker fails over between them and the duties move with their leases).
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { managerName, readDevnetHome, rpcCall } from '../../src/cluster/index.js';
import type { DashboardState } from '../../src/manager/dashboard/index.js';
import { e2eProcesses } from './cluster-harness.js';
import { readClusterState, startCluster } from './cluster-run.js';

const { home, start } = e2eProcesses('cluster-chaos-');
const SECTORS = 3;
const CHAOS_MS = Number(process.env.CHAOS_MS ?? 180_000);
const MANAGERS = Number(process.env.CHAOS_MANAGERS ?? 1);
const SEED = Number(process.env.CHAOS_SEED ?? Date.now() % 1_000_000);

/** A small seeded generator (mulberry32): the same CHAOS_SEED gives the same kills at the same times. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Live children of `parent` whose command line runs a processor ("… processor pc2"). */
function processorsOf(parent: number): { pid: number; stage: string }[] {
  const out: { pid: number; stage: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== parent || fields[0] === 'Z') continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const i = cmd.indexOf('processor');
      if (i >= 0 && cmd[i + 1]) out.push({ pid: Number(d), stage: cmd[i + 1]! });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

interface MinerStatus {
  Miner: string;
  Sectors: { Active: number; Faulty: number; Recovering: number; Unproven: number; PreCommitted: number };
  LastWindowPoStEpoch: number | null;
}

test('chaos: daemons and processors killed with SIGKILL for minutes; the runner heals, no sector lost, no message failed, none faulty', {
  timeout: 14 * 60_000,
}, async (t) => {
  t.diagnostic(`CHAOS_SEED=${SEED} CHAOS_MS=${CHAOS_MS} CHAOS_MANAGERS=${MANAGERS}`);
  const rand = random(SEED);
  // as root, PostgreSQL runs as the postgres user, which must get through the (0700) temporary home
  if (MANAGERS > 1) chmodSync(home, 0o711);
  const cluster = startCluster(
    start,
    home,
    ['--sectors', String(SECTORS), ...(MANAGERS > 1 ? ['--managers', String(MANAGERS), '--db', 'postgres'] : [])],
    { pollMs: 500, tailChars: 8000 },
  );
  const { output, tail, until } = cluster;
  const state = () => readClusterState(home);

  await until('every program running', 6 * 60_000, async () => /all programs are running/.test(output()));
  const s0 = state();
  const devnet = `http://127.0.0.1:${s0.ports.devnet}/rpc/v0`;
  const managerUrls = [s0.ports.manager, ...(s0.managerPorts ?? [])].map((p) => `http://127.0.0.1:${p}`);
  const managers = Array.from({ length: MANAGERS }, (_, i) => managerName(i + 1, MANAGERS));
  const devnetToken = readDevnetHome(join(home, 'devnet')).token;
  const admin = readFileSync(join(home, 'manager', 'token'), 'utf8').trim();
  const miner = String(s0.miner);
  const owner = String(s0.owner);
  const chain = async () => {
    const st = await rpcCall<{ Height: number; Miners: MinerStatus[] }>(devnet, 'Devnet.Status', [], devnetToken);
    return { height: st.Height, miner: st.Miners.find((m) => m.Miner === miner) };
  };
  // the first manager that answers (they share one database)
  const dashboard = async () => {
    let last: unknown;
    for (const url of managerUrls) {
      try {
        const r = await fetch(`${url}/dashboard/api/state`, { headers: { Authorization: `Bearer ${admin}` } });
        if (r.status !== 200) throw new Error(`dashboard: HTTP ${r.status}`);
        return (await r.json()) as DashboardState;
      } catch (err) {
        last = err;
      }
    }
    throw last;
  };

  // -- chaos ------------------------------------------------------------------------------------------------
  const targets = ['devnet', 'wallet', ...managers, 'worker', 'processor'];
  let bag: string[] = [];
  const kills: string[] = [];
  const chaosEnd = Date.now() + CHAOS_MS;
  let lastKillHeight = 0;
  const hit = new Set<string>();
  // the chaos time, and at least until every kind of target was hit once
  while (Date.now() < chaosEnd || hit.size < targets.length) {
    const wait = 15_000 + Math.floor(rand() * 30_000);
    const at = Date.now() + wait;
    await until(`the next kill in ${wait} ms`, wait + 5_000, async () => Date.now() >= at);
    // each target once before any twice, in a random order
    if (!bag.length) bag = [...targets].sort(() => rand() - 0.5);
    let target = bag.shift()!;
    let pid: number | undefined;
    let what = target;
    if (target === 'processor') {
      const s = state();
      const procs = [s.pids?.worker, ...managers.map((m) => s.pids?.[m])].flatMap((p) => processorsOf(p ?? -1));
      if (procs.length) {
        const p = procs[Math.floor(rand() * procs.length)]!;
        pid = p.pid;
        what = `processor ${p.stage}`;
      } else {
        target = targets[Math.floor(rand() * (targets.length - 1))]!; // no processor alive now: a daemon instead
        what = target;
      }
    }
    const restartsBefore = (output().match(new RegExp(`\\b${target}: restarted \\(pid`, 'g')) ?? []).length;
    if (pid === undefined) pid = state().pids?.[target];
    assert.ok(pid, `no pid for ${target} in cluster.json`);
    lastKillHeight = await chain()
      .then((c) => c.height)
      .catch(() => lastKillHeight);
    process.kill(pid, 'SIGKILL');
    hit.add(target);
    kills.push(`${what} (pid ${pid}) at ${Math.round((CHAOS_MS - (chaosEnd - Date.now())) / 1000)} s`);
    t.diagnostic(`killed ${kills.at(-1)}`);
    if (target !== 'processor') {
      // the runner says so and starts it again (backoff 1 s, then readiness)
      await until(`${target} restarted after kill -9`, 120_000, async () => {
        const n = (output().match(new RegExp(`\\b${target}: restarted \\(pid`, 'g')) ?? []).length;
        return n > restartsBefore;
      });
      assert.match(
        readFileSync(join(home, 'logs', `${target}.log`), 'utf8'),
        /was killed by SIGKILL unexpectedly; restarting it in/,
      );
    }
  }
  t.diagnostic(`kills: ${kills.join('; ')}`);
  assert.ok(kills.length >= Math.min(5, Math.floor(CHAOS_MS / 45_000)), 'enough kills happened');

  // -- calm -------------------------------------------------------------------------------------------------
  // every sector on chain and proven by a Window PoSt that came after the last kill
  const proven = await until('every sector proven after the chaos', 8 * 60_000, async () => {
    const c = await chain();
    const m = c.miner;
    return m && m.Sectors.Active === SECTORS && (m.LastWindowPoStEpoch ?? 0) > lastKillHeight ? c : undefined;
  });
  // one more whole proving period (4 deadlines × 20 epochs): still nothing faulty
  await until('a proving period of calm', 3 * 60_000, async () => {
    const c = await chain();
    return c.height > proven.height + 80 ? c : undefined;
  });
  const after = (await chain()).miner!;
  assert.equal(after.Sectors.Active, SECTORS, JSON.stringify(after));
  assert.equal(after.Sectors.Faulty, 0, JSON.stringify(after));
  assert.equal(after.Sectors.Recovering, 0, JSON.stringify(after));

  // no sector lost or aborted: the manager knows every one, finalized
  const dash = await until('the dashboard', 60_000, dashboard);
  const sectors = dash.sectors.filter((s) => `t0${s.miner}` === miner);
  assert.deepEqual(
    sectors.map((s) => s.number).sort((a, b) => a - b),
    Array.from({ length: SECTORS }, (_, i) => i + 1),
  );
  for (const s of sectors) {
    assert.equal(s.abort, null, `sector ${s.number} aborted: ${s.abort}`);
    assert.equal(s.finalized, true, `sector ${s.number} not finalized (${s.state})`);
  }
  // no message of the miner's sender failed on chain: every one that landed has exit code 0. One the messager
  // gave up on before it reached the chain is listed, not failed, if it was bound to a deadline that passed
  // while a daemon was down (a deadline's window is 5 s on this clock): the chain never saw it, and the sectors
  // must have recovered (checked above). A PreCommit or ProveCommit given up would be a lost sector.
  type Msg = {
    ID: string;
    Method: number;
    State: number;
    ErrorMsg: string | null;
    Receipt: { ExitCode: number } | null;
  };
  const msgs = (await rpcCall<Msg[] | null>(devnet, 'Message.ListMessageByAddress', [owner], devnetToken)) ?? [];
  assert.ok(msgs.length >= SECTORS, `messages of ${owner}: ${msgs.length}`);
  const brief = (m: Msg) => `method ${m.Method} state ${m.State}: ${m.ErrorMsg ?? `exit ${m.Receipt?.ExitCode}`}`;
  const failedOnChain = msgs.filter((m) => m.Receipt && m.Receipt.ExitCode !== 0).map(brief);
  assert.deepEqual(failedOnChain, [], 'messages that failed on chain');
  const givenUp = msgs.filter((m) => !m.Receipt && m.State === 4);
  for (const m of givenUp) t.diagnostic(`not sent (never on chain): ${brief(m)}`);
  // miner actor methods: 5 SubmitWindowedPoSt, 10 DeclareFaults, 11 DeclareFaultsRecovered
  assert.deepEqual(
    givenUp.filter((m) => ![5, 10, 11].includes(m.Method)).map(brief),
    [],
    'only messages bound to a passed deadline may be given up',
  );
  t.diagnostic(`${msgs.length} messages, ${givenUp.length} given up before the chain; kills: ${kills.join('; ')}`);

  // -- Ctrl-C -----------------------------------------------------------------------------------------------
  const stopAt = Date.now();
  assert.equal(await cluster.stop(), 0, tail());
  const stopMs = Date.now() - stopAt;
  t.diagnostic(`Ctrl-C to exit: ${stopMs} ms`);
  // every program stopped on its SIGTERM (none waited out to SIGKILL), and nothing kept the runner alive after
  assert.doesNotMatch(output(), /did not stop within/, tail());
  assert.ok(stopMs < 30_000, `the runner took ${stopMs} ms to stop\n${tail()}`);
});
