/**
 * Small helpers for Lotus' JSON conventions (docs/spec/chain.md §JSON conventions). They only move JSON values:
 * bytes are std base64 with padding, big integers are decimal strings, CIDs are {"/": "<string>"}.
 * Parsing CIDs or addresses is src/fil's job; here a CID is just its string form.
 */

/** Bytes → std base64 with padding (Go's encoding/json for []byte). */
export function bytesToBase64(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** std base64 → bytes. `null` and `""` are empty (Go writes a nil slice as null). Rejects anything else. */
export function base64ToBytes(s: unknown, what = 'bytes'): Uint8Array {
  if (s === null || s === undefined || s === '') return new Uint8Array(0);
  if (typeof s !== 'string') throw new TypeError(`${what}: expected a base64 string, got ${typeof s}`);
  if (!BASE64.test(s)) throw new TypeError(`${what}: not std base64 with padding: "${preview(s)}"`);
  const buf = Buffer.from(s, 'base64');
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** big.Int → decimal string (may be negative). */
export function bigintToString(n: bigint): string {
  return n.toString(10);
}

/** Decimal string (or a safe integer number, which some clients send) → bigint. */
export function parseBigInt(v: unknown, what = 'big integer'): bigint {
  if (typeof v === 'string' && v.length <= 400 && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'bigint') return v;
  throw new TypeError(`${what}: expected a decimal integer string, got ${preview(JSON.stringify(v) ?? String(v))}`);
}

/** A CID on the wire. */
export interface CidJson {
  '/': string;
}

/** CID string → {"/": cid}. */
export function cidToJson(cid: string): CidJson {
  return { '/': cid };
}

/** {"/": cid} → the CID string. Refuses other shapes with the value in the message. */
export function cidFromJson(v: unknown, what = 'cid'): string {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const s = (v as Record<string, unknown>)['/'];
    if (typeof s === 'string' && s.length > 0) return s;
  }
  throw new TypeError(`${what}: expected {"/": "<cid>"}, got ${preview(JSON.stringify(v) ?? String(v))}`);
}

/** {"/": cid} | null → cid | null (Go's cid.Undef and nil pointers are null). */
export function optionalCidFromJson(v: unknown, what = 'cid'): string | null {
  return v === null || v === undefined ? null : cidFromJson(v, what);
}

/** Go writes a nil slice as null; read both null and [] as an empty list. */
export function listFromJson<T>(v: T[] | null | undefined): T[] {
  return v ?? [];
}

/** Write an empty list as null, where Lotus does (nil slices). */
export function listToJson<T>(v: readonly T[]): T[] | null {
  return v.length ? [...v] : null;
}

function preview(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
