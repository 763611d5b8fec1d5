/**
 * The cluster home: one folder holding every program's home, its logs and what the runner has done so far, so
 * a second `npm start` resumes instead of starting over.
 *
 *   cluster.json          this file's ClusterState: sector size, ports, miner, addresses, steps done
 *   cluster.lock          pid of the runner using the home (two runners on one home would fight over ports)
 *   logs/<program>.log    each program's output (one-shot commands too), appended across runs
 *   devnet/               venus-devnet --home
 *   wallet/               venus-wallet --repo (config.toml written before its first start)
 *   wallet.password       the wallet's password (0600; a local development cluster keeps it for restarts)
 *   manager/              venus-sector-manager --home (sector-manager.cfg); manager-2/ … with --managers N
 *   postgres/             the throwaway PostgreSQL of --db postgres (data and its own log)
 *   worker/venus-worker.toml, worker/seal-1, worker/seal-2, worker/tmp
 *   remote/               the persist store (venus-worker store file-init; [PersistedStore] of the manager)
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { UserError } from '../common/cli.js';

export interface ClusterPaths {
  home: string;
  state: string;
  lock: string;
  logs: string;
  devnet: string;
  wallet: string;
  walletPassword: string;
  manager: string;
  /** --db postgres: the throwaway PostgreSQL's folder */
  postgres: string;
  worker: string;
  workerConfig: string;
  sealStores: string[];
  /** the seal store of the worker's rebuild thread (plan = "rebuild", docs/rebuild.md) */
  rebuildStore: string;
  /** the seal store of the worker's unseal thread (plan = "unseal"; only with --deals) */
  unsealStore: string;
  /** the seal store of the worker's snapup thread (plan = "snapup"; only with --deals) */
  snapupStore: string;
  /** where --deals N writes its client files */
  deals: string;
  workerTmp: string;
  remote: string;
}

export function clusterPaths(home: string, sealStores = 2): ClusterPaths {
  const h = resolve(home);
  return {
    home: h,
    state: join(h, 'cluster.json'),
    lock: join(h, 'cluster.lock'),
    logs: join(h, 'logs'),
    devnet: join(h, 'devnet'),
    wallet: join(h, 'wallet'),
    walletPassword: join(h, 'wallet.password'),
    manager: join(h, 'manager'),
    postgres: join(h, 'postgres'),
    worker: join(h, 'worker'),
    workerConfig: join(h, 'worker', 'venus-worker.toml'),
    sealStores: Array.from({ length: sealStores }, (_, i) => join(h, 'worker', `seal-${i + 1}`)),
    rebuildStore: join(h, 'worker', 'rebuild-1'),
    unsealStore: join(h, 'worker', 'unseal-1'),
    snapupStore: join(h, 'worker', 'snapup-1'),
    deals: join(h, 'deals'),
    workerTmp: join(h, 'worker', 'tmp'),
    remote: join(h, 'remote'),
  };
}

/** Manager i's home (1-based): the first keeps manager/ (homes made before --managers), the others manager-<i>/. */
export function managerHome(p: ClusterPaths, i: number): string {
  return i === 1 ? p.manager : join(p.home, `manager-${i}`);
}

/**
 * Manager i's name in messages, the view and its log file: "manager" when it is the only one, else
 * "manager-1", "manager-2", … (the names it holds its duty leases under).
 */
export function managerName(i: number, count: number): string {
  return count === 1 ? 'manager' : `manager-${i}`;
}

export function logFile(p: ClusterPaths, program: string): string {
  return join(p.logs, `${program}.log`);
}

export interface ClusterPorts {
  devnet: number;
  wallet: number;
  manager: number;
  worker: number;
}

/** The ports the programs listen on by default (Lotus, venus-wallet, damocles-manager, damocles-worker). */
export const DEFAULT_PORTS: ClusterPorts = { devnet: 1234, wallet: 5678, manager: 1789, worker: 17890 };

/** Steps done, in order; each is recorded when it has succeeded, so a rerun skips it. */
export type Step =
  | 'devnet-init'
  | 'wallet-config'
  | 'wallet-password'
  | 'wallet-keys'
  | 'manager-init'
  /** daemon init of manager i ≥ 2 */
  | `manager-${number}-init`
  | 'miner-create'
  | 'worker-stores';

export interface ClusterState {
  version: 1;
  /** "2KiB" or "8MiB": fixed when the miner is created. */
  sectorSize: string;
  ports: ClusterPorts;
  steps: Step[];
  /** Funded addresses imported into the wallet: owner (and worker), the rest. */
  addresses: string[];
  owner?: string;
  /** Ports of managers 2…N (--managers), chosen when first needed. */
  managerPorts?: number[];
  /**
   * The managers' database: 'sqlite'; 'postgres-local' (--db postgres: a throwaway server under postgres/,
   * removed at exit, so such a home does not resume); 'postgres' (--db postgres://…; the DSN holds a password and
   * is kept only in the managers' 0600 configs). Absent: sqlite (older homes).
   */
  db?: 'sqlite' | 'postgres' | 'postgres-local';
  /** Miner actor id, e.g. "t01000". */
  miner?: string;
  /** Daemons running now (cleared at a clean stop): a rerun after the runner was killed stops these first. */
  pids?: Record<string, number>;
  createdAt: string;
}

export function loadState(p: ClusterPaths): ClusterState | undefined {
  if (!existsSync(p.state)) return undefined;
  let s: ClusterState;
  try {
    s = JSON.parse(readFileSync(p.state, 'utf8')) as ClusterState;
  } catch (err) {
    throw new UserError(`${p.state}: not readable JSON (${(err as Error).message}); fix it or use another --home`);
  }
  if (s.version !== 1 || !Array.isArray(s.steps) || typeof s.sectorSize !== 'string' || !s.ports) {
    throw new UserError(`${p.state}: not a cluster state file of this version; use another --home`);
  }
  return s;
}

