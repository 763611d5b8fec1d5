/**
 * What a chain verifier calls for ProveReplicaUpdates3 with vanilla update proof bytes (bytes.ts "FVSU"):
 * `verifyUpdateVanilla` answers true or false and never throws, `whyUpdateProofFails` says why.
 * The public inputs are what the chain knows: the update proof type (or the sector's seal proof, or its
 * size), comm_r_old (the sector's SealedCID before), comm_r_new and comm_d_new (the new SealedCID and
 * UnsealedCID), as 32-byte commitments.
 */

import { decodeUpdateProof, UpdateProofRejected } from './bytes.js';
import { updateProof, updateProofForSealProof, updateProofForSectorSize } from './constants.js';
import { whyUpdateProofsFail } from './vanilla.js';

export interface UpdateVerifyInput {
  /** The registered update proof (id or name); or give `sealProof` or `sectorSize`. */
  updateProof?: number | string;
  /** Same as `updateProof` (the message's UpdateProofsType). */
  proofType?: number | string;
  /** The sector's registered seal proof (its update proof is the size's `StackedDrg…V1`). */
  sealProof?: number | string;
  sectorSize?: number;
  commROld: Uint8Array;
  commRNew: Uint8Array;
  commDNew: Uint8Array;
  proofBytes: Uint8Array;
}

function expectedProof(i: UpdateVerifyInput): { id: number; sectorSize: number } {
  const id = i.updateProof ?? i.proofType;
  if (id !== undefined) {
    const p = updateProof(id);
    return { id: p.id, sectorSize: p.sectorSize };
  }
  if (i.sealProof !== undefined) {
    const p = updateProofForSealProof(i.sealProof);
    return { id: p.id, sectorSize: p.sectorSize };
  }
  if (i.sectorSize !== undefined) {
    const p = updateProofForSectorSize(i.sectorSize);
    return { id: p.id, sectorSize: p.sectorSize };
  }
  throw new RangeError('updateProof, sealProof or sectorSize is needed');
}

/** Why the update proof is refused, or undefined when it verifies. Never throws. */
export function whyUpdateProofFails(i: UpdateVerifyInput): string | undefined {
  try {
    const want = expectedProof(i);
    for (const [name, v] of [
      ['comm_r_old', i.commROld],
      ['comm_r_new', i.commRNew],
      ['comm_d_new', i.commDNew],
    ] as const) {
      if (!(v instanceof Uint8Array) || v.length !== 32) return `${name} must be 32 bytes`;
      if (v.every((b) => b === 0)) return `${name} is all zero`;
    }
    if (!(i.proofBytes instanceof Uint8Array)) return 'proof bytes are missing';
    const d = decodeUpdateProof(i.proofBytes, { commRNew: i.commRNew, commDNew: i.commDNew });
    if (d.updateProof !== want.id) return `the proof is for update proof ${d.updateProof}, the sector needs ${want.id}`;
    return whyUpdateProofsFail(want.sectorSize, i, d.proofs);
  } catch (e) {
    if (e instanceof UpdateProofRejected) return e.message;
    return `malformed input: ${(e as Error).message}`;
  }
}

/** True when the vanilla update proof bytes verify against the public inputs; false otherwise (never throws). */
export function verifyUpdateVanilla(i: UpdateVerifyInput): boolean {
  return whyUpdateProofFails(i) === undefined;
}
