/**
 * The sealing pipeline, one function per step, named as rust-fil-proofs' `filecoin-proofs/src/api/seal.rs`
 * names them (docs/spec/proofs.md has what each step hashes). The worker's stages, the benchmarks and the test
 * fixtures call these; the modules under them (pieces, tree-d, sdr, pc2, porep, prover) are the
 * `storage-proofs-*` layer.
 *
 *   addPiece → generateTreeD → sealPreCommitPhase1 → sealPreCommitPhase2 → sealCommitPhase1 → sealCommitPhase2
 *   → verifySeal;  clearCache (finalize) once proven;  unseal to read a range back.
 */
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { type Pc2Options, type Pc2Result, pc2 } from '../pc2/pc2.js';
import { type AddPiecesOptions, addPieces, computeCommD, type PieceInfo } from '../pieces.js';
import type { SealCommitPhase1Output } from '../porep/c1.js';
import { clearSyntheticProofs } from '../porep/finalize.js';
import { type UnsealOptions, type UnsealResult, unsealRange } from '../porep/unseal.js';
import type { SealProver } from '../prover/types.js';
import { type SealVerifyInput, VanillaSealProver, verifySealProofOrThrow } from '../prover/vanilla.js';
import { labelSectorLayers, type SectorLabels, type SectorLabelsOptions } from '../sdr/pc1.js';
import { type BuildTreeDOptions, buildTreeD, type TreeDResult, treeDPath } from '../tree-d.js';

/** AddPiece: writes the pieces (Fr32-padded, aligned, zero pieces between) into the staged sector file. */
export async function addPiece(o: AddPiecesOptions): Promise<PieceInfo[]> {
  await mkdir(dirname(o.stagedPath), { recursive: true });
  return addPieces(o);
}

/** TreeD of the staged sector into the cache directory (`sc-02-data-tree-d.dat`); its root is CommD. */
export async function generateTreeD(o: BuildTreeDOptions): Promise<TreeDResult> {
  await mkdir(o.cacheDir, { recursive: true });
  return buildTreeD(o);
}

export interface SealPreCommitPhase1Options extends Omit<SectorLabelsOptions, 'commD'> {
  /** The sector's pieces (sizes and commitments), from which CommD is computed as rust does. */
  pieces: readonly PieceInfo[];
}

export interface SealPreCommitPhase1Output extends SectorLabels {
  commD: Uint8Array;
}

/**
 * PC1 (rust `seal_pre_commit_phase1`): CommD from the pieces, the replica id, the parent cache, then the SDR
 * layers into the cache directory. TreeD must already be there: PC2 reads it, and C1 opens it.
 */
export async function sealPreCommitPhase1(o: SealPreCommitPhase1Options): Promise<SealPreCommitPhase1Output> {
  const commD = computeCommD(o.proof.sectorSize, o.pieces);
  await stat(treeDPath(o.cacheDir)).catch(() => {
    throw new Error(`pc1: ${treeDPath(o.cacheDir)} is missing (TreeD must be generated first)`);
  });
  const r = await labelSectorLayers({ ...o, commD });
  return { ...r, commD };
}

/** PC2 (rust `seal_pre_commit_phase2`): TreeC, the replica, TreeR-last, p_aux/t_aux; CommR. */
export function sealPreCommitPhase2(o: Pc2Options): Promise<Pc2Result> {
  return pc2(o);
}

/** C1 (rust `seal_commit_phase1`): the challenges from the seed and their vanilla proofs, verified. */
export { sealCommitPhase1 } from '../porep/c1.js';

export interface SealCommitPhase2Options {
  c1: SealCommitPhase1Output;
  minerId: bigint;
  sectorId: bigint;
  /** Default: the vanilla prover (the proof bytes the embedded devnet verifies in full). */
  prover?: SealProver;
  signal?: AbortSignal;
}

/** C2 (rust `seal_commit_phase2`): the seal proof bytes ProveCommit carries. */
export function sealCommitPhase2(o: SealCommitPhase2Options): Promise<Uint8Array> {
  const prover = o.prover ?? new VanillaSealProver();
  return prover.sealCommitPhase2({ c1: o.c1, minerId: o.minerId, sectorId: o.sectorId }, o.signal);
}

/** rust `verify_seal` for the vanilla proof bytes; throws with the reason when the proof is refused. */
export function verifySeal(i: SealVerifyInput): void {
  verifySealProofOrThrow(i);
}

/**
 * Finalize (rust `clear_cache`): deletes TreeD, TreeC and the layers; keeps what Window PoSt needs (TreeR-last,
 * p_aux, t_aux). Returns the names removed.
 */
export { clearCache } from '../porep/finalize.js';

/** rust `clear_synthetic_proofs`: the Synthetic PoRep proofs file, once C1 has read it. True when it existed. */
export function clearSyntheticPoRepProofs(cacheDir: string): Promise<boolean> {
  return clearSyntheticProofs(cacheDir);
}

/** Unseal (rust `unseal_range`): regenerates the key layer and decodes a range of the replica, CommD checked. */
export function unseal(o: UnsealOptions): Promise<UnsealResult> {
  return unsealRange(o);
}
