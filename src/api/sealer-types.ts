/**
 * The sealer API's types (src/api/sealer.ts) for the sealing pipeline: the basic scalars, the result enums, and the
 * shapes of allocation, deals, tickets, seeds, submissions and state reports — as Go's encoding/json writes
 * damocles' core types (docs/spec/sealer-api.md §Transport to §Result enums).
 */
import type { wire } from '../rpc/index.js';
import { ApiErrorCode } from './errors.js';

export type CidJson = wire.CidJson;

// ---------------------------------------------------------------------------------------------------------------
// Basic types

/** abi.ActorID: the miner's ID address number (t01000 → 1000). */
export type ActorID = number;
/** abi.SectorNumber. */
export type SectorNumber = number;
/** abi.ChainEpoch. */
export type ChainEpoch = number;
/** abi.RegisteredSealProof: 0–4 V1 (2K, 8M, 512M, 32G, 64G), 5–9 V1_1, 10–14 V1_1 SyntheticPoRep, 15–19 V1_2 NI-PoRep. */
export type RegisteredSealProof = number;
/** abi.RegisteredPoStProof: Winning 0–4, Window V1 5–9, Window V1_1 10–14. */
export type RegisteredPoStProof = number;
/** std base64 with padding (Go []byte). */
export type Base64 = string;
/** Go [32]byte: exactly 32 numbers 0..255. */
export type Bytes32 = number[];
/** Address string, e.g. "t01000" or "t3…". */
export type AddressString = string;
/** big.Int / TokenAmount as a decimal string (attoFIL). */
export type BigIntString = string;

/** abi.SectorID. */
export interface SectorID {
  Miner: ActorID;
  Number: SectorNumber;
}

/** Go's `Meta *struct{}`: the manager answers `{}` (or null). */
export type Meta = Record<string, never> | null;

// ---------------------------------------------------------------------------------------------------------------
// Enums (damocles core/types.go)

/** Result of a Submit* call; the worker's reaction is in the comments. */
export const SubmitResult = {
  Unknown: 0,
  /** proceed */
  Accepted: 1,
  /** same content submitted before: proceed */
  DuplicateSubmit: 2,
  /** different content for an already-submitted sector: the worker pauses (perm) */
  MismatchedSubmission: 3,
  /** the submission can never succeed: the worker aborts the sector */
  Rejected: 4,
  /** the persisted files are missing: perm for PC/proof, re-persist for snapup */
  FilesMissed: 5,
} as const;
export type SubmitResult = (typeof SubmitResult)[keyof typeof SubmitResult];

/** State of a sector's PreCommit or ProveCommit on chain, as PollPreCommitState/PollProofState report it. */
export const OnChainState = {
  Unknown: 0,
  /** queued or in the messager, not on chain yet: keep polling */
  Pending: 1,
  /** on chain, below the configured confidence: keep polling */
  Packed: 2,
  /** on chain with enough confidence, exit code 0: proceed */
  Landed: 3,
  /** the manager knows no message for the sector: perm */
  NotFound: 4,
  /** out of gas, insufficient funds, or the messager gave up: the worker waits and resubmits with reset=true */
  Failed: 5,
  /** any other non-zero exit code: perm */
  PermFailed: 6,
  /** the sector can never land (e.g. the precommit vanished): abort */
  ShouldAbort: 7,
} as const;
export type OnChainState = (typeof OnChainState)[keyof typeof OnChainState];

export const SUBMIT_RESULT_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SubmitResult).map(([k, v]) => [v, k]),
);
export const ON_CHAIN_STATE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(OnChainState).map(([k, v]) => [v, k]),
);

/** SectorWorkerState: which store of sector states to look in. */
export type SectorWorkerState = 'online' | 'offline';

/** SectorWorkerJob: a filter for ListSectors. */
export const SectorWorkerJob = { All: 0, Sealing: 1, SnapUp: 2, Rebuild: 3, Unseal: 4 } as const;
export type SectorWorkerJob = (typeof SectorWorkerJob)[keyof typeof SectorWorkerJob];

/** damocles core/api_error_codes.go: the manager has no (online) state for the sector; the worker aborts it. */
export const SECTOR_STATE_NOT_FOUND = ApiErrorCode.SectorStateNotFound;

/** Failure levels a worker reports (damocles-worker src/sealing/failure.rs). */
export type FailureLevel = 'Temporary' | 'Permanent' | 'Abort' | 'Critical';

