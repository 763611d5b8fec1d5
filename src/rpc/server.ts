/**
 * JSON-RPC 2.0 server with go-jsonrpc's wire behaviour: HTTP POST and WebSocket on the same paths
 * (/rpc/v0 and /rpc/v1 by default), `Namespace.Method` names, positional params with an exact count,
 * channels over WebSocket (xrpc.ch.val / xrpc.ch.close / xrpc.cancel), bearer-token auth checked per method.
 * Other HTTP routes (/metrics, /healthcheck, a dashboard) can be mounted on the same server with `route()`.
 */
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { logger } from '../common/log.js';
import { parseListenAddress } from './address.js';
import type { AnySpec, ApiDecl, ApiImpl, CallContext, Connection } from './api.js';
import {
  type Authenticator,
  bearerToken,
  hasPerm,
  localAuth,
  PERMS,
  type Perm,
  permsFor,
  type VerifiedToken,
} from './auth.js';
import { ErrorCode, RpcError, type RpcErrorObject, toErrorObject } from './errors.js';
import { rawText, toJson } from './json.js';

const log = logger('rpc');

/** Per-call hooks, so metrics (prom-client) can be attached without this layer knowing about them. */
export interface RpcHooks {
  /** A call starts (after auth and arity checks passed). */
  onCall?(event: { method: string; transport: 'http' | 'ws' }): void;
  /** A call ended: with an error object if it failed. For channel methods, when the channel is set up. */
  onDone?(event: { method: string; transport: 'http' | 'ws'; durationMs: number; error?: RpcErrorObject }): void;
}

export interface RpcServerOptions {
  /** Paths that serve JSON-RPC (POST and WebSocket). Default ['/rpc/v0', '/rpc/v1']. */
  paths?: string[];
  /**
   * Token verification. A secret (Uint8Array) means `localAuth(secret)`. null/undefined: no auth, every
   * caller has every permission (an operator's choice, e.g. damocles' manager API).
   */
  auth?: Authenticator | Uint8Array | null;
  /** With auth on, the permission of a caller that sends no token (Lotus grants 'read'). Default: refused. */
  anonymousPerm?: Perm;
  /** Largest request body or WebSocket message, in bytes. Default 32 MiB. */
  maxBodyBytes?: number;
  /** WebSocket keepalive: ping every this many ms, drop peers that missed a pong. Default 30 s; 0 disables. */
  pingIntervalMs?: number;
  hooks?: RpcHooks;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

/** Who is calling: resolved once per HTTP request or WebSocket connection. */
export interface Caller {
  readonly perms: readonly Perm[];
  readonly token?: VerifiedToken;
}

interface Registered {
  readonly spec: AnySpec;
  readonly fn: (...args: unknown[]) => unknown;
}

interface Session extends Caller {
  readonly transport: 'http' | 'ws';
  readonly remoteAddress: string;
  readonly headers: IncomingMessage['headers'];
}

type Id = string | number | null;

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

const DEFAULT_MAX_BODY = 32 << 20;
const CH_VAL = 'xrpc.ch.val';
const CH_CLOSE = 'xrpc.ch.close';
const CANCEL = 'xrpc.cancel';

function idKey(id: Id): string {
  return JSON.stringify(id);
}

function errorResponse(id: Id, error: RpcErrorObject): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error };
}

function httpStatusFor(code: number | undefined): number {
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
    default:
      return 200;
  }
}

export class RpcServer {
  /** The node:http server; listen() starts it, or attach it yourself. */
  readonly http: Server;
  private readonly methods = new Map<string, Registered>();
  private readonly routes: { method: string; path: string; prefix: boolean; handler: RouteHandler }[] = [];
  private readonly paths: Set<string>;
  private readonly auth: Authenticator | null;
  private readonly anonymousPerm: Perm | undefined;
  private readonly maxBody: number;
  private readonly hooks: RpcHooks;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<WsConn>();
  private readonly httpCalls = new Set<AbortController>();
  private pingTimer: NodeJS.Timeout | undefined;
  private nextConnId = 1;
  private closing = false;

