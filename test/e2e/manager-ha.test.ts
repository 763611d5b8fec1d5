/**
 * Two sector-managers on one PostgreSQL (docs/manager-ha.md), the real programs as `venus-cluster --managers 2
 * --db postgres` starts them: the devnet, venus-wallet, two `venus-sector-manager daemon run --poster` with their
 * own [Common.HA] Name and a 1 s LeaseTTL, and one venus-worker whose `[sealer_rpc] urls` lists both, sealing
 * 2KiB sectors on the fast devnet clock (deadlines of 20 epochs of 250 ms).
 *
 * Once a sector is proven by a Window PoSt and the worker seals more, the manager holding the `post` lease is
 * killed with SIGKILL right after a deadline with partitions of ours opened, before its PoSt was sent. Then:
 * the other takes `post` and that deadline's PoSt — its own message — lands on chain before the deadline closes,
 * nothing becomes faulty; sealing goes on (a sector not on chain at the kill is proven-committed, sent by the
 * survivor; the worker failed over if it was talking to the killed one); the runner starts the killed manager
 * again and it stands by, holding nothing while the other lives. Last, the chain itself (read block by block)
 * shows no message failed and nothing sent twice: every nonce once, one PreCommit and one ProveCommit per
 * sector, one PoSt per partition and deadline window.
 *
 * Skipped when PostgreSQL (initdb, pg_ctl) is not installed, unless CI is set.
 */
import assert from 'node:assert/strict';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FullNodeAPI } from '../../src/api/full.js';
import { readDevnetHome } from '../../src/cluster/index.js';
import { pgAvailable } from '../../src/common/pg-local.js';
import { BitField } from '../../src/fil/index.js';
import type { DashboardState } from '../../src/manager/dashboard/index.js';
import { MinerMethod } from '../../src/manager/params.js';
import { createClient } from '../../src/rpc/index.js';
import { chainMessages, duplicatesAndFailures } from './chain-messages.js';
import { e2eProcesses } from './cluster-harness.js';
import { readClusterState, rpcCall, startCluster } from './cluster-run.js';

const skip = pgAvailable() || process.env.CI ? false : 'PostgreSQL (initdb, pg_ctl) is not installed';
const { home, start } = e2eProcesses('manager-ha-');
// as root, PostgreSQL runs as the postgres user, which must get through the (0700) temporary home
chmodSync(home, 0o711);

const LEASE_TTL_MS = 1000;
const NAMES = ['manager-1', 'manager-2'] as const;
type Name = (typeof NAMES)[number];

