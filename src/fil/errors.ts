/**
 * Errors raised by the Filecoin primitives. Every parse or decode failure is a FilError (or a subclass
 * naming the area), with a message that says what was wrong with the input, so services can pass it on
 * to the operator or the RPC caller as is.
 */
export class FilError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FilError';
  }
}

/** A malformed or unsupported address (string or bytes). */
export class AddressError extends FilError {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

/** A malformed token amount. */
export class TokenError extends FilError {
  constructor(message: string) {
    super(message);
    this.name = 'TokenError';
  }
}

/** Malformed CBOR, a CID of the wrong kind, or a value that does not fit its CBOR field. */
export class EncodingError extends FilError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EncodingError';
  }
}

/** A malformed key, key export or signature. */
export class KeyError extends FilError {
  constructor(message: string) {
    super(message);
    this.name = 'KeyError';
  }
}

/** A malformed RLE+ bitfield. */
export class BitFieldError extends FilError {
  constructor(message: string) {
    super(message);
    this.name = 'BitFieldError';
  }
}
