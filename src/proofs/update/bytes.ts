/**
 * Update proof bytes, two forms (docs/spec/snap.md §Proof bytes):
 *
 * 1. The compact vanilla update proof ("FVSU", version 1) the embedded devnet verifies for
 *    ProveReplicaUpdates3, like the seal's "FVSP" (prover/vanilla.ts). All integers little-endian:
 *
 *      "FVSU" ‖ u8 version=1 ‖ u8 registered update proof ‖ u16 partitions ‖ u16 challenges per partition
 *      ‖ comm_c[32] ‖ root_r_old[32] ‖ root_r_new[32]
 *      ‖ per partition: apex_leafs (apex_leaf_count × 32)
 *          ‖ per challenge: TreeR-last old (leaf ‖ siblings) ‖ TreeD new (leaf ‖ siblings)
 *                           ‖ TreeR-last new (leaf ‖ siblings)
 *
 *    Path positions are not stored: they are the bits of the challenged node, which the verifier derives from
 *    comm_r_new. 2KiB: 12,202 bytes; 32GiB: about 7.7 MB.
 *
 * 2. rust's `PartitionProofBytes`: bincode 1.x of `PartitionProof<Tree>` (rust-filecoin-proofs-api
 *    `generate_partition_proofs`), one per partition — what damocles' `snap_prove` task carries to a SNARK
 *    prover built on rust-fil-proofs. `MerkleProof` is the `ProofData` enum (u32 variant: 0 Single
 *    {root, leaf, path}, 1 Sub {base_proof, sub_proof, root, leaf}, 2 Top {…, top_proof, root, leaf}); a path
 *    is a u64 count of `{hashes: u64 count + 32-byte nodes, index: u64}`.
 */
import { BINARY_SHAPE, type InclusionProof, NODE, type PathElement } from '../inclusion/proof.js';
import { readTreeRProof, treeRProofSize, writeTreeRProof } from '../porep/records.js';
import { sectorSizeInfo, type TreeShape } from '../registry.js';
import { UPDATE_PROOFS, updateParams } from './constants.js';
import { updateChallenges } from './randomness.js';
import type { UpdateChallengeProof, UpdatePartitionProof } from './vanilla.js';

const MAGIC = 'FVSU';
export const UPDATE_PROOF_VERSION = 1;
const HEADER = 10;

/** A proof that could not be decoded. */
export class UpdateProofRejected extends Error {}

/** Whether bytes are compact vanilla update proof bytes (any version). */
export function isVanillaUpdateProof(b: Uint8Array): boolean {
  return b.length >= 4 && Buffer.from(b.subarray(0, 4)).toString('latin1') === MAGIC;
}

function treeRGeometry(sectorSize: number) {
  const g = sectorSizeInfo(sectorSize);
  return { nodes: g.nodes, layers: g.layers, shape: g.shape };
}

function treeDProofSize(nodes: number): number {
  return (1 + Math.round(Math.log2(nodes))) * NODE;
}

/** Bytes of one compact proof for a sector size. */
export function compactUpdateProofSize(sectorSize: number): number {
  const p = updateParams(sectorSize);
  const r = treeRProofSize(treeRGeometry(sectorSize));
  const perChallenge = 2 * r + treeDProofSize(p.nodes);
  return HEADER + 3 * NODE + p.partitions * (p.apexLeafCount * NODE + p.challengesPerPartition * perChallenge);
}

/** Encodes all partition proofs (in partition order) as compact bytes. `updateProofId` is the registered id. */
export function encodeUpdateProof(
  updateProofId: number,
  sectorSize: number,
  proofs: readonly UpdatePartitionProof[],
): Uint8Array {
  const p = updateParams(sectorSize);
  const rg = treeRGeometry(sectorSize);
  if (proofs.length !== p.partitions)
    throw new RangeError(`${proofs.length} partition proofs, expected ${p.partitions}`);
  const first = proofs[0]!.challengeProofs[0]!;
  const commC = proofs[0]!.commC;
  const rootROld = first.proofROld.root;
  const rootRNew = first.proofRNew.root;
  const out = new Uint8Array(compactUpdateProofSize(sectorSize));
  const dv = new DataView(out.buffer);
  out.set(Buffer.from(MAGIC, 'latin1'), 0);
  out[4] = UPDATE_PROOF_VERSION;
  out[5] = updateProofId;
  dv.setUint16(6, p.partitions, true);
  dv.setUint16(8, p.challengesPerPartition, true);
  out.set(commC, HEADER);
  out.set(rootROld, HEADER + NODE);
  out.set(rootRNew, HEADER + 2 * NODE);
  let off = HEADER + 3 * NODE;
  const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
  for (const part of proofs) {
    if (!same(part.commC, commC)) throw new Error('partition proofs with different comm_c');
    if (part.apexLeafs.length !== p.apexLeafCount || part.challengeProofs.length !== p.challengesPerPartition)
      throw new RangeError('a partition proof has the wrong number of apex leaves or challenges');
    for (const a of part.apexLeafs) {
      out.set(a, off);
      off += NODE;
    }
    for (const cp of part.challengeProofs) {
      if (!same(cp.proofROld.root, rootROld) || !same(cp.proofRNew.root, rootRNew))
        throw new Error('challenge proofs with different TreeR-last roots');
      off = writeTreeRProof(out, off, cp.proofROld, rg);
      if (cp.proofDNew.base.length !== p.challengeBitLen) throw new RangeError('TreeD path of the wrong length');
      out.set(cp.proofDNew.leaf, off);
      off += NODE;
      for (const el of cp.proofDNew.base) {
        out.set(el.hashes[0]!, off);
        off += NODE;
      }
      off = writeTreeRProof(out, off, cp.proofRNew, rg);
    }
  }
  if (off !== out.length) throw new Error('compact update proof size mismatch');
  return out;
}

