/**
 * The `vanilla` prover: proof bytes are a compact, versioned serialisation of the vanilla proofs, and the
 * verifiers check them in full against the chain's public inputs (no SNARK, no trusted setup — what the
 * embedded devnet verifies).
 *
 * Seal proof, version 1 (all integers little-endian):
 *
 *   "FVSP" ‖ u8 version=1 ‖ u8 registered seal proof ‖ u16 partitions ‖ u16 challenges per partition
 *   ‖ comm_c[32] ‖ comm_r_last[32] ‖ record × (partitions · challenges)
 *
 *   A record is rust's synthetic-proof record (porep/records.ts): challenge and parent indexes, the TreeD
 *   path, the 15 columns with their TreeC paths, the TreeR-last path. comm_d is not stored: it is public,
 *   and the TreeD paths must end in it. Labeling and encoding proofs are rebuilt from the columns. 2KiB:
 *   18,042 bytes; 32GiB: about 7.7 MB.
 *
 * PoSt proof, version 1:
 *
 *   "FVPT" ‖ u8 version=1 ‖ u8 registered PoSt proof ‖ u32 sectors
 *   ‖ per sector, by ascending sector id: u64 sector id ‖ comm_c[32] ‖ comm_r_last[32]
 *     ‖ per challenge (10 Window, 66 Winning): leaf ‖ TreeR-last siblings
 *
 *   Path positions are implied by the challenged leaves, which the verifier derives from the randomness.
 */
import { bytesEqual } from '../../fil/index.js';
import { NODE } from '../inclusion/proof.js';
import type { SealCommitPhase1Output } from '../porep/c1.js';
import {
  decodeRecord,
  encodeRecords,
  readTreeRProof,
  recordSize,
  sameRoots,
  treeRProofSize,
  writeTreeRProof,
} from '../porep/records.js';
import type { PorepChallengeProof } from '../porep/vanilla.js';
import { PorepVerifyError, verifyPorepProofsOrThrow } from '../porep/verify.js';
import { checkSafeCommitment, postLeafChallenges, postRandomness } from '../post/challenges.js';
import {
  type FallbackPoStSectorProof,
  generateWindowPoStVanilla,
  generateWinningPoStVanilla,
  type PoStPublicSector,
  PoStVerifyError,
  postProofInfo,
  postSealConfig,
  verifyPoStVanillaOrThrow,
} from '../post/vanilla.js';
import { type PoStProofInfo, sealProof } from '../registry.js';
import { generateReplicaId, proverIdFromActorId } from '../sdr/index.js';
import type {
  PoStProof,
  PoStProver,
  PoStRequest,
  SealCommitPhase2Request,
  SealProver,
  WindowPoStResult,
} from './types.js';

const SEAL_MAGIC = 'FVSP';
const POST_MAGIC = 'FVPT';
export const VANILLA_PROOF_VERSION = 1;
const SEAL_HEADER = 10;
const POST_HEADER = 10;

/** A proof that could not be decoded or did not verify. */
export class ProofRejected extends Error {}

function magicOk(b: Uint8Array, magic: string): boolean {
  return b.length >= 4 && Buffer.from(b.subarray(0, 4)).toString('latin1') === magic;
}

/** Whether seal proof bytes are vanilla seal proof bytes of this format (any version). */
export const isVanillaSealProof = (b: Uint8Array): boolean => magicOk(b, SEAL_MAGIC);

/** Whether PoSt proof bytes are vanilla PoSt bytes (a Groth16 SNARK from a real prover is not). */
export const isVanillaPoStProof = (b: Uint8Array): boolean => magicOk(b, POST_MAGIC);

// ------------------------------------------------------------------------------------------------- seal

