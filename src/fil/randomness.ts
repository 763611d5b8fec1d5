/**
 * Filecoin randomness drawing (lotus chain/rand/rand.go; go-state-types crypto/randomness.go).
 *
 *   drawRandomnessFromDigest(digest, tag, round, entropy) =
 *       blake2b-256( int64BE(tag) ‖ digest(32) ‖ int64BE(round) ‖ entropy )
 *   drawRandomness(rbase, …) = drawRandomnessFromDigest(blake2b-256(rbase), …)
 *
 * `round` may be negative (two's complement), as ticket epochs on a young chain are. For chain (ticket)
 * randomness the digest is blake2b-256 of the min ticket's VRFProof; for beacon randomness blake2b-256 of the
 * drand entry's Data. The miner flows use the CBOR of the miner's ID address as entropy (minerEntropy).
 */
import { type Address, Protocol } from './address.js';
import { blake2b256 } from './bytes.js';
import { encodeCbor } from './cbor.js';
import { FilError } from './errors.js';

/** Domain separation tags (int64 on the wire). */
export enum DomainSeparationTag {
  TicketProduction = 1,
  ElectionProofProduction = 2,
  WinningPoStChallengeSeed = 3,
  WindowedPoStChallengeSeed = 4,
  SealRandomness = 5,
  InteractiveSealChallengeSeed = 6,
  WindowedPoStDeadlineAssignment = 7,
  MarketDealCronSeed = 8,
  PoStChainCommit = 9,
  EvmPrevRandao = 10,
}

const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;

function int64BE(v: number | bigint, what: string): Uint8Array {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw new FilError(`${what} must be an integer, got ${v}`);
  const b = BigInt(v);
  if (b < I64_MIN || b > I64_MAX) throw new FilError(`${what} ${v} does not fit int64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, b, false);
  return out;
}

/** Randomness from a 32-byte digest (VRF proof digest or beacon digest). */
export function drawRandomnessFromDigest(
  digest: Uint8Array,
  tag: DomainSeparationTag | number,
  round: number | bigint,
  entropy: Uint8Array = new Uint8Array(0),
): Uint8Array {
  if (digest.length !== 32) throw new FilError(`randomness digest must be 32 bytes, got ${digest.length}`);
  const t = int64BE(tag, 'domain separation tag');
  const r = int64BE(round, 'randomness round');
  const buf = new Uint8Array(8 + 32 + 8 + entropy.length);
  buf.set(t, 0);
  buf.set(digest, 8);
  buf.set(r, 40);
  buf.set(entropy, 48);
  return blake2b256(buf);
}

/** Randomness from a base (hashed to the digest first): Lotus DrawRandomnessFromBase. */
export function drawRandomness(
  rbase: Uint8Array,
  tag: DomainSeparationTag | number,
  round: number | bigint,
  entropy: Uint8Array = new Uint8Array(0),
): Uint8Array {
  return drawRandomnessFromDigest(blake2b256(rbase), tag, round, entropy);
}

/** Entropy the sealing and PoSt flows use: the CBOR of the miner's ID address (f01000 → 43 00 e8 07). */
export function minerEntropy(miner: Address): Uint8Array {
  if (miner.protocol !== Protocol.ID) throw new FilError(`miner entropy needs an ID address, got ${miner}`);
  return encodeCbor(miner.bytes());
}

/**
 * Clears the top two bits of the last byte so the 32 bytes are a valid BLS12-381 field element, as the
 * sector manager does before handing tickets, seeds and PoSt randomness to the prover. Returns a copy.
 */
export function randomnessToFr32(randomness: Uint8Array): Uint8Array {
  if (randomness.length !== 32) throw new FilError(`randomness must be 32 bytes, got ${randomness.length}`);
  const out = randomness.slice();
  out[31]! &= 0x3f;
  return out;
}
