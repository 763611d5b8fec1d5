/**
 * The update's vanilla partition proofs, field for field as rust-fil-proofs
 * `storage-proofs-update/src/vanilla.rs` (`PartitionProof`, `ChallengeProof`, `prove_inner`, `verify`):
 *
 *   PartitionProof  { comm_c, apex_leafs[apex_leaf_count], challenge_proofs[challenge_count] }
 *   ChallengeProof  { proof_r_old (TreeR-last of the sector key), proof_d_new (TreeD of the new data),
 *                     proof_r_new (TreeR-last of the updated replica) }, all opening the challenged node
 *
 * Verification (partition k): comm_r_old = H(comm_c, root_r_old) and comm_r_new = H(comm_c, root_r_new) with
 * the roots of the first challenge proof; for each challenge c of partition k (randomness.ts): the three
 * openings verify, open c and end in root_r_old / comm_d_new / root_r_new; the new leaf equals
 * old leaf + data leaf · rho(c >> (log2(nodes) − h)); and the TreeD path's siblings at the apex heights are
 * nodes of the apex tree built from `apex_leafs` (the partition's slice of the TreeD row with
 * partitions · apex_leaf_count nodes).
 */
import { open } from 'node:fs/promises';
import { bytesEqual } from '../../fil/index.js';
import { BINARY_SHAPE, type InclusionProof, verifyInclusion } from '../inclusion/proof.js';
import { TreeReader } from '../inclusion/trees.js';
import { storeFileReader } from '../merkle.js';
import { readPAux, readTAux } from '../pc2/aux.js';
import { FR_MODULUS, frFromBytes, frToBytes } from '../poseidon/field.js';
import { poseidonHash2 } from '../poseidon/index.js';
import { sectorSizeInfo } from '../registry.js';
import { hashNodes } from '../sha256.js';
import { treeDLayout, treeDPath } from '../tree-d.js';
import { type UpdateParams, updateHs, updateParams } from './constants.js';
import { updateChallenges, updatePhi, updateRho } from './randomness.js';

/** rust `ChallengeProof`. */
export interface UpdateChallengeProof {
  proofROld: InclusionProof;
  proofDNew: InclusionProof;
  proofRNew: InclusionProof;
}

/** rust `PartitionProof`. */
export interface UpdatePartitionProof {
  commC: Uint8Array;
  apexLeafs: Uint8Array[];
  challengeProofs: UpdateChallengeProof[];
}

/** rust `PublicInputs` without `k` (the partition is the proof's position). */
export interface UpdatePublicInputs {
  commROld: Uint8Array;
  commDNew: Uint8Array;
  commRNew: Uint8Array;
  /** Default: the sector size's `h_default`. */
  h?: number;
}

export interface UpdateProveOptions {
  sectorSize: number;
  commROld: Uint8Array;
  commRNew: Uint8Array;
  commDNew: Uint8Array;
  /** The sector key (old replica) and its cache (TreeR-last, p_aux, t_aux). */
  sectorKeyPath: string;
  sectorKeyCacheDir: string;
  /** The updated replica and its cache (TreeD and TreeR-last of the encode step). */
  replicaPath: string;
  replicaCacheDir: string;
  /** Only these partitions (rust `generate_single_partition_proof`); default: all. */
  partitions?: number[];
}

/** The apex leaves of partition k: its slice of the TreeD row with partitions · apex_leaf_count nodes. */
async function readApexLeafs(p: UpdateParams, treeDFile: string, ks: readonly number[]): Promise<Uint8Array[][]> {
  const layout = treeDLayout(p.sectorSize);
  const row = p.challengeBitLen - p.partitionBitLen - p.apexLeafBitLen;
  const fh = await open(treeDFile, 'r');
  try {
    const read = storeFileReader(fh, layout);
    const out: Uint8Array[][] = [];
    for (const k of ks) {
      const buf = await read(row, k * p.apexLeafCount, p.apexLeafCount);
      out.push(Array.from({ length: p.apexLeafCount }, (_, i) => buf.slice(i * 32, (i + 1) * 32)));
    }
    return out;
  } finally {
    await fh.close();
  }
}

