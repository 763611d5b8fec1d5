/**
 * JSON-RPC client over HTTP (one POST per call; enough for CLIs) or WebSocket (calls, channels, reconnect).
 * The scheme of the URL picks the transport. Typed proxies come from API declarations (see api.ts):
 *
 *   const wallet = createClient(WalletAPI, { url: 'ws://127.0.0.1:5678/rpc/v0', token });
 *   const addrs = await wallet.WalletList();
 *   await wallet.close();
 */
import { type RawData, WebSocket } from 'ws';
import { logger } from '../common/log.js';
import type { ApiClient, ApiDecl, Subscription, SubscriptionEnd } from './api.js';
import { PushChannel } from './channel.js';
import {
  ErrorCode,
  fromErrorObject,
  RpcConnectionError,
  RpcError,
  type RpcErrorObject,
  RpcTimeoutError,
} from './errors.js';
import { redactUrl } from './guard.js';
import { rawText, toJson } from './json.js';

const log = logger('rpc');

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

/** Open a client: HTTP for http(s):// URLs, WebSocket for ws(s):// URLs. A WebSocket connects in the background. */
export function connect(opts: RpcClientOptions): RpcClient {
  let u: URL;
  try {
    u = new URL(opts.url);
  } catch {
    throw new Error(`invalid RPC URL "${redactUrl(opts.url)}"`);
  }
  if (u.protocol === 'http:' || u.protocol === 'https:') return new HttpClient(opts);
  if (u.protocol === 'ws:' || u.protocol === 'wss:') return new WsClient(opts);
  throw new Error(`unsupported RPC URL scheme "${u.protocol}" (use http, https, ws or wss)`);
}

/** A typed proxy for `api` over an existing client (several APIs can share one connection). */
export function bindApi<A extends ApiDecl>(api: A, client: RpcClient): ApiClient<A> {
  const out: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
  for (const [name, spec] of Object.entries(api.methods)) {
    const full = `${api.namespace}.${name}`;
    const opts: CallOptions = spec.timeoutMs !== undefined ? { timeoutMs: spec.timeoutMs } : {};
    out[name] =
      spec.kind === 'channel'
        ? (...args: unknown[]) => client.subscribe(full, args, opts)
        : (...args: unknown[]) => client.call(full, args, opts);
  }
  return Object.freeze(out) as unknown as ApiClient<A>;
}

/** A typed client with its own connection: `createClient(WalletAPI, { url, token })`. */
export function createClient<A extends ApiDecl>(
  api: A,
  opts: RpcClientOptions | RpcClient,
): ApiClient<A> & { readonly rpc: RpcClient; close(): Promise<void> } {
  const rpc = 'call' in opts ? opts : connect(opts);
  return Object.freeze({ ...bindApi(api, rpc), rpc, close: () => rpc.close() }) as ApiClient<A> & {
    readonly rpc: RpcClient;
    close(): Promise<void>;
  };
}

function authHeaders(opts: RpcClientOptions): Record<string, string> {
  const h: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) h.Authorization = `Bearer ${opts.token}`;
  return h;
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  const code = (err as { code?: unknown }).code ?? (cause as { code?: unknown } | undefined)?.code;
  const causeMsg = cause instanceof Error ? cause.message : undefined;
  if (typeof code === 'string') return causeMsg && !causeMsg.includes(code) ? `${code} (${causeMsg})` : code;
  return causeMsg ?? err.message;
}

class Timing {
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

// -- HTTP ---------------------------------------------------------------------------------------------------

class HttpClient implements RpcClient {
  readonly transport = 'http' as const;
  readonly url: string;
  /** The URL for messages and logs: without its query (it may carry a token). */
  private readonly shown: string;
  readonly connected = true;
  private nextId = 1;
  private closed = false;
  private readonly inflight = new Set<AbortController>();

  constructor(private readonly opts: RpcClientOptions) {
    this.url = opts.url;
    this.shown = redactUrl(opts.url);
  }

  async connect(): Promise<void> {}

  async call<R = unknown>(method: string, params: unknown[], opts: CallOptions = {}): Promise<R> {
    const timing = new Timing(this.opts.hooks, method);
    try {
      const r = (await this.doCall(method, params, opts)) as R;
      timing.done();
      return r;
    } catch (err) {
      timing.done(err);
      throw err;
    }
  }

