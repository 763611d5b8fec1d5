/** 9 TerminateSectors (simplified: pledge is released, no termination fee). Part of the devnet miner actor (../miner.ts). */
import { illegalArgument, notFound } from '../exitcode.js';
import {
  addPower,
  negPower,
  type PowerPair,
  subPower,
  updateClaimedPower,
  updatePledgeTotal,
  zeroPower,
} from '../power.js';
import type { Runtime } from '../runtime.js';
import { intersect, type NumSet, subtract, union } from '../sets.js';
import { minerDeadlineInfo } from './construct.js';
import { groupDeclarations, validatePartitionContainsSectors } from './faults.js';
import {
  checkBalanceInvariants,
  controlOrWorkerOrOwner,
  minerStateMut,
  mustGetSector,
  powerForSectors,
  validateCallerIs,
} from './state.js';
import type { Deadline, MinerState, Partition, RecoveryDeclaration } from './types.js';

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
export function terminatePartitionSectors(
  st: MinerState,
  dl: Deadline,
  part: Partition,
  sectors: NumSet,
): { powerDelta: PowerPair; pledge: bigint } {
  if (!sectors.length) return { powerDelta: zeroPower(), pledge: 0n };
  const faulty = intersect(sectors, part.faults);
  const unproven = intersect(sectors, part.unproven);
  const recovering = intersect(sectors, part.recoveries);
  const active = subtract(subtract(sectors, faulty), unproven);
  const all = powerForSectors(st, sectors);
  part.terminated = union(part.terminated, sectors);
  part.faults = subtract(part.faults, sectors);
  part.unproven = subtract(part.unproven, sectors);
  part.recoveries = subtract(part.recoveries, sectors);
  for (const n of sectors) delete part.faultExpirations[n];
  part.livePower = subPower(part.livePower, all);
  part.faultyPower = subPower(part.faultyPower, powerForSectors(st, faulty));
  part.unprovenPower = subPower(part.unprovenPower, powerForSectors(st, unproven));
  part.recoveringPower = subPower(part.recoveringPower, powerForSectors(st, recovering));
  dl.liveSectors -= sectors.length;
  dl.faultyPower = subPower(dl.faultyPower, powerForSectors(st, faulty));
  let pledge = 0n;
  for (const n of sectors) pledge += mustGetSector(st, n).initialPledge;
  return { powerDelta: negPower(powerForSectors(st, active)), pledge };
}
