/**
 * 35 ProveReplicaUpdates3 (SnapDeals): client data put into an active committed-capacity sector without sealing
 * again. The update proof is checked against the sector's CommR (the sector key), the new CommR and the CommD the
 * chain computes from the pieces; the pieces are activated as ProveCommitSectors3 activates them (claims, market
 * notifications); the sector's SealedCID, SectorKeyCID, deal weights, power and pledge change. docs/snap-chain.md.
 * Part of the devnet miner actor (../miner.ts).
 */
import type { ProveReplicaUpdates3Params, SectorUpdateManifest } from '../../fil/index.js';
import { deadlineIsMutable } from '../dline.js';
import { illegalArgument, illegalState, insufficientFunds, notFound } from '../exitcode.js';
import { initialPledgeForPower } from '../policy.js';
import { addPower, type PowerPair, subPower, updateClaimedPower, updatePledgeTotal, zeroPower } from '../power.js';
import type { Runtime } from '../runtime.js';
import { has } from '../sets.js';
import { minerDeadlineInfo } from './construct.js';
import { activateSectorsPieces, BatchGen, notifyDataConsumers, stackBatches } from './provecommit.js';
import {
  checkBalanceInvariants,
  controlOrWorkerOrOwner,
  getUnlockedBalance,
  isSealedCid,
  minerStateMut,
  powerForSector,
  qaPowerForWeight,
  validateCallerIs,
} from './state.js';
import type { BatchReturn, MinerState, SectorOnChainInfo } from './types.js';

/** miner policy PROVE_REPLICA_UPDATES_MAX_SIZE. */
export const PROVE_REPLICA_UPDATES_MAX_SIZE = 512;

/**
 * The registered update proof of a seal proof (builtin-actors registered_update_proof): every seal proof version
 * of a size maps to that size's StackedDrg<size>V1 (0 = 2KiB … 4 = 64GiB).
 */
export function updateProofForSeal(sealProof: number): number | undefined {
  return Number.isInteger(sealProof) && sealProof >= 0 && sealProof <= 19 ? sealProof % 5 : undefined;
}

export async function proveReplicaUpdates3(rt: Runtime, params: ProveReplicaUpdates3Params): Promise<BatchReturn> {
  const p = rt.policy;
  const view = rt.tree.stateOf<MinerState>(rt.receiver);
  validateCallerIs(rt, controlOrWorkerOrOwner(view.info));
  if (params.sectorProofs.length > 0) {
    if (params.aggregateProof.length > 0) {
      throw illegalArgument('exactly one of sector proofs or aggregate proof must be non-empty');
    }
    if (params.aggregateProofType !== null) {
      throw illegalArgument('aggregate proof type must be empty when sector proofs are specified');
    }
  } else {
    if (params.aggregateProof.length === 0) {
      throw illegalArgument('exactly one of sector proofs or aggregate proof must be non-empty');
    }
    // the actors refuse aggregates too (after validation); refusing early changes nothing
    throw illegalArgument('aggregate update proofs not yet supported');
  }
  if (params.sectorUpdates.length !== params.sectorProofs.length) {
    throw illegalArgument(
      `mismatched lengths: ${params.sectorUpdates.length} sector updates, ${params.sectorProofs.length} proofs`,
    );
  }

  // load the sectors (a missing one aborts) and compute each update's CommD from its pieces
  const sectors = params.sectorUpdates.map((u) => {
    const s = view.sectors[u.sector];
    if (!s) throw notFound(`sector ${u.sector} not found`);
    return s;
  });
  const commDs = params.sectorUpdates.map((u, i) => {
    const sealProof = sectors[i]!.sealProof;
    try {
      return rt.verifier.unsealedCid(
        sealProof,
        u.pieces.map((pm) => ({ cid: pm.cid, size: pm.size })),
      );
    } catch (e) {
      throw illegalArgument(`failed to compute unsealed sector CID for sector ${u.sector}: ${(e as Error).message}`);
    }
  });

  // validate_replica_updates
  if (params.sectorUpdates.length > PROVE_REPLICA_UPDATES_MAX_SIZE) {
    throw illegalArgument(`too many updates (${params.sectorUpdates.length} > ${PROVE_REPLICA_UPDATES_MAX_SIZE})`);
  }
  const periodStart = minerDeadlineInfo(p, view, rt.epoch).periodStart;
  const seen = new Set<number>();
  const whyInvalid = (u: SectorUpdateManifest, s: SectorOnChainInfo): string | undefined => {
    if (seen.has(u.sector)) return `skipping duplicate sector ${u.sector}`;
    seen.add(u.sector);
    if (u.deadline >= p.wpostPeriodDeadlines) {
      return `deadline ${u.deadline} not in range 0..${p.wpostPeriodDeadlines}, skipping sector ${u.sector}`;
    }
    if (!isSealedCid(u.newSealedCid)) return `new sealed CID had wrong prefix, skipping sector ${u.sector}`;
    if (!deadlineIsMutable(p, periodStart, u.deadline, rt.epoch)) {
      return `cannot upgrade sectors in immutable deadline ${u.deadline}, skipping sector ${u.sector}`;
    }
    const part = view.deadlines[u.deadline]?.partitions[u.partition];
    if (!part || !has(part.sectors, u.sector)) {
      return `sector ${u.sector} not in deadline ${u.deadline} partition ${u.partition}`;
    }
    // check_sector_active with proven required
    if (has(part.terminated, u.sector) || has(part.faults, u.sector) || has(part.unproven, u.sector)) {
      return `sector isn't active, skipping sector ${u.sector}`;
    }
    // a sector holding data (deal weight or verified weight) cannot be updated: CC sectors only, once
    if (s.dealWeight + s.verifiedDealWeight !== 0n) {
      return `cannot update sector with non-zero data, skipping sector ${u.sector}`;
    }
    const want = updateProofForSeal(s.sealProof);
    if (want === undefined) throw illegalState(`couldn't load update proof type for seal proof ${s.sealProof}`);
    if (params.updateProofsType !== want) {
      return `expected proof type ${want}, was ${params.updateProofsType}`;
    }
    return undefined;
  };
  const validation = new BatchGen();
  for (const [i, u] of params.sectorUpdates.entries()) {
    const why = whyInvalid(u, sectors[i]!);
    if (why && params.requireActivationSuccess) {
      throw illegalArgument(`invalid update ${i} while requiring activation success: ${why}`);
    }
    validation.add(why === undefined);
  }
  const valid = params.sectorUpdates.flatMap((u, i) =>
    validation.ok(i) ? [{ u, s: sectors[i]!, commD: commDs[i]!, proof: params.sectorProofs[i]! }] : [],
  );

  // verify the proofs before activating anything
  const proven = new BatchGen();
  const provenUpdates: typeof valid = [];
  for (const v of valid) {
    rt.chargeGas(50_000_000, 'replica update proof verification');
    const ok = await rt.verifier.verifyReplicaUpdate({
      updateProofType: params.updateProofsType,
      sectorKeyCid: v.s.sealedCid,
      newSealedCid: v.u.newSealedCid,
      newUnsealedCid: v.commD,
      proof: v.proof,
    });
    proven.add(ok);
    if (ok) provenUpdates.push(v);
    else if (params.requireActivationSuccess) {
      throw illegalArgument(`invalid proof for sector ${v.u.sector} while requiring activation success`);
    }
  }
  if (provenUpdates.length === 0) throw illegalArgument('no valid updates');

  // activate the pieces (CommD was computed here, so nothing to compare it with)
  const pieceActivation = activateSectorsPieces(
    rt,
    provenUpdates.map((v) => ({
      sectorNumber: v.u.sector,
      sealProof: v.s.sealProof,
      expiration: v.s.expiration,
      pieces: v.u.pieces,
    })),
    params.requireActivationSuccess,
  );
  const activated = provenUpdates.flatMap((v, i) => {
    const a = pieceActivation.activations[i];
    return a ? [{ ...v, ...a }] : [];
  });

  updateReplicaStates(rt, activated);
  notifyDataConsumers(
    rt,
    activated.map((a) => ({ sectorNumber: a.u.sector, expiration: a.s.expiration, pieces: a.u.pieces })),
    params.requireNotificationSuccess,
  );
  return stackBatches(
    [validation.result(), proven.result(), pieceActivation.batch.result()],
    params.sectorUpdates.length,
  );
}

