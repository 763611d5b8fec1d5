/**
 * JSON-RPC client over HTTP (one POST per call; enough for CLIs) or WebSocket (calls, channels, reconnect).
 * The scheme of the URL picks the transport (client-http.ts, client-ws.ts). Typed proxies come from API
 * declarations (see api.ts):
 *
 *   const wallet = createClient(WalletAPI, { url: 'ws://127.0.0.1:5678/rpc/v0', token });
 *   const addrs = await wallet.WalletList();
 *   await wallet.close();
 */
import type { ApiClient, ApiDecl } from './api.js';
import type { CallOptions, RpcClient, RpcClientOptions } from './client-common.js';
import { HttpClient } from './client-http.js';
import { WsClient } from './client-ws.js';
import { redactUrl } from './guard.js';

export type {
  CallOptions,
  ClientHooks,
  ReconnectOptions,
  RpcClient,
  RpcClientOptions,
} from './client-common.js';

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
