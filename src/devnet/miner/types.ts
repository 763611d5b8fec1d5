/** Miner state, params and returns, as builtin-actors actors/miner declares them. Part of the devnet miner actor (../miner.ts). */
import type { PowerPair } from '../power.js';
import type { NumSet } from '../sets.js';

export const MinerMethod = {
  Constructor: 1,
  ControlAddresses: 2,
  ChangeWorkerAddress: 3,
  ChangePeerID: 4,
  SubmitWindowedPoSt: 5,
  TerminateSectors: 9,
  DeclareFaults: 10,
  DeclareFaultsRecovered: 11,
  OnDeferredCronEvent: 12,
  CheckSectorProven: 13,
  WithdrawBalance: 16,
  ChangeMultiaddrs: 18,
  ConfirmChangeWorkerAddress: 21,
  RepayDebt: 22,
  ChangeOwnerAddress: 23,
  PreCommitSectorBatch2: 28,
  ProveCommitSectors3: 34,
  ProveReplicaUpdates3: 35,
} as const;

export const MAX_SECTOR_NUMBER = Number.MAX_SAFE_INTEGER; // actors allow 2^63-1; the devnet keeps numbers exact in JS

export interface MinerInfo {
  owner: number;
  worker: number;
  controlAddresses: number[];
  pendingWorkerKey: { newWorker: number; effectiveAt: number } | null;
  peerId: Uint8Array;
  multiaddrs: Uint8Array[];
  windowPoStProofType: number;
  sectorSize: number;
  windowPoStPartitionSectors: number;
  consensusFaultElapsed: number;
  pendingOwnerAddress: number | null;
  beneficiary: number;
  beneficiaryTerm: { quota: bigint; usedQuota: bigint; expiration: number };
}

export interface SectorPreCommitInfo {
  sealProof: number;
  sectorNumber: number;
  /** CommR CID bytes. */
  sealedCid: Uint8Array;
  sealRandEpoch: number;
  dealIds: number[];
  expiration: number;
  /** CommD CID bytes, or null for a committed-capacity sector (the zero CommD). */
  unsealedCid: Uint8Array | null;
}

export interface SectorPreCommitOnChainInfo {
  info: SectorPreCommitInfo;
  preCommitDeposit: bigint;
  preCommitEpoch: number;
}

export interface SectorOnChainInfo {
  sectorNumber: number;
  sealProof: number;
  sealedCid: Uint8Array;
  activation: number;
  expiration: number;
  dealWeight: bigint;
  verifiedDealWeight: bigint;
  initialPledge: bigint;
  expectedDayReward: bigint;
  expectedStoragePledge: bigint;
  powerBaseEpoch: number;
  replacedDayReward: bigint;
  /** SIMPLE_QA_POWER = 1 */
  flags: number;
  dailyFee: bigint;
  /** CommR CID bytes of the CC replica a replica update (SnapDeals) replaced; absent for a sector never updated. */
  sectorKeyCid?: Uint8Array;
}

export interface Partition {
  sectors: NumSet;
  unproven: NumSet;
  faults: NumSet;
  recoveries: NumSet;
  terminated: NumSet;
  /** sector → epoch at which a still-faulty sector is terminated (the actors' fault expiration queue). */
  faultExpirations: Record<string, number>;
  livePower: PowerPair;
  unprovenPower: PowerPair;
  faultyPower: PowerPair;
  recoveringPower: PowerPair;
}

export interface Deadline {
  partitions: Partition[];
  /** Partitions with a PoSt in the current challenge window (StateMinerDeadlines PostSubmissions). */
  partitionsPosted: NumSet;
  liveSectors: number;
  totalSectors: number;
  faultyPower: PowerPair;
}

export interface VestingFund {
  epoch: number;
  amount: bigint;
}

export interface MinerState {
  info: MinerInfo;
  preCommitDeposits: bigint;
  lockedFunds: bigint;
  vestingFunds: VestingFund[];
  feeDebt: bigint;
  initialPledge: bigint;
  preCommittedSectors: Record<string, SectorPreCommitOnChainInfo>;
  /** quantized clean-up epoch → sector numbers whose pre-commit expires then */
  preCommitCleanUps: Record<string, number[]>;
  allocatedSectors: NumSet;
  sectors: Record<string, SectorOnChainInfo>;
  provingPeriodStart: number;
  currentDeadline: number;
  deadlines: Deadline[];
  deadlineCronActive: boolean;
  /** Devnet bookkeeping for `status`: epoch of the last accepted Window PoSt (not actor state). */
  lastWindowPoStEpoch: number | null;
}

// ---------------------------------------------------------------------------------------------------
// Params and returns (decoded forms of the CBOR tuples, docs/spec/chain.md §Actor methods)

export interface MinerConstructorParams {
  owner: number;
  worker: number;
  controlAddresses: number[];
  windowPoStProofType: number;
  peerId: Uint8Array;
  multiaddrs: Uint8Array[];
}

export interface PreCommitSectorBatch2Params {
  sectors: SectorPreCommitInfo[];
}

export interface PieceActivationManifest {
  cid: Uint8Array;
  size: number;
  verifiedAllocationKey: { client: number; id: number } | null;
  notify: { address: unknown; payload: Uint8Array }[];
}

export interface SectorActivationManifest {
  sectorNumber: number;
  pieces: PieceActivationManifest[];
}

export interface ProveCommitSectors3Params {
  sectorActivations: SectorActivationManifest[];
  sectorProofs: Uint8Array[];
  aggregateProof: Uint8Array;
  aggregateProofType: number | null;
  requireActivationSuccess: boolean;
  requireNotificationSuccess: boolean;
}

export interface BatchReturn {
  successCount: number;
  failCodes: { idx: number; code: number }[];
}

export interface PoStPartition {
  index: number;
  skipped: NumSet;
}

export interface SubmitWindowedPoStParams {
  deadline: number;
  partitions: PoStPartition[];
  proofs: { postProof: number; proofBytes: Uint8Array }[];
  chainCommitEpoch: number;
  chainCommitRand: Uint8Array;
}

export interface RecoveryDeclaration {
  deadline: number;
  partition: number;
  sectors: NumSet;
}

export interface ChangeWorkerAddressParams {
  newWorker: number;
  newControlAddresses: number[];
}