// ---------------------------------------------------------------------------------------------------------------
// Allocation, deals, tickets, seeds

export interface AllocateSectorSpec {
  AllowedMiners: ActorID[] | null;
  AllowedProofTypes: RegisteredSealProof[] | null;
  /**
   * Extension (not in damocles; a Go manager ignores it): the seal store asking. A manager that knows it
   * answers with the sector it already allocated to that store if the store never reported it (the worker
   * died between the allocation and saving it), so a crash at that instant skips no sector number.
   */
  Worker?: WorkerIdentifier;
}

export interface AllocatedSector {
  ID: SectorID;
  ProofType: RegisteredSealProof;
}

export interface AcquireDealsSpec {
  MaxDeals: number | null;
  MinUsedSpace: number | null;
}

/** abi.PieceInfo: padded size and piece CID (CommP). */
export interface AbiPieceInfo {
  Size: number;
  PieceCID: CidJson;
}

/** venus-shared market.DealInfoV2 plus damocles' flags. A pledge piece has DealInfo null (or both ids 0). */
export interface DealInfoV2 {
  DealID: number;
  AllocationID: number;
  PieceCID?: CidJson;
  PieceSize?: number;
  Client?: AddressString;
  Provider?: AddressString;
  StartEpoch?: ChainEpoch;
  EndEpoch?: ChainEpoch;
  PayloadSize: number;
  Offset?: number;
  /** true: a legacy builtin-market deal; false: a DDO deal */
  IsBuiltinMarket: boolean;
  /** true: the piece data is used as is, the worker does not pad it */
  IsCompatible: boolean;
}

export interface SectorPieceV2 {
  Piece: AbiPieceInfo;
  DealInfo: DealInfoV2 | null;
}

/** The pieces of a sector (null or [] for a CC sector: the worker fills it with a pledge piece). */
export type SectorPieces = SectorPieceV2[] | null;

/** core.PieceInfo (legacy deals). */
export interface PieceInfo {
  Size: number;
  Offset: number;
  Cid: CidJson;
}

export interface LegacyDealInfo {
  ID: number;
  PayloadSize: number;
  Piece: PieceInfo;
  Proposal: unknown | null;
  IsCompatible: boolean;
}

/** Seal randomness: 32 bytes drawn with DST SealRandomness at Epoch (head − SealRandomnessLookback). */
export interface Ticket {
  Ticket: Base64;
  Epoch: ChainEpoch;
}

/** Interactive seal challenge: 32 bytes drawn with DST InteractiveSealChallengeSeed at PreCommitEpoch + PreCommitChallengeDelay. */
export interface Seed {
  Seed: Base64;
  Epoch: ChainEpoch;
}

export interface WaitSeedResp {
  ShouldWait: boolean;
  /** seconds until the seed can be drawn */
  Delay: number;
  Seed: Seed | null;
}

// ---------------------------------------------------------------------------------------------------------------
// Submissions

export interface PreCommitOnChainInfo {
  CommR: Bytes32;
  CommD: Bytes32;
  Ticket: Ticket;
}

export interface ProofOnChainInfo {
  Proof: Base64;
}

/** SubmitPreCommitResp, SubmitProofResp, SubmitSnapUpProofResp and SubmitTerminateResp share this shape. */
export interface SubmitResp {
  Res: SubmitResult;
  Desc: string | null;
}
export type SubmitPreCommitResp = SubmitResp;
export type SubmitProofResp = SubmitResp;
export type SubmitSnapUpProofResp = SubmitResp;
export type SubmitTerminateResp = SubmitResp;

/** PollPreCommitStateResp and PollProofStateResp. */
export interface PollStateResp {
  State: OnChainState;
  Desc: string | null;
}
export type PollPreCommitStateResp = PollStateResp;
export type PollProofStateResp = PollStateResp;

// ---------------------------------------------------------------------------------------------------------------
// Reports

export interface WorkerIdentifier {
  Instance: string;
  Location: string;
}

export interface SectorStateChange {
  Prev: string;
  Next: string;
  Event: string;
}

export interface SectorFailure {
  Level: FailureLevel | string;
  Desc: string;
}

export interface ReportStateReq {
  Worker: WorkerIdentifier;
  StateChange: SectorStateChange;
  Failure: SectorFailure | null;
}

/** Note the key "Id" (Go tag `json:"Id"`). Finalized = true tells the worker to clean up and stop the sector. */
export interface SectorStateResp {
  Id: SectorID;
  Finalized: boolean;
  AbortReason: string | null;
}
