/**
 * Registered proofs and per-sector-size constants, as rust-fil-proofs and the chain define them:
 * - rust-filecoin-proofs-api `src/registry.rs` (RegisteredSealProof / RegisteredPoStProof, porep_id, versions),
 * - rust-fil-proofs `filecoin-proofs/src/constants.rs` (layers, partitions, challenges, shapes, PoSt counts),
 *   `filecoin-proofs/src/parameters.rs` (`select_challenges`), `types/porep_config.rs` (feature partitions),
 * - go-state-types `abi` (the numeric ids on chain and the Go names).
 *
 * Sizes are byte counts held in JS numbers (64 GiB = 2^36 is far below 2^53).
 */

import { defaultRowsToDiscard, NODE_SIZE } from './merkle.js';

/** DRG (bucket graph) parents per node (`BASE_DEGREE`). */
export const BASE_DEGREE = 6;
/** Expander (Feistel) parents per node (`EXP_DEGREE`). */
export const EXP_DEGREE = 8;
/** All parents of a node in layers > 1. */
export const DEGREE = BASE_DEGREE + EXP_DEGREE;
/** Parent slots hashed per label (`TOTAL_PARENTS`: the 14 parents repeated to 37). */
export const TOTAL_PARENTS = 37;
/** Groth16 proof bytes per partition. */
export const SINGLE_PARTITION_PROOF_LEN = 192;
/** Smallest unpadded piece (and the reserved bytes per piece in a fully aligned sector). */
export const MIN_PIECE_SIZE = 127;
/** Circuit limit on challenges per PoRep partition (`MAX_CHALLENGES_PER_PARTITION`). */
export const MAX_CHALLENGES_PER_PARTITION = 18;
export const WINNING_POST_CHALLENGE_COUNT = 66;
export const WINNING_POST_SECTOR_COUNT = 1;
export const WINDOW_POST_CHALLENGE_COUNT = 10;
/** Synthetic PoRep generates min(nodes, 2^18) challenges (`DEFAULT_SYNTH_CHALLENGE_COUNT`). */
export const DEFAULT_SYNTH_CHALLENGE_COUNT = 1 << 18;
/** Registered seal proof ids ≤ this are "legacy" (v1.0 graph rules), see `isLegacyPorepId`. */
export const MAX_LEGACY_POREP_REGISTERED_PROOF_ID = 4;

export type ApiVersion = '1.0.0' | '1.1.0' | '1.2.0';
export type ApiFeature = 'SyntheticPoRep' | 'NonInteractivePoRep';
export type ChallengeKind = 'interactive' | 'synthetic' | 'non-interactive';

/** Compares API versions: negative, 0 or positive. */
export function compareApiVersion(a: ApiVersion, b: ApiVersion): number {
  const order: ApiVersion[] = ['1.0.0', '1.1.0', '1.2.0'];
  return order.indexOf(a) - order.indexOf(b);
}

/** TreeC / TreeR-last shape: base arity 8, then optional sub and top arities (0 = none). */
export interface TreeShape {
  readonly base: number;
  readonly sub: number;
  readonly top: number;
}

