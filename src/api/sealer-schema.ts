/**
 * Param schemas of the sector manager's API (src/api/sealer.ts), in the JSON shapes Go's encoding/json writes for
 * damocles' types and our worker sends: CIDs {"/": …}, []byte base64, [32]byte arrays of numbers, nil as null.
 */
import { z } from 'zod';
import { Base64, Bool, Bytes32, Cid, Int, List, Name, Str, Uint } from './schema.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export const SectorIDSchema = z.object({ Miner: Uint, Number: Uint });
const WorkerIdentifier = z.object({ Instance: Name(256), Location: Str(4 * KiB) });
export const AllocateSectorSpecSchema = z.object({
  AllowedMiners: List(Uint, 1000).optional(),
  AllowedProofTypes: List(Uint, 100).optional(),
  Worker: WorkerIdentifier.optional(),
});
const AcquireDealsSpec = z.object({ MaxDeals: Uint.nullable().optional(), MinUsedSpace: Uint.nullable().optional() });
const AllocatedSector = z.object({ ID: SectorIDSchema, ProofType: Uint });
const Ticket = z.object({ Ticket: Base64(64), Epoch: Int });
const PreCommitOnChainInfo = z.object({ CommR: Bytes32, CommD: Bytes32, Ticket });
/** A C2 proof (1920 bytes for the interactive PoRep; NI-PoRep and aggregates are larger): a few MiB at most. */
const ProofOnChainInfo = z.object({ Proof: Base64(6 * MiB) });
const ReportStateReq = z.object({
  Worker: WorkerIdentifier,
  StateChange: z.object({ Prev: Str(128), Next: Name(128), Event: Str(256) }),
  Failure: z.object({ Level: Name(64), Desc: Str(64 * KiB) }).nullable(),
});
const WorkerInfo = z.object({
  Name: Name(256),
  Dest: Str(256), // empty when the worker serves no control API
  Version: Str(256),
  Summary: z.object({ Threads: Uint, Empty: Uint, Paused: Uint, Running: Uint, Waiting: Uint, Errors: Uint }),
});
const SnapUpOnChainInfo = z.object({
  CommR: Bytes32,
  CommD: Bytes32,
  AccessInstance: Str(256),
  Pieces: List(Cid, 1000),
  Proof: Base64(6 * MiB),
});
const WindowPoStOutput = z.object({ proofs: z.array(Base64(1 * MiB)).max(1000), faults: z.array(Uint).max(100_000) });
const SectorWorkerState = z.enum(['online', 'offline'], { error: 'must be "online" or "offline"' });
const Reason = Str(64 * KiB);

const sid = { sid: SectorIDSchema };

/** SealerAPI: what workers call. */
export const SealerParams = {
  AllocateSector: { spec: AllocateSectorSpecSchema },
  AllocateSectorsBatch: { spec: AllocateSectorSpecSchema, count: Uint },
  AcquireDeals: { ...sid, spec: AcquireDealsSpec },
  AssignTicket: sid,
  SubmitPreCommit: { sector: AllocatedSector, info: PreCommitOnChainInfo, reset: Bool },
  PollPreCommitState: sid,
  SubmitPersisted: { ...sid, instance: Name(256) },
  SubmitPersistedEx: { ...sid, instance: Name(256), isUpgrade: Bool },
  WaitSeed: { ...sid, proofType: Uint },
  SubmitProof: { ...sid, info: ProofOnChainInfo, reset: Bool },
  PollProofState: sid,
  ReportState: { ...sid, req: ReportStateReq },
  ReportFinalized: sid,
  ReportAborted: { ...sid, reason: Reason },
  AllocateSanpUpSector: { spec: z.object({ Sector: AllocateSectorSpecSchema, Deals: AcquireDealsSpec }) },
  SubmitSnapUpProof: { ...sid, info: SnapUpOnChainInfo },
  AllocateRebuildSector: { spec: AllocateSectorSpecSchema },
  WorkerPing: { info: WorkerInfo },
  StoreReserveSpace: { ...sid, size: Uint, candidates: List(Name(256), 1000) },
  StoreBasicInfo: { instanceName: Name(256) },
  AllocateUnsealSector: { spec: AllocateSectorSpecSchema },
  AchieveUnsealSector: { ...sid, pieceCid: Cid, errInfo: Reason },
  AcquireUnsealDest: { ...sid, pieceCid: Cid },
} as const;

/** Window PoSt jobs for worker provers. */
export const WdPoStParams = {
  WdPoStAllocateJobs: {
    spec: z.object({ AllowedMiners: List(Uint, 1000).optional(), AllowedProofTypes: List(Name(64), 100).optional() }),
    num: Uint,
    workerName: Name(256),
  },
  WdPoStHeartbeatJobs: { jobIds: List(Name(128), 1000), workerName: Name(256) },
  WdPoStFinishJob: { jobId: Name(128), output: WindowPoStOutput.nullable(), errorReason: Reason },
  WdPoStResetJob: { jobId: Name(128) },
  WdPoStRemoveJob: { jobId: Name(128) },
} as const;

/** The CLI's methods that take plain ids and names. */
export const CliParams = {
  ListSectors: { state: SectorWorkerState, job: Uint },
  FindSector: { state: SectorWorkerState, ...sid },
  FindSectorInAllStates: sid,
  FindSectorsWithDeal: { state: SectorWorkerState, dealId: Uint },
  FindSectorWithPiece: { state: SectorWorkerState, pieceCid: Cid },
  RestoreSector: { ...sid, forced: Bool },
  ProvingSectorInfo: sid,
  WorkerGetPingInfo: { name: Name(256) },
  WorkerPingInfoRemove: { name: Name(256) },
  SectorIndexerFind: { indexType: z.enum(['normal', 'upgrade'], { error: 'must be "normal" or "upgrade"' }), ...sid },
  TerminateSector: sid,
  PollTerminateSectorState: sid,
  RemoveSector: sid,
  FinalizeSector: sid,
  StoreReleaseReserved: sid,
  SectorSetForRebuild: { ...sid, opt: z.object({ PiecesAvailable: Bool }) },
  SnapUpPreFetch: { mid: Uint, dlindex: Uint.nullable() },
  SnapUpCandidates: { mid: Uint },
  UnsealPiece: { ...sid, pieceCid: Cid, offset: Uint, size: Uint, dest: Str(2 * KiB) },
  UnsealTaskAdd: { ...sid, pieceCid: Cid, dest: Name(2 * KiB) },
  UnsealTaskGet: { id: Uint },
  UnsealTaskList: { limit: Uint },
} as const;

/** MinerAPI: `GetInfo(true)` is not miner t01. */
export const MinerParams = {
  GetInfo: { mid: Uint },
  GetMinerConfig: { mid: Uint },
} as const;

/** Randomness: tipset keys are CID lists or null. */
const Tsk = List(Cid, 100);
export const RandomnessParams = {
  GetTicket: { tsk: Tsk, epoch: Uint, mid: Uint },
  GetSeed: { tsk: Tsk, epoch: Uint, mid: Uint },
  GetWindowPoStChanlleengeRand: { tsk: Tsk, epoch: Uint, mid: Uint },
  GetWindowPoStCommitRand: { tsk: Tsk, epoch: Uint },
} as const;