/**
 * Decodes compact bytes into partition proofs, with path positions from the challenges of comm_r_new and
 * TreeD roots = comm_d_new. Throws UpdateProofRejected on any malformed input.
 */
export function decodeUpdateProof(
  bytes: Uint8Array,
  pub: { commRNew: Uint8Array; commDNew: Uint8Array },
): { updateProof: number; sectorSize: number; proofs: UpdatePartitionProof[] } {
  if (!isVanillaUpdateProof(bytes)) throw new UpdateProofRejected('not a vanilla update proof (magic)');
  if (bytes.length < HEADER + 3 * NODE) throw new UpdateProofRejected('vanilla update proof truncated');
  if (bytes[4] !== UPDATE_PROOF_VERSION)
    throw new UpdateProofRejected(`vanilla update proof version ${bytes[4]} is not supported`);
  const id = bytes[5]!;
  const sectorSize = UPDATE_PROOFS[id]?.sectorSize;
  if (sectorSize === undefined) throw new UpdateProofRejected(`unknown update proof ${id}`);
  const p = updateParams(sectorSize);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint16(6, true) !== p.partitions || dv.getUint16(8, true) !== p.challengesPerPartition)
    throw new UpdateProofRejected(`partitions/challenges do not match update proof ${id}`);
  if (bytes.length !== compactUpdateProofSize(sectorSize))
    throw new UpdateProofRejected('vanilla update proof has the wrong length');
  if (pub.commRNew.length !== NODE || pub.commDNew.length !== NODE)
    throw new UpdateProofRejected('comm_r_new and comm_d_new must be 32 bytes');
  const rg = treeRGeometry(sectorSize);
  const rSize = treeRProofSize(rg);
  const commC = bytes.slice(HEADER, HEADER + NODE);
  const rootROld = bytes.slice(HEADER + NODE, HEADER + 2 * NODE);
  const rootRNew = bytes.slice(HEADER + 2 * NODE, HEADER + 3 * NODE);
  let off = HEADER + 3 * NODE;
  const proofs: UpdatePartitionProof[] = [];
  for (let k = 0; k < p.partitions; k++) {
    let challenges: number[];
    try {
      challenges = updateChallenges(p, pub.commRNew, k);
    } catch {
      throw new UpdateProofRejected('comm_r_new is not a field element');
    }
    const apexLeafs: Uint8Array[] = [];
    for (let i = 0; i < p.apexLeafCount; i++, off += NODE) apexLeafs.push(bytes.slice(off, off + NODE));
    const challengeProofs: UpdateChallengeProof[] = challenges.map((c) => {
      const proofROld = readTreeRProof(bytes, off, c, rootROld, rg);
      off += rSize;
      const leaf = bytes.slice(off, off + NODE);
      off += NODE;
      const base: PathElement[] = [];
      for (let l = 0; l < p.challengeBitLen; l++, off += NODE)
        base.push({ hashes: [bytes.slice(off, off + NODE)], index: Math.floor(c / 2 ** l) % 2 });
      const proofDNew: InclusionProof = { leaf, root: Uint8Array.from(pub.commDNew), base };
      const proofRNew = readTreeRProof(bytes, off, c, rootRNew, rg);
      off += rSize;
      return { proofROld, proofDNew, proofRNew };
    });
    proofs.push({ commC: Uint8Array.from(commC), apexLeafs, challengeProofs });
  }
  return { updateProof: id, sectorSize, proofs };
}

// ------------------------------------------------------------------------------------------------- bincode

class BinWriter {
  private parts: Uint8Array[] = [];
  u32(v: number): void {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    this.parts.push(b);
  }
  u64(v: number): void {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt(v), true);
    this.parts.push(b);
  }
  node(b: Uint8Array): void {
    if (b.length !== NODE) throw new RangeError('a node is 32 bytes');
    this.parts.push(b);
  }
  bytes(): Uint8Array {
    const b = Buffer.concat(this.parts);
    return new Uint8Array(b.buffer, b.byteOffset, b.length);
  }
}

