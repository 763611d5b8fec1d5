/**
 * The messages of a commitment batch: PreCommitSectorBatch2 (deposits) and ProveCommitSectors3 (activation
 * manifests, an aggregate proof when the policy allows, collateral) from the sectors the batcher hands over
 * (index.ts). A sector that cannot be sent is dropped with the reason; one already on chain is marked sent.
 */
import type { SectorPreCommitInfo } from '../../api/full.js';
import type { SectorState } from '../../api/sealer.js';
import { cidToCommD, cidToCommR, formatFIL, fromBase64 } from '../../fil/index.js';
import { sealProof } from '../../proofs/index.js';
import { head, minerAddr, preCommitInfo } from '../chain.js';
import { commitmentControls, commitmentPolicy, feeCapAtto } from '../config.js';
import { isMarketUnreachable } from '../market/client.js';
import { dealPieces, sectorExpiration } from '../market/lifetime.js';
import { activationPieces } from '../market/manifest.js';
import { dealMetrics } from '../market/metrics.js';
import {
  encodePreCommitSectorBatch2,
  encodeProveCommitSectors3,
  MinerMethod,
  type PreCommitEntry,
  type SectorActivation,
} from '../params.js';
import type { CommitKind, CommitmentOptions } from './index.js';
import { buildMessage, sendSpec } from './msg.js';

export type BuildOptions = Pick<
  CommitmentOptions,
  'store' | 'chain' | 'policy' | 'config' | 'miners' | 'aggregator' | 'dealChain' | 'lifetimeDays'
>;

/** Marks a sector as not sendable, with why (the manager records it for the worker's poll). */
export type DropSector = (s: SectorState, why: string) => void;

/** A message ready to record and push, the sectors it carries and what its log line adds. */
export interface BuiltMessage {
  included: SectorState[];
  msg: ReturnType<typeof buildMessage>;
  spec: ReturnType<typeof sendSpec>;
  extra: Record<string, unknown>;
}

/** The configured sender of `kind`, else the miner's worker address. */
async function sender(o: BuildOptions, kind: CommitKind, miner: number): Promise<string> {
  const c = commitmentControls(o.config(), miner);
  const configured = kind === 'pre' ? c.PreCommit : c.ProveCommit;
  if (configured) return configured;
  return (await o.miners.get(miner)).worker;
}

/** PreCommitSectorBatch2 for `sectors` (those still to send), with their deposit. */
export async function buildPreCommit(
  o: BuildOptions,
  miner: number,
  sectors: SectorState[],
  drop: DropSector,
): Promise<BuiltMessage | undefined> {
  const { tsk, height } = await head(o.chain);
  const maddr = minerAddr(miner);
  const pol = o.policy;
  const entries: PreCommitEntry[] = [];
  const included: SectorState[] = [];
  let deposit = 0n;
  for (const s of sectors) {
    const pre = s.Pre;
    if (!pre) {
      drop(s, 'no PreCommit info');
      continue;
    }
    if (pre.Ticket.Epoch < height - pol.maxPreCommitRandomnessLookback) {
      drop(s, `ticket at ${pre.Ticket.Epoch} expired (head ${height})`);
      continue;
    }
    if (await preCommitInfo(o.chain, miner, s.ID.Number, tsk)) {
      // already on chain (a message sent before a crash, or by hand): nothing to send for it
      s.MessageInfo.NeedSend = false;
      o.store.putSector(s, true);
      continue;
    }
    // a deal sector lives until its last deal ends; deals it cannot cover give the sector up
    const exp = sectorExpiration(height, pol, s.Pieces, o.lifetimeDays);
    if ('error' in exp) {
      dealMetrics().failed('seal', exp.reason);
      drop(s, `cannot PreCommit: ${exp.error}`);
      continue;
    }
    const expiration = exp.expiration;
    const hasPieces = dealPieces(s.Pieces).length > 0;
    const entry: PreCommitEntry = {
      sealProof: s.SectorType,
      sectorNumber: s.ID.Number,
      commR: cidToCommR(pre.CommR),
      sealRandEpoch: pre.Ticket.Epoch,
      dealIds: [],
      expiration,
      commD: hasPieces ? cidToCommD(pre.CommD) : null,
    };
    const pci: SectorPreCommitInfo = {
      SealProof: entry.sealProof,
      SectorNumber: entry.sectorNumber,
      SealedCID: pre.CommR,
      SealRandEpoch: entry.sealRandEpoch,
      DealIDs: null,
      Expiration: expiration,
      UnsealedCid: hasPieces ? pre.CommD : null,
    };
    deposit += BigInt(await o.chain.StateMinerPreCommitDepositForPower(maddr, pci, tsk));
    entries.push(entry);
    included.push(s);
  }
  if (entries.length === 0) return undefined;
  const params = encodePreCommitSectorBatch2(entries);
  const { msg, spec } = await message(o, 'pre', miner, included.length, params, deposit);
  return { included, msg, spec, extra: { deposit: formatFIL(deposit) } };
}

