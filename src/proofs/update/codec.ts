/**
 * The update's field arithmetic on chunks of 32-byte nodes (rust-fil-proofs
 * `storage-proofs-update/src/vanilla.rs` `encode_into`, `decode_from`, `remove_encoded_data`):
 *
 *   encode:  new_replica[i] = sector_key[i] + data[i] · rho(i)
 *   decode:  data[i]        = (new_replica[i] − sector_key[i]) · rho(i)^−1
 *   remove:  sector_key[i]  = new_replica[i] − data[i] · rho(i)
 *
 * Nodes are canonical little-endian field elements; a node that is not (≥ p) is refused, as rust's
 * `bytes_into_fr` refuses it. Zero data (the padding of a partly filled sector) skips the multiplication.
 */
import { FR_MODULUS, frFromBytes, frToBytes } from '../poseidon/field.js';
import type { Rhos } from './randomness.js';

const P = FR_MODULUS;
const NODE = 32;

function isZeroNode(b: Uint8Array, o: number): boolean {
  for (let k = 0; k < NODE; k++) if (b[o + k] !== 0) return false;
  return true;
}

function sameNode(a: Uint8Array, b: Uint8Array, o: number): boolean {
  for (let k = 0; k < NODE; k++) if (a[o + k] !== b[o + k]) return false;
  return true;
}

function checkLengths(...bufs: Uint8Array[]): number {
  const n = bufs[0]!.length;
  if (n % NODE || bufs.some((b) => b.length !== n)) throw new RangeError('update: chunks must be equal, whole nodes');
  return n / NODE;
}

/** out = key + data·rho, for the nodes starting at `firstNode`. `out` may alias `key`. */
export function encodeChunk(key: Uint8Array, data: Uint8Array, out: Uint8Array, rhos: Rhos, firstNode: number): void {
  const n = checkLengths(key, data, out);
  for (let i = 0; i < n; i++) {
    const o = i * NODE;
    if (isZeroNode(data, o)) {
      frFromBytes(key, o); // still refuse a non-canonical key node
      if (out !== key) out.set(key.subarray(o, o + NODE), o);
      continue;
    }
    const v = (frFromBytes(key, o) + frFromBytes(data, o) * rhos.get(firstNode + i)) % P;
    frToBytes(v, out, o);
  }
}

/** out = (replica − key)·rho⁻¹. `out` may alias either input. */
export function decodeChunk(
  replica: Uint8Array,
  key: Uint8Array,
  out: Uint8Array,
  rhos: Rhos,
  firstNode: number,
): void {
  const n = checkLengths(replica, key, out);
  for (let i = 0; i < n; i++) {
    const o = i * NODE;
    if (sameNode(replica, key, o)) {
      frFromBytes(key, o);
      out.fill(0, o, o + NODE);
      continue;
    }
    let d = frFromBytes(replica, o) - frFromBytes(key, o);
    if (d < 0n) d += P;
    frToBytes((d * rhos.getInverse(firstNode + i)) % P, out, o);
  }
}

/** out = replica − data·rho. `out` may alias either input. */
export function removeChunk(
  replica: Uint8Array,
  data: Uint8Array,
  out: Uint8Array,
  rhos: Rhos,
  firstNode: number,
): void {
  const n = checkLengths(replica, data, out);
  for (let i = 0; i < n; i++) {
    const o = i * NODE;
    if (isZeroNode(data, o)) {
      frFromBytes(replica, o);
      if (out !== replica) out.set(replica.subarray(o, o + NODE), o);
      continue;
    }
    let v = (frFromBytes(replica, o) - ((frFromBytes(data, o) * rhos.get(firstNode + i)) % P)) % P;
    if (v < 0n) v += P;
    frToBytes(v, out, o);
  }
}
