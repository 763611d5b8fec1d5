/**
 * The BLS12-381 scalar field Fr with plain bigint arithmetic: the reference and fallback for the native kernel.
 *
 * On disk and in every Filecoin commitment an element is its canonical integer as 32 little-endian bytes
 * (blstrs `Scalar::to_repr`), never Montgomery form. Bytes that encode an integer ≥ p are rejected, as
 * rust-fil-proofs does (`from_repr` fails, hashers panic): reducing them silently would produce another sector.
 */

/** r, the order of the BLS12-381 G1 subgroup (255 bits). */
export const FR_MODULUS = 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001n;
/** Bytes per element. */
export const FR_BYTES = 32;

const P = FR_MODULUS;

export function frAdd(a: bigint, b: bigint): bigint {
  const s = a + b;
  return s >= P ? s - P : s;
}

export function frSub(a: bigint, b: bigint): bigint {
  const s = a - b;
  return s < 0n ? s + P : s;
}

export function frMul(a: bigint, b: bigint): bigint {
  return (a * b) % P;
}

/** x^5, the Poseidon S-box. */
export function frPow5(x: bigint): bigint {
  const x2 = (x * x) % P;
  const x4 = (x2 * x2) % P;
  return (x4 * x) % P;
}

/** Multiplicative inverse (extended Euclid); throws on zero. */
export function frInv(a: bigint): bigint {
  let r0 = P;
  let r1 = ((a % P) + P) % P;
  if (r1 === 0n) throw new RangeError('Fr: inverse of zero');
  let t0 = 0n;
  let t1 = 1n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return t0 < 0n ? t0 + P : t0;
}

/** True when `bytes[offset..offset+32]` is a canonical element (LE integer < p). */
export function isCanonicalFr(bytes: Uint8Array, offset = 0): boolean {
  return readLE256(bytes, offset) < P;
}

function readLE256(bytes: Uint8Array, offset: number): bigint {
  if (offset < 0 || offset + FR_BYTES > bytes.length) throw new RangeError('Fr: need 32 bytes');
  const dv = new DataView(bytes.buffer, bytes.byteOffset + offset, FR_BYTES);
  return (
    dv.getBigUint64(0, true) |
    (dv.getBigUint64(8, true) << 64n) |
    (dv.getBigUint64(16, true) << 128n) |
    (dv.getBigUint64(24, true) << 192n)
  );
}

/** Canonical LE bytes → element. Throws a RangeError when the value is ≥ p. */
export function frFromBytes(bytes: Uint8Array, offset = 0): bigint {
  const v = readLE256(bytes, offset);
  if (v >= P) {
    const hex = Buffer.from(bytes.subarray(offset, offset + FR_BYTES)).toString('hex');
    throw new RangeError(`Fr: bytes ${hex} are not a canonical field element (value >= r)`);
  }
  return v;
}

/** Element → canonical 32 LE bytes, into `out` at `offset` (a new array when `out` is absent). */
export function frToBytes(x: bigint, out?: Uint8Array, offset = 0): Uint8Array {
  if (x < 0n || x >= P) throw new RangeError('Fr: value out of range');
  const o = out ?? new Uint8Array(FR_BYTES);
  const dv = new DataView(o.buffer, o.byteOffset + offset, FR_BYTES);
  const mask = 0xffffffffffffffffn;
  dv.setBigUint64(0, x & mask, true);
  dv.setBigUint64(8, (x >> 64n) & mask, true);
  dv.setBigUint64(16, (x >> 128n) & mask, true);
  dv.setBigUint64(24, x >> 192n, true);
  return o;
}

/** Hex of the canonical LE bytes (the form rust-fil-proofs prints commitments in). */
export function frToHex(x: bigint): string {
  return Buffer.from(frToBytes(x)).toString('hex');
}

/** Parse the hex of canonical LE bytes. */
export function frFromHex(hex: string): bigint {
  const b = Buffer.from(hex, 'hex');
  if (b.length !== FR_BYTES) throw new RangeError(`Fr: expected 64 hex digits, got "${hex}"`);
  return frFromBytes(b);
}
