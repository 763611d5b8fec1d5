/**
 * Where each piece of a deal sector goes (docs/deals-worker.md, "Placement"): deal pieces at the padded offsets
 * the market chose, the gaps before, between and after them filled with zero (pledge) pieces, every piece
 * aligned to its own size. The result lists the whole sector in offset order, so rust's add_piece, called on
 * it in order, writes each piece exactly at its offset (an aligned piece needs no alignment padding), and
 * CommD from the list is rust's compute_comm_d over the sector's bytes.
 *
 * A CC sector is the same code with no deal: one zero piece of the sector's size.
 */
import type { SectorPieceV2 } from '../../api/sealer.js';
import { cidToCommP } from '../../fil/index.js';
import { isValidPaddedPieceSize, pieceAlignment, unpaddedPieceSize, zeroCommitment } from '../../proofs/index.js';

/** One piece of the sector, in offset order. */
export type Placed =
  | { kind: 'zero'; offset: number; size: number }
  | {
      kind: 'deal';
      /** Padded offset in the sector. */
      offset: number;
      /** Padded piece size. */
      size: number;
      /** The piece CID string (baga…). */
      cid: string;
      /** Bytes of payload; the rest of the piece's unpadded size is zeros. */
      payloadSize: number;
      /** Its index in the manager's list (for messages). */
      index: number;
      piece: SectorPieceV2;
    };

/** A deal layout that cannot be sealed (the market's assignment is wrong): the sector is aborted. */
export class LayoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayoutError';
  }
}

/** A pledge piece in the manager's list: no deal behind it (damocles: no DealInfo, or both ids 0). */
export function isPledgePiece(p: SectorPieceV2): boolean {
  return !p.DealInfo || (p.DealInfo.DealID === 0 && p.DealInfo.AllocationID === 0);
}

/** A piece CID as a string safe to join into paths and URLs (CIDs are base32/base58 letters and digits). */
export function pieceCidString(p: SectorPieceV2, i: number): string {
  const cid = p.Piece?.PieceCID?.['/'];
  if (typeof cid !== 'string' || !/^[A-Za-z0-9]{1,200}$/.test(cid)) {
    throw new LayoutError(`piece ${i}: the piece CID is not a CID string: ${JSON.stringify(cid)?.slice(0, 80)}`);
  }
  return cid;
}

/**
 * The zero pieces filling [from, to) (padded bytes, multiples of 128): the fewest power-of-two pieces, each
 * aligned to its size — growing from an unaligned start, shrinking towards the end.
 */
export function zeroFill(from: number, to: number): Placed[] {
  const out: Placed[] = [];
  let p = from;
  while (p < to) {
    let size = 128;
    while ((p === 0 || p % (size * 2) === 0) && p + size * 2 <= to) size *= 2;
    out.push({ kind: 'zero', offset: p, size });
    p += size;
  }
  return out;
}

function checkDeal(p: SectorPieceV2, i: number, sectorSize: number): Omit<Placed & { kind: 'deal' }, 'offset'> {
  const cid = pieceCidString(p, i);
  const size = p.Piece.Size;
  const what = `piece ${i} (${cid})`;
  if (!isValidPaddedPieceSize(size) || size > sectorSize) {
    throw new LayoutError(`${what}: size ${size} is not a power of two between 128 and the sector's ${sectorSize}`);
  }
  try {
    cidToCommP(cid);
  } catch (err) {
    throw new LayoutError(`${what}: not a piece CID: ${(err as Error).message}`);
  }
  const d = p.DealInfo!;
  if (d.PieceSize !== undefined && d.PieceSize !== size) {
    throw new LayoutError(`${what}: the deal's PieceSize ${d.PieceSize} differs from the piece's ${size}`);
  }
  if (d.PieceCID !== undefined && d.PieceCID?.['/'] !== cid) {
    throw new LayoutError(`${what}: the deal's PieceCID ${d.PieceCID?.['/']} differs from the piece's`);
  }
  const max = unpaddedPieceSize(size);
  if (!Number.isSafeInteger(d.PayloadSize) || d.PayloadSize < 1 || d.PayloadSize > max) {
    throw new LayoutError(`${what}: PayloadSize ${d.PayloadSize} is outside 1..${max} (the piece's unpadded size)`);
  }
  return { kind: 'deal', size, cid, payloadSize: d.PayloadSize, index: i, piece: p };
}

