/**
 * The update's SNARK boundary, like C2's (prover/types.ts): the vanilla partition proofs go to a prover
 * and the proof bytes ProveReplicaUpdates3 carries come back.
 *
 * - `vanilla` (default): verifies the partition proofs and returns the compact "FVSU" bytes (bytes.ts), which
 *   the embedded devnet verifies in full.
 * - `external`: damocles' `snap_prove` stage (vc-processors `builtin/tasks.rs` `SnapProve`,
 *   docs/spec/snap.md §snap_prove stage) for a Groth16 prover built on rust-fil-proofs:
 *
 *     task   {registered_proof: "StackedDrg32GiBV1", vannilla_proofs: [[u8…] per partition],
 *             comm_r_old: [32], comm_r_new: [32], comm_d_new: [32]}
 *     output [u8…]  (rust `EmptySectorUpdateProof`: 192 bytes per partition; base64 accepted too)
 *
 *   `vannilla_proofs` (damocles' spelling) holds rust's `PartitionProofBytes`, bincode of each
 *   `PartitionProof` (bytes.ts `partitionProofToBincode`).
 */
import { bytesFromOutput, type ProcessorTransport } from '../prover/external.js';
import type { ProverKind } from '../prover/types.js';
import { encodeUpdateProof, partitionProofToBincode } from './bytes.js';
import { type UpdateProofInfo, updateProof } from './constants.js';
import { type UpdatePartitionProof, whyUpdateProofsFail } from './vanilla.js';

/** The stage name damocles gives the update's SNARK step. */
export const SNAP_PROVE_STAGE = 'snap_prove';

export interface SnapProveRequest {
  /** Registered update proof (id, name or info). */
  updateProof: number | string | UpdateProofInfo;
  /** One per partition, in partition order. */
  vanillaProofs: readonly UpdatePartitionProof[];
  commROld: Uint8Array;
  commRNew: Uint8Array;
  commDNew: Uint8Array;
}

export interface UpdateProver {
  readonly kind: ProverKind;
  /** The update proof bytes ProveReplicaUpdates3 carries. */
  snapProve(req: SnapProveRequest, signal?: AbortSignal): Promise<Uint8Array>;
}

function info(p: SnapProveRequest['updateProof']): UpdateProofInfo {
  return typeof p === 'object' ? p : updateProof(p);
}

/** `snap_prove` without a SNARK: checks the vanilla proofs (as rust checks its SNARK) and encodes them. */
export class VanillaUpdateProver implements UpdateProver {
  readonly kind = 'vanilla' as const;

  async snapProve(req: SnapProveRequest): Promise<Uint8Array> {
    const p = info(req.updateProof);
    const why = whyUpdateProofsFail(p.sectorSize, req, req.vanillaProofs);
    if (why) throw new Error(`snap_prove: the vanilla update proofs do not verify: ${why}`);
    return encodeUpdateProof(p.id, p.sectorSize, req.vanillaProofs);
  }
}

/** The `snap_prove` task in vc-processors' serde form. */
export function snapProveTask(req: SnapProveRequest): Record<string, unknown> {
  const p = info(req.updateProof);
  return {
    registered_proof: p.name,
    vannilla_proofs: req.vanillaProofs.map((v) => Array.from(partitionProofToBincode(v))),
    comm_r_old: Array.from(req.commROld),
    comm_r_new: Array.from(req.commRNew),
    comm_d_new: Array.from(req.commDNew),
  };
}

/** `snap_prove` through an external processor (a rust/GPU SNARK prover). */
export class ExternalUpdateProver implements UpdateProver {
  readonly kind = 'external' as const;

  constructor(private readonly snapProveTransport: ProcessorTransport) {}

  async snapProve(req: SnapProveRequest, signal?: AbortSignal): Promise<Uint8Array> {
    const out = await this.snapProveTransport.run(snapProveTask(req), signal);
    const raw = typeof out === 'object' && out !== null && !Array.isArray(out) && 'proof' in out ? out.proof : out;
    const proof = bytesFromOutput(raw, 'snap_prove output');
    if (proof.length === 0) throw new Error('snap_prove processor returned an empty proof');
    return proof;
  }
}
