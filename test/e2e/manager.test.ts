/**
 * venus-sector-manager on the devnet, as the deployment guide runs it:
 *   `--net=forcenet daemon init`, sector-manager.cfg filled in as the guide shows, `util miner create`,
 *   `util miner info`, then the daemon with the poster (started in-process through the same startDaemon that
 *   `daemon run --poster` calls, so the test can hand it a Window PoSt prover), and a scripted worker that takes
 *   one 2KiB sector through every Venus.* call — sealed for real by the proofs module (TreeD, PC1, PC2, C1; the
 *   C1 output is the devnet's seal proof, verified in full by the manager and by the chain) — to an active
 *   sector, after which the Window PoSt of its deadline lands.
 *
 * The devnet runs with `insecureAcceptPoSt` and the test's prover writes a placeholder proof: the proofs module
 * has no Window PoSt vanilla prover yet. Everything else (deadlines, partitions, ChainCommitRand) is checked.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FullNodeAPI } from '../../src/api/full.js';
import { GatewayAPI, type RequestEvent } from '../../src/api/gateway.js';
import { bytes32ToJson, ManagerAPI, OnChainState, SubmitResult, sectorName } from '../../src/api/sealer.js';
import { setupLogging } from '../../src/common/log.js';
import { initHome as initDevnet, loadKeys } from '../../src/devnet/home.js';
import { DevnetService } from '../../src/devnet/service.js';
import { AcceptingVerifier } from '../../src/devnet/verifier.js';
import {
  addressOf,
  BitField,
  fromBase64,
  type KeyInfo,
  randomnessToFr32,
  setDefaultNetwork,
  signatureToJSON,
  signWithKey,
  toBase64,
} from '../../src/fil/index.js';
import { type Daemon, startDaemon } from '../../src/manager/daemon.js';
import type { WindowPoStProver } from '../../src/manager/prover.js';
import { sealProof } from '../../src/proofs/index.js';
import { encodeC1Output, sealCommitPhase1 } from '../../src/proofs/porep/c1.js';
import { sealFixture } from '../../src/proofs/porep/fixture.js';
import { proverIdFromActorId } from '../../src/proofs/sdr/index.js';
import { createClient } from '../../src/rpc/index.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });
setDefaultNetwork('t');

const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = join(ROOT, 'src/cli/venus-sector-manager.ts');

let dir: string;
let devnet: DevnetService;
let keys: KeyInfo[];
let daemon: Daemon | undefined;
let stopWallet: (() => void) | undefined;

function vsm(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CLI, '--home', join(dir, 'vsm'), ...args], {
      env: { ...process.env, RUST_LOG: 'info', LOG_FORMAT: 'text' },
      cwd: ROOT,
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    p.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** What venus-wallet does for the devnet: register with the gateway and sign with the genesis keys. */
async function startWallet(): Promise<() => void> {
  const gw = createClient(GatewayAPI, { url: devnet.url('v1', 'ws'), token: devnet.token });
  const byAddr = new Map(keys.map((k) => [addressOf(k.type, k.privateKey).toString(), k]));
  const sub = await gw.ListenWalletEvent({
    SupportAccounts: ['devnet'],
    SignBytes: toBase64(new Uint8Array(32).fill(7)),
  });
  let connected!: () => void;
  const ready = new Promise<void>((r) => {
    connected = r;
  });
  void (async () => {
    for await (const ev of sub as AsyncIterable<RequestEvent>) {
      const payload = ev.Payload ? JSON.parse(Buffer.from(ev.Payload, 'base64').toString()) : null;
      if (ev.Method === 'WalletList') {
        await gw.ResponseWalletEvent({
          Id: ev.Id,
          Payload: toBase64(Buffer.from(JSON.stringify([...byAddr.keys()]))),
          Error: '',
        });
      } else if (ev.Method === 'WalletSign') {
        const sig = signatureToJSON(signWithKey(byAddr.get(payload.Signer)!, fromBase64(payload.ToSign)));
        await gw.ResponseWalletEvent({ Id: ev.Id, Payload: toBase64(Buffer.from(JSON.stringify(sig))), Error: '' });
      } else if (ev.Method === 'InitConnect') connected();
    }
  })();
  await ready;
  return () => {
    sub.cancel();
    void gw.close();
  };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 120_000, every = 200): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

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
    new AcceptingVerifier(),
  );
  keys = loadKeys(join(dir, 'devnet'));
  devnet = await DevnetService.start({ home: join(dir, 'devnet'), insecureAcceptPoSt: true });
  stopWallet = await startWallet();
});