/** Encodes a C1 output's vanilla proofs as vanilla seal proof bytes. */
export function encodeSealProof(c1: SealCommitPhase1Output): Uint8Array {
  const cfg = c1.registeredProof;
  const flat = c1.vanillaProofs.flat();
  if (c1.vanillaProofs.length !== cfg.partitions || flat.length !== cfg.partitions * cfg.challengesPerPartition) {
    throw new RangeError(`C1 output has ${c1.vanillaProofs.length} partitions / ${flat.length} proofs for ${cfg.name}`);
  }
  const commC = flat[0].replicaColumnProofs.cX.inclusionProof.root;
  const commRLast = flat[0].commRLastProof.root;
  if (!sameRoots(flat, { rootD: c1.commD, rootC: commC, rootR: commRLast })) {
    throw new Error('C1 proofs do not share comm_d, comm_c and comm_r_last');
  }
  const records = encodeRecords(flat, cfg);
  const out = new Uint8Array(SEAL_HEADER + 2 * NODE + records.length);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from(SEAL_MAGIC, 'latin1'), 0);
  out[4] = VANILLA_PROOF_VERSION;
  out[5] = cfg.id;
  dv.setUint16(6, cfg.partitions, true);
  dv.setUint16(8, cfg.challengesPerPartition, true);
  out.set(commC, SEAL_HEADER);
  out.set(commRLast, SEAL_HEADER + NODE);
  out.set(records, SEAL_HEADER + 2 * NODE);
  return out;
}