  constructor(opts: RpcServerOptions = {}) {
    this.paths = new Set(opts.paths ?? ['/rpc/v0', '/rpc/v1']);
    this.auth = opts.auth instanceof Uint8Array ? localAuth(opts.auth) : (opts.auth ?? null);
    this.anonymousPerm = opts.anonymousPerm;
    this.maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.hooks = opts.hooks ?? {};
    this.http = createServer((req, res) => {
      this.onHttp(req, res).catch((err) => {
        log.error({ err: String(err?.stack ?? err) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.maxBody, perMessageDeflate: false });
    this.http.on('upgrade', (req, socket, head) => {
      this.onUpgrade(req, socket, head).catch((err) => {
        log.error({ err: String(err?.stack ?? err) }, 'websocket upgrade failed');
        socket.destroy();
      });
    });
    const ping = opts.pingIntervalMs ?? 30_000;
    if (ping > 0) {
      this.pingTimer = setInterval(() => {
        for (const c of this.conns) c.ping();
      }, ping);
      this.pingTimer.unref();
    }
  }

  /** Serve every method of `api` from `impl` (an object or class instance; methods may be sync or async). */
  register<A extends ApiDecl>(api: A, impl: ApiImpl<A>): this {
    for (const [name, spec] of Object.entries(api.methods)) {
      const full = `${api.namespace}.${name}`;
      if (this.methods.has(full)) throw new Error(`${full} is registered twice`);
      const fn = (impl as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new Error(`implementation of ${api.namespace} lacks method ${name}`);
      this.methods.set(full, { spec, fn: (fn as (...a: unknown[]) => unknown).bind(impl) });
    }
    return this;
  }

  /** Names of the registered methods ("Filecoin.WalletList", …). */
  methodNames(): string[] {
    return [...this.methods.keys()].sort();
  }

  /**
   * Mount another HTTP handler: method 'GET', 'POST', … or '*'; a path ending in '*' matches by prefix
   * ('/piecestore/*'). RPC paths take precedence. A throwing handler gets a plain 500.
   */
  route(method: string, path: string, handler: RouteHandler): this {
    const prefix = path.endsWith('*');
    this.routes.push({ method: method.toUpperCase(), path: prefix ? path.slice(0, -1) : path, prefix, handler });
    return this;
  }

  /** Check a request's token (for routes that need auth). Rejects with RpcError 401 when refused. */
  async authenticate(req: IncomingMessage): Promise<Caller> {
    if (!this.auth) return { perms: PERMS };
    const q = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    const token = bearerToken(req.headers.authorization, q);
    if (token === undefined) {
      if (this.anonymousPerm) return { perms: permsFor(this.anonymousPerm) };
      throw new RpcError(ErrorCode.Unauthorized, 'missing token: send "Authorization: Bearer <token>"');
    }
    try {
      const v = await this.auth.verify(token);
      return { perms: v.perms, token: v };
    } catch (err) {
      if (err instanceof RpcError) throw err;
      log.warn({ err: String(err) }, 'token verifier failed');
      throw new RpcError(ErrorCode.Unauthorized, 'token could not be verified');
    }
  }

  /** Start listening: a port, "host:port", a multiaddr, or nothing (127.0.0.1, a free port). */
  async listen(addr: string | number | { host: string; port: number } = 0): Promise<{ host: string; port: number }> {
    const { host, port } = typeof addr === 'object' ? addr : parseListenAddress(addr);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`cannot listen on ${host}:${port}: ${err.message}`));
      this.http.once('error', onError);
      this.http.listen(port, host, () => {
        this.http.off('error', onError);
        resolve();
      });
    });
    const a = this.address();
    log.debug({ host: a.host, port: a.port }, 'rpc server listening');
    return a;
  }

  /** Where the server listens (after listen()). */
  address(): { host: string; port: number } {
    const a = this.http.address() as AddressInfo | null;
    if (!a || typeof a !== 'object') throw new Error('server is not listening');
    return { host: a.address, port: a.port };
  }

  /** Stop: cancels running calls, ends channels, closes connections. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const ac of this.httpCalls) ac.abort();
    for (const c of this.conns) c.close(1001, 'server shutting down');
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    this.wss.close();
  }

  // -- HTTP ------------------------------------------------------------------------------------------------

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (this.paths.has(path)) return this.onHttpRpc(req, res);
    const method = (req.method ?? 'GET').toUpperCase();
    for (const r of this.routes) {
      if (r.method !== '*' && r.method !== method) continue;
      if (r.prefix ? path.startsWith(r.path) : path === r.path) return r.handler(req, res);
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end(`not found: ${path}\n`);
  }

  private sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}) {
    const text = typeof body === 'string' ? body : toJson(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...extraHeaders,
    });
    res.end(text);
  }

  private async onHttpRpc(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.writeHead(405, { Allow: 'POST', 'Content-Type': 'text/plain' });
      res.end('JSON-RPC: use POST, or a WebSocket upgrade\n');
      return;
    }
    let caller: Caller;
    try {
      caller = await this.authenticate(req);
    } catch (err) {
      const e = err instanceof RpcError ? err : new RpcError(ErrorCode.Unauthorized, 'unauthorized');
      log.warn({ remote: req.socket.remoteAddress, reason: e.message }, 'rpc request refused');
      req.resume();
      this.sendJson(res, 401, errorResponse(null, e.toJSON()));
      return;
    }
    const body = await readBody(req, this.maxBody);
    if (body === undefined) {
      // Drain the rest so the client can read our answer, then drop the connection.
      this.sendJson(
        res,
        413,
        errorResponse(null, {
          code: ErrorCode.InvalidRequest,
          message: `request body larger than the ${this.maxBody}-byte limit`,
        }),
        { Connection: 'close' },
      );
      return;
    }
    const ac = new AbortController();
    this.httpCalls.add(ac);
    res.on('close', () => {
      if (!res.writableFinished) ac.abort();
      this.httpCalls.delete(ac);
    });
    const session: Session = {
      ...caller,
      transport: 'http',
      remoteAddress: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
      headers: req.headers,
    };
    const out = await this.handleText(body, session, undefined, ac.signal);
    if (out.text === undefined) {
      res.writeHead(204);
      res.end();
      return;
    }
    this.sendJson(res, out.status, out.text);
  }

  // -- WebSocket -------------------------------------------------------------------------------------------

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (!this.paths.has(path) || this.closing) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    let caller: Caller;
    try {
      caller = await this.authenticate(req);
    } catch (err) {
      const e = err instanceof RpcError ? err : new RpcError(ErrorCode.Unauthorized, 'unauthorized');
      log.warn({ remote: req.socket.remoteAddress, reason: e.message }, 'websocket refused');
      const text = JSON.stringify(errorResponse(null, e.toJSON()));
      socket.end(
        `HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nConnection: close\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session: Session = {
        ...caller,
        transport: 'ws',
        remoteAddress: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        headers: req.headers,
      };
      const conn = new WsConn(this.nextConnId++, ws, session, this);
      this.conns.add(conn);
      conn.onClose(() => this.conns.delete(conn));
      log.debug({ conn: conn.id, remote: session.remoteAddress }, 'websocket connected');
    });
  }

  // -- dispatch --------------------------------------------------------------------------------------------

  /**
   * One HTTP body or WebSocket message: a request or a batch. Returns the text to send back (if any), the
   * HTTP status it deserves, and `after`, to run once the text is written (it starts channel values, which
   * must follow the response that carries their channel id).
   */
  async handleText(
    text: string,
    session: Session,
    conn: WsConn | undefined,
    signal: AbortSignal,
  ): Promise<{ text?: string; status: number; after?: () => void }> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      return parseFailure(err);
    }
    return this.handleMessage(msg, session, conn, signal);
  }

  /** Same as handleText, for an already parsed message. */
  async handleMessage(
    msg: unknown,
    session: Session,
    conn: WsConn | undefined,
    signal: AbortSignal,
  ): Promise<{ text?: string; status: number; after?: () => void }> {
    if (Array.isArray(msg)) {
      if (msg.length === 0) {
        const error = { code: ErrorCode.InvalidRequest, message: 'invalid request: empty batch' };
        return { text: toJson(errorResponse(null, error)), status: 400 };
      }
      const outcomes = await Promise.all(msg.map((m) => this.handleOne(m, session, conn, signal)));
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
    const o = await this.handleOne(msg, session, conn, signal);
    return { ...o, status: httpStatusFor(o.errorCode) };
  }

  private async handleOne(
    msg: unknown,
    session: Session,
    conn: WsConn | undefined,
    signal: AbortSignal,
  ): Promise<{ text?: string; errorCode?: number; after?: () => void }> {
    const req = parseRequest(msg);
    if ('error' in req) return { text: toJson(errorResponse(req.id, req.error)), errorCode: req.error.code };
    const o = await this.invoke(req, session, conn, signal);
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

  private async invoke(req: Request, session: Session, conn: WsConn | undefined, outer: AbortSignal): Promise<Outcome> {
    const { id, method } = req;
    const reg = this.methods.get(method);
    if (!reg) {
      return {
        response: errorResponse(id, { code: ErrorCode.MethodNotFound, message: `method '${method}' not found` }),
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
      log.warn({ method, remote: session.remoteAddress, need: spec.perm }, 'permission denied');
      return {
        response: errorResponse(id, {
          code: ErrorCode.App,
          message: `missing permission to invoke '${method}' (need '${spec.perm}')`,
        }),
      };
    }
    if (req.params.length !== spec.arity) {
      return {
        response: errorResponse(id, {
          code: ErrorCode.InvalidParams,
          message: `wrong param count (method '${method}'): ${req.params.length} != ${spec.arity}`,
        }),
      };
    }

    const ac = new AbortController();
    const onOuterAbort = () => ac.abort(outer.reason);
    if (outer.aborted) ac.abort(outer.reason);
    else outer.addEventListener('abort', onOuterAbort, { once: true });
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
              .finally(() => outer.removeEventListener('abort', onOuterAbort));
          },
        };
      }
      done();
      return { response: { jsonrpc: '2.0', id, result: result === undefined ? null : result } };
    } catch (err) {
      const { error, internal } = toErrorObject(err, method);
      if (internal) {
        log.error(
          { method, err: err instanceof Error ? (err.stack ?? err.message) : String(err) },
          'rpc method failed',
        );
      } else {
        log.warn({ method, code: error.code, err: error.message }, 'error in rpc call');
      }
      done(error);
      return { response: errorResponse(id, error) };
    } finally {
      if (!keep) {
        outer.removeEventListener('abort', onOuterAbort);
        if (conn && conn.handling.get(key) === ac) conn.handling.delete(key);
      }
    }
  }
}

