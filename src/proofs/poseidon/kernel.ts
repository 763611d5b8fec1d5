/**
 * Batch Poseidon and field kernels on canonical 32-byte little-endian elements: the native addon
 * (native/src/fr.c) when it is built, the bigint implementation otherwise. Both give identical bytes
 * (checked by kernel.test.ts on random inputs for every arity).
 *
 * Batches keep the per-call overhead out of the way: one call hashes a whole tree row or a chunk of
 * columns.
 */
import { nativeAddon } from '../../common/native.js';
import { type PoseidonConstants, poseidonConstants } from './constants.js';
import { FR_BYTES, FR_MODULUS, frAdd, frFromBytes, frSub, frToBytes } from './field.js';
import { optimizedPermute } from './permutation.js';

const BLOB_MAGIC = 0x4e4f444945534f50n; // "POSEIDON", checked by fr.c

/**
 * `native`: the addon with the fastest multiplier for this CPU; `native-generic`: the addon with its portable
 * multiplier (tests compare it with the BMI2/ADX one); `ts`: bigint.
 */
export type KernelKind = 'native' | 'native-generic' | 'ts';

interface FrNative {
  frPoseidonHash(blob: Uint8Array, input: Uint8Array, out: Uint8Array, impl?: number): void;
  frPoseidonColumns(blob: Uint8Array, layers: Uint8Array[], out: Uint8Array, impl?: number): void;
  frEncode(key: Uint8Array, data: Uint8Array, out: Uint8Array): void;
  frDecode(replica: Uint8Array, key: Uint8Array, out: Uint8Array): void;
  frMulBench(n: number, impl?: number): number;
  frKernelInfo(): { adx: boolean };
}

function loadNative(): FrNative | null {
  const addon = nativeAddon();
  if (!addon || typeof addon.frPoseidonHash !== 'function') return null;
  return addon as unknown as FrNative;
}

let nativeCached: FrNative | null | undefined;
function native(): FrNative | null {
  if (nativeCached === undefined) nativeCached = loadNative();
  return nativeCached;
}

/** Which kernel `auto` resolves to in this process. */
export function defaultKernel(): KernelKind {
  return native() ? 'native' : 'ts';
}

/** True when the native kernel is loaded. */
export function hasNativeKernel(): boolean {
  return native() !== null;
}

/** Throws when the native kernel was asked for but is not built. */
function requireNative(): FrNative {
  const n = native();
  if (!n) throw new Error('native field kernel not available (build native/ or unset VENUS_NO_NATIVE)');
  return n;
}

const R_MONT = (1n << 256n) % FR_MODULUS;

/** The constants of one arity in the layout fr.c reads (Montgomery form). */
export function poseidonBlob(c: PoseidonConstants): Uint8Array {
  const { t, fullRounds: rf, partialRounds: rp } = c;
  const elems: bigint[] = [c.domainTag, ...c.compressedRoundConstants];
  for (const row of c.mds) elems.push(...row);
  for (const row of c.preSparse) elems.push(...row);
  for (const { row, col } of c.sparse) elems.push(...row, ...col);
  const buf = new Uint8Array(32 + 32 * elems.length);
  const dv = new DataView(buf.buffer);
  dv.setBigUint64(0, BigInt(t), true);
  dv.setBigUint64(8, BigInt(rf), true);
  dv.setBigUint64(16, BigInt(rp), true);
  dv.setBigUint64(24, BLOB_MAGIC, true);
  elems.forEach((x, i) => {
    frToBytes((x * R_MONT) % FR_MODULUS, buf, 32 + 32 * i);
  });
  return buf;
}

const blobs = new Map<number, Uint8Array>();
function blobFor(arity: number): Uint8Array {
  let b = blobs.get(arity);
  if (!b) {
    b = poseidonBlob(poseidonConstants(arity));
    blobs.set(arity, b);
  }
  return b;
}

/** Native multiplier selector passed to fr.c: 0 = fastest available, 1 = portable C. */
function implCode(kernel: KernelKind | 'auto' | undefined): number {
  return kernel === 'native-generic' ? 1 : 0;
}

function pick(kernel: KernelKind | 'auto' | undefined): FrNative | null {
  if (kernel === 'ts') return null;
  if (kernel === 'native' || kernel === 'native-generic') return requireNative();
  return native();
}

/** Describes the kernel `auto` uses, for logs and benchmarks. */
export function kernelDescription(): string {
  const n = native();
  if (!n) return 'TypeScript bigint';
  return n.frKernelInfo().adx ? 'native (BMI2/ADX Montgomery)' : 'native (portable C Montgomery)';
}