test('two managers on one PostgreSQL: kill -9 of the post holder in an open deadline; the other proves it, sealing goes on, nothing sent twice, the killed one rejoins as standby', {
  skip,
  timeout: 10 * 60_000,
}, async (t) => {
  const began = Date.now();
  const cluster = startCluster(start, home, ['--managers', '2', '--db', 'postgres', '--lease-ttl', '1s']);
  const { until, output } = cluster;
  await until('every program running', 6 * 60_000, async () => /all programs are running/.test(output()));
  t.diagnostic(`cluster up in ${Date.now() - began} ms`);

  const s = readClusterState(home);
  const miner = s.miner!;
  const owner = s.owner!;
  const port: Record<Name, number> = { 'manager-1': s.ports.manager!, 'manager-2': s.managerPorts![0]! };
  const devnetToken = readDevnetHome(join(home, 'devnet')).token;
  const devnetUrl = `http://127.0.0.1:${s.ports.devnet}/rpc/v0`;
  const admin = readFileSync(join(home, 'manager', 'token'), 'utf8').trim();
  const log = (name: string) => readFileSync(join(home, 'logs', `${name}.log`), 'utf8');
  const chain = createClient(FullNodeAPI, { url: `ws://127.0.0.1:${s.ports.devnet}/rpc/v1`, token: devnetToken });
  t.after(() => chain.close());

  // the worker lists both managers
  const workerToml = readFileSync(join(home, 'worker', 'venus-worker.toml'), 'utf8');
  assert.match(
    workerToml,
    new RegExp(
      `urls = \\["ws://127\\.0\\.0\\.1:${port['manager-1']}/rpc/v0", "ws://127\\.0\\.0\\.1:${port['manager-2']}/rpc/v0"\\]`,
    ),
  );

  const get = async (name: Name, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port[name]}${path}`, { headers: { Authorization: `Bearer ${admin}` } });
    if (r.status !== 200) throw new Error(`${name} ${path}: HTTP ${r.status}`);
    return r;
  };
  const dashboard = async (name: Name) => (await (await get(name, '/dashboard/api/state')).json()) as DashboardState;
  /** venus_sector_manager_duty_held per duty on one manager */
  const held = async (name: Name) => {
    const text = await (await get(name, '/metrics')).text();
    return Object.fromEntries(
      [...text.matchAll(/^venus_sector_manager_duty_held\{[^}]*\bduty="(\w+)"[^}]*\} (\d)/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
  };
  const status = async () => {
    type Miner = { Miner: string; Sectors: { Active: number }; LastWindowPoStEpoch: number | null };
    const st = await rpcCall<{ Height: number; Miners: Miner[] }>(devnetUrl, devnetToken, 'Devnet.Status');
    return st.Miners.find((m) => m.Miner === miner);
  };
  const onChainSectors = async () =>
    new Set(((await chain.StateMinerSectors(miner, null, null)) ?? []).map((x) => x.SectorNumber));

  // -- a sector proven by a Window PoSt, and the worker sealing more
  await until('a sector proven by a Window PoSt', 4 * 60_000, async () => {
    const m = await status();
    return m && m.Sectors.Active > 0 && m.LastWindowPoStEpoch !== null;
  });
  await until('the worker sealing another sector', 2 * 60_000, async () => {
    const d = await dashboard('manager-1').catch(() => dashboard('manager-2'));
    const onChain = await onChainSectors();
    return d.sectors.some((x) => !x.finalized && x.abort === null && !onChain.has(x.number));
  });

  // -- who holds `post`: the dashboard's duties (the lease table) and the metric agree
  const duties = (await dashboard('manager-2')).duties;
  const holder = duties.find((d) => d.duty === 'post')!.holder as Name;
  assert.ok(NAMES.includes(holder), `post held by "${holder}"`);
  const survivor = NAMES.find((n) => n !== holder)!;
  assert.equal((await held(holder)).post, 1);
  assert.equal((await held(survivor)).post, 0);
  t.diagnostic(`post held by ${holder}; ${survivor} stands by`);

  // -- a deadline with partitions of ours, just open, not proven yet (the holder submits 4 epochs after the open)
  const dl = await until(
    'an open deadline with partitions of ours and no PoSt yet',
    3 * 60_000,
    async () => {
      const d = await chain.StateMinerProvingDeadline(miner, null);
      if (d.CurrentEpoch < d.Open || d.CurrentEpoch > d.Open + 1) return undefined;
      const parts = (await chain.StateMinerPartitions(miner, d.Index, null)) ?? [];
      const live = parts.filter((p) => BitField.fromJSON(p.LiveSectors).toArray().length > 0);
      if (live.length === 0) return undefined;
      const posted = BitField.fromJSON((await chain.StateMinerDeadlines(miner, null))[d.Index]!.PostSubmissions);
      if (posted.toArray().length > 0) return undefined;
      return { ...d, partitions: parts.map((_, i) => i) };
    },
    100,
  );
  const sectorsAtKill = await onChainSectors();
  const holderLogAtKill = log(holder).length;
  const survivorLogAtKill = log(survivor).length;
  process.kill(s.pids![holder]!, 'SIGKILL');
  const killedAt = Date.now();
  t.diagnostic(`killed ${holder} at epoch ${dl.CurrentEpoch}: deadline ${dl.Index} open ${dl.Open}–${dl.Close}`);

  // -- the other takes `post` within the lease
  await until(
    `${survivor} to hold post`,
    15_000,
    async () => (await dashboard(survivor)).duties.find((d) => d.duty === 'post' && d.holder === survivor && d.mine),
    50,
  );
  const takeoverMs = Date.now() - killedAt;
  assert.ok(takeoverMs < 4 * LEASE_TTL_MS, `post taken over in ${takeoverMs} ms (LeaseTTL ${LEASE_TTL_MS} ms)`);
  assert.deepEqual(await held(survivor), { post: 1, commit: 1, chain: 1 });

  // -- that deadline's PoSt: sent by the survivor, on chain before the close
  await until(`deadline ${dl.Index} to close`, 60_000, async () => (await chain.ChainHead()).Height >= dl.Close, 250);
  assert.doesNotMatch(
    log(holder).slice(holderLogAtKill),
    /window post submitted/,
    `${holder} sent no PoSt before it died`,
  );
  const sent = [
    ...log(survivor).matchAll(
      /window post submitted\s+\{"miner":"\d+","deadline":(\d+),"partitions":\[[\d,]*\],"id":"(\w+)"/g,
    ),
  ]
    .filter((m) => Number(m[1]) === dl.Index)
    .map((m) => m[2]!);
  assert.ok(sent.length > 0, `${survivor} submitted deadline ${dl.Index}'s PoSt\n${log(survivor).slice(-4000)}`);
  const cids = new Set<string>();
  for (const id of sent) {
    const rec = await rpcCall<{ SignedCid: { '/': string } | null }>(
      devnetUrl,
      devnetToken,
      'Message.GetMessageByUid',
      [id],
    );
    if (rec.SignedCid) cids.add(rec.SignedCid['/']);
  }
  const posts = (await chainMessages(chain, [owner], dl.Open)).filter(
    (m) => m.method === MinerMethod.SubmitWindowedPoSt && m.post?.deadline === dl.Index && m.epoch < dl.Close,
  );
  const landed = posts.filter((m) => m.exitCode === 0 && m.post!.chainCommitEpoch === dl.Challenge);
  assert.deepEqual(
    landed.flatMap((m) => m.post!.partitions).sort((a, b) => a - b),
    dl.partitions,
    `deadline ${dl.Index}'s partitions proven on chain before epoch ${dl.Close}: ${JSON.stringify(posts)}`,
  );
  assert.ok(
    landed.every((m) => cids.has(m.cid)),
    `the PoSt on chain is ${survivor}'s message: ${landed.map((m) => m.cid).join(', ')} vs ${[...cids].join(', ')}`,
  );
  const faulty = ((await chain.StateMinerPartitions(miner, dl.Index, null)) ?? []).flatMap((p) =>
    BitField.fromJSON(p.FaultySectors).toArray(),
  );
  assert.deepEqual(faulty, [], `nothing in deadline ${dl.Index} became faulty`);
  t.diagnostic(
    `deadline ${dl.Index} proven at epoch ${landed.map((m) => m.epoch).join(', ')} (close ${dl.Close}); takeover ${takeoverMs} ms`,
  );

  // -- sealing goes on through the survivor: a sector it sent the ProveCommit of after the kill is on chain
  const next = await until(`a sector proven-committed by ${survivor} on chain`, 3 * 60_000, async () => {
    const sentNow = [
      ...log(survivor)
        .slice(survivorLogAtKill)
        .matchAll(/ProveCommitSectors3 recorded\s+\{[^}]*"sectors":\[([\d,]+)\]/g),
    ].flatMap((m) => m[1]!.split(',').map(Number));
    const now = await onChainSectors();
    return sentNow.find((n) => now.has(n) && !sectorsAtKill.has(n));
  });
  t.diagnostic(`sector ${next} proven-committed through ${survivor}`);
  // The worker moves to the next URL only when a call fails; the runner restarts the killed manager within
  // about a second, so whether a call fell in that gap is chance (the failover itself is tested in
  // src/worker/daemon-failover.test.ts): say which it was.
  const failover = new RegExp(
    `sealer_rpc failover: using the next sector-manager\\s+\\{[^}]*"to":"127\\.0\\.0\\.1:${port[survivor]}"`,
  ).test(log('worker'));
  t.diagnostic(
    `worker ${failover ? 'failed over to' : 'made no call while the holder was down; it still lists'} ${survivor}`,
  );

  // -- the runner started the killed manager again: it stands by while the other holds every duty
  await until(`${holder} restarted`, 2 * 60_000, async () =>
    new RegExp(`\\b${holder}: restarted \\(pid`).test(output()),
  );
  await until(`${holder} answering`, 60_000, () => dashboard(holder), 250);
  for (let i = 0; i < 6; i++) {
    const d = await dashboard(holder);
    assert.deepEqual(
      d.duties.map((x) => [x.duty, x.holder, x.mine]),
      [
        ['post', survivor, false],
        ['commit', survivor, false],
        ['chain', survivor, false],
      ],
    );
    assert.deepEqual(await held(holder), { post: 0, commit: 0, chain: 0 });
    await sleep(LEASE_TTL_MS / 2);
  }
  assert.doesNotMatch(
    log(holder)
      .split(/\$ venus-sector-manager/)
      .at(-1)!,
    /duty acquired/,
  );

  // -- on chain: no message failed, nothing twice; sector numbers unique
  const all = await chainMessages(chain, [owner]);
  assert.deepEqual(duplicatesAndFailures(all), [], 'messages sent twice or failed on chain');
  const numbers = (await dashboard(survivor)).sectors.map((x) => x.number);
  assert.equal(new Set(numbers).size, numbers.length, `sector numbers ${numbers.join(' ')}`);
  t.diagnostic(
    `${all.length} messages on chain (${all.filter((m) => m.method === MinerMethod.SubmitWindowedPoSt).length} PoSt), sectors ${[...(await onChainSectors())].join(' ')}; ${Date.now() - began} ms`,
  );

  cluster.child.kill('SIGINT');
  assert.equal(await cluster.exited, 0, cluster.tail());
});
