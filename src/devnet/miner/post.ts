/** 5 SubmitWindowedPoSt. Part of the devnet miner actor (../miner.ts). */
import { bytesEqual } from '../../fil/index.js';
import { isOpen, lastEpoch } from '../dline.js';
import { illegalArgument, illegalState, notFound } from '../exitcode.js';
import { isValidPoStProofType } from '../policy.js';
import { addPower, negPower, type PowerPair, subPower, updateClaimedPower, zeroPower } from '../power.js';
import { type ChallengedSector, DST, type Runtime } from '../runtime.js';
import { containsAll, has, intersect, type NumSet, setOf, subtract, union } from '../sets.js';
import { minerDeadlineInfo } from './construct.js';
import {
  checkBalanceInvariants,
  controlOrWorkerOrOwner,
  minerStateMut,
  mustGetSector,
  powerForSectors,
  validateCallerIs,
} from './state.js';
import type { Deadline, MinerState, Partition, PoStPartition, SubmitWindowedPoStParams } from './types.js';

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
  if (!bytesEqual(commRand, params.chainCommitRand)) throw illegalArgument('post commit randomness mismatched');

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
      const r = addFaults(part, newFaults, st, faultExpiration);
      powerDelta = addPower(powerDelta, r.powerDelta);
      newFaulty = addPower(newFaulty, r.newFaultyPower);
      removeRecoveries(part, retracted, powerForSectors(st, retracted));
    }
    // recover_faults: declared recoveries are taken as proven by this PoSt
    const rec = part.recoveries;
    const recPower = powerForSectors(st, rec);
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
export function addFaults(
  part: Partition,
  sectorNumbers: NumSet,
  st: Pick<MinerState, 'info' | 'sectors'>,
  faultExpiration: number,
): { powerDelta: PowerPair; newFaultyPower: PowerPair } {
  if (sectorNumbers.length === 0) return { powerDelta: zeroPower(), newFaultyPower: zeroPower() };
  const newFaultyPower = powerForSectors(st, sectorNumbers);
  part.faults = union(part.faults, sectorNumbers);
  for (const n of sectorNumbers) part.faultExpirations[n] = faultExpiration;
  part.faultyPower = addPower(part.faultyPower, newFaultyPower);
  const unproven = intersect(sectorNumbers, part.unproven);
  part.unproven = subtract(part.unproven, unproven);
  let powerDelta = negPower(newFaultyPower);
  if (unproven.length) {
    const lost = powerForSectors(st, unproven);
    part.unprovenPower = subPower(part.unprovenPower, lost);
    // unproven power was never active, so it is not lost again
    powerDelta = addPower(powerDelta, lost);
  }
  return { powerDelta, newFaultyPower };
}

export function removeRecoveries(part: Partition, sectors: NumSet, power: PowerPair): void {
  if (!sectors.length) return;
  part.recoveries = subtract(part.recoveries, sectors);
  part.recoveringPower = subPower(part.recoveringPower, power);
}
