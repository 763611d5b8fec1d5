/**
 * The devnet's proof format and its verification with the proofs module (no SNARKs: Groth16 is not available
 * to the devnet).
 *
 * - Seal proof (ProveCommitSectors3 SectorProofs[i]): vanilla seal proof bytes ("FVSP", proofs/prover/vanilla.ts),
 *   what the worker's C2 writes; verified in full against the chain's comm_r, comm_d, ticket, seed and the replica
 *   id (miner's prover id, sector number, ticket, comm_d, porep id). The JSON C1 output earlier versions sent is
 *   still accepted (proofs/prover/check.ts).
 * - Aggregate seal proof: DAG-CBOR array of the per-sector seal proofs (byte strings), in the order the
 *   message lists the sectors.
 * - Window PoSt (SubmitWindowedPoSt Proofs[0].ProofBytes): vanilla PoSt bytes ("FVPT"), one proof per distinct
 *   challenged sector (a faulty sector's stand-in is the first good sector, as rust's BTreeMap of replicas
 *   keeps them), verified against the chain's WindowedPoStChallengeSeed (top two bits cleared), the miner's
 *   prover id and the sectors' CommR. Earlier versions' JSON list of sector proofs is still accepted.
 */

import { logger } from '../common/log.js';
import { CID, cidToCommD, cidToCommR, decodeCbor, expectArray, expectBytes } from '../fil/index.js';
import { whySealProofFails, whyWindowPoStFails } from '../proofs/index.js';
import type { AggregateSealVerifyInfo, SealVerifyInfo, WindowPoStVerifyInfo } from './runtime.js';
import type { VanillaProofBackend } from './verifier.js';

const log = logger('devnet.proofs');

/** Why a seal proof is refused, or undefined when it verifies. */
export function checkVanillaSealProof(i: SealVerifyInfo): string | undefined {
  return whySealProofFails({
    sealProof: i.sealProof,
    minerId: i.minerId,
    sectorNumber: i.sectorNumber,
    ticket: i.ticket,
    seed: i.seed,
    commR: cidToCommR(CID.decode(i.sealedCid)),
    commD: cidToCommD(CID.decode(i.unsealedCid)),
    proof: i.proof,
  });
}

/** Why a Window PoSt is refused, or undefined when it verifies. */
export function checkVanillaWindowPoSt(i: WindowPoStVerifyInfo): string | undefined {
  return whyWindowPoStFails({
    minerId: i.minerId,
    randomness: i.randomness,
    proofs: i.proofs,
    sectors: i.challengedSectors.map((s) => ({
      sectorNumber: s.sectorNumber,
      commR: cidToCommR(CID.decode(s.sealedCid)),
    })),
  });
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
