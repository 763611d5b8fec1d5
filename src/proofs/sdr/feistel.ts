/**
 * The Feistel permutation that picks expander parents (storage-proofs-core `crypto/feistel.rs`).
 *
 * The domain is the smallest 4^k ≥ N (k ≥ 1), split into two k-bit halves. Three rounds, one per key
 * k0..k2 (k3 is derived but unused): (L, R) ← (R, L ⊕ F(R, k)), with
 * F(R, k) = BE_u64(BLAKE2b-512(R as 8 BE bytes ‖ k as 8 BE bytes)[0..8]) & rightMask.
 * `permute` cycle-walks: it re-encodes until the value falls below N.
 *
 * Values stay below 2^36 here, so plain JS numbers hold them exactly. BLAKE2b comes from node:crypto
 * (OpenSSL); a hand-written JS BLAKE2b measured ~2× slower because 64-bit lanes cost four 32-bit ops each.
 */
import { hash } from 'node:crypto';

export interface FeistelParams {
  /** N: the permutation acts on [0, N). */
  readonly numElements: number;
  readonly halfBits: number;
  readonly rightMask: number;
  /** 2^halfBits */
  readonly half: number;
}

/** `precompute(N)`: the smallest log4 ≥ 1 with 4^log4 ≥ N. */
export function feistelPrecompute(numElements: number): FeistelParams {
  if (!Number.isSafeInteger(numElements) || numElements < 1 || numElements > 2 ** 40) {
    throw new RangeError(`Feistel domain ${numElements} out of range`);
  }
  let pow4 = 4;
  let log4 = 1;
  while (pow4 < numElements) {
    pow4 *= 4;
    log4++;
  }
  return { numElements, halfBits: log4, rightMask: 2 ** log4 - 1, half: 2 ** log4 };
}

/** The Feistel keys as their big-endian byte strings, ready to be the second half of F's input. */
export class FeistelCipher {
  private readonly inputs: Buffer[];

  constructor(
    keysLE: Uint8Array,
    readonly params: FeistelParams,
  ) {
    if (keysLE.length !== 32) throw new RangeError('Feistel keys must be 32 bytes (4 × u64 LE)');
    if (params.halfBits > 31) throw new RangeError('Feistel half width above 31 bits is not supported');
    // Only the first three keys are used (FEISTEL_ROUNDS = 3).
    this.inputs = [0, 1, 2].map((r) => {
      const b = Buffer.alloc(16);
      for (let i = 0; i < 8; i++) b[8 + i] = keysLE[8 * r + 7 - i]!; // LE u64 → BE bytes
      return b;
    });
  }

  private round(right: number, r: number): number {
    const input = this.inputs[r]!;
    // right < 2^31: its top 4 BE bytes are zero
    input.writeUInt32BE(right, 4);
    const h = hash('blake2b512', input, 'buffer') as unknown as Buffer;
    // BE_u64(h[0..8]) & mask, mask < 2^32: only the low BE word matters
    return (h.readUInt32BE(4) & this.params.rightMask) >>> 0;
  }

  encode(x: number): number {
    const { half, rightMask } = this.params;
    let left = Math.floor(x / half) % half;
    let right = x % half;
    for (let r = 0; r < 3; r++) {
      const l = right;
      right = (left ^ this.round(right, r)) & rightMask;
      left = l;
    }
    return left * half + right;
  }

  /** permute(N, x): encode, cycle-walking until the result is below N. */
  permute(x: number): number {
    let u = this.encode(x);
    while (u >= this.params.numElements) u = this.encode(u);
    return u;
  }
}
