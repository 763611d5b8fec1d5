/**
 * venus-worker's client of the sector-manager(s): `[sealer_rpc] url` or `urls = [...]` (docs/worker-failover.md).
 *
 * Every call goes to the manager in use; a call that fails with a connection error, a lost socket or a timeout
 * is sent again to the next URL (round-robin), which becomes the one in use. Answers that are errors (the
 * manager refused or failed the call) are returned as they are, never retried elsewhere: another manager would
 * share the same database and answer the same. When every URL has failed once, a sealing thread waits with
 * backoff and tries again, shown in `worker list` as Waiting(sealer_rpc: waiting for host:port, …); other callers
 * (the ping) get the error. Retrying a call on another manager is safe because every method the worker calls is
 * idempotent (docs/worker-failover.md lists why, per method).
 *
 * Metric: venus_worker_sealer_rpc_active{url} is 1 for the manager in use, 0 for the others (host:port only).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Gauge, type Registry } from 'prom-client';
import { logger } from '../common/log.js';
import { metrics } from '../common/metrics.js';
import {
  type CallOptions,
  connect,
  type RpcClient,
  type RpcClientOptions,
  RpcConnectionError,
  RpcTimeoutError,
  type Subscription,
} from '../rpc/index.js';

const log = logger('sealer_rpc');

/** What a sealing thread lends its manager calls: its pause/stop signal and its `worker list` state. */
export interface ManagerWaitHost {
  readonly signal: AbortSignal;
  /** No manager answers: `targets` are the URLs waited for (host:port) and `nextAt` the next try; null: over. */
  waiting(w: { targets: string[]; nextAt: number; first: boolean } | null): void;
}

/** Set by a sealing thread around its loop: its calls wait for a manager instead of failing. */
export const managerWaits = new AsyncLocalStorage<ManagerWaitHost>();

export interface SealerRpcOptions {
  urls: string[];
  headers?: Record<string, string>;
  /** Per-call timeout (a method's declared timeout wins); a timed-out call fails over. Default 60 s. */
  timeoutMs?: number;
  /** Wait after every URL failed once: starts here, doubles, up to `maxBackoffMs`. Default 1 s. */
  initialBackoffMs?: number;
  /** Default 30 s. */
  maxBackoffMs?: number;
  /** Where the gauge lives (default: the process registry). */
  registry?: Registry;
  /** Builds the client of one URL (default: the RPC layer's `connect`). */
  connect?: (opts: RpcClientOptions) => RpcClient;
}

/** host:port of a manager URL: what logs and the gauge show (never a path, query, user or header). */
export function endpointOf(url: string): string {
  try {
    return new URL(url).host || url;
  } catch {
    return '(invalid URL)';
  }
}

/** Errors after which the same call is sent to the next manager: the call may not have reached this one. */
export function isFailoverError(err: unknown): boolean {
  return err instanceof RpcConnectionError || err instanceof RpcTimeoutError;
}

