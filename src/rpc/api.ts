/**
 * Typed API declarations, in the spirit of Lotus' api/ package: one declaration object per API, from which
 * both the server dispatch (`server.register(api, impl)`) and the client proxy (`createClient(api, …)`) derive.
 * Adding a method is one line:
 *
 *   export const WalletAPI = defineApi('Filecoin', {
 *     WalletList: method<[], string[]>('read'),
 *     WalletHas: method<[addr: string], boolean>('read', 1),
 *     WalletSign: method<[signer: string, toSign: string, meta: MsgMeta], Signature>('sign', 3),
 *     ChainNotify: channel<[], HeadChange[]>('read'),
 *   });
 *
 * The number after the permission is the param count; TypeScript checks it against the tuple, and the server
 * uses it to refuse calls with the wrong count (-32602), as go-jsonrpc does. `params` adds a runtime schema per
 * param (zod, or anything with the same `safeParse`), in order and named as in the tuple:
 *
 *     write: method<[sid: SectorID], R>('write', 1, { params: { sid: SectorIDSchema } }),
 *
 * The server then refuses a call whose argument does not match with -32602 "invalid params: sid.Miner must be …"
 * before the implementation runs; the implementation gets the params exactly as sent.
 */
import type { Perm } from './auth.js';

declare const types: unique symbol;

/** One problem a schema found (zod's issue shape, reduced to what the server reads). */
export interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly expected?: unknown;
}

/** A runtime schema for one param: zod schemas fit. */
export interface ParamSchema {
  safeParse(v: unknown): { success: true } | { success: false; error: { issues: readonly SchemaIssue[] } };
}

/** Per-method options. */
export interface MethodOptions {
  /** Client-side timeout for this method, overriding the client's default (0 = none). Long waits (WaitMessage) need it. */
  timeoutMs?: number;
  /** Schemas of the params by name, in order (as many as the param count), checked by the server. */
  params?: Readonly<Record<string, ParamSchema>>;
}

/** A declared param: its name (for error messages) and schema. */
export interface ParamDecl {
  readonly name: string;
  readonly schema: ParamSchema;
}

/** A request/response method taking params P and answering R. */
export interface MethodSpec<P extends unknown[], R> {
  readonly kind: 'method';
  readonly perm: Perm;
  readonly arity: number;
  readonly timeoutMs?: number;
  readonly params?: readonly ParamDecl[];
  /** Type carrier only; never set at run time. */
  readonly [types]?: { params: P; result: R };
}

/** A method that answers with a channel (WebSocket only): the client receives a stream of T. */
export interface ChannelSpec<P extends unknown[], T> {
  readonly kind: 'channel';
  readonly perm: Perm;
  readonly arity: number;
  readonly timeoutMs?: number;
  readonly params?: readonly ParamDecl[];
  readonly [types]?: { params: P; value: T };
}

export type AnySpec = MethodSpec<unknown[], unknown> | ChannelSpec<unknown[], unknown>;
export type Methods = Record<string, AnySpec>;

/** One API: a namespace ("Filecoin", "Venus", "Message", "Gateway") and its methods. */
export interface ApiDecl<M extends Methods = Methods> {
  readonly namespace: string;
  readonly methods: M;
}

type ArityArgs<P extends unknown[]> = P extends []
  ? [opts?: MethodOptions]
  : [arity: P['length'], opts?: MethodOptions];

function parseArgs(
  perm: Perm,
  args: readonly unknown[],
): { arity: number; timeoutMs?: number; params?: readonly ParamDecl[] } {
  let arity = 0;
  let opts: MethodOptions | undefined;
  if (typeof args[0] === 'number') {
    arity = args[0];
    opts = args[1] as MethodOptions | undefined;
  } else {
    opts = args[0] as MethodOptions | undefined;
  }
  if (!Number.isInteger(arity) || arity < 0)
    throw new Error(`param count must be a non-negative integer, not ${arity}`);
  if (!['read', 'write', 'sign', 'admin'].includes(perm)) throw new Error(`unknown permission "${perm}"`);
  const out: { arity: number; timeoutMs?: number; params?: readonly ParamDecl[] } = { arity };
  if (opts?.timeoutMs !== undefined) out.timeoutMs = opts.timeoutMs;
  if (opts?.params !== undefined) {
    const params = Object.entries(opts.params).map(([name, schema]) => ({ name, schema }));
    if (params.length !== arity) throw new Error(`${params.length} param schemas for a param count of ${arity}`);
    out.params = Object.freeze(params);
  }
  return out;
}

/** Declare a request/response method: `method<[addr: string], boolean>('read', 1)`. */
export function method<P extends unknown[], R>(perm: Perm, ...args: ArityArgs<P>): MethodSpec<P, R> {
  return { kind: 'method', perm, ...parseArgs(perm, args) };
}

/** Declare a channel method (ChainNotify, ListenWalletEvent): `channel<[], HeadChange[]>('read')`. */
export function channel<P extends unknown[], T>(perm: Perm, ...args: ArityArgs<P>): ChannelSpec<P, T> {
  return { kind: 'channel', perm, ...parseArgs(perm, args) };
}

