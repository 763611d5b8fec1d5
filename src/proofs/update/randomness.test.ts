import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { poseidonConstants } from '../poseidon/constants.js';
import { FR_MODULUS, frToBytes } from '../poseidon/field.js';
import { poseidonHashPlain } from '../poseidon/index.js';
import { plainPermute } from '../poseidon/permutation.js';
import { updateParamsForNodes } from './constants.js';
import {
  GEN_RANDOMNESS_DOMAIN_TAG,
  genRandomnessHash,
  Rhos,
  updateChallenges,
  updatePhi,
  updateRho,
} from './randomness.js';

/** rand_xorshift 0.3 `XorShiftRng::from_seed` / `next_u32`; `next_u64` = two u32, low first (rand_core). */
function xorShift(seed: Uint8Array) {
  const dv = new DataView(seed.buffer, seed.byteOffset, 16);
  let x = dv.getUint32(0, true);
  let y = dv.getUint32(4, true);
  let z = dv.getUint32(8, true);
  let w = dv.getUint32(12, true);
  const nextU32 = () => {
    const t = (x ^ (x << 11)) >>> 0;
    x = y;
    y = z;
    z = w;
    w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return w;
  };
  const nextU64 = () => {
    const lo = BigInt(nextU32());
    const hi = BigInt(nextU32());
    return (hi << 32n) | lo;
  };
  return { nextU64 };
}

/** blstrs `Scalar::random`: four u64 (LE limbs), top bit cleared, retried until below p. */
function randomFr(rng: ReturnType<typeof xorShift>): bigint {
  for (;;) {
    let v = 0n;
    for (let i = 0; i < 4; i++) v |= rng.nextU64() << BigInt(64 * i);
    v &= (1n << 255n) - 1n;
    if (v < FR_MODULUS) return v;
  }
}

// storage-proofs-core `TEST_SEED`
const TEST_SEED = Uint8Array.from([
  0x59, 0x62, 0xbe, 0x5d, 0x76, 0x3d, 0x31, 0x8d, 0x17, 0xdb, 0x37, 0x32, 0x54, 0x06, 0xbc, 0xe5,
]);

// rust-fil-proofs storage-proofs-update/src/challenges.rs `test_challenges_against_hardcoded`:
// (sector nodes, partition) → the first five challenges for comm_r_new = TreeRDomain::random(XorShift(TEST_SEED))
const RUST_CHALLENGES: [number, number, number[]][] = [
  [1 << 5, 0, [21, 7, 3, 31, 0]],
  [1 << 6, 0, [53, 51, 56, 3, 0]],
  [1 << 7, 0, [117, 25, 62, 0, 72]],
  [1 << 8, 0, [245, 140, 15, 128, 28]],
  [1 << 9, 0, [245, 140, 15, 128, 28]],
  [1 << 9, 1, [286, 308, 493, 510, 508]],
  [1 << 10, 0, [245, 454, 3, 400, 193]],
  [1 << 10, 1, [542, 666, 955, 927, 911]],
  [1 << 18, 0, [36085, 32783, 44060, 10950, 3731]],
  [1 << 18, 1, [78878, 130797, 112892, 93994, 78379]],
  [1 << 19, 0, [101621, 16391, 109319, 25944, 41193]],
  [1 << 19, 1, [209950, 163702, 175679, 224741, 197410]],
  [1 << 24, 0, [1019125, 116736, 706220, 59698, 799498]],
  [1 << 24, 1, [2092548, 1213276, 1185483, 1164598, 1095197]],
  [1 << 24, 14, [15212432, 15665918, 15015423, 15012912, 15495223]],
  [1 << 24, 15, [16388544, 15794686, 16637142, 16319148, 16328348]],
  [1 << 30, 0, [1019125, 27985696, 15282860, 11586600, 44651330]],
  [1 << 30, 1, [109168525, 127316247, 80331041, 97065716, 72310052]],
  [1 << 30, 14, [990420169, 955146989, 968005601, 976863263, 944650706]],
  [1 << 30, 15, [1038629497, 1053983614, 1030421316, 1027373887, 1068685433]],
  [2 ** 31, 0, [1019125, 13992848, 3820715, 18225541, 57316660]],
  [2 ** 31, 1, [243386253, 197875851, 204632136, 171516766, 247789010]],
  [2 ** 31, 14, [1997053129, 1920414070, 2003609080, 1900492803, 1963254685]],
  [2 ** 31, 15, [2045262457, 2036941247, 2136653521, 2091356007, 2147167623]],
];

describe('update randomness (storage-proofs-update)', () => {
  it("reproduces rust's hard-coded challenges for every sector size", () => {
    const commRNew = frToBytes(randomFr(xorShift(TEST_SEED)));
    for (const [nodes, k, want] of RUST_CHALLENGES) {
      const got = updateChallenges(updateParamsForNodes(nodes), commRNew, k).slice(0, 5);
      assert.deepEqual(got, want, `${nodes} nodes, partition ${k}`);
    }
  });

  it('keeps every challenge of partition k in the k-th slice (rust test_challenge_bucketing)', () => {
    const rng = xorShift(TEST_SEED);
    for (const nodes of [1 << 5, 1 << 6, 1 << 10, 1 << 18, 1 << 24, 1 << 30]) {
      const p = updateParamsForNodes(nodes);
      const commRNew = frToBytes(randomFr(rng));
      const slice = nodes / p.partitions;
      for (let k = 0; k < p.partitions; k++) {
        const cs = updateChallenges(p, commRNew, k);
        assert.equal(cs.length, p.challengesPerPartition);
        for (const c of cs) assert.ok(c >= k * slice && c < (k + 1) * slice, `${nodes}: ${c} in partition ${k}`);
      }
    }
  });

  it('hashes with the custom tag 2^40 through the plain permutation too (independent form)', () => {
    const c = { ...poseidonConstants(2), domainTag: GEN_RANDOMNESS_DOMAIN_TAG };
    for (const [a, b] of [
      [0n, 0n],
      [1n, 2n],
      [FR_MODULUS - 1n, 12345n],
    ] as const) {
      const s = [GEN_RANDOMNESS_DOMAIN_TAG, a, b];
      plainPermute(s, c);
      assert.equal(genRandomnessHash(a, b), s[1]);
      // and it is not the Merkle-tagged hash
      assert.notEqual(genRandomnessHash(a, b), poseidonHashPlain([a, b]));
    }
  });

  it('rho picks by the h high bits of the node, and inverts', () => {
    const phi = updatePhi(frToBytes(7n), frToBytes(9n));
    const r = new Rhos(phi, 1, 64);
    assert.equal(r.get(0), updateRho(phi, 0));
    assert.equal(r.get(31), updateRho(phi, 0));
    assert.equal(r.get(32), updateRho(phi, 1));
    assert.equal(r.get(63), updateRho(phi, 1));
    assert.equal((r.get(40) * r.getInverse(40)) % FR_MODULUS, 1n);
    const r10 = new Rhos(phi, 10, 1 << 18);
    assert.equal(r10.get((1 << 18) - 1), updateRho(phi, 1023));
    assert.equal(r10.get(255), updateRho(phi, 0));
    assert.equal(r10.get(256), updateRho(phi, 1));
  });
});
