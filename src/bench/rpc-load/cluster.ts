/**
 * What the manager-rpc benchmark runs against, each in a process of its own: the devnet (chain-child.ts), a 2KiB
 * miner made by `venus-sector-manager util miner create`, and the sector-manager (manager-child.ts) with that
 * miner, one persist store, and pre/prove commits batched as a busy cluster would have them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initHome } from '../../manager/config.js';

const TS = import.meta.url.endsWith('.ts');
const EXT = TS ? '.ts' : '.js';
/** the repository (src/bench/rpc-load or dist/bench/rpc-load, three levels down) */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** `node FILE`, through tsx when running from the sources. */
function nodeArgs(file: URL): string[] {
  return TS ? ['--import', 'tsx', fileURLToPath(file)] : [fileURLToPath(file)];
}

export interface Child {
  child: ChildProcess;
  /** its stderr, in a file */
  log: string;
  stop(): Promise<void>;
}

/** Starts `node [execArgv] FILE args`; resolves with its first stdout line (JSON) once it prints it. */
async function startChild<T>(
  name: string,
  file: URL,
  args: string[],
  logFile: string,
  o: { execArgv?: string[]; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Child & { hello: T }> {
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...(o.execArgv ?? []), ...nodeArgs(file), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...(o.env ?? {}) },
    stdio: ['pipe', 'pipe', fd],
  });
  closeSync(fd);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin!.end();
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killer);
  };
  const hello = await new Promise<T>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${name} did not start within ${(o.timeoutMs ?? 120_000) / 1000} s (log: ${logFile})`));
    }, o.timeoutMs ?? 120_000);
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, nl)) as T);
      } catch (err) {
        reject(new Error(`${name} printed ${out.slice(0, nl)}: ${(err as Error).message}`));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
      reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${tail}`));
    });
  });
  return { child, log: logFile, stop, hello };
}

/** CPU seconds (user + system) a process used so far, from /proc (undefined where there is none). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of proc(5), in clock ticks (100 per second on Linux)
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return undefined;
  }
}

function runToEnd(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    p.stdout.resume();
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

export interface ClusterOptions {
  dir: string;
  /** the devnet's block time (default 500 ms) */
  blockMs?: number;
  /** extra TOML for sector-manager.cfg, e.g. [Common.DB] */
  managerToml?: string;
  /** node flags of the manager's process (e.g. --cpu-prof) */
  managerExecArgv?: string[];
}

export interface Cluster {
  url: string;
  /** process ids, to read their CPU time */
  pids: { manager: number; devnet: number };
  token: string;
  miner: number;
  store: { name: string; path: string };
  managerLog: string;
  stop(): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  mkdirSync(o.dir, { recursive: true });
  const chain = await startChild<{ api: string; token: string; owner: string }>(
    'the devnet',
    new URL(`./chain-child${EXT}`, import.meta.url),
    [o.dir, String(o.blockMs ?? 500)],
    join(o.dir, 'devnet.log'),
  );
  try {
    const { api, token, owner } = chain.hello;
    const home = join(o.dir, 'vsm');
    const { file } = initHome(home);
    const base = readFileSync(file, 'utf8')
      .replace('[Chain]\n', `[Chain]\n  Api = "${api}"\n  Token = "${token}"\n`)
      .replace('[Messager]\n', `[Messager]\n  Api = "${api}"\n  Token = "${token}"\n`);
    writeFileSync(file, base);
    const cli = new URL(`../../cli/venus-sector-manager${EXT}`, import.meta.url);
    const create = await runToEnd(
      [
        ...nodeArgs(cli),
        '--home',
        home,
        '--net=forcenet',
        'util',
        'miner',
        'create',
        `--from=${owner}`,
        '--sector-size=2KiB',
      ],
      { LOG_FORMAT: 'text', RUST_LOG: 'info' },
    );
    const minerAddr = /miner actor: (t0\d+)/.exec(create.stderr)?.[1];
    if (create.code !== 0 || !minerAddr) throw new Error(`util miner create failed:\n${create.stderr}`);
    const miner = Number(minerAddr.slice(2));
    const storePath = join(o.dir, 'store');
    mkdirSync(storePath, { recursive: true });
    const store = { name: `store-${minerAddr}`, path: storePath };
    writeFileSync(
      file,
      `${base
        .replace(
          '[SectorManager]\n',
          `[SectorManager]\n[[SectorManager.Miners]]\n    ID = ${miner}\n    InitNumber = 0\n    MaxNumber = 100000000\n    Disabled = false\n`,
        )
        .replace(
          '[Commitment]\n',
          `[Commitment]\n  [Commitment.DefaultPolicy]\n    MsgConfidence = 1\n` +
            `    EnableBatchPreCommit = true\n    PreCommitBatchThreshold = 32\n    PreCommitBatchMaxWait = "2s"\n` +
            `    PreCommitCheckInterval = "1s"\n    CommitCheckInterval = "1s"\n` +
            `    EnableBatchProCommit = true\n    CommitBatchThreshold = 32\n    CommitBatchMaxWait = "2s"\n` +
            `  [Commitment.Miners]\n    [Commitment.Miners.${miner}]\n      [Commitment.Miners.${miner}.Controls]\n` +
            `        PreCommit = "${owner}"\n        ProveCommit = "${owner}"\n`,
        )
        .replace(
          '[PersistedStore]\n',
          `[PersistedStore]\n[[PersistedStore.Stores]]\n    Name = "${store.name}"\n    Path = "${store.path}"\n`,
        )}${o.managerToml ?? ''}`,
    );
    const manager = await startChild<{ port: number }>(
      'the sector-manager',
      new URL(`./manager-child${EXT}`, import.meta.url),
      [home],
      join(o.dir, 'manager.log'),
      { execArgv: o.managerExecArgv ?? [] },
    );
    const workerToken = readFileSync(join(home, 'worker-token'), 'utf8').trim();
    return {
      url: `ws://127.0.0.1:${manager.hello.port}/rpc/v0`,
      pids: { manager: manager.child.pid!, devnet: chain.child.pid! },
      token: workerToken,
      miner,
      store,
      managerLog: manager.log,
      async stop() {
        await manager.stop();
        await chain.stop();
      },
    };
  } catch (err) {
    await chain.stop();
    throw err;
  }
}
