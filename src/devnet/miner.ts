/**
 * Storage miner actor (one file per part under miner/): state and the methods the sealing cluster uses, following builtin-actors
 * actors/miner (current network version): sector number allocation, pre-commits with deposits and
 * clean-up, ProveCommitSectors3 (batched or aggregated proofs), deadline/partition assignment, Window PoSt,
 * fault recovery declarations, the deadline cron (missed PoSt ⇒ faulty partition), worker/control changes,
 * withdrawals.
 *
 * Deals: ProveCommitSectors3 claims verified allocations and notifies the market (docs/deals-chain.md).
 * Simplified on purpose (no block rewards, no consensus faults, terminated sectors do not terminate their deals):
 * no fault fees, no daily fee, no termination fee beyond burning the pledge of sectors terminated for
 * being faulty too long, no optimistic PoSt acceptance (every Window PoSt is verified).
 * Money is still consistent: deposits and pledge are locked and released, and the balance always covers
 * pre-commit deposits + locked funds + initial pledge (checked after every method).
 */

export { assignProvingPeriodOffset, constructMinerState, minerDeadlineInfo } from './miner/construct.js';
export {
  changeMultiaddrs,
  changeOwnerAddress,
  changePeerId,
  changeWorkerAddress,
  confirmChangeWorkerAddress,
  repayDebt,
  withdrawBalance,
} from './miner/control.js';
export { handleProvingDeadline } from './miner/cron.js';
export { assignSectorsToDeadlines } from './miner/deadlines.js';
export { declareFaults, declareFaultsRecovered } from './miner/faults.js';
export { submitWindowedPoSt } from './miner/post.js';
export { preCommitSectorBatch2 } from './miner/precommit.js';
export { proveCommitSectors3 } from './miner/provecommit.js';
export { activeSectorNumbers, findSector, minerTotals } from './miner/queries.js';
export { proveReplicaUpdates3 } from './miner/replica-update.js';
export {
  activeSectors,
  addLockedFunds,
  checkBalanceInvariants,
  emptyDeadline,
  emptyPartition,
  getAvailableBalance,
  getUnlockedBalance,
  isSealedCid,
  isUnsealedCid,
  liveSectors,
  powerForSector,
} from './miner/state.js';
export { terminateSectors } from './miner/terminate.js';
export {
  type BatchReturn,
  type ChangeWorkerAddressParams,
  type Deadline,
  MAX_SECTOR_NUMBER,
  type MinerConstructorParams,
  type MinerInfo,
  MinerMethod,
  type MinerState,
  type Partition,
  type PieceActivationManifest,
  type PoStPartition,
  type PreCommitSectorBatch2Params,
  type ProveCommitSectors3Params,
  type RecoveryDeclaration,
  type SectorActivationManifest,
  type SectorOnChainInfo,
  type SectorPreCommitInfo,
  type SectorPreCommitOnChainInfo,
  type SubmitWindowedPoStParams,
  type VestingFund,
} from './miner/types.js';
