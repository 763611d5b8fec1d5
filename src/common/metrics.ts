/**
 * Prometheus metrics for the cluster's daemons (venus-sector-manager and venus-worker serve them at `/metrics`).
 *
 * One registry per process, with the default process/Node.js metrics and every series a program labelled with
 * `program` (set once by initMetrics). Services do not touch prom-client: they call the helpers here
 * (sectorStates, phaseTimer, recordPoSt, processorRestarted, …), so names, labels and buckets stay in one place.
 *
 *   const m = initMetrics('venus-sector-manager');
 *   const server = new RpcServer({ auth, hooks: m.rpcHooks() });
 *   mountMetrics(server, m);                            // GET /metrics
 *   m.setSectorStates({ PC1Done: 2, Finalized: 5 });
 *   const done = m.phaseTimer('pc1', 2048); … done();
 *
 * Series (all prefixed venus_):
 *   rpc_calls_total{method,transport}           calls that passed auth and arity checks
 *   rpc_errors_total{method,code}               calls answered with an error (code as in the JSON-RPC error)
 *   rpc_duration_seconds{method}                latency histogram
 *   rpc_in_flight{method}                       calls running now
 *   rpc_client_calls_total{method}, rpc_client_errors_total{method,code}, rpc_client_duration_seconds{method}
 *                                               calls this program makes (worker → manager, manager → chain)
 *   sectors{state}                              sectors per state (what the program knows)
 *   sector_phase_duration_seconds{phase,sector_size}   time per sealing phase
 *   sector_phase_errors_total{phase,sector_size,kind}  failed phases by error class
 *   sealing_threads{state}                      worker threads per thread state (Idle/Running/Waiting/Paused)
 *   wdpost_proofs_total{miner,deadline,result}  Window PoSt submissions (result: ok|failed)
 *   wdpost_faulty_sectors{miner,deadline}       faulty (skipped or declared) sectors at the last proof
 *   wdpost_proven_sectors{miner,deadline}       sectors proven at the last successful proof
 *   wdpost_last_epoch{miner,deadline}           chain epoch of the last submission
 *   wdpost_last_ok{miner,deadline}              1 if the last submission succeeded, else 0
 *   wdpost_failures_total{miner,deadline,reason}  Window PoSt steps that failed (reason: proving, push, messager,
 *                                               signing, gas, landing, deadline_closed)
 *   commit_message_failures_total{miner,kind,reason}  PreCommit/ProveCommit messages stuck or failed (same reasons)
 *   processor_restarts_total{stage}             external processors restarted after an exit
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { ClientHooks } from '../rpc/client.js';
import type { RpcHooks, RpcServer } from '../rpc/server.js';

/** Sector sizes as operators write them: 2048 → "2KiB", 34359738368 → "32GiB". */
export function sectorSizeLabel(size: number | string): string {
  if (typeof size === 'string') return size;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = size;
  let i = 0;
  while (v >= 1024 && v % 1024 === 0 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v}${units[i]}`;
}

/** Phase buckets from a 2KiB sector's milliseconds to a 64GiB sector's PC1 (about a day). */
export const PHASE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 57600,
  86400,
];
/** RPC latency buckets: local calls take well under a millisecond, WaitSeed-style calls minutes. */
export const RPC_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface PoStRecord {
  /** Miner actor id ("t01000", "f01000" or 1000). */
  miner: string | number;
  deadline: number;
  ok: boolean;
  /** Chain epoch of the submission (or of the attempt). */
  epoch?: number;
  /** Sectors proven by this submission. */
  proven?: number;
  /** Sectors skipped or declared faulty in this deadline. */
  faulty?: number;
}

export interface ServiceMetricsOptions {
  /** The program name, added as label `program` to every series. */
  program?: string;
  /** Collect the default process and Node.js metrics (CPU, memory, event loop, GC). Default true. */
  defaults?: boolean;
}

/** A registry with the cluster's series. One per process (initMetrics/metrics); tests make their own. */
export class ServiceMetrics {
  readonly registry = new Registry();
  readonly rpcCalls: Counter<'method' | 'transport'>;
  readonly rpcErrors: Counter<'method' | 'code'>;
  readonly rpcDuration: Histogram<'method'>;
  readonly rpcInFlight: Gauge<'method'>;
  readonly clientCalls: Counter<'method'>;
  readonly clientErrors: Counter<'method' | 'code'>;
  readonly clientDuration: Histogram<'method'>;
  readonly sectors: Gauge<'state'>;
  readonly phaseDuration: Histogram<'phase' | 'sector_size'>;
  readonly phaseErrors: Counter<'phase' | 'sector_size' | 'kind'>;
  readonly stateDuration: Histogram<'state' | 'sector_size'>;
  readonly threads: Gauge<'state'>;
  readonly postProofs: Counter<'miner' | 'deadline' | 'result'>;
  readonly postFaulty: Gauge<'miner' | 'deadline'>;
  readonly postProven: Gauge<'miner' | 'deadline'>;
  readonly postLastEpoch: Gauge<'miner' | 'deadline'>;
  readonly postLastOk: Gauge<'miner' | 'deadline'>;
  readonly postFailures: Counter<'miner' | 'deadline' | 'reason'>;
  readonly commitFailures: Counter<'miner' | 'kind' | 'reason'>;
  readonly processorRestarts: Counter<'stage'>;

  constructor(opts: ServiceMetricsOptions = {}) {
    const registers = [this.registry];
    if (opts.program) this.registry.setDefaultLabels({ program: opts.program });
    if (opts.defaults !== false) collectDefaultMetrics({ register: this.registry });
    this.rpcCalls = new Counter({
      name: 'venus_rpc_calls_total',
      help: 'JSON-RPC calls received, per method and transport',
      labelNames: ['method', 'transport'],
      registers,
    });
    this.rpcErrors = new Counter({
      name: 'venus_rpc_errors_total',
      help: 'JSON-RPC calls answered with an error, per method and error code',
      labelNames: ['method', 'code'],
      registers,
    });
    this.rpcDuration = new Histogram({
      name: 'venus_rpc_duration_seconds',
      help: 'JSON-RPC call latency, per method',
      labelNames: ['method'],
      buckets: RPC_BUCKETS,
      registers,
    });
    this.rpcInFlight = new Gauge({
      name: 'venus_rpc_in_flight',
      help: 'JSON-RPC calls running now, per method',
      labelNames: ['method'],
      registers,
    });
    this.clientCalls = new Counter({
      name: 'venus_rpc_client_calls_total',
      help: 'JSON-RPC calls this program made to other services, per method',
      labelNames: ['method'],
      registers,
    });
    this.clientErrors = new Counter({
      name: 'venus_rpc_client_errors_total',
      help: 'JSON-RPC calls this program made that failed, per method and error code',
      labelNames: ['method', 'code'],
      registers,
    });
    this.clientDuration = new Histogram({
      name: 'venus_rpc_client_duration_seconds',
      help: 'latency of the JSON-RPC calls this program made, per method',
      labelNames: ['method'],
      buckets: RPC_BUCKETS,
      registers,
    });
    this.sectors = new Gauge({
      name: 'venus_sectors',
      help: 'sectors per state',
      labelNames: ['state'],
      registers,
    });
    this.phaseDuration = new Histogram({
      name: 'venus_sector_phase_duration_seconds',
      help: 'time spent in each sealing phase, per sector size',
      labelNames: ['phase', 'sector_size'],
      buckets: PHASE_BUCKETS,
      registers,
    });
    this.stateDuration = new Histogram({
      name: 'venus_sector_state_duration_seconds',
      help: 'time sectors spent in each state their workers reported (sector-manager, every worker), per sector size',
      labelNames: ['state', 'sector_size'],
      buckets: PHASE_BUCKETS,
      registers,
    });
    this.phaseErrors = new Counter({
      name: 'venus_sector_phase_errors_total',
      help: 'sealing phases that failed, per error class (temporary, permanent, abort, critical)',
      labelNames: ['phase', 'sector_size', 'kind'],
      registers,
    });
    this.threads = new Gauge({
      name: 'venus_sealing_threads',
      help: 'sealing threads per thread state (Idle, Running, Waiting, Paused)',
      labelNames: ['state'],
      registers,
    });
    this.postProofs = new Counter({
      name: 'venus_wdpost_proofs_total',
      help: 'Window PoSt submissions per miner and deadline (result ok or failed)',
      labelNames: ['miner', 'deadline', 'result'],
      registers,
    });
    this.postFaulty = new Gauge({
      name: 'venus_wdpost_faulty_sectors',
      help: 'sectors skipped or declared faulty at the last Window PoSt of the deadline',
      labelNames: ['miner', 'deadline'],
      registers,
    });
    this.postProven = new Gauge({
      name: 'venus_wdpost_proven_sectors',
      help: 'sectors proven by the last successful Window PoSt of the deadline',
      labelNames: ['miner', 'deadline'],
      registers,
    });
    this.postLastEpoch = new Gauge({
      name: 'venus_wdpost_last_epoch',
      help: 'chain epoch of the last Window PoSt submission for the deadline',
      labelNames: ['miner', 'deadline'],
      registers,
    });
    this.postLastOk = new Gauge({
      name: 'venus_wdpost_last_ok',
      help: '1 if the last Window PoSt submission for the deadline succeeded, 0 if it failed',
      labelNames: ['miner', 'deadline'],
      registers,
    });
    this.postFailures = new Counter({
      name: 'venus_wdpost_failures_total',
      help: 'Window PoSt steps that failed, per miner, deadline and reason (proving, push, messager, signing, gas, landing, deadline_closed)',
      labelNames: ['miner', 'deadline', 'reason'],
      registers,
    });
    this.commitFailures = new Counter({
      name: 'venus_commit_message_failures_total',
      help: 'PreCommit/ProveCommit messages stuck or failed, per miner, kind (pre, prove) and reason',
      labelNames: ['miner', 'kind', 'reason'],
      registers,
    });
    this.processorRestarts = new Counter({
      name: 'venus_processor_restarts_total',
      help: 'external processors restarted after they exited, per stage',
      labelNames: ['stage'],
      registers,
    });
  }

  /** Hooks for `new RpcServer({ hooks })`: calls, errors, latency and in-flight calls per method. */
  rpcHooks(): Required<RpcHooks> {
    return {
      onCall: ({ method, transport }) => {
        this.rpcCalls.inc({ method, transport });
        this.rpcInFlight.inc({ method });
      },
      onDone: ({ method, durationMs, error }) => {
        this.rpcInFlight.dec({ method });
        this.rpcDuration.observe({ method }, durationMs / 1000);
        if (error) this.rpcErrors.inc({ method, code: String(error.code) });
      },
    };
  }

  /** Hooks for `createClient(api, { hooks })` / `connect({ hooks })`: the calls this program makes. */
  rpcClientHooks(): Required<ClientHooks> {
    return {
      onCall: ({ method }) => this.clientCalls.inc({ method }),
      onDone: ({ method, durationMs, error }) => {
        this.clientDuration.observe({ method }, durationMs / 1000);
        if (error) this.clientErrors.inc({ method, code: String(error.code) });
      },
    };
  }

  /**
   * Replace the sectors-per-state gauge with these counts: states that are no longer listed drop to absent,
   * so a scrape never shows a stale count.
   */
  setSectorStates(counts: Record<string, number> | Map<string, number>): void {
    this.sectors.reset();
    const entries = counts instanceof Map ? [...counts] : Object.entries(counts);
    for (const [state, n] of entries) this.sectors.set({ state }, n);
  }

  /** Same as setSectorStates, for sealing threads (Idle, Running, Waiting, Paused). */
  setThreadStates(counts: Record<string, number> | Map<string, number>): void {
    this.threads.reset();
    const entries = counts instanceof Map ? [...counts] : Object.entries(counts);
    for (const [state, n] of entries) this.threads.set({ state }, n);
  }

  /** A sector left `state` (as its timeline records it) after `seconds`. */
  observeState(state: string, sectorSize: number | string, seconds: number): void {
    this.stateDuration.observe({ state, sector_size: sectorSizeLabel(sectorSize) }, seconds);
  }

  /** One finished phase (e.g. "pc1", "pc2", "c2", "persist") of a sector of this size. */
  observePhase(phase: string, sectorSize: number | string, seconds: number): void {
    this.phaseDuration.observe({ phase, sector_size: sectorSizeLabel(sectorSize) }, seconds);
  }

  /**
   * Start timing a phase; call the returned function when it ends. Pass an error class to count a failure
   * instead of a duration (failed phases would skew the histogram).
   */
  phaseTimer(phase: string, sectorSize: number | string): (failed?: string) => number {
    const start = performance.now();
    let ended = false;
    return (failed?: string) => {
      const seconds = (performance.now() - start) / 1000;
      if (ended) return seconds;
      ended = true;
      if (failed) this.phaseErrors.inc({ phase, sector_size: sectorSizeLabel(sectorSize), kind: failed });
      else this.observePhase(phase, sectorSize, seconds);
      return seconds;
    };
  }

  /** A Window PoSt submission (or a failed attempt) for one deadline. */
  recordPoSt(r: PoStRecord): void {
    const labels = { miner: minerLabel(r.miner), deadline: String(r.deadline) };
    this.postProofs.inc({ ...labels, result: r.ok ? 'ok' : 'failed' });
    this.postLastOk.set(labels, r.ok ? 1 : 0);
    if (r.epoch !== undefined) this.postLastEpoch.set(labels, r.epoch);
    if (r.faulty !== undefined) this.postFaulty.set(labels, r.faulty);
    if (r.ok && r.proven !== undefined) this.postProven.set(labels, r.proven);
  }

  /** A Window PoSt step failed for a deadline (reason: a closed set, see FailureReason in manager/commit/outcome.ts). */
  postFailed(miner: string | number, deadline: number, reason: string): void {
    this.postFailures.inc({ miner: minerLabel(miner), deadline: String(deadline), reason });
  }

  /** A PreCommit/ProveCommit message is stuck or failed (kind: pre, prove). */
  commitMessageFailed(miner: string | number, kind: string, reason: string): void {
    this.commitFailures.inc({ miner: minerLabel(miner), kind, reason });
  }

  /** An external processor of this stage exited and was started again. */
  processorRestarted(stage: string): void {
    this.processorRestarts.inc({ stage });
  }

  /** The exposition text, as GET /metrics serves it. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** "t01000", "f01000", "1000" and 1000 all label as "1000", so dashboards join across networks. */
function minerLabel(m: string | number): string {
  const s = String(m);
  const match = /^[tf]0(\d+)$/.exec(s);
  return match ? match[1]! : s;
}

let processMetrics: ServiceMetrics | undefined;

/**
 * The process's metrics, created on first use with the program name (later calls ignore the name, so a library
 * may call metrics() before the CLI has called initMetrics without losing the label: the first caller wins).
 */
export function initMetrics(program?: string): ServiceMetrics {
  processMetrics ??= new ServiceMetrics({ program });
  return processMetrics;
}

/** The process's metrics (created without a program label if initMetrics was not called). */
export function metrics(): ServiceMetrics {
  return initMetrics();
}

/** A route handler serving the registry in the Prometheus text format. */
export function metricsHandler(
  m: ServiceMetrics = metrics(),
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (_req, res) => {
    const body = await m.text();
    res.writeHead(200, { 'Content-Type': m.registry.contentType, 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
}

/** Mount GET /metrics on an RpcServer (the daemons serve it on their API port, as damocles-manager does). */
export function mountMetrics<S extends Pick<RpcServer, 'route'>>(
  server: S,
  m: ServiceMetrics = metrics(),
  path = '/metrics',
): S {
  server.route('GET', path, metricsHandler(m));
  return server;
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parse the Prometheus text format (what /metrics serves) into samples: for the cluster's live view, which
 * reads the daemons' gauges, and for tests. Comments and HELP/TYPE lines are skipped.
 */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
      for (let l = re.exec(m[3]); l; l = re.exec(m[3])) {
        labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      }
    }
    const v = m[4]!;
    const value = v === '+Inf' ? Number.POSITIVE_INFINITY : v === '-Inf' ? Number.NEGATIVE_INFINITY : Number(v);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}