after(async () => {
  await daemon?.close();
  stopWallet?.();
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('daemon init, util miner create/info, daemon run --poster, one 2KiB sector to active, its Window PoSt lands', {
  timeout: 600_000,
}, async () => {
  // the worker key must be BLS (the miner actor's rule): use a BLS genesis account as owner and worker
  const bls = keys.find((k) => k.type === 'bls')!;
  const owner = addressOf(bls.type, bls.privateKey).toString();
  const api = devnet.multiaddr.replace(/\/http$/, '');

  // -- daemon init: the guide's commented default
  const init = await vsm(['--net=forcenet', 'daemon', 'init']);
  assert.equal(init.code, 0, init.stderr);
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

  // -- the guide's miner, controls, store and PoSt sender
  const store = join(dir, 'store');
  mkdirSync(store);
  const cfg = base
    .replace(
      '[SectorManager]\n',
      `[SectorManager]\n[[SectorManager.Miners]]\n    ID = ${miner}\n    InitNumber = 0\n    MaxNumber = 10000\n    Disabled = false\n`,
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
  writeFileSync(cfgFile, cfg);

  // -- daemon run --poster (in-process, so the test hands it the placeholder Window PoSt prover)
  const posts: number[] = [];
  const prover: WindowPoStProver = {
    async generateWindowPoSt(i) {
      posts.push(i.sectors.length);
      return { proofBytes: new Uint8Array(192).fill(1), faults: [] };
    },
    async verifyWindowPoSt() {
      return true;
    },
    async checkSector() {
      return undefined;
    },
  };
  daemon = await startDaemon({
    home: join(dir, 'vsm'),
    listen: '127.0.0.1:0',
    poster: true,
    net: 'forcenet',
    prover,
    challengeConfidence: 2,
    submitConfidence: 1,
  });
  const venus = createClient(ManagerAPI, { url: `ws://127.0.0.1:${daemon.address.port}/rpc/v0` });
  const chain = createClient(FullNodeAPI, { url: devnet.url('v1'), token: devnet.token });
  const report = async (sid: { Miner: number; Number: number }, prev: string, next: string) => {
    const r = await venus.ReportState(sid, {
      Worker: { Instance: 'scripted', Location: join(dir, 'seal') },
      StateChange: { Prev: prev, Next: next, Event: next },
      Failure: null,
    });
    assert.equal(r?.Finalized, false);
  };

  try {
    await venus.WorkerPing({
      Name: 'scripted',
      Dest: '127.0.0.1:17890',
      Version: 'test',
      Summary: { Threads: 1, Empty: 0, Paused: 0, Running: 1, Waiting: 0, Errors: 0 },
    });
    const sector = await venus.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    assert.deepEqual(sector, { ID: { Miner: miner, Number: 1 }, ProofType: 5 });
    const sid = sector!.ID;
    await report(sid, 'Empty', 'Allocated');
    assert.equal(await venus.AcquireDeals(sid, { MaxDeals: null, MinUsedSpace: null }), null);
    await report(sid, 'Allocated', 'DealsAcquired');
    const ticket = await venus.AssignTicket(sid);
    await report(sid, 'TreeDBuilt', 'TicketAssigned');

    // seal a CC sector for real with the chain's ticket
    const proof = sealProof('StackedDrg2KiBV1_1');
    const fixture = await sealFixture({
      proof,
      dir: join(dir, 'seal'),
      parentDir: join(dir, 'parents'),
      data: new Uint8Array(2048),
      proverId: proverIdFromActorId(miner),
      sectorId: BigInt(sid.Number),
      ticket: randomnessToFr32(fromBase64(ticket.Ticket)),
    });
    const pre = { CommR: bytes32ToJson(fixture.commR), CommD: bytes32ToJson(fixture.commD), Ticket: ticket };
    assert.deepEqual(await venus.SubmitPreCommit(sector!, pre, false), { Res: SubmitResult.Accepted, Desc: null });
    assert.deepEqual(await venus.SubmitPreCommit(sector!, pre, false), { Res: SubmitResult.Accepted, Desc: null });
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
    const proofB64 = toBase64(encodeC1Output(c1));
    assert.equal(
      (await venus.SubmitProof(sid, { Proof: toBase64(new Uint8Array(10)) }, false)).Res,
      SubmitResult.Rejected,
    );
    assert.deepEqual(await venus.SubmitProof(sid, { Proof: proofB64 }, false), {
      Res: SubmitResult.Accepted,
      Desc: null,
    });
    await report(sid, 'C2Done', 'ProofSubmitted');
    await until('ProveCommit landed', async () => {
      const r = await venus.PollProofState(sid);
      assert.ok(
        [OnChainState.Pending, OnChainState.Packed, OnChainState.Landed].includes(r.State as never),
        JSON.stringify(r),
      );
      return r.State === OnChainState.Landed ? r : undefined;
    });
    const active = await chain.StateSectorGetInfo(minerAddr, sid.Number, null);
    assert.equal(active?.SealedCID['/'].startsWith('bagboea4b5abc'), true);
    await venus.ReportFinalized(sid);
    assert.deepEqual(
      await venus.ReportState(sid, {
        Worker: { Instance: 'scripted', Location: '' },
        StateChange: { Prev: 'Finished', Next: 'Finished', Event: 'Finish' },
        Failure: null,
      }),
      {
        Id: sid,
        Finalized: true,
        AbortReason: null,
      },
    );

    // -- the Window PoSt of the sector's deadline lands
    const loc = await chain.StateSectorPartition(minerAddr, sid.Number, null);
    assert.ok(loc);
    await until(
      `Window PoSt of deadline ${loc.Deadline}`,
      async () => {
        const dls = await chain.StateMinerDeadlines(minerAddr, null);
        return BitField.fromJSON(dls[loc.Deadline]!.PostSubmissions).has(loc.Partition) ? true : undefined;
      },
      300_000,
      500,
    );
    assert.ok(posts.length > 0);
    const parts = await chain.StateMinerPartitions(minerAddr, loc.Deadline, null);
    assert.equal(BitField.fromJSON(parts![loc.Partition]!.FaultySectors).count(), 0, 'no fault');

    // -- operator tools against the running daemon
    const listen = `127.0.0.1:${daemon.address.port}`;
    const list = await vsm(['util', 'sealer', 'sectors', 'list', '--offline', `--listen=${listen}`]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(`${name}\\s+5\\s+Finalized`));
    const workers = await vsm(['util', 'worker', 'list', `--listen=${listen}`]);
    assert.match(workers.stdout, /scripted\s+127\.0\.0\.1:17890/);
    const find = await vsm(['util', 'storage', 'find', minerAddr, '1', `--listen=${listen}`]);
    assert.match(find.stdout, new RegExp(`SealedFile: store-${minerAddr}`));
    const check = await vsm([
      '--net=forcenet',
      'util',
      'sealer',
      'proving',
      'check',
      String(loc.Deadline),
      `--listen=${listen}`,
    ]);
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, new RegExp(`${loc.Deadline}\\s+${loc.Partition}\\s+1\\s+good`));
  } finally {
    await venus.close();
    await chain.close();
  }
});
