/**
 * The vanilla PoRep verifier (storage-proofs-porep `StackedDrg::verify_all_partitions` and `Proof::verify`),
 * checking every relation a challenge proof carries against the public inputs — comm_d, comm_r, the
 * replica id and the seed (through the challenges):
 *
 * - per partition: as many proofs as challenges; all share comm_c and comm_r_last; comm_r =
 *   Poseidon2(comm_c, comm_r_last);
 * - TreeD: the path opens the challenge and ends in comm_d;
 * - TreeC: the challenge's column and its 14 parents' columns (parents from the SDR graph) each hash to the
 *   leaf of a path that opens that node and ends in comm_c; columns have one label per layer;
 * - TreeR-last: the path opens the challenge and ends in comm_r_last;
 * - labeling: one proof per layer, for the challenge, whose 37 parents are the parents' column labels (the
 *   layer's DRG labels and the previous layer's expander labels, cycled) and whose label is the column's;
 * - encoding: the last layer's parents again; replica leaf = key + data leaf in Fr.
 *
 * Stricter than rust in two places that cannot reject an honest proof: rust does not compare a labeling
 * proof's parents or a column's index with the openings (the circuit does); we do.
 */

import { bytesEqual } from '../../fil/index.js';
import type { InclusionProof } from '../inclusion/proof.js';
import { BINARY_SHAPE, verifyInclusion } from '../inclusion/proof.js';
import { frAdd, frFromBytes, frToBytes, poseidonColumnsBatch, poseidonHash2 } from '../poseidon/index.js';
import { BASE_DEGREE, EXP_DEGREE, type PoRepConfig, TOTAL_PARENTS } from '../registry.js';
import { SdrGraph } from '../sdr/index.js';
import { allPorepChallenges } from './challenges.js';
import {
  type ColumnProof,
  type LabelingProof,
  labelFromParents,
  labelingParents,
  type PorepChallengeProof,
  proofCommC,
  proofCommRLast,
} from './vanilla.js';

/** The public inputs of a PoRep proof (rust `PublicInputs` with `Tau`). */
export interface PorepPublicInputs {
  replicaId: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
  /** Interactive randomness (ignored by NI-PoRep's challenges, still part of synthetic selection). */
  seed: Uint8Array;
}

/** Why a proof was rejected: the first failing relation (for logs and tests). */
export class PorepVerifyError extends Error {}

function fail(msg: string): never {
  throw new PorepVerifyError(msg);
}

function columnHash(rows: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32);
  poseidonColumnsBatch([...rows], out);
  return out;
}

function checkColumn(cfg: PoRepConfig, c: ColumnProof, node: number, commC: Uint8Array, what: string): void {
  if (c.column.index !== node) fail(`${what}: column of node ${c.column.index}, expected ${node}`);
  if (c.column.rows.length !== cfg.layers) fail(`${what}: ${c.column.rows.length} labels, expected ${cfg.layers}`);
  for (const r of c.column.rows) if (r.length !== 32) fail(`${what}: a label is not 32 bytes`);
  let hash: Uint8Array;
  try {
    hash = columnHash(c.column.rows);
  } catch {
    fail(`${what}: a label is not a field element`);
  }
  const ok = verifyInclusion(c.inclusionProof, {
    hash: 'poseidon',
    shape: cfg.shape,
    leaves: cfg.nodes,
    challenge: node,
    root: commC,
    leaf: hash,
  });
  if (!ok) fail(`${what}: TreeC inclusion proof does not open the column hash at node ${node} under comm_c`);
}

function checkLabeling(
  p: LabelingProof,
  want: { layer: number; node: number; parents: Uint8Array[] },
  what: string,
): void {
  if (p.layerIndex !== want.layer) fail(`${what}: layer_index ${p.layerIndex}, expected ${want.layer}`);
  if (p.node !== want.node) fail(`${what}: node ${p.node}, expected ${want.node}`);
  if (p.parents.length !== TOTAL_PARENTS) fail(`${what}: ${p.parents.length} parents, expected ${TOTAL_PARENTS}`);
  for (let i = 0; i < TOTAL_PARENTS; i++) {
    if (!bytesEqual(p.parents[i], want.parents[i])) fail(`${what}: parent ${i} is not the opened label`);
  }
}

function checkTree(p: InclusionProof, ok: boolean, what: string): void {
  if (!ok) fail(`${what}: inclusion proof rejected (leaf ${Buffer.from(p.leaf).toString('hex').slice(0, 16)}…)`);
}

/**
 * Verifies the proof of one challenge `c` against comm_d, comm_c and comm_r_last (rust `Proof::verify`);
 * throws PorepVerifyError naming the first failing relation.
 */