/** ProveCommitSectors3 for `sectors` (those still to send), aggregated when the policy allows, with collateral. */
export async function buildProveCommit(
  o: BuildOptions,
  miner: number,
  sectors: SectorState[],
  drop: DropSector,
): Promise<BuiltMessage | undefined> {
  const { tsk, height } = await head(o.chain);
  const maddr = minerAddr(miner);
  const included: SectorState[] = [];
  const activations: SectorActivation[] = [];
  const clients = new Map<string, number>();
  const proofs: Uint8Array[] = [];
  let collateral = 0n;
  for (const s of sectors) {
    if (!s.Proof) {
      drop(s, 'no proof');
      continue;
    }
    if (await o.chain.StateSectorGetInfo(maddr, s.ID.Number, tsk)) {
      s.MessageInfo.NeedSend = false;
      o.store.putSector(s, true);
      continue;
    }
    const pci = await preCommitInfo(o.chain, miner, s.ID.Number, tsk);
    if (!pci) {
      drop(s, 'PreCommit not found on chain (expired?)');
      continue;
    }
    // one manifest per deal piece: a chain node that cannot be reached fails the batch (retried); a sector whose
    // manifest cannot be built (a client unknown to the chain…) is dropped with the reason, not the batch
    let pieces: SectorActivation['pieces'];
    try {
      pieces = await activationPieces(s, o.chain, o.dealChain, tsk, clients);
    } catch (err) {
      if (isMarketUnreachable(err)) throw err;
      drop(s, `cannot build its piece activation manifests: ${(err as Error).message}`);
      continue;
    }
    // verified pieces (DDO allocations, builtin deals with one) weigh 10× in QA power and so in pledge; the
    // PreCommit carries no deal IDs, so the chain's per-PreCommit estimate cannot know them (Lotus added
    // StateMinerInitialPledgeForSector for exactly this)
    const verified = pieces.filter((p) => p.verifiedAllocationKey).reduce((n, p) => n + p.size, 0);
    const pledge = BigInt(
      verified > 0
        ? await o.chain.StateMinerInitialPledgeForSector(
            pci.Info.Expiration - height,
            sealProof(s.SectorType).sectorSize,
            verified,
            tsk,
          )
        : await o.chain.StateMinerInitialPledgeCollateral(maddr, pci.Info, tsk),
    );
    const need = pledge - BigInt(pci.PreCommitDeposit);
    if (need > 0n) collateral += need;
    included.push(s);
    activations.push({ sectorNumber: s.ID.Number, pieces });
    proofs.push(fromBase64(s.Proof.Proof, 'proof'));
  }
  if (included.length === 0) return undefined;
  const pol = o.policy;
  let aggregate: Uint8Array | null = null;
  if (o.aggregator && included.length >= pol.minAggregatedSectors && included.length <= pol.maxAggregatedSectors) {
    aggregate = await o.aggregator.aggregate(
      included[0]!.SectorType,
      included.map((s, i) => ({ sectorNumber: s.ID.Number, proof: proofs[i]! })),
    );
  }
  const params = encodeProveCommitSectors3({
    activations,
    proofs,
    aggregate,
    requireActivationSuccess: false,
  });
  const { msg, spec } = await message(o, 'prove', miner, included.length, params, collateral);
  return { included, msg, spec, extra: { collateral: formatFIL(collateral), aggregated: aggregate !== null } };
}

/** Each kind's method and its policy keys, [single sector, batch]. */
const POLICY_KEYS = {
  pre: {
    method: MinerMethod.PreCommitSectorBatch2,
    over: ['PreCommitGasOverEstimation', 'BatchPreCommitGasOverEstimation'],
    cap: ['MaxPreCommitFeeCap', 'MaxBatchPreCommitFeeCap'],
  },
  prove: {
    method: MinerMethod.ProveCommitSectors3,
    over: ['ProCommitGasOverEstimation', 'BatchProCommitGasOverEstimation'],
    cap: ['MaxProCommitFeeCap', 'MaxBatchProCommitFeeCap'],
  },
} as const;

/** The miner's message for `count` sectors: gas over-estimation and fee cap by the policy (batch or single). */
async function message(
  o: BuildOptions,
  kind: CommitKind,
  miner: number,
  count: number,
  params: Uint8Array,
  value: bigint,
): Promise<Pick<BuiltMessage, 'msg' | 'spec'>> {
  const p = commitmentPolicy(o.config(), miner);
  const k = POLICY_KEYS[kind];
  const i = count > 1 ? 1 : 0;
  const over = p[k.over[i]];
  const cap = feeCapAtto(p[k.cap[i]]);
  const msg = buildMessage({
    from: await sender(o, kind, miner),
    to: minerAddr(miner),
    method: k.method,
    params,
    value,
    ...(cap !== undefined ? { gasFeeCap: cap } : {}),
  });
  return { msg, spec: sendSpec(over, cap) };
}
