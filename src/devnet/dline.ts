/**
 * Deadline arithmetic, as go-state-types dline and builtin-actors miner deadlines.rs / deadline_info.rs do it.
 */
import type { Policy } from './policy.js';

export interface DeadlineInfo {
  currentEpoch: number;
  periodStart: number;
  index: number;
  open: number;
  close: number;
  challenge: number;
  faultCutoff: number;
  wpostPeriodDeadlines: number;
  wpostProvingPeriod: number;
  wpostChallengeWindow: number;
  wpostChallengeLookback: number;
  faultDeclarationCutoff: number;
}

export function newDeadlineInfo(p: Policy, periodStart: number, index: number, currentEpoch: number): DeadlineInfo {
  const base = {
    currentEpoch,
    periodStart,
    index,
    wpostPeriodDeadlines: p.wpostPeriodDeadlines,
    wpostProvingPeriod: p.wpostProvingPeriod,
    wpostChallengeWindow: p.wpostChallengeWindow,
    wpostChallengeLookback: p.wpostChallengeLookback,
    faultDeclarationCutoff: p.faultDeclarationCutoff,
  };
  if (index < p.wpostPeriodDeadlines) {
    const open = periodStart + index * p.wpostChallengeWindow;
    return {
      ...base,
      open,
      close: open + p.wpostChallengeWindow,
      challenge: open - p.wpostChallengeLookback,
      faultCutoff: open - p.faultDeclarationCutoff,
    };
  }
  const after = periodStart + p.wpostProvingPeriod;
  return { ...base, open: after, close: after, challenge: after, faultCutoff: 0 };
}

export const isOpen = (d: DeadlineInfo) => d.currentEpoch >= d.open && d.currentEpoch < d.close;
export const hasElapsed = (d: DeadlineInfo) => d.currentEpoch >= d.close;
export const periodStarted = (d: DeadlineInfo) => d.currentEpoch >= d.periodStart;
export const lastEpoch = (d: DeadlineInfo) => d.close - 1;
export const faultCutoffPassed = (d: DeadlineInfo) => d.currentEpoch >= d.faultCutoff;

/** The same deadline in the first proving period in which it has not yet closed. */
export function nextNotElapsed(p: Policy, d: DeadlineInfo): DeadlineInfo {
  if (!hasElapsed(d)) return d;
  const gap = d.currentEpoch - d.close;
  const deltaPeriods = 1 + Math.floor(gap / d.wpostProvingPeriod);
  return newDeadlineInfo(p, d.periodStart + d.wpostProvingPeriod * deltaPeriods, d.index, d.currentEpoch);
}

/** Floor-modulo: JavaScript's % keeps the sign of the dividend; epochs may be negative. */
function mod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

export interface QuantSpec {
  unit: number;
  offset: number;
}

export function quantizeUp(q: QuantSpec, e: number): number {
  // builtin-actors quantize.rs, with Rust's truncating % and / (JavaScript's % truncates too)
  const offset = q.offset % q.unit;
  const remainder = (e - offset) % q.unit;
  const quotient = Math.trunc((e - offset) / q.unit);
  if (remainder === 0 || e - offset < 0) return q.unit * quotient + offset;
  return q.unit * (quotient + 1) + offset;
}

export function quantizeDown(q: QuantSpec, e: number): number {
  const next = quantizeUp(q, e);
  return next === e ? next : next - q.unit;
}

/** The deadline a miner is in at `currentEpoch`, from its proving period start (state.deadline_info). */
export function deadlineInfoAt(p: Policy, provingPeriodStart: number, currentEpoch: number): DeadlineInfo {
  const periodStart = quantizeDown({ unit: p.wpostProvingPeriod, offset: provingPeriodStart }, currentEpoch);
  const index = Math.floor((currentEpoch - periodStart) / p.wpostChallengeWindow);
  return newDeadlineInfo(p, periodStart, index, currentEpoch);
}

/**
 * A deadline accepts new sectors unless it is the current one or the next one (it must be at least one
 * challenge window before it opens).
 */
export function deadlineIsMutable(p: Policy, provingPeriodStart: number, index: number, currentEpoch: number): boolean {
  const d = nextNotElapsed(p, newDeadlineInfo(p, provingPeriodStart, index, currentEpoch));
  return currentEpoch < d.open - p.wpostChallengeWindow;
}

/** Proving period start for a new miner: the latest epoch ≤ current with the given offset (lib.rs current_proving_period_start). */
export function currentProvingPeriodStart(p: Policy, currentEpoch: number, offset: number): number {
  const currModulus = mod(currentEpoch, p.wpostProvingPeriod);
  const progress = currModulus >= offset ? currModulus - offset : p.wpostProvingPeriod - (offset - currModulus);
  return currentEpoch - progress;
}

/** Fault/recovery declaration target: the deadline in the current period, or the next period if it has closed. */
export function declarationDeadlineInfo(
  p: Policy,
  periodStart: number,
  index: number,
  currentEpoch: number,
): DeadlineInfo {
  if (index >= p.wpostPeriodDeadlines) {
    throw new Error(`invalid deadline ${index}, must be < ${p.wpostPeriodDeadlines}`);
  }
  return nextNotElapsed(p, newDeadlineInfo(p, periodStart, index, currentEpoch));
}

/** DeadlineInfo in lotus JSON (StateMinerProvingDeadline). */
export function deadlineInfoJson(d: DeadlineInfo): Record<string, number> {
  return {
    CurrentEpoch: d.currentEpoch,
    PeriodStart: d.periodStart,
    Index: d.index,
    Open: d.open,
    Close: d.close,
    Challenge: d.challenge,
    FaultCutoff: d.faultCutoff,
    WPoStPeriodDeadlines: d.wpostPeriodDeadlines,
    WPoStProvingPeriod: d.wpostProvingPeriod,
    WPoStChallengeWindow: d.wpostChallengeWindow,
    WPoStChallengeLookback: d.wpostChallengeLookback,
    FaultDeclarationCutoff: d.faultDeclarationCutoff,
  };
}