/** rust `prove_all_partitions` (or the chosen partitions): opens the three trees and proves each challenge. */
export async function proveUpdatePartitions(o: UpdateProveOptions): Promise<UpdatePartitionProof[]> {
  const g = sectorSizeInfo(o.sectorSize);
  const p = updateParams(g.sectorSize);
  const ks = o.partitions ?? Array.from({ length: p.partitions }, (_, k) => k);
  for (const k of ks)
    if (!Number.isInteger(k) || k < 0 || k >= p.partitions) throw new RangeError(`bad partition ${k}`);
  // rust opens both TreeR-last with the sector key's rows_to_discard (its t_aux)
  const rows = (await readTAux(o.sectorKeyCacheDir)).treeRLastConfig.rowsToDiscard;
  const treeD = await TreeReader.openTreeD(g, o.replicaCacheDir);
  const treeROld = await TreeReader.openTreeRLast(g, o.sectorKeyCacheDir, o.sectorKeyPath, rows).catch(async (e) => {
    await treeD.close();
    throw e;
  });
  const treeRNew = await TreeReader.openTreeRLast(g, o.replicaCacheDir, o.replicaPath, rows).catch(async (e) => {
    await Promise.all([treeD.close(), treeROld.close()]);
    throw e;
  });
  try {
    const { commC } = await readPAux(o.sectorKeyCacheDir);
    if (!bytesEqual(poseidonHash2(commC, treeROld.root), o.commROld))
      throw new Error('snap prove: the sector key files do not give comm_r_old');
    if (!bytesEqual(poseidonHash2(commC, treeRNew.root), o.commRNew))
      throw new Error('snap prove: the updated replica files do not give comm_r_new');
    if (!bytesEqual(treeD.root, o.commDNew)) throw new Error('snap prove: TreeD of the update is not comm_d_new');
    const apex = await readApexLeafs(p, treeDPath(o.replicaCacheDir), ks);
    const out: UpdatePartitionProof[] = [];
    for (const [i, k] of ks.entries()) {
      const challengeProofs: UpdateChallengeProof[] = [];
      for (const c of updateChallenges(p, o.commRNew, k)) {
        challengeProofs.push({
          proofROld: await treeROld.prove(c),
          proofDNew: await treeD.prove(c),
          proofRNew: await treeRNew.prove(c),
        });
      }
      out.push({ commC: Uint8Array.from(commC), apexLeafs: apex[i]!, challengeProofs });
    }
    return out;
  } finally {
    await Promise.all([treeD.close(), treeROld.close(), treeRNew.close()]);
  }
}

