/**
 * Poseidon over the BLS12-381 scalar field, bit-exact with neptune as rust-fil-proofs uses it
 * (Strength::Standard, MerkleTree domain tag 2^arity − 1, output state[1]).
 *
 * - `poseidonHash([x1..xn])` / `poseidonHashPlain` on bigints (optimised and plain forms, same output);
 * - `poseidonHashBytes(arity, bytes)` and the batch kernels on canonical 32-byte LE elements, native when
 *   the addon is built (`hasNativeKernel()`), bigint otherwise;
 * - `frEncodeBatch` / `frDecodeBatch`: replica encoding (data + key) and decoding.
 */
import { FR_BYTES } from './field.js';
import { type KernelKind, poseidonHashBatch } from './kernel.js';

export { POSEIDON_ARITIES, type PoseidonConstants, poseidonConstants, roundNumbers } from './constants.js';
export {
  FR_BYTES,
  FR_MODULUS,
  frAdd,
  frFromBytes,
  frFromHex,
  frMul,
  frSub,
  frToBytes,
  frToHex,
  isCanonicalFr,
} from './field.js';
export {
  defaultKernel,
  frDecodeBatch,
  frEncodeBatch,
  hasNativeKernel,
  type KernelKind,
  kernelDescription,
  nativeMulRate,
  poseidonBlob,
  poseidonColumnsBatch,
  poseidonHashBatch,
} from './kernel.js';
export { optimizedPermute, plainPermute, poseidonHash, poseidonHashPlain } from './permutation.js';

/** Hash `arity` canonical 32-byte elements given back to back; returns the 32-byte output. */
export function poseidonHashBytes(arity: number, input: Uint8Array, kernel?: KernelKind | 'auto'): Uint8Array {
  const out = new Uint8Array(FR_BYTES);
  poseidonHashBatch(arity, input, out, kernel);
  return out;
}

/** Poseidon-2 of two 32-byte nodes (rust-fil-proofs `PoseidonFunction::hash2`, e.g. CommR = H(comm_c, comm_r_last)). */
export function poseidonHash2(a: Uint8Array, b: Uint8Array, kernel?: KernelKind | 'auto'): Uint8Array {
  if (a.length !== FR_BYTES || b.length !== FR_BYTES) throw new RangeError('hash2: nodes must be 32 bytes');
  const input = new Uint8Array(2 * FR_BYTES);
  input.set(a, 0);
  input.set(b, FR_BYTES);
  return poseidonHashBytes(2, input, kernel);
}