const gauges = new WeakMap<Registry, Gauge<'url'>>();
function activeGauge(registry: Registry): Gauge<'url'> {
  let g = gauges.get(registry);
  if (!g) {
    g = new Gauge({
      name: 'venus_worker_sealer_rpc_active',
      help: 'the sector-manager this worker talks to: 1 for the one in use, 0 for the other configured ones (host:port)',
      labelNames: ['url'],
      registers: [registry],
    });
    gauges.set(registry, g);
  }
  return g;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** An RpcClient over one or more manager URLs (bind SealerAPI to it with `createClient`). */
export class SealerRpcClient implements RpcClient {
  private readonly clients: (RpcClient | undefined)[];
  private readonly endpoints: string[];
  private readonly gauge: Gauge<'url'>;
  private activeIndex = 0;
  private backoffMs: number;
  private closed = false;
  /** Failovers so far (tests, logs). */
  failovers = 0;

  constructor(private readonly opts: SealerRpcOptions) {
    if (opts.urls.length === 0) throw new Error('sealer_rpc: no manager URL');
    this.clients = opts.urls.map(() => undefined);
    this.endpoints = opts.urls.map(endpointOf);
    this.gauge = activeGauge(opts.registry ?? metrics().registry);
    this.backoffMs = opts.initialBackoffMs ?? 1000;
    this.showActive();
  }

  get transport(): 'http' | 'ws' {
    return this.client(this.activeIndex).transport;
  }

  /** The URL in use. */
  get url(): string {
    return this.opts.urls[this.activeIndex]!;
  }

  /** host:port of the manager in use. */
  get active(): string {
    return this.endpoints[this.activeIndex]!;
  }

  get connected(): boolean {
    return this.client(this.activeIndex).connected;
  }

  connect(): Promise<void> {
    return this.client(this.activeIndex).connect();
  }

  /** One client per URL, made on first use (a WebSocket connects when made). */
  private client(i: number): RpcClient {
    let c = this.clients[i];
    if (!c) {
      const make = this.opts.connect ?? connect;
      c = make({ url: this.opts.urls[i]!, headers: this.opts.headers, timeoutMs: this.opts.timeoutMs ?? 60_000 });
      this.clients[i] = c;
    }
    return c;
  }

  private showActive(): void {
    this.endpoints.forEach((e, i) => {
      this.gauge.set({ url: e }, i === this.activeIndex ? 1 : 0);
    });
  }

  call<R = unknown>(method: string, params: unknown[], opts: CallOptions = {}): Promise<R> {
    return this.withFailover(method, (c) => c.call<R>(method, params, opts));
  }

  subscribe<T = unknown>(method: string, params: unknown[], opts: CallOptions = {}): Promise<Subscription<T>> {
    // only opening the channel fails over: values already received cannot be asked again elsewhere
    return this.withFailover(method, (c) => c.subscribe<T>(method, params, opts));
  }

  private async withFailover<R>(method: string, fn: (c: RpcClient) => Promise<R>): Promise<R> {
    const n = this.opts.urls.length;
    const host = managerWaits.getStore();
    let waited = false;
    for (;;) {
      // one round: each URL at most once, from the one in use (another call may move it meanwhile)
      const failed = new Map<number, string>();
      let last: unknown;
      while (failed.size < n) {
        if (this.closed) throw new RpcConnectionError(`${method}: sealer_rpc client closed`);
        let i = this.activeIndex;
        while (failed.has(i)) i = (i + 1) % n;
        try {
          const r = await fn(this.client(i));
          if (this.activeIndex !== i && failed.has(this.activeIndex)) this.use(i, method, 'the manager in use failed');
          this.backoffMs = this.opts.initialBackoffMs ?? 1000;
          if (waited) {
            log.info({ method, url: this.endpoints[i] }, 'sector-manager reachable again');
            host?.waiting(null);
          }
          return r;
        } catch (err) {
          if (!isFailoverError(err)) throw err;
          last = err;
          const why = (err as Error).message;
          failed.set(i, why);
          if (failed.size < n && this.activeIndex === i) this.use((i + 1) % n, method, why);
        }
      }
      if (!host) {
        if (n === 1) throw last;
        const tried = [...failed.entries()].map(([j, w]) => `${this.endpoints[j]}: ${w}`).join('; ');
        throw new RpcConnectionError(`${method}: no sector-manager answered (${tried})`, { cause: last });
      }
      // every manager failed once: a sealing thread waits (shown in `worker list`) and tries again
      const ms = this.backoffMs;
      this.backoffMs = Math.min(ms * 2, this.opts.maxBackoffMs ?? 30_000);
      const targets = [...this.endpoints];
      if (!waited) {
        log.warn(
          { method, urls: targets, retryMs: ms, err: (last as Error).message },
          'no sector-manager answers; waiting for one',
        );
      }
      host.waiting({ targets, nextAt: Date.now() + ms, first: !waited });
      waited = true;
      await sleep(ms, host.signal);
    }
  }

  /** Makes manager `i` the one in use (a failover: logged at INFO, shown by the gauge). */
  private use(i: number, method: string, why: string): void {
    const from = this.activeIndex;
    if (from === i) return;
    this.activeIndex = i;
    this.failovers++;
    this.showActive();
    log.info(
      { method, from: this.endpoints[from], to: this.endpoints[i], err: why },
      'sealer_rpc failover: using the next sector-manager',
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.clients.map((c) => c?.close()));
  }
}
