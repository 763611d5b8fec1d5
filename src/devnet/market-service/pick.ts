/**
 * Which deals go into one sector, and where: droplet's pickAndAlign (storageprovider/deal_assign_util.go), in our
 * words in docs/deals-market.md. Candidates arrive sorted by padded size, then start epoch; the picker walks them
 * smallest first, puts each at the next offset aligned to its size (a zero piece fills the space before it when
 * the next aligned slot is smaller than the deal), stops at MaxPiece or when a deal no longer fits, and fills the
 * rest of the sector with zero pieces. Pure: the assigner stores the result.
 */
import type { GetDealSpec } from '../../api/market.js';
import { isValidPaddedPieceSize } from '../../proofs/index.js';

/** One candidate deal, as the picker sees it. */
export interface Candidate {
  /** the market's row id */
  key: number;
  pieceSize: number;
  startEpoch: number;
  endEpoch: number;
  verified: boolean;
  /** verified: the claim term bounds (allocation TermMin/TermMax) and the epoch by which it must be claimed */
  termMin?: number;
  termMax?: number;
  allocationExpiration?: number;
}

/** A placed piece: a deal (key set) or a zero filler (key null). Offsets are padded. */
export interface Placed {
  key: number | null;
  pieceSize: number;
  offset: number;
}

/** builtin-actors market: DEFAULT_ALLOCATION_TERM_BUFFER (90 days of 30-s epochs). */
export const MARKET_DEFAULT_ALLOCATION_TERM_BUFFER = 90 * 2880;
/** builtin-actors verifreg: MAXIMUM_VERIFIED_ALLOCATION_TERM (5 years). */
export const MAXIMUM_VERIFIED_ALLOCATION_TERM = 5 * 365 * 2880;

/** The claim term bounds of a builtin verified deal (builtin-actors market: term = end − start, + the buffer). */
export function builtinTermBounds(startEpoch: number, endEpoch: number): { termMin: number; termMax: number } {
  const termMin = endEpoch - startEpoch;
  return {
    termMin,
    termMax: Math.min(termMin + MARKET_DEFAULT_ALLOCATION_TERM_BUFFER, MAXIMUM_VERIFIED_ALLOCATION_TERM),
  };
}

/** Deals sorted as droplet sorts them: padded size, then start epoch, then row id (stable across calls). */
export function sortCandidates<T extends Candidate>(deals: T[]): T[] {
  return [...deals].sort((a, b) => a.pieceSize - b.pieceSize || a.startEpoch - b.startEpoch || a.key - b.key);
}

/**
 * Why a candidate cannot go into a sector with this spec at `height` (undefined: it can). The epoch window is
 * droplet's: start strictly after spec.StartEpoch and end strictly before spec.EndEpoch when they are set. A
 * sector expiration must cover the deal's end, and for a verified deal the sector's lifetime from now must lie in
 * the claim's term bounds and the allocation must still be claimable (builtin-actors verifreg claim_allocations).
 */
export function unfitReason(d: Candidate, spec: GetDealSpec | null, height: number): string | undefined {
  if (!spec) return undefined;
  if (spec.StartEpoch > 0 && d.startEpoch <= spec.StartEpoch)
    return `starts at ${d.startEpoch}, not after the sector's earliest start ${spec.StartEpoch}`;
  if (spec.EndEpoch > 0 && d.endEpoch >= spec.EndEpoch)
    return `ends at ${d.endEpoch}, not before the sector's end ${spec.EndEpoch}`;
  const exp = spec.SectorExpiration;
  if (exp !== null && exp !== undefined && exp > 0) {
    if (exp < d.endEpoch) return `ends at ${d.endEpoch}, after the sector expiration ${exp}`;
    if (d.verified) {
      const { termMin, termMax } =
        d.termMin !== undefined && d.termMax !== undefined
          ? { termMin: d.termMin, termMax: d.termMax }
          : builtinTermBounds(d.startEpoch, d.endEpoch);
      const lifetime = exp - height;
      if (lifetime < termMin || lifetime > termMax)
        return `sector lifetime ${lifetime} outside the claim term [${termMin}, ${termMax}]`;
      if (d.allocationExpiration !== undefined && height >= d.allocationExpiration)
        return `allocation expired at ${d.allocationExpiration}`;
    }
  }
  return undefined;
}

/** The largest power of two dividing `space`: the size of the next aligned slot (droplet nextAlignedPiece). */
function nextAlignedPiece(space: number): number {
  let p = 1;
  while (space % (p * 2) === 0 && p * 2 <= space) p *= 2;
  return p;
}

/** Zero pieces filling `space` padded bytes from `offset`, smallest first (droplet fillersFromRem). */
export function fillers(offset: number, space: number): Placed[] {
  const out: Placed[] = [];
  let rest = space;
  let at = offset;
  for (let bit = 1; rest > 0; bit *= 2) {
    if (rest % (bit * 2) !== 0) {
      out.push({ key: null, pieceSize: bit, offset: at });
      at += bit;
      rest -= bit;
    }
  }
  return out;
}

/**
 * Picks and aligns sorted candidates into a sector of `sectorSize` padded bytes. Returns [] when nothing fits or
 * the spec's minimums (MinPiece, MinUsedSpace) are not met; otherwise deals and fillers covering the sector.
 */
export function pickAndAlign(sorted: Candidate[], sectorSize: number, spec: GetDealSpec | null): Placed[] {
  if (!isValidPaddedPieceSize(sectorSize)) throw new RangeError(`invalid sector size ${sectorSize}`);
  let deals = sorted;
  for (let i = 0; i < deals.length; i++) {
    if (!isValidPaddedPieceSize(deals[i].pieceSize))
      throw new RangeError(`deal ${deals[i].key}: invalid piece size ${deals[i].pieceSize}`);
    if (i > 0 && deals[i].pieceSize < deals[i - 1].pieceSize) throw new Error('deals are not sorted by size');
  }
  if (spec && spec.MinPieceSize > 0) deals = deals.filter((d) => d.pieceSize >= spec.MinPieceSize);
  if (spec && spec.MaxPieceSize > 0) deals = deals.filter((d) => d.pieceSize <= spec.MaxPieceSize);
  const res: Placed[] = [];
  let space = sectorSize;
  let offset = 0;
  let picked = 0;
  let pickedSpace = 0;
  for (let i = 0; i < deals.length; ) {
    const d = deals[i];
    if (spec && spec.MaxPiece > 0 && picked >= spec.MaxPiece) break;
    if (d.pieceSize > space) break;
    const slot = nextAlignedPiece(space);
    if (d.pieceSize > slot) {
      // the next aligned slot is too small for this deal: a zero piece takes it
      res.push({ key: null, pieceSize: slot, offset });
      space -= slot;
      offset += slot;
      continue;
    }
    res.push({ key: d.key, pieceSize: d.pieceSize, offset });
    picked++;
    pickedSpace += d.pieceSize;
    space -= d.pieceSize;
    offset += d.pieceSize;
    i++;
  }
  if (picked === 0) return [];
  if (spec && spec.MinPiece > 0 && picked < spec.MinPiece) return [];
  if (spec && spec.MinUsedSpace > 0 && pickedSpace < spec.MinUsedSpace) return [];
  if (space > 0) res.push(...fillers(offset, space));
  return res;
}
