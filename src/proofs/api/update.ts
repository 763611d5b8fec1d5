/**
 * SnapDeals, one function per step, named as rust-fil-proofs' `filecoin-proofs/src/api/update.rs` (and
 * rust-filecoin-proofs-api `update.rs`) name them; docs/spec/snap.md has what each step computes.
 *
 *   encodeInto → generateUpdateVanillaProofs → generateUpdateProof (snap_prove) → verifyUpdateProof;
 *   decodeFrom to read the data back (unseal of an updated sector); removeData to get the sector key back.
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { updateProofForSectorSize } from '../update/constants.js';
import {
  type DecodeSectorOptions,
  decodeSector,
  type EncodeSectorOptions,
  type EncodeSectorResult,
  encodeSector,
  type RemoveSectorDataOptions,
  removeSectorData,
} from '../update/encode.js';
import { type SnapProveRequest, type UpdateProver, VanillaUpdateProver } from '../update/prover.js';
import {
  proveUpdatePartitions,
  type UpdatePartitionProof,
  type UpdateProveOptions,
  type UpdatePublicInputs,
  whyUpdateProofsFail,
} from '../update/vanilla.js';
import { type UpdateVerifyInput, whyUpdateProofFails } from '../update/verify.js';

/** rust `encode_into`: the updated replica and its cache from the sector key and the new (staged) data. */
export async function encodeInto(o: EncodeSectorOptions): Promise<EncodeSectorResult> {
  await mkdir(dirname(o.newReplicaPath), { recursive: true });
  return encodeSector(o);
}

/** rust `decode_from` / `decode_from_range`: the data (Fr32-padded) back from the updated replica. */
export function decodeFrom(o: DecodeSectorOptions): Promise<void> {
  return decodeSector(o);
}

/** rust `remove_encoded_data`: the sector key back from the updated replica and the data. */
export function removeData(o: RemoveSectorDataOptions): Promise<Uint8Array> {
  return removeSectorData(o);
}

/**
 * rust `generate_partition_proofs` (all partitions) or `generate_single_partition_proof` (`partitions`):
 * the vanilla proofs, each checked before it is returned as rust checks its Merkle proofs.
 */
export async function generateUpdateVanillaProofs(o: UpdateProveOptions): Promise<UpdatePartitionProof[]> {
  const proofs = await proveUpdatePartitions(o);
  if (!o.partitions) {
    const why = whyUpdateProofsFail(o.sectorSize, o, proofs);
    if (why) throw new Error(`snap: the generated vanilla proofs do not verify: ${why}`);
  }
  return proofs;
}

/** rust `verify_partition_proofs`: true when every partition proof verifies (never throws on a bad proof). */
export function verifyUpdateVanillaProofs(
  sectorSize: number,
  pub: UpdatePublicInputs,
  proofs: readonly UpdatePartitionProof[],
): boolean {
  try {
    return whyUpdateProofsFail(sectorSize, pub, proofs) === undefined;
  } catch {
    return false;
  }
}

export interface GenerateUpdateProofOptions extends Omit<SnapProveRequest, 'updateProof'> {
  sectorSize: number;
  /** Default: the vanilla prover (the bytes the embedded devnet verifies). */
  prover?: UpdateProver;
  signal?: AbortSignal;
}

/** rust `generate_empty_sector_update_proof_with_vanilla` (damocles' `snap_prove` stage). */
export function generateUpdateProof(o: GenerateUpdateProofOptions): Promise<Uint8Array> {
  const prover = o.prover ?? new VanillaUpdateProver();
  return prover.snapProve({ ...o, updateProof: updateProofForSectorSize(o.sectorSize) }, o.signal);
}

/** rust `verify_empty_sector_update_proof` for vanilla update proof bytes; throws with the reason when refused. */
export function verifyUpdateProof(i: UpdateVerifyInput): void {
  const why = whyUpdateProofFails(i);
  if (why) throw new Error(`update proof refused: ${why}`);
}
