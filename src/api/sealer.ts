/**
 * The worker ↔ sector-manager API: `Venus.*` on the manager's `/rpc/v0` (damocles-manager core/api.go; the
 * namespace kept its old name). Types are the JSON shapes Go's encoding/json writes for damocles' core types
 * (docs/spec/sealer-api.md §Transport to §Result enums), so a damocles worker can talk to our manager and our worker to
 * a damocles manager:
 *
 * - field names are PascalCase (exception: SectorStateResp's "Id", and snake_case in WindowPoStOutput);
 * - `[]byte` is std base64 with padding (`Ticket.Ticket`, `Seed.Seed`, `ProofOnChainInfo.Proof`);
 * - `[32]byte` is an array of 32 numbers (`CommR`, `CommD`);
 * - a CID is `{"/":"bafy…"}`; an address is its string (`t01000`);
 * - enums (SubmitResult, OnChainState, RegisteredSealProof, SectorWorkerJob) are numbers;
 * - Go pointers and nil slices may be null.
 *
 * Error code 11001 (SECTOR_STATE_NOT_FOUND) tells the worker to abort the sector.
 */
import { channel, defineApi, method, type wire, withParams } from '../rpc/index.js';
import { ApiErrorCode } from './errors.js';
import { CliParams, MinerParams, RandomnessParams, SealerParams, WdPoStParams } from './sealer-schema.js';

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

// ---------------------------------------------------------------------------------------------------------------
// Workers and stores

export interface WorkerInfoSummary {
  Threads: number;
  Empty: number;
  Paused: number;
  Running: number;
  Waiting: number;
  Errors: number;
}

export interface WorkerInfo {
  Name: string;
  /** "ip:port" of the worker's control RPC (VenusWorker.*) */
  Dest: string;
  Version: string;
  Summary: WorkerInfoSummary;
}

export interface WorkerPingInfo {
  Info: WorkerInfo;
  /** unix seconds */
  LastPing: number;
}

export interface StoreBasicInfo {
  Name: string;
  Path: string;
  Strict: boolean;
  ReadOnly: boolean;
  Weight: number;
  Meta: Record<string, string> | null;
}

export interface ReservedItem {
  By: string;
  Size: number;
  /** unix seconds */
  At: number;
}

export interface StoreDetailedInfo extends StoreBasicInfo {
  Type: string;
  Total: number;
  Free: number;
  Used: number;
  UsedPercent: number;
  Reserved: number;
  ReservedBy: ReservedItem[] | null;
}

export type SectorIndexType = 'normal' | 'upgrade';

export interface SectorAccessStores {
  /** persist store name holding the sealed file */
  SealedFile: string;
  /** persist store name holding the cache dir */
  CacheDir: string;
}

export interface SectorIndexLocation {
  Found: boolean;
  Instance: SectorAccessStores;
}

// ---------------------------------------------------------------------------------------------------------------
// Sector state as the CLI API returns it (core/types_sector_state.go)

export interface PreCommitInfo {
  CommR: CidJson;
  CommD: CidJson;
  Ticket: Ticket;
}

export interface MessageInfo {
  PreCommitCid: CidJson | null;
  CommitCid: CidJson | null;
  NeedSend: boolean;
}

export interface TerminateInfo {
  TerminateCid: CidJson | null;
  TerminatedAt: ChainEpoch;
  AddedHeight: ChainEpoch;
}

