/** Construction: the proving period offset and the initial state. Part of the devnet miner actor (../miner.ts). */
import { blake2b256 } from '../../fil/index.js';
import { currentProvingPeriodStart, type DeadlineInfo, deadlineInfoAt } from '../dline.js';
import { illegalArgument } from '../exitcode.js';
import { isValidPoStProofType, type Policy, postProofInfo } from '../policy.js';
import { addLockedFunds, emptyDeadline } from './state.js';
import type { MinerConstructorParams, MinerState } from './types.js';

// construction

/** Proving period offset: blake2b-256(cbor(minerAddr) ‖ BE_i64(epoch))[0..8] as BE u64, mod the proving period. */
export function assignProvingPeriodOffset(p: Policy, addrCbor: Uint8Array, epoch: number): number {
  const buf = new Uint8Array(addrCbor.length + 8);
  buf.set(addrCbor, 0);
  new DataView(buf.buffer).setBigInt64(addrCbor.length, BigInt(epoch));
  const digest = blake2b256(buf);
  const v = new DataView(digest.buffer, digest.byteOffset, 8).getBigUint64(0);
  return Number(v % BigInt(p.wpostProvingPeriod));
}

/**
 * Builds a new miner's state (the miner actor constructor; the power actor calls it from CreateMiner).
 * `deposit` (FIP-0077 create-miner deposit) is locked on the reward vesting schedule.
 */
export function constructMinerState(
  p: Policy,
  addrCbor: Uint8Array,
  epoch: number,
  params: MinerConstructorParams,
  deposit: bigint,
): MinerState {
  if (params.controlAddresses.length > p.maxControlAddresses) {
    throw illegalArgument(
      `control addresses length ${params.controlAddresses.length} exceeds max control addresses length ${p.maxControlAddresses}`,
    );
  }
  checkPeerInfo(p, params.peerId, params.multiaddrs);
  if (!isValidPoStProofType(p, params.windowPoStProofType)) {
    throw illegalArgument(`proof type ${params.windowPoStProofType} not allowed for new miner actors`);
  }
  const post = postProofInfo(params.windowPoStProofType)!;
  const offset = assignProvingPeriodOffset(p, addrCbor, epoch);
  const periodStart = currentProvingPeriodStart(p, epoch, offset);
  const deadlineIdx = Math.floor((epoch - periodStart) / p.wpostChallengeWindow);
  const st: MinerState = {
    info: {
      owner: params.owner,
      worker: params.worker,
      controlAddresses: params.controlAddresses.slice(),
      pendingWorkerKey: null,
      peerId: params.peerId,
      multiaddrs: params.multiaddrs,
      windowPoStProofType: params.windowPoStProofType,
      sectorSize: post.sectorSize,
      windowPoStPartitionSectors: post.windowPoStPartitionSectors,
      consensusFaultElapsed: -1,
      pendingOwnerAddress: null,
      beneficiary: params.owner,
      beneficiaryTerm: { quota: 0n, usedQuota: 0n, expiration: 0 },
    },
    preCommitDeposits: 0n,
    lockedFunds: 0n,
    vestingFunds: [],
    feeDebt: 0n,
    initialPledge: 0n,
    preCommittedSectors: {},
    preCommitCleanUps: {},
    allocatedSectors: [],
    sectors: {},
    provingPeriodStart: periodStart,
    currentDeadline: deadlineIdx,
    deadlines: Array.from({ length: p.wpostPeriodDeadlines }, emptyDeadline),
    deadlineCronActive: false,
    lastWindowPoStEpoch: null,
  };
  addLockedFunds(st, epoch, deposit);
  return st;
}

export function checkPeerInfo(p: Policy, peerId: Uint8Array, multiaddrs: Uint8Array[]): void {
  if (peerId.length > p.maxPeerIdLength) {
    throw illegalArgument(`peer ID size of ${peerId.length} exceeds maximum size of ${p.maxPeerIdLength}`);
  }
  let total = 0;
  for (const ma of multiaddrs) {
    if (ma.length === 0) throw illegalArgument('invalid empty multiaddr');
    total += ma.length;
  }
  if (total > p.maxMultiaddrData) {
    throw illegalArgument(`multiaddr size of ${total} exceeds maximum of ${p.maxMultiaddrData}`);
  }
}

/** The miner's current deadline (state.deadline_info). */
export function minerDeadlineInfo(p: Policy, st: MinerState, epoch: number): DeadlineInfo {
  return deadlineInfoAt(p, st.provingPeriodStart, epoch);
}
