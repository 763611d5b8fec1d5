/**
 * JSON-RPC dispatch shared by HTTP and WebSocket: parse a message (one request or a batch), check each call
 * (method, permission, param count and types, limits) and run it. Every refusal is an error object with a
 * message that quotes at most a short prefix of what was sent; refusals and failures are logged once per peer
 * per minute (LogLimiter), not per call.
 */
import { logger } from '../common/log.js';
import type { AnySpec, CallContext } from './api.js';
import { hasPerm, type Perm, type VerifiedToken } from './auth.js';
import { ErrorCode, type RpcErrorObject, toErrorObject } from './errors.js';
import { toJson } from './json.js';
import { type CallScope, type InFlight, LogLimiter } from './limits.js';
import { checkParams } from './params.js';
import type { WsConn } from './ws.js';

const log = logger('rpc');

/** Per-call hooks, so metrics (prom-client) can be attached without this layer knowing about them. */
export interface RpcHooks {
  /** A call starts (after auth and arity checks passed). */
  onCall?(event: { method: string; transport: 'http' | 'ws' }): void;
  /** A call ended: with an error object if it failed. For channel methods, when the channel is set up. */
  onDone?(event: { method: string; transport: 'http' | 'ws'; durationMs: number; error?: RpcErrorObject }): void;
}

/** Who is calling: resolved once per HTTP request or WebSocket connection. */
export interface Caller {
  readonly perms: readonly Perm[];
  readonly token?: VerifiedToken;
}

export interface Session extends Caller {
  readonly transport: 'http' | 'ws';
  /** "ip:port" */
  readonly remoteAddress: string;
  /** The peer's IP: the key of per-peer log limiting. */
  readonly peer: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Calls in flight on this connection. */
  readonly inflight: InFlight;
}

export interface Registered {
  readonly spec: AnySpec;
  readonly fn: (...args: unknown[]) => unknown;
}

export type Id = string | number | null;

interface Request {
  id: Id;
  notification: boolean;
  method: string;
  params: unknown[];
}

interface Outcome {
  response?: Record<string, unknown>;
  /** Runs after the response is written (starts a channel's values, which must follow its id). */
  after?: () => void;
}

export interface Reply {
  text?: string;
  status: number;
  after?: () => void;
}

/** Longest string id accepted (ids are echoed in the answer). */
const MAX_ID_CHARS = 256;

export function idKey(id: Id): string {
  return JSON.stringify(id);
}

export function errorResponse(id: Id, error: RpcErrorObject): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error };
}

export function httpStatusFor(code: number | undefined): number {
  switch (code) {
    case ErrorCode.ParseError:
    case ErrorCode.InvalidRequest:
      return 400;
    case ErrorCode.MethodNotFound:
    case ErrorCode.InvalidParams:
    case ErrorCode.Internal:
      // go-jsonrpc answers protocol failures with 500 (and its clients read the body of 400 and 500 only)
      return 500;
    case ErrorCode.Unauthorized:
      return 401;
    case ErrorCode.LimitExceeded:
      return 429;
    default:
      return 200;
  }
}

/** A body that is not JSON. V8's message quotes the input around the error, so only the position is kept. */
export function parseFailure(err: unknown): { text: string; status: number } {
  const pos = /position (\d+)/.exec((err as Error)?.message ?? '');
  const message = `parse error: not valid JSON${pos ? ` (at position ${pos[1]})` : ''}`;
  return { text: toJson(errorResponse(null, { code: ErrorCode.ParseError, message })), status: 400 };
}

export class Dispatcher {
  readonly methods = new Map<string, Registered>();
  /** One log line per peer and kind of refusal/failure per minute. */
  readonly logs = new LogLimiter();

  constructor(
    private readonly hooks: RpcHooks,
    private readonly maxBatch: number,
  ) {}

