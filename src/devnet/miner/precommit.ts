/** 28 PreCommitSectorBatch2. Part of the devnet miner actor (../miner.ts). */
import { lastEpoch, quantizeUp } from '../dline.js';
import { forbidden, illegalArgument, illegalState, insufficientFunds } from '../exitcode.js';
import {
  canPreCommitSealProof,
  maxProveCommitDuration,
  type Policy,
  preCommitDepositForSector,
  sealProofInfo,
  sectorMaximumLifetime,
} from '../policy.js';
import { enrollCronEvent } from '../power.js';
import type { Runtime } from '../runtime.js';
import { intersect, setOf, union } from '../sets.js';
import { minerDeadlineInfo } from './construct.js';
import {
  burn,
  checkBalanceInvariants,
  controlOrWorkerOrOwner,
  getAvailableBalance,
  isSealedCid,
  isUnsealedCid,
  minerStateMut,
  repayDebtsOrAbort,
  validateCallerIs,
} from './state.js';
import { MAX_SECTOR_NUMBER, type PreCommitSectorBatch2Params, type SectorPreCommitOnChainInfo } from './types.js';

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
