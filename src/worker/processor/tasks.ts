/**
 * Task and output JSON of each stage, as they cross the external processor protocol. Field names follow
 * vc-processors' serde names (snake_case, `[u8; 32]` as arrays of numbers) where the original defines them.
 */

export type Bytes32Json = number[];

export interface PieceInfoJson {
  /** CommP, 32 numbers. */
  commitment: Bytes32Json;
  /** Padded size. */
  size: number;
}

export type PieceFile = { url: string; headers?: Record<string, string> } | { local: string } | 'pledge';

export interface AddPiecesTask {
  seal_proof_type: number;
  pieces: { piece_file: PieceFile; payload_size: number; piece_size: number }[];
  staged_filepath: string;
}
export type AddPiecesOutput = PieceInfoJson[];

export interface TreeDTask {
  registered_proof: number;
  /** null for a CC sector (all zeros). */
  staged_file: string | null;
  /** Directory receiving sc-02-data-tree-d.dat. */
  cache_dir: string;
}
export interface TreeDOutput {
  comm_d: Bytes32Json;
}

export interface PC1Task {
  registered_proof: number;
  cache_path: string;
  in_path: string;
  out_path: string;
  prover_id: Bytes32Json;
  sector_id: number;
  ticket: Bytes32Json;
  piece_infos: PieceInfoJson[];
}
/** Opaque to the worker: handed to PC2 and C1 as it came. */
export type PC1Output = unknown;

export interface PC2Task {
  registered_proof: number;
  pc1out: PC1Output;
  cache_dir: string;
  sealed_file: string;
  /** The unsealed data; when given the replica is written from it, so a rerun never reads a half-sealed file. */
  staged_file?: string | null;
}
export interface PC2Output {
  comm_r: Bytes32Json;
  comm_d: Bytes32Json;
}

export interface C1Task {
  registered_proof: number;
  cache_path: string;
  replica_path: string;
  prover_id: Bytes32Json;
  sector_id: number;
  ticket: Bytes32Json;
  seed: Bytes32Json;
  piece_infos: PieceInfoJson[];
  comm_r: Bytes32Json;
  comm_d: Bytes32Json;
}
export type C1Output = unknown;

export interface C2Task {
  registered_proof: number;
  c1out: C1Output;
  prover_id: Bytes32Json;
  sector_id: number;
  miner_id: number;
}
export interface C2Output {
  /** base64 (damocles' BytesVec) or, as rust C2 processors answer, an array of byte values */
  proof: string | number[];
}

export interface TransferRoute {
  src: { store_name: string | null; uri: string };
  dest: { store_name: string | null; uri: string };
  opt: { is_dir?: boolean; allow_link?: boolean } | null;
}
export interface TransferTask {
  stores: Record<string, { name: string; meta: Record<string, string> | null }>;
  routes: TransferRoute[];
}
export type TransferOutput = boolean;

export interface StageTasks {
  add_pieces: [AddPiecesTask, AddPiecesOutput];
  tree_d: [TreeDTask, TreeDOutput];
  pc1: [PC1Task, PC1Output];
  pc2: [PC2Task, PC2Output];
  c1: [C1Task, C1Output];
  c2: [C2Task, C2Output];
  transfer: [TransferTask, TransferOutput];
}
export type Stage = keyof StageTasks;
export type TaskOf<S extends Stage> = StageTasks[S][0];
export type OutputOf<S extends Stage> = StageTasks[S][1];

export const STAGES: readonly Stage[] = ['add_pieces', 'tree_d', 'pc1', 'pc2', 'c1', 'c2', 'transfer'];

export function toJson32(b: Uint8Array): Bytes32Json {
  if (b.length !== 32) throw new TypeError(`expected 32 bytes, got ${b.length}`);
  return Array.from(b);
}

export function fromJson32(v: unknown, what: string): Uint8Array {
  if (!Array.isArray(v) || v.length !== 32 || v.some((n) => !Number.isInteger(n) || n < 0 || n > 255)) {
    throw new TypeError(`${what}: expected 32 bytes as an array of numbers`);
  }
  return Uint8Array.from(v as number[]);
}
