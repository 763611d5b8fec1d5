/**
 * Storage power actor (f04) state: per-miner claims, network totals, total pledge, and the cron event queue
 * miners enroll in for their deadline ends (builtin-actors actors/power).
 */
import { ActorError, ExitCode } from './exitcode.js';
import type { Policy } from './policy.js';
import { POWER_ACTOR, type StateTree } from './state.js';

export interface PowerPair {
  raw: bigint;
  qa: bigint;
}
export const zeroPower = (): PowerPair => ({ raw: 0n, qa: 0n });
export const addPower = (a: PowerPair, b: PowerPair): PowerPair => ({ raw: a.raw + b.raw, qa: a.qa + b.qa });
export const subPower = (a: PowerPair, b: PowerPair): PowerPair => ({ raw: a.raw - b.raw, qa: a.qa - b.qa });
export const negPower = (a: PowerPair): PowerPair => ({ raw: -a.raw, qa: -a.qa });
export const isZeroPower = (a: PowerPair) => a.raw === 0n && a.qa === 0n;

export interface Claim {
  windowPoStProofType: number;
  rawBytePower: bigint;
  qualityAdjPower: bigint;
}

export interface PowerState {
  totalRawBytePower: bigint;
  totalQualityAdjPower: bigint;
  /** Raw / QA power of all miners, including those below the consensus minimum. */
  totalBytesCommitted: bigint;
  totalQABytesCommitted: bigint;
  totalPledgeCollateral: bigint;
  minerCount: number;
  minerAboveMinPowerCount: number;
  /** epoch → miner IDs with a deadline cron event at that epoch. */
  cronEventQueue: Record<string, number[]>;
  /** Epoch of the last cron run (the queue is processed up to and including it). */
  firstCronEpoch: number;
  claims: Record<string, Claim>;
}

export function newPowerState(): PowerState {
  return {
    totalRawBytePower: 0n,
    totalQualityAdjPower: 0n,
    totalBytesCommitted: 0n,
    totalQABytesCommitted: 0n,
    totalPledgeCollateral: 0n,
    minerCount: 0,
    minerAboveMinPowerCount: 0,
    cronEventQueue: {},
    firstCronEpoch: 0,
    claims: {},
  };
}

const powerMut = (tree: StateTree) => tree.mut<PowerState>(POWER_ACTOR).state;

export function registerMiner(tree: StateTree, minerId: number, windowPoStProofType: number): void {
  const st = powerMut(tree);
  st.claims[minerId] = { windowPoStProofType, rawBytePower: 0n, qualityAdjPower: 0n };
  st.minerCount++;
}

function meetsMin(p: Policy, c: Claim): boolean {
  return c.rawBytePower >= p.minimumConsensusPower;
}

/** UpdateClaimedPower: adds a delta to a miner's claim and to the totals (builtin-actors add_to_claim). */
export function updateClaimedPower(tree: StateTree, policy: Policy, minerId: number, delta: PowerPair): void {
  if (isZeroPower(delta)) return;
  const st = powerMut(tree);
  const claim = st.claims[minerId];
  if (!claim) throw new ActorError(ExitCode.ErrNotFound, `no claim for miner ${minerId}`);
  const before = meetsMin(policy, claim);
  const oldRaw = claim.rawBytePower;
  const oldQa = claim.qualityAdjPower;
  claim.rawBytePower += delta.raw;
  claim.qualityAdjPower += delta.qa;
  if (claim.rawBytePower < 0n || claim.qualityAdjPower < 0n) {
    throw new ActorError(ExitCode.ErrIllegalState, `negative claimed power for miner ${minerId}`);
  }
  const after = meetsMin(policy, claim);
  st.totalBytesCommitted += delta.raw;
  st.totalQABytesCommitted += delta.qa;
  // totals count only miners above the consensus minimum
  if (before && after) {
    st.totalRawBytePower += delta.raw;
    st.totalQualityAdjPower += delta.qa;
  } else if (!before && after) {
    st.minerAboveMinPowerCount++;
    st.totalRawBytePower += claim.rawBytePower;
    st.totalQualityAdjPower += claim.qualityAdjPower;
  } else if (before && !after) {
    st.minerAboveMinPowerCount--;
    st.totalRawBytePower -= oldRaw;
    st.totalQualityAdjPower -= oldQa;
  }
}

export function updatePledgeTotal(tree: StateTree, delta: bigint): void {
  if (delta === 0n) return;
  const st = powerMut(tree);
  st.totalPledgeCollateral += delta;
  if (st.totalPledgeCollateral < 0n) throw new ActorError(ExitCode.ErrIllegalState, 'negative total pledge');
}

export function enrollCronEvent(tree: StateTree, epoch: number, minerId: number): void {
  const st = powerMut(tree);
  // an event enrolled in the past runs at the next cron (builtin-actors clamps to first_cron_epoch)
  const at = Math.max(epoch, st.firstCronEpoch);
  const q = (st.cronEventQueue[at] ??= []);
  if (!q.includes(minerId)) q.push(minerId);
}

/** Pops the cron events due at or before `epoch`, in epoch then miner order. */
export function popCronEvents(tree: StateTree, epoch: number): { epoch: number; minerId: number }[] {
  const st = powerMut(tree);
  const out: { epoch: number; minerId: number }[] = [];
  const due = Object.keys(st.cronEventQueue)
    .map(Number)
    .filter((e) => e <= epoch)
    .sort((a, b) => a - b);
  for (const e of due) {
    for (const m of st.cronEventQueue[e]!.sort((a, b) => a - b)) out.push({ epoch: e, minerId: m });
    delete st.cronEventQueue[e];
  }
  st.firstCronEpoch = epoch + 1;
  return out;
}

/** Below this many miners at the consensus minimum, every miner with power counts (power CONSENSUS_MINER_MIN_MINERS). */
export const CONSENSUS_MINER_MIN_MINERS = 4;

/** StateMinerPower: the miner's claim, the network total, and whether the miner may win blocks. */
export function minerPower(
  tree: StateTree,
  policy: Policy,
  minerId: number,
): { claim: Claim | undefined; total: PowerPair; hasMinPower: boolean } {
  const st = tree.stateOf<PowerState>(POWER_ACTOR);
  const claim = st.claims[minerId];
  const few = st.minerAboveMinPowerCount < CONSENSUS_MINER_MIN_MINERS;
  const total = few
    ? { raw: st.totalBytesCommitted, qa: st.totalQABytesCommitted }
    : { raw: st.totalRawBytePower, qa: st.totalQualityAdjPower };
  const hasMinPower = !!claim && (meetsMin(policy, claim) || (few && claim.rawBytePower > 0n));
  return { claim, total, hasMinPower };
}
