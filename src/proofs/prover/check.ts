/**
 * The chain-side checks of vanilla proof bytes, shared by the devnet (which verifies what lands on chain) and
 * the sector-manager (which checks a worker's proof before sending it, and its own Window PoSt before
 * submitting it). They answer why a proof fails, or undefined when it proves the sector(s).
 *
 * Two encodings are accepted: the compact, versioned one of vanilla.ts ("FVSP" seal / "FVPT" PoSt), which every
 * prover of this project writes, and the JSON ones that earlier versions wrote (the C1 output as the seal proof,
 * a serde JSON list of `FallbackPoStSectorProof` as the Window PoSt), so a sector proven before an upgrade still
 * lands. Both are verified in full against the chain's public inputs.
 */
import { bytesEqual } from '../../fil/index.js';
import { decodeC1Output } from '../porep/c1.js';
import { PorepVerifyError, verifyPorepProofsOrThrow } from '../porep/verify.js';
import { postRandomness } from '../post/challenges.js';
import {
  type FallbackPoStSectorProof,
  fallbackSectorProofFromJson,
  type PoStPublicSector,
  PoStVerifyError,
  verifyPoStVanillaOrThrow,
} from '../post/vanilla.js';
import { sealProof } from '../registry.js';
import { generateReplicaId, proverIdFromActorId } from '../sdr/index.js';
import type { PoStProof } from './types.js';
import {
  isVanillaPoStProof,
  isVanillaSealProof,
  ProofRejected,
  verifySealProofOrThrow,
  verifyWindowPoStProofOrThrow,
} from './vanilla.js';

/** What the chain knows of a ProveCommit (builtin-actors SealVerifyInfo, commitments as 32 bytes). */
export interface ChainSealCheck {
  sealProof: number;
  minerId: number | bigint;
  sectorNumber: number | bigint;
  /** SealRandomness and InteractiveSealChallengeSeed as drawn from the chain (full 32 bytes). */
  ticket: Uint8Array;
  seed: Uint8Array;
  commR: Uint8Array;
  commD: Uint8Array;
  proof: Uint8Array;
}

/** Why the seal proof bytes do not prove the sector, or undefined when they do. */
export function whySealProofFails(i: ChainSealCheck): string | undefined {
  // ticket and seed as the prover used them: the top two bits of the last byte cleared (postRandomness does that)
  const ticket = postRandomness(i.ticket);
  const seed = postRandomness(i.seed);
  if (isVanillaSealProof(i.proof)) {
    try {
      verifySealProofOrThrow({
        sealProof: i.sealProof,
        minerId: BigInt(i.minerId),
        sectorId: BigInt(i.sectorNumber),
        ticket,
        seed,
        commR: i.commR,
        commD: i.commD,
        proof: i.proof,
      });
      return undefined;
    } catch (e) {
      if (e instanceof ProofRejected || e instanceof RangeError) return e.message;
      throw e;
    }
  }
  // the JSON C1 output of earlier versions
  let o: ReturnType<typeof decodeC1Output>;
  try {
    o = decodeC1Output(i.proof);
  } catch (e) {
    return `neither vanilla seal proof bytes nor a C1 output: ${(e as Error).message}`;
  }
  if (o.registeredProof.id !== i.sealProof)
    return `proof is for seal proof ${o.registeredProof.id}, the sector uses ${i.sealProof}`;
  const cfg = sealProof(i.sealProof);
  const replicaId = generateReplicaId(proverIdFromActorId(i.minerId), i.sectorNumber, ticket, i.commD, cfg.porepId);
  if (!bytesEqual(o.commR, i.commR)) return 'comm_r differs from the pre-committed sealed CID';
  if (!bytesEqual(o.commD, i.commD)) return 'comm_d differs from the pre-committed unsealed CID';
  if (!bytesEqual(o.ticket, ticket)) return 'ticket differs from the chain randomness at SealRandEpoch';
  if (!bytesEqual(o.seed, seed)) return 'seed differs from the chain randomness at the seed epoch';
  if (!bytesEqual(o.replicaId, replicaId)) return 'replica id differs (miner, sector number, ticket or comm_d)';
  try {
    verifyPorepProofsOrThrow(cfg, { replicaId, commD: i.commD, commR: i.commR, seed }, o.vanillaProofs);
  } catch (e) {
    if (e instanceof PorepVerifyError) return e.message;
    throw e;
  }
  return undefined;
}

/** What the chain knows of a SubmitWindowedPoSt. */
export interface ChainWindowPoStCheck {
  minerId: number | bigint;
  /** WindowedPoStChallengeSeed as drawn from the chain (full 32 bytes). */
  randomness: Uint8Array;
  /** as submitted: exactly one */
  proofs: readonly PoStProof[];
  /** the partitions' sectors to prove, any order; a skipped sector's stand-in may repeat a good one */
  sectors: readonly { sectorNumber: number | bigint; commR: Uint8Array }[];
}

/** Why the Window PoSt proof does not prove the sectors, or undefined when it does. */
export function whyWindowPoStFails(i: ChainWindowPoStCheck): string | undefined {
  if (i.proofs.length !== 1) return `expected one proof, got ${i.proofs.length}`;
  const { postProof, proofBytes } = i.proofs[0]!;
  // one proof per distinct sector, as rust's BTreeMap of replicas keeps them
  const unique = new Map<bigint, PoStPublicSector>();
  for (const s of i.sectors) {
    const id = BigInt(s.sectorNumber);
    if (!unique.has(id)) unique.set(id, { sectorId: id, commR: s.commR });
  }
  const sectors = [...unique.values()].sort((a, b) => (a.sectorId < b.sectorId ? -1 : 1));
  try {
    if (isVanillaPoStProof(proofBytes)) {
      verifyWindowPoStProofOrThrow({ randomness: i.randomness, minerId: i.minerId, proofs: i.proofs, sectors });
      return undefined;
    }
    // the JSON list of earlier versions
    let proofs: FallbackPoStSectorProof[];
    try {
      const v = JSON.parse(new TextDecoder().decode(proofBytes)) as unknown;
      if (!Array.isArray(v)) return 'proof bytes are neither vanilla PoSt bytes nor a JSON array of sector proofs';
      proofs = v.map((x) => fallbackSectorProofFromJson(postProof, x));
    } catch (e) {
      return `neither vanilla PoSt bytes nor JSON sector proofs: ${(e as Error).message}`;
    }
    verifyPoStVanillaOrThrow(
      postProof,
      { randomness: postRandomness(i.randomness), proverId: proverIdFromActorId(i.minerId), sectors },
      proofs,
    );
    return undefined;
  } catch (e) {
    if (e instanceof ProofRejected || e instanceof PoStVerifyError || e instanceof RangeError) return e.message;
    throw e;
  }
}