/**
 * update_replica_states: each sector's new info replaces the old one in its partition; the partition's power
 * changes by the difference (the sector is active, so all of it is live power the claim counts), and the pledge
 * rises to what the new power needs (never falls).
 */
function updateReplicaStates(
  rt: Runtime,
  updates: { u: SectorUpdateManifest; s: SectorOnChainInfo; unverifiedSpace: bigint; verifiedSpace: bigint }[],
): void {
  const p = rt.policy;
  const st = minerStateMut(rt);
  const size = st.info.sectorSize;
  let powerDelta: PowerPair = zeroPower();
  let pledgeDelta = 0n;
  for (const { u, s, unverifiedSpace, verifiedSpace } of updates) {
    const old = st.sectors[s.sectorNumber];
    if (!old) throw illegalState(`sector ${s.sectorNumber} vanished during its update`);
    const duration = old.expiration - rt.epoch;
    const dealWeight = unverifiedSpace * BigInt(duration);
    const verifiedDealWeight = verifiedSpace * BigInt(duration);
    const qa = qaPowerForWeight(size, duration, verifiedDealWeight);
    const pledge = initialPledgeForPower(p, qa);
    const updated: SectorOnChainInfo = {
      ...old,
      flags: old.flags | 1,
      sealedCid: u.newSealedCid,
      sectorKeyCid: old.sectorKeyCid ?? old.sealedCid,
      powerBaseEpoch: rt.epoch,
      dealWeight,
      verifiedDealWeight,
      replacedDayReward: maxBig(old.expectedDayReward, old.replacedDayReward),
      initialPledge: maxBig(pledge, old.initialPledge),
    };
    const part = st.deadlines[u.deadline]?.partitions[u.partition];
    if (!part) throw notFound(`no such deadline ${u.deadline} partition ${u.partition}`);
    // partition.replace_sectors for an active sector: the live power changes by new − old
    const delta = subPower(powerForSector(size, updated), powerForSector(size, old));
    part.livePower = addPower(part.livePower, delta);
    powerDelta = addPower(powerDelta, delta);
    pledgeDelta += updated.initialPledge - old.initialPledge;
    st.sectors[s.sectorNumber] = updated;
  }
  const balance = rt.tree.get(rt.receiver)!.balance;
  if (pledgeDelta > 0n) {
    const unlocked = getUnlockedBalance(st, balance);
    if (unlocked < pledgeDelta) {
      throw insufficientFunds(
        `insufficient funds for aggregate initial pledge requirement ${pledgeDelta}, available: ${unlocked}`,
      );
    }
  }
  st.initialPledge += pledgeDelta;
  checkBalanceInvariants(st, balance);
  updatePledgeTotal(rt.tree, pledgeDelta);
  updateClaimedPower(rt.tree, p, rt.receiver, powerDelta);
}

/** The larger of two token amounts (Math.max does not take bigints). */
function maxBig(a: bigint, b: bigint): bigint {
  return a >= b ? a : b;
}
