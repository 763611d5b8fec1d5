/**
 * `npm run bench -- manager-rpc`: load on a real sector-manager's worker API. N simulated workers (one sealing
 * thread each, its own WebSocket, the worker token) drive CC sectors through every call a venus-worker makes
 * (rpc-load/sim-worker.ts) against `daemon run`'s startDaemon in a child process, over the devnet's chain in
 * another; the seal proofs are digests the manager checks through its verifier hook (rpc-load/digest-proof.ts).
 * Reported: calls/s achieved, p50/p99 per method, errors, for each worker count of the sweep.
 *
 *   --workers N      the headline worker count (default 200)
 *   --sweep LIST     worker counts to measure (default 25,50,100,200,400; "none": only --workers)
 *   --rate R         calls/s each thread offers (default 30; 0: back to back)
 *   --seconds S      measured seconds per point (default 20), after --warmup S (default 5)
 *   --db D           sqlite (default), postgres, or both
 *   --block-ms MS    the devnet's block time (default 500)
 *   --profile DIR    the manager runs with node --cpu-prof, its profile written to DIR
 *   --keep           keep the run's directory (devnet, manager home and their logs)
 *
 * docs/bench.md explains the figures.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pgAvailable, startLocalPostgres } from '../common/pg-local.js';
import type { BenchFigure } from './index.js';
import { type Cluster, cpuSeconds, startCluster } from './rpc-load/cluster.js';
import { SimWorker } from './rpc-load/sim-worker.js';
import { LatencyStats, type LoadFigures } from './rpc-load/stats.js';

export type Db = 'sqlite' | 'postgres';

export interface LoadOptions {
  workers: number;
  /** calls/s per thread; 0 = back to back */
  rate: number;
  warmupSeconds: number;
  seconds: number;
}

/** Runs `workers` simulated workers against a started cluster: a warm-up, then `seconds` measured. */
export async function runLoad(c: Cluster, o: LoadOptions): Promise<LoadFigures> {
  const stats = new LatencyStats();
  const gapMs = o.rate > 0 ? 1000 / o.rate : 0;
  const workers = Array.from(
    { length: o.workers },
    (_, i) => new SimWorker({ index: i, url: c.url, token: c.token, miner: c.miner, store: c.store, gapMs, stats }),
  );
  for (const w of workers) w.start();
  await sleep(o.warmupSeconds * 1000);
  const cpu0 = cpuNow(c);
  stats.recording = true;
  const t0 = performance.now();
  await sleep(o.seconds * 1000);
  stats.recording = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = cpuNow(c);
  const waits = workers.map((w) => w.waiting()).filter((ms) => ms > 1000);
  await Promise.all(workers.map((w) => w.stop()));
  const busy = (k: keyof typeof cpu0) => {
    const a = cpu0[k];
    const b = cpu1[k];
    return a === undefined || b === undefined ? {} : { [k]: (b - a) / seconds };
  };
  return {
    ...stats.figures(o.workers, seconds),
    cpu: { ...busy('manager'), ...busy('devnet'), ...busy('bench') },
    load: { avg1: loadavg()[0]!, cpus: cpus().length },
    stuck: { calls: waits.length, oldestMs: Math.max(0, ...waits) },
  };
}

function cpuNow(c: Cluster): { manager?: number; devnet?: number; bench?: number } {
  const u = process.cpuUsage();
  return { manager: cpuSeconds(c.pids.manager), devnet: cpuSeconds(c.pids.devnet), bench: (u.user + u.system) / 1e6 };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface ManagerRpcOptions extends Omit<LoadOptions, 'workers'> {
  workers: number;
  sweep: number[];
  dbs: Db[];
  blockMs: number;
  profileDir?: string;
  keep: boolean;
}

export function parseOptions(argv: string[]): ManagerRpcOptions {
  const val = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`${flag} needs a value`);
    return v;
  };
  const int = (flag: string, def: number, min: number, max: number): number => {
    const v = val(flag);
    if (v === undefined) return def;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new Error(`${flag}: expected an integer ${min}..${max}, got "${v}"`);
    return n;
  };
  const workers = int('--workers', 200, 1, 5000);
  const sweepText = val('--sweep') ?? '25,50,100,200,400';
  const sweep =
    sweepText === 'none'
      ? [workers]
      : [
          ...new Set([
            ...sweepText.split(',').map((s) => {
              const n = Number(s);
              if (!Number.isInteger(n) || n < 1 || n > 5000)
                throw new Error(`--sweep: "${s}" is not a worker count 1..5000`);
              return n;
            }),
            workers,
          ]),
        ].sort((a, b) => a - b);
  const db = val('--db') ?? 'sqlite';
  if (!['sqlite', 'postgres', 'both'].includes(db)) throw new Error(`--db: sqlite, postgres or both, got "${db}"`);
  const profile = val('--profile');
  return {
    workers,
    sweep,
    rate: int('--rate', 30, 0, 1000),
    warmupSeconds: int('--warmup', 5, 0, 600),
    seconds: int('--seconds', 20, 1, 3600),
    dbs: db === 'both' ? ['sqlite', 'postgres'] : [db as Db],
    blockMs: int('--block-ms', 500, 50, 30_000),
    ...(profile ? { profileDir: resolve(profile) } : {}),
    keep: argv.includes('--keep') || profile !== undefined,
  };
}

