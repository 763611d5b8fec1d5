/**
 * One server-side WebSocket connection: JSON-RPC messages in (rate-bounded), answers and channel values out
 * (xrpc.ch.val / xrpc.ch.close), cancels (xrpc.cancel), keepalive pings.
 */
import { type RawData, WebSocket } from 'ws';
import { logger } from '../common/log.js';
import type { Connection } from './api.js';
import { type Dispatcher, type Id, idKey, parseFailure, type Session, safeId } from './dispatch.js';
import { ErrorCode } from './errors.js';
import { rawText, toJson } from './json.js';
import { CallScope, RateBucket } from './limits.js';

const log = logger('rpc');

const CH_VAL = 'xrpc.ch.val';
const CH_CLOSE = 'xrpc.ch.close';
const CANCEL = 'xrpc.cancel';

export class WsConn implements Connection {
  readonly handling = new Map<string, AbortController>();
  nextChannelId = 1;
  private alive = true;
  private closeHooks: (() => void)[] = [];
  private readonly signalSource = new AbortController();
  /** Every call on this connection is aborted through this scope when it closes. */
  private readonly scope = new CallScope(this.signalSource.signal);
  private readonly rate: RateBucket;
  /** Messages refused by the rate bound since the last one accepted; past a second's worth, the peer is dropped. */
  private refusedInARow = 0;
  private isClosed = false;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly session: Session,
    private readonly dispatcher: Dispatcher,
    private readonly messagesPerSecond: number,
  ) {
    this.rate = new RateBucket(messagesPerSecond);
    ws.on('message', (data: RawData) => this.onMessage(data));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      log.debug({ conn: id, code, reason: reason.toString().slice(0, 123) }, 'websocket closed');
      this.markClosed();
    });
    ws.on('error', (err: Error) => {
      // oversize messages land here (ws closes with 1009); the close handler cleans up
      dispatcher.logs.log(
        log,
        'warn',
        `${session.peer}|wserror`,
        { conn: id, remote: session.remoteAddress, err: err.message },
        'websocket error',
      );
    });
  }

  get remoteAddress(): string {
    return this.session.remoteAddress;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  onClose(fn: () => void): void {
    if (this.isClosed) fn();
    else this.closeHooks.push(fn);
  }

  ping(): void {
    if (!this.alive) {
      log.warn({ conn: this.id, remote: this.remoteAddress }, 'websocket peer stopped answering pings; dropping it');
      this.ws.terminate();
      return;
    }
    this.alive = false;
    this.ws.ping();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
    // a peer that never answers the close handshake must not keep the server open
    setTimeout(() => this.ws.terminate(), 1000).unref();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.signalSource.abort(new Error('connection closed'));
    for (const ac of this.handling.values()) ac.abort(new Error('connection closed'));
    this.handling.clear();
    for (const fn of this.closeHooks.splice(0)) {
      try {
        fn();
      } catch (err) {
        log.warn({ conn: this.id, err: String(err) }, 'connection close hook failed');
      }
    }
  }

  /** Send one frame; resolves when written (so a channel cannot outrun a slow peer), false if closed. */
  send(msg: unknown): Promise<boolean> {
    if (this.ws.readyState !== WebSocket.OPEN) return Promise.resolve(false);
    const text = typeof msg === 'string' ? msg : toJson(msg);
    return new Promise((resolve) => this.ws.send(text, (err) => resolve(!err)));
  }

  private onMessage(data: RawData): void {
    if (this.isClosed) return;
    if (!this.rate.take()) {
      this.refusedInARow++;
      if (this.refusedInARow > this.messagesPerSecond) {
        this.dispatcher.logs.log(
          log,
          'warn',
          `${this.session.peer}|wsrate-close`,
          { conn: this.id, remote: this.remoteAddress },
          'websocket peer kept sending past the message rate limit; closing the connection',
        );
        this.close(1008, 'message rate limit exceeded');
        return;
      }
      // The refusal must cost less than the message, but a refusal without the call's id leaves the caller
      // waiting for an answer until its own timeout: small messages (every ordinary call) are parsed for their id.
      const reply = this.dispatcher.refuse(
        this.session,
        'wsrate',
        {
          code: ErrorCode.LimitExceeded,
          message: `message rate limit: more than ${this.messagesPerSecond} messages per second on this connection`,
        },
        refusedId(data),
      );
      void this.send(reply.text);
      return;
    }
    this.refusedInARow = 0;
    let msg: unknown;
    try {
      msg = JSON.parse(rawText(data));
    } catch (err) {
      void this.send(parseFailure(err).text);
      return;
    }
    // Built-in frames first: a cancel, or responses (this server makes no calls of its own).
    if (msg && typeof msg === 'object' && !Array.isArray(msg)) {
      const f = msg as Record<string, unknown>;
      if (f.method === CANCEL) {
        const p = Array.isArray(f.params) ? f.params : [];
        const ac = this.handling.get(idKey(p[0] as string | number | null));
        if (ac) ac.abort(new Error('cancelled by client'));
        return;
      }
      if (f.method === undefined && ('result' in f || 'error' in f)) return;
    }
    this.dispatcher
      .handleMessage(msg, this.session, this, this.scope)
      .then((out) => {
        if (out.text !== undefined) void this.send(out.text);
        out.after?.();
      })
      .catch((err) => log.error({ conn: this.id, err: String(err) }, 'websocket dispatch failed'));
  }

  /** Forward a channel's values as xrpc.ch.val, then xrpc.ch.close. */
  async pump(chid: number, source: AsyncIterable<unknown>, ac: AbortController, key: string): Promise<void> {
    const it = source[Symbol.asyncIterator]();
    let finished = false;
    const aborted = new Promise<'aborted'>((resolve) => {
      if (ac.signal.aborted) resolve('aborted');
      else ac.signal.addEventListener('abort', () => resolve('aborted'), { once: true });
    });
    try {
      for (;;) {
        const next = it.next();
        next.catch(() => {}); // may lose the race below; its failure is not ours to report then
        const r = await Promise.race([next, aborted]);
        if (r === 'aborted') break;
        if (r.done) {
          finished = true;
          break;
        }
        if (!(await this.send({ jsonrpc: '2.0', method: CH_VAL, params: [chid, r.value] }))) break;
      }
    } catch (err) {
      finished = true;
      log.warn({ conn: this.id, chid, err: String(err) }, 'channel source failed; closing the channel');
    } finally {
      if (!finished && typeof it.return === 'function') {
        Promise.resolve()
          .then(() => it.return?.())
          .catch(() => {});
      }
      if (this.handling.get(key) === ac) this.handling.delete(key);
      ac.abort(new Error('channel closed'));
      await this.send({ jsonrpc: '2.0', method: CH_CLOSE, params: [chid] });
    }
  }
}

/** Messages up to this size are parsed for their id when refused by the rate bound; larger ones are answered with null. */
const REFUSED_ID_MAX_BYTES = 16 * 1024;

/** The id of a refused single call, when it is cheap to read; null for batches, large or malformed messages. */
function refusedId(data: RawData): Id {
  const size = Array.isArray(data) ? data.reduce((n, b) => n + b.length, 0) : (data as Buffer | ArrayBuffer).byteLength;
  if (size > REFUSED_ID_MAX_BYTES) return null;
  try {
    const m = JSON.parse(rawText(data)) as unknown;
    return m && typeof m === 'object' && !Array.isArray(m) ? safeId((m as { id?: unknown }).id) : null;
  } catch {
    return null;
  }
}
