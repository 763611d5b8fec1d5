/** The sealer API's types (src/api/sealer.ts) for workers, persist stores, the sector index and sector states as the CLI reads them. */
import type {
  ChainEpoch,
  CidJson,
  LegacyDealInfo,
  ProofOnChainInfo,
  RegisteredSealProof,
  ReportStateReq,
  SectorID,
  SectorPieces,
  Seed,
  Ticket,
} from './sealer-types.js';

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