export function verifyChallengeProof(
  cfg: PoRepConfig,
  graph: SdrGraph,
  replicaId: Uint8Array,
  commD: Uint8Array,
  commC: Uint8Array,
  commRLast: Uint8Array,
  c: number,
  proof: PorepChallengeProof,
): void {
  if (!Number.isInteger(c) || c <= 0 || c >= cfg.nodes) fail(`challenge ${c} is outside the sector`);
  const d = proof.commDProofs;
  checkTree(
    d,
    verifyInclusion(d, { hash: 'sha256', shape: BINARY_SHAPE, leaves: cfg.nodes, challenge: c, root: commD }),
    'comm_d_proofs',
  );

  const { cX, drgParents, expParents } = proof.replicaColumnProofs;
  if (drgParents.length !== BASE_DEGREE || expParents.length !== EXP_DEGREE) {
    fail(`replica_column_proofs: ${drgParents.length} DRG and ${expParents.length} expander parents`);
  }
  const parents = graph.parents(c);
  checkColumn(cfg, cX, c, commC, 'c_x');
  for (const [i, col] of drgParents.entries()) checkColumn(cfg, col, parents[i], commC, `drg_parents[${i}]`);
  for (const [i, col] of expParents.entries())
    checkColumn(cfg, col, parents[BASE_DEGREE + i], commC, `exp_parents[${i}]`);

  const r = proof.commRLastProof;
  checkTree(
    r,
    verifyInclusion(r, { hash: 'poseidon', shape: cfg.shape, leaves: cfg.nodes, challenge: c, root: commRLast }),
    'comm_r_last_proof',
  );

  if (proof.labelingProofs.length !== cfg.layers)
    fail(`${proof.labelingProofs.length} labeling proofs, expected ${cfg.layers}`);
  for (let layer = 1; layer <= cfg.layers; layer++) {
    const lp = proof.labelingProofs[layer - 1];
    const what = `labeling_proofs[${layer - 1}]`;
    checkLabeling(lp, { layer, node: c, parents: labelingParents(drgParents, expParents, layer) }, what);
    if (!bytesEqual(labelFromParents(replicaId, lp), cX.column.rows[layer - 1]))
      fail(`${what}: label does not match column`);
  }

  const ep = proof.encodingProof;
  checkLabeling(
    ep,
    { layer: cfg.layers, node: c, parents: labelingParents(drgParents, expParents, cfg.layers) },
    'encoding_proof',
  );
  const key = labelFromParents(replicaId, ep);
  let encoded: Uint8Array;
  try {
    encoded = frToBytes(frAdd(frFromBytes(key), frFromBytes(d.leaf)));
  } catch {
    fail('encoding_proof: the data node is not a field element');
  }
  if (!bytesEqual(encoded, r.leaf)) fail('encoding_proof: replica node is not key + data');
}

/**
 * Verifies all partitions of a PoRep proof (`proofs[k][i]` for challenge i of partition k); throws
 * PorepVerifyError with the failing partition, challenge and relation.
 */
export function verifyPorepProofsOrThrow(
  cfg: PoRepConfig,
  pub: PorepPublicInputs,
  proofs: readonly (readonly PorepChallengeProof[])[],
): void {
  for (const [what, b] of Object.entries({
    replica_id: pub.replicaId,
    comm_d: pub.commD,
    comm_r: pub.commR,
    seed: pub.seed,
  })) {
    if (b.length !== 32) fail(`${what} must be 32 bytes`);
  }
  if (proofs.length !== cfg.partitions) fail(`${proofs.length} partitions, expected ${cfg.partitions}`);
  const graph = SdrGraph.forConfig(cfg);
  const challenges = allPorepChallenges(cfg, pub);
  for (let k = 0; k < cfg.partitions; k++) {
    const part = proofs[k];
    if (part.length !== challenges[k].length)
      fail(`partition ${k}: ${part.length} proofs, expected ${challenges[k].length}`);
    if (part.length === 0) continue;
    const commC = proofCommC(part[0]);
    const commRLast = proofCommRLast(part[0]);
    let commR: Uint8Array;
    try {
      commR = poseidonHash2(commC, commRLast);
    } catch {
      fail(`partition ${k}: comm_c or comm_r_last is not a field element`);
    }
    if (!bytesEqual(commR, pub.commR)) fail(`partition ${k}: comm_r is not Poseidon2(comm_c, comm_r_last)`);
    for (let i = 0; i < part.length; i++) {
      try {
        verifyChallengeProof(cfg, graph, pub.replicaId, pub.commD, commC, commRLast, challenges[k][i], part[i]);
      } catch (e) {
        if (e instanceof PorepVerifyError)
          fail(`partition ${k}, challenge ${i} (node ${challenges[k][i]}): ${e.message}`);
        throw e;
      }
    }
  }
}

/** True when every partition verifies (see `verifyPorepProofsOrThrow` for the reason of a rejection). */
export function verifyPorepProofs(
  cfg: PoRepConfig,
  pub: PorepPublicInputs,
  proofs: readonly (readonly PorepChallengeProof[])[],
): boolean {
  try {
    verifyPorepProofsOrThrow(cfg, pub, proofs);
    return true;
  } catch (e) {
    if (e instanceof PorepVerifyError) return false;
    throw e;
  }
}