/**
 * Attach param schemas to already declared methods, by method name (for APIs whose declarations are long
 * enough that the schemas live in their own file): `withParams(SealerMethods, { WaitSeed: { sid, proofType } })`.
 */
export function withParams<M extends Methods>(
  methods: M,
  params: { readonly [K in keyof M]?: Readonly<Record<string, ParamSchema>> },
): M {
  const out: Record<string, AnySpec> = { ...methods };
  for (const [name, schemas] of Object.entries(params) as [string, Readonly<Record<string, ParamSchema>>][]) {
    const spec = methods[name];
    if (!spec) throw new Error(`param schemas for an undeclared method ${name}`);
    const decl = Object.entries(schemas).map(([n, schema]) => ({ name: n, schema }));
    if (decl.length !== spec.arity) {
      throw new Error(`${name}: ${decl.length} param schemas for a param count of ${spec.arity}`);
    }
    out[name] = { ...spec, params: Object.freeze(decl) };
  }
  return out as M;
}

const NAME = /^[A-Z][A-Za-z0-9_]*$/;

/**
 * Group methods under a namespace. Method names are PascalCase as in Lotus (which also keeps them clear of the
 * client's own `close`/`rpc` members). Spread shared method groups to compose APIs:
 * `defineApi('Filecoin', { ...CommonMethods, ...WalletMethods })`.
 */
export function defineApi<M extends Methods>(namespace: string, methods: M): ApiDecl<M> {
  if (!NAME.test(namespace)) throw new Error(`API namespace "${namespace}" must be PascalCase (e.g. "Filecoin")`);
  for (const name of Object.keys(methods)) {
    if (!NAME.test(name)) throw new Error(`method name "${namespace}.${name}" must be PascalCase`);
  }
  return Object.freeze({ namespace, methods: Object.freeze({ ...methods }) });
}

/** What the server hands every method implementation as its last argument. */
export interface CallContext {
  /** Full method name, e.g. "Filecoin.WalletSign". */
  readonly method: string;
  /** The caller's permissions (all four when the server has no auth). */
  readonly perms: readonly Perm[];
  /** The verified token's claims; undefined without a token (no auth, or anonymous access). */
  readonly token?: TokenClaims;
  /** Aborted when the client cancels (xrpc.cancel), the connection closes, or the server stops. */
  readonly signal: AbortSignal;
  readonly transport: 'http' | 'ws';
  /** The WebSocket connection the call came on; undefined over HTTP. */
  readonly connection?: Connection;
  /** Peer address as "ip:port". */
  readonly remoteAddress: string;
  /** Request headers (of the upgrade request for WebSocket calls). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Claims of a verified token (venus-auth style; Lotus `Allow` tokens get name "" and their highest perm). */
export interface TokenClaims {
  readonly name: string;
  readonly perm: Perm;
  readonly ext: string;
}

/** A server-side WebSocket connection, for services that track who is connected (the gateway's wallets). */
export interface Connection {
  readonly id: number;
  readonly remoteAddress: string;
  readonly closed: boolean;
  /** Called once when the connection closes (at once if it already has). */
  onClose(fn: () => void): void;
}

type Awaitable<T> = T | Promise<T>;

/** The implementation a server expects for one spec: the params, then the call context. Sync or async. */
export type ImplOf<S> =
  S extends MethodSpec<infer P, infer R>
    ? (...args: [...P, CallContext]) => Awaitable<R>
    : S extends ChannelSpec<infer P, infer T>
      ? (...args: [...P, CallContext]) => Awaitable<AsyncIterable<T>>
      : never;

/** What `server.register(api, impl)` accepts: one function per declared method (extra members are fine). */
export type ApiImpl<A extends ApiDecl> = { [K in keyof A['methods']]: ImplOf<A['methods'][K]> };

/** A channel as the client sees it: an async iterator of values, plus cancel. */
export interface Subscription<T> extends AsyncIterableIterator<T> {
  /** Channel id the server gave (per connection). */
  readonly id: number;
  /** Ask the server to stop (xrpc.cancel); iteration ends at once. Same as breaking out of `for await`. */
  cancel(): void;
  /** Why iteration ended: the server closed the channel, the caller cancelled, or the connection dropped. */
  readonly ended: Promise<SubscriptionEnd>;
}
export type SubscriptionEnd = 'closed' | 'cancelled' | 'disconnected';

/** The client-side function for one spec. */
export type ClientOf<S> =
  S extends MethodSpec<infer P, infer R>
    ? (...args: P) => Promise<R>
    : S extends ChannelSpec<infer P, infer T>
      ? (...args: P) => Promise<Subscription<T>>
      : never;

/** The typed proxy for an API: one async function per method. */
export type ApiClient<A extends ApiDecl> = { readonly [K in keyof A['methods']]: ClientOf<A['methods'][K]> };

/** Full wire name of a method: "Namespace.Method". */
export function wireName(api: ApiDecl, name: string): string {
  return `${api.namespace}.${name}`;
}
