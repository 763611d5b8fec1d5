/**
 * Two `venus-sector-manager daemon run --poster` processes on one PostgreSQL database (a throwaway server) and the
 * devnet (docs/manager-ha.md). A scripted worker (the one of manager.test.ts: a 2KiB sector sealed for real, its
 * proofs verified in full by the manager and the chain) talks to the standby, manager-b: the sector's number comes
 * from the shared database and manager-a, which holds every duty, sends its PreCommit and ProveCommit. Then
 * manager-a is killed with SIGKILL inside the challenge window of the sector's deadline: manager-b takes the duties
 * within the lease and submits that deadline's Window PoSt before it closes. A second sector gets the next number
 * and is sent by manager-b; no message was sent twice; manager-a restarted rejoins as standby.
 *
 * The worker here is one Venus.* client pointed at manager-b (a worker listing both URLs fails over the same way).
 * Skipped when PostgreSQL (initdb, pg_ctl) is not installed, unless CI is set.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FullNodeAPI } from '../../src/api/full.js';
import { bytes32ToJson, ManagerAPI, OnChainState, SubmitResult, sectorName } from '../../src/api/sealer.js';
import { setupLogging } from '../../src/common/log.js';
import { type LocalPostgres, pgAvailable, startLocalPostgres } from '../../src/common/pg-local.js';
import { initHome as initDevnet, loadKeys } from '../../src/devnet/home.js';
import { DevnetService } from '../../src/devnet/service.js';
import { VanillaBackend } from '../../src/devnet/vanilla.js';
import { ProofsVerifier } from '../../src/devnet/verifier.js';
import { addressOf, BitField, fromBase64, randomnessToFr32, setDefaultNetwork, toBase64 } from '../../src/fil/index.js';
import { sealProof } from '../../src/proofs/index.js';
import { sealCommitPhase1 } from '../../src/proofs/porep/c1.js';
import { sealFixture } from '../../src/proofs/porep/fixture.js';
import { VanillaSealProver } from '../../src/proofs/prover/index.js';
import { proverIdFromActorId } from '../../src/proofs/sdr/index.js';
import { createClient } from '../../src/rpc/index.js';
import { ROOT, runCli, startDevnetWallet } from './common.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });
setDefaultNetwork('t');

const CLI = join(ROOT, 'src/cli/venus-sector-manager.ts');
const skip = pgAvailable() || process.env.CI ? false : 'PostgreSQL (initdb, pg_ctl) is not installed';

interface Manager {
  name: string;
  home: string;
  child: ChildProcess;
  log: () => string;
  exited: Promise<void>;
  port: number;
}

const dir = mkdtempSync(join(tmpdir(), 'vsm-ha-e2e-'));
chmodSync(dir, 0o755); // as root the database server runs as another user
const managers: Manager[] = [];
let devnet: DevnetService | undefined;
let pg: LocalPostgres | undefined;
let stopWallet: (() => void) | undefined;

after(async () => {
  for (const m of managers)
    if (m.child.exitCode === null && m.child.signalCode === null) {
      m.child.kill('SIGTERM');
      const killer = setTimeout(() => m.child.kill('SIGKILL'), 10_000);
      await m.exited;
      clearTimeout(killer);
    }
  stopWallet?.();
  await devnet?.stop();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000, every = 150): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

async function startManager(name: string, home: string): Promise<Manager> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, '--home', home, '--net=forcenet', 'daemon', 'run', '--poster', '--listen=127.0.0.1:0'],
    { env: { ...process.env, RUST_LOG: 'info', LOG_FORMAT: 'text' }, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (c: Buffer) => {
    log += c;
    if (process.env.E2E_LOG) process.stderr.write(`[${name}] ${c}`);
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  const port = await until(
    `${name} listening`,
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}:\n${log}`);
      const m = /daemon running\s+\{"listen":"127\.0\.0\.1:(\d+)"/.exec(log);
      return m ? Number(m[1]) : undefined;
    },
    90_000,
  );
  const m = { name, home, child, log: () => log, exited, port };
  managers.push(m);
  return m;
}

test('two managers on one PostgreSQL: the standby serves the worker, a SIGKILLed post holder’s deadline is proven by the other', {
  skip,
  timeout: 900_000,
}, async () => {
  pg = await startLocalPostgres({ dir: join(dir, 'pg'), fast: true });
  await initDevnet(
    {
      home: join(dir, 'devnet'),
      blockTimeMs: 150,
      listen: '127.0.0.1:0',
      accounts: ['bls', 'bls', 'secp256k1'],
      policy: {
        wpostChallengeWindow: 40,
        wpostPeriodDeadlines: 4,
        wpostChallengeLookback: 10,
        faultDeclarationCutoff: 15,
      },
    },
    new ProofsVerifier(new VanillaBackend()),
  );
  const keys = loadKeys(join(dir, 'devnet'));
  devnet = await DevnetService.start({ home: join(dir, 'devnet') });
  stopWallet = await startDevnetWallet(devnet, keys);
  const bls = keys.find((k) => k.type === 'bls')!;
  const owner = addressOf(bls.type, bls.privateKey).toString();
  const api = devnet.multiaddr.replace(/\/http$/, '');

  // -- manager-a's home as the guide makes it, on PostgreSQL
  const homeA = join(dir, 'vsm-a');
  const vsmA = (args: string[]) => runCli(CLI, ['--home', homeA, '--net=forcenet', ...args]);
  assert.equal((await vsmA(['daemon', 'init'])).code, 0);
  const cfgA = join(homeA, 'sector-manager.cfg');
  const base = readFileSync(cfgA, 'utf8')
    .replace('[Chain]\n', `[Chain]\n  Api = "${api}"\n  Token = "${devnet.token}"\n`)
    .replace('[Messager]\n', `[Messager]\n  Api = "${api}"\n  Token = "${devnet.token}"\n`);
  const common = (name: string) =>
    `\n[Common.DB]\nDriver = "postgres"\n[Common.DB.Postgres]\nDSN = "${pg!.dsn}"\n[Common.HA]\nName = "${name}"\nLeaseTTL = "1s"\n`;
  writeFileSync(cfgA, base + common('manager-a'));
  const create = await vsmA(['util', 'miner', 'create', `--from=${owner}`, '--sector-size=2KiB']);
  const minerAddr = /miner actor: (t0\d+) \((t2[a-z0-9]+)\)/.exec(create.stderr)?.[1];
  assert.ok(create.code === 0 && minerAddr, create.stderr);
  const miner = Number(minerAddr.slice(2));
  const store = join(dir, 'store');
  mkdirSync(store);
  const cfg = base
    .replace(
      '[SectorManager]\n',
      `[SectorManager]\n[[SectorManager.Miners]]\n    ID = ${miner}\n    InitNumber = 0\n    MaxNumber = 100\n`,
    )
    .replace(
      '[Commitment]\n',
      `[Commitment]\n  [Commitment.DefaultPolicy]\n    MsgConfidence = 1\n  [Commitment.Miners]\n    [Commitment.Miners.${miner}]\n      [Commitment.Miners.${miner}.Controls]\n        PreCommit = "${owner}"\n        ProveCommit = "${owner}"\n`,
    )
    .replace(
      '[PersistedStore]\n',
      `[PersistedStore]\n[[PersistedStore.Stores]]\n    Name = "store-${minerAddr}"\n    Path = "${store}"\n`,
    )
    .replace('[PoSt]\n', `[PoSt]\n  [PoSt.Actors]\n    [PoSt.Actors.${miner}]\n      Sender = "${owner}"\n`);
  writeFileSync(cfgA, cfg + common('manager-a'));
  // -- manager-b: the same config under its own name, the same repo secret (one worker token for both)
  const homeB = join(dir, 'vsm-b');
  mkdirSync(homeB);
  for (const f of readdirSync(homeA))
    if (f !== 'sector-manager.cfg' && f !== 'manager.db' && !f.startsWith('manager.db-'))
      cpSync(join(homeA, f), join(homeB, f), { recursive: true });
  writeFileSync(join(homeB, 'sector-manager.cfg'), cfg + common('manager-b'));

  let a = await startManager('manager-a', homeA);
  const b = await startManager('manager-b', homeB);
  assert.match(a.log(), /duty acquired\s+\{"duty":"post","holder":"manager-a","fencingToken":1/);
  assert.doesNotMatch(b.log(), /duty acquired/);

  const workerToken = readFileSync(join(homeA, 'worker-token'), 'utf8').trim();
  const venus = createClient(ManagerAPI, {
    url: `ws://127.0.0.1:${b.port}/rpc/v0`,
    headers: { Authorization: `Bearer ${workerToken}` },
  });
  const chain = createClient(FullNodeAPI, { url: devnet.url('v1'), token: devnet.token });
  const proof = sealProof('StackedDrg2KiBV1_1');
  const report = async (sid: { Miner: number; Number: number }, prev: string, next: string) => {
    await venus.ReportState(sid, {
      Worker: { Instance: 'scripted', Location: join(dir, `seal-${sid.Number}`) },
      StateChange: { Prev: prev, Next: next, Event: next },
      Failure: null,
    });
  };
  /** manager.test.ts's scripted worker: one sector sealed for real, PreCommit, persist, proof, to active. */
  const sealSector = async () => {
    const sector = (await venus.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!;
    const sid = sector.ID;
    await report(sid, 'Empty', 'Allocated');
    const ticket = await venus.AssignTicket(sid);
    const fixture = await sealFixture({
      proof,
      dir: join(dir, `seal-${sid.Number}`),
      parentDir: join(dir, 'parents'),
      data: new Uint8Array(2048),
      proverId: proverIdFromActorId(miner),
      sectorId: BigInt(sid.Number),
      ticket: randomnessToFr32(fromBase64(ticket.Ticket)),
    });
    const pre = { CommR: bytes32ToJson(fixture.commR), CommD: bytes32ToJson(fixture.commD), Ticket: ticket };
    assert.deepEqual(await venus.SubmitPreCommit(sector, pre, false), { Res: SubmitResult.Accepted, Desc: null });
    await until('PreCommit landed', async () =>
      (await venus.PollPreCommitState(sid)).State === OnChainState.Landed ? true : undefined,
    );
    assert.equal((await venus.StoreReserveSpace(sid, 4096, [`store-${minerAddr}`]))?.Name, `store-${minerAddr}`);
    const name = sectorName(sid);
    mkdirSync(join(store, 'sealed'), { recursive: true });
    mkdirSync(join(store, 'cache', name), { recursive: true });
    copyFileSync(fixture.sealedPath, join(store, 'sealed', name));
    for (const f of readdirSync(fixture.cacheDir))
      if (f === 'p_aux' || f === 't_aux' || f.includes('tree-r-last'))
        copyFileSync(join(fixture.cacheDir, f), join(store, 'cache', name, f));
    assert.equal(await venus.SubmitPersistedEx(sid, `store-${minerAddr}`, false), true);
    const seed = await until('seed', async () => (await venus.WaitSeed(sid, 5)).Seed ?? undefined);
    const c1 = await sealCommitPhase1({
      proof,
      cacheDir: fixture.cacheDir,
      sealedPath: fixture.sealedPath,
      proverId: fixture.proverId,
      sectorId: BigInt(sid.Number),
      ticket: fixture.ticket,
      seed: randomnessToFr32(fromBase64(seed.Seed)),
      commD: fixture.commD,
      commR: fixture.commR,
    });
    const sealed = await new VanillaSealProver().sealCommitPhase2({
      c1,
      minerId: BigInt(sid.Miner),
      sectorId: BigInt(sid.Number),
    });
    assert.deepEqual(await venus.SubmitProof(sid, { Proof: toBase64(sealed) }, false), {
      Res: SubmitResult.Accepted,
      Desc: null,
    });
    await until('ProveCommit landed', async () =>
      (await venus.PollProofState(sid)).State === OnChainState.Landed ? true : undefined,
    );
    return sid;
  };

  try {
    // -- sector 1 through the standby; the holder sent both messages
    const s1 = await sealSector();
    assert.equal(s1.Number, 1);
    assert.ok(await chain.StateSectorGetInfo(minerAddr, 1, null));
    assert.match(a.log(), /PreCommitSectorBatch2 recorded/);
    assert.match(a.log(), /ProveCommitSectors3 recorded/);
    assert.doesNotMatch(b.log(), /recorded\s+\{/, 'the standby sent nothing');

    // -- SIGKILL the post holder inside the challenge window of sector 1's deadline
    const loc = (await chain.StateSectorPartition(minerAddr, 1, null))!;
    // the deadline before it is current; the sector's deadline's challenge (its Open − 10) has passed, its Open not
    const dl = await until(
      `deadline ${loc.Deadline}'s challenge window`,
      async () => {
        const d = await chain.StateMinerProvingDeadline(minerAddr, null);
        const inWindow =
          (d.Index + 1) % d.WPoStPeriodDeadlines === loc.Deadline &&
          d.CurrentEpoch >= d.Close - d.WPoStChallengeLookback &&
          d.CurrentEpoch < d.Close - 2;
        return inWindow ? { Open: d.Close, Close: d.Close + d.WPoStChallengeWindow } : undefined;
      },
      300_000,
      50,
    );
    a.child.kill('SIGKILL');
    await a.exited;
    const killedAt = Date.now();
    await until(
      'manager-b to hold post',
      async () => (/duty acquired\s+\{"duty":"post","holder":"manager-b"/.test(b.log()) ? true : undefined),
      10_000,
      50,
    );
    const takeover = Date.now() - killedAt;
    assert.ok(takeover < 3000, `post taken over in ${takeover} ms (LeaseTTL 1s)`);
    const posted = await until(
      `deadline ${loc.Deadline}'s Window PoSt from manager-b`,
      async () => {
        const d = await chain.StateMinerProvingDeadline(minerAddr, null);
        assert.ok(d.Open === dl.Open ? d.CurrentEpoch < d.Close : true);
        const deadlines = await chain.StateMinerDeadlines(minerAddr, null);
        const parts = BitField.fromJSON(deadlines[loc.Deadline]!.PostSubmissions).toArray();
        return parts.includes(loc.Partition) ? d.CurrentEpoch : undefined;
      },
      120_000,
      100,
    );
    assert.ok(posted < dl.Close, `posted at ${posted}, before the close at ${dl.Close}`);
    assert.match(b.log(), new RegExp(`window post submitted\\s+\\{"miner":"${miner}","deadline":${loc.Deadline}`));
    const faulty = BitField.fromJSON(
      (await chain.StateMinerPartitions(minerAddr, loc.Deadline, null))![loc.Partition]!.FaultySectors,
    ).toArray();
    assert.deepEqual(faulty, [], 'nothing became faulty');

    // -- sealing goes on through manager-b alone: the next number, sent by manager-b
    const s2 = await sealSector();
    assert.equal(s2.Number, 2, 'no sector number reused');
    assert.match(b.log(), /ProveCommitSectors3 recorded/);

    // -- manager-a comes back: a standby now
    a = await startManager('manager-a', homeA);
    await new Promise((r) => setTimeout(r, 2000));
    assert.doesNotMatch(a.log(), /duty acquired/);
    const admin = readFileSync(join(homeA, 'token'), 'utf8').trim();
    const state = (await fetch(`http://127.0.0.1:${a.port}/dashboard/api/state`, {
      headers: { Authorization: `Bearer ${admin}` },
    }).then((r) => r.json())) as { duties: { duty: string; holder: string; mine: boolean }[] };
    assert.deepEqual(
      state.duties.map((d) => [d.duty, d.holder, d.mine]),
      [
        ['post', 'manager-b', false],
        ['commit', 'manager-b', false],
        ['chain', 'manager-b', false],
      ],
    );
    // -- no message twice: every id pushed once (the messager refuses a second message under one id anyway),
    //    and the chain executed one PreCommit and one ProveCommit per sector
    const pushed = [
      ...managers
        .map((m) => m.log())
        .join('\n')
        .matchAll(/message pushed\s+\{"id":"(\w+)"/g),
    ].map((m) => m[1]);
    assert.equal(new Set(pushed).size, pushed.length, `pushed ids: ${pushed.join(' ')}`);
    assert.equal(pushed.length, 4, 'two PreCommits and two ProveCommits');
  } finally {
    await venus.close();
    await chain.close();
  }
});
