/** State helpers: sector CIDs, partitions, power, balances, locked funds and vesting. Part of the devnet miner actor (../miner.ts). */
import { quantizeUp } from '../dline.js';
import { ActorError, ExitCode, forbidden, illegalState, notFound } from '../exitcode.js';
import { EPOCHS_IN_DAY, EPOCHS_IN_HOUR } from '../policy.js';
import { type PowerPair, zeroPower } from '../power.js';
import type { Runtime } from '../runtime.js';
import { subtract } from '../sets.js';
import { BURNT_FUNDS_ACTOR } from '../state.js';
import type { Deadline, MinerInfo, MinerState, Partition, SectorOnChainInfo } from './types.js';

// helpers

const SEALED_PREFIX = [0x01, 0x82, 0xe2, 0x03, 0x81, 0xe8, 0x02, 0x20];
const UNSEALED_PREFIX = [0x01, 0x81, 0xe2, 0x03, 0x92, 0x20, 0x20];

function hasPrefix(b: Uint8Array, prefix: number[], total: number): boolean {
  return b.length === total && prefix.every((v, i) => b[i] === v);
}
/** CIDv1, fil-commitment-sealed, poseidon-bls12_381-a2-fc1, 32 bytes (miner policy.rs is_sealed_sector). */
export const isSealedCid = (b: Uint8Array) => hasPrefix(b, SEALED_PREFIX, 40);
/** CIDv1, fil-commitment-unsealed, sha2-256-trunc254-padded, 32 bytes. */
export const isUnsealedCid = (b: Uint8Array) => hasPrefix(b, UNSEALED_PREFIX, 39);

export function emptyPartition(): Partition {
  return {
    sectors: [],
    unproven: [],
    faults: [],
    recoveries: [],
    terminated: [],
    faultExpirations: {},
    livePower: zeroPower(),
    unprovenPower: zeroPower(),
    faultyPower: zeroPower(),
    recoveringPower: zeroPower(),
  };
}

export function emptyDeadline(): Deadline {
  return { partitions: [], partitionsPosted: [], liveSectors: 0, totalSectors: 0, faultyPower: zeroPower() };
}

export const liveSectors = (p: Partition) => subtract(p.sectors, p.terminated);
export const activeSectors = (p: Partition) => subtract(subtract(liveSectors(p), p.faults), p.unproven);

/** miner policy SECTOR_QUALITY_PRECISION and the multipliers of quality_for_weight (verified space counts 10×). */
const SECTOR_QUALITY_PRECISION = 20n;
const QUALITY_BASE_MULTIPLIER = 10n;
const VERIFIED_DEAL_WEIGHT_MULTIPLIER = 100n;

/** quality_for_weight: the sector's quality scaled by 2^20, the space-time weighted average of 1 (base) and 10 (verified). */
export function qualityForWeight(sectorSize: number, duration: number, verifiedWeight: bigint): bigint {
  const spaceTime = BigInt(sectorSize) * BigInt(duration);
  const base = (spaceTime - verifiedWeight) * QUALITY_BASE_MULTIPLIER;
  const verified = verifiedWeight * VERIFIED_DEAL_WEIGHT_MULTIPLIER;
  return ((base + verified) << SECTOR_QUALITY_PRECISION) / spaceTime / QUALITY_BASE_MULTIPLIER;
}

/** qa_power_for_weight: size × quality, unscaled. A fully verified sector has 10× its raw power. */
export function qaPowerForWeight(sectorSize: number, duration: number, verifiedWeight: bigint): bigint {
  return (BigInt(sectorSize) * qualityForWeight(sectorSize, duration, verifiedWeight)) >> SECTOR_QUALITY_PRECISION;
}

/** Power of one sector: raw = size; QA by qa_power_for_sector (duration from the power base epoch). */
export function powerForSector(sectorSize: number, s: SectorOnChainInfo): PowerPair {
  const qa =
    s.verifiedDealWeight > 0n
      ? qaPowerForWeight(sectorSize, s.expiration - s.powerBaseEpoch, s.verifiedDealWeight)
      : BigInt(sectorSize);
  return { raw: BigInt(sectorSize), qa };
}

/** Summed power of sectors (by number) of this miner. */
export function powerForSectors(st: Pick<MinerState, 'info' | 'sectors'>, numbers: readonly number[]): PowerPair {
  return powerForSectorInfos(
    st.info.sectorSize,
    numbers.map((n) => mustGetSector(st as MinerState, n)),
  );
}

export function powerForSectorInfos(sectorSize: number, sectors: readonly SectorOnChainInfo[]): PowerPair {
  let raw = 0n;
  let qa = 0n;
  for (const s of sectors) {
    const p = powerForSector(sectorSize, s);
    raw += p.raw;
    qa += p.qa;
  }
  return { raw, qa };
}

