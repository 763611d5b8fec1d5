/**
 * venus-sector-manager on the devnet, as the deployment guide runs it:
 *   `--net=forcenet daemon init`, sector-manager.cfg filled in as the guide shows, `util miner create`,
 *   `util miner info`, then `daemon run --poster` (its own process, with the Window PoSt prover it has by
 *   default), and a scripted worker that takes two 2KiB sectors through every Venus.* call — sealed for real by
 *   the proofs module (TreeD, PC1, PC2, C1; the C1 output is the devnet's seal proof, verified in full by the
 *   manager and by the chain) — to active sectors, proven in one ProveCommitSectors3 so they share a partition.
 *
 * The devnet runs without any insecure flag: every Window PoSt that lands was verified in full (vanilla proofs
 * of the challenged sectors over the chain's challenge randomness). Sector 2's sealed file is deleted before its
 * deadline: the poster skips it (declared faulty by the PoSt) and proves sector 1; with the file back, the
 * poster declares it recovered and the next period's PoSt proves both.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FullNodeAPI } from '../../src/api/full.js';
import { bytes32ToJson, ManagerAPI, OnChainState, SubmitResult, sectorName } from '../../src/api/sealer.js';
import { setupLogging } from '../../src/common/log.js';
import { initHome as initDevnet, loadKeys } from '../../src/devnet/home.js';
import { DevnetService } from '../../src/devnet/service.js';
import { VanillaBackend } from '../../src/devnet/vanilla.js';
import { ProofsVerifier } from '../../src/devnet/verifier.js';
import {
  addressOf,
  BitField,
  fromBase64,
  type KeyInfo,
  randomnessToFr32,
  setDefaultNetwork,
  toBase64,
} from '../../src/fil/index.js';
import { sealProof } from '../../src/proofs/index.js';
import { sealCommitPhase1 } from '../../src/proofs/porep/c1.js';
import { sealFixture } from '../../src/proofs/porep/fixture.js';
import { VanillaSealProver } from '../../src/proofs/prover/index.js';
import { proverIdFromActorId } from '../../src/proofs/sdr/index.js';
import { createClient } from '../../src/rpc/index.js';
import { until as pollUntil, ROOT, runCli, startDevnetWallet } from './common.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });
setDefaultNetwork('t');

const CLI = join(ROOT, 'src/cli/venus-sector-manager.ts');

let dir: string;
let devnet: DevnetService;
let keys: KeyInfo[];
let daemon: { child: ChildProcess; log: () => string; exited: Promise<void> } | undefined;
let stopWallet: (() => void) | undefined;

const vsm = (args: string[]) => runCli(CLI, ['--home', join(dir, 'vsm'), ...args]);

/** `daemon run --poster` in its own process; resolves once it listens, with the port it took. */
async function startManager(): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      CLI,
      '--home',
      join(dir, 'vsm'),
      '--net=forcenet',
      'daemon',
      'run',
      '--poster',
      '--listen=127.0.0.1:0',
    ],
    { env: { ...process.env, RUST_LOG: 'info', LOG_FORMAT: 'text' }, cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (c: Buffer) => {
    log += c;
  });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  daemon = { child, log: () => log, exited };
  return until(
    'daemon run --poster listening',
    async () => {
      if (child.exitCode !== null) throw new Error(`daemon run exited ${child.exitCode}:\n${log}`);
      const m = /daemon running\s+\{"listen":"127\.0\.0\.1:(\d+)"/.exec(log);
      return m ? Number(m[1]) : undefined;
    },
    60_000,
  );
}