/** Decodes vanilla seal proof bytes into `[partition][challenge]` proofs (comm_d is the public one). */
export function decodeSealProof(
  bytes: Uint8Array,
  commD: Uint8Array,
): { sealProof: number; proofs: PorepChallengeProof[][] } {
  if (!magicOk(bytes, SEAL_MAGIC)) throw new ProofRejected('not a vanilla seal proof (magic)');
  if (bytes.length < SEAL_HEADER + 2 * NODE) throw new ProofRejected('vanilla seal proof truncated');
  if (bytes[4] !== VANILLA_PROOF_VERSION)
    throw new ProofRejected(`vanilla seal proof version ${bytes[4]} is not supported`);
  let cfg: ReturnType<typeof sealProof>;
  try {
    cfg = sealProof(bytes[5]);
  } catch {
    throw new ProofRejected(`unknown seal proof ${bytes[5]}`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const partitions = dv.getUint16(6, true);
  const cpp = dv.getUint16(8, true);
  if (partitions !== cfg.partitions || cpp !== cfg.challengesPerPartition) {
    throw new ProofRejected(
      `${partitions}×${cpp} challenges; ${cfg.name} has ${cfg.partitions}×${cfg.challengesPerPartition}`,
    );
  }
  const size = recordSize(cfg);
  if (bytes.length !== SEAL_HEADER + 2 * NODE + partitions * cpp * size)
    throw new ProofRejected('vanilla seal proof has the wrong length');
  const roots = {
    rootD: Uint8Array.from(commD),
    rootC: bytes.slice(SEAL_HEADER, SEAL_HEADER + NODE),
    rootR: bytes.slice(SEAL_HEADER + NODE, SEAL_HEADER + 2 * NODE),
  };
  const proofs: PorepChallengeProof[][] = [];
  let off = SEAL_HEADER + 2 * NODE;
  for (let k = 0; k < partitions; k++) {
    const part: PorepChallengeProof[] = [];
    for (let i = 0; i < cpp; i++, off += size) {
      try {
        part.push(decodeRecord(bytes, off, roots, cfg));
      } catch (e) {
        throw new ProofRejected(`partition ${k}, challenge ${i}: ${(e as Error).message}`);
      }
    }
    proofs.push(part);
  }
  return { sealProof: cfg.id, proofs };
}

/** What the chain knows when it verifies a ProveCommit (Lotus `SealVerifyInfo`). */
export interface SealVerifyInput {
  sealProof: number;
  minerId: bigint | number;
  sectorId: bigint | number;
  /** The ticket and seed exactly as the prover used them (Lotus clears their top two bits first). */
  ticket: Uint8Array;
  seed: Uint8Array;
  commR: Uint8Array;
  commD: Uint8Array;
  proof: Uint8Array;
}

/** Verifies vanilla seal proof bytes in full; throws ProofRejected naming the failing relation. */
export function verifySealProofOrThrow(i: SealVerifyInput): void {
  const { sealProof: id, proofs } = decodeSealProof(i.proof, i.commD);
  if (id !== i.sealProof) throw new ProofRejected(`proof is for seal proof ${id}, the sector uses ${i.sealProof}`);
  const cfg = sealProof(id);
  const replicaId = generateReplicaId(proverIdFromActorId(i.minerId), i.sectorId, i.ticket, i.commD, cfg.porepId);
  try {
    verifyPorepProofsOrThrow(cfg, { replicaId, commD: i.commD, commR: i.commR, seed: i.seed }, proofs);
  } catch (e) {
    if (e instanceof PorepVerifyError) throw new ProofRejected(e.message);
    throw e;
  }
}

export function verifySealProof(i: SealVerifyInput): boolean {
  try {
    verifySealProofOrThrow(i);
    return true;
  } catch (e) {
    if (e instanceof ProofRejected) return false;
    throw e;
  }
}

// ------------------------------------------------------------------------------------------------- PoSt

function sortById<T extends { sectorId: bigint }>(s: readonly T[]): T[] {
  return [...s].sort((a, b) => (a.sectorId < b.sectorId ? -1 : a.sectorId > b.sectorId ? 1 : 0));
}

/** Encodes sector proofs (any order; written by ascending sector id) as vanilla PoSt proof bytes. */
export function encodePoStProof(proof: PoStProofInfo, sectors: readonly FallbackPoStSectorProof[]): Uint8Array {
  const cfg = postSealConfig(proof);
  const per = treeRProofSize(cfg);
  const sectorBytes = 8 + 2 * NODE + proof.challengeCount * per;
  const out = new Uint8Array(POST_HEADER + sectors.length * sectorBytes);
  const dv = new DataView(out.buffer);
  out.set(Buffer.from(POST_MAGIC, 'latin1'), 0);
  out[4] = VANILLA_PROOF_VERSION;
  out[5] = proof.id;
  dv.setUint32(6, sectors.length, true);
  let off = POST_HEADER;
  for (const s of sortById(sectors)) {
    const v = s.vanillaProof;
    if (v.inclusionProofs.length !== proof.challengeCount)
      throw new RangeError(`sector ${s.sectorId}: ${v.inclusionProofs.length} challenges`);
    dv.setBigUint64(off, s.sectorId, true);
    out.set(v.commC, off + 8);
    out.set(v.commRLast, off + 8 + NODE);
    off += 8 + 2 * NODE;
    for (const ip of v.inclusionProofs) off = writeTreeRProof(out, off, ip, cfg);
  }
  return out;
}

/** Decodes vanilla PoSt proof bytes against the public sectors (their order and comm_r) and randomness. */
export function decodePoStProof(
  bytes: Uint8Array,
  pub: { randomness: Uint8Array; sectors: readonly PoStPublicSector[] },
): { postProof: number; proofs: FallbackPoStSectorProof[] } {
  if (!magicOk(bytes, POST_MAGIC)) throw new ProofRejected('not a vanilla PoSt proof (magic)');
  if (bytes.length < POST_HEADER) throw new ProofRejected('vanilla PoSt proof truncated');
  if (bytes[4] !== VANILLA_PROOF_VERSION)
    throw new ProofRejected(`vanilla PoSt proof version ${bytes[4]} is not supported`);
  let info: PoStProofInfo;
  try {
    info = postProofInfo(bytes[5]);
  } catch {
    throw new ProofRejected(`unknown PoSt proof ${bytes[5]}`);
  }
  const cfg = postSealConfig(info);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = dv.getUint32(6, true);
  const sectors = sortById(pub.sectors);
  if (n !== sectors.length) throw new ProofRejected(`proof covers ${n} sectors, ${sectors.length} are challenged`);
  const per = treeRProofSize(cfg);
  const sectorBytes = 8 + 2 * NODE + info.challengeCount * per;
  if (bytes.length !== POST_HEADER + n * sectorBytes)
    throw new ProofRejected('vanilla PoSt proof has the wrong length');
  const proofs: FallbackPoStSectorProof[] = [];
  let off = POST_HEADER;
  sectors.forEach((s, i) => {
    const id = dv.getBigUint64(off, true);
    if (id !== s.sectorId) throw new ProofRejected(`sector ${i} of the proof is ${id}, expected ${s.sectorId}`);
    const commC = bytes.slice(off + 8, off + 8 + NODE);
    const commRLast = bytes.slice(off + 8 + NODE, off + 8 + 2 * NODE);
    off += 8 + 2 * NODE;
    const leaves = postLeafChallenges(info, pub.randomness, s.sectorId, i);
    const inclusionProofs = leaves.map((c) => {
      const p = readTreeRProof(bytes, off, c, commRLast, cfg);
      off += per;
      return p;
    });
    proofs.push({ sectorId: id, commR: Uint8Array.from(s.commR), vanillaProof: { inclusionProofs, commC, commRLast } });
  });
  return { postProof: info.id, proofs };
}

/** What the chain knows when it verifies a Window or Winning PoSt (Lotus `WindowPoStVerifyInfo`). */
export interface PoStVerifyInput {
  /** Chain randomness (top two bits cleared here, as Lotus does). */
  randomness: Uint8Array;
  minerId: bigint | number;
  proofs: readonly PoStProof[];
  /** The challenged sectors (Window: the partition's non-faulty sectors; Winning: the selected one). */
  sectors: readonly PoStPublicSector[];
}

function verifyPoStOrThrow(kind: 'window' | 'winning', i: PoStVerifyInput): void {
  if (i.proofs.length !== 1) throw new ProofRejected(`expected exactly one PoSt proof, got ${i.proofs.length}`);
  const randomness = postRandomness(i.randomness);
  const proverId = proverIdFromActorId(i.minerId);
  const { postProof, proofs } = decodePoStProof(i.proofs[0].proofBytes, { randomness, sectors: i.sectors });
  if (postProof !== i.proofs[0].postProof)
    throw new ProofRejected(`bytes are for PoSt proof ${postProof}, labelled ${i.proofs[0].postProof}`);
  const info = postProofInfo(postProof);
  if (info.kind !== kind) throw new ProofRejected(`${info.name} is not a ${kind} PoSt proof`);
  try {
    verifyPoStVanillaOrThrow(info, { randomness, proverId, sectors: i.sectors }, proofs);
  } catch (e) {
    if (e instanceof PoStVerifyError) throw new ProofRejected(e.message);
    throw e;
  }
}

export function verifyWindowPoStProofOrThrow(i: PoStVerifyInput): void {
  verifyPoStOrThrow('window', i);
}

export function verifyWinningPoStProofOrThrow(i: PoStVerifyInput): void {
  verifyPoStOrThrow('winning', i);
}

function asBoolean(f: () => void): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (e instanceof ProofRejected) return false;
    throw e;
  }
}