  /** One HTTP body or WebSocket message: a request or a batch. */
  async handleText(text: string, session: Session, conn: WsConn | undefined, scope: CallScope): Promise<Reply> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      return parseFailure(err);
    }
    return this.handleMessage(msg, session, conn, scope);
  }

  /** Same as handleText, for an already parsed message. */
  async handleMessage(msg: unknown, session: Session, conn: WsConn | undefined, scope: CallScope): Promise<Reply> {
    if (Array.isArray(msg)) {
      if (msg.length === 0) {
        const error = { code: ErrorCode.InvalidRequest, message: 'invalid request: empty batch' };
        return { text: toJson(errorResponse(null, error)), status: 400 };
      }
      if (msg.length > this.maxBatch) {
        return this.refuse(session, 'batch', {
          code: ErrorCode.LimitExceeded,
          message: `batch of ${msg.length} calls refused: the limit is ${this.maxBatch} calls per batch`,
        });
      }
      if (!session.inflight.take(msg.length)) return this.refuseInFlight(session);
      const outcomes = await Promise.all(
        msg.map((m) => this.handleOne(m, session, conn, scope).finally(() => session.inflight.release())),
      );
      const texts = outcomes.flatMap((o) => (o.text !== undefined ? [o.text] : []));
      const afters = outcomes.flatMap((o) => (o.after ? [o.after] : []));
      return {
        ...(texts.length ? { text: `[${texts.join(',')}]` } : {}),
        status: 200,
        ...(afters.length
          ? {
              after: () => {
                for (const f of afters) f();
              },
            }
          : {}),
      };
    }
    if (!session.inflight.take()) return this.refuseInFlight(session, msg);
    try {
      const o = await this.handleOne(msg, session, conn, scope);
      return { ...o, status: httpStatusFor(o.errorCode) };
    } finally {
      session.inflight.release();
    }
  }

  private refuseInFlight(session: Session, msg?: unknown): Reply {
    const id = msg && typeof msg === 'object' ? safeId((msg as { id?: unknown }).id) : null;
    return this.refuse(
      session,
      'inflight',
      {
        code: ErrorCode.LimitExceeded,
        message: `too many calls in flight on this connection (limit ${session.inflight.limit}); wait for answers`,
      },
      id,
    );
  }

  /** A refused message: logged once per peer per minute, answered with one error object. */
  refuse(session: Session, kind: string, error: RpcErrorObject, id: Id = null): Reply {
    this.logs.log(
      log,
      'warn',
      `${session.peer}|${kind}`,
      { remote: session.remoteAddress, reason: error.message },
      'rpc request refused',
    );
    return { text: toJson(errorResponse(id, error)), status: httpStatusFor(error.code) };
  }

  private async handleOne(
    msg: unknown,
    session: Session,
    conn: WsConn | undefined,
    scope: CallScope,
  ): Promise<{ text?: string; errorCode?: number; after?: () => void }> {
    const req = parseRequest(msg);
    if ('error' in req) return { text: toJson(errorResponse(req.id, req.error)), errorCode: req.error.code };
    const o = await this.invoke(req, session, conn, scope);
    if (req.notification) return o.after ? { after: o.after } : {};
    const response = o.response!;
    try {
      const text = toJson(response);
      const errorCode = (response.error as RpcErrorObject | undefined)?.code;
      return { text, ...(errorCode !== undefined ? { errorCode } : {}), ...(o.after ? { after: o.after } : {}) };
    } catch (err) {
      // A cycle or an unencodable value in a result must not kill the reply.
      log.error({ method: req.method, err: String(err) }, 'result cannot be encoded as JSON');
      const error = {
        code: ErrorCode.Internal,
        message: `internal error while handling ${req.method}; see the server log`,
      };
      return { text: toJson(errorResponse(req.id, error)), errorCode: error.code };
    }
  }

  /** A refusal or failure of one call, logged once per peer, kind and method per minute. */
  private failed(session: Session, kind: string, method: string, fields: Record<string, unknown>, msg: string) {
    this.logs.log(
      log,
      kind === 'internal' ? 'error' : 'warn',
      `${session.peer}|${kind}|${method}`,
      {
        method,
        remote: session.remoteAddress,
        ...fields,
      },
      msg,
    );
  }

  private async invoke(req: Request, session: Session, conn: WsConn | undefined, scope: CallScope): Promise<Outcome> {
    const { id, method } = req;
    const reg = this.methods.get(method);
    if (!reg) {
      return {
        // go-jsonrpc's text, with at most a short prefix of the name sent
        response: errorResponse(id, {
          code: ErrorCode.MethodNotFound,
          message: `method '${method.length > 64 ? `${method.slice(0, 64)}…` : method}' not found`,
        }),
      };
    }
    const { spec } = reg;
    if (spec.kind === 'channel' && !conn) {
      return {
        response: errorResponse(id, {
          code: ErrorCode.MethodNotFound,
          message: `method '${method}' not supported in this mode (no out channel support); use a WebSocket`,
        }),
      };
    }
    const expiresAt = session.token?.expiresAt;
    if (expiresAt !== undefined && expiresAt <= Date.now()) {
      return { response: errorResponse(id, { code: ErrorCode.Unauthorized, message: 'token expired' }) };
    }
    if (!hasPerm(session.perms, spec.perm)) {
      const message = `missing permission to invoke '${method}' (need '${spec.perm}')`;
      this.failed(session, 'perm', method, { need: spec.perm }, 'permission denied');
      return { response: errorResponse(id, { code: ErrorCode.MissingPermission, message }) };
    }
    if (req.params.length !== spec.arity) {
      return {
        response: errorResponse(id, {
          code: ErrorCode.InvalidParams,
          message: `wrong param count (method '${method}'): ${req.params.length} != ${spec.arity}`,
        }),
      };
    }
    if (spec.params) {
      const why = checkParams(req.params, spec.params);
      if (why !== undefined) {
        const message = `invalid params: ${why} (method '${method}')`;
        this.failed(session, 'params', method, { err: message }, 'invalid params');
        return { response: errorResponse(id, { code: ErrorCode.InvalidParams, message }) };
      }
    }

    const ac = scope.open();
    const key = idKey(id);
    if (conn && !req.notification) conn.handling.set(key, ac);
    let keep = false; // a channel keeps its context until the channel ends
    const ctx: CallContext = {
      method,
      perms: session.perms,
      ...(session.token
        ? { token: { name: session.token.name, perm: session.token.perm, ext: session.token.ext } }
        : {}),
      signal: ac.signal,
      transport: session.transport,
      ...(conn ? { connection: conn } : {}),
      remoteAddress: session.remoteAddress,
      headers: session.headers,
    };
    const started = performance.now();
    this.hooks.onCall?.({ method, transport: session.transport });
    const done = (error?: RpcErrorObject) => {
      const durationMs = performance.now() - started;
      this.hooks.onDone?.({ method, transport: session.transport, durationMs, ...(error ? { error } : {}) });
      log.debug({ method, ms: Math.round(durationMs * 10) / 10, err: error?.message }, 'rpc call');
    };
    try {
      const result = await reg.fn(...req.params, ctx);
      if (spec.kind === 'channel') {
        if (!isAsyncIterable(result)) {
          throw new TypeError(`${method} implementation returned ${typeof result}, not an AsyncIterable`);
        }
        if (req.notification) return {};
        const chid = conn!.nextChannelId++;
        keep = true;
        done();
        return {
          response: { jsonrpc: '2.0', id, result: chid },
          after: () => {
            conn!
              .pump(chid, result, ac, key)
              .catch((err) => log.error({ method, err: String(err) }, 'channel pump failed'))
              .finally(() => scope.done(ac));
          },
        };
      }
      done();
      return { response: { jsonrpc: '2.0', id, result: result === undefined ? null : result } };
    } catch (err) {
      const { error, internal } = toErrorObject(err, method);
      if (internal) {
        const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
        this.failed(session, 'internal', method, { err: detail }, 'rpc method failed');
      } else {
        this.failed(session, 'error', method, { code: error.code, err: error.message }, 'error in rpc call');
      }
      done(error);
      return { response: errorResponse(id, error) };
    } finally {
      if (!keep) {
        scope.done(ac);
        if (conn && conn.handling.get(key) === ac) conn.handling.delete(key);
      }
    }
  }
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
}