/** Written to a temporary file and renamed: a crash leaves the old or the new state, never half of one. */
export function saveState(p: ClusterPaths, s: ClusterState): void {
  mkdirSync(p.home, { recursive: true });
  const tmp = `${p.state}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(s, null, 2)}\n`);
  renameSync(tmp, p.state);
}

export function done(s: ClusterState, step: Step): boolean {
  return s.steps.includes(step);
}

export function markDone(p: ClusterPaths, s: ClusterState, step: Step): void {
  if (!s.steps.includes(step)) s.steps.push(step);
  saveState(p, s);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take the home for this runner; refuses while another live runner holds it. Returns the release function. */
export function lockHome(p: ClusterPaths): () => void {
  mkdirSync(p.home, { recursive: true });
  if (existsSync(p.lock)) {
    const pid = Number(readFileSync(p.lock, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
      throw new UserError(
        `${p.home} is in use by another venus-cluster (pid ${pid}); stop it first (Ctrl-C there) or use another --home`,
      );
    }
  }
  writeFileSync(p.lock, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(p.lock, 'utf8').trim() === String(process.pid)) rmSync(p.lock);
    } catch {
      // already gone
    }
  };
}

/** Whether something accepts connections on 127.0.0.1:port (i.e. we cannot listen there). */
export async function portBusy(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const s = createServer();
    s.once('error', () => resolvePromise(true));
    s.listen(port, host, () => s.close(() => resolvePromise(false)));
  });
}

/**
 * A free port below Linux's ephemeral range (32768–60999), picked at random: a port the system hands out for
 * `listen(0)` may be given to another process (any client socket, another test's server) before our daemon binds
 * it, and a daemon's readiness probe would then talk to that stranger. Ports here are never handed out that way.
 */
async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (!(await portBusy(port))) return port;
  }
  throw new Error('no free port found in 20000–31999 after 200 tries');
}

/**
 * Ports for a new home: the usual ones where free, a free port otherwise (a second cluster on the same
 * machine then just works). `base` overrides the usual ones (tests).
 */
export async function choosePorts(base: Partial<ClusterPorts> = {}): Promise<ClusterPorts> {
  const want = { ...DEFAULT_PORTS, ...base };
  const out = {} as ClusterPorts;
  const taken = new Set<number>();
  for (const k of Object.keys(want) as (keyof ClusterPorts)[]) {
    let port = want[k];
    if (port === 0 || taken.has(port) || (await portBusy(port))) {
      do port = await freePort();
      while (taken.has(port));
    }
    taken.add(port);
    out[k] = port;
  }
  return out;
}

/**
 * Ports for managers 2…N: after the first manager's usual 1789 come 1790, 1791, … where free (0: any free port),
 * never one of `taken` (the cluster's other ports).
 */
export async function chooseManagerPorts(count: number, first: number, taken: number[]): Promise<number[]> {
  const used = new Set(taken);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    let port = first === 0 ? 0 : first + 1 + i;
    if (port === 0 || used.has(port) || (await portBusy(port))) {
      do port = await freePort();
      while (used.has(port));
    }
    used.add(port);
    out.push(port);
  }
  return out;
}

/** The command line of a live process, or undefined (gone, or not ours to read). */
function cmdlineOf(pid: number): string | undefined {
  try {
    // a zombie (exited, not yet reaped by its new parent) has an empty command line: gone for our purpose
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Daemons of this home left running by an earlier runner that was killed (kill -9, a crash): stopped here, so
 * the rerun can take their ports. A pid counts only if it is alive and its command line names this home.
 * Returns what was stopped ("devnet (pid 123)").
 */
export async function stopLeftovers(p: ClusterPaths, s: ClusterState): Promise<string[]> {
  const stopped: string[] = [];
  for (const [name, pid] of Object.entries(s.pids ?? {})) {
    const cmd = cmdlineOf(pid);
    if (!cmd?.includes(p.home)) continue;
    const signal = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pid, sig);
      } catch {
        try {
          process.kill(pid, sig);
        } catch {
          // gone
        }
      }
    };
    signal('SIGTERM');
    const until = Date.now() + 10_000;
    while (cmdlineOf(pid) !== undefined && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    if (cmdlineOf(pid) !== undefined) signal('SIGKILL');
    stopped.push(`${name} (pid ${pid})`);
  }
  s.pids = {};
  saveState(p, s);
  return stopped;
}

/** On resume, the recorded ports must be free (a program of this home still running would hold one). */
export async function checkPortsFree(ports: ClusterPorts | Record<string, number>): Promise<void> {
  for (const [name, port] of Object.entries(ports)) {
    if (await portBusy(port)) {
      throw new UserError(
        `port ${port} (${name}) is in use by another program; stop it or use another --home (a new home picks ` +
          'free ports)',
      );
    }
  }
}

/** The wallet password: made once (random), kept 0600 in the home for restarts (`run --password`). */
export function walletPassword(p: ClusterPaths): { password: string; created: boolean } {
  if (existsSync(p.walletPassword)) {
    return { password: readFileSync(p.walletPassword, 'utf8').trim(), created: false };
  }
  mkdirSync(p.home, { recursive: true });
  const password = randomBytes(18).toString('base64url');
  writeFileSync(p.walletPassword, `${password}\n`, { mode: 0o600 });
  return { password, created: true };
}
