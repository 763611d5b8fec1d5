/** 10 DeclareFaults, 11 DeclareFaultsRecovered. Part of the devnet miner actor (../miner.ts). */
import { declarationDeadlineInfo, faultCutoffPassed, lastEpoch } from '../dline.js';
import { forbidden, illegalArgument, notFound } from '../exitcode.js';
import type { Policy } from '../policy.js';
import { addPower, updateClaimedPower, zeroPower } from '../power.js';
import type { Runtime } from '../runtime.js';
import { containsAll, intersect, type NumSet, subtract, union } from '../sets.js';
import { minerDeadlineInfo } from './construct.js';
import { addFaults, removeRecoveries } from './post.js';
import {
  burn,
  checkBalanceInvariants,
  controlOrWorkerOrOwner,
  minerStateMut,
  powerForSectors,
  repayDebtsOrAbort,
  validateCallerIs,
} from './state.js';
import type { Partition, RecoveryDeclaration } from './types.js';

// 10 DeclareFaults, 11 DeclareFaultsRecovered

export function groupDeclarations(p: Policy, decls: RecoveryDeclaration[]): Map<number, Map<number, NumSet>> {
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
      part.recoveringPower = addPower(part.recoveringPower, powerForSectors(st, recoveries));
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
      const r = addFaults(part, newFaults, st, faultExpiration);
      dl.faultyPower = addPower(dl.faultyPower, r.newFaultyPower);
      powerDelta = addPower(powerDelta, r.powerDelta);
      removeRecoveries(part, retracted, powerForSectors(st, retracted));
    }
  }
  updateClaimedPower(rt.tree, p, rt.receiver, powerDelta);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
}

export function validatePartitionContainsSectors(part: Partition, sectors: NumSet): void {
  if (!containsAll(part.sectors, sectors)) {
    throw illegalArgument('failed fault declaration: not all sectors are assigned to the partition');
  }
}