/** Why partition k's proof does not verify, or undefined when it does (rust `verify`, which returns false). */
export function whyUpdatePartitionFails(
  sectorSize: number,
  k: number,
  pub: UpdatePublicInputs,
  proof: UpdatePartitionProof,
): string | undefined {
  const g = sectorSizeInfo(sectorSize);
  const p = updateParams(g.sectorSize);
  const h = pub.h ?? p.h;
  if (!Number.isInteger(k) || k < 0 || k >= p.partitions) return `partition ${k} is outside 0..${p.partitions - 1}`;
  if (!updateHs(p.nodes).includes(h)) return `h = ${h} is not allowed for this sector size`;
  if (proof.apexLeafs.length !== p.apexLeafCount)
    return `${proof.apexLeafs.length} apex leaves, expected ${p.apexLeafCount}`;
  if (proof.challengeProofs.length !== p.challengesPerPartition)
    return `${proof.challengeProofs.length} challenge proofs, expected ${p.challengesPerPartition}`;
  for (const b of [pub.commROld, pub.commDNew, pub.commRNew, proof.commC, ...proof.apexLeafs])
    if (b.length !== 32) return 'a commitment or apex leaf is not 32 bytes';

  // apex tree rows, leaves first
  const apexTree: Uint8Array[][] = [proof.apexLeafs];
  for (let r = 0; r < p.apexLeafBitLen; r++) {
    const prev = apexTree[r]!;
    const row: Uint8Array[] = [];
    for (let i = 0; i < prev.length; i += 2) row.push(hashNodes(prev[i]!, prev[i + 1]!));
    apexTree.push(row);
  }
  const apexHeight = p.challengeBitLen - p.partitionBitLen - p.apexLeafBitLen;

  const rootROld = proof.challengeProofs[0]!.proofROld.root;
  const rootRNew = proof.challengeProofs[0]!.proofRNew.root;
  let commROld: Uint8Array;
  let commRNew: Uint8Array;
  try {
    commROld = poseidonHash2(proof.commC, rootROld);
    commRNew = poseidonHash2(proof.commC, rootRNew);
  } catch {
    return 'comm_c or a TreeR root is not a field element';
  }
  if (!bytesEqual(commROld, pub.commROld)) return 'H(comm_c, root of TreeR-last old) is not comm_r_old';
  if (!bytesEqual(commRNew, pub.commRNew)) return 'H(comm_c, root of TreeR-last new) is not comm_r_new';

  let phi: Uint8Array;
  let challenges: number[];
  try {
    phi = updatePhi(pub.commDNew, pub.commROld);
    challenges = updateChallenges(p, pub.commRNew, k);
  } catch {
    return 'comm_d_new or comm_r_new is not a field element';
  }
  const shift = p.challengeBitLen - h;
  const rhoCache = new Map<number, bigint>();
  for (let i = 0; i < challenges.length; i++) {
    const c = challenges[i]!;
    const cp = proof.challengeProofs[i]!;
    const rOpt = { hash: 'poseidon' as const, shape: g.shape, leaves: g.nodes, challenge: c };
    if (!verifyInclusion(cp.proofROld, { ...rOpt, root: rootROld }))
      return `challenge ${i} (node ${c}): TreeR-last old`;
    if (
      !verifyInclusion(cp.proofDNew, {
        hash: 'sha256',
        shape: BINARY_SHAPE,
        leaves: g.nodes,
        challenge: c,
        root: pub.commDNew,
      })
    )
      return `challenge ${i} (node ${c}): TreeD new`;
    if (!verifyInclusion(cp.proofRNew, { ...rOpt, root: rootRNew }))
      return `challenge ${i} (node ${c}): TreeR-last new`;

    const high = Math.floor(c / 2 ** shift);
    let rho = rhoCache.get(high);
    if (rho === undefined) {
      rho = updateRho(phi, high);
      rhoCache.set(high, rho);
    }
    let calc: Uint8Array;
    try {
      const v = (frFromBytes(cp.proofROld.leaf) + frFromBytes(cp.proofDNew.leaf) * rho) % FR_MODULUS;
      calc = frToBytes(v);
    } catch {
      return `challenge ${i} (node ${c}): a leaf is not a field element`;
    }
    if (!bytesEqual(calc, cp.proofRNew.leaf)) return `challenge ${i} (node ${c}): new leaf ≠ old leaf + data · rho`;

    const path = cp.proofDNew.base.slice(apexHeight, apexHeight + p.apexLeafBitLen);
    for (let r = 0; r < path.length; r++) {
      const sibling = path[r]!.hashes[0]!;
      if (!apexTree[r]!.some((n) => bytesEqual(n, sibling)))
        return `challenge ${i} (node ${c}): TreeD path leaves the apex tree at height ${apexHeight + r}`;
    }
  }
  return undefined;
}

/** rust `verify_all_partitions`: exactly one proof per partition, each verified. */
export function whyUpdateProofsFail(
  sectorSize: number,
  pub: UpdatePublicInputs,
  proofs: readonly UpdatePartitionProof[],
): string | undefined {
  const p = updateParams(sectorSize);
  if (proofs.length !== p.partitions) return `${proofs.length} partition proofs, the sector size has ${p.partitions}`;
  for (let k = 0; k < proofs.length; k++) {
    const why = whyUpdatePartitionFails(sectorSize, k, pub, proofs[k]!);
    if (why) return `partition ${k}: ${why}`;
  }
  return undefined;
}