export interface SectorState {
  ID: SectorID;
  SectorType: RegisteredSealProof;
  Ticket?: Ticket;
  Seed?: Seed;
  Deals: LegacyDealInfo[] | null;
  Pieces: SectorPieces;
  Pre?: PreCommitInfo;
  Proof?: ProofOnChainInfo;
  MessageInfo: MessageInfo;
  TerminateInfo: TerminateInfo;
  LatestState?: ReportStateReq;
  Finalized: boolean;
  Removed: boolean;
  AbortReason: string;
  Upgraded: boolean;
  Imported: boolean;
  NeedRebuild: boolean;
  Unsealing: boolean;
  /** (this implementation) why a submitted sector could not be put in a message: Poll* answer Failed with it */
  SendError?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Snapup, rebuild, unseal (declared for wire completeness)

export interface AllocateSnapUpSpec {
  Sector: AllocateSectorSpec;
  Deals: AcquireDealsSpec;
}

export interface SectorPublicInfo {
  CommR: Bytes32;
  SealedCID: CidJson;
  Activation: ChainEpoch;
  Expiration: ChainEpoch;
}

export interface SectorPrivateInfo {
  AccessInstance: string;
}

export interface AllocatedSnapUpSector {
  Sector: AllocatedSector;
  Pieces: SectorPieces;
  Public: SectorPublicInfo;
  Private: SectorPrivateInfo;
}

export interface SnapUpOnChainInfo {
  CommR: Bytes32;
  CommD: Bytes32;
  AccessInstance: string;
  Pieces: CidJson[] | null;
  Proof: Base64;
}

export interface SectorRebuildInfo {
  Sector: AllocatedSector;
  Ticket: Ticket;
  Pieces: LegacyDealInfo[] | null;
  PiecesV2: SectorPieces;
  IsSnapUp: boolean;
  UpgradePublic: SectorPublicInfo | null;
  /**
   * Extension (not in damocles; a Go worker ignores it): the sector's sealed CID on chain. A rebuild thread checks
   * the comm_r it computes against it before persisting anything (docs/rebuild.md).
   */
  SealedCID?: CidJson;
}

export interface SectorUnsealInfo {
  Sector: AllocatedSector;
  PieceCid: CidJson;
  Offset: number;
  Size: number;
  PrivateInfo: SectorPrivateInfo;
  Ticket: Ticket;
  CommD: Bytes32;
  Dest: string[] | null;
  State: number;
  ErrorInfo: string;
}

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

// ---------------------------------------------------------------------------------------------------------------
// The declarations

/** SealerAPI: what workers call. */
export const SealerMethods = withParams(
  {
    AllocateSector: method<[spec: AllocateSectorSpec], AllocatedSector | null>('write', 1),
    AllocateSectorsBatch: method<[spec: AllocateSectorSpec, count: number], AllocatedSector[]>('write', 2),
    AcquireDeals: method<[sid: SectorID, spec: AcquireDealsSpec], SectorPieces>('write', 2),
    AssignTicket: method<[sid: SectorID], Ticket>('write', 1),
    SubmitPreCommit: method<[sector: AllocatedSector, info: PreCommitOnChainInfo, reset: boolean], SubmitPreCommitResp>(
      'write',
      3,
    ),
    PollPreCommitState: method<[sid: SectorID], PollPreCommitStateResp>('read', 1),
    /** legacy; same as SubmitPersistedEx(sid, instance, false) */
    SubmitPersisted: method<[sid: SectorID, instance: string], boolean>('write', 2),
    SubmitPersistedEx: method<[sid: SectorID, instance: string, isUpgrade: boolean], boolean>('write', 3),
    WaitSeed: method<[sid: SectorID, proofType: RegisteredSealProof], WaitSeedResp>('write', 2),
    SubmitProof: method<[sid: SectorID, info: ProofOnChainInfo, reset: boolean], SubmitProofResp>('write', 3),
    PollProofState: method<[sid: SectorID], PollProofStateResp>('read', 1),
    ReportState: method<[sid: SectorID, req: ReportStateReq], SectorStateResp | null>('write', 2),
    ReportFinalized: method<[sid: SectorID], Meta>('write', 1),
    ReportAborted: method<[sid: SectorID, reason: string], Meta>('write', 2),
    /** (sic) the original's spelling */
    AllocateSanpUpSector: method<[spec: AllocateSnapUpSpec], AllocatedSnapUpSector | null>('write', 1),
    SubmitSnapUpProof: method<[sid: SectorID, info: SnapUpOnChainInfo], SubmitSnapUpProofResp>('write', 2),
    AllocateRebuildSector: method<[spec: AllocateSectorSpec], SectorRebuildInfo | null>('write', 1),
    WorkerPing: method<[info: WorkerInfo], Meta>('write', 1),
    StoreReserveSpace: method<[sid: SectorID, size: number, candidates: string[] | null], StoreBasicInfo | null>(
      'write',
      3,
    ),
    StoreBasicInfo: method<[instanceName: string], StoreBasicInfo | null>('read', 1),
    AllocateUnsealSector: method<[spec: AllocateSectorSpec], SectorUnsealInfo | null>('write', 1),
    AchieveUnsealSector: method<[sid: SectorID, pieceCid: CidJson, errInfo: string], Meta>('write', 3),
    AcquireUnsealDest: method<[sid: SectorID, pieceCid: CidJson], string[] | null>('write', 2),
  } as const,
  SealerParams,
);

/** WorkerWdPoStAPI: window PoSt jobs for workers with plan "wdpost" (manager started with --worker-prover). */
export const WorkerWdPoStMethods = withParams(
  {
    WdPoStAllocateJobs: method<[spec: AllocateWdPoStJobSpec, num: number, workerName: string], WdPoStAllocatedJob[]>(
      'write',
      3,
    ),
    WdPoStHeartbeatJobs: method<[jobIds: string[], workerName: string], Meta>('write', 2),
    WdPoStFinishJob: method<[jobId: string, output: WindowPoStOutput | null, errorReason: string], Meta>('write', 3),
    WdPoStResetJob: method<[jobId: string], Meta>('admin', 1),
    WdPoStRemoveJob: method<[jobId: string], Meta>('admin', 1),
    WdPoStAllJobs: method<[], WdPoStJob[]>('read'),
  } as const,
  WdPoStParams,
);

/** SealerCliAPI: what `venus-sector-manager util …` calls. */
export const SealerCliMethods = withParams(
  {
    ListSectors: method<[state: SectorWorkerState, job: SectorWorkerJob], SectorState[] | null>('read', 2),
    FindSector: method<[state: SectorWorkerState, sid: SectorID], SectorState | null>('read', 2),
    FindSectorInAllStates: method<[sid: SectorID], SectorState | null>('read', 1),
    FindSectorsWithDeal: method<[state: SectorWorkerState, dealId: number], SectorState[] | null>('read', 2),
    FindSectorWithPiece: method<[state: SectorWorkerState, pieceCid: CidJson], SectorState | null>('read', 2),
    ImportSector: method<[state: SectorWorkerState, sector: SectorState, override: boolean], boolean>('admin', 3),
    RestoreSector: method<[sid: SectorID, forced: boolean], Meta>('admin', 2),
    /** sector number → reason it is not provable (empty map: all good) */
    CheckProvable: method<
      [
        mid: ActorID,
        postProofType: RegisteredPoStProof,
        sectors: ExtendedSectorInfo[],
        strict: boolean,
        stateCheck: boolean,
      ],
      Record<string, string>
    >('read', 5, { timeoutMs: 0 }),
    SimulateWdPoSt: method<
      [
        ddlIndex: number,
        partitionIndex: number,
        maddr: AddressString,
        postProofType: RegisteredPoStProof,
        sectors: ExtendedSectorInfo[],
        rand: Base64,
      ],
      null
    >('admin', 6),
    ProvingSectorInfo: method<[sid: SectorID], ProvingSectorInfo>('read', 1),
    WorkerGetPingInfo: method<[name: string], WorkerPingInfo | null>('read', 1),
    WorkerPingInfoList: method<[], WorkerPingInfo[] | null>('read'),
    WorkerPingInfoRemove: method<[name: string], null>('admin', 1),
    SectorIndexerFind: method<[indexType: SectorIndexType, sid: SectorID], SectorIndexLocation>('read', 2),
    TerminateSector: method<[sid: SectorID], SubmitTerminateResp>('admin', 1),
    PollTerminateSectorState: method<[sid: SectorID], TerminateInfo>('read', 1),
    RemoveSector: method<[sid: SectorID], null>('admin', 1),
    FinalizeSector: method<[sid: SectorID], null>('admin', 1),
    StoreReleaseReserved: method<[sid: SectorID], boolean>('admin', 1),
    StoreList: method<[], StoreDetailedInfo[] | null>('read'),
    SectorSetForRebuild: method<[sid: SectorID, opt: { PiecesAvailable: boolean }], boolean>('admin', 2),
    UnsealPiece: channel<[sid: SectorID, pieceCid: CidJson, offset: number, size: number, dest: string], Base64>(
      'admin',
      5,
    ),
    Version: method<[], string>('read'),
  } as const,
  CliParams,
);

/** RandomnessAPI. */
export const RandomnessMethods = withParams(
  {
    GetTicket: method<[tsk: CidJson[] | null, epoch: ChainEpoch, mid: ActorID], Ticket>('read', 3),
    GetSeed: method<[tsk: CidJson[] | null, epoch: ChainEpoch, mid: ActorID], Seed>('read', 3),
    /** (sic) the original's spelling */
    GetWindowPoStChanlleengeRand: method<
      [tsk: CidJson[] | null, epoch: ChainEpoch, mid: ActorID],
      WindowPoStRandomness
    >('read', 3),
    GetWindowPoStCommitRand: method<[tsk: CidJson[] | null, epoch: ChainEpoch], WindowPoStRandomness>('read', 2),
  } as const,
  RandomnessParams,
);

/** MinerAPI. */
export const MinerMethods = withParams(
  {
    GetInfo: method<[mid: ActorID], MinerInfo | null>('read', 1),
    GetMinerConfig: method<[mid: ActorID], unknown>('read', 1),
  } as const,
  MinerParams,
);

/** What workers need: SealerAPI plus the wdpost job methods. */
export const SealerAPI = defineApi('Venus', { ...SealerMethods, ...WorkerWdPoStMethods });

/** Everything the manager serves under `Venus` (APIFull): workers' and the CLI's methods. */
export const ManagerAPI = defineApi('Venus', {
  ...SealerMethods,
  ...WorkerWdPoStMethods,
  ...SealerCliMethods,
  ...RandomnessMethods,
  ...MinerMethods,
});

// ---------------------------------------------------------------------------------------------------------------
// Helpers for the wire encodings used above

/** Go [32]byte → JSON array of numbers. */
export function bytes32ToJson(b: Uint8Array): Bytes32 {
  if (b.length !== 32) throw new TypeError(`expected 32 bytes, got ${b.length}`);
  return Array.from(b);
}

/** JSON array of 32 numbers → bytes; refuses anything else with the value's shape in the message. */
export function bytes32FromJson(v: unknown, what = '[32]byte'): Uint8Array {
  if (!Array.isArray(v) || v.length !== 32)
    throw new TypeError(
      `${what}: expected an array of 32 numbers, got ${Array.isArray(v) ? `${v.length} items` : typeof v}`,
    );
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) {
    const n = v[i];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 255)
      throw new TypeError(`${what}[${i}]: expected a byte, got ${JSON.stringify(n)}`);
    out[i] = n;
  }
  return out;
}

/** The on-disk and log name of a sector, as the original writes it: s-t0<miner>-<number>. */
export function sectorName(sid: SectorID): string {
  return `s-t0${sid.Miner}-${sid.Number}`;
}