/** Everything that depends only on the sector size. */
export interface SectorSizeInfo {
  readonly sectorSize: number;
  /** "2KiB", "32GiB"… */
  readonly name: string;
  readonly nodes: number;
  readonly layers: number;
  /** Partitions of interactive and synthetic PoRep proofs. */
  readonly porepPartitions: number;
  /** Minimum total challenges of interactive (and synthetic) PoRep. */
  readonly interactiveMinChallenges: number;
  /** Partitions of non-interactive PoRep. */
  readonly niPorepPartitions: number;
  /** Minimum total challenges of non-interactive PoRep. */
  readonly niMinChallenges: number;
  readonly shape: TreeShape;
  /** Base trees TreeC / TreeR-last are split into (`get_base_tree_count`). */
  readonly baseTreeCount: number;
  /** Leaves per base tree (a power of 8). */
  readonly baseTreeLeaves: number;
  /** rows_to_discard of each TreeR-last base tree with the default setting (2). */
  readonly treeRLastRowsToDiscard: number;
  /** Sectors per Window PoSt partition (`WINDOW_POST_SECTOR_COUNT`). */
  readonly windowPostSectorCount: number;
  /** Groth16 parameters are published for this size (others are test sizes). */
  readonly published: boolean;
}

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function sizeInfo(sectorSize: number, name: string, shape: TreeShape, published: boolean): SectorSizeInfo {
  const production = sectorSize >= 32 * GiB;
  const nodes = sectorSize / NODE_SIZE;
  const baseTreeCount = shape.sub === 0 ? 1 : shape.top === 0 ? shape.sub : shape.sub * shape.top;
  const baseTreeLeaves = nodes / baseTreeCount;
  return Object.freeze({
    sectorSize,
    name,
    nodes,
    layers: production ? 11 : 2,
    porepPartitions: production ? 10 : 1,
    interactiveMinChallenges: production ? 176 : 2,
    niPorepPartitions: production ? 126 : 13,
    niMinChallenges: production ? 2253 : 26,
    shape: Object.freeze(shape),
    baseTreeCount,
    baseTreeLeaves,
    treeRLastRowsToDiscard: defaultRowsToDiscard(baseTreeLeaves, shape.base),
    windowPostSectorCount: sectorSize === 32 * GiB ? 2349 : sectorSize === 64 * GiB ? 2300 : 2,
    published,
  });
}

const BASE: TreeShape = { base: 8, sub: 0, top: 0 };
const SUB2: TreeShape = { base: 8, sub: 2, top: 0 };
const SUB8: TreeShape = { base: 8, sub: 8, top: 0 };
const TOP2: TreeShape = { base: 8, sub: 8, top: 2 };

/** Every sector size rust-fil-proofs supports (`SUPPORTED_SECTOR_SIZES`), smallest first. */
export const SECTOR_SIZES: readonly SectorSizeInfo[] = Object.freeze([
  sizeInfo(2 * KiB, '2KiB', BASE, true),
  sizeInfo(4 * KiB, '4KiB', SUB2, false),
  sizeInfo(16 * KiB, '16KiB', SUB8, false),
  sizeInfo(32 * KiB, '32KiB', TOP2, false),
  sizeInfo(8 * MiB, '8MiB', BASE, true),
  sizeInfo(16 * MiB, '16MiB', SUB2, false),
  sizeInfo(512 * MiB, '512MiB', BASE, true),
  sizeInfo(1 * GiB, '1GiB', SUB2, false),
  sizeInfo(32 * GiB, '32GiB', SUB8, true),
  sizeInfo(64 * GiB, '64GiB', TOP2, true),
]);

/** The constants of a supported sector size; throws for others. */
export function sectorSizeInfo(sectorSize: number): SectorSizeInfo {
  const info = SECTOR_SIZES.find((s) => s.sectorSize === sectorSize);
  if (!info) {
    throw new RangeError(
      `unsupported sector size ${formatSectorSize(sectorSize)} (supported: ${SECTOR_SIZES.map((s) => s.name).join(', ')})`,
    );
  }
  return info;
}

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: KiB,
  kb: KiB,
  ki: KiB,
  kib: KiB,
  m: MiB,
  mb: MiB,
  mi: MiB,
  mib: MiB,
  g: GiB,
  gb: GiB,
  gi: GiB,
  gib: GiB,
  t: 1024 * GiB,
  tb: 1024 * GiB,
  ti: 1024 * GiB,
  tib: 1024 * GiB,
};

/**
 * Parses a sector size as operators write it: "2KiB", "32GiB", "512MiB", "8M", "2048" or a number of
 * bytes. Units are binary whatever the spelling ("32GB" = 32GiB), as Lotus' go-units RAMInBytes reads
 * them. Returns bytes; does not check the size is supported.
 */
