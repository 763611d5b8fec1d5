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
  type ParamDecl,
  type ParamSchema,
  type SchemaIssue,
  type Subscription,
  type SubscriptionEnd,
  type TokenClaims,
  wireName,
  withParams,
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
  InternalRpcError,
  InvalidParamsError,
  InvalidRequestError,
  LimitExceededError,
  MethodNotFoundError,
  MissingPermissionError,
  quote,
  RpcConnectionError,
  RpcError,
  type RpcErrorObject,
  RpcTimeoutError,
  registerRpcError,
  rpcError,
  toErrorObject,
  UnauthorizedError,
} from './errors.js';
export { type GuardOptions, hasQueryToken, redactUrl } from './guard.js';
export { toJson } from './json.js';
export { DEFAULT_LIMITS, type RpcLimits } from './limits.js';
export {
  type Caller,
  ListenError,
  type RouteHandler,
  type RouteOptions,
  type RpcHooks,
  RpcServer,
  type RpcServerOptions,
  readBody,
} from './server.js';
export * as wire from './wire.js';
