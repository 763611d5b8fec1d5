/**
 * What the HTTP and WebSocket clients share: their options, the RpcClient contract they both implement,
 * the auth headers, how a transport failure is described, and the per-call timing hooks.
 */
import type { Subscription } from './api.js';
import { ErrorCode, RpcError, type RpcErrorObject } from './errors.js';

/** Client-side hooks (damocles' worker counts rpc.call / rpc.error / rpc.timing per method). */
export interface ClientHooks {
  onCall?(event: { method: string }): void;
  onDone?(event: { method: string; durationMs: number; error?: RpcErrorObject }): void;
}

export interface ReconnectOptions {
  /** First delay after a lost connection. Default 250 ms. */
  initialDelayMs?: number;
  /** Upper bound of the delay. Default 30 s. */
  maxDelayMs?: number;
  /** Growth per failed attempt. Default 2. */
  factor?: number;
}

export interface RpcClientOptions {
  /** http(s)://… or ws(s)://…, including the RPC path (see parseApiInfo for API-info strings). */
  url: string;
  /** Bearer token (sent in Authorization, on every POST and on the WebSocket upgrade). */
  token?: string;
  /** Extra headers, e.g. X-VENUS-API-NAMESPACE. */
  headers?: Record<string, string>;
  /** Default per-call timeout; 0 = none. Default 60 s. A method's declared timeout wins. */
  timeoutMs?: number;
  /**
   * WebSocket: reconnect in the background after the connection drops, with exponential backoff.
   * Default true. Either way, a call made while disconnected triggers a connection attempt at once.
   */
  reconnect?: boolean | ReconnectOptions;
  /** WebSocket keepalive ping interval; a peer that misses a pong is dropped (and reconnected). Default 30 s. */
  pingIntervalMs?: number;
  /** WebSocket: largest message accepted from the server. Default 256 MiB. */
  maxMessageBytes?: number;
  /** Called after each (re)connection of the WebSocket (resubscribe here). */
  onConnect?: () => void;
  /** Called when an open WebSocket connection is lost (pending calls have failed, subscriptions ended). */
  onDisconnect?: (reason: Error) => void;
  hooks?: ClientHooks;
}

export interface CallOptions {
  /** Overrides the default timeout for this call (0 = none). */
  timeoutMs?: number;
  /** Cancel the call; over WebSocket the server is told (xrpc.cancel). */
  signal?: AbortSignal;
}

/** A connection to one RPC endpoint; untyped. Bind API declarations to it with `bindApi`. */
export interface RpcClient {
  readonly url: string;
  readonly transport: 'http' | 'ws';
  /** Call `method` ("Namespace.Method") with positional params. The result is the parsed JSON, unchecked. */
  call<R = unknown>(method: string, params: unknown[], opts?: CallOptions): Promise<R>;
  /** Call a channel method (WebSocket only): resolves once the server has opened the channel. */
  subscribe<T = unknown>(method: string, params: unknown[], opts?: CallOptions): Promise<Subscription<T>>;
  /** WebSocket: whether a connection is open now (HTTP: always true). */
  readonly connected: boolean;
  /** WebSocket: connect now (or wait for the attempt in progress); rejects if it fails. HTTP: no-op. */
  connect(): Promise<void>;
  /** Fail pending calls, end subscriptions, close the socket, stop reconnecting. */
  close(): Promise<void>;
}

/** The caller's extra headers plus the bearer token, for every POST and the WebSocket upgrade. */
export function authHeaders(opts: RpcClientOptions): Record<string, string> {
  const h: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) h.Authorization = `Bearer ${opts.token}`;
  return h;
}

/** A transport failure in a few words: the system error code (ECONNREFUSED…) and its message. */
export function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: unknown }).code ?? (cause as { code?: unknown } | undefined)?.code;
  const causeMsg = cause instanceof Error ? cause.message : undefined;
  if (typeof code === 'string') return causeMsg && !causeMsg.includes(code) ? `${code} (${causeMsg})` : code;
  return causeMsg ?? err.message;
}

/** Reports one call to the client hooks: once when it starts, once when it settles (with its error, if any). */
export class Timing {
  private readonly t0 = performance.now();
  constructor(
    private readonly hooks: ClientHooks | undefined,
    private readonly method: string,
  ) {
    hooks?.onCall?.({ method });
  }
  done(err?: unknown): void {
    if (!this.hooks?.onDone) return;
    const durationMs = performance.now() - this.t0;
    if (err === undefined) this.hooks.onDone({ method: this.method, durationMs });
    else {
      const error =
        err instanceof RpcError
          ? err.toJSON()
          : { code: ErrorCode.Internal, message: err instanceof Error ? err.message : String(err) };
      this.hooks.onDone({ method: this.method, durationMs, error });
    }
  }
}
