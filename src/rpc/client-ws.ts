/**
 * The WebSocket transport of the RPC client: calls, channels (go-jsonrpc's xrpc.ch.val / xrpc.ch.close),
 * cancellation (xrpc.cancel), keepalive pings and reconnection with backoff.
 */
import { type RawData, WebSocket } from 'ws';
import { logger } from '../common/log.js';
import type { Subscription, SubscriptionEnd } from './api.js';
import { PushChannel } from './channel.js';
import {
  authHeaders,
  type CallOptions,
  describe,
  type ReconnectOptions,
  type RpcClient,
  type RpcClientOptions,
  Timing,
} from './client-common.js';
import { ErrorCode, fromErrorObject, RpcConnectionError, RpcError, RpcTimeoutError } from './errors.js';
import { redactUrl } from './guard.js';
import { rawText, toJson } from './json.js';

const log = logger('rpc');

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

export class WsClient implements RpcClient {
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
      // Once our side of the closing handshake is out (the server's close frame answered, our FIN sent) nothing
      // more can arrive: drop the socket now. Left to ws, a server that never ends its side (busy, or a proxy
      // holding the TCP connection) keeps every pending call waiting for the 30 s close timeout.
      ws.once('upgrade', (res) => {
        res.socket.once('finish', () => {
          if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
        });
      });
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

  /** `now`: the first try after a working connection dropped goes at once; failed dials back off. */
  private scheduleReconnect(now = false): void {
    if (!this.backoff || this.closedByUser || this.reconnectTimer) return;
    const wait = now ? 0 : this.delay;
    if (!now) this.delay = Math.min(this.delay * this.backoff.factor, this.backoff.maxDelayMs);
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
    this.scheduleReconnect(true);
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