/** The [Common.DB] TOML and the throwaway database of a backend (postgres: a local server, fsync on, for the run). */
async function dbSetup(db: Db, dir: string): Promise<{ toml: string; stop(): Promise<void> }> {
  if (db === 'sqlite') return { toml: '', stop: async () => {} };
  if (!pgAvailable())
    throw new Error('--db postgres: no PostgreSQL here (initdb and pg_ctl on PATH or in /usr/lib/postgresql)');
  // the server runs as another user when we are root: it must be able to reach its directory
  chmodSync(dir, 0o711);
  const pg = await startLocalPostgres({ dir: join(dir, 'postgres') });
  return {
    toml: `\n[Common.DB]\nDriver = "postgres"\n[Common.DB.Postgres]\nDSN = "${pg.dsn}"\n`,
    stop: () => pg.stop(),
  };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const ms = (v: number) => v.toFixed(2);

export function formatLoad(f: LoadFigures, offered: number): string[] {
  const lines = [
    `  ${f.workers} workers: ${f.callsPerSecond.toFixed(0)} calls/s (offered ${offered ? offered.toFixed(0) : 'back to back'}), ` +
      `p50 ${ms(f.p50)} ms, p99 ${ms(f.p99)} ms, ${f.errors} errors, ${f.sectorsFinished} sectors finished in ${f.seconds.toFixed(1)} s`,
    `    ${'method'.padEnd(20)}${pad('calls', 9)}${pad('errors', 8)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('max ms', 9)}`,
  ];
  for (const m of f.methods)
    lines.push(
      `    ${m.method.padEnd(20)}${pad(m.calls, 9)}${pad(m.errors, 8)}${pad(ms(m.p50), 9)}${pad(ms(m.p99), 9)}${pad(ms(m.max), 9)}`,
    );
  if (f.cpu) {
    const core = (v: number | undefined) => (v === undefined ? '?' : v.toFixed(2));
    const perCpu = f.cpu.manager
      ? ` (${(f.callsPerSecond / f.cpu.manager).toFixed(0)} calls per manager CPU-second)`
      : '';
    lines.push(
      `    CPU cores busy: manager ${core(f.cpu.manager)}, devnet ${core(f.cpu.devnet)}, simulated workers ${core(f.cpu.bench)}${perCpu}` +
        (f.load ? `; machine load ${f.load.avg1.toFixed(1)} on ${f.load.cpus} CPUs` : ''),
    );
  }
  if (f.stuck?.calls)
    lines.push(
      `    ${f.stuck.calls} calls unanswered for over a second when the window closed (oldest ${(f.stuck.oldestMs / 1000).toFixed(1)} s)`,
    );
  for (const e of f.errorSamples) lines.push(`    error: ${e}`);
  return lines;
}

/** The first worker count whose p99 passes 20 ms, whose calls/s fall 10% short of the offer, or with calls stuck. */
export function degradesAt(points: LoadFigures[], rate: number): number | undefined {
  return points.find(
    (p) => p.p99 >= 20 || (rate > 0 && p.callsPerSecond < 0.9 * p.workers * rate) || (p.stuck?.calls ?? 0) > 0,
  )?.workers;
}

export async function run(argv = process.argv.slice(2)): Promise<{ figures: BenchFigure[]; points: LoadFigures[] }> {
  const o = parseOptions(argv);
  const figures: BenchFigure[] = [];
  const points: LoadFigures[] = [];
  console.log(
    `manager-rpc: sector-manager in a child process over the devnet (${o.blockMs} ms blocks); seal proofs: digest ` +
      "proofs checked by the manager's verifier hook (startDaemon `verifier`), not vanilla PoRep; " +
      `${o.rate ? `${o.rate} calls/s offered per thread` : 'calls back to back'}; ${o.warmupSeconds} s warm-up, ${o.seconds} s measured per point`,
  );
  for (const db of o.dbs) {
    const dir = mkdtempSync(join(tmpdir(), `bench-manager-rpc-${db}-`));
    const backend = await dbSetup(db, dir);
    let cluster: Cluster | undefined;
    try {
      cluster = await startCluster({
        dir,
        blockMs: o.blockMs,
        managerToml: backend.toml,
        ...(o.profileDir ? { managerExecArgv: ['--cpu-prof', `--cpu-prof-dir=${o.profileDir}`] } : {}),
      });
      console.log(`${db}: manager at ${cluster.url} (log ${cluster.managerLog})`);
      const mine: LoadFigures[] = [];
      for (const n of o.sweep) {
        const f = await runLoad(cluster, { ...o, workers: n });
        mine.push(f);
        points.push(f);
        for (const l of formatLoad(f, n * o.rate)) console.log(l);
        figures.push(
          {
            bench: 'manager-rpc',
            name: `manager RPC calls/s (${n} workers, ${db})`,
            value: f.callsPerSecond,
            unit: 'calls/s',
          },
          { bench: 'manager-rpc', name: `manager RPC p99 latency (${n} workers, ${db})`, value: f.p99, unit: 'ms' },
        );
        // machine-independent-ish: what one CPU-second of the manager serves (the machine may be shared)
        if (f.cpu?.manager)
          figures.push({
            bench: 'manager-rpc',
            name: `manager RPC calls per manager CPU-second (${n} workers, ${db})`,
            value: f.callsPerSecond / f.cpu.manager,
            unit: 'calls/CPU-s',
          });
      }
      const at = degradesAt(mine, o.rate);
      console.log(
        at === undefined
          ? `${db}: p99 stays under 20 ms and calls/s keep up with the offered load up to ${o.sweep.at(-1)} workers`
          : `${db}: degrades at ${at} workers (p99 ≥ 20 ms or calls/s 10% short of the offered load)`,
      );
    } finally {
      await cluster?.stop();
      await backend.stop();
      if (!o.keep) rmSync(dir, { recursive: true, force: true });
    }
  }
  if (o.profileDir) console.log(`manager CPU profile(s) in ${o.profileDir}`);
  return { figures, points };
}
