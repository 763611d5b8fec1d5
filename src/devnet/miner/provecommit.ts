/** 34 ProveCommitSectors3: batched or aggregated proofs, activation. Part of the devnet miner actor (../miner.ts). */
import { type Address, bytesEqual, CID, type SectorAllocationClaims, type SectorChanges } from '../../fil/index.js';
import {
  ActorError,
  ExitCode,
  forbidden,
  illegalArgument,
  illegalState,
  insufficientFunds,
  notFound,
} from '../exitcode.js';
import { sectorContentChanged } from '../market/activate.js';
import { initialPledgeForPower, maxProveCommitDuration } from '../policy.js';
import { updatePledgeTotal } from '../power.js';
import { DST, type PieceInfo, type Runtime } from '../runtime.js';
import { MARKET_ACTOR } from '../state.js';
import { claimAllocations } from '../verifreg/actor.js';
import { assignSectorsToDeadlines } from './deadlines.js';
import {
  checkBalanceInvariants,
  controlOrWorkerOrOwner,
  getUnlockedBalance,
  minerStateMut,
  qaPowerForWeight,
  validateCallerIs,
} from './state.js';
import type {
  BatchReturn,
  MinerState,
  PieceActivationManifest,
  ProveCommitSectors3Params,
  SectorActivationManifest,
  SectorOnChainInfo,
  SectorPreCommitOnChainInfo,
} from './types.js';

// 34 ProveCommitSectors3

interface SealProofInput {
  sealProof: number;
  sectorNumber: number;
  ticket: Uint8Array;
  seed: Uint8Array;
  sealedCid: Uint8Array;
  unsealedCid: Uint8Array;
}

