/** The HTTP transport of the RPC client: one POST per call (enough for CLIs); no channels. */
import type { Subscription } from './api.js';
import {
  authHeaders,
  type CallOptions,
  describe,
  type RpcClient,
  type RpcClientOptions,
  Timing,
} from './client-common.js';
import { ErrorCode, fromErrorObject, RpcConnectionError, RpcError, RpcTimeoutError } from './errors.js';
import { redactUrl } from './guard.js';
import { toJson } from './json.js';

export class HttpClient implements RpcClient {
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
