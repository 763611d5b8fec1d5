/**
 * The in-process implementations of every stage, over src/proofs. The sealing thread calls them directly when
 * a stage has no `[processors.<stage>]`, and `venus-worker processor <stage>` serves them to a parent worker.
 *
 * A stage whose proofs have not landed in this build throws `StageNotAvailableError`: no made-up outputs.
 */
import { copyFile, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import {
  addPiece,
  c1OutputFromJson,
  c1OutputToJson,
  generateTreeD,
  type PieceInput,
  sealCommitPhase1,
  sealCommitPhase2,
  sealPreCommitPhase1,
  sealPreCommitPhase2,
  sealProof,
} from '../../proofs/index.js';
import { fsyncPath } from '../fsync.js';
import type {
  AddPiecesOutput,
  AddPiecesTask,
  C1Output,
  C1Task,
  C2Output,
  C2Task,
  OutputOf,
  PC1Task,
  PC2Output,
  PC2Task,
  PieceFile,
  Stage,
  TaskOf,
  TransferTask,
  TreeDOutput,
  TreeDTask,
} from './tasks.js';
import { fromJson32, toJson32 } from './tasks.js';

export class StageNotAvailableError extends Error {
  constructor(readonly stage: string) {
    super(`${stage} is not available in this build (its proofs have not landed)`);
    this.name = 'StageNotAvailableError';
  }
}

async function pieceSource(f: PieceFile): Promise<PieceInput['data']> {
  if (f === 'pledge') return null;
  if ('local' in f) return f.local;
  const res = await fetch(f.url, { headers: f.headers, redirect: 'follow' });
  if (!res.ok || !res.body) throw new Error(`fetch piece ${f.url}: HTTP ${res.status}`);
  return Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
}

export async function builtinAddPieces(t: AddPiecesTask): Promise<AddPiecesOutput> {
  const { sectorSize } = sealProof(t.seal_proof_type);
  await mkdir(dirname(t.staged_filepath), { recursive: true });
  const pieces: PieceInput[] = [];
  for (const p of t.pieces) {
    if (!Number.isInteger(p.piece_size / 127)) throw new RangeError(`bad unpadded piece size ${p.piece_size}`);
    pieces.push({
      size: (p.piece_size / 127) * 128,
      data: await pieceSource(p.piece_file),
      payloadSize: p.piece_file === 'pledge' ? undefined : p.payload_size,
    });
  }
  const out = await addPiece({ stagedPath: t.staged_filepath, sectorSize, pieces });
  return out.map((p) => ({ size: p.size, commitment: toJson32(p.commitment) }));
}

export async function builtinTreeD(t: TreeDTask): Promise<TreeDOutput> {
  const { sectorSize } = sealProof(t.registered_proof);
  await mkdir(t.cache_dir, { recursive: true });
  const r = await generateTreeD({ stagedPath: t.staged_file, cacheDir: t.cache_dir, sectorSize });
  return { comm_d: toJson32(r.commD) };
}

/** What our PC1 hands to PC2 and C1 (rust's output also carries the labels' store configs; ours are implied). */
export interface BuiltinPC1Output {
  registered_proof: number;
  replica_id: number[];
  comm_d: number[];
}

/** PC1 (`sealPreCommitPhase1`). TreeD must already be in the cache dir (the sealing thread links it there). */
export async function builtinPC1(t: PC1Task): Promise<BuiltinPC1Output> {
  const proof = sealProof(t.registered_proof);
  const r = await sealPreCommitPhase1({
    proof,
    cacheDir: t.cache_path,
    proverId: fromJson32(t.prover_id, 'prover_id'),
    sectorId: t.sector_id,
    ticket: fromJson32(t.ticket, 'ticket'),
    pieces: t.piece_infos.map((p) => ({ size: p.size, commitment: fromJson32(p.commitment, 'piece commitment') })),
  });
  return { registered_proof: proof.id, replica_id: toJson32(r.replicaId), comm_d: toJson32(r.commD) };
}

/** PC2 over the PC1 layers in the cache dir (src/proofs/pc2): TreeC, replica, TreeR-last, p_aux, t_aux. */
export async function builtinPC2(t: PC2Task): Promise<PC2Output> {
  const r = await sealPreCommitPhase2({
    cacheDir: t.cache_dir,
    sealedPath: t.sealed_file,
    stagedPath: t.staged_file ?? undefined,
    proof: t.registered_proof,
  });
  if (!r.commD) throw new Error(`pc2: no CommD (${t.cache_dir} has no sc-02-data-tree-d.dat)`);
  return { comm_r: toJson32(r.commR), comm_d: toJson32(r.commD) };
}

/** C1 (src/proofs/porep): challenges from the seed, vanilla proofs from the sector's files, verified. */
export async function builtinC1(t: C1Task): Promise<C1Output> {
  const o = await sealCommitPhase1({
    proof: t.registered_proof,
    cacheDir: t.cache_path,
    sealedPath: t.replica_path,
    proverId: fromJson32(t.prover_id, 'prover_id'),
    sectorId: t.sector_id,
    ticket: fromJson32(t.ticket, 'ticket'),
    seed: fromJson32(t.seed, 'seed'),
    commD: fromJson32(t.comm_d, 'comm_d'),
    commR: fromJson32(t.comm_r, 'comm_r'),
  });
  // rust-filecoin-proofs-api's serde JSON of SealCommitPhase1Output, as damocles hands it to c2
  return c1OutputToJson(o);
}

/**
 * C2: the seal proof bytes. This build has no Groth16 prover (rust's bellperson circuits): the proof it
 * produces is the C1 output itself (its serde JSON), the seal proof format the embedded devnet verifies in
 * full (src/devnet/vanilla.ts). A chain that wants a SNARK refuses it.
 */
export async function builtinC2(t: C2Task): Promise<C2Output> {
  const o = c1OutputFromJson(t.c1out);
  if (o.registeredProof.id !== t.registered_proof) {
    throw new Error(`c2: the C1 output is for seal proof ${o.registeredProof.id}, not ${t.registered_proof}`);
  }
  // C2 without a SNARK: the vanilla seal proof bytes the devnet verifies (the C1 output checked first)
  const proof = await sealCommitPhase2({ c1: o, minerId: BigInt(t.miner_id), sectorId: BigInt(t.sector_id) });
  return { proof: Buffer.from(proof).toString('base64') };
}

/** Copies one file crash-safely: to `<dest>.tmp`, fsync, size check, rename, fsync the directory. */
async function copyOne(src: string, dest: string): Promise<void> {
  const want = (await stat(src)).size;
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp`;
  await copyFile(src, tmp);
  await fsyncPath(tmp);
  const got = (await stat(tmp)).size;
  if (got !== want) {
    await rm(tmp, { force: true });
    throw new Error(`copy of ${src} to ${dest}: ${got} bytes written, ${want} expected`);
  }
  await rename(tmp, dest);
  await fsyncPath(dirname(dest));
}

async function copyTree(src: string, dest: string): Promise<void> {
  if ((await stat(src)).isDirectory()) {
    await mkdir(dest, { recursive: true });
    for (const e of await readdir(src)) await copyTree(join(src, e), join(dest, e));
    await fsyncPath(dest);
  } else {
    await copyOne(src, dest);
  }
}

/** The transfer stage: copies each route's source (file or directory) to its destination, verified. */
export async function builtinTransfer(t: TransferTask): Promise<boolean> {
  for (const r of t.routes) {
    if (r.src.store_name !== null)
      throw new Error(`transfer: reading from store "${r.src.store_name}" is not supported`);
    await copyTree(r.src.uri, r.dest.uri);
  }
  return true;
}

/** Every stage's in-process implementation. */
export const BUILTIN: { [S in Stage]: (task: TaskOf<S>) => Promise<OutputOf<S>> } = {
  add_pieces: builtinAddPieces,
  tree_d: builtinTreeD,
  pc1: builtinPC1,
  pc2: builtinPC2,
  c1: builtinC1,
  c2: builtinC2,
  transfer: builtinTransfer,
};
