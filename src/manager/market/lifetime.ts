/**
 * The epochs a deal sector lives by (docs/deals-manager.md §Epochs):
 *
 * - a deal can be sealed only if it starts after the sector can be proven: the earliest ProveCommit lands
 *   PreCommitChallengeDelay after the PreCommit, so a deal must start after `head + PreCommitChallengeDelay`
 *   (the market's `GetDealSpec.StartEpoch`: droplet picks deals with StartEpoch > it);
 * - the sector must not expire before any of its deals ends, and cannot expire later than
 *   `activation + MaxSectorExpirationExtension` (the market's `GetDealSpec.EndEpoch`: deals end before it);
 * - a deal sector expires when its last deal ends (as Lotus' BasicPreCommitPolicy), never below the chain's
 *   minimum lifetime: a verified piece's claim needs the sector's lifetime within the allocation's TermMin..TermMax,
 *   which a deal-length sector meets and a fixed 540-day one may not. A sector without deals lives LifetimeDays.
 */
import type { SectorPieces, SectorPieceV2 } from '../../api/sealer.js';
import type { NetworkPolicy } from '../chain.js';

/** Days a committed-capacity sector lives (damocles' [Miners.Sector] LifetimeDays default). */
export const DEFAULT_LIFETIME_DAYS = 540;

type Policy = Pick<
  NetworkPolicy,
  'preCommitChallengeDelay' | 'minSectorExpiration' | 'maxSectorExpirationExtension' | 'epochsInDay'
>;

/**
 * Whether a piece is a deal: a builtin-market deal (IsBuiltinMarket: the market gave a PublishCid — its DealID may
 * be 0, the first deal of a chain), or one with a deal or allocation id. Pledge fillers are neither.
 */
export function isDealPiece(p: SectorPieceV2): boolean {
  const d = p.DealInfo;
  return !!d && (d.IsBuiltinMarket || d.DealID > 0 || d.AllocationID > 0);
}

/** The deal pieces of a sector. */
export function dealPieces(pieces: SectorPieces | undefined): SectorPieceV2[] {
  return (pieces ?? []).filter(isDealPiece);
}

/** A deal as messages and logs name it: "deal 12" (builtin market) or "allocation 7" (DDO). */
export function dealName(p: SectorPieceV2): string {
  const d = p.DealInfo;
  if (!d) return 'pledge piece';
  return d.IsBuiltinMarket ? `deal ${d.DealID}` : `allocation ${d.AllocationID}`;
}

/** What AcquireDeals asks the market for at `height`: deals starting after `start` and ending before `end`. */
export function dealWindow(height: number, policy: Policy): { start: number; end: number } {
  const activation = height + policy.preCommitChallengeDelay;
  return { start: activation, end: activation + policy.maxSectorExpirationExtension };
}

/**
 * Why a sector's deals cannot be sealed any more at `height` (a deal starts before the sector could be proven, or
 * ends after the longest lifetime it could have), or undefined.
 */
export function unsealableDeals(
  pieces: SectorPieces | undefined,
  height: number,
  policy: Policy,
): { why: string; reason: 'start_passed' | 'end_too_far' } | undefined {
  const w = dealWindow(height, policy);
  for (const p of dealPieces(pieces)) {
    const d = p.DealInfo!;
    const start = d.StartEpoch ?? 0;
    const end = d.EndEpoch ?? 0;
    if (start > 0 && start <= w.start)
      return {
        why:
          `${dealName(p)} starts at epoch ${start}, before this sector could be proven ` +
          `(head ${height} + PreCommitChallengeDelay ${policy.preCommitChallengeDelay} = ${w.start})`,
        reason: 'start_passed',
      };
    if (end > w.end)
      return {
        why:
          `${dealName(p)} ends at epoch ${end}, after the latest expiration this sector can have ` +
          `(${w.end} = head ${height} + PreCommitChallengeDelay + MaxSectorExpirationExtension)`,
        reason: 'end_too_far',
      };
  }
  return undefined;
}

/**
 * The PreCommit expiration at `height`: the last deal's end (at least the chain's minimum, with a month for a late
 * ProveCommit and a day for the PreCommit to land), or `lifetimeDays` for a sector without deals; within the chain's bounds. `error` when the deals
 * cannot be covered.
 */
export function sectorExpiration(
  height: number,
  policy: Policy,
  pieces: SectorPieces | undefined,
  lifetimeDays = DEFAULT_LIFETIME_DAYS,
): { expiration: number } | { error: string; reason: 'start_passed' | 'end_too_far' } {
  const activation = height + policy.preCommitChallengeDelay;
  // The chain counts the lifetime from the latest ProveCommit (PreCommit epoch + 30 days + PreCommitChallengeDelay)
  // and the PreCommit lands a few epochs after `height`: one more day keeps it above the minimum (as Lotus does).
  const min = activation + policy.minSectorExpiration + 31 * policy.epochsInDay;
  const max = activation + policy.maxSectorExpirationExtension;
  const deals = dealPieces(pieces);
  if (deals.length === 0)
    return { expiration: Math.min(max, Math.max(min, activation + lifetimeDays * policy.epochsInDay)) };
  const bad = unsealableDeals(pieces, height, policy);
  if (bad) return { error: bad.why, reason: bad.reason };
  const lastEnd = Math.max(...deals.map((p) => p.DealInfo!.EndEpoch ?? 0));
  return { expiration: Math.min(max, Math.max(min, lastEnd)) };
}