function parseFailure(err: unknown): { text: string; status: number } {
  const error = { code: ErrorCode.ParseError, message: `parse error: ${(err as Error).message}` };
  return { text: toJson(errorResponse(null, error)), status: 400 };
}

function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function'
  );
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
  if (typeof rawId === 'string' || typeof rawId === 'number') id = rawId;
  else if (rawId !== undefined && rawId !== null) return invalid(null, 'id must be a string, number or null');
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

/** Read a body up to `limit` bytes; undefined when it is larger (the rest is drained, not kept). */
function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      req.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      if (over) return;
      size += c.length;
      if (size > limit) {
        over = true;
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!over) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** One server-side WebSocket connection. */
class WsConn implements Connection {
  readonly handling = new Map<string, AbortController>();
  nextChannelId = 1;
  private alive = true;
  private closeHooks: (() => void)[] = [];
  private readonly signalSource = new AbortController();
  private isClosed = false;

  constructor(
    readonly id: number,
    private readonly ws: WebSocket,
    private readonly session: Session,
    private readonly server: RpcServer,
  ) {
    // every in-flight call on this connection listens for its close
    setMaxListeners(0, this.signalSource.signal);
    ws.on('message', (data: RawData) => this.onMessage(data));
    ws.on('pong', () => {
      this.alive = true;
    });
    ws.on('close', (code: number, reason: Buffer) => {
      log.debug({ conn: id, code, reason: reason.toString() }, 'websocket closed');
      this.markClosed();
    });
    ws.on('error', (err: Error) => {
      // oversize messages land here (ws closes with 1009); the close handler cleans up
      log.warn({ conn: id, err: err.message }, 'websocket error');
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
        const ac = this.handling.get(idKey(p[0] as Id));
        if (ac) ac.abort(new Error('cancelled by client'));
        return;
      }
      if (f.method === undefined && ('result' in f || 'error' in f)) return;
    }
    this.server
      .handleMessage(msg, this.session, this, this.signalSource.signal)
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