export function verifyWindowPoStProof(i: PoStVerifyInput): boolean {
  return asBoolean(() => verifyWindowPoStProofOrThrow(i));
}

export function verifyWinningPoStProof(i: PoStVerifyInput): boolean {
  return asBoolean(() => verifyWinningPoStProofOrThrow(i));
}

// ------------------------------------------------------------------------------------------------- provers

/** C2 without a SNARK: verifies the C1 output in full and encodes it. */
export class VanillaSealProver implements SealProver {
  readonly kind = 'vanilla' as const;

  async sealCommitPhase2(req: SealCommitPhase2Request): Promise<Uint8Array> {
    const c1 = req.c1;
    const cfg = c1.registeredProof;
    const replicaId = generateReplicaId(
      proverIdFromActorId(req.minerId),
      req.sectorId,
      c1.ticket,
      c1.commD,
      cfg.porepId,
    );
    if (!bytesEqual(replicaId, c1.replicaId)) {
      throw new Error(`C2: the C1 output's replica id is not that of miner ${req.minerId}, sector ${req.sectorId}`);
    }
    // rust's C2 checks its SNARK before returning it; the vanilla prover checks the vanilla proofs
    verifyPorepProofsOrThrow(cfg, c1, c1.vanillaProofs);
    return encodeSealProof(c1);
  }
}

/** Window/Winning PoSt from the sector files, proofs as vanilla PoSt bytes. */
export class VanillaPoStProver implements PoStProver {
  readonly kind = 'vanilla' as const;

  constructor(private readonly concurrency = 8) {}

  async generateWindowPoSt(req: PoStRequest): Promise<WindowPoStResult> {
    const info = postProofInfo(req.proof);
    const randomness = postRandomness(req.randomness);
    const proverId = proverIdFromActorId(req.minerId);
    const r = await generateWindowPoStVanilla({
      proof: info,
      randomness,
      proverId,
      replicas: req.replicas,
      concurrency: this.concurrency,
    });
    return {
      proofs: r.proofs.length ? [{ postProof: info.id, proofBytes: encodePoStProof(info, r.proofs) }] : [],
      faults: r.faults.map((f) => f.sectorId),
    };
  }

  async generateWinningPoSt(req: PoStRequest): Promise<PoStProof[]> {
    const info = postProofInfo(req.proof);
    const randomness = postRandomness(req.randomness);
    const proverId = proverIdFromActorId(req.minerId);
    checkSafeCommitment(proverId, 'prover_id');
    const proofs = await generateWinningPoStVanilla({ proof: info, randomness, proverId, replicas: req.replicas });
    return [{ postProof: info.id, proofBytes: encodePoStProof(info, proofs) }];
  }
}