/**
 * Hash `out.length / 32` groups of `arity` consecutive elements of `input`: out[k] = H(input[k·arity ..]).
 * This is one row of an arity-`arity` Merkle tree built from the row below.
 */
export function poseidonHashBatch(
  arity: number,
  input: Uint8Array,
  out: Uint8Array,
  kernel?: KernelKind | 'auto',
): void {
  const count = out.length / FR_BYTES;
  if (!Number.isInteger(count) || input.length !== count * arity * FR_BYTES)
    throw new RangeError(`Poseidon batch: input must be ${arity}×32 bytes per 32-byte output`);
  const n = pick(kernel);
  if (n) {
    n.frPoseidonHash(blobFor(arity), input, out, implCode(kernel));
    return;
  }
  const c = poseidonConstants(arity);
  const s = new Array<bigint>(c.t);
  for (let k = 0; k < count; k++) {
    s[0] = c.domainTag;
    for (let i = 0; i < arity; i++) s[i + 1] = frFromBytes(input, (k * arity + i) * FR_BYTES);
    optimizedPermute(s, c);
    frToBytes(s[1]!, out, k * FR_BYTES);
  }
}

/**
 * Column hashes: out[k] = H(layers[0][k], …, layers[L−1][k]) with arity L = layers.length
 * (rust-fil-proofs `hash_single_column`: the same MerkleTree-tagged Poseidon, tag 2^L − 1).
 */
export function poseidonColumnsBatch(layers: Uint8Array[], out: Uint8Array, kernel?: KernelKind | 'auto'): void {
  const arity = layers.length;
  const count = out.length / FR_BYTES;
  if (!Number.isInteger(count)) throw new RangeError('Poseidon columns: out must be a multiple of 32 bytes');
  for (const l of layers)
    if (l.length !== out.length) throw new RangeError('Poseidon columns: each layer must match out in length');
  const n = pick(kernel);
  if (n) {
    n.frPoseidonColumns(blobFor(arity), layers, out, implCode(kernel));
    return;
  }
  const c = poseidonConstants(arity);
  const s = new Array<bigint>(c.t);
  for (let k = 0; k < count; k++) {
    s[0] = c.domainTag;
    for (let i = 0; i < arity; i++) s[i + 1] = frFromBytes(layers[i]!, k * FR_BYTES);
    optimizedPermute(s, c);
    frToBytes(s[1]!, out, k * FR_BYTES);
  }
}

/** Replica encoding (rust-fil-proofs `encode`): out[k] = key[k] + data[k] in Fr. `out` may alias either input. */
export function frEncodeBatch(key: Uint8Array, data: Uint8Array, out: Uint8Array, kernel?: KernelKind | 'auto'): void {
  if (key.length !== data.length || key.length !== out.length || key.length % FR_BYTES)
    throw new RangeError('encode: key, data and out must have the same length, a multiple of 32 bytes');
  const n = pick(kernel);
  if (n) {
    n.frEncode(key, data, out);
    return;
  }
  for (let o = 0; o < key.length; o += FR_BYTES) frToBytes(frAdd(frFromBytes(key, o), frFromBytes(data, o)), out, o);
}

/** Decoding (unseal): out[k] = replica[k] − key[k] in Fr. */
export function frDecodeBatch(
  replica: Uint8Array,
  key: Uint8Array,
  out: Uint8Array,
  kernel?: KernelKind | 'auto',
): void {
  if (key.length !== replica.length || key.length !== out.length || key.length % FR_BYTES)
    throw new RangeError('decode: replica, key and out must have the same length, a multiple of 32 bytes');
  const n = pick(kernel);
  if (n) {
    n.frDecode(replica, key, out);
    return;
  }
  for (let o = 0; o < key.length; o += FR_BYTES) frToBytes(frSub(frFromBytes(replica, o), frFromBytes(key, o)), out, o);
}

/**
 * Native Montgomery multiplications per second over `n` dependent products (the PC2 bench baseline), in CPU
 * time of the calling thread's process: on a shared machine wall time would measure the neighbours.
 */
export function nativeMulRate(n = 20_000_000, kernel: 'native' | 'native-generic' = 'native'): number {
  const k = requireNative();
  const impl = implCode(kernel);
  k.frMulBench(1000, impl);
  const t0 = process.cpuUsage();
  k.frMulBench(n, impl);
  const d = process.cpuUsage(t0);
  return n / ((d.user + d.system) / 1e6);
}
