/**
 * How `util sealer sectors list` and `state --deals` show a sector's deals (docs/deals-manager.md §Visibility):
 * builtin-market deals as `d<DealID>`, direct (DDO) deals as `a<AllocationID>`; pledge fillers are not deals.
 */
import type { SectorState } from '../../api/sealer.js';
import { dealPieces, isDealPiece } from '../market/lifetime.js';

/** "a7,d12" for the list's Deals column; "-" for a sector without deals. */
export function dealsCell(s: Pick<SectorState, 'Pieces'>): string {
  const deals = dealPieces(s.Pieces);
  if (deals.length === 0) return '-';
  const names = deals.map((p) =>
    p.DealInfo!.IsBuiltinMarket ? `d${p.DealInfo!.DealID}` : `a${p.DealInfo!.AllocationID}`,
  );
  return names.length > 4 ? `${names.slice(0, 4).join(',')},…(${names.length})` : names.join(',');
}

/** One row per piece of the sector (deals and fillers), in placement order. */
export function dealRows(s: Pick<SectorState, 'Pieces'>): string[][] {
  const rows = [['#', 'Kind', 'Deal', 'Piece CID', 'Size', 'Payload', 'Offset', 'Client', 'Start', 'End']];
  (s.Pieces ?? []).forEach((p, i) => {
    const d = p.DealInfo;
    const deal = d && isDealPiece(p);
    rows.push([
      String(i),
      !deal ? 'pledge' : d.IsBuiltinMarket ? 'market' : 'ddo',
      !deal ? '-' : d.IsBuiltinMarket ? `deal ${d.DealID}` : `allocation ${d.AllocationID}`,
      p.Piece.PieceCID['/'],
      String(p.Piece.Size),
      deal ? String(d.PayloadSize) : '-',
      d?.Offset !== undefined ? String(d.Offset) : '-',
      deal ? (d.Client ?? '-') : '-',
      deal ? String(d.StartEpoch ?? '-') : '-',
      deal ? String(d.EndEpoch ?? '-') : '-',
    ]);
  });
  return rows;
}
