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
import { channel, defineApi, method, withParams } from '../rpc/index.js';
import { CliParams, MinerParams, RandomnessParams, SealerParams, WdPoStParams } from './sealer-schema.js';
import type {
  AcquireDealsSpec,
  ActorID,
  AddressString,
  AllocatedSector,
  AllocateSectorSpec,
  Base64,
  Bytes32,
  ChainEpoch,
  CidJson,
  LegacyDealInfo,
  Meta,
  PollPreCommitStateResp,
  PollProofStateResp,
  PreCommitOnChainInfo,
  ProofOnChainInfo,
  RegisteredPoStProof,
  RegisteredSealProof,
  ReportStateReq,
  SectorID,
  SectorPieces,
  SectorStateResp,
  SectorWorkerJob,
  SectorWorkerState,
  Seed,
  SubmitPreCommitResp,
  SubmitProofResp,
  SubmitSnapUpProofResp,
  SubmitTerminateResp,
  Ticket,
  WaitSeedResp,
} from './sealer-types.js';
import type {
  AllocateWdPoStJobSpec,
  ExtendedSectorInfo,
  MinerInfo,
  ProvingSectorInfo,
  WdPoStAllocatedJob,
  WdPoStJob,
  WindowPoStOutput,
  WindowPoStRandomness,
} from './sealer-types-post.js';
import type {
  SectorIndexLocation,
  SectorIndexType,
  SectorState,
  StoreBasicInfo,
  StoreDetailedInfo,
  TerminateInfo,
  WorkerInfo,
  WorkerPingInfo,
} from './sealer-types-state.js';

// The types of the calls, by area; importers keep importing them from here.
export * from './sealer-types.js';
export * from './sealer-types-post.js';
export * from './sealer-types-state.js';

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

/** damocles' SnapUpFetchResult: candidates known after the fetch, and how many it added. */
export interface SnapUpFetchResult {
  Total: number;
  Diff: number;
}

/** (this implementation) a snapup candidate as `util sealer snap candidates` lists it. */
export interface SnapUpCandidateInfo {
  Sector: SectorID;
  ProofType: RegisteredSealProof;
  SealedCID: CidJson;
  Activation: ChainEpoch;
  Expiration: ChainEpoch;
  Deadline: number;
  /** the sector is being upgraded (handed to a snapup thread), or '' */
  State: string;
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

/** venus-shared gateway.UnsealState: what an unseal task is doing, as the market reads it back. */
export type UnsealState = 'set_up' | 'unsealing' | 'uploading' | 'finished' | 'failed';

/** What AllocateUnsealSector gives an unseal thread. Offset and Size are unpadded; Dest as AcquireUnsealDest. */
export interface SectorUnsealInfo {
  Sector: AllocatedSector;
  PieceCid: CidJson;
  Offset: number;
  Size: number;
  /** AccessInstance: the persist store holding the sealed file */
  PrivateInfo: SectorPrivateInfo;
  Ticket: Ticket;
  CommD: Bytes32;
  Dest: string[] | null;
  State: UnsealState | string;
  ErrorInfo: string;
  /**
   * Extension (not in damocles; a Go worker ignores it): set for an upgraded (SnapDeals) sector. AccessInstance then
   * names the store of the updated replica (`update/`), CommD is the update's comm_d_new, and the data is decoded
   * with the sector key (docs/deals-unseal.md).
   */
  Upgrade?: UnsealUpgradeInfo | null;
}

/** (extension) What an unseal of an upgraded sector needs besides the updated replica. */
export interface UnsealUpgradeInfo {
  /** the sector key's comm_r: the CC replica's, the chain's SectorKeyCID */
  CommROld: Bytes32;
  /**
   * the persist store the sector key was persisted to ("" when unknown); gone from it once CleanupCCData removed it,
   * and then sealed again from Ticket
   */
  SectorKeyInstance: string;
}

/** (this implementation) an unseal task as `util sealer sectors unseal` and the dashboard show it. */
export interface UnsealTaskInfo {
  ID: number;
  Sector: SectorID;
  PieceCid: CidJson;
  /** unpadded */
  Offset: number;
  /** unpadded */
  Size: number;
  /** destinations, query strings elided */
  Dest: string[];
  State: UnsealState;
  Error: string;
  Source: 'market' | 'cli';
  /** the worker token name holding it ('' unnamed, null none) */
  Worker: string | null;
  Attempts: number;
  /** ms since epoch */
  CreatedAt: number;
  UpdatedAt: number;
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
    /** imports the miner's active CC sectors that can take deals as snapup candidates (damocles' shape) */
    SnapUpPreFetch: method<[mid: ActorID, dlindex: number | null], SnapUpFetchResult>('admin', 2),
    /** (this implementation's shape: damocles answers a bitfield per deadline) */
    SnapUpCandidates: method<[mid: ActorID], SnapUpCandidateInfo[]>('read', 1),
    /** damocles' form: schedules the unseal; the stream ends with an empty chunk once the bytes are at dest */
    UnsealPiece: channel<[sid: SectorID, pieceCid: CidJson, offset: number, size: number, dest: string], Base64>(
      'admin',
      5,
    ),
    /** (this implementation) schedules an unseal of a piece of a sealed sector to dest; offset and size from the sector */
    UnsealTaskAdd: method<[sid: SectorID, pieceCid: CidJson, dest: string], UnsealTaskInfo>('admin', 3),
    UnsealTaskGet: method<[id: number], UnsealTaskInfo | null>('read', 1),
    /** the newest `limit` tasks (at most 1000) */
    UnsealTaskList: method<[limit: number], UnsealTaskInfo[]>('read', 1),
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