export class BatchGen {
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
export function stackBatches(batches: BatchReturn[], total: number): BatchReturn {
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

  const pieceActivation = activateSectorsPieces(
    rt,
    provenPairs.map(([act, pc]) => ({
      sectorNumber: pc.info.sectorNumber,
      sealProof: pc.info.sealProof,
      expiration: pc.info.expiration,
      pieces: act.pieces,
      expectedCommD: pc.info.unsealedCid ?? rt.verifier.unsealedCid(pc.info.sealProof, []),
    })),
    params.requireActivationSuccess,
  );
  const data = pieceActivation.batch;
  const activated: { pc: SectorPreCommitOnChainInfo; unverifiedSpace: bigint; verifiedSpace: bigint }[] = [];
  const activatedManifests: SectorPiecesNotification[] = [];
  for (const [i, [act, pc]] of provenPairs.entries()) {
    const a = pieceActivation.activations[i];
    if (!a) continue;
    activated.push({ pc, ...a });
    activatedManifests.push({ sectorNumber: act.sectorNumber, expiration: pc.info.expiration, pieces: act.pieces });
  }

  activateNewSectorInfos(rt, activated);
  notifyDataConsumers(rt, activatedManifests, params.requireNotificationSuccess);
  return stackBatches([validation.result(), proven.result(), data.result()], precommits.length);
}

/** One sector's pieces to activate (builtin-actors SectorPiecesActivationInput). */
export interface SectorPiecesActivationInput {
  sectorNumber: number;
  sealProof: number;
  expiration: number;
  pieces: PieceActivationManifest[];
  /** The CommD the sector was sealed with (ProveCommit); absent when the chain computed it (replica update). */
  expectedCommD?: Uint8Array;
}

/**
 * activate_sectors_pieces: the pieces must give the expected CommD (else the whole message aborts), then the
 * verified pieces' allocations are claimed per sector; a sector whose claims fail is not activated (or the message
 * aborts with requireSuccess). Returns the batch and, per input sector, its activated space or null.
 */
export function activateSectorsPieces(
  rt: Runtime,
  inputs: SectorPiecesActivationInput[],
  requireSuccess: boolean,
): { batch: BatchGen; activations: ({ unverifiedSpace: bigint; verifiedSpace: bigint } | null)[] } {
  const claimInputs: SectorAllocationClaims[] = [];
  for (const inp of inputs) {
    if (inp.expectedCommD) {
      const pieces: PieceInfo[] = inp.pieces.map((pm) => ({ cid: pm.cid, size: pm.size }));
      let computed: Uint8Array;
      try {
        computed = rt.verifier.unsealedCid(inp.sealProof, pieces);
      } catch (e) {
        throw illegalArgument(`failed to compute unsealed sector CID: ${(e as Error).message}`);
      }
      if (!bytesEqual(inp.expectedCommD, computed)) {
        throw illegalArgument(`unsealed CID does not match pieces for sector ${inp.sectorNumber}`);
      }
    }
    claimInputs.push({
      sector: inp.sectorNumber,
      expiry: inp.expiration,
      claims: inp.pieces.flatMap((pm) =>
        pm.verifiedAllocationKey
          ? [
              {
                client: pm.verifiedAllocationKey.client,
                allocationId: pm.verifiedAllocationKey.id,
                data: CID.decode(pm.cid),
                size: pm.size,
              },
            ]
          : [],
      ),
    });
  }
  const claimed = claimAllocations(rt.tree, rt.epoch, rt.receiver, claimInputs);
  const claimFailures = claimed.sectors.flatMap((c, i) =>
    c.ok ? [] : [`sector ${claimInputs[i]!.sector}: ${c.reason}`],
  );
  if (requireSuccess && claimFailures.length > 0) {
    throw illegalArgument(`claim failed with all-or-nothing: ${claimFailures.join('; ')}`);
  }
  const batch = new BatchGen();
  const activations = inputs.map((inp, i) => {
    const c = claimed.sectors[i]!;
    if (!c.ok) {
      batch.add(false, c.code);
      return null;
    }
    batch.add(true);
    const unverifiedSpace = inp.pieces
      .filter((pm) => !pm.verifiedAllocationKey)
      .reduce((s, pm) => s + BigInt(pm.size), 0n);
    return { unverifiedSpace, verifiedSpace: c.claimedSpace };
  });
  if (batch.successCount === 0) throw illegalArgument(`all data activations failed: ${claimFailures.join('; ')}`);
  return { batch, activations };
}

/** One sector's pieces to notify their data consumers of (builtin-actors ActivationNotifications). */
export interface SectorPiecesNotification {
  sectorNumber: number;
  /** The sector's expiration: the minimum commitment epoch the notifee sees. */
  expiration: number;
  pieces: PieceActivationManifest[];
}

/** miner ERR_NOTIFICATION_* exit codes. */
const ERR_NOTIFICATION_SEND_FAILED = 1001;
const ERR_NOTIFICATION_RECEIVER_ABORTED = 1002;
const ERR_NOTIFICATION_REJECTED = 1004;

/**
 * notify_data_consumers: each piece's notifications go, grouped per receiver, as SectorContentChanged (the sector's
 * expiration as the minimum commitment). The devnet's only data consumer is the market (f05). With
 * requireSuccess, a failed send or a rejected piece aborts the whole message.
 */
export function notifyDataConsumers(rt: Runtime, sectors: SectorPiecesNotification[], requireSuccess: boolean): void {
  const byNotifee = new Map<string, { address: Address; sectors: Map<number, SectorChanges> }>();
  for (const act of sectors) {
    for (const pm of act.pieces) {
      for (const n of pm.notify) {
        const address = n.address as Address;
        const group = byNotifee.get(address.key()) ?? { address, sectors: new Map() };
        byNotifee.set(address.key(), group);
        const sc = group.sectors.get(act.sectorNumber) ?? {
          sector: act.sectorNumber,
          minimumCommitmentEpoch: act.expiration,
          added: [],
        };
        group.sectors.set(act.sectorNumber, sc);
        sc.added.push({ data: CID.decode(pm.cid), size: pm.size, payload: n.payload });
      }
    }
  }
  const groups = [...byNotifee.values()].sort((a, b) => compareBytes(a.address.bytes(), b.address.bytes()));
  for (const g of groups) {
    const changes = [...g.sectors.values()];
    const to = rt.tree.resolve(g.address);
    if (to === undefined) {
      if (requireSuccess) {
        throw new ActorError(ERR_NOTIFICATION_SEND_FAILED, `send error: notifee ${g.address.toString()} not found`);
      }
      continue;
    }
    if (to !== MARKET_ACTOR) {
      if (requireSuccess) {
        throw new ActorError(
          ERR_NOTIFICATION_RECEIVER_ABORTED,
          `receiver aborted: ${g.address.toString()} does not handle SectorContentChanged (only the market does on the devnet)`,
        );
      }
      continue;
    }
    const verdicts = sectorContentChanged(rt.tree, rt.epoch, rt.receiver, changes);
    if (!requireSuccess) continue;
    for (const [i, sc] of changes.entries()) {
      for (const [j, piece] of sc.added.entries()) {
        const v = verdicts[i]![j]!;
        if (!v.accepted) {
          throw new ActorError(
            ERR_NOTIFICATION_REJECTED,
            `sector change rejected by ${g.address.toString()} for sector ${sc.sector} piece ${piece.data.toString()}: ${v.reason}`,
          );
        }
      }
    }
  }
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
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
    const verifiedDealWeight = verifiedSpace * BigInt(duration);
    // qa_power_for_weight: verified space counts 10×, the rest (deals or not) 1×
    const power = qaPowerForWeight(info.sectorSize, duration, verifiedDealWeight);
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
      verifiedDealWeight,
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