export function parseSectorSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input <= 0) throw new RangeError(`bad sector size ${input}`);
    return input;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new RangeError(`bad sector size "${input}" (expected e.g. 2KiB, 512MiB, 32GiB)`);
  const bytes = Number(m[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RangeError(`bad sector size "${input}"`);
  return bytes;
}

/** "2KiB", "512MiB", "32GiB" for exact binary multiples, else "<n>B". */
export function formatSectorSize(bytes: number): string {
  for (const [unit, mult] of [
    ['TiB', 1024 * GiB],
    ['GiB', GiB],
    ['MiB', MiB],
    ['KiB', KiB],
  ] as const) {
    if (bytes >= mult && bytes % mult === 0) return `${bytes / mult}${unit}`;
  }
  return `${bytes}B`;
}

// ---------------------------------------------------------------------------------------------------------
// PoRep configuration

/** What sealing and proving need to know about a PoRep, registered or not (rust `PoRepConfig` + setup params). */
export interface PoRepConfig {
  readonly sectorSize: number;
  readonly nodes: number;
  readonly layers: number;
  /** 32 bytes: the seed of the graph, the parent cache and the replica id. */
  readonly porepId: Uint8Array;
  readonly apiVersion: ApiVersion;
  readonly features: readonly ApiFeature[];
  readonly partitions: number;
  readonly challengeKind: ChallengeKind;
  /** Minimum challenges over all partitions. */
  readonly minChallenges: number;
  /** ceil(minChallenges / partitions) (rust `select_challenges`). */
  readonly challengesPerPartition: number;
  /** Synthetic challenges generated in C1 (0 unless SyntheticPoRep). */
  readonly syntheticChallengeCount: number;
  readonly shape: TreeShape;
  readonly baseTreeCount: number;
  readonly baseTreeLeaves: number;
  readonly treeRLastRowsToDiscard: number;
  /** porep_id ≤ 4: the v1.0 graph rules (see docs/spec/proofs.md §DRG parents). */
  readonly legacy: boolean;
}

/** porep_id of a registered proof: u64 id LE, u64 nonce LE, 16 zero bytes. */
export function porepIdFor(registeredId: number, nonce = 0n): Uint8Array {
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(registeredId), true);
  dv.setBigUint64(8, nonce, true);
  return out;
}

/** storage-proofs-core `is_legacy_porep_id`: the first 8 bytes as a LE u64 are ≤ 4. */
export function isLegacyPorepId(porepId: Uint8Array): boolean {
  if (porepId.length !== 32) throw new RangeError('porep_id must be 32 bytes');
  const id = new DataView(porepId.buffer, porepId.byteOffset, 8).getBigUint64(0, true);
  return id <= BigInt(MAX_LEGACY_POREP_REGISTERED_PROOF_ID);
}

/**
 * A PoRep config for any supported size, porep_id, API version and feature set (the registered proofs
 * below use it; tests use it for test sizes and arbitrary porep ids, as rust's tests do).
 */
