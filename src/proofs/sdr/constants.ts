/**
 * The SDR parameters of the registered seal proofs (rust-filecoin-proofs-api `registry.rs`,
 * filecoin-proofs `constants.rs`): node count, layer count, porep_id and API version per proof id.
 *
 * A small local table so this folder stands alone; the full registry (partitions, challenges, tree shapes)
 * lives in src/proofs/registry.ts.
 */

/** rust-fil-proofs ApiVersion. 1.1 and 1.2 seal identically; 1.0 differs in the DRG and Feistel (see graph.ts). */
export type ApiVersion = '1.0.0' | '1.1.0' | '1.2.0';

export const NODE_SIZE = 32;
export const BASE_DEGREE = 6;
export const EXP_DEGREE = 8;
/** Parents per node: 6 DRG then 8 expander (`StackedGraph::parents`). */
export const DEGREE = BASE_DEGREE + EXP_DEGREE;

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Sector sizes with a registered seal proof, in the order of the proof ids (id % 5). */
export const SECTOR_SIZES = [2 * KiB, 8 * MiB, 512 * MiB, 32 * GiB, 64 * GiB] as const;

/** SDR layers per sector size (filecoin-proofs `LAYERS`). */
export function layersFor(sectorSize: number): number {
  if (sectorSize >= 32 * GiB) return 11;
  return 2;
}

export interface SealProofParams {
  /** RegisteredSealProof id (0–19). */
  proofId: number;
  sectorSize: number;
  nodes: number;
  layers: number;
  /** 32 bytes: id u64 LE, nonce 0 u64 LE, 16 zero bytes. */
  porepId: Uint8Array;
  apiVersion: ApiVersion;
}

/** porep_id of a registered seal proof: id as u64 LE, nonce 0, zero padding (`registry.rs: porep_id`). */
export function porepIdOf(proofId: number): Uint8Array {
  const id = new Uint8Array(32);
  new DataView(id.buffer).setBigUint64(0, BigInt(proofId), true);
  return id;
}

/** Parameters of seal proof `proofId` (0–4 V1, 5–9 V1_1, 10–14 SyntheticPoRep, 15–19 NonInteractivePoRep). */
export function sealProofParams(proofId: number): SealProofParams {
  if (!Number.isInteger(proofId) || proofId < 0 || proofId > 19) {
    throw new RangeError(`unknown seal proof id ${proofId} (registered ids are 0–19)`);
  }
  const sectorSize = SECTOR_SIZES[proofId % 5]!;
  const apiVersion: ApiVersion = proofId < 5 ? '1.0.0' : proofId < 10 ? '1.1.0' : '1.2.0';
  return {
    proofId,
    sectorSize,
    nodes: sectorSize / NODE_SIZE,
    layers: layersFor(sectorSize),
    porepId: porepIdOf(proofId),
    apiVersion,
  };
}

/** The V1_1 seal proof id of a sector size (what Lotus and venus use today), e.g. 8 for 32GiB. */
export function defaultProofIdFor(sectorSize: number): number {
  const i = SECTOR_SIZES.indexOf(sectorSize as (typeof SECTOR_SIZES)[number]);
  if (i < 0) throw new RangeError(`no registered seal proof for sector size ${sectorSize}`);
  return 5 + i;
}

/** Parses "2KiB", "8MiB", "512MiB", "32GiB", "64GiB" (also "2k", "32G", plain bytes). */
export function parseSectorSize(text: string): number {
  const m = /^\s*(\d+)\s*(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tib)?\s*$/i.exec(text);
  if (!m) throw new RangeError(`cannot read sector size "${text}" (e.g. 2KiB, 8MiB, 512MiB, 32GiB, 64GiB)`);
  const unit = (m[2] ?? 'b').toLowerCase()[0]!;
  const mult = { b: 1, k: KiB, m: MiB, g: GiB, t: 1024 * GiB }[unit]!;
  return Number(m[1]) * mult;
}

/** "2KiB", "512MiB", "32GiB" for a byte count. */
export function formatSectorSize(bytes: number): string {
  for (const [u, n] of [
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes >= n && bytes % n === 0) return `${bytes / n}${u}`;
  }
  return `${bytes}B`;
}