  private async doCall(method: string, params: unknown[], opts: CallOptions): Promise<unknown> {
    if (this.closed) throw new RpcConnectionError(`${method}: client is closed`);
    const id = this.nextId++;
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 60_000;
    const ac = new AbortController();
    this.inflight.add(ac);
    let timedOut = false;
    const timer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            ac.abort();
          }, timeoutMs)
        : undefined;
    const onAbort = () => ac.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) ac.abort();
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...authHeaders(this.opts) },
        body: toJson({ jsonrpc: '2.0', method, params, id }),
        signal: ac.signal,
      });
      text = await res.text();
    } catch (err) {
      if (timedOut) throw new RpcTimeoutError(method, timeoutMs);
      if (opts.signal?.aborted) throw new RpcError(ErrorCode.Timeout, `${method}: cancelled`);
      if (this.closed) throw new RpcConnectionError(`${method}: client is closed`);
      throw new RpcConnectionError(`${method}: cannot reach ${this.shown}: ${describe(err)}`, { cause: err });
    } finally {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      this.inflight.delete(ac);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      const snippet = text.length > 200 ? `${text.slice(0, 200)}…` : text;
      throw new RpcError(
        res.status === 401 ? ErrorCode.Unauthorized : ErrorCode.Internal,
        `${method}: HTTP ${res.status} ${res.statusText} from ${this.shown}${snippet ? `: ${snippet.trim()}` : ''}`,
      );
    }
    const o = (body ?? {}) as { result?: unknown; error?: unknown };
    if (o.error !== undefined && o.error !== null) throw fromErrorObject(o.error);
    if (!('result' in o)) {
      throw new RpcError(ErrorCode.Internal, `${method}: HTTP ${res.status}: response has neither result nor error`);
    }
    return o.result;
  }

  subscribe<T = unknown>(method: string): Promise<Subscription<T>> {
    return Promise.reject(
      new RpcError(
        ErrorCode.MethodNotFound,
        `${method} returns a channel and needs a WebSocket connection (ws:// or wss://), not ${this.shown}`,
      ),
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const ac of this.inflight) ac.abort();
  }
}

// -- WebSocket ----------------------------------------------------------------------------------------------

interface Pending {
  method: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** Set for channel calls: turns the channel id into a subscription, synchronously on receipt. */
  channel?: (chid: number) => void;
}

class ClientSubscription<T> extends PushChannel<T> implements Subscription<T> {
  private endResolve!: (e: SubscriptionEnd) => void;
  readonly ended: Promise<SubscriptionEnd> = new Promise((r) => {
    this.endResolve = r;
  });
  constructor(
    readonly id: number,
    private readonly onCancel: () => void,
  ) {
    super();
    this.onReturn(() => this.finish('cancelled'));
  }
  private finished = false;
  finish(why: SubscriptionEnd): void {
    if (this.finished) return;
    this.finished = true;
    if (why === 'cancelled') this.onCancel();
    this.endResolve(why);
    this.end();
  }
  cancel(): void {
    void this.return();
  }
}

class WsClient implements RpcClient {
  readonly transport = 'ws' as const;
  readonly url: string;
  /** The URL for messages and logs: without its query (it may carry a token). */
  private readonly shown: string;
  private ws: WebSocket | undefined;
  private connecting: Promise<void> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly subs = new Map<number, ClientSubscription<unknown>>();
  private closedByUser = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private delay: number;
  private readonly backoff: Required<ReconnectOptions> | undefined;
  private lastError: Error | undefined;
  private alive = true;

  constructor(private readonly opts: RpcClientOptions) {
    this.url = opts.url;
    this.shown = redactUrl(opts.url);
    const r = opts.reconnect ?? true;
    this.backoff = r
      ? {
          initialDelayMs: (typeof r === 'object' && r.initialDelayMs) || 250,
          maxDelayMs: (typeof r === 'object' && r.maxDelayMs) || 30_000,
          factor: (typeof r === 'object' && r.factor) || 2,
        }
      : undefined;
    this.delay = this.backoff?.initialDelayMs ?? 0;
    this.connect().catch(() => {
      // reported to callers; the background loop retries
    });
  }