export function porepConfig(opts: {
  sectorSize: number;
  porepId: Uint8Array;
  apiVersion: ApiVersion;
  features?: readonly ApiFeature[];
}): PoRepConfig {
  const s = sectorSizeInfo(opts.sectorSize);
  const features = [...(opts.features ?? [])];
  if (features.length > 1 || (features.length === 1 && compareApiVersion(opts.apiVersion, '1.2.0') < 0)) {
    throw new RangeError(`features ${features.join(', ')} need API version 1.2.0 and exclude each other`);
  }
  if (opts.porepId.length !== 32) throw new RangeError('porep_id must be 32 bytes');
  const ni = features.includes('NonInteractivePoRep');
  const synthetic = features.includes('SyntheticPoRep');
  const partitions = ni ? s.niPorepPartitions : s.porepPartitions;
  const minChallenges = ni ? s.niMinChallenges : s.interactiveMinChallenges;
  const challengesPerPartition = Math.ceil(minChallenges / partitions);
  if (challengesPerPartition > MAX_CHALLENGES_PER_PARTITION) throw new Error('too many challenges per partition');
  return Object.freeze({
    sectorSize: s.sectorSize,
    nodes: s.nodes,
    layers: s.layers,
    porepId: Uint8Array.from(opts.porepId),
    apiVersion: opts.apiVersion,
    features: Object.freeze(features),
    partitions,
    challengeKind: ni ? 'non-interactive' : synthetic ? 'synthetic' : 'interactive',
    minChallenges,
    challengesPerPartition,
    syntheticChallengeCount: synthetic ? Math.min(s.nodes, DEFAULT_SYNTH_CHALLENGE_COUNT) : 0,
    shape: s.shape,
    baseTreeCount: s.baseTreeCount,
    baseTreeLeaves: s.baseTreeLeaves,
    treeRLastRowsToDiscard: s.treeRLastRowsToDiscard,
    legacy: isLegacyPorepId(opts.porepId),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Registered seal proofs (ids 0–19)

export interface SealProofInfo extends PoRepConfig {
  /** The id on chain and in porep_id. */
  readonly id: number;
  /** go-state-types name (without the `RegisteredSealProof_` prefix). */
  readonly name: string;
  /** rust-filecoin-proofs-api variant name (as the processors' JSON carries it). */
  readonly rustName: string;
  /** The Winning PoSt proof of this sector size. */
  readonly winningPostProof: number;
  /** The Window PoSt proof used since network version 19 (go `…V1_1`, rust `…V1_2`). */
  readonly windowPostProof: number;
}

const PUBLISHED = ['2KiB', '8MiB', '512MiB', '32GiB', '64GiB'] as const;

function buildSealProofs(): SealProofInfo[] {
  const out: SealProofInfo[] = [];
  const groups: { suffix: string; rustSuffix: string; version: ApiVersion; features: ApiFeature[] }[] = [
    { suffix: 'V1', rustSuffix: 'V1', version: '1.0.0', features: [] },
    { suffix: 'V1_1', rustSuffix: 'V1_1', version: '1.1.0', features: [] },
    // the name says 1_1 but the feature arrived with API 1.2 (rust registry.rs comment)
    {
      suffix: 'V1_1_Feat_SyntheticPoRep',
      rustSuffix: 'V1_1_Feat_SyntheticPoRep',
      version: '1.2.0',
      features: ['SyntheticPoRep'],
    },
    {
      suffix: 'V1_2_Feat_NiPoRep',
      rustSuffix: 'V1_2_Feat_NonInteractivePoRep',
      version: '1.2.0',
      features: ['NonInteractivePoRep'],
    },
  ];
  groups.forEach((g, gi) => {
    PUBLISHED.forEach((size, si) => {
      const id = gi * 5 + si;
      const cfg = porepConfig({
        sectorSize: parseSectorSize(size),
        porepId: porepIdFor(id),
        apiVersion: g.version,
        features: g.features,
      });
      out.push(
        Object.freeze({
          ...cfg,
          id,
          name: `StackedDrg${size}${g.suffix}`,
          rustName: `StackedDrg${size}${g.rustSuffix}`,
          winningPostProof: si,
          windowPostProof: 10 + si,
        }),
      );
    });
  });
  return out;
}

/** All registered seal proofs, indexed by id (0–19). */
export const SEAL_PROOFS: readonly SealProofInfo[] = Object.freeze(buildSealProofs());

/** Name → id of every registered seal proof (go names). */
export const RegisteredSealProof = Object.freeze(
  Object.fromEntries(SEAL_PROOFS.map((p) => [p.name, p.id])) as Record<string, number>,
);

/** A registered seal proof by id, go name or rust name (with or without the `RegisteredSealProof_` prefix). */
export function sealProof(idOrName: number | string): SealProofInfo {
  if (typeof idOrName === 'number') {
    const p = SEAL_PROOFS[idOrName];
    if (!p || !Number.isInteger(idOrName)) throw new RangeError(`unknown registered seal proof ${idOrName}`);
    return p;
  }
  const n = idOrName.trim().replace(/^RegisteredSealProof_?/, '');
  if (/^\d+$/.test(n)) return sealProof(Number(n));
  const p = SEAL_PROOFS.find((x) => x.name === n || x.rustName === n);
  if (!p) throw new RangeError(`unknown registered seal proof "${idOrName}"`);
  return p;
}

/** The registered seal proof for a sector size and API generation ('1.1' = `…V1_1`, the default today). */
export function sealProofFor(
  sectorSize: number,
  kind: 'V1' | 'V1_1' | 'V1_1_Feat_SyntheticPoRep' | 'V1_2_Feat_NiPoRep' = 'V1_1',
): SealProofInfo {
  const name = `StackedDrg${formatSectorSize(sectorSize)}${kind}`;
  const p = SEAL_PROOFS.find((x) => x.name === name);
  if (!p) throw new RangeError(`no registered seal proof for ${formatSectorSize(sectorSize)} (${kind})`);
  return p;
}

// ---------------------------------------------------------------------------------------------------------
// Registered PoSt proofs (ids 0–14)

export interface PoStProofInfo {
  readonly id: number;
  /** go-state-types name (without `RegisteredPoStProof_`): Window `…V1_1` is rust's `…V1_2`. */
  readonly name: string;
  readonly rustName: string;
  readonly kind: 'winning' | 'window';
  readonly sectorSize: number;
  /** V1_0 for Winning and old Window; V1_2 (the grinding fix) for the Window proofs used since nv19. */
  readonly apiVersion: ApiVersion;
  /**
   * rust `PoStConfig.sector_count`: 1 for Winning, sectors per partition for Window. (Winning's circuit
   * turns {66 challenges, 1 sector} into 66 pseudo-sectors of 1 challenge.)
   */
  readonly sectorCount: number;
  /** Challenges per sector: 66 for Winning, 10 for Window. */
  readonly challengeCount: number;
  /** The seal proof whose trees it proves (the V1_1 of the same size). */
  readonly sealProof: number;
}

function buildPoStProofs(): PoStProofInfo[] {
  const out: PoStProofInfo[] = [];
  PUBLISHED.forEach((size, si) => {
    const sectorSize = parseSectorSize(size);
    out[si] = Object.freeze({
      id: si,
      name: `StackedDrgWinning${size}V1`,
      rustName: `StackedDrgWinning${size}V1`,
      kind: 'winning',
      sectorSize,
      apiVersion: '1.0.0',
      sectorCount: WINNING_POST_SECTOR_COUNT,
      challengeCount: WINNING_POST_CHALLENGE_COUNT,
      sealProof: 5 + si,
    });
    const windowCount = sectorSizeInfo(sectorSize).windowPostSectorCount;
    out[5 + si] = Object.freeze({
      id: 5 + si,
      name: `StackedDrgWindow${size}V1`,
      rustName: `StackedDrgWindow${size}V1`,
      kind: 'window',
      sectorSize,
      apiVersion: '1.0.0',
      sectorCount: windowCount,
      challengeCount: WINDOW_POST_CHALLENGE_COUNT,
      sealProof: 5 + si,
    });
    out[10 + si] = Object.freeze({
      id: 10 + si,
      name: `StackedDrgWindow${size}V1_1`,
      rustName: `StackedDrgWindow${size}V1_2`,
      kind: 'window',
      sectorSize,
      apiVersion: '1.2.0',
      sectorCount: windowCount,
      challengeCount: WINDOW_POST_CHALLENGE_COUNT,
      sealProof: 5 + si,
    });
  });
  return out;
}

/** All registered PoSt proofs, indexed by id (0–14). */
export const POST_PROOFS: readonly PoStProofInfo[] = Object.freeze(buildPoStProofs());

/** Name → id of every registered PoSt proof (go names). */
export const RegisteredPoStProof = Object.freeze(
  Object.fromEntries(POST_PROOFS.map((p) => [p.name, p.id])) as Record<string, number>,
);

/**
 * A registered PoSt proof by id or name. Go names win over rust names where they clash: go
 * `StackedDrgWindow2KiBV1_1` (id 10) is rust `StackedDrgWindow2KiBV1_2`; rust has no `…Window…V1_1`.
 */
export function postProof(idOrName: number | string): PoStProofInfo {
  if (typeof idOrName === 'number') {
    const p = POST_PROOFS[idOrName];
    if (!p || !Number.isInteger(idOrName)) throw new RangeError(`unknown registered PoSt proof ${idOrName}`);
    return p;
  }
  const n = idOrName.trim().replace(/^RegisteredPoStProof_?/, '');
  if (/^\d+$/.test(n)) return postProof(Number(n));
  const p = POST_PROOFS.find((x) => x.name === n) ?? POST_PROOFS.find((x) => x.rustName === n);
  if (!p) throw new RangeError(`unknown registered PoSt proof "${idOrName}"`);
  return p;
}
