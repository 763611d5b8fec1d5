/**
 * JSON-RPC error objects as go-jsonrpc puts them on the wire: {code, message, data?}.
 * Application errors use code 1 (go-jsonrpc's default); services may pick their own codes
 * (damocles uses 11001 for "sector state not found"), and the code travels to the client unchanged.
 */

/** Codes used by this layer. Services are free to use any other integer for their own errors. */
export const ErrorCode = {
  /** Body is not valid JSON (JSON-RPC 2.0). */
  ParseError: -32700,
  /** Valid JSON but not a JSON-RPC request, or a body over the size limit. */
  InvalidRequest: -32600,
  /** No such method (or a channel method called over HTTP). */
  MethodNotFound: -32601,
  /** Wrong number of positional params, or params not an array. */
  InvalidParams: -32602,
  /** Unexpected failure inside the server; details are in the server log only. */
  Internal: -32603,
  /** Application error (go-jsonrpc's default code for an error it has no registered type for). */
  App: 1,
  /** The token is missing, malformed, expired or signed with another secret (sent with HTTP 401). */
  Unauthorized: 401,
  /** The caller's token lacks the method's permission (go-jsonrpc sends code 1; a Go client reads it as a plain error). */
  MissingPermission: 403,
  /** A server limit refused the request: batch length, calls in flight, message rate, connections. */
  LimitExceeded: -32005,
  /** Client side: the request did not complete in time. */
  Timeout: -32000,
  /** Client side: the connection failed or was lost (go-jsonrpc's RPCConnectionError code). */
  Connection: -1111111,
} as const;

/** An error that crosses the wire: its code, message and optional data reach the caller as they are. */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcError';
  }

  /** The JSON-RPC error object. */
  toJSON(): RpcErrorObject {
    const o: RpcErrorObject = { code: this.code, message: this.message };
    if (this.data !== undefined) o.data = this.data;
    return o;
  }
}

/**
 * Error classes by code, as go-jsonrpc's `Errors.Register` (Lotus api/api_errors.go): the server sends the code
 * and the message; the client rebuilds the registered class, so callers branch on `instanceof`, never on text.
 */
type ErrorClass = new (message: string, data?: unknown) => RpcError;
const registry = new Map<number, ErrorClass>();

/** Register the class a client builds for `code` (once per code; the same class again is a no-op). */
export function registerRpcError(code: number, cls: ErrorClass): void {
  const prev = registry.get(code);
  if (prev && prev !== cls) throw new Error(`RPC error code ${code} is already registered to ${prev.name}`);
  registry.set(code, cls);
}

/** Valid JSON, but not a JSON-RPC request (or a body over the size limit). */
export class InvalidRequestError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.InvalidRequest, message, data);
    this.name = 'InvalidRequestError';
  }
}

/** No such method, or a channel method called over HTTP. */
export class MethodNotFoundError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.MethodNotFound, message, data);
    this.name = 'MethodNotFoundError';
  }
}

/** An argument does not match the method's declared type (or the count is wrong); the message names it. */
export class InvalidParamsError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.InvalidParams, message, data);
    this.name = 'InvalidParamsError';
  }
}

/** The server failed unexpectedly; the detail is in its log only. */
export class InternalRpcError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.Internal, message, data);
    this.name = 'InternalRpcError';
  }
}

/** The token is missing, malformed, expired or from another secret. */
export class UnauthorizedError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.Unauthorized, message, data);
    this.name = 'UnauthorizedError';
  }
}

/** The token is valid but lacks the method's permission. */
export class MissingPermissionError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.MissingPermission, message, data);
    this.name = 'MissingPermissionError';
  }
}

/** A server limit refused the request (batch length, calls in flight, message rate, connections). */
export class LimitExceededError extends RpcError {
  constructor(message: string, data?: unknown) {
    super(ErrorCode.LimitExceeded, message, data);
    this.name = 'LimitExceededError';
  }
}

registerRpcError(ErrorCode.InvalidRequest, InvalidRequestError);
registerRpcError(ErrorCode.MethodNotFound, MethodNotFoundError);
registerRpcError(ErrorCode.InvalidParams, InvalidParamsError);
registerRpcError(ErrorCode.Internal, InternalRpcError);
registerRpcError(ErrorCode.Unauthorized, UnauthorizedError);
registerRpcError(ErrorCode.MissingPermission, MissingPermissionError);
registerRpcError(ErrorCode.LimitExceeded, LimitExceededError);

/** At most `max` characters of something a caller sent, for an error message (never the whole input). */
export function quote(s: string, max = 64): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s);
}

/** Client side: the call could not be sent or its answer was lost with the connection. */
export class RpcConnectionError extends RpcError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.Connection, message);
    this.name = 'RpcConnectionError';
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** Client side: no answer within the timeout (the server was asked to cancel the call). */
export class RpcTimeoutError extends RpcError {
  constructor(method: string, ms: number) {
    super(ErrorCode.Timeout, `${method}: no answer within ${ms} ms`);
    this.name = 'RpcTimeoutError';
  }
}

/** The JSON shape of an error. */
export interface RpcErrorObject {
  code: number;
  message: string;
  data?: unknown;
}

/** Throw this from a method implementation to answer with a message (and optionally a code) of your choosing. */
export function rpcError(message: string, code: number = ErrorCode.App, data?: unknown): RpcError {
  return new RpcError(code, message, data);
}

// Errors that mean a bug or an operating-system failure: their text stays in the server log.
const INTERNAL_ERROR_TYPES: readonly (new (...args: never[]) => Error)[] = [
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
];

/**
 * How a thrown value is shown to the caller.
 * - RpcError, or any Error with an integer `code`: code and message as they are.
 * - Other Errors (plain `Error` and service subclasses): code 1 and the message, as go-jsonrpc does.
 * - Programming errors (TypeError, RangeError, …), Node system errors (string `code` such as ENOENT) and
 *   non-Error values: a generic message; the detail is logged by the server, never sent.
 * Returns `internal: true` for the last group so the server logs it loudly.
 */
export function toErrorObject(err: unknown, method: string): { error: RpcErrorObject; internal: boolean } {
  if (err instanceof RpcError) return { error: err.toJSON(), internal: false };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'number' && Number.isInteger(code)) {
      const data = (err as { data?: unknown }).data;
      const error: RpcErrorObject = { code, message: err.message };
      if (data !== undefined) error.data = data;
      return { error, internal: false };
    }
    const systemError = typeof code === 'string';
    if (!systemError && !INTERNAL_ERROR_TYPES.some((t) => err instanceof t)) {
      return { error: { code: ErrorCode.App, message: err.message }, internal: false };
    }
  }
  return {
    error: { code: ErrorCode.Internal, message: `internal error while handling ${method}; see the server log` },
    internal: true,
  };
}

/** Rebuild an RpcError from a wire error object (client side). */
export function fromErrorObject(o: unknown): RpcError {
  if (o && typeof o === 'object') {
    const { code, message, data } = o as { code?: unknown; message?: unknown; data?: unknown };
    if (typeof code === 'number') {
      const text = typeof message === 'string' ? message : `error ${code}`;
      const cls = registry.get(code);
      return cls ? new cls(text, data) : new RpcError(code, text, data);
    }
  }
  const shown = JSON.stringify(o) ?? String(o);
  return new RpcError(ErrorCode.Internal, `malformed error object in response: ${quote(shown, 200)}`);
}
