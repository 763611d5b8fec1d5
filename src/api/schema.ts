/**
 * Runtime schemas (zod) for the JSON shapes the APIs take, used as `method(…, { params })` so the server refuses
 * a badly typed argument with "invalid params: <name> must be …" before any implementation runs. They validate
 * only: nothing is coerced ("1" is not 1, true is not an actor id), unknown object keys pass as Go ignores them.
 * Strings carry length caps, so nothing a caller sends is stored or labelled at an unbounded size.
 */
import { z } from 'zod';

const check = <T>(ok: (v: unknown) => boolean, error: string) => z.custom<T>(ok, { error });

/** A safe integer ≥ 0 (actor ids, sector numbers, sizes, counts, epochs). */
export const Uint = check<number>(
  (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0,
  'must be a non-negative safe integer',
);
/** A safe integer (epochs may be negative in a few places). */
export const Int = check<number>((v) => typeof v === 'number' && Number.isSafeInteger(v), 'must be a safe integer');
export const Bool = check<boolean>((v) => typeof v === 'boolean', 'must be true or false');

/** A string of at most `max` characters (default 4096). */
export function Str(max = 4096) {
  return check<string>(
    (v) => typeof v === 'string' && v.length <= max,
    `must be a string of at most ${max} characters`,
  );
}
/** A non-empty string of at most `max` characters. */
export function Name(max = 256) {
  return check<string>(
    (v) => typeof v === 'string' && v.length > 0 && v.length <= max,
    `must be a non-empty string of at most ${max} characters`,
  );
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Go []byte: std base64 with padding (at most `maxBytes` decoded). null is Go's nil slice. */
export function Base64(maxBytes = 1 << 20) {
  const maxChars = 4 * Math.ceil(maxBytes / 3);
  return check<string>(
    (v) => typeof v === 'string' && v.length <= maxChars && BASE64.test(v),
    `must be std base64 with padding (at most ${maxBytes} bytes)`,
  );
}

/** Go [32]byte: an array of exactly 32 integers 0..255. */
export const Bytes32 = check<number[]>(
  (v) =>
    Array.isArray(v) &&
    v.length === 32 &&
    v.every((n) => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 255),
  'must be an array of 32 bytes (integers 0..255)',
);

/** A CID as Lotus writes it: {"/": "<cid string>"}. */
export const Cid = z.object({ '/': Name(256) });

/** An address string ("t01000", "f3…"); its checksum and network are checked by whoever uses it. */
export const Address = check<string>(
  (v) => typeof v === 'string' && /^[ft][0-4][0-9a-z]{1,120}$/.test(v),
  'must be a Filecoin address string (f…/t…)',
);

/** big.Int / TokenAmount: a decimal string. */
export const BigIntString = check<string>(
  (v) => typeof v === 'string' && v.length <= 80 && /^-?[0-9]+$/.test(v),
  'must be a decimal integer string',
);

/** `T[] | null` (Go's nil slice), at most `max` items. */
export function List<T extends z.ZodType>(item: T, max = 10_000) {
  return z.array(item).max(max, `must have at most ${max} items`).nullable();
}