export function mustGetSector(st: MinerState, n: number): SectorOnChainInfo {
  const s = st.sectors[n];
  if (!s) throw notFound(`sector ${n} not found`);
  return s;
}

export function minerStateMut(rt: Runtime): MinerState {
  return rt.tree.mut<MinerState>(rt.receiver).state;
}

export function validateCallerIs(rt: Runtime, allowed: number[]): void {
  if (!allowed.includes(rt.caller)) {
    throw forbidden(`caller f0${rt.caller} is not one of ${allowed.map((a) => `f0${a}`).join(', ')}`);
  }
}

export const controlOrWorkerOrOwner = (info: MinerInfo) => [...info.controlAddresses, info.worker, info.owner];

// --- funds (state.rs) ---

export function getUnlockedBalance(st: MinerState, balance: bigint): bigint {
  const unlocked = balance - st.lockedFunds - st.preCommitDeposits - st.initialPledge;
  if (unlocked < 0n) throw illegalState(`negative unlocked balance ${unlocked}`);
  return unlocked;
}

/** Balance − locked − deposits − pledge − fee debt (StateMinerAvailableBalance). May be negative under debt. */
export function getAvailableBalance(st: MinerState, balance: bigint): bigint {
  return getUnlockedBalance(st, balance) - st.feeDebt;
}

export function checkBalanceInvariants(st: MinerState, balance: bigint): void {
  const fail = (m: string) => new ActorError(ExitCode.ErrBalanceInvariantsBroken, `balance invariants broken: ${m}`);
  if (st.preCommitDeposits < 0n) throw fail(`pre-commit deposit is negative: ${st.preCommitDeposits}`);
  if (st.lockedFunds < 0n) throw fail(`locked funds is negative: ${st.lockedFunds}`);
  if (st.initialPledge < 0n) throw fail(`initial pledge is negative: ${st.initialPledge}`);
  if (st.feeDebt < 0n) throw fail(`fee debt is negative: ${st.feeDebt}`);
  const min = st.preCommitDeposits + st.lockedFunds + st.initialPledge;
  if (balance < min) throw fail(`balance ${balance} below minimum ${min}`);
}

export function repayDebtsOrAbort(st: MinerState, balance: bigint): bigint {
  const unlocked = getUnlockedBalance(st, balance);
  if (unlocked < st.feeDebt) {
    throw illegalState(`unlocked balance can not repay fee debt (${unlocked} < ${st.feeDebt})`);
  }
  const debt = st.feeDebt;
  st.feeDebt = 0n;
  return debt;
}

/** REWARD_VESTING_SPEC: linear over 180 days, daily steps, quantized to 12 h from the proving period start. */
const VEST = {
  initialDelay: 0,
  vestPeriod: 180 * EPOCHS_IN_DAY,
  stepDuration: EPOCHS_IN_DAY,
  quantization: 12 * EPOCHS_IN_HOUR,
};

export function unlockVestedFunds(st: MinerState, epoch: number): bigint {
  let unlocked = 0n;
  while (st.vestingFunds.length && st.vestingFunds[0]!.epoch < epoch) unlocked += st.vestingFunds.shift()!.amount;
  st.lockedFunds -= unlocked;
  if (st.lockedFunds < 0n) throw illegalState(`vesting caused negative locked funds ${st.lockedFunds}`);
  return unlocked;
}

/** Locks funds on the vesting schedule (vesting_state.rs add_locked_funds); returns funds unlocked now. */
export function addLockedFunds(st: MinerState, epoch: number, amount: bigint): bigint {
  if (amount < 0n) throw illegalState(`negative vesting sum ${amount}`);
  const q = { unit: VEST.quantization, offset: st.provingPeriodStart };
  const begin = epoch + VEST.initialDelay;
  const merged = new Map<number, bigint>(st.vestingFunds.map((f) => [f.epoch, f.amount]));
  let vested = 0n;
  let e = begin;
  while (vested < amount) {
    e += VEST.stepDuration;
    const vestEpoch = quantizeUp(q, e);
    const elapsed = vestEpoch - begin;
    const target = elapsed < VEST.vestPeriod ? (amount * BigInt(elapsed)) / BigInt(VEST.vestPeriod) : amount;
    const now = target - vested;
    vested = target;
    merged.set(vestEpoch, (merged.get(vestEpoch) ?? 0n) + now);
  }
  st.vestingFunds = [...merged.entries()]
    .sort((a, b) => a[0] - b[0])
    .filter(([, a]) => a > 0n)
    .map(([epoch, amount]) => ({ epoch, amount }));
  st.lockedFunds += amount;
  return unlockVestedFunds(st, epoch);
}

export function burn(rt: Runtime, amount: bigint): void {
  if (amount > 0n) rt.tree.transfer(rt.receiver, BURNT_FUNDS_ACTOR, amount);
}
