// The native field kernel (both multipliers) against the bigint implementation: identical bytes on random
// inputs for every arity, for hashing, column hashing, encoding and decoding; and the same rejections.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  FR_MODULUS,
  frDecodeBatch,
  frEncodeBatch,
  frToBytes,
  hasNativeKernel,
  type KernelKind,
  POSEIDON_ARITIES,
  poseidonColumnsBatch,
  poseidonHashBatch,
} from './index.js';

const skip = hasNativeKernel() ? false : 'native addon not built';
const NATIVE: KernelKind[] = ['native', 'native-generic'];

/** Random canonical elements; some with the top two bits cleared (labels), some anywhere below r. */
function randomElements(n: number): Uint8Array {
  const b = randomBytes(n * 32);
  for (let k = 0; k < n; k++) {
    const o = k * 32;
    if (k % 3 === 0) b[o + 31]! &= 0x3f;
    else if (k % 3 === 1) {
      // just below r (0x73ed…): exercises the final conditional subtractions
      b[o + 31] = 0x73;
      b[o + 30] = b[o + 30]! % 0xed;
    } else b[o + 31]! &= 0x72;
  }
  // edge values: 0, 1, r - 1
  if (n >= 3) {
    b.fill(0, 0, 32);
    b.set(frToBytes(1n), 32);
    b.set(frToBytes(FR_MODULUS - 1n), 64);
  }
  return b;
}

describe('native Fr kernel', { skip }, () => {
  for (const arity of POSEIDON_ARITIES) {
    it(`Poseidon arity ${arity}: native = native-generic = TypeScript`, () => {
      const count = arity > 11 ? 8 : 40;
      const input = randomElements(count * arity);
      const want = new Uint8Array(count * 32);
      poseidonHashBatch(arity, input, want, 'ts');
      for (const k of NATIVE) {
        const got = new Uint8Array(count * 32);
        poseidonHashBatch(arity, input, got, k);
        assert.deepEqual(Buffer.from(got), Buffer.from(want), k);
      }
    });
  }

  for (const layers of [2, 11]) {
    it(`column hashes over ${layers} layers equal the per-column hash`, () => {
      const count = 50;
      const ls = Array.from({ length: layers }, () => randomElements(count));
      const want = new Uint8Array(count * 32);
      poseidonColumnsBatch(ls, want, 'ts');
      // the same as hashing the gathered column
      const gathered = new Uint8Array(count * layers * 32);
      for (let k = 0; k < count; k++)
        for (let l = 0; l < layers; l++) gathered.set(ls[l]!.subarray(k * 32, k * 32 + 32), (k * layers + l) * 32);
      const viaHash = new Uint8Array(count * 32);
      poseidonHashBatch(layers, gathered, viaHash, 'ts');
      assert.deepEqual(Buffer.from(viaHash), Buffer.from(want));
      for (const k of NATIVE) {
        const got = new Uint8Array(count * 32);
        poseidonColumnsBatch(ls, got, k);
        assert.deepEqual(Buffer.from(got), Buffer.from(want), k);
      }
    });
  }

  it('encode/decode: native = TypeScript, decode inverts encode, in place', () => {
    const n = 500;
    const key = randomElements(n);
    const data = randomElements(n);
    const want = new Uint8Array(n * 32);
    frEncodeBatch(key, data, want, 'ts');
    const got = Uint8Array.from(data);
    frEncodeBatch(key, got, got, 'native'); // in place over the data, as PC2 does over the sealed file
    assert.deepEqual(Buffer.from(got), Buffer.from(want));
    const back = new Uint8Array(n * 32);
    frDecodeBatch(got, key, back, 'native');
    assert.deepEqual(Buffer.from(back), Buffer.from(data));
    const backTs = new Uint8Array(n * 32);
    frDecodeBatch(got, key, backTs, 'ts');
    assert.deepEqual(Buffer.from(backTs), Buffer.from(data));
  });

  it('rejects non-canonical inputs like the TypeScript path (RangeError)', () => {
    const input = randomElements(16);
    input.set(frToBytesRaw(FR_MODULUS), 5 * 32);
    for (const k of ['ts', ...NATIVE] as KernelKind[]) {
      assert.throws(() => poseidonHashBatch(8, input, new Uint8Array(64), k), RangeError, k);
      assert.throws(() => frEncodeBatch(input, input, new Uint8Array(input.length), k), RangeError, k);
      assert.throws(
        () => poseidonColumnsBatch([input.subarray(0, 256), input.subarray(256)], new Uint8Array(256), k),
        RangeError,
        k,
      );
    }
  });

  it('accepts unaligned views (tree rows are subarrays of file buffers)', () => {
    const backing = new Uint8Array(1 + 8 * 32 * 4);
    backing.set(randomElements(32), 1);
    const view = backing.subarray(1);
    const want = new Uint8Array(4 * 32);
    const got = new Uint8Array(1 + 4 * 32).subarray(1);
    poseidonHashBatch(8, view, want, 'ts');
    poseidonHashBatch(8, view, got, 'native');
    assert.deepEqual(Buffer.from(got), Buffer.from(want));
  });
});

function frToBytesRaw(x: bigint): Uint8Array {
  const b = new Uint8Array(32);
  for (let i = 0; i < 32; i++) b[i] = Number((x >> BigInt(8 * i)) & 0xffn);
  return b;
}
