/** 12 OnDeferredCronEvent: the end of a deadline. Part of the devnet miner actor (../miner.ts). */
import { lastEpoch, periodStarted } from '../dline.js';
import { illegalState } from '../exitcode.js';
import {
  addPower,
  enrollCronEvent,
  isZeroPower,
  subPower,
  updateClaimedPower,
  updatePledgeTotal,
  zeroPower,
} from '../power.js';
import type { Runtime } from '../runtime.js';
import { has, setOf, subtract } from '../sets.js';
import { minerDeadlineInfo } from './construct.js';
import { burn, checkBalanceInvariants, liveSectors, minerStateMut, mustGetSector, unlockVestedFunds } from './state.js';
import { terminatePartitionSectors } from './terminate.js';
import type { MinerState } from './types.js';

// 12 OnDeferredCronEvent: the end of a deadline

/**
 * handle_proving_deadline, run by the power actor's cron at the last epoch of the miner's current deadline:
 * expired pre-commits lose their deposit, unproven partitions become faulty, expired sectors leave, and
 * the next deadline's cron is enrolled while the miner holds any funds at stake.
 */
export function handleProvingDeadline(rt: Runtime): void {
  const p = rt.policy;
  const curr = rt.epoch;
  const st = minerStateMut(rt);
  processPendingWorker(st, curr);

  // cleanup_expired_pre_commits
  let depositToBurn = 0n;
  for (const key of Object.keys(st.preCommitCleanUps)) {
    if (Number(key) > curr) continue;
    for (const n of st.preCommitCleanUps[key]!) {
      const pc = st.preCommittedSectors[n];
      if (!pc) continue; // proven since
      depositToBurn += pc.preCommitDeposit;
      delete st.preCommittedSectors[n];
    }
    delete st.preCommitCleanUps[key];
  }
  st.preCommitDeposits -= depositToBurn;
  if (st.preCommitDeposits < 0n) throw illegalState(`pre-commit clean up caused negative deposits`);

  // advance_deadline
  let powerDelta = zeroPower();
  let pledgeDelta = 0n;
  let penalty = depositToBurn;
  const dlInfo = minerDeadlineInfo(p, st, curr);
  if (periodStarted(dlInfo)) {
    st.currentDeadline = (dlInfo.index + 1) % p.wpostPeriodDeadlines;
    if (st.currentDeadline === 0) st.provingPeriodStart = dlInfo.periodStart + p.wpostProvingPeriod;
    const dl = st.deadlines[dlInfo.index]!;
    const faultExpiration = lastEpoch(dlInfo) + p.faultMaxAge;
    // process_deadline_end: every partition without a PoSt this window becomes wholly faulty
    dl.partitions.forEach((part, idx) => {
      if (has(dl.partitionsPosted, idx)) return;
      if (isZeroPower(part.recoveringPower) && part.faultyPower.raw === part.livePower.raw) return;
      const newFaultyPower = subPower(part.livePower, part.faultyPower);
      powerDelta = addPower(powerDelta, subPower(part.unprovenPower, newFaultyPower));
      const live = liveSectors(part);
      for (const n of subtract(live, part.faults)) part.faultExpirations[n] = faultExpiration;
      part.faults = live;
      part.recoveries = [];
      part.unproven = [];
      part.faultyPower = { ...part.livePower };
      part.recoveringPower = zeroPower();
      part.unprovenPower = zeroPower();
      dl.faultyPower = addPower(dl.faultyPower, newFaultyPower);
    });
    dl.partitionsPosted = [];
    // pop_expired_sectors: on-time expirations release their pledge; sectors faulty for too long are
    // terminated early and their pledge is burnt as the termination fee
    const last = lastEpoch(dlInfo);
    for (const part of dl.partitions) {
      const onTime: number[] = [];
      const early: number[] = [];
      for (const n of liveSectors(part)) {
        const s = mustGetSector(st, n);
        if (s.expiration <= last) onTime.push(n);
        else if (has(part.faults, n) && (part.faultExpirations[n] ?? Number.POSITIVE_INFINITY) <= last) early.push(n);
      }
      const a = terminatePartitionSectors(st, dl, part, setOf(onTime));
      const b = terminatePartitionSectors(st, dl, part, setOf(early));
      powerDelta = addPower(powerDelta, addPower(a.powerDelta, b.powerDelta));
      st.initialPledge -= a.pledge + b.pledge;
      pledgeDelta -= a.pledge + b.pledge;
      penalty += b.pledge;
    }
  }

  // vesting
  pledgeDelta -= unlockVestedFunds(st, curr);
  const continueCron = st.preCommitDeposits !== 0n || st.initialPledge !== 0n || st.lockedFunds !== 0n;
  if (!continueCron) st.deadlineCronActive = false;

  updateClaimedPower(rt.tree, p, rt.receiver, powerDelta);
  burn(rt, penalty);
  updatePledgeTotal(rt.tree, pledgeDelta);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
  if (continueCron) {
    enrollCronEvent(rt.tree, lastEpoch(minerDeadlineInfo(p, st, curr + 1)), rt.receiver);
  }
}

export function processPendingWorker(st: MinerState, epoch: number): void {
  const k = st.info.pendingWorkerKey;
  if (!k || epoch < k.effectiveAt) return;
  st.info.worker = k.newWorker;
  st.info.pendingWorkerKey = null;
}
