/**
 * The vanilla PoRep proof of one challenge, field for field as rust-fil-proofs' `stacked::Proof<Tree,
 * Sha256Hasher>` (storage-proofs-porep `stacked/vanilla/{params,column_proof,column,labeling_proof,
 * encoding_proof}.rs`):
 *
 *   comm_d_proofs          TreeD inclusion of the challenged node (leaf = unsealed data node)
 *   comm_r_last_proof      TreeR-last inclusion (leaf = replica node)
 *   replica_column_proofs  { c_x, drg_parents[6], exp_parents[8] }: each a column (the node's labels on
 *                          layers 1..L) with its TreeC inclusion proof (leaf = column hash)
 *   labeling_proofs[L]     { parents: 37 labels, layer_index, node } recomputing label_L[c]
 *   encoding_proof         the last layer's labeling proof again: key = label, replica = key + data
 *
 * `proofFromParts` builds the labeling and encoding proofs from the column openings exactly as rust's
 * `Proof::from_parts` does (layer 1: the 6 DRG labels of layer 1; layer L > 1: the 6 DRG labels of layer L
 * then the 8 expander labels of layer L−1; cycled to 37 entries).
 */
import { createHash } from 'node:crypto';
import type { InclusionProof } from '../inclusion/proof.js';
import { BASE_DEGREE, EXP_DEGREE, TOTAL_PARENTS } from '../registry.js';

export interface Column {
  /** The node (u32). */
  index: number;
  /** Labels of layers 1..L at the node. */
  rows: Uint8Array[];
}

export interface ColumnProof {
  column: Column;
  /** TreeC inclusion of the column hash. */
  inclusionProof: InclusionProof;
}

export interface ReplicaColumnProof {
  cX: ColumnProof;
  drgParents: ColumnProof[];
  expParents: ColumnProof[];
}

/** rust `LabelingProof` (and `EncodingProof`, which has the same fields). */
export interface LabelingProof {
  /** 37 parent labels, repeated as hashed. */
  parents: Uint8Array[];
  /** 1-based layer (u32). */
  layerIndex: number;
  /** The labeled node (u64, < 2^32 here). */
  node: number;
}

export type EncodingProof = LabelingProof;

/** rust `stacked::Proof`: the vanilla proof of one challenge. */
export interface PorepChallengeProof {
  commDProofs: InclusionProof;
  commRLastProof: InclusionProof;
  replicaColumnProofs: ReplicaColumnProof;
  /** One per layer, 1..L. */
  labelingProofs: LabelingProof[];
  encodingProof: EncodingProof;
}

/** The parent labels a layer's label hashes: 6 DRG (layer L) [+ 8 expander (layer L−1)] cycled to 37. */
export function labelingParents(drg: readonly ColumnProof[], exp: readonly ColumnProof[], layer: number): Uint8Array[] {
  const base: Uint8Array[] = drg.map((c) => c.column.rows[layer - 1]);
  if (layer > 1) for (const c of exp) base.push(c.column.rows[layer - 2]);
  const out: Uint8Array[] = [];
  for (let i = 0; i < TOTAL_PARENTS; i++) out.push(base[i % base.length]);
  return out;
}

/** rust `Proof::from_parts`. */
export function proofFromParts(
  commDProofs: InclusionProof,
  cX: ColumnProof,
  drgParents: ColumnProof[],
  expParents: ColumnProof[],
  commRLastProof: InclusionProof,
): PorepChallengeProof {
  if (drgParents.length !== BASE_DEGREE || expParents.length !== EXP_DEGREE) {
    throw new RangeError(`a challenge proof opens ${BASE_DEGREE} DRG and ${EXP_DEGREE} expander parents`);
  }
  const layers = cX.column.rows.length;
  const labelingProofs: LabelingProof[] = [];
  for (let layer = 1; layer <= layers; layer++) {
    labelingProofs.push({
      parents: labelingParents(drgParents, expParents, layer),
      layerIndex: layer,
      node: cX.column.index,
    });
  }
  const last = labelingProofs[layers - 1];
  return {
    commDProofs,
    commRLastProof,
    replicaColumnProofs: { cX, drgParents, expParents },
    labelingProofs,
    encodingProof: { parents: last.parents, layerIndex: last.layerIndex, node: last.node },
  };
}

/**
 * rust `LabelingProof::create_label`: trunc254(SHA256(replica_id ‖ u32_be(layer) ‖ u64_be(node) ‖ 0^20 ‖
 * parents…)). Also the encoding key (`EncodingProof::create_key`).
 */
export function labelFromParents(replicaId: Uint8Array, p: LabelingProof): Uint8Array {
  const header = Buffer.alloc(64);
  header.set(replicaId, 0);
  header.writeUInt32BE(p.layerIndex >>> 0, 32);
  header.writeBigUInt64BE(BigInt(p.node), 36);
  const h = createHash('sha256').update(header);
  for (const parent of p.parents) h.update(parent);
  const out = new Uint8Array(h.digest());
  out[31] &= 0x3f;
  return out;
}

/** The roots a challenge proof commits to. */
export function proofCommC(p: PorepChallengeProof): Uint8Array {
  return p.replicaColumnProofs.cX.inclusionProof.root;
}

export function proofCommRLast(p: PorepChallengeProof): Uint8Array {
  return p.commRLastProof.root;
}