const until = <T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000, every = 200) =>
  pollUntil(what, fn, ms, every);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vsm-e2e-'));
  await initDevnet(
    {
      home: join(dir, 'devnet'),
      blockTimeMs: 150,
      listen: '127.0.0.1:0',
      accounts: ['bls', 'bls', 'secp256k1'],
      policy: {
        wpostChallengeWindow: 30,
        wpostPeriodDeadlines: 4,
        wpostChallengeLookback: 10,
        faultDeclarationCutoff: 15,
      },
    },
    new ProofsVerifier(new VanillaBackend()),
  );
  keys = loadKeys(join(dir, 'devnet'));
  // no insecure flag: seal proofs and Window PoSt verified in full
  devnet = await DevnetService.start({ home: join(dir, 'devnet') });
  stopWallet = await startDevnetWallet(devnet, keys);
});

after(async () => {
  if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) {
    daemon.child.kill('SIGTERM');
    const killer = setTimeout(() => daemon?.child.kill('SIGKILL'), 10_000);
    await daemon.exited;
    clearTimeout(killer);
  }
  stopWallet?.();
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('daemon init, util miner create/info, daemon run --poster, two 2KiB sectors to active, their Window PoSts land (a lost sealed file skipped, then recovered)', {
  timeout: 600_000,
}, async () => {
  // the worker key must be BLS (the miner actor's rule): use a BLS genesis account as owner and worker
  const bls = keys.find((k) => k.type === 'bls')!;
  const owner = addressOf(bls.type, bls.privateKey).toString();
  const api = devnet.multiaddr.replace(/\/http$/, '');

  // -- daemon init: the guide's commented default
  const init = await vsm(['--net=forcenet', 'daemon', 'init']);
  assert.equal(init.code, 0, init.stderr);
  // the token workers need, and where it goes in their config
  assert.match(
    init.stdout,
    /\[sealer_rpc\]\nurl = "ws:\/\/127\.0\.0\.1:1789\/rpc\/v0"\nheaders = \{ Authorization = "Bearer <contents of .*worker-token>" \}/,
  );
  const workerToken = readFileSync(join(dir, 'vsm', 'worker-token'), 'utf8');
  const cfgFile = join(dir, 'vsm', 'sector-manager.cfg');
  assert.match(readFileSync(cfgFile, 'utf8'), /^# Default config:\n\[SectorManager\]\n# {2}PreFetch = true\n/);

  // -- [Chain] and [Messager] as the guide adds them
  const base = readFileSync(cfgFile, 'utf8')
    .replace('[Chain]\n', `[Chain]\n  Api = "${api}"\n  Token = "${devnet.token}"\n`)
    .replace('[Messager]\n', `[Messager]\n  Api = "${api}"\n  Token = "${devnet.token}"\n`);
  writeFileSync(cfgFile, base);

  // -- util miner create: logs the message states, then the miner
  const create = await vsm(['--net=forcenet', 'util', 'miner', 'create', `--from=${owner}`, '--sector-size=2KiB']);
  assert.equal(create.code, 0, create.stderr);
  assert.match(create.stderr, /wait for message receipt/);
  assert.match(create.stderr, /message landed on chain/);
  const minerAddr = /miner actor: (t0\d+) \((t2[a-z0-9]+)\)/.exec(create.stderr)?.[1];
  assert.ok(minerAddr, create.stderr);
  const miner = Number(minerAddr.slice(2));

  const info = await vsm(['--net=forcenet', 'util', 'miner', 'info', minerAddr]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(
    info.stdout,
    new RegExp(
      `^Miner: ${minerAddr}\\nOwner: t0\\d+\\nWorker: t0\\d+\\nNewWorker: <empty>\\nControls\\(0\\):\\nWokerChangeEpoch: -1\\nMultiaddrs\\(0\\):\\nSectorSize: 2048\\nWindowPoStPartitionSectors: 2\\n$`,
    ),
  );

  // -- the guide's miner, controls, store and PoSt sender; ProveCommits batched by two (one message: both
  //    sectors in one partition, WindowPoStPartitionSectors being 2)
  const store = join(dir, 'store');
  mkdirSync(store);
  const cfg = base
    .replace(
      '[SectorManager]\n',
      `[SectorManager]\n[[SectorManager.Miners]]\n    ID = ${miner}\n    InitNumber = 0\n    MaxNumber = 10000\n    Disabled = false\n`,
    )
    .replace(
      '[Commitment]\n',
      `[Commitment]\n  [Commitment.DefaultPolicy]\n    MsgConfidence = 1\n    EnableBatchProCommit = true\n    CommitBatchThreshold = 2\n    CommitBatchMaxWait = "10m"\n  [Commitment.Miners]\n    [Commitment.Miners.${miner}]\n      [Commitment.Miners.${miner}.Controls]\n        PreCommit = "${owner}"\n        ProveCommit = "${owner}"\n`,
    )
    .replace(
      '[PersistedStore]\n',
      `[PersistedStore]\n[[PersistedStore.Stores]]\n    Name = "store-${minerAddr}"\n    Path = "${store}"\n`,
    )
    .replace('[PoSt]\n', `[PoSt]\n  [PoSt.Actors]\n    [PoSt.Actors.${miner}]\n      Sender = "${owner}"\n`);
  writeFileSync(cfgFile, cfg);

  // -- daemon run --poster: its own process, with the Window PoSt prover it has by default
  const listen = `127.0.0.1:${await startManager()}`;
  const venus = createClient(ManagerAPI, {
    url: `ws://${listen}/rpc/v0`,
    headers: { Authorization: `Bearer ${workerToken}` },
  });
  // no token, no API (and one line in the log saying what the worker lacks)
  const anon = await fetch(`http://${listen}/rpc/v0`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{"jsonrpc":"2.0","id":1,"method":"Venus.Version","params":[]}',
  });
  assert.equal(anon.status, 401);
  await until(
    'the missing-token hint',
    async () => (/without a token was refused: a worker needs headers/.test(daemon!.log()) ? true : undefined),
    5_000,
  );
  const chain = createClient(FullNodeAPI, { url: devnet.url('v1'), token: devnet.token });
  const report = async (sid: { Miner: number; Number: number }, prev: string, next: string) => {
    const r = await venus.ReportState(sid, {
      Worker: { Instance: 'scripted', Location: join(dir, `seal-${sid.Number}`) },
      StateChange: { Prev: prev, Next: next, Event: next },
      Failure: null,
    });
    assert.equal(r?.Finalized, false);
  };
  const proof = sealProof('StackedDrg2KiBV1_1');

  /** The scripted worker: one allocated sector sealed for real, persisted, and its proof accepted. */
  const sealSector = async (sector: { ID: { Miner: number; Number: number }; ProofType: number }) => {
    const sid = sector.ID;
    await report(sid, 'Empty', 'Allocated');
    assert.equal(await venus.AcquireDeals(sid, { MaxDeals: null, MinUsedSpace: null }), null);
    await report(sid, 'Allocated', 'DealsAcquired');
    const ticket = await venus.AssignTicket(sid);
    await report(sid, 'TreeDBuilt', 'TicketAssigned');

    // seal a CC sector for real with the chain's ticket
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
    assert.deepEqual(await venus.SubmitPreCommit(sector, pre, false), { Res: SubmitResult.Accepted, Desc: null });
    await report(sid, 'PC2Done', 'PCSubmitted');
    await until('PreCommit landed', async () => {
      const r = await venus.PollPreCommitState(sid);
      assert.ok(
        [OnChainState.Pending, OnChainState.Packed, OnChainState.Landed].includes(r.State as never),
        JSON.stringify(r),
      );
      return r.State === OnChainState.Landed ? r : undefined;
    });
    await report(sid, 'PCSubmitted', 'PCLanded');

    // persist: reserve, copy the sealed file and the cache files, submit
    const reserved = await venus.StoreReserveSpace(sid, 4096, [`store-${minerAddr}`]);
    assert.equal(reserved?.Name, `store-${minerAddr}`);
    assert.equal((await venus.StoreBasicInfo(`store-${minerAddr}`))?.Path, store);
    const name = sectorName(sid);
    mkdirSync(join(store, 'sealed'), { recursive: true });
    mkdirSync(join(store, 'cache', name), { recursive: true });
    copyFileSync(fixture.sealedPath, join(store, 'sealed', name));
    for (const f of readdirSync(fixture.cacheDir))
      if (f === 'p_aux' || f === 't_aux' || f.includes('tree-r-last'))
        copyFileSync(join(fixture.cacheDir, f), join(store, 'cache', name, f));
    assert.equal(await venus.SubmitPersistedEx(sid, `store-${minerAddr}`, false), true);
    await report(sid, 'Persisted', 'PersistanceSubmitted');

    const seed = await until('seed', async () => {
      const w = await venus.WaitSeed(sid, 5);
      return w.Seed ?? undefined;
    });
    await report(sid, 'PersistanceSubmitted', 'SeedAssigned');
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
    assert.equal(
      (await venus.SubmitProof(sid, { Proof: toBase64(new Uint8Array(10)) }, false)).Res,
      SubmitResult.Rejected,
    );
    // C2 as the worker's builtin processor does it: vanilla seal proof bytes
    const sealed = await new VanillaSealProver().sealCommitPhase2({
      c1,
      minerId: BigInt(sid.Miner),
      sectorId: BigInt(sid.Number),
    });
    assert.deepEqual(await venus.SubmitProof(sid, { Proof: toBase64(sealed) }, false), {
      Res: SubmitResult.Accepted,
      Desc: null,
    });
    await report(sid, 'C2Done', 'ProofSubmitted');
  };

  const partitionOf = async (dl: number, p: number) => {
    const parts = await chain.StateMinerPartitions(minerAddr, dl, null);
    const part = parts?.[p];
    assert.ok(part, `deadline ${dl} partition ${p}`);
    return {
      faulty: BitField.fromJSON(part.FaultySectors).toArray(),
      recovering: BitField.fromJSON(part.RecoveringSectors).toArray(),
      active: BitField.fromJSON(part.ActiveSectors).toArray(),
    };
  };
  const provingCheck = async (deadline: number, extra: string[] = []) => {
    const r = await vsm([
      '--net=forcenet',
      'util',
      'sealer',
      'proving',
      'check',
      String(deadline),
      `--listen=${listen}`,
      ...extra,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  try {
    await venus.WorkerPing({
      Name: 'scripted',
      Dest: '127.0.0.1:17890',
      Version: 'test',
      Summary: { Threads: 1, Empty: 0, Paused: 0, Running: 2, Waiting: 0, Errors: 0 },
    });
    const sectors: { ID: { Miner: number; Number: number }; ProofType: number }[] = [];
    for (const n of [1, 2]) {
      const sector = await venus.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null });
      assert.deepEqual(sector, { ID: { Miner: miner, Number: n }, ProofType: 5 });
      sectors.push(sector!);
    }
    await Promise.all(sectors.map(sealSector));
    for (const { ID: sid } of sectors) {
      await until('ProveCommit landed', async () => {
        const r = await venus.PollProofState(sid);
        assert.ok(
          [OnChainState.Pending, OnChainState.Packed, OnChainState.Landed].includes(r.State as never),
          JSON.stringify(r),
        );
        return r.State === OnChainState.Landed ? r : undefined;
      });
    }
    const [s1, s2] = sectors.map((s) => s.ID) as [{ Miner: number; Number: number }, { Miner: number; Number: number }];

    // -- sector 2 loses its sealed file before its partition's Window PoSt
    const sealed2 = join(store, 'sealed', sectorName(s2));
    renameSync(sealed2, `${sealed2}.away`);

    for (const { ID: sid } of sectors) {
      const active = await chain.StateSectorGetInfo(minerAddr, sid.Number, null);
      assert.equal(active?.SealedCID['/'].startsWith('bagboea4b5abc'), true);
      await venus.ReportFinalized(sid);
      assert.deepEqual(
        await venus.ReportState(sid, {
          Worker: { Instance: 'scripted', Location: '' },
          StateChange: { Prev: 'Finished', Next: 'Finished', Event: 'Finish' },
          Failure: null,
        }),
        { Id: sid, Finalized: true, AbortReason: null },
      );
    }
    const loc = await chain.StateSectorPartition(minerAddr, s1.Number, null);
    assert.ok(loc);
    assert.deepEqual(await chain.StateSectorPartition(minerAddr, s2.Number, null), loc, 'one partition');

    // -- the deadline's Window PoSt skips sector 2 (declared faulty) and proves sector 1, verified in full by the
    //    chain. (A missed PoSt would have made both faulty.)
    await until(
      `sector 2 skipped in the Window PoSt of deadline ${loc.Deadline}`,
      async () => ((await partitionOf(loc.Deadline, loc.Partition)).faulty.length > 0 ? true : undefined),
      300_000,
      500,
    );
    assert.deepEqual((await partitionOf(loc.Deadline, loc.Partition)).faulty, [2], 'only the lost sector is faulty');
    const logged = (re: RegExp) => re.test(daemon!.log());
    assert.ok(logged(/window post generated.*"skipped":\[2\]/), 'the poster skipped sector 2');
    assert.ok(logged(/prover\s+window post vanilla proofs generated\s+\{"miner":\d+,"sectors":1\}/), 'real prover');

    // `util sealer proving check`: the poster's checks, through the daemon
    const check = await provingCheck(loc.Deadline);
    assert.match(check, new RegExp(`${loc.Deadline}\\s+${loc.Partition}\\s+1\\s+good`));
    assert.match(check, new RegExp(`${loc.Deadline}\\s+${loc.Partition}\\s+2\\s+bad \\(sealed file .*ENOENT\\)`));

    // -- the file comes back: recovery declared two deadlines ahead, the next period's PoSt proves both
    renameSync(`${sealed2}.away`, sealed2);
    const strict = await provingCheck(loc.Deadline, ['--slow']);
    assert.match(strict, new RegExp(`${loc.Deadline}\\s+${loc.Partition}\\s+1\\s+good`));
    assert.match(strict, new RegExp(`${loc.Deadline}\\s+${loc.Partition}\\s+2\\s+good`), 'a vanilla proof each');
    await until(
      `sector 2 recovered in the Window PoSt of deadline ${loc.Deadline}`,
      async () => {
        const p = await partitionOf(loc.Deadline, loc.Partition);
        return p.faulty.length === 0 && p.recovering.length === 0 ? true : undefined;
      },
      300_000,
      500,
    );
    assert.deepEqual((await partitionOf(loc.Deadline, loc.Partition)).active, [1, 2]);
    assert.ok(logged(/declared faults recovered.*"sectors":\[2\]/), 'recovery declared');
    assert.ok(logged(/prover\s+window post vanilla proofs generated\s+\{"miner":\d+,"sectors":2\}/), 'both proven');
    const failed = daemon!
      .log()
      .split('\n')
      .filter((l) => /window post does not verify|window post submission failed/.test(l));
    assert.deepEqual(failed, [], 'every Window PoSt verified');

    // -- operator tools against the running daemon
    const list = await vsm(['util', 'sealer', 'sectors', 'list', '--offline', `--listen=${listen}`]);
    assert.equal(list.code, 0, list.stderr);
    for (const sid of [s1, s2]) assert.match(list.stdout, new RegExp(`${sectorName(sid)}\\s+5\\s+Finalized`));
    const workers = await vsm(['util', 'worker', 'list', `--listen=${listen}`]);
    assert.match(workers.stdout, /scripted\s+127\.0\.0\.1:17890/);
    const find = await vsm(['util', 'storage', 'find', minerAddr, '1', `--listen=${listen}`]);
    assert.match(find.stdout, new RegExp(`SealedFile: store-${minerAddr}`));
  } finally {
    await venus.close();
    await chain.close();
  }
});