class BinReader {
  off = 0;
  constructor(private readonly b: Uint8Array) {}
  private need(n: number): void {
    if (this.off + n > this.b.length) throw new UpdateProofRejected('partition proof bytes truncated');
  }
  u32(): number {
    this.need(4);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 4).getUint32(0, true);
    this.off += 4;
    return v;
  }
  u64(max: number, what: string): number {
    this.need(8);
    const v = new DataView(this.b.buffer, this.b.byteOffset + this.off, 8).getBigUint64(0, true);
    this.off += 8;
    if (v > BigInt(max)) throw new UpdateProofRejected(`${what}: ${v} exceeds ${max}`);
    return Number(v);
  }
  node(): Uint8Array {
    this.need(NODE);
    const v = this.b.slice(this.off, this.off + NODE);
    this.off += NODE;
    return v;
  }
}

function writePath(w: BinWriter, els: readonly PathElement[]): void {
  w.u64(els.length);
  for (const el of els) {
    w.u64(el.hashes.length);
    for (const h of el.hashes) w.node(h);
    w.u64(el.index);
  }
}

function readPath(r: BinReader, levels: number, arity: number): PathElement[] {
  const n = r.u64(levels, 'path length');
  if (n !== levels) throw new UpdateProofRejected(`a path has ${n} levels, expected ${levels}`);
  const out: PathElement[] = [];
  for (let i = 0; i < n; i++) {
    const count = r.u64(arity - 1, 'path hashes');
    if (count !== arity - 1) throw new UpdateProofRejected(`a path element has ${count} hashes, expected ${arity - 1}`);
    const hashes: Uint8Array[] = [];
    for (let k = 0; k < count; k++) hashes.push(r.node());
    out.push({ hashes, index: r.u64(arity - 1, 'path index') });
  }
  return out;
}

function writeMerkleProof(w: BinWriter, p: InclusionProof): void {
  if (p.top) {
    w.u32(2);
    writePath(w, p.base);
    writePath(w, [p.sub!]);
    writePath(w, [p.top]);
  } else if (p.sub) {
    w.u32(1);
    writePath(w, p.base);
    writePath(w, [p.sub]);
  } else {
    w.u32(0);
    w.node(p.root);
    w.node(p.leaf);
    writePath(w, p.base);
    return;
  }
  w.node(p.root);
  w.node(p.leaf);
}

function readMerkleProof(r: BinReader, shape: TreeShape, baseLevels: number): InclusionProof {
  const variant = r.u32();
  const want = shape.top ? 2 : shape.sub ? 1 : 0;
  if (variant !== want) throw new UpdateProofRejected(`proof variant ${variant}, the tree shape needs ${want}`);
  if (variant === 0) {
    const root = r.node();
    const leaf = r.node();
    return { root, leaf, base: readPath(r, baseLevels, shape.base) };
  }
  const base = readPath(r, baseLevels, shape.base);
  const sub = readPath(r, 1, shape.sub)[0]!;
  const top = variant === 2 ? readPath(r, 1, shape.top)[0]! : undefined;
  const root = r.node();
  const leaf = r.node();
  return top ? { root, leaf, base, sub, top } : { root, leaf, base, sub };
}

/** rust `bincode::serialize(&PartitionProof<Tree>)`: one partition's `PartitionProofBytes`. */
export function partitionProofToBincode(proof: UpdatePartitionProof): Uint8Array {
  const w = new BinWriter();
  w.node(proof.commC);
  w.u64(proof.apexLeafs.length);
  for (const a of proof.apexLeafs) w.node(a);
  w.u64(proof.challengeProofs.length);
  for (const cp of proof.challengeProofs) {
    writeMerkleProof(w, cp.proofROld);
    writeMerkleProof(w, cp.proofDNew);
    writeMerkleProof(w, cp.proofRNew);
  }
  return w.bytes();
}

/** rust `bincode::deserialize::<PartitionProof<Tree>>` for a sector size; bounded and shape-checked. */
export function partitionProofFromBincode(sectorSize: number, bytes: Uint8Array): UpdatePartitionProof {
  const g = sectorSizeInfo(sectorSize);
  const p = updateParams(sectorSize);
  const baseLevels = Math.round(Math.log(g.baseTreeLeaves) / Math.log(g.shape.base));
  const r = new BinReader(bytes);
  const commC = r.node();
  const apexCount = r.u64(p.apexLeafCount, 'apex leaves');
  const apexLeafs: Uint8Array[] = [];
  for (let i = 0; i < apexCount; i++) apexLeafs.push(r.node());
  const n = r.u64(p.challengesPerPartition, 'challenge proofs');
  const challengeProofs: UpdateChallengeProof[] = [];
  for (let i = 0; i < n; i++) {
    const proofROld = readMerkleProof(r, g.shape, baseLevels);
    const proofDNew = readMerkleProof(r, BINARY_SHAPE, p.challengeBitLen);
    const proofRNew = readMerkleProof(r, g.shape, baseLevels);
    challengeProofs.push({ proofROld, proofDNew, proofRNew });
  }
  if (r.off !== bytes.length) throw new UpdateProofRejected('trailing bytes after the partition proof');
  return { commC, apexLeafs, challengeProofs };
}
