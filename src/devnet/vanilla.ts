/**
 * The devnet's proof format and its verification with the proofs module (no SNARKs: Groth16 is not available
 * to the devnet).
 *
 * - Seal proof (ProveCommitSectors3 SectorProofs[i]): the C1 output, rust-filecoin-proofs-api
 *   `SealCommitPhase1Output` as serde JSON bytes (what the worker's C1 writes). Verified in full: the
 *   output's comm_r, comm_d, ticket, seed and replica id must be the chain's (ticket and seed with the top two
 *   bits of the last byte cleared, as the prover gets them; replica id from the miner's prover id, the
 *   sector number, the ticket, comm_d and the proof's porep_id), and every vanilla challenge proof verifies.
 * - Aggregate seal proof: DAG-CBOR array of the per-sector seal proofs (byte strings), in the order the
 *   message lists the sectors.
 * - Window PoSt (SubmitWindowedPoSt Proofs[0].ProofBytes): serde JSON bytes of `Vec<FallbackPoStSectorProof>`, one
 *   vanilla proof per challenged sector (the actors' list deduplicated by sector number, as rust's BTreeMap of
 *   replicas does; a faulty sector's stand-in is the first good sector), verified against the chain's
 *   WindowedPoStChallengeSeed randomness (top two bits cleared), the miner's prover id and the sectors' CommR.
 */

import { logger } from '../common/log.js';
import {
  bytesEqual,
  CID,
  cidToCommD,
  cidToCommR,
  decodeCbor,
  expectArray,
  expectBytes,
  randomnessToFr32,
} from '../fil/index.js';
import { sealProof } from '../proofs/index.js';
import { decodeC1Output } from '../proofs/porep/c1.js';
import { PorepVerifyError, verifyPorepProofsOrThrow } from '../proofs/porep/verify.js';
import { postRandomness } from '../proofs/post/challenges.js';
import {
  type FallbackPoStSectorProof,
  fallbackSectorProofFromJson,
  PoStVerifyError,
  verifyPoStVanillaOrThrow,
} from '../proofs/post/vanilla.js';
import { generateReplicaId, proverIdFromActorId } from '../proofs/sdr/index.js';
import type { AggregateSealVerifyInfo, SealVerifyInfo, WindowPoStVerifyInfo } from './runtime.js';
import type { VanillaProofBackend } from './verifier.js';

const log = logger('devnet.proofs');

/** Why a seal proof is refused, or undefined when it verifies. */
export function checkVanillaSealProof(i: SealVerifyInfo): string | undefined {
  let o: ReturnType<typeof decodeC1Output>;
  try {
    o = decodeC1Output(i.proof);
  } catch (e) {
    return `not a C1 output: ${(e as Error).message}`;
  }
  if (o.registeredProof.id !== i.sealProof) {
    return `proof is for seal proof ${o.registeredProof.id}, the sector was pre-committed with ${i.sealProof}`;
  }
  const cfg = sealProof(i.sealProof);
  const commR = cidToCommR(CID.decode(i.sealedCid));
  const commD = cidToCommD(CID.decode(i.unsealedCid));
  const ticket = randomnessToFr32(i.ticket);
  const seed = randomnessToFr32(i.seed);
  const replicaId = generateReplicaId(proverIdFromActorId(i.minerId), i.sectorNumber, ticket, commD, cfg.porepId);
  if (!bytesEqual(o.commR, commR)) return 'comm_r differs from the pre-committed sealed CID';
  if (!bytesEqual(o.commD, commD)) return 'comm_d differs from the pre-committed unsealed CID';
  if (!bytesEqual(o.ticket, ticket)) return 'ticket differs from the chain randomness at SealRandEpoch';
  if (!bytesEqual(o.seed, seed)) return 'seed differs from the chain randomness at the seed epoch';
  if (!bytesEqual(o.replicaId, replicaId)) return 'replica id differs (miner, sector number, ticket or comm_d)';
  try {
    verifyPorepProofsOrThrow(cfg, { replicaId, commD, commR, seed }, o.vanillaProofs);
  } catch (e) {
    if (e instanceof PorepVerifyError) return e.message;
    throw e;
  }
  return undefined;
}

/** Why a Window PoSt is refused, or undefined when it verifies. */
export function checkVanillaWindowPoSt(i: WindowPoStVerifyInfo): string | undefined {
  if (i.proofs.length !== 1) return `expected one proof, got ${i.proofs.length}`;
  const { postProof, proofBytes } = i.proofs[0]!;
  let proofs: FallbackPoStSectorProof[];
  try {
    const v = JSON.parse(new TextDecoder().decode(proofBytes)) as unknown;
    if (!Array.isArray(v)) return 'proof bytes are not a JSON array of sector proofs';
    proofs = v.map((x) => fallbackSectorProofFromJson(postProof, x));
  } catch (e) {
    return `not vanilla Window PoSt proofs: ${(e as Error).message}`;
  }
  const unique = new Map<number, { sectorId: bigint; commR: Uint8Array }>();
  for (const s of i.challengedSectors) {
    unique.set(s.sectorNumber, { sectorId: BigInt(s.sectorNumber), commR: cidToCommR(CID.decode(s.sealedCid)) });
  }
  try {
    verifyPoStVanillaOrThrow(
      postProof,
      {
        randomness: postRandomness(i.randomness),
        proverId: proverIdFromActorId(i.minerId),
        sectors: [...unique.values()],
      },
      proofs,
    );
  } catch (e) {
    if (e instanceof PoStVerifyError || e instanceof RangeError) return e.message;
    throw e;
  }
  return undefined;
}

export class VanillaBackend implements VanillaProofBackend {
  async verifySeal(i: SealVerifyInfo): Promise<boolean> {
    const why = checkVanillaSealProof(i);
    if (why) log.warn({ miner: i.minerId, sector: i.sectorNumber, why }, 'seal proof rejected');
    return why === undefined;
  }

  async verifyAggregateSeals(a: AggregateSealVerifyInfo): Promise<boolean> {
    let parts: Uint8Array[];
    try {
      parts = expectArray(decodeCbor(a.proof), 'aggregate proof').map((p, i) => expectBytes(p, `proof ${i}`));
    } catch (e) {
      log.warn({ miner: a.minerId, why: (e as Error).message }, 'aggregate proof rejected');
      return false;
    }
    if (parts.length !== a.infos.length) {
      log.warn({ miner: a.minerId, proofs: parts.length, sectors: a.infos.length }, 'aggregate proof rejected');
      return false;
    }
    for (let k = 0; k < parts.length; k++) {
      const ok = await this.verifySeal({
        ...a.infos[k]!,
        sealProof: a.sealProof,
        minerId: a.minerId,
        proof: parts[k]!,
      });
      if (!ok) return false;
    }
    return true;
  }

  async verifyWindowPoSt(i: WindowPoStVerifyInfo): Promise<boolean> {
    const why = checkVanillaWindowPoSt(i);
    if (why) log.warn({ miner: i.minerId, why }, 'Window PoSt rejected');
    return why === undefined;
  }
}
