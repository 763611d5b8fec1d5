/**
 * A cluster for the worker's end-to-end tests: the embedded devnet (chain, messager, gateway; the wallet side
 * answers the gateway's sign requests with the genesis keys), venus-sector-manager (`daemon init`, `util miner
 * create`, then its daemon in-process through the same startDaemon as `daemon run`) with a 2KiB miner and one
 * persist store, and helpers to format stores and run `venus-worker daemon --config` as a real program.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FullNodeAPI } from '../../src/api/full.js';
import { initHome as initDevnet, loadKeys } from '../../src/devnet/home.js';
import { DevnetService } from '../../src/devnet/service.js';
import { AcceptingVerifier } from '../../src/devnet/verifier.js';
import { addressOf } from '../../src/fil/index.js';
import { type Daemon, startDaemon } from '../../src/manager/daemon.js';
import { createClient } from '../../src/rpc/index.js';
import { ROOT, runCli, startDevnetWallet, until } from './common.js';

export { ROOT, until };

export const VSM = join(ROOT, 'src/cli/venus-sector-manager.ts');
export const WORKER = join(ROOT, 'src/cli/venus-worker.ts');
/** The built worker (`npm run build`): starts in half the time of the tsx one, and so do its processors. */
export const WORKER_BUILT = join(ROOT, 'dist/cli/venus-worker.js');

export const run = runCli;

/** Worker config: pc2 and c2 in external processors (each its own process), as the guide's worker runs them. */
export const EXTERNAL_PC2_C2 = `[processors.pc2]
external = true
[[processors.pc2.subs]]
stable_wait = "120s"

[processors.c2]
external = true
[[processors.c2.subs]]
stable_wait = "120s"
`;

export interface Cluster {
  dir: string;
  devnet: DevnetService;
  manager: Daemon;
  owner: string;
  minerAddr: string;
  miner: number;
  remote: string;
  storeName: string;
  chain: ReturnType<typeof createClient<typeof FullNodeAPI>>;
  /** The guide's worker config for these seal stores, plus `extra` TOML. */
  workerConfig(seal: string[], extra?: string): string;
  /**
   * `venus-worker daemon --config FILE` in its own process group; its stderr is collected in `log()`.
   * `built`: run dist/ (the processors it starts follow), which must have been built from this source.
   */
  startWorker(
    cfgFile: string,
    opts?: { built?: boolean },
  ): { child: ChildProcess; log: () => string; exited: Promise<void> };
  close(): Promise<void>;
}

/** Starts the devnet and the manager with a miner (2KiB sectors unless `sectorSize` says) allowed `maxNumber` sectors. */
export async function startCluster(opts: { maxNumber: number; sectorSize?: '2KiB' | '8MiB' }): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'worker-e2e-'));
  await initDevnet(
    { home: join(dir, 'devnet'), blockTimeMs: 150, listen: '127.0.0.1:0', accounts: ['bls', 'bls', 'secp256k1'] },
    new AcceptingVerifier(),
  );
  const keys = loadKeys(join(dir, 'devnet'));
  const devnet = await DevnetService.start({ home: join(dir, 'devnet') });
  const stopWallet = await startDevnetWallet(devnet, keys);
  const bls = keys.find((k) => k.type === 'bls')!;
  const owner = addressOf(bls.type, bls.privateKey).toString();
  const api = devnet.multiaddr.replace(/\/http$/, '');
  const home = join(dir, 'vsm');

  const init = await run(VSM, ['--home', home, '--net=forcenet', 'daemon', 'init']);
  if (init.code !== 0) throw new Error(`daemon init: ${init.stderr}`);
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
    `--sector-size=${opts.sectorSize ?? '2KiB'}`,
  ]);
  const minerAddr = /miner actor: (t0\d+) \((t2[a-z0-9]+)\)/.exec(create.stderr)?.[1];
  if (create.code !== 0 || !minerAddr) throw new Error(`util miner create: ${create.stderr}`);
  const miner = Number(minerAddr.slice(2));
  const remote = join(dir, 'remote');
  const storeName = `store-${minerAddr}`;
  writeFileSync(
    cfgFile,
    base
      .replace(
        '[SectorManager]\n',
        `[SectorManager]\n[[SectorManager.Miners]]\n    ID = ${miner}\n    InitNumber = 0\n    MaxNumber = ${opts.maxNumber}\n    Disabled = false\n`,
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
  const manager = await startDaemon({ home, listen: '127.0.0.1:0', poster: false, net: 'forcenet' });
  // the manager requires a token: the one `daemon init` wrote for workers
  const workerToken = readFileSync(join(home, 'worker-token'), 'utf8').trim();
  const chain = createClient(FullNodeAPI, { url: devnet.url('v1'), token: devnet.token });
  mkdirSync(join(dir, 'tmp'));
  const children: ChildProcess[] = [];

  return {
    dir,
    devnet,
    manager,
    owner,
    minerAddr,
    miner,
    remote,
    storeName,
    chain,
    workerConfig(seal, extra = '') {
      return `# venus-sector-manager API
[sealer_rpc]
url = "ws://127.0.0.1:${manager.address.port}/rpc/v0"
headers = { Authorization = "Bearer ${workerToken}" }

[sealing]
enable_deals = false
max_retries = 3
recover_interval = "2s"
rpc_polling_interval = "1s"
seal_interval = "1s"

${seal.map((s) => `[[store]]\nlocation = "${s}"\n`).join('\n')}
[limit]
pc2 = 1
c2 = 1

[remote]
path = "${remote}"
name = "${storeName}"

[worker_server]
host = "127.0.0.1"
port = 0

${EXTERNAL_PC2_C2}${extra}`;
    },
    startWorker(cfg, opts = {}) {
      let log = '';
      if (opts.built && !existsSync(WORKER_BUILT)) {
        throw new Error(`${WORKER_BUILT} is missing: build first (npm run build)`);
      }
      const program = opts.built ? [WORKER_BUILT] : ['--import', 'tsx', WORKER];
      const child = spawn(process.execPath, [...program, 'daemon', `--config=${cfg}`], {
        cwd: ROOT,
        detached: true,
        env: {
          ...process.env,
          RUST_LOG: 'debug',
          TMPDIR: join(dir, 'tmp'),
          FIL_PROOFS_PARENT_CACHE: join(dir, 'parents'),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      child.stderr!.on('data', (c: Buffer) => {
        log += c;
        if (process.env.E2E_LOG) process.stderr.write(c);
      });
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      return { child, log: () => log, exited };
    },
    async close() {
      for (const c of children) {
        if (c.exitCode === null && c.signalCode === null) {
          try {
            process.kill(-c.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await chain.close();
      await manager.close();
      stopWallet();
      await devnet.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
