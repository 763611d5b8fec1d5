/**
 * JSON-RPC 2.0 server with go-jsonrpc's wire behaviour: HTTP POST and WebSocket on the same paths
 * (/rpc/v0 and /rpc/v1 by default), `Namespace.Method` names, positional params with an exact count,
 * channels over WebSocket (xrpc.ch.val / xrpc.ch.close / xrpc.cancel), bearer-token auth checked per method.
 * Other HTTP routes (/metrics, /healthcheck, a dashboard) can be mounted on the same server with `route()`.
 * Every caller is bounded (limits.ts) and browsers are kept out (guard.ts); docs/spec/rpc.md has the rules.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { logger } from '../common/log.js';
import { parseListenAddress } from './address.js';
import type { ApiDecl, ApiImpl } from './api.js';
import { type Authenticator, bearerToken, localAuth, PERMS, type Perm, permsFor } from './auth.js';
import { type Caller, Dispatcher, errorResponse, type RpcHooks, type Session } from './dispatch.js';
import { ErrorCode, RpcError, type RpcErrorObject } from './errors.js';
import { type GuardOptions, hasQueryToken, RequestGuard, redactUrl } from './guard.js';
import { toJson } from './json.js';
import { CallScope, DEFAULT_ROUTE_MAX_BODY, InFlight, type RpcLimits, resolveLimits } from './limits.js';
import { WsConn } from './ws.js';

export type { Caller, RpcHooks } from './dispatch.js';

const log = logger('rpc');

export interface RpcServerOptions extends Partial<RpcLimits>, GuardOptions {
  /** Paths that serve JSON-RPC (POST and WebSocket). Default ['/rpc/v0', '/rpc/v1']. */
  paths?: string[];
  /**
   * Token verification. A secret (Uint8Array) means `localAuth(secret)`. null/undefined: no auth, every
   * caller has every permission (an operator's choice, e.g. damocles' manager API).
   */
  auth?: Authenticator | Uint8Array | null;
  /** With auth on, the permission of a caller that sends no token (Lotus grants 'read'). Default: refused. */
  anonymousPerm?: Perm;
  /** WebSocket keepalive: ping every this many ms, drop peers that missed a pong. Default 30 s; 0 disables. */
  pingIntervalMs?: number;
  hooks?: RpcHooks;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RouteOptions {
  /**
   * Accept a token in `?token=` (only for what a browser cannot send a header with: a page link, EventSource).
   * Without it a request whose URL carries a token is refused, so tokens stay out of URLs and logs.
   */
  queryToken?: boolean;
  /** Largest declared body (Content-Length) the route accepts. Default 1 MiB. */
  maxBodyBytes?: number;
}

interface Route {
  method: string;
  path: string;
  prefix: boolean;
  handler: RouteHandler;
  opts: RouteOptions;
}

/** listen() failed; `code` is the system's (EADDRINUSE, EACCES, EADDRNOTAVAIL, ENOTFOUND…), to branch on. */
export class ListenError extends Error {
  readonly code: string | undefined;
  constructor(host: string, port: number, cause: Error) {
    super(`cannot listen on ${host}:${port}: ${cause.message}`, { cause });
    this.code = (cause as NodeJS.ErrnoException).code;
    this.name = 'ListenError';
  }
}

export class RpcServer {
  /** The node:http server; listen() starts it, or attach it yourself. */
  readonly http: Server;
  private readonly dispatcher: Dispatcher;
  private readonly routes: Route[] = [];
  private readonly queryTokenPaths = new Set<string>();
  private readonly paths: Set<string>;
  private readonly auth: Authenticator | null;
  private readonly anonymousPerm: Perm | undefined;
  private readonly limits: RpcLimits;
  private readonly guard: RequestGuard;
  private readonly wss: WebSocketServer;
  private readonly conns = new Set<WsConn>();
  private readonly sockets = new Set<Socket>();
  /** Calls in flight per HTTP keep-alive socket (Node runs pipelined requests of one socket concurrently). */
  private readonly socketCalls = new WeakMap<Socket, InFlight>();
  private readonly httpCalls = new Set<AbortController>();
  private pingTimer: NodeJS.Timeout | undefined;
  private nextConnId = 1;
  private closing = false;

