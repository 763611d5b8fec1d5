/**
 * SnapDeals ("empty sector update") constants per sector size, as rust-fil-proofs'
 * `storage-proofs-update/src/constants.rs` defines them, and the registered update proofs
 * (rust-filecoin-proofs-api `RegisteredUpdateProof`, go-state-types `RegisteredUpdateProof_*`).
 * docs/spec/snap.md has the table.
 */
import { NODE_SIZE } from '../merkle.js';
import { sealProof, sectorSizeInfo } from '../registry.js';

const KIB_NODES = 1024 / NODE_SIZE;
/** Sector sizes in nodes that rust names (`SECTOR_SIZE_*`); the update rules only branch on these. */
const NODES_8KIB = 8 * KIB_NODES;
const NODES_32KIB = 32 * KIB_NODES;
const NODES_16MIB = 16 * 1024 * KIB_NODES;

/** rust `partition_count`: 1 up to 8KiB, 2 up to 32KiB, 4 up to 16MiB, else 16. */
export function updatePartitionCount(nodes: number): number {
  if (nodes <= NODES_8KIB) return 1;
  if (nodes <= NODES_32KIB) return 2;
  if (nodes <= NODES_16MIB) return 4;
  return 16;
}

/** rust `challenge_count`: challenges per partition, 10 up to 16MiB, else 86. */
export function updateChallengeCount(nodes: number): number {
  return nodes <= NODES_16MIB ? 10 : 86;
}

/** rust `hs`: the `h` values the circuit allows (number of high node-index bits selecting rho). */
export function updateHs(nodes: number): readonly number[] {
  return nodes <= NODES_32KIB ? [1, 1, 1, 1, 1, 1] : [7, 8, 9, 10, 11, 12];
}

/** rust `h_default` = hs[3]: 1 for test sizes up to 32KiB, 10 otherwise (production). */
export function updateHDefault(nodes: number): number {
  return updateHs(nodes)[3]!;
}

/** rust `apex_leaf_count`: leaves of each partition's apex tree inside TreeD (8 up to 8KiB, else 128). */
export function updateApexLeafCount(nodes: number): number {
  return nodes <= NODES_8KIB ? 8 : 128;
}

/** Everything the update's vanilla proof depends on (rust `PublicParams::from_sector_size`). */
export interface UpdateParams {
  readonly sectorSize: number;
  readonly nodes: number;
  /** log2(nodes): bits of a challenge, the height of TreeD. */
  readonly challengeBitLen: number;
  readonly partitions: number;
  readonly partitionBitLen: number;
  readonly challengesPerPartition: number;
  readonly apexLeafCount: number;
  readonly apexLeafBitLen: number;
  /** The `h` proofs use (rust `h_default`). */
  readonly h: number;
}

const log2 = (n: number) => Math.round(Math.log2(n));

/** The update parameters of a sector size (bytes); throws for a size this repository does not seal. */
export function updateParams(sectorSize: number): UpdateParams {
  return updateParamsForNodes(sectorSizeInfo(sectorSize).nodes);
}

/** The same for a sector of `nodes` nodes (a power of two ≥ 32: rust also tests 1KiB and 8KiB). */
export function updateParamsForNodes(nodes: number): UpdateParams {
  if (!Number.isSafeInteger(nodes) || nodes < 32 || 2 ** log2(nodes) !== nodes)
    throw new RangeError(`an update needs a power-of-two node count ≥ 32, got ${nodes}`);
  const partitions = updatePartitionCount(nodes);
  const apexLeafCount = updateApexLeafCount(nodes);
  return Object.freeze({
    sectorSize: nodes * NODE_SIZE,
    nodes,
    challengeBitLen: log2(nodes),
    partitions,
    partitionBitLen: log2(partitions),
    challengesPerPartition: updateChallengeCount(nodes),
    apexLeafCount,
    apexLeafBitLen: log2(apexLeafCount),
    h: updateHDefault(nodes),
  });
}

/** A registered update proof. */
export interface UpdateProofInfo {
  /** The id on chain (`RegisteredUpdateProof`, 0–4). */
  readonly id: number;
  /** go-state-types / rust-filecoin-proofs-api name, e.g. `StackedDrg32GiBV1`. */
  readonly name: string;
  readonly sectorSize: number;
}

const UPDATE_SIZES = ['2KiB', '8MiB', '512MiB', '32GiB', '64GiB'] as const;
const SIZE_BYTES: Record<(typeof UPDATE_SIZES)[number], number> = {
  '2KiB': 2 << 10,
  '8MiB': 8 << 20,
  '512MiB': 512 << 20,
  '32GiB': 32 * 2 ** 30,
  '64GiB': 64 * 2 ** 30,
};

/** The registered update proofs, indexed by id. */
export const UPDATE_PROOFS: readonly UpdateProofInfo[] = Object.freeze(
  UPDATE_SIZES.map((s, id) => Object.freeze({ id, name: `StackedDrg${s}V1`, sectorSize: SIZE_BYTES[s] })),
);

/** An update proof by id or name (with or without the `RegisteredUpdateProof_` prefix). */
export function updateProof(idOrName: number | string): UpdateProofInfo {
  if (typeof idOrName === 'number') {
    const p = Number.isInteger(idOrName) ? UPDATE_PROOFS[idOrName] : undefined;
    if (!p) throw new RangeError(`unknown registered update proof ${idOrName}`);
    return p;
  }
  const n = idOrName.trim().replace(/^RegisteredUpdateProof_?/, '');
  if (/^\d+$/.test(n)) return updateProof(Number(n));
  const p = UPDATE_PROOFS.find((x) => x.name === n);
  if (!p) throw new RangeError(`unknown registered update proof "${idOrName}"`);
  return p;
}

/**
 * The update proof of a sector sealed with `sealProofId` (Lotus `RegisteredSealProof.RegisteredUpdateProof`):
 * every seal proof version of a size maps to that size's `StackedDrg…V1` update proof.
 */
export function updateProofForSealProof(sealProofId: number | string): UpdateProofInfo {
  return updateProofForSectorSize(sealProof(sealProofId).sectorSize);
}

/** The registered update proof of a sector size (bytes). */
export function updateProofForSectorSize(sectorSize: number): UpdateProofInfo {
  const p = UPDATE_PROOFS.find((x) => x.sectorSize === sectorSize);
  if (!p) throw new RangeError(`no registered update proof for ${sectorSize}-byte sectors`);
  return p;
}
