/**
 * Filecoin's binary-tree hash: `trunc254(SHA-256(left ‖ right))`, i.e. SHA-256 of two 32-byte nodes with the
 * top two bits of the last byte cleared so the result is a valid BLS12-381 scalar (rust-fil-proofs
 * `filecoin-hashers/src/sha256.rs`, `fr32::bytes_into_fr_repr_safe`). Used by CommP, CommD and TreeD.
 *
 * Bulk hashing of a row goes through @chainsafe/hashtree (native, SHA-NI/AVX, hashes many 64-byte blocks
 * per call, about 20× node:crypto per block); when it cannot load we fall back to node:crypto, which gives
 * the same bytes (a test checks both).
 */
import { createHash, hash as cryptoHash } from 'node:crypto';
import { createRequire } from 'node:module';

export type Sha256Backend = 'hashtree' | 'node:crypto';

type HashInto = (input: Uint8Array, output: Uint8Array) => void;

function loadHashtree(): HashInto | null {
  if (process.env.VENUS_NO_NATIVE) return null;
  try {
    const require = createRequire(import.meta.url);
    const mod = require('@chainsafe/hashtree') as { hashInto?: HashInto };
    if (typeof mod.hashInto !== 'function') return null;
    // A self-check: the binding must agree with node:crypto on one block before we trust it.
    const probe = new Uint8Array(64).map((_, i) => i);
    const out = new Uint8Array(32);
    mod.hashInto(probe, out);
    if (!Buffer.from(out).equals(createHash('sha256').update(probe).digest())) return null;
    return mod.hashInto;
  } catch {
    return null;
  }
}

const hashtreeInto = loadHashtree();

/** The backend the row functions use: hashtree when it loaded (and VENUS_NO_NATIVE is unset), else node:crypto. */
export const sha256Backend: Sha256Backend = hashtreeInto ? 'hashtree' : 'node:crypto';

const hasCryptoHash = typeof cryptoHash === 'function';

function sha256Block(block: Uint8Array): Buffer {
  return hasCryptoHash
    ? (cryptoHash('sha256', block, 'buffer') as Buffer)
    : createHash('sha256').update(block).digest();
}

/** Clears the top two bits of every 32-byte node in `out` (trunc254). */
function trunc254All(out: Uint8Array, nodes: number): void {
  for (let i = 31, end = nodes * 32; i < end; i += 32) out[i] &= 0x3f;
}

function checkRow(input: Uint8Array, output: Uint8Array): number {
  if (input.length % 64 !== 0) throw new RangeError(`row input must be a multiple of 64 bytes, got ${input.length}`);
  const n = input.length / 64;
  if (output.length < n * 32) throw new RangeError(`row output needs ${n * 32} bytes, got ${output.length}`);
  return n;
}

/** Row hashing with node:crypto only (the fallback; exported so tests can compare backends). */
export function hashPairsIntoCrypto(input: Uint8Array, output: Uint8Array): void {
  const n = checkRow(input, output);
  for (let i = 0; i < n; i++) output.set(sha256Block(input.subarray(i * 64, i * 64 + 64)), i * 32);
  trunc254All(output, n);
}

/** Row hashing with @chainsafe/hashtree; throws when the binding is not available. */
export function hashPairsIntoHashtree(input: Uint8Array, output: Uint8Array): void {
  if (!hashtreeInto) throw new Error('@chainsafe/hashtree is not available');
  const n = checkRow(input, output);
  if (n === 0) return;
  hashtreeInto(input, output.length === n * 32 ? output : output.subarray(0, n * 32));
  trunc254All(output, n);
}

/**
 * Hashes one tree row: `input` holds n pairs of 32-byte nodes (64·n bytes); writes the n parents,
 * `trunc254(SHA-256(pair))`, to the first 32·n bytes of `output`. `output` must not overlap `input`.
 */
export const hashPairsInto: (input: Uint8Array, output: Uint8Array) => void = hashtreeInto
  ? hashPairsIntoHashtree
  : hashPairsIntoCrypto;

/** `trunc254(SHA-256(data))` for any input length (replica id, single nodes). */
export function sha256Trunc254(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(sha256Block(data));
  out[31] &= 0x3f;
  return out;
}

/** The parent of two 32-byte nodes: `trunc254(SHA-256(left ‖ right))` (rust `piece_hash`). */
export function hashNodes(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== 32 || right.length !== 32) throw new RangeError('nodes must be 32 bytes');
  const buf = new Uint8Array(64);
  buf.set(left, 0);
  buf.set(right, 32);
  const out = new Uint8Array(32);
  hashPairsInto(buf, out);
  return out;
}