/** An id fit to echo: strings are cut to MAX_ID_CHARS, other shapes become null. */
export function safeId(raw: unknown): Id {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string') return raw.length > MAX_ID_CHARS ? null : raw;
  return null;
}

function parseRequest(m: unknown): Request | { id: Id; error: RpcErrorObject } {
  const invalid = (id: Id, why: string) => ({
    id,
    error: { code: ErrorCode.InvalidRequest, message: `invalid request: ${why}` },
  });
  if (!m || typeof m !== 'object' || Array.isArray(m)) return invalid(null, 'expected a JSON object');
  const o = m as Record<string, unknown>;
  const rawId = o.id;
  let id: Id = null;
  if (typeof rawId === 'number') id = rawId;
  else if (typeof rawId === 'string') {
    if (rawId.length > MAX_ID_CHARS) return invalid(null, `string id longer than ${MAX_ID_CHARS} characters`);
    id = rawId;
  } else if (rawId !== undefined && rawId !== null) return invalid(null, 'id must be a string, number or null');
  if (o.jsonrpc !== '2.0') return invalid(id, '"jsonrpc" must be "2.0"');
  if (typeof o.method !== 'string' || o.method === '') return invalid(id, '"method" must be a non-empty string');
  let params: unknown[];
  if (o.params === undefined || o.params === null) params = [];
  else if (Array.isArray(o.params)) params = o.params;
  else {
    return {
      id,
      error: {
        code: ErrorCode.InvalidParams,
        message: 'params must be a positional array (named params are not supported)',
      },
    };
  }
  return { id, notification: !('id' in o), method: o.method, params };
}
