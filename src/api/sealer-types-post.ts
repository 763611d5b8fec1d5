/** The sealer API's types (src/api/sealer.ts) for Window PoSt jobs of worker provers and the miner and proving calls of the CLI. */
import type {
  ActorID,
  AddressString,
  Base64,
  Bytes32,
  ChainEpoch,
  CidJson,
  RegisteredPoStProof,
  RegisteredSealProof,
  SectorNumber,
} from './sealer-types.js';
import type { SectorAccessStores } from './sealer-types-state.js';

// ---------------------------------------------------------------------------------------------------------------
// Window PoSt jobs for worker provers

export interface AllocateWdPoStJobSpec {
  AllowedMiners: ActorID[] | null;
  AllowedProofTypes: string[] | null;
}

export interface WdPoStSectorInput {
  SectorId: SectorNumber;
  CommR: Bytes32;
  Upgrade: boolean;
  Accesses: SectorAccessStores;
}

export interface WdPoStInput {
  Sectors: WdPoStSectorInput[];
  MinerId: ActorID;
  /** variant name, e.g. "StackedDrgWindow2KiBV1_2" */
  ProofType: string;
  Seed: Bytes32;
}

export interface WdPoStAllocatedJob {
  Id: string;
  Input: WdPoStInput;
}

/** A Rust serde struct: snake_case keys. */
export interface WindowPoStOutput {
  proofs: Base64[];
  faults: number[];
}

export interface WdPoStJob {
  ID: string;
  State: 'ready2run' | 'running' | 'finished';
  DeadlineIdx: number;
  Partitions: number[] | null;
  Input: WdPoStInput;
  Output: WindowPoStOutput | null;
  TryNum: number;
  ErrorReason: string;
  WorkerName: string;
  HeartbeatAt: string;
  CreatedAt: string;
  StartedAt: string;
  UpdatedAt: string;
}

// ---------------------------------------------------------------------------------------------------------------
// CLI-side types

export interface WindowPoStRandomness {
  Epoch: ChainEpoch;
  Rand: Base64;
}

export interface MinerInfo {
  ID: ActorID;
  Addr: AddressString;
  SectorSize: number;
  WindowPoStProofType: RegisteredPoStProof;
  SealProofType: RegisteredSealProof;
}

/** builtin.ExtendedSectorInfo, the input of CheckProvable. */
export interface ExtendedSectorInfo {
  SealProof: RegisteredSealProof;
  SectorNumber: SectorNumber;
  SectorKey: CidJson | null;
  SealedCID: CidJson;
}

export interface PrivateSectorInfo {
  AccessInstance: string;
  SectorId: SectorNumber;
  CacheDirPath: string;
  SealedSectorPath: string;
}

export interface ProvingSectorInfo {
  OnChain: {
    SealProof: RegisteredSealProof;
    SectorNumber: SectorNumber;
    SealedCID: CidJson;
  };
  Private: PrivateSectorInfo;
}
