/**
 * DAG-CBOR (the IPLD codec Filecoin state and messages use) and Filecoin's big integer byte form.
 *
 * Filecoin structs are CBOR arrays (tuples) with fields in declaration order; addresses and big integers
 * are byte strings; CIDs are tag 42. dag-cbor refuses integers beyond 64 bits, which is why TokenAmount and
 * other big.Int fields go through encodeBigInt/decodeBigInt. The expect* helpers read decoded tuples with
 * errors naming the field.
 */
import * as dagCbor from '@ipld/dag-cbor';
import { CID } from 'multiformats/cid';
import { EncodingError } from './errors.js';

/** Multicodec code of dag-cbor (0x71). */
export const DAG_CBOR_CODE = 0x71;

/** Encodes a value as DAG-CBOR (canonical: minimal integers, sorted map keys). CIDs become tag 42. */
export function encodeCbor(value: unknown): Uint8Array {
  try {
    return dagCbor.encode(value);
  } catch (e) {
    throw new EncodingError(`CBOR encode: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Decodes DAG-CBOR strictly (no trailing bytes, minimal integers, no undefined/indefinite lengths).
 * Integers beyond 2^53 come back as bigint, CIDs as multiformats CID objects, byte strings as Uint8Array.
 */
export function decodeCbor<T = unknown>(bytes: Uint8Array): T {
  try {
    return dagCbor.decode<T>(bytes);
  } catch (e) {
    throw new EncodingError(`CBOR decode: ${(e as Error).message}`, { cause: e });
  }
}

/** go-state-types BigIntMaxSerializedLen: longer big.Int byte strings are refused. */
export const BIGINT_MAX_SERIALIZED_LENGTH = 128;

/**
 * Filecoin big.Int bytes: empty for zero, else a sign byte (0x00 positive, 0x01 negative) followed by the
 * big-endian magnitude (100000 → 00 01 86 a0).
 */
export function encodeBigInt(v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0);
  const neg = v < 0n;
  let hex = (neg ? -v : v).toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const out = new Uint8Array(1 + hex.length / 2);
  out[0] = neg ? 1 : 0;
  out.set(Buffer.from(hex, 'hex'), 1);
  if (out.length > BIGINT_MAX_SERIALIZED_LENGTH)
    throw new EncodingError(`big integer too large (${out.length} bytes serialized)`);
  return out;
}

/** Inverse of encodeBigInt, as go-state-types big.FromBytes (accepts leading zero bytes, as Go does). */
export function decodeBigInt(bytes: Uint8Array, what = 'big integer'): bigint {
  if (!(bytes instanceof Uint8Array)) throw new EncodingError(`${what}: expected a CBOR byte string`);
  if (bytes.length === 0) return 0n;
  if (bytes.length > BIGINT_MAX_SERIALIZED_LENGTH)
    throw new EncodingError(`${what}: ${bytes.length} bytes, max ${BIGINT_MAX_SERIALIZED_LENGTH}`);
  const sign = bytes[0];
  if (sign !== 0 && sign !== 1) throw new EncodingError(`${what}: sign byte must be 0 or 1, got ${sign}`);
  const mag = bytes.length === 1 ? 0n : BigInt(`0x${Buffer.from(bytes.subarray(1)).toString('hex')}`);
  return sign === 1 ? -mag : mag;
}

// ---- reading decoded tuples ----

/** Asserts a decoded value is an array of exactly `length` elements (a Filecoin tuple). */
export function expectTuple(v: unknown, length: number, what: string): unknown[] {
  if (!Array.isArray(v)) throw new EncodingError(`${what}: expected a CBOR array of ${length}, got ${cborKind(v)}`);
  if (v.length !== length) throw new EncodingError(`${what}: expected ${length} fields, got ${v.length}`);
  return v;
}

/** Asserts a decoded value is an array (any length). */
export function expectArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new EncodingError(`${what}: expected a CBOR array, got ${cborKind(v)}`);
  return v;
}

export function expectBytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new EncodingError(`${what}: expected a byte string, got ${cborKind(v)}`);
  return v;
}

/** A non-negative integer that fits a JS number (sector numbers, nonces, method numbers, epochs ≥ 0). */
export function expectUint(v: unknown, what: string): number {
  const n = expectInt(v, what);
  if (n < 0) throw new EncodingError(`${what}: expected an unsigned integer, got ${n}`);
  return n;
}

/** A signed integer that fits a JS number (epochs, gas limits, proof types). */
export function expectInt(v: unknown, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') throw new EncodingError(`${what}: integer ${v} is beyond 2^53`);
  throw new EncodingError(`${what}: expected an integer, got ${cborKind(v)}`);
}

/** A signed or unsigned integer of any size up to 64 bits, as a bigint. */
export function expectBigInteger(v: unknown, what: string): bigint {
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'bigint') return v;
  throw new EncodingError(`${what}: expected an integer, got ${cborKind(v)}`);
}

export function expectBool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new EncodingError(`${what}: expected a boolean, got ${cborKind(v)}`);
  return v;
}

export function expectCid(v: unknown, what: string): CID {
  const c = CID.asCID(v);
  if (!c) throw new EncodingError(`${what}: expected a CID (tag 42), got ${cborKind(v)}`);
  return c;
}

/** A short description of a decoded CBOR value's kind, for error messages. */
export function cborKind(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return `a byte string of ${v.length}`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (CID.asCID(v)) return 'a CID';
  if (typeof v === 'number' || typeof v === 'bigint') return `the number ${v}`;
  if (typeof v === 'string') return 'a text string';
  if (typeof v === 'object') return 'a map';
  return typeof v;
}
