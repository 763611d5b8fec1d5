/**
 * The worker on the devnet, as the deployment guide runs it: the embedded devnet (chain, messager, gateway;
 * the wallet side answers the gateway's sign requests with the genesis keys), venus-sector-manager
 * (`daemon init`, `util miner create`, then its daemon, started in-process through the same startDaemon as
 * `daemon run`), and `venus-worker store seal-init` / `store file-init` / `daemon --config` as real programs,
 * with two seal stores and external pc2 and c2 processors. Two 2KiB CC sectors must become active on chain
 * with their files in the remote store. Seal proofs are the devnet's format (the C1 output), verified in
 * full by the manager and by the chain.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { FullNodeAPI } from '../../src/api/full.js';
import { GatewayAPI, type RequestEvent } from '../../src/api/gateway.js';
import { setupLogging } from '../../src/common/log.js';
import { initHome as initDevnet, loadKeys } from '../../src/devnet/home.js';
import { DevnetService } from '../../src/devnet/service.js';
import { AcceptingVerifier } from '../../src/devnet/verifier.js';
import {
  addressOf,
  fromBase64,
  type KeyInfo,
  setDefaultNetwork,
  signatureToJSON,
  signWithKey,
  toBase64,
} from '../../src/fil/index.js';
import { type Daemon, startDaemon } from '../../src/manager/daemon.js';
import { createClient } from '../../src/rpc/index.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });
setDefaultNetwork('t');

const ROOT = new URL('../..', import.meta.url).pathname;
const VSM = join(ROOT, 'src/cli/venus-sector-manager.ts');
const WORKER = join(ROOT, 'src/cli/venus-worker.ts');

let dir: string;
let devnet: DevnetService;
let keys: KeyInfo[];
let manager: Daemon | undefined;
let worker: ChildProcess | undefined;
let stopWallet: (() => void) | undefined;

function run(cli: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', cli, ...args], {
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

/** The wallet's part for the devnet: register with the gateway and sign with the genesis keys. */
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

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number, every = 500): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'worker-e2e-'));
  await initDevnet(
    { home: join(dir, 'devnet'), blockTimeMs: 150, listen: '127.0.0.1:0', accounts: ['bls', 'bls', 'secp256k1'] },
    new AcceptingVerifier(),
  );
  keys = loadKeys(join(dir, 'devnet'));
  devnet = await DevnetService.start({ home: join(dir, 'devnet') });
  stopWallet = await startWallet();
});

