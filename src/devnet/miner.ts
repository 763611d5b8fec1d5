/**
 * Storage miner actor: state and the methods the sealing cluster uses, following builtin-actors
 * actors/miner (current network version): sector number allocation, pre-commits with deposits and
 * clean-up, ProveCommitSectors3 (batched or aggregated proofs), deadline/partition assignment, Window PoSt,
 * fault recovery declarations, the deadline cron (missed PoSt ⇒ faulty partition), worker/control changes,
 * withdrawals.
 *
 * Simplified on purpose (the devnet has no market, no block rewards and no consensus faults):
 * no fault fees, no daily fee, no termination fee beyond burning the pledge of sectors terminated for
 * being faulty too long, no optimistic PoSt acceptance (every Window PoSt is verified).
 * Money is still consistent: deposits and pledge are locked and released, and the balance always covers
 * pre-commit deposits + locked funds + initial pledge (checked after every method).
 */

import { blake2b256 } from '../fil/index.js';
import { assignDeadlines } from './assign.js';
import {
  currentProvingPeriodStart,
  type DeadlineInfo,
  deadlineInfoAt,
  deadlineIsMutable,
  declarationDeadlineInfo,
  faultCutoffPassed,
  isOpen,
  lastEpoch,
  periodStarted,
  quantizeUp,
} from './dline.js';
import {
  ActorError,
  ExitCode,
  forbidden,
  illegalArgument,
  illegalState,
  insufficientFunds,
  notFound,
} from './exitcode.js';
import {
  canPreCommitSealProof,
  EPOCHS_IN_DAY,
  EPOCHS_IN_HOUR,
  initialPledgeForPower,
  isValidPoStProofType,
  maxProveCommitDuration,
  type Policy,
  postProofInfo,
  preCommitDepositForSector,
  sealProofInfo,
  sectorMaximumLifetime,
} from './policy.js';
import {
  addPower,
  enrollCronEvent,
  isZeroPower,
  negPower,
  type PowerPair,
  subPower,
  updateClaimedPower,
  updatePledgeTotal,
  zeroPower,
} from './power.js';
import { type ChallengedSector, DST, type PieceInfo, type Runtime } from './runtime.js';
import { containsAll, has, intersect, type NumSet, setOf, subtract, union } from './sets.js';
import { BURNT_FUNDS_ACTOR } from './state.js';

/** Miner method numbers (builtin-actors actors/miner/src/lib.rs enum Method). */
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

// ---------------------------------------------------------------------------------------------------
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

const bytesEq = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

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

/** Power of one sector: raw = size, QA = size for sectors without verified deals (quality 1). */
export function powerForSector(sectorSize: number, _s: SectorOnChainInfo): PowerPair {
  return { raw: BigInt(sectorSize), qa: BigInt(sectorSize) };
}

function powerForSectors(sectorSize: number, n: number): PowerPair {
  return { raw: BigInt(sectorSize) * BigInt(n), qa: BigInt(sectorSize) * BigInt(n) };
}

function mustGetSector(st: MinerState, n: number): SectorOnChainInfo {
  const s = st.sectors[n];
  if (!s) throw notFound(`sector ${n} not found`);
  return s;
}

function minerStateMut(rt: Runtime): MinerState {
  return rt.tree.mut<MinerState>(rt.receiver).state;
}

function validateCallerIs(rt: Runtime, allowed: number[]): void {
  if (!allowed.includes(rt.caller)) {
    throw forbidden(`caller f0${rt.caller} is not one of ${allowed.map((a) => `f0${a}`).join(', ')}`);
  }
}

const controlOrWorkerOrOwner = (info: MinerInfo) => [...info.controlAddresses, info.worker, info.owner];

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

