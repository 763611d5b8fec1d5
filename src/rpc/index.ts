/**
 * JSON-RPC for venus-cluster: server and client (HTTP and WebSocket) with go-jsonrpc's wire conventions,
 * venus-auth/Lotus JWT auth, and typed API declarations. This folder moves JSON values and knows nothing
 * of Filecoin types; see README.md here for usage.
 */

export {
  type ApiInfo,
  type Endpoint,
  endpointToUrl,
  formatApiInfo,
  multiaddrToUrl,
  parseApiInfo,
  parseListenAddress,
  parseMultiaddr,
  type Scheme,
  urlToMultiaddr,
} from './address.js';
export {
  type AnySpec,
  type ApiClient,
  type ApiDecl,
  type ApiImpl,
  type CallContext,
  type ChannelSpec,
  type ClientOf,
  type Connection,
  channel,
  defineApi,
  type ImplOf,
  type MethodOptions,
  type MethodSpec,
  type Methods,
  method,
  type Subscription,
  type SubscriptionEnd,
  type TokenClaims,
  wireName,
} from './api.js';
export {
  type Authenticator,
  anyAuth,
  bearerToken,
  claimsFromPayload,
  createToken,
  generateSecret,
  hasPerm,
  highestPerm,
  isPerm,
  JWT_SECRET_KEY_TYPE,
  JWT_SECRET_NAME,
  keystoreFileName,
  loadOrInitRepoAuth,
  localAuth,
  PERMS,
  type Perm,
  permsFor,
  type RepoAuth,
  type TokenOptions,
  type VerifiedToken,
} from './auth.js';
export { PushChannel } from './channel.js';
export {
  bindApi,
  type CallOptions,
  type ClientHooks,
  connect,
  createClient,
  type ReconnectOptions,
  type RpcClient,
  type RpcClientOptions,
} from './client.js';
export {
  ErrorCode,
  fromErrorObject,
  RpcConnectionError,
  RpcError,
  type RpcErrorObject,
  RpcTimeoutError,
  rpcError,
  toErrorObject,
} from './errors.js';
export { toJson } from './json.js';
export { type Caller, type RouteHandler, type RpcHooks, RpcServer, type RpcServerOptions } from './server.js';
export * as wire from './wire.js';