after(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.once('exit', r));
  }
  await manager?.close();
  stopWallet?.();
  await devnet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('venus-worker with 2 seal stores and external pc2/c2 seals two 2KiB sectors to active on chain', {
  timeout: 600_000,
}, async () => {
  const bls = keys.find((k) => k.type === 'bls')!;
  const owner = addressOf(bls.type, bls.privateKey).toString();
  const api = devnet.multiaddr.replace(/\/http$/, '');
  const home = join(dir, 'vsm');

  // -- venus-sector-manager: init, chain and messager, a 2KiB miner, its store
  const init = await run(VSM, ['--home', home, '--net=forcenet', 'daemon', 'init']);
  assert.equal(init.code, 0, init.stderr);
  const cfgFile = join(home, 'sector-manager.cfg');
  const base = readFileSync(cfgFile, 'utf8')
    .replace('[Chain]\n', `[Chain]\n  Api = "${api}"\n  Token = "${devnet.token}"\n`)
    .replace('[Messager]\n', `[Messager]\n  Api = "${api}"\n  Token = "${devnet.token}"\n`);
  writeFileSync(cfgFile, base);
  const create = await run(VSM, [
    '--home',
    home,
    '--net=forcenet',
    'util',
    'miner',
    'create',
    `--from=${owner}`,
    '--sector-size=2KiB',
  ]);
  assert.equal(create.code, 0, create.stderr);
  const minerAddr = /miner actor: (t0\d+) \((t2[a-z0-9]+)\)/.exec(create.stderr)?.[1];
  assert.ok(minerAddr, create.stderr);
  const miner = Number(minerAddr.slice(2));

  const remote = join(dir, 'remote');
  const storeName = `store-${minerAddr}`;
  writeFileSync(
    cfgFile,
    base
      .replace(
        '[SectorManager]\n',
        `[SectorManager]\n[[SectorManager.Miners]]\n    ID = ${miner}\n    InitNumber = 0\n    MaxNumber = 2\n    Disabled = false\n`,
      )
      .replace(
        '[Commitment]\n',
        `[Commitment]\n  [Commitment.DefaultPolicy]\n    MsgConfidence = 1\n  [Commitment.Miners]\n    [Commitment.Miners.${miner}]\n      [Commitment.Miners.${miner}.Controls]\n        PreCommit = "${owner}"\n        ProveCommit = "${owner}"\n`,
      )
      .replace(
        '[PersistedStore]\n',
        `[PersistedStore]\n[[PersistedStore.Stores]]\n    Name = "${storeName}"\n    Path = "${remote}"\n`,
      ),
  );
  manager = await startDaemon({ home, listen: '127.0.0.1:0', poster: false, net: 'forcenet' });

  // -- venus-worker: the guide's commands and config
  const seal = [join(dir, 'seal', 'seal_01'), join(dir, 'seal', 'seal_02')];
  let r = await run(WORKER, ['store', 'seal-init', '-l', ...seal]);
  assert.equal(r.code, 0, r.stderr);
  r = await run(WORKER, ['store', 'file-init', '-l', remote]);
  assert.equal(r.code, 0, r.stderr);
  mkdirSync(join(dir, 'tmp'));
  const workerCfg = join(dir, 'venus-worker.toml');
  writeFileSync(
    workerCfg,
    `# venus-sector-manager API
[sealer_rpc]
url = "ws://127.0.0.1:${manager.address.port}/rpc/v0"

[sealing]
enable_deals = false
max_retries = 3
recover_interval = "2s"
rpc_polling_interval = "1s"
seal_interval = "1s"

[[store]]
location = "${seal[0]}"

[[store]]
location = "${seal[1]}"

[limit]
pc2 = 1
c2 = 1

[remote]
path = "${remote}"
name = "${storeName}"

[worker_server]
host = "127.0.0.1"
port = 0

[processors.pc2]
external = true
[[processors.pc2.subs]]
stable_wait = "120s"

[processors.c2]
external = true
[[processors.c2.subs]]
stable_wait = "120s"
`,
  );
  let workerLog = '';
  worker = spawn(process.execPath, ['--import', 'tsx', WORKER, 'daemon', `--config=${workerCfg}`], {
    cwd: ROOT,
    env: {
      ...process.env,
      RUST_LOG: 'debug',
      TMPDIR: join(dir, 'tmp'),
      FIL_PROOFS_PARENT_CACHE: join(dir, 'parents'),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  worker.stderr!.on('data', (c: Buffer) => {
    workerLog += c;
    if (process.env.E2E_LOG) process.stderr.write(c);
  });

  const chain = createClient(FullNodeAPI, { url: devnet.url('v1'), token: devnet.token });
  try {
    for (const n of [1, 2]) {
      await until(
        `sector ${n} active on chain`,
        async () => ((await chain.StateSectorGetInfo(minerAddr, n, null)) ? true : undefined),
        480_000,
      ).catch((err) => {
        throw new Error(`${(err as Error).message}\nworker log tail:\n${workerLog.slice(-4000)}`);
      });
    }
    for (const n of [1, 2]) {
      const name = `s-t0${miner}-${n}`;
      assert.equal(statSync(join(remote, 'sealed', name)).size, 2048);
      assert.deepEqual(readdirSync(join(remote, 'cache', name)).sort(), [
        'p_aux',
        'sc-02-data-tree-r-last.dat',
        't_aux',
      ]);
    }
    assert.match(workerLog, /processor ready.*"stage":"pc2"|pc2.*processor ready/);
    assert.match(workerLog, /sector finished/);
  } finally {
    await chain.close();
  }
});