/**
 * The sector's pieces in offset order, zero pieces included. Deal pieces carry the market's padded Offset
 * (DealInfoV2.Offset); a list without offsets (an older manager) is placed in its order with rust's
 * alignment, pledge pieces included. Pledge pieces in an offset list must be zero pieces (their CID is the
 * zero commitment of their size) and are replaced by the computed fill.
 */
export function placePieces(sectorSize: number, pieces: readonly SectorPieceV2[] | null): Placed[] {
  if (!isValidPaddedPieceSize(sectorSize)) throw new LayoutError(`bad sector size ${sectorSize}`);
  const list = pieces ?? [];
  const deals: (Placed & { kind: 'deal' })[] = [];
  const withOffset = list.filter((p) => !isPledgePiece(p) && p.DealInfo?.Offset != null).length;
  const dealCount = list.filter((p) => !isPledgePiece(p)).length;
  if (withOffset !== 0 && withOffset !== dealCount) {
    throw new LayoutError(`${withOffset} of ${dealCount} deal pieces carry an Offset: all or none must`);
  }
  if (withOffset > 0) {
    list.forEach((p, i) => {
      if (isPledgePiece(p)) {
        const size = p.Piece?.Size;
        const cid = pieceCidString(p, i);
        if (!isValidPaddedPieceSize(size)) throw new LayoutError(`pledge piece ${i}: bad size ${size}`);
        if (!Buffer.from(cidToCommP(cid)).equals(Buffer.from(zeroCommitment(size)))) {
          throw new LayoutError(`pledge piece ${i} (${cid}) is not the zero piece of ${size} bytes`);
        }
        return;
      }
      const offset = p.DealInfo!.Offset!;
      const d = checkDeal(p, i, sectorSize);
      if (!Number.isSafeInteger(offset) || offset < 0 || offset % d.size !== 0) {
        throw new LayoutError(`piece ${i} (${d.cid}): Offset ${offset} is not a multiple of its size ${d.size}`);
      }
      deals.push({ ...d, offset });
    });
  } else {
    // no offsets: rust add_piece order and alignment over the list as given
    let written = 0; // unpadded
    list.forEach((p, i) => {
      if (isPledgePiece(p)) {
        const size = p.Piece?.Size;
        if (!isValidPaddedPieceSize(size)) throw new LayoutError(`pledge piece ${i}: bad size ${size}`);
        const u = unpaddedPieceSize(size);
        const a = pieceAlignment(written, u);
        written += a.left + u + a.right;
        return;
      }
      const d = checkDeal(p, i, sectorSize);
      const u = unpaddedPieceSize(d.size);
      const a = pieceAlignment(written, u);
      deals.push({ ...d, offset: ((written + a.left) / 127) * 128 });
      written += a.left + u + a.right;
    });
  }
  deals.sort((a, b) => a.offset - b.offset);
  const out: Placed[] = [];
  let pos = 0;
  for (const d of deals) {
    if (d.offset < pos) {
      throw new LayoutError(`piece ${d.index} (${d.cid}) at offset ${d.offset} overlaps the piece before it`);
    }
    if (d.offset + d.size > sectorSize) {
      throw new LayoutError(
        `piece ${d.index} (${d.cid}) at offset ${d.offset} ends past the ${sectorSize}-byte sector`,
      );
    }
    out.push(...zeroFill(pos, d.offset), d);
    pos = d.offset + d.size;
  }
  out.push(...zeroFill(pos, sectorSize));
  return out;
}
