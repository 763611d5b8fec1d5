/**
 * Typed errors of the APIs, registered by code as Lotus' api/api_errors.go registers its own with go-jsonrpc:
 * the server sends `code` and a message; the client rebuilds the class registered for that code, so callers
 * branch on `instanceof` (or the code), never on message text. Protocol errors (invalid params, missing
 * permission, limits…) are defined by the RPC layer and re-exported here; docs/spec/rpc.md lists every code.
 */
import { ErrorCode, RpcError, registerRpcError } from '../rpc/index.js';

export {
  InternalRpcError,
  InvalidParamsError,
  InvalidRequestError,
  LimitExceededError,
  MethodNotFoundError,
  MissingPermissionError,
  RpcConnectionError,
  RpcError,
  RpcTimeoutError,
  UnauthorizedError,
} from '../rpc/index.js';

/** Codes of the domain errors (Lotus counts its own from go-jsonrpc's FirstUserCode, 2). */
export const ApiErrorCode = {
  ...ErrorCode,
  /** Lotus EOutOfGas: a call (StateCall, gas estimation) ran out of gas. */
  OutOfGas: 2,
  /** Lotus EActorNotFound: no actor at that address in the state tree. */
  ActorNotFound: 3,
  /** damocles core/api_error_codes.go: the manager has no (online) state for the sector; the worker aborts it. */
  SectorStateNotFound: 11001,
  /** This project's own (from 12001): the manager refuses the persist stores a worker offers (a config mismatch). */
  PersistStoresRefused: 12001,
} as const;

/** Lotus ErrOutOfGas. */
export class OutOfGasError extends RpcError {
  constructor(message = 'call ran out of gas', data?: unknown) {
    super(ApiErrorCode.OutOfGas, message, data);
    this.name = 'OutOfGasError';
  }
}

/** Lotus ErrActorNotFound. */
export class ActorNotFoundError extends RpcError {
  constructor(message = 'actor not found', data?: unknown) {
    super(ApiErrorCode.ActorNotFound, message, data);
    this.name = 'ActorNotFoundError';
  }
}

/** The manager has no state for the sector (damocles 11001): the worker gives the sector up. */
export class SectorStateNotFoundError extends RpcError {
  constructor(message = 'sector state not found', data?: unknown) {
    super(ApiErrorCode.SectorStateNotFound, message, data);
    this.name = 'SectorStateNotFoundError';
  }
}

/**
 * The manager refuses the persist stores a worker offers (StoreReserveSpace): none matches a configured store, or
 * those that match are read-only. Only an operator fixes it, so the worker asks again rather than aborting; the
 * message names the config keys on both sides.
 */
export class PersistStoresRefusedError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ApiErrorCode.PersistStoresRefused, message, data);
    this.name = 'PersistStoresRefusedError';
  }
}

registerRpcError(ApiErrorCode.OutOfGas, OutOfGasError);
registerRpcError(ApiErrorCode.ActorNotFound, ActorNotFoundError);
registerRpcError(ApiErrorCode.SectorStateNotFound, SectorStateNotFoundError);
registerRpcError(ApiErrorCode.PersistStoresRefused, PersistStoresRefusedError);
