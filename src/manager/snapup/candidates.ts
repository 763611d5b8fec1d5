/**
 * SnapUp candidates (`util sealer snap fetch MINER`, damocles' SnapUpPreFetch): the miner's active committed-capacity
 * sectors that can still take deals — no deal weight, never updated (no SectorKeyCID), not faulty (the chain's
 * active set), and with at least the minimum deal duration left before they expire (docs/snapup-manager.md).
 */
import type { FullNodeAPI, SectorOnChainInfo } from '../../api/full.js';
import { type SnapUpFetchResult, sectorName } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import type { ApiClient } from '../../rpc/index.js';
import { RpcError } from '../../rpc/index.js';
import { type ChainAPI, head, minerAddr, type NetworkPolicy } from '../chain.js';
import type { ManagerConfig } from '../config.js';
import type { SnapCandidate, SnapStore } from './store.js';

const log = logger('snapup');

/** The chain calls snapup needs beyond the manager's ChainAPI. */
export type SnapChainAPI = ChainAPI &
  Pick<ApiClient<typeof FullNodeAPI>, 'StateMinerActiveSectors' | 'StateSectorPartition'>;

/** Most active sectors one fetch looks at (a bound on the chain's answer). */
export const MAX_FETCH_SECTORS = 100_000;

/** A BigInt string that is zero (the chain's deal weights; anything unreadable is not). */
export function isZero(v: unknown): boolean {
  try {
    return BigInt(v as string) === 0n;
  } catch {
    return false;
  }
}

/** Why an active sector cannot take deals, or undefined. */
export function notCandidate(s: SectorOnChainInfo, height: number, policy: NetworkPolicy): string | undefined {
  if (s.SectorKeyCID) return 'already updated';
  if (!isZero(s.DealWeight) || !isZero(s.VerifiedDealWeight)) return 'holds deals';
  if (s.Expiration - height < policy.minSectorExpiration)
    return `expires at ${s.Expiration}, sooner than a deal's minimum duration (${policy.minSectorExpiration} epochs) from now`;
  return undefined;
}

export async function fetchCandidates(
  o: { chain: SnapChainAPI; policy: NetworkPolicy; config: () => ManagerConfig; snap: SnapStore },
  miner: number,
  deadline: number | null,
): Promise<SnapUpFetchResult> {
  if (!Number.isSafeInteger(miner) || miner <= 0) throw new RpcError(1, `invalid miner ${miner}`);
  if (deadline !== null && (!Number.isSafeInteger(deadline) || deadline < 0))
    throw new RpcError(1, `invalid deadline ${deadline}`);
  const m = o.config().SectorManager.Miners.find((x) => x.ID === miner);
  if (!m) throw new RpcError(1, `miner ${miner} is not in [[SectorManager.Miners]] of sector-manager.cfg`);
  if (!m.EnableSnapUp)
    throw new RpcError(
      1,
      `miner ${miner}: snapup is off (set EnableSnapUp = true in its [[SectorManager.Miners]] entry)`,
    );
  const { tsk, height } = await head(o.chain);
  const maddr = minerAddr(miner);
  const active = (await o.chain.StateMinerActiveSectors(maddr, tsk)) ?? [];
  if (active.length > MAX_FETCH_SECTORS)
    throw new RpcError(
      1,
      `miner ${miner} has ${active.length} active sectors; at most ${MAX_FETCH_SECTORS} are fetched`,
    );
  const fits = new Set<number>();
  let added = 0;
  for (const s of active) {
    const sid = { Miner: miner, Number: s.SectorNumber };
    const why = notCandidate(s, height, o.policy);
    if (why) {
      log.debug({ sector: sectorName(sid), why }, 'not a snapup candidate');
      continue;
    }
    const loc = await o.chain.StateSectorPartition(maddr, s.SectorNumber, tsk);
    if (!loc) continue;
    if (deadline !== null && loc.Deadline !== deadline) continue;
    fits.add(s.SectorNumber);
    const c: SnapCandidate = {
      sid,
      proofType: s.SealProof,
      sealedCid: s.SealedCID['/'],
      activation: s.Activation,
      expiration: s.Expiration,
      deadline: loc.Deadline,
    };
    if (o.snap.putCandidate(c)) added++;
  }
  // candidates that no longer fit (faulty, expired, updated elsewhere) go, unless an upgrade of them is under way
  for (const c of o.snap.candidates(miner)) {
    if (fits.has(c.sid.Number) || o.snap.get(c.sid)) continue;
    if (deadline !== null && c.deadline !== deadline) continue;
    o.snap.removeCandidate(c.sid);
  }
  const total = o.snap.candidates(miner).length;
  log.info({ miner: String(miner), deadline, total, added }, 'snapup candidates fetched');
  return { Total: total, Diff: added };
}