  constructor(opts: RpcServerOptions = {}) {
    this.paths = new Set(opts.paths ?? ['/rpc/v0', '/rpc/v1']);
    this.auth = opts.auth instanceof Uint8Array ? localAuth(opts.auth) : (opts.auth ?? null);
    this.anonymousPerm = opts.anonymousPerm;
    this.limits = resolveLimits(opts);
    this.guard = new RequestGuard(opts);
    this.dispatcher = new Dispatcher(opts.hooks ?? {}, this.limits.maxBatch);
    this.http = createServer((req, res) => {
      this.onHttp(req, res).catch((err) => {
        log.error({ err: String(err?.stack ?? err), url: redactUrl(req.url) }, 'http handler failed');
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end('internal error\n');
      });
    });
    this.http.on('connection', (socket: Socket) => this.onConnection(socket));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.limits.maxBodyBytes, perMessageDeflate: false });
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
    const methods = this.dispatcher.methods;
    for (const [name, spec] of Object.entries(api.methods)) {
      const full = `${api.namespace}.${name}`;
      if (methods.has(full)) throw new Error(`${full} is registered twice`);
      const fn = (impl as Record<string, unknown>)[name];
      if (typeof fn !== 'function') throw new Error(`implementation of ${api.namespace} lacks method ${name}`);
      methods.set(full, { spec, fn: (fn as (...a: unknown[]) => unknown).bind(impl) });
    }
    return this;
  }

  /** Names of the registered methods ("Filecoin.WalletList", …). */
  methodNames(): string[] {
    return [...this.dispatcher.methods.keys()].sort();
  }

  /** The limits in force (options merged over the defaults). */
  get limitsInForce(): Readonly<RpcLimits> {
    return this.limits;
  }

  /** Open TCP connections (HTTP and WebSocket). */
  get connectionCount(): number {
    return this.sockets.size;
  }

  /**
   * Mount another HTTP handler: method 'GET', 'POST', … or '*'; a path ending in '*' matches by prefix
   * ('/piecestore/*'). RPC paths take precedence. A throwing handler gets a plain 500. The Host check applies
   * to every route, the Origin check to every POST; `?token=` only where `opts.queryToken` allows it.
   */
  route(method: string, path: string, handler: RouteHandler, opts: RouteOptions = {}): this {
    const prefix = path.endsWith('*');
    this.routes.push({
      method: method.toUpperCase(),
      path: prefix ? path.slice(0, -1) : path,
      prefix,
      handler,
      opts,
    });
    return this;
  }

  /**
   * Let routes at these paths (registered before or after) take a token in `?token=`, as
   * `route(…, { queryToken: true })` does: for pages and event streams a browser opens from a link.
   */
  allowQueryToken(...paths: string[]): this {
    for (const p of paths) this.queryTokenPaths.add(p);
    return this;
  }

  /**
   * Check a request's token (for routes that need auth). Rejects with RpcError 401 when refused. The `?token=`
   * query is read only when `opts.queryToken` (routes registered with that option); the header wins.
   */
  async authenticate(req: IncomingMessage, opts: { queryToken?: boolean } = {}): Promise<Caller> {
    if (!this.auth) return { perms: PERMS };
    const q = opts.queryToken ? new URL(req.url ?? '/', 'http://localhost').searchParams.get('token') : null;
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
      const onError = (err: Error) => reject(new ListenError(host, port, err));
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

  // -- connections and request checks ----------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    if (this.sockets.size >= this.limits.maxConnections) {
      const remote = socket.remoteAddress ?? 'unknown';
      const message = `too many connections (limit ${this.limits.maxConnections}); try again later`;
      this.dispatcher.logs.log(log, 'warn', `${remote}|connections`, { remote, reason: message }, 'connection refused');
      const text = JSON.stringify(errorResponse(null, { code: ErrorCode.LimitExceeded, message }));
      socket.on('error', () => {});
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
      return;
    }
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  private inFlightOf(socket: Socket): InFlight {
    let f = this.socketCalls.get(socket);
    if (!f) {
      f = new InFlight(this.limits.maxInFlightPerConnection);
      this.socketCalls.set(socket, f);
    }
    return f;
  }

  /**
   * The checks every request passes before its token or body is read: Host, Origin (POST and upgrades), and
   * tokens in the URL. Returns the HTTP status and error to refuse with, or undefined.
   */
  private precheck(
    req: IncomingMessage,
    kind: 'rpc' | 'upgrade' | 'route',
    route?: Route,
  ): { status: number; error: RpcErrorObject } | undefined {
    const forbidden = (message: string) => ({ status: 403, error: { code: ErrorCode.InvalidRequest, message } });
    const badHost = this.guard.checkHost(req);
    if (badHost) return forbidden(badHost);
    if (kind !== 'route' || (req.method ?? 'GET').toUpperCase() !== 'GET') {
      const badOrigin = this.guard.checkOrigin(req);
      if (badOrigin) return forbidden(badOrigin);
    }
    const queryOk = kind === 'route' && (route?.opts.queryToken || this.queryTokenPaths.has(route?.path ?? ''));
    if (hasQueryToken(req.url) && !queryOk) {
      return {
        status: 401,
        error: {
          code: ErrorCode.Unauthorized,
          message:
            'tokens in the URL are not accepted here (they end up in logs): send "Authorization: Bearer <token>"',
        },
      };
    }
    return undefined;
  }

  private refuseHttp(req: IncomingMessage, res: ServerResponse, status: number, error: RpcErrorObject, kind: string) {
    const remote = req.socket.remoteAddress ?? 'unknown';
    this.dispatcher.logs.log(
      log,
      'warn',
      `${remote}|${kind}`,
      { remote, url: redactUrl(req.url), reason: error.message },
      'http request refused',
    );
    req.resume();
    this.sendJson(res, status, errorResponse(null, error), status === 413 ? { Connection: 'close' } : {});
  }

  // -- HTTP ------------------------------------------------------------------------------------------------

  private async onHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    if (this.paths.has(path)) return this.onHttpRpc(req, res);
    const method = (req.method ?? 'GET').toUpperCase();
    for (const r of this.routes) {
      if (r.method !== '*' && r.method !== method) continue;
      if (!(r.prefix ? path.startsWith(r.path) : path === r.path)) continue;
      const refused = this.precheck(req, 'route', r);
      if (refused) return this.refuseHttp(req, res, refused.status, refused.error, 'route');
      const limit = r.opts.maxBodyBytes ?? DEFAULT_ROUTE_MAX_BODY;
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) {
        const message = `request body larger than the ${limit}-byte limit`;
        return this.refuseHttp(req, res, 413, { code: ErrorCode.InvalidRequest, message }, 'body');
      }
      return r.handler(req, res);
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end(`not found: ${path.length > 200 ? `${path.slice(0, 200)}…` : path}\n`);
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
    const refused = this.precheck(req, 'rpc');
    if (refused) return this.refuseHttp(req, res, refused.status, refused.error, 'precheck');
    let caller: Caller;
    try {
      caller = await this.authenticate(req);
    } catch (err) {
      const e = err instanceof RpcError ? err : new RpcError(ErrorCode.Unauthorized, 'unauthorized');
      return this.refuseHttp(req, res, 401, e.toJSON(), 'auth');
    }
    const badType = this.guard.checkContentType(req);
    if (badType) return this.refuseHttp(req, res, 415, { code: ErrorCode.InvalidRequest, message: badType }, 'type');
    const limit = this.limits.maxBodyBytes;
    const body = await readBody(req, limit);
    if (body === undefined) {
      // the rest is drained so the client can read our answer; then the connection is dropped
      const message = `request body larger than the ${limit}-byte limit`;
      return this.refuseHttp(req, res, 413, { code: ErrorCode.InvalidRequest, message }, 'body');
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
      peer: req.socket.remoteAddress ?? 'unknown',
      headers: req.headers,
      inflight: this.inFlightOf(req.socket),
    };
    const out = await this.dispatcher.handleText(body, session, undefined, new CallScope(ac.signal));
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
    const refuse = (status: number, e: RpcErrorObject, kind: string) => {
      const remote = req.socket.remoteAddress ?? 'unknown';
      this.dispatcher.logs.log(log, 'warn', `${remote}|ws-${kind}`, { remote, reason: e.message }, 'websocket refused');
      const text = JSON.stringify(errorResponse(null, e));
      const reason = status === 401 ? 'Unauthorized' : 'Forbidden';
      socket.end(
        `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nConnection: close\r\n` +
          `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
      );
    };
    const refused = this.precheck(req, 'upgrade');
    if (refused) return refuse(refused.status, refused.error, 'precheck');
    let caller: Caller;
    try {
      caller = await this.authenticate(req);
    } catch (err) {
      const e = err instanceof RpcError ? err : new RpcError(ErrorCode.Unauthorized, 'unauthorized');
      return refuse(401, e.toJSON(), 'auth');
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const session: Session = {
        ...caller,
        transport: 'ws',
        remoteAddress: `${req.socket.remoteAddress}:${req.socket.remotePort}`,
        peer: req.socket.remoteAddress ?? 'unknown',
        headers: req.headers,
        inflight: new InFlight(this.limits.maxInFlightPerConnection),
      };
      const conn = new WsConn(this.nextConnId++, ws, session, this.dispatcher, this.limits.wsMessagesPerSecond);
      this.conns.add(conn);
      conn.onClose(() => this.conns.delete(conn));
      log.debug({ conn: conn.id, remote: session.remoteAddress }, 'websocket connected');
    });
  }
}

/** Read a body up to `limit` bytes; undefined when it is larger (the rest is drained, not kept). */
export function readBody(req: IncomingMessage, limit: number): Promise<string | undefined> {
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
