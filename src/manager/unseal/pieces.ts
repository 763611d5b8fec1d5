/**
 * Where a client's piece lies in a sector (docs/deals-unseal.md): the piece CIDs a request names, a piece's place in
 * a sector's pieces (fillers are zeros, never a client's piece), and the sector that holds a piece.
 */
import type { SectorState } from '../../api/sealer.js';
import { cidToCommP, commPToCid } from '../../fil/index.js';
import { RpcError } from '../../rpc/index.js';
import type { ManagerStore } from '../db.js';

/** Unpadded size of a padded piece size. */
const unpad = (padded: number) => padded - padded / 128;

/** The canonical string of a piece CID; refuses anything that is not a piece commitment. */
export function pieceCidString(v: unknown): string {
  try {
    return commPToCid(cidToCommP(v)).toString();
  } catch (err) {
    throw new RpcError(1, `invalid piece CID: ${(err as Error).message}`);
  }
}

/** Where a deal piece sits in a sector (unpadded offset and size), from the sector's pieces; undefined if absent. */
export function piecePlace(s: SectorState, pieceCid: string): { offset: number; size: number } | undefined {
  let at = 0;
  for (const p of s.Pieces ?? []) {
    const offset = typeof p.DealInfo?.Offset === 'number' && p.DealInfo.Offset >= at ? p.DealInfo.Offset : at;
    let cid: string | undefined;
    try {
      cid = commPToCid(cidToCommP(p.Piece.PieceCID)).toString();
    } catch {
      cid = undefined;
    }
    // a filler (no deal, no allocation) is zeros, not a client's piece
    const deal = (p.DealInfo?.DealID ?? 0) > 0 || (p.DealInfo?.AllocationID ?? 0) > 0;
    if (deal && cid === pieceCid) return { offset: unpad(offset), size: unpad(p.Piece.Size) };
    at = offset + p.Piece.Size;
  }
  return undefined;
}

/** The first sector (online or offline list) holding the piece: what FindSectorWithPiece answers. */
export function findSectorWithPiece(store: ManagerStore, online: boolean, pieceCid: unknown): SectorState | null {
  const cid = pieceCidString(pieceCid);
  for (const s of store.listSectors(online)) if (piecePlace(s, cid)) return s;
  return null;
}