function repayDebtsOrAbort(st: MinerState, balance: bigint): bigint {
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

function unlockVestedFunds(st: MinerState, epoch: number): bigint {
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

function burn(rt: Runtime, amount: bigint): void {
  if (amount > 0n) rt.tree.transfer(rt.receiver, BURNT_FUNDS_ACTOR, amount);
}

// ---------------------------------------------------------------------------------------------------
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

function checkPeerInfo(p: Policy, peerId: Uint8Array, multiaddrs: Uint8Array[]): void {
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

// ---------------------------------------------------------------------------------------------------
// 28 PreCommitSectorBatch2

function validateExpiration(p: Policy, curr: number, activation: number, expiration: number, sealProof: number): void {
  if (expiration <= activation) {
    throw illegalArgument(`sector expiration ${expiration} must be after activation ${activation}`);
  }
  if (expiration - activation < p.minSectorExpiration) {
    throw illegalArgument(
      `invalid expiration ${expiration}, total sector lifetime (${expiration - activation}) must exceed ${p.minSectorExpiration} after activation ${activation}`,
    );
  }
  if (expiration > curr + p.maxSectorExpirationExtension) {
    throw illegalArgument(
      `invalid expiration ${expiration}, cannot be more than ${p.maxSectorExpirationExtension} past current epoch ${curr}`,
    );
  }
  const maxLifetime = sectorMaximumLifetime(p, sealProof);
  if (maxLifetime === undefined) throw illegalArgument(`unrecognized seal proof type ${sealProof}`);
  if (expiration - activation > maxLifetime) {
    throw illegalArgument(
      `invalid expiration ${expiration}, total sector lifetime (${expiration - activation}) cannot exceed ${maxLifetime} after activation ${activation}`,
    );
  }
}

export function preCommitSectorBatch2(rt: Runtime, params: PreCommitSectorBatch2Params): void {
  const p = rt.policy;
  const curr = rt.epoch;
  const sectors = params.sectors;
  if (sectors.length === 0) throw illegalArgument('batch empty');
  const challengeEarliest = curr - p.maxPreCommitRandomnessLookback;
  const numbers: number[] = [];
  for (const pc of sectors) {
    if (numbers.includes(pc.sectorNumber)) throw illegalArgument(`duplicate sector number ${pc.sectorNumber}`);
    numbers.push(pc.sectorNumber);
    if (!canPreCommitSealProof(p, pc.sealProof)) throw illegalArgument(`unsupported seal proof type ${pc.sealProof}`);
    if (!Number.isSafeInteger(pc.sectorNumber) || pc.sectorNumber < 0 || pc.sectorNumber > MAX_SECTOR_NUMBER) {
      throw illegalArgument(`sector number ${pc.sectorNumber} out of range 0..(2^53-1)`);
    }
    if (!isSealedCid(pc.sealedCid)) throw illegalArgument('sealed CID had wrong prefix');
    if (pc.sealRandEpoch >= curr) {
      throw illegalArgument(`seal challenge epoch ${pc.sealRandEpoch} must be before now ${curr}`);
    }
    if (pc.sealRandEpoch < challengeEarliest) {
      throw illegalArgument(`seal challenge epoch ${pc.sealRandEpoch} too old, must be after ${challengeEarliest}`);
    }
    if (pc.unsealedCid && !isUnsealedCid(pc.unsealedCid)) throw illegalArgument('unsealed CID had wrong prefix');
    const maxActivation = curr + (maxProveCommitDuration(p, pc.sealProof) ?? 0);
    validateExpiration(p, curr, maxActivation, pc.expiration, pc.sealProof);
    // the devnet has no storage market: builtin-market deals cannot be verified
    if (pc.dealIds.length > 0)
      throw illegalArgument(`sector ${pc.sectorNumber}: deal IDs are not supported (no market)`);
  }

  const balance = rt.tree.get(rt.receiver)!.balance;
  const st = minerStateMut(rt);
  const available = getAvailableBalance(st, balance);
  const feeToBurn = repayDebtsOrAbort(st, balance);
  const info = st.info;
  validateCallerIs(rt, controlOrWorkerOrOwner(info));
  if (info.consensusFaultElapsed > curr) throw forbidden('pre-commit not allowed during active consensus fault');

  let totalDeposit = 0n;
  const cleanUps: [number, number][] = [];
  const onChain: SectorPreCommitOnChainInfo[] = [];
  const deposit = preCommitDepositForSector(p, info.sectorSize);
  for (const pc of sectors) {
    const proofInfo = sealProofInfo(pc.sealProof)!;
    if (proofInfo.windowPoStProof !== info.windowPoStProofType) {
      throw illegalArgument(
        `sector Window PoSt proof type ${proofInfo.windowPoStProof} must match miner Window PoSt proof type ${info.windowPoStProofType} (seal proof type ${pc.sealProof})`,
      );
    }
    onChain.push({ info: structuredClone(pc), preCommitDeposit: deposit, preCommitEpoch: curr });
    totalDeposit += deposit;
    const msd = maxProveCommitDuration(p, pc.sealProof);
    if (msd === undefined) throw illegalArgument(`no max seal duration set for proof type: ${pc.sealProof}`);
    cleanUps.push([curr + msd + p.expiredPreCommitCleanUpDelay, pc.sectorNumber]);
  }
  if (available < totalDeposit) {
    throw insufficientFunds(`insufficient funds ${available} for pre-commit deposit: ${totalDeposit}`);
  }
  st.preCommitDeposits += totalDeposit;
  const newNumbers = setOf(numbers);
  const collisions = intersect(st.allocatedSectors, newNumbers);
  if (collisions.length) throw illegalArgument(`sector numbers [${collisions.join(', ')}] already allocated`);
  st.allocatedSectors = union(st.allocatedSectors, newNumbers);
  for (const pci of onChain) {
    if (st.preCommittedSectors[pci.info.sectorNumber]) {
      throw illegalState(`sector ${pci.info.sectorNumber} already pre-commited`);
    }
    st.preCommittedSectors[pci.info.sectorNumber] = pci;
  }
  // clean-ups are quantized to deadline boundaries, like the actors' bitfield queue
  const q = { unit: p.wpostChallengeWindow, offset: st.provingPeriodStart };
  for (const [epoch, n] of cleanUps) {
    const at = quantizeUp(q, epoch);
    const list = (st.preCommitCleanUps[at] ??= []);
    if (!list.includes(n)) list.push(n);
  }
  const needsCron = !st.deadlineCronActive;
  st.deadlineCronActive = true;
  burn(rt, feeToBurn);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
  if (needsCron) {
    enrollCronEvent(rt.tree, lastEpoch(minerDeadlineInfo(p, st, curr)), rt.receiver);
  }
}

// ---------------------------------------------------------------------------------------------------
// 34 ProveCommitSectors3

interface SealProofInput {
  sealProof: number;
  sectorNumber: number;
  ticket: Uint8Array;
  seed: Uint8Array;
  sealedCid: Uint8Array;
  unsealedCid: Uint8Array;
}

class BatchGen {
  successCount = 0;
  failCodes: { idx: number; code: number }[] = [];
  private n = 0;
  add(ok: boolean, code = ExitCode.ErrIllegalArgument as number): void {
    if (ok) this.successCount++;
    else this.failCodes.push({ idx: this.n, code });
    this.n++;
  }
  ok(i: number): boolean {
    return !this.failCodes.some((f) => f.idx === i);
  }
  successes<T>(items: T[]): T[] {
    return items.filter((_, i) => this.ok(i));
  }
  result(): BatchReturn {
    return { successCount: this.successCount, failCodes: this.failCodes.slice() };
  }
}

/** util::stack: composes batch returns of successive filtering stages into one over the original items. */
function stackBatches(batches: BatchReturn[], total: number): BatchReturn {
  let alive = Array.from({ length: total }, (_, i) => i);
  const codes = new Map<number, number>();
  for (const b of batches) {
    const failed = new Map(b.failCodes.map((f) => [f.idx, f.code]));
    const next: number[] = [];
    alive.forEach((orig, i) => {
      const c = failed.get(i);
      if (c === undefined) next.push(orig);
      else codes.set(orig, c);
    });
    alive = next;
  }
  return {
    successCount: alive.length,
    failCodes: [...codes.entries()].sort((a, b) => a[0] - b[0]).map(([idx, code]) => ({ idx, code })),
  };
}

export async function proveCommitSectors3(rt: Runtime, params: ProveCommitSectors3Params): Promise<BatchReturn> {
  const p = rt.policy;
  const view = rt.tree.stateOf<MinerState>(rt.receiver);
  const info = view.info;
  validateCallerIs(rt, controlOrWorkerOrOwner(info));

  const precommits: SectorPreCommitOnChainInfo[] = params.sectorActivations.map((sa) => {
    if (!Number.isSafeInteger(sa.sectorNumber) || sa.sectorNumber < 0) {
      throw illegalArgument('sector number greater than maximum');
    }
    const pc = view.preCommittedSectors[sa.sectorNumber];
    if (!pc) throw notFound(`sector ${sa.sectorNumber} not found`);
    return pc;
  });
  if (precommits.length === 0) throw illegalArgument('no sectors to prove');
  if ((params.sectorProofs.length === 0) === (params.aggregateProof.length === 0)) {
    throw illegalArgument('exactly one of sector proofs or aggregate proof must be non-empty');
  }
  if (params.sectorProofs.length > 0) {
    if (params.aggregateProofType !== null) {
      throw illegalArgument('aggregate proof type must be null with batched proofs');
    }
    if (params.sectorActivations.length !== params.sectorProofs.length) {
      throw illegalArgument(
        `mismatched lengths: ${params.sectorActivations.length} sector activations, ${params.sectorProofs.length} proofs`,
      );
    }
  } else {
    // RegisteredAggregateProof SnarkPackV2 = 1
    if (params.aggregateProofType !== 1) throw illegalArgument('aggregate proof type must be SnarkPackV2');
    const n = params.sectorActivations.length;
    if (n > p.maxAggregatedSectors) {
      throw illegalArgument(`too many sectors addressed, addressed ${n} want <= ${p.maxAggregatedSectors}`);
    }
    if (n < p.minAggregatedSectors) {
      throw illegalArgument(`too few sectors addressed, addressed ${n} want >= ${p.minAggregatedSectors}`);
    }
  }

  // validate_precommits
  const validation = new BatchGen();
  const proofInputs: SealProofInput[] = [];
  const entropy = rt.addressCbor(rt.receiver);
  for (let i = 0; i < precommits.length; i++) {
    const pc = precommits[i]!;
    let fail = false;
    if (pc.info.dealIds.length > 0) fail = true;
    const msd = maxProveCommitDuration(p, pc.info.sealProof);
    if (msd === undefined) throw illegalState(`no max seal duration for proof type: ${pc.info.sealProof}`);
    if (rt.epoch > pc.preCommitEpoch + msd) fail = true;
    if (i >= 1 && precommits[i - 1]!.info.sealProof !== pc.info.sealProof) {
      throw illegalState(
        `seal proof group for verification contains mismatched seal proofs ${precommits[i - 1]!.info.sealProof} and ${pc.info.sealProof}`,
      );
    }
    const interactiveEpoch = pc.preCommitEpoch + p.preCommitChallengeDelay;
    if (rt.epoch <= interactiveEpoch) throw forbidden('too early to prove sector');
    proofInputs.push({
      sealProof: pc.info.sealProof,
      sectorNumber: pc.info.sectorNumber,
      ticket: rt.rand.fromTickets(DST.SealRandomness, pc.info.sealRandEpoch, entropy),
      seed: rt.rand.fromBeacon(DST.InteractiveSealChallengeSeed, interactiveEpoch, entropy),
      sealedCid: pc.info.sealedCid,
      unsealedCid: pc.info.unsealedCid ?? rt.verifier.unsealedCid(pc.info.sealProof, []),
    });
    if (fail) {
      if (params.requireActivationSuccess) {
        throw illegalArgument(`invalid pre-commit ${i} while requiring activation success`);
      }
      validation.add(false);
    } else validation.add(true);
  }
  if (validation.successCount === 0) throw illegalArgument('no valid precommits specified');

  const validPrecommits = validation.successes(precommits);
  const validActivations = validation.successes(params.sectorActivations);
  const proven = new BatchGen();
  let provenPairs: [SectorActivationManifest, SectorPreCommitOnChainInfo][] = [];
  if (params.sectorProofs.length > 0) {
    const inputs = validation.successes(proofInputs);
    const proofs = validation.successes(params.sectorProofs);
    for (let i = 0; i < inputs.length; i++) {
      const inp = inputs[i]!;
      rt.chargeGas(50_000_000, 'seal proof verification');
      const ok = await rt.verifier.verifySeal({ ...inp, minerId: rt.receiver, proof: proofs[i]! });
      if (ok) {
        provenPairs.push([validActivations[i]!, validPrecommits[i]!]);
        proven.add(true);
      } else {
        proven.add(false);
        if (params.requireActivationSuccess) {
          throw illegalArgument(`invalid proof for sector ${inp.sectorNumber} while requiring activation success`);
        }
      }
    }
  } else {
    rt.chargeGas(50_000_000 + 10_000_000 * proofInputs.length, 'aggregate seal proof verification');
    const ok = await rt.verifier.verifyAggregateSeals({
      sealProof: precommits[0]!.info.sealProof,
      minerId: rt.receiver,
      aggregateProofType: params.aggregateProofType!,
      proof: params.aggregateProof,
      // all inputs, even of invalid pre-commits, are witnesses of the aggregate
      infos: proofInputs.map(({ sealProof: _s, ...rest }) => rest),
    });
    if (!ok) throw illegalArgument('aggregate seal verify failed');
    provenPairs = validActivations.map((a, i) => [a, validPrecommits[i]!]);
    for (let i = 0; i < provenPairs.length; i++) proven.add(true);
  }
  if (proven.successCount === 0) throw illegalArgument('no valid proofs specified');

  // activate_sectors_pieces: the declared CommD must match the pieces
  const data = new BatchGen();
  const activated: { pc: SectorPreCommitOnChainInfo; unverifiedSpace: bigint; verifiedSpace: bigint }[] = [];
  for (const [act, pc] of provenPairs) {
    const pieces: PieceInfo[] = act.pieces.map((pm) => ({ cid: pm.cid, size: pm.size }));
    for (const pm of act.pieces) {
      if (pm.verifiedAllocationKey) {
        throw illegalArgument(`sector ${pc.info.sectorNumber}: verified allocations are not supported (no verifreg)`);
      }
      if (pm.notify.length > 0 && params.requireNotificationSuccess) {
        throw illegalArgument(`sector ${pc.info.sectorNumber}: piece notifications are not supported (no market)`);
      }
    }
    let computed: Uint8Array;
    try {
      computed = rt.verifier.unsealedCid(pc.info.sealProof, pieces);
    } catch (e) {
      throw illegalArgument(`failed to compute unsealed sector CID: ${(e as Error).message}`);
    }
    const declared = pc.info.unsealedCid ?? rt.verifier.unsealedCid(pc.info.sealProof, []);
    if (!bytesEq(declared, computed)) {
      throw illegalArgument(`unsealed CID does not match pieces for sector ${pc.info.sectorNumber}`);
    }
    const unverifiedSpace = act.pieces.reduce((s, pm) => s + BigInt(pm.size), 0n);
    activated.push({ pc, unverifiedSpace, verifiedSpace: 0n });
    data.add(true);
  }

  activateNewSectorInfos(rt, activated);
  return stackBatches([validation.result(), proven.result(), data.result()], precommits.length);
}

function activateNewSectorInfos(
  rt: Runtime,
  activated: { pc: SectorPreCommitOnChainInfo; unverifiedSpace: bigint; verifiedSpace: bigint }[],
): void {
  const p = rt.policy;
  const epoch = rt.epoch;
  const st = minerStateMut(rt);
  const info = st.info;
  const newSectors: SectorOnChainInfo[] = [];
  let depositToUnlock = 0n;
  let totalPledge = 0n;
  for (const { pc, unverifiedSpace, verifiedSpace } of activated) {
    const duration = pc.info.expiration - epoch;
    if (duration < p.minSectorExpiration) {
      throw illegalArgument(
        `precommit ${pc.info.sectorNumber} has lifetime ${duration} less than minimum ${p.minSectorExpiration}. ignoring`,
      );
    }
    const power = BigInt(info.sectorSize); // QA = raw without verified space
    const pledge = initialPledgeForPower(p, power);
    depositToUnlock += pc.preCommitDeposit;
    totalPledge += pledge;
    newSectors.push({
      sectorNumber: pc.info.sectorNumber,
      sealProof: pc.info.sealProof,
      sealedCid: pc.info.sealedCid,
      activation: epoch,
      expiration: pc.info.expiration,
      dealWeight: unverifiedSpace * BigInt(duration),
      verifiedDealWeight: verifiedSpace * BigInt(duration),
      initialPledge: pledge,
      expectedDayReward: 0n,
      expectedStoragePledge: 0n,
      powerBaseEpoch: epoch,
      replacedDayReward: 0n,
      flags: 1,
      dailyFee: 0n,
    });
  }
  for (const s of newSectors) {
    st.sectors[s.sectorNumber] = s;
    if (!st.preCommittedSectors[s.sectorNumber]) throw illegalState(`sector ${s.sectorNumber} not pre-committed`);
    delete st.preCommittedSectors[s.sectorNumber];
  }
  assignSectorsToDeadlines(p, st, epoch, newSectors);
  st.preCommitDeposits -= depositToUnlock;
  if (st.preCommitDeposits < 0n) throw illegalState('negative pre-commit deposit');
  const balance = rt.tree.get(rt.receiver)!.balance;
  const unlocked = getUnlockedBalance(st, balance);
  if (unlocked < totalPledge) {
    throw insufficientFunds(
      `insufficient funds for aggregate initial pledge requirement ${totalPledge}, available: ${unlocked}`,
    );
  }
  st.initialPledge += totalPledge;
  checkBalanceInvariants(st, balance);
  updatePledgeTotal(rt.tree, totalPledge);
}

/** state.assign_sectors_to_deadlines: new sectors go to mutable deadlines, filling partitions as the actors do. */
export function assignSectorsToDeadlines(p: Policy, st: MinerState, epoch: number, sectors: SectorOnChainInfo[]): void {
  const sorted = sectors.slice().sort((a, b) => a.sectorNumber - b.sectorNumber);
  const periodStart = minerDeadlineInfo(p, st, epoch).periodStart;
  const loads = st.deadlines
    .map((d, index) => ({ index, liveSectors: d.liveSectors, totalSectors: d.totalSectors }))
    .filter((d) => deadlineIsMutable(p, periodStart, d.index, epoch));
  let perDeadline: SectorOnChainInfo[][];
  try {
    perDeadline = assignDeadlines(
      p.maxPartitionsPerDeadline,
      st.info.windowPoStPartitionSectors,
      loads,
      sorted,
      p.wpostPeriodDeadlines,
    );
  } catch (e) {
    throw illegalState(`failed to assign new sectors to deadlines: ${(e as Error).message}`);
  }
  perDeadline.forEach((list, idx) => {
    if (list.length) addSectorsToDeadline(st.deadlines[idx]!, st.info, list);
  });
}

/** deadline.add_sectors: fill the last partition, then open new ones; new sectors start unproven. */
function addSectorsToDeadline(dl: Deadline, info: MinerInfo, sectors: SectorOnChainInfo[]): void {
  const size = info.windowPoStPartitionSectors;
  dl.liveSectors += sectors.length;
  dl.totalSectors += sectors.length;
  let rest = sectors;
  let idx = Math.max(0, dl.partitions.length - 1);
  while (rest.length) {
    const part = (dl.partitions[idx] ??= emptyPartition());
    const room = size - part.sectors.length;
    if (room > 0) {
      const take = rest.slice(0, room);
      rest = rest.slice(room);
      const nums = setOf(take.map((s) => s.sectorNumber));
      if (intersect(part.sectors, nums).length) throw illegalState('not all added sectors are new');
      const power = powerForSectors(info.sectorSize, take.length);
      part.sectors = union(part.sectors, nums);
      part.unproven = union(part.unproven, nums);
      part.livePower = addPower(part.livePower, power);
      part.unprovenPower = addPower(part.unprovenPower, power);
    }
    idx++;
  }
}

// ---------------------------------------------------------------------------------------------------
// 5 SubmitWindowedPoSt

export async function submitWindowedPoSt(rt: Runtime, params: SubmitWindowedPoStParams): Promise<void> {
  const p = rt.policy;
  const curr = rt.epoch;
  if (params.proofs.length !== 1) throw illegalArgument(`expected exactly one proof, got ${params.proofs.length}`);
  if (!isValidPoStProofType(p, params.proofs[0]!.postProof)) {
    throw illegalArgument(`proof type ${params.proofs[0]!.postProof} not allowed`);
  }
  if (!Number.isInteger(params.deadline) || params.deadline < 0 || params.deadline >= p.wpostPeriodDeadlines) {
    throw illegalArgument(`invalid deadline ${params.deadline} of ${p.wpostPeriodDeadlines}`);
  }
  if (params.chainCommitRand.length > 32) {
    throw illegalArgument(`expected at most 32 bytes of randomness, got ${params.chainCommitRand.length}`);
  }

  const st = minerStateMut(rt);
  const info = st.info;
  validateCallerIs(rt, controlOrWorkerOrOwner(info));
  if (params.proofs[0]!.postProof !== info.windowPoStProofType) {
    throw illegalArgument(`expected proof of type ${info.windowPoStProofType}, got ${params.proofs[0]!.postProof}`);
  }
  const limit = Math.min(
    Math.min(Math.floor(p.addressedSectorsMax / info.windowPoStPartitionSectors), p.addressedPartitionsMax),
    p.postedPartitionsMax,
  );
  if (params.partitions.length > limit) {
    throw illegalArgument(`too many partitions ${params.partitions.length}, limit ${limit}`);
  }
  const current = minerDeadlineInfo(p, st, curr);
  if (!isOpen(current)) {
    throw illegalState(`proving period ${current.periodStart} not yet open at ${curr}`);
  }
  if (params.deadline !== current.index) {
    throw illegalArgument(`invalid deadline ${params.deadline} at epoch ${curr}, expected ${current.index}`);
  }
  if (params.chainCommitEpoch < current.challenge) {
    throw illegalArgument(`expected chain commit epoch ${params.chainCommitEpoch} to be after ${current.challenge}`);
  }
  if (params.chainCommitEpoch >= curr) {
    throw illegalArgument(`chain commit epoch ${params.chainCommitEpoch} must be less than the current epoch ${curr}`);
  }
  const commRand = rt.rand.fromTickets(DST.PoStChainCommit, params.chainCommitEpoch, new Uint8Array(0));
  if (!bytesEq(commRand, params.chainCommitRand)) throw illegalArgument('post commit randomness mismatched');

  const dl = st.deadlines[params.deadline]!;
  const faultExpiration = lastEpoch(current) + p.faultMaxAge;
  const result = recordProvenSectors(st, dl, params.partitions, faultExpiration);
  const provenSectors = subtract(result.sectors, result.ignored);
  if (provenSectors.length === 0) throw illegalArgument('cannot prove partitions with no active sectors');

  // the devnet verifies every Window PoSt (the actors verify only those that recover power, optimistically
  // accepting the rest; the devnet has nobody to dispute them)
  const good = provenSectors[0]!;
  const standIn = mustGetSector(st, good);
  const challenged: ChallengedSector[] = result.sectors.map((n) => {
    const s = has(result.ignored, n) ? standIn : mustGetSector(st, n);
    return { sealProof: s.sealProof, sectorNumber: s.sectorNumber, sealedCid: s.sealedCid };
  });
  const entropy = rt.addressCbor(rt.receiver);
  rt.chargeGas(30_000_000 + 1_000_000 * challenged.length, 'window post verification');
  const ok = await rt.verifier.verifyWindowPoSt({
    minerId: rt.receiver,
    randomness: rt.rand.fromBeacon(DST.WindowedPoStChallengeSeed, current.challenge, entropy),
    proofs: params.proofs,
    challengedSectors: challenged,
  });
  if (!ok) throw illegalArgument('invalid post was submitted');
  st.lastWindowPoStEpoch = curr;
  updateClaimedPower(rt.tree, p, rt.receiver, result.powerDelta);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
}

/** deadline.record_proven_sectors (+ partition record_skipped_faults / recover_faults / activate_unproven). */
function recordProvenSectors(
  st: MinerState,
  dl: Deadline,
  posts: PoStPartition[],
  faultExpiration: number,
): { sectors: NumSet; ignored: NumSet; powerDelta: PowerPair } {
  const size = st.info.sectorSize;
  const indexes = setOf(posts.map((x) => x.index));
  if (indexes.length !== posts.length) throw illegalArgument('duplicate partitions proven');
  const already = intersect(dl.partitionsPosted, indexes);
  if (already.length) throw illegalArgument(`partition already proven: [${already.join(', ')}]`);
  let powerDelta = zeroPower();
  let newFaulty = zeroPower();
  let recovered = zeroPower();
  const all: NumSet[] = [];
  const ignored: NumSet[] = [];
  for (const post of posts) {
    const part = dl.partitions[post.index];
    if (!part) throw notFound(`no such partition ${post.index}`);
    // record_skipped_faults
    if (post.skipped.length) {
      if (!containsAll(part.sectors, post.skipped)) {
        throw illegalArgument('skipped faults contains sectors outside partition');
      }
      const retracted = intersect(part.recoveries, post.skipped);
      const newFaults = subtract(subtract(post.skipped, part.terminated), part.faults);
      const r = addFaults(part, newFaults, size, faultExpiration);
      powerDelta = addPower(powerDelta, r.powerDelta);
      newFaulty = addPower(newFaulty, r.newFaultyPower);
      removeRecoveries(part, retracted, powerForSectors(size, retracted.length));
    }
    // recover_faults: declared recoveries are taken as proven by this PoSt
    const rec = part.recoveries;
    const recPower = powerForSectors(size, rec.length);
    part.faults = subtract(part.faults, rec);
    for (const n of rec) delete part.faultExpirations[n];
    part.recoveries = [];
    part.faultyPower = subPower(part.faultyPower, recPower);
    part.recoveringPower = subPower(part.recoveringPower, recPower);
    recovered = addPower(recovered, recPower);
    // activate_unproven
    powerDelta = addPower(powerDelta, part.unprovenPower);
    part.unproven = [];
    part.unprovenPower = zeroPower();
    powerDelta = addPower(powerDelta, recPower);
    all.push(part.sectors);
    ignored.push(part.faults, part.terminated);
    dl.partitionsPosted = union(dl.partitionsPosted, [post.index]);
  }
  dl.faultyPower = addPower(subPower(dl.faultyPower, recovered), newFaulty);
  return { sectors: union(...all, []), ignored: union(...ignored, []), powerDelta };
}

/** partition.add_faults: returns the power delta (lost active power) and the new faulty power. */
function addFaults(
  part: Partition,
  sectorNumbers: NumSet,
  sectorSize: number,
  faultExpiration: number,
): { powerDelta: PowerPair; newFaultyPower: PowerPair } {
  if (sectorNumbers.length === 0) return { powerDelta: zeroPower(), newFaultyPower: zeroPower() };
  const newFaultyPower = powerForSectors(sectorSize, sectorNumbers.length);
  part.faults = union(part.faults, sectorNumbers);
  for (const n of sectorNumbers) part.faultExpirations[n] = faultExpiration;
  part.faultyPower = addPower(part.faultyPower, newFaultyPower);
  const unproven = intersect(sectorNumbers, part.unproven);
  part.unproven = subtract(part.unproven, unproven);
  let powerDelta = negPower(newFaultyPower);
  if (unproven.length) {
    const lost = powerForSectors(sectorSize, unproven.length);
    part.unprovenPower = subPower(part.unprovenPower, lost);
    // unproven power was never active, so it is not lost again
    powerDelta = addPower(powerDelta, lost);
  }
  return { powerDelta, newFaultyPower };
}

function removeRecoveries(part: Partition, sectors: NumSet, power: PowerPair): void {
  if (!sectors.length) return;
  part.recoveries = subtract(part.recoveries, sectors);
  part.recoveringPower = subPower(part.recoveringPower, power);
}

// ---------------------------------------------------------------------------------------------------
// 10 DeclareFaults, 11 DeclareFaultsRecovered

function groupDeclarations(p: Policy, decls: RecoveryDeclaration[]): Map<number, Map<number, NumSet>> {
  const byDeadline = new Map<number, Map<number, NumSet>>();
  let partitions = 0;
  let sectors = 0;
  for (const d of decls) {
    if (!Number.isInteger(d.deadline) || d.deadline < 0 || d.deadline >= p.wpostPeriodDeadlines) {
      throw illegalArgument(
        `failed to process deadline ${d.deadline}, partition ${d.partition}: invalid deadline ${d.deadline}`,
      );
    }
    const parts = byDeadline.get(d.deadline) ?? new Map<number, NumSet>();
    byDeadline.set(d.deadline, parts);
    const prev = parts.get(d.partition);
    if (!prev) partitions++;
    const merged = union(prev ?? [], d.sectors);
    sectors += merged.length - (prev?.length ?? 0);
    parts.set(d.partition, merged);
  }
  if (partitions > p.addressedPartitionsMax) {
    throw illegalArgument(`cannot process requested parameters: too many partitions ${partitions}`);
  }
  if (sectors > p.addressedSectorsMax) {
    throw illegalArgument(`cannot process requested parameters: too many sectors ${sectors}`);
  }
  return byDeadline;
}

export function declareFaultsRecovered(rt: Runtime, recoveries: RecoveryDeclaration[]): void {
  const p = rt.policy;
  const grouped = groupDeclarations(p, recoveries);
  const balance = rt.tree.get(rt.receiver)!.balance;
  const st = minerStateMut(rt);
  const feeToBurn = repayDebtsOrAbort(st, balance);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  if (st.info.consensusFaultElapsed > rt.epoch) throw forbidden('recovery not allowed during active consensus fault');
  const periodStart = minerDeadlineInfo(p, st, rt.epoch).periodStart;
  for (const [dlIdx, parts] of grouped) {
    const target = declarationDeadlineInfo(p, periodStart, dlIdx, rt.epoch);
    if (faultCutoffPassed(target)) {
      throw illegalArgument(`failed recovery declaration at deadline ${dlIdx}: late fault or recovery declaration`);
    }
    const dl = st.deadlines[dlIdx]!;
    for (const [partIdx, sectors] of parts) {
      const part = dl.partitions[partIdx];
      if (!part) throw notFound(`no such partition ${partIdx}`);
      validatePartitionContainsSectors(part, sectors);
      const recoveries = subtract(intersect(sectors, part.faults), part.recoveries);
      part.recoveries = union(part.recoveries, recoveries);
      part.recoveringPower = addPower(part.recoveringPower, powerForSectors(st.info.sectorSize, recoveries.length));
    }
  }
  burn(rt, feeToBurn);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
}

export function declareFaults(rt: Runtime, faults: RecoveryDeclaration[]): void {
  const p = rt.policy;
  const grouped = groupDeclarations(p, faults);
  const st = minerStateMut(rt);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  const periodStart = minerDeadlineInfo(p, st, rt.epoch).periodStart;
  let powerDelta = zeroPower();
  for (const [dlIdx, parts] of grouped) {
    const target = declarationDeadlineInfo(p, periodStart, dlIdx, rt.epoch);
    if (faultCutoffPassed(target)) {
      throw illegalArgument(`failed fault declaration at deadline ${dlIdx}: late fault or recovery declaration`);
    }
    const dl = st.deadlines[dlIdx]!;
    const faultExpiration = lastEpoch(target) + p.faultMaxAge;
    for (const [partIdx, sectors] of parts) {
      const part = dl.partitions[partIdx];
      if (!part) throw notFound(`no such partition ${partIdx}`);
      validatePartitionContainsSectors(part, sectors);
      const retracted = intersect(part.recoveries, sectors);
      const newFaults = subtract(subtract(subtract(sectors, retracted), part.terminated), part.faults);
      const r = addFaults(part, newFaults, st.info.sectorSize, faultExpiration);
      dl.faultyPower = addPower(dl.faultyPower, r.newFaultyPower);
      powerDelta = addPower(powerDelta, r.powerDelta);
      removeRecoveries(part, retracted, powerForSectors(st.info.sectorSize, retracted.length));
    }
  }
  updateClaimedPower(rt.tree, p, rt.receiver, powerDelta);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
}

function validatePartitionContainsSectors(part: Partition, sectors: NumSet): void {
  if (!containsAll(part.sectors, sectors)) {
    throw illegalArgument('failed fault declaration: not all sectors are assigned to the partition');
  }
}

// ---------------------------------------------------------------------------------------------------
// 9 TerminateSectors (simplified: pledge is released, no termination fee)

export function terminateSectors(rt: Runtime, terminations: RecoveryDeclaration[]): { done: boolean } {
  const p = rt.policy;
  const grouped = groupDeclarations(p, terminations);
  const st = minerStateMut(rt);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  const current = minerDeadlineInfo(p, st, rt.epoch);
  let powerDelta = zeroPower();
  let pledgeDelta = 0n;
  for (const [dlIdx, parts] of grouped) {
    if (dlIdx === current.index || dlIdx === (current.index + 1) % p.wpostPeriodDeadlines) {
      throw illegalArgument(`cannot terminate sectors in immutable deadline ${dlIdx}`);
    }
    const dl = st.deadlines[dlIdx]!;
    for (const [partIdx, sectors] of parts) {
      const part = dl.partitions[partIdx];
      if (!part) throw notFound(`no such partition ${partIdx}`);
      validatePartitionContainsSectors(part, sectors);
      const r = terminatePartitionSectors(st, dl, part, subtract(sectors, part.terminated));
      powerDelta = addPower(powerDelta, r.powerDelta);
      pledgeDelta -= r.pledge;
    }
  }
  st.initialPledge += pledgeDelta;
  updateClaimedPower(rt.tree, p, rt.receiver, powerDelta);
  updatePledgeTotal(rt.tree, pledgeDelta);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
  return { done: true };
}

/** Moves sectors to terminated; returns the active power lost and the pledge they held. */
function terminatePartitionSectors(
  st: MinerState,
  dl: Deadline,
  part: Partition,
  sectors: NumSet,
): { powerDelta: PowerPair; pledge: bigint } {
  if (!sectors.length) return { powerDelta: zeroPower(), pledge: 0n };
  const size = st.info.sectorSize;
  const faulty = intersect(sectors, part.faults);
  const unproven = intersect(sectors, part.unproven);
  const recovering = intersect(sectors, part.recoveries);
  const active = subtract(subtract(sectors, faulty), unproven);
  const all = powerForSectors(size, sectors.length);
  part.terminated = union(part.terminated, sectors);
  part.faults = subtract(part.faults, sectors);
  part.unproven = subtract(part.unproven, sectors);
  part.recoveries = subtract(part.recoveries, sectors);
  for (const n of sectors) delete part.faultExpirations[n];
  part.livePower = subPower(part.livePower, all);
  part.faultyPower = subPower(part.faultyPower, powerForSectors(size, faulty.length));
  part.unprovenPower = subPower(part.unprovenPower, powerForSectors(size, unproven.length));
  part.recoveringPower = subPower(part.recoveringPower, powerForSectors(size, recovering.length));
  dl.liveSectors -= sectors.length;
  dl.faultyPower = subPower(dl.faultyPower, powerForSectors(size, faulty.length));
  let pledge = 0n;
  for (const n of sectors) pledge += mustGetSector(st, n).initialPledge;
  return { powerDelta: negPower(powerForSectors(size, active.length)), pledge };
}

// ---------------------------------------------------------------------------------------------------
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

function processPendingWorker(st: MinerState, epoch: number): void {
  const k = st.info.pendingWorkerKey;
  if (!k || epoch < k.effectiveAt) return;
  st.info.worker = k.newWorker;
  st.info.pendingWorkerKey = null;
}

// ---------------------------------------------------------------------------------------------------
// 3 ChangeWorkerAddress, 21 ConfirmChangeWorkerAddress, 23 ChangeOwnerAddress, 4/18 peer info

/** `newWorker` must already be resolved to a BLS account by the caller (resolve_worker_address). */
export function changeWorkerAddress(rt: Runtime, params: ChangeWorkerAddressParams): void {
  const p = rt.policy;
  if (params.newControlAddresses.length > p.maxControlAddresses) {
    throw illegalArgument(
      `control addresses length ${params.newControlAddresses.length} exceeds max control addresses length ${p.maxControlAddresses}`,
    );
  }
  const st = minerStateMut(rt);
  validateCallerIs(rt, [st.info.owner]);
  st.info.controlAddresses = params.newControlAddresses.slice();
  if (params.newWorker !== st.info.worker && st.info.pendingWorkerKey === null) {
    st.info.pendingWorkerKey = { newWorker: params.newWorker, effectiveAt: rt.epoch + p.workerKeyChangeDelay };
  }
}

export function confirmChangeWorkerAddress(rt: Runtime): void {
  const st = minerStateMut(rt);
  validateCallerIs(rt, [st.info.owner]);
  processPendingWorker(st, rt.epoch);
}

export function changeOwnerAddress(rt: Runtime, newOwner: number): void {
  const st = minerStateMut(rt);
  const info = st.info;
  if (rt.caller === info.owner) {
    // proposing the current owner revokes a pending proposal
    info.pendingOwnerAddress = newOwner === info.owner ? null : newOwner;
    return;
  }
  if (info.pendingOwnerAddress !== null && rt.caller === info.pendingOwnerAddress) {
    if (newOwner !== info.pendingOwnerAddress) {
      throw illegalArgument(`expected confirmation of ${info.pendingOwnerAddress}, got ${newOwner}`);
    }
    if (info.beneficiary === info.owner) info.beneficiary = newOwner;
    info.owner = newOwner;
    info.pendingOwnerAddress = null;
    return;
  }
  throw forbidden('caller is neither the owner nor the proposed owner');
}

export function changePeerId(rt: Runtime, peerId: Uint8Array): void {
  const st = minerStateMut(rt);
  checkPeerInfo(rt.policy, peerId, []);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  st.info.peerId = peerId;
}

export function changeMultiaddrs(rt: Runtime, multiaddrs: Uint8Array[]): void {
  const st = minerStateMut(rt);
  checkPeerInfo(rt.policy, new Uint8Array(0), multiaddrs);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  st.info.multiaddrs = multiaddrs;
}

// ---------------------------------------------------------------------------------------------------
// 16 WithdrawBalance, 22 RepayDebt

export function withdrawBalance(rt: Runtime, amountRequested: bigint): bigint {
  if (amountRequested < 0n) throw illegalArgument(`negative fund requested for withdrawal: ${amountRequested}`);
  const st = minerStateMut(rt);
  const info = st.info;
  validateCallerIs(rt, [info.owner, info.beneficiary]);
  const newlyVested = unlockVestedFunds(st, rt.epoch);
  const balance = rt.tree.get(rt.receiver)!.balance;
  const available = getAvailableBalance(st, balance);
  const feeToBurn = repayDebtsOrAbort(st, balance);
  let amount = available < amountRequested ? available : amountRequested;
  if (amount < 0n) throw illegalState(`negative amount to withdraw: ${amount}`);
  if (info.beneficiary !== info.owner) {
    const t = info.beneficiaryTerm;
    const remaining = t.expiration > rt.epoch && t.quota > t.usedQuota ? t.quota - t.usedQuota : 0n;
    if (remaining === 0n) {
      throw forbidden(
        `beneficiary expiration of epoch ${t.expiration} passed or quota of ${t.quota} depleted with ${t.usedQuota} used`,
      );
    }
    if (amount > remaining) amount = remaining;
    t.usedQuota += amount;
  }
  if (amount > 0n) rt.tree.transfer(rt.receiver, info.beneficiary, amount);
  burn(rt, feeToBurn);
  updatePledgeTotal(rt.tree, -newlyVested);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
  return amount;
}

export function repayDebt(rt: Runtime): void {
  const st = minerStateMut(rt);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  const balance = rt.tree.get(rt.receiver)!.balance;
  const fee = repayDebtsOrAbort(st, balance);
  burn(rt, fee);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
}

// ---------------------------------------------------------------------------------------------------
// queries used by the state API

/** Deadline and partition holding a sector (StateSectorPartition). */
export function findSector(st: MinerState, n: number): { deadline: number; partition: number } | undefined {
  for (let d = 0; d < st.deadlines.length; d++) {
    const parts = st.deadlines[d]!.partitions;
    for (let i = 0; i < parts.length; i++) if (has(parts[i]!.sectors, n)) return { deadline: d, partition: i };
  }
  return undefined;
}

/** Sectors that are live, not faulty and proven (StateMinerActiveSectors). */
export function activeSectorNumbers(st: MinerState): NumSet {
  return union(...st.deadlines.flatMap((d) => d.partitions.map(activeSectors)), []);
}

export function minerTotals(st: MinerState): {
  live: number;
  active: number;
  faulty: number;
  recovering: number;
  unproven: number;
  precommitted: number;
} {
  let live = 0;
  let active = 0;
  let faulty = 0;
  let recovering = 0;
  let unproven = 0;
  for (const d of st.deadlines) {
    for (const part of d.partitions) {
      live += liveSectors(part).length;
      active += activeSectors(part).length;
      faulty += part.faults.length;
      recovering += part.recoveries.length;
      unproven += part.unproven.length;
    }
  }
  return { live, active, faulty, recovering, unproven, precommitted: Object.keys(st.preCommittedSectors).length };
}
