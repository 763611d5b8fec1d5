/**
 * Byte helpers shared by the primitives: hex, base64 (Lotus JSON uses std base64 with padding), base32
 * (address alphabet, lower case, no padding), unsigned LEB128 varints, and the blake2b variants Filecoin uses.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { EncodingError } from './errors.js';

/** Lower-case hex of the bytes. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a hex string (optional 0x prefix, either case); throws on odd length or a non-hex character. */
export function fromHex(hex: string, what = 'hex string'): Uint8Array {
  const s = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (s.length % 2 !== 0) throw new EncodingError(`${what}: odd number of hex digits (${s.length})`);
  if (!/^[0-9a-fA-F]*$/.test(s)) throw new EncodingError(`${what}: not hex (bad character)`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** Standard base64 with padding, as Go's encoding/json writes []byte. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Bytes of a standard base64 string. Go's decoder is strict, Node's is lenient, so check the alphabet,
 * the padding and that the input round-trips; unpadded input is accepted (some clients send it).
 */
export function fromBase64(s: string, what = 'base64 string'): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new EncodingError(`${what}: not base64 (bad character)`);
  const body = s.replace(/=+$/, '');
  if (body.length % 4 === 1) throw new EncodingError(`${what}: not base64 (bad length ${s.length})`);
  if (s.length !== body.length && s.length % 4 !== 0) throw new EncodingError(`${what}: not base64 (bad padding)`);
  const out = new Uint8Array(Buffer.from(body, 'base64'));
  if (toBase64(out).replace(/=+$/, '') !== body) throw new EncodingError(`${what}: not canonical base64`);
  return out;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** blake2b-256 (the Filecoin chain hash: message CIDs, randomness, secp256k1 signing digest). */
export function blake2b256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
}

/**
 * Variable-length blake2b (digest size is a parameter of the hash, not a truncation): 20 bytes for
 * secp256k1/actor address payloads, 4 bytes for address checksums.
 */
export function blake2bN(data: Uint8Array, size: number): Uint8Array {
  return blake2b(data, { dkLen: size });
}

const MAX_U64 = (1n << 64n) - 1n;

/** Unsigned LEB128 (multiformats uvarint) of a non-negative integer below 2^64. */
export function encodeUvarint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n || v > MAX_U64) throw new EncodingError(`uvarint out of range: ${value}`);
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/**
 * Decodes a uvarint at `offset`; returns the value and the number of bytes read. Rejects truncated,
 * non-minimal (a trailing 0x00 group, which go-varint refuses) and over-64-bit encodings.
 */
export function decodeUvarint(bytes: Uint8Array, offset = 0): { value: bigint; length: number } {
  let v = 0n;
  let shift = 0n;
  for (let i = offset; i < bytes.length; i++) {
    const b = bytes[i]!;
    const n = i - offset + 1;
    if (n > 10 || (n === 10 && b > 1)) throw new EncodingError('uvarint overflows 64 bits');
    v |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) {
      if (b === 0 && n > 1) throw new EncodingError('uvarint not minimally encoded');
      return { value: v, length: n };
    }
    shift += 7n;
  }
  throw new EncodingError('uvarint truncated');
}

const B32 = 'abcdefghijklmnopqrstuvwxyz234567';
const B32_INDEX = new Map<string, number>([...B32].map((c, i) => [c, i]));

/** RFC 4648 base32, lower-case alphabet, no padding (the address encoding). */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31];
  return out;
}

/**
 * Strict inverse of base32Encode: rejects characters outside the alphabet (with their position),
 * impossible lengths, and non-zero trailing bits (so every byte string has exactly one encoding, as
 * go-address requires). `offset` shifts the character positions in error messages (to point into a
 * larger string).
 */
export function base32Decode(s: string, what = 'base32 string', offset = 0): Uint8Array {
  const rem = s.length % 8;
  if (rem === 1 || rem === 3 || rem === 6) throw new EncodingError(`${what}: impossible base32 length ${s.length}`);
  const out = new Uint8Array(Math.floor((s.length * 5) / 8));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (let i = 0; i < s.length; i++) {
    const v = B32_INDEX.get(s[i]!);
    if (v === undefined)
      throw new EncodingError(`${what}: character ${JSON.stringify(s[i])} at ${i + offset} is not base32`);
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[o++] = (acc >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
    acc &= (1 << bits) - 1;
  }
  if (acc !== 0) throw new EncodingError(`${what}: non-canonical base32 (trailing bits are not zero)`);
  return out;
}