  get connected(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): Promise<void> {
    if (this.closedByUser) return Promise.reject(new RpcConnectionError(`client for ${this.shown} is closed`));
    if (this.connected) return Promise.resolve();
    if (this.connecting) return this.connecting;
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = undefined;
    }
    this.connecting = this.dial().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private dial(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(this.url, {
        headers: authHeaders(this.opts),
        maxPayload: this.opts.maxMessageBytes ?? 256 << 20,
        perMessageDeflate: false,
        handshakeTimeout: 30_000,
      });
      let opened = false;
      const fail = (err: Error) => {
        if (opened) return;
        opened = true; // settle once
        this.lastError = err;
        ws.removeAllListeners();
        ws.on('error', () => {});
        ws.terminate();
        reject(err);
        this.scheduleReconnect();
      };
      ws.once('unexpected-response', (_req, res) => {
        // The server refused the upgrade; its body says why (401 carries a JSON-RPC error).
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let err: Error;
          try {
            const e = fromErrorObject((JSON.parse(text) as { error?: unknown }).error);
            // the registered class for the code (UnauthorizedError…), its message prefixed with where
            err = fromErrorObject({ code: e.code, message: `${this.shown}: ${e.message}`, data: e.data });
          } catch {
            err = new RpcConnectionError(
              `cannot connect to ${this.shown}: HTTP ${res.statusCode} ${text.trim().slice(0, 200)}`.trim(),
            );
          }
          fail(err);
        });
        res.on('error', (e: Error) => fail(new RpcConnectionError(`cannot connect to ${this.shown}: ${e.message}`)));
      });
      ws.once('error', (err: Error) =>
        fail(new RpcConnectionError(`cannot connect to ${this.shown}: ${describe(err)}`, { cause: err })),
      );
      ws.once('open', () => {
        if (opened) return;
        opened = true;
        ws.removeAllListeners('error');
        ws.removeAllListeners('unexpected-response');
        if (this.closedByUser) {
          ws.close(1000);
          reject(new RpcConnectionError(`client for ${this.shown} is closed`));
          return;
        }
        this.ws = ws;
        this.delay = this.backoff?.initialDelayMs ?? 0;
        this.lastError = undefined;
        this.alive = true;
        ws.on('message', (data: RawData) => this.onMessage(data));
        ws.on('pong', () => {
          this.alive = true;
        });
        ws.on('error', (err: Error) => log.debug({ url: this.shown, err: err.message }, 'websocket error'));
        ws.on('close', (code: number, reason: Buffer) => this.onClose(ws, code, reason.toString()));
        this.startPing(ws);
        log.debug({ url: this.shown }, 'connected');
        resolve();
        try {
          this.opts.onConnect?.();
        } catch (err) {
          log.warn({ err: String(err) }, 'onConnect callback failed');
        }
      });
    });
  }

  private startPing(ws: WebSocket): void {
    const every = this.opts.pingIntervalMs ?? 30_000;
    if (every <= 0) return;
    this.pingTimer = setInterval(() => {
      if (!this.alive) {
        log.warn({ url: this.shown }, 'server stopped answering pings; reconnecting');
        ws.terminate();
        return;
      }
      this.alive = false;
      ws.ping();
    }, every);
    this.pingTimer.unref();
  }

  private scheduleReconnect(): void {
    if (!this.backoff || this.closedByUser || this.reconnectTimer) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * this.backoff.factor, this.backoff.maxDelayMs);
    log.debug({ url: this.shown, ms: wait, err: this.lastError?.message }, 'reconnecting');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch((err) => log.debug({ url: this.shown, err: String(err) }, 'reconnect failed'));
    }, wait);
    this.reconnectTimer.unref();
  }

  private onClose(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    this.ws = undefined;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const why = this.closedByUser
      ? `client for ${this.shown} closed`
      : `connection to ${this.shown} lost (code ${code}${reason ? `: ${reason}` : ''})`;
    const err = new RpcConnectionError(why);
    for (const [, p] of this.pending) p.reject(new RpcConnectionError(`${p.method}: ${why}`));
    this.pending.clear();
    for (const [, s] of this.subs) s.finish('disconnected');
    this.subs.clear();
    if (this.closedByUser) return;
    log.warn({ url: this.shown, code, reason }, 'rpc connection lost');
    try {
      this.opts.onDisconnect?.(err);
    } catch (e) {
      log.warn({ err: String(e) }, 'onDisconnect callback failed');
    }
    this.lastError = err;
    this.scheduleReconnect();
  }

  private onMessage(data: RawData): void {
    let msg: unknown;
    try {
      msg = JSON.parse(rawText(data));
    } catch {
      log.warn({ url: this.shown }, 'server sent a frame that is not JSON');
      return;
    }
    for (const f of Array.isArray(msg) ? msg : [msg]) this.onFrame(f);
  }

  private onFrame(f: unknown): void {
    if (!f || typeof f !== 'object') return;
    const frame = f as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    if (typeof frame.method === 'string') {
      const params = Array.isArray(frame.params) ? frame.params : [];
      if (frame.method === 'xrpc.ch.val') {
        const sub = this.subs.get(Number(params[0]));
        sub?.push(params[1]);
        return;
      }
      if (frame.method === 'xrpc.ch.close') {
        const chid = Number(params[0]);
        const sub = this.subs.get(chid);
        this.subs.delete(chid);
        sub?.finish('closed');
        return;
      }
      // This client serves no methods of its own.
      if (frame.id !== undefined && frame.id !== null) {
        this.sendFrame({
          jsonrpc: '2.0',
          id: frame.id,
          error: { code: ErrorCode.MethodNotFound, message: `method '${frame.method}' not found (client)` },
        });
      }
      return;
    }
    const p = typeof frame.id === 'number' ? this.pending.get(frame.id) : undefined;
    if (!p) return; // late answer to a call that timed out or was cancelled
    this.pending.delete(frame.id as number);
    if (frame.error !== undefined && frame.error !== null) p.reject(fromErrorObject(frame.error));
    else if (p.channel) {
      if (typeof frame.result !== 'number') {
        p.reject(
          new RpcError(ErrorCode.Internal, `${p.method}: server sent ${toJson(frame.result)}, not a channel id`),
        );
      } else p.channel(frame.result);
    } else p.resolve(frame.result === undefined ? null : frame.result);
  }

  private sendFrame(msg: unknown): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(toJson(msg));
    return true;
  }

  call<R = unknown>(method: string, params: unknown[], opts: CallOptions = {}): Promise<R> {
    return this.request(method, params, opts, false) as Promise<R>;
  }

  subscribe<T = unknown>(method: string, params: unknown[], opts: CallOptions = {}): Promise<Subscription<T>> {
    return this.request(method, params, opts, true) as Promise<Subscription<T>>;
  }

  private async request(method: string, params: unknown[], opts: CallOptions, channel: boolean): Promise<unknown> {
    const timing = new Timing(this.opts.hooks, method);
    try {
      const r = await this.doRequest(method, params, opts, channel);
      timing.done();
      return r;
    } catch (err) {
      timing.done(err);
      throw err;
    }
  }

  private async doRequest(method: string, params: unknown[], opts: CallOptions, channel: boolean): Promise<unknown> {
    const timeoutMs = opts.timeoutMs ?? this.opts.timeoutMs ?? 60_000;
    const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : undefined;
    if (opts.signal?.aborted) throw new RpcError(ErrorCode.Timeout, `${method}: cancelled`);
    if (!this.connected) {
      try {
        await withDeadline(this.connect(), deadline, () => new RpcTimeoutError(method, timeoutMs));
      } catch (err) {
        if (err instanceof RpcTimeoutError) throw err;
        const why = err instanceof Error ? err.message : String(err);
        if (err instanceof RpcError && !(err instanceof RpcConnectionError)) throw err;
        throw new RpcConnectionError(`${method}: ${why}`, { cause: err });
      }
    }
    // the caller may have given up while we were connecting: its abort event has fired already
    if (opts.signal?.aborted) throw new RpcError(ErrorCode.Timeout, `${method}: cancelled`);
    const id = this.nextId++;
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
      };
      const abandon = (err: Error) => {
        if (!this.pending.has(id)) return;
        this.pending.delete(id);
        cleanup();
        // tell the server to stop working on it, as go-jsonrpc does on context cancel
        this.sendFrame({ jsonrpc: '2.0', method: 'xrpc.cancel', params: [id] });
        reject(err);
      };
      const onAbort = () => abandon(new RpcError(ErrorCode.Timeout, `${method}: cancelled`));
      const p: Pending = {
        method,
        resolve: (v) => {
          cleanup();
          resolve(v);
        },
        reject: (e) => {
          cleanup();
          reject(e);
        },
      };
      if (channel) {
        p.channel = (chid) => {
          cleanup();
          const sub = new ClientSubscription<unknown>(chid, () => {
            if (this.subs.get(chid) === sub) this.subs.delete(chid);
            // go-jsonrpc cancels a channel by cancelling the request that opened it
            this.sendFrame({ jsonrpc: '2.0', method: 'xrpc.cancel', params: [id] });
          });
          this.subs.set(chid, sub);
          resolve(sub);
        };
      }
      this.pending.set(id, p);
      if (deadline !== undefined) {
        timer = setTimeout(() => abandon(new RpcTimeoutError(method, timeoutMs)), Math.max(0, deadline - Date.now()));
      }
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      if (!this.sendFrame({ jsonrpc: '2.0', method, params, id })) {
        this.pending.delete(id);
        cleanup();
        reject(new RpcConnectionError(`${method}: not connected to ${this.shown}`));
      }
    });
  }

  async close(): Promise<void> {
    this.closedByUser = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.pingTimer) clearInterval(this.pingTimer);
    const ws = this.ws;
    if (!ws) {
      for (const [, p] of this.pending) p.reject(new RpcConnectionError(`${p.method}: client closed`));
      this.pending.clear();
      return;
    }
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        ws.terminate();
        resolve();
      }, 1000);
      ws.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      ws.close(1000, 'client closing');
    });
    // onClose has failed the pending calls and ended the subscriptions
  }
}

function withDeadline<T>(p: Promise<T>, deadline: number | undefined, onTimeout: () => Error): Promise<T> {
  if (deadline === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), Math.max(0, deadline - Date.now()));
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
