/**
 * The benchmark's seal proofs: blake2b-256 of the sector's public inputs (seal proof, miner, number, ticket, seed,
 * CommR, CommD). A simulated worker computes it for each sector; the manager under test gets a verifier that
 * recomputes and compares it on every SubmitProof, in place of the vanilla PoRep check (which needs a sealed
 * replica per sector, out of reach at hundreds of sectors a minute).
 */

import { blake2b256, concatBytes, encodeCbor } from '../../fil/index.js';
import type { SealVerifier, SealVerifyInput } from '../../manager/prover.js';

export function digestSealProof(i: Omit<SealVerifyInput, 'proof'>): Uint8Array {
  return blake2b256(
    concatBytes(encodeCbor([i.sealProof, i.minerId, i.sectorNumber]), i.ticket, i.seed, i.commR, i.commD),
  );
}

export const digestVerifier: SealVerifier = {
  async verifySeal(i) {
    const want = digestSealProof(i);
    return want.length === i.proof.length && want.every((b, k) => b === i.proof[k]);
  },
};
