/**
 * The bounds an RpcServer puts on its callers (docs/spec/rpc.md "Limits"), and the small helpers that enforce
 * them in constant or linear time: one abort fan-out per request instead of one listener per call, a token
 * bucket per WebSocket, and a log limiter so a flood of refused or failing calls costs one log line per peer
 * per minute instead of one per call.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from '../common/log.js';

/** Caller-facing limits; every one has a default (below) and can be changed per server. */
export interface RpcLimits {
  /** Largest request body / WebSocket message on the RPC paths, in bytes. Default 8 MiB. */
  maxBodyBytes: number;
  /** Most calls in one JSON-RPC batch. Default 100. */
  maxBatch: number;
  /** Most calls running at once for one connection (a WebSocket, or one HTTP keep-alive socket). Default 256. */
  maxInFlightPerConnection: number;
  /** Most open TCP connections (HTTP and WebSocket together). Default 1024. */
  maxConnections: number;
  /** WebSocket messages per second per connection (a burst of as many is allowed). Default 1000. */
  wsMessagesPerSecond: number;
}

export const DEFAULT_LIMITS: Readonly<RpcLimits> = Object.freeze({
  maxBodyBytes: 8 << 20,
  maxBatch: 100,
  maxInFlightPerConnection: 256,
  maxConnections: 1024,
  wsMessagesPerSecond: 1000,
});

/** Default body limit of routes mounted with route() (they carry small JSON or nothing). */
export const DEFAULT_ROUTE_MAX_BODY = 1 << 20;

export function resolveLimits(o: Partial<RpcLimits>): RpcLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const k of Object.keys(DEFAULT_LIMITS) as (keyof RpcLimits)[]) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1)
      throw new Error(`RpcServer option ${k} must be a positive integer, not ${v}`);
    out[k] = v;
  }
  return out;
}

/**
 * Aborts every call of one request or connection when its signal fires, through a single listener. (Adding
 * one listener per call to a shared AbortSignal costs O(n) per add in Node, so a batch of n calls cost O(n²).)
 */
export class CallScope {
  private readonly calls = new Set<AbortController>();

  constructor(readonly signal: AbortSignal) {
    setMaxListeners(0, signal);
    if (!signal.aborted) {
      signal.addEventListener(
        'abort',
        () => {
          for (const ac of this.calls) ac.abort(signal.reason);
          this.calls.clear();
        },
        { once: true },
      );
    }
  }

  /** A controller for one call, aborted with the scope. Release it with `done()` when the call ends. */
  open(): AbortController {
    const ac = new AbortController();
    if (this.signal.aborted) ac.abort(this.signal.reason);
    else this.calls.add(ac);
    return ac;
  }

  done(ac: AbortController): void {
    this.calls.delete(ac);
  }

  /** Calls currently registered (for tests: stays ≤ the calls in flight). */
  get size(): number {
    return this.calls.size;
  }
}

/** Calls in flight for one connection. */
export class InFlight {
  n = 0;
  constructor(readonly limit: number) {}

  /** Take `k` slots; false (nothing taken) when that would pass the limit. */
  take(k = 1): boolean {
    if (this.n + k > this.limit) return false;
    this.n += k;
    return true;
  }

  release(k = 1): void {
    this.n = Math.max(0, this.n - k);
  }
}

/** A token bucket: `rate` tokens per second, holding at most `rate`. */
export class RateBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly rate: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = rate;
    this.last = now();
  }

  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.rate, this.tokens + ((t - this.last) / 1000) * this.rate);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/**
 * Logs a kind of event at most once per key per window (default: one minute). The first event of a window is
 * logged at once; later ones are counted and reported as `suppressed` with the next line for that key.
 */
export class LogLimiter {
  private readonly seen = new Map<string, { until: number; suppressed: number }>();

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether to log now, and how many events of this key were not logged since the last line. */
  hit(key: string): { log: boolean; suppressed: number } {
    const t = this.now();
    const e = this.seen.get(key);
    if (e && t < e.until) {
      e.suppressed++;
      return { log: false, suppressed: e.suppressed };
    }
    if (!e && this.seen.size >= this.maxKeys) {
      // a flood of distinct peers: drop expired entries; if none expired, start over (bounded memory first)
      for (const [k, v] of this.seen) if (t >= v.until) this.seen.delete(k);
      if (this.seen.size >= this.maxKeys) this.seen.clear();
    }
    const suppressed = e?.suppressed ?? 0;
    this.seen.set(key, { until: t + this.windowMs, suppressed: 0 });
    return { log: true, suppressed };
  }

  /** log[level](fields, msg) for the first event per key per window; the rest are counted. */
  log(logger: Logger, level: 'warn' | 'error', key: string, fields: Record<string, unknown>, msg: string): void {
    const { log, suppressed } = this.hit(key);
    if (!log) return;
    logger[level]({ ...fields, ...(suppressed ? { suppressed } : {}) }, `${msg} (logged once per peer per minute)`);
  }
}
