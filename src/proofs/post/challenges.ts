/**
 * PoSt challenges (storage-proofs-post `fallback/{vanilla,utils}.rs`, filecoin-proofs `api/post_util.rs`):
 *
 * - sector challenge (Winning PoSt sector selection):
 *     u64_le(SHA256(prover_id ‖ randomness ‖ u64_le(n))[0..8]) mod sector_set_len
 * - leaf challenge of a sector:
 *     u64_le(SHA256(randomness ‖ u64_le(sector_id) ‖ u64_le(challenge_index))[0..8]) mod (sector_size / 32)
 *   with challenge_index = n for API 1.2 (Window PoSt since nv19: the grinding fix), and
 *   sector_index · challenge_count + n before (Winning PoSt, API 1.0: the one sector, n = 0..65).
 *
 * randomness and prover_id must be field elements (`as_safe_commitment`); Lotus clears the top two bits of
 * the chain randomness before calling (see `postRandomness`).
 */
import { createHash } from 'node:crypto';
import { isCanonicalFr } from '../poseidon/index.js';
import { type ApiVersion, compareApiVersion, type PoStProofInfo } from '../registry.js';

function u64le(v: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/** rust `as_safe_commitment`: 32 bytes that are a canonical field element, else an error naming it. */
export function checkSafeCommitment(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new RangeError(`${what} must be 32 bytes`);
  if (!isCanonicalFr(b)) throw new RangeError(`Invalid commitment (${what}): not a field element`);
}

/** The chain randomness as PoSt takes it: a copy with the top two bits cleared (Lotus does this). */
export function postRandomness(randomness: Uint8Array): Uint8Array {
  if (randomness.length !== 32) throw new RangeError('randomness must be 32 bytes');
  const out = Uint8Array.from(randomness);
  out[31] &= 0x3f;
  return out;
}

/** rust `generate_sector_challenge`: the index of the n-th challenged sector in a set of `setLen`. */
export function sectorChallenge(
  randomness: Uint8Array,
  n: number,
  setLen: bigint | number,
  proverId: Uint8Array,
): bigint {
  checkSafeCommitment(randomness, 'randomness');
  checkSafeCommitment(proverId, 'prover_id');
  if (BigInt(setLen) <= 0n) throw new RangeError('empty sector set is invalid');
  const h = createHash('sha256').update(proverId).update(randomness).update(u64le(n)).digest();
  return h.readBigUInt64LE(0) % BigInt(setLen);
}

/**
 * Winning PoSt sector selection (`generate_winning_post_sector_challenge`): the indexes into the miner's
 * eligible sector set of the sectors to prove (one: WINNING_POST_SECTOR_COUNT).
 */
export function winningPostSectorChallenge(
  randomness: Uint8Array,
  setLen: bigint | number,
  proverId: Uint8Array,
  sectorCount = 1,
): bigint[] {
  return Array.from({ length: sectorCount }, (_, n) => sectorChallenge(randomness, n, setLen, proverId));
}

/** rust `get_challenge_index`. */
export function challengeIndex(api: ApiVersion, sectorIndex: number, challengeCount: number, n: number): number {
  return compareApiVersion(api, '1.2.0') >= 0 ? n : sectorIndex * challengeCount + n;
}

/** rust `generate_leaf_challenge`: the leaf a challenge index opens in a sector. */
export function leafChallenge(
  randomness: Uint8Array,
  sectorId: bigint | number,
  index: number,
  sectorSize: number,
): number {
  const h = createHash('sha256').update(randomness).update(u64le(sectorId)).update(u64le(index)).digest();
  return Number(h.readBigUInt64LE(0) % BigInt(sectorSize / 32));
}

/**
 * The leaves challenged in one sector (`generate_fallback_sector_challenges` for that sector): Window
 * PoSt 10, Winning PoSt 66. `sectorIndex` is the sector's position in the sorted list of proven sectors
 * (it matters only before API 1.2; Winning's single sector is 0).
 */
export function postLeafChallenges(
  proof: Pick<PoStProofInfo, 'apiVersion' | 'challengeCount' | 'sectorSize'>,
  randomness: Uint8Array,
  sectorId: bigint | number,
  sectorIndex = 0,
): number[] {
  checkSafeCommitment(randomness, 'randomness');
  const out: number[] = [];
  for (let n = 0; n < proof.challengeCount; n++) {
    out.push(
      leafChallenge(
        randomness,
        sectorId,
        challengeIndex(proof.apiVersion, sectorIndex, proof.challengeCount, n),
        proof.sectorSize,
      ),
    );
  }
  return out;
}
