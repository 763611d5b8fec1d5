/**
 * Pieces in a sector: CommD from a list of pieces, piece placement, and AddPieces (writing the staged,
 * unsealed sector file). rust-fil-proofs `filecoin-proofs/src/pieces.rs` (compute_comm_d, get_piece_alignment)
 * and `api/mod.rs` (add_piece); Lotus `fillersFromRem` for the pledge pieces that fill a sector.
 *
 * Sizes: a `PieceInfo` carries the PADDED piece size (a power of two ≥ 128, as Lotus' abi.PieceInfo and the
 * chain do); rust's PieceInfo carries the unpadded size 127·2^k — convert with `unpaddedPieceSize`.
 * Placement is computed in unpadded bytes exactly as rust does; for pieces of 127·2^k bytes every offset is
 * a multiple of 127 and maps to padded offset ·128/127.
 */
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import {
  checkPaddedPieceSize,
  isValidPaddedPieceSize,
  PieceTree,
  unpaddedPieceSize,
  zeroCommitment,
  zeroSubtreeRoot,
} from './commp.js';
import { fr32PadStream } from './fr32.js';
import { MIN_PIECE_SIZE, sectorSizeInfo } from './registry.js';
import { hashNodes } from './sha256.js';

/** A piece in a sector: its CommP and padded size. */
export interface PieceInfo {
  /** Padded size in bytes: a power of two ≥ 128. */
  size: number;
  /** CommP, 32 bytes. */
  commitment: Uint8Array;
}

/** The piece of an all-zero (pledge) piece of `paddedSize` bytes. */
export function zeroPiece(paddedSize: number): PieceInfo {
  return { size: checkPaddedPieceSize(paddedSize), commitment: zeroCommitment(paddedSize) };
}

/** CommD of a sector with no data (rust `empty_comm_d`). */
export function emptyCommD(sectorSize: number): Uint8Array {
  return zeroCommitment(checkSectorSize(sectorSize));
}

/** Sectors here are any power of two ≥ 128 bytes (rust's piece math is size-generic; tests use 512 B). */
function checkSectorSize(sectorSize: number): number {
  if (!isValidPaddedPieceSize(sectorSize))
    throw new RangeError(`sector size must be a power of two ≥ 128, got ${sectorSize}`);
  return sectorSize;
}

/**
 * CommD from the pieces of a sector, in placement order (rust `compute_comm_d`): a stack machine that
 * joins equal-size neighbours and pads a smaller top with zero pieces before a larger piece and at the
 * end. Checks the rules rust checks: at most unpadded_sector/127 pieces, sizes powers of two, total ≤
 * sector. With no pieces, the CommD of an empty sector.
 */
export function computeCommD(sectorSize: number, pieces: readonly PieceInfo[]): Uint8Array {
  checkSectorSize(sectorSize);
  if (pieces.length === 0) return emptyCommD(sectorSize);
  const unpaddedSector = (sectorSize / 128) * 127;
  if (pieces.length > Math.floor(unpaddedSector / MIN_PIECE_SIZE)) {
    throw new RangeError(`too many pieces (${pieces.length}) for a ${sectorSize}-byte sector`);
  }
  let total = 0;
  for (const p of pieces) {
    checkPaddedPieceSize(p.size);
    if (p.commitment.length !== 32) throw new RangeError('piece commitment must be 32 bytes');
    total += p.size;
  }
  if (total > sectorSize)
    throw new RangeError(`pieces (${total} padded bytes) are larger than the sector (${sectorSize})`);

  const stack: { size: number; comm: Uint8Array }[] = [];
  const reduce = (): void => {
    while (stack.length >= 2 && stack[stack.length - 1].size === stack[stack.length - 2].size) {
      const right = stack.pop()!;
      const left = stack.pop()!;
      stack.push({ size: left.size * 2, comm: hashNodes(left.comm, right.comm) });
    }
  };
  const zeroOf = (size: number) => ({ size, comm: zeroSubtreeRoot(Math.log2(size / 32)) });
  stack.push({ size: pieces[0].size, comm: pieces[0].commitment });
  for (let i = 1; i < pieces.length; i++) {
    const p = pieces[i];
    while (stack[stack.length - 1].size < p.size) {
      stack.push(zeroOf(stack[stack.length - 1].size));
      reduce();
    }
    stack.push({ size: p.size, comm: p.commitment });
    reduce();
  }
  while (stack.length > 1) {
    stack.push(zeroOf(stack[stack.length - 1].size));
    reduce();
  }
  // rust stops when one entry is left; pieces smaller than the sector leave a root below sector size,
  // which rust then returns as is. Lotus never sends that (pieces fill the sector); pad to the sector.
  let top = stack[0];
  while (top.size < sectorSize) top = { size: top.size * 2, comm: hashNodes(top.comm, zeroOf(top.size).comm) };
  return Uint8Array.from(top.comm);
}

/** rust `verify_pieces`: the CommD from pieces equals `commD`. */
export function verifyPieces(commD: Uint8Array, pieces: readonly PieceInfo[], sectorSize: number): boolean {
  return Buffer.from(computeCommD(sectorSize, pieces)).equals(Buffer.from(commD));
}

/** Zero bytes before and after a piece so that it starts at a multiple of its own size (unpadded bytes). */
export interface PieceAlignment {
  left: number;
  right: number;
}

/**
 * rust `get_piece_alignment`: with `written` unpadded bytes already in the sector, where a piece of
 * `pieceBytes` unpadded bytes goes. Its slot is the smallest 127·2^k ≥ pieceBytes; `left` pads `written`
 * up to a multiple of the slot, `right` fills the slot after the piece.
 */
export function pieceAlignment(written: number, pieceBytes: number): PieceAlignment {
  let needed = MIN_PIECE_SIZE;
  while (needed < pieceBytes) needed *= 2;
  const encroaching = written % needed;
  return { left: encroaching > 0 ? needed - encroaching : 0, right: needed - pieceBytes };
}

/** rust `sum_piece_bytes_with_alignment`: unpadded bytes taken by pieces of these unpadded sizes, in order. */
export function sumPieceBytesWithAlignment(pieceBytes: readonly number[]): number {
  let acc = 0;
  for (const b of pieceBytes) {
    const a = pieceAlignment(acc, b);
    acc += a.left + b + a.right;
  }
  return acc;
}

/** rust `get_piece_start_byte`: the unpadded offset where a piece of `pieceBytes` goes after `pieces`. */
export function pieceStartByte(pieces: readonly number[], pieceBytes: number): number {
  const last = sumPieceBytesWithAlignment(pieces);
  return last + pieceAlignment(last, pieceBytes).left;
}

/**
 * The zero pieces that fill a sector after `usedPadded` padded bytes (Lotus `fillersFromRem`): one piece
 * per set bit of the remaining size, smallest first, so each lands aligned to its size.
 */
export function fillerPieces(usedPadded: number, sectorSize: number): PieceInfo[] {
  checkSectorSize(sectorSize);
  if (!Number.isSafeInteger(usedPadded) || usedPadded < 0 || usedPadded > sectorSize || usedPadded % 128 !== 0) {
    throw new RangeError(`bad used size ${usedPadded} for a ${sectorSize}-byte sector`);
  }
  const out: PieceInfo[] = [];
  let rem = sectorSize - usedPadded;
  for (let bit = 128; rem > 0; bit *= 2) {
    if (rem % (bit * 2) !== 0) {
      out.push(zeroPiece(bit));
      rem -= bit;
    }
  }
  return out;
}

/** Where a piece's payload comes from. `null` (or 'pledge') for an all-zero piece. */
export type PieceData = string | Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array> | 'pledge' | null;

/** One piece to add to a sector. */
export interface PieceInput {
  /** Padded piece size (a power of two ≥ 128). */
  size: number;
  /** Payload: a file path, bytes, a stream, or null / 'pledge' for zeros. */
  data: PieceData;
  /**
   * Payload bytes to read (default: all the source has). The payload is zero-extended to the piece's
   * unpadded size, as Lotus' padreader does; a source shorter than payloadSize or longer than the piece
   * is an error.
   */
  payloadSize?: number;
}

/** What `writePiece` wrote. */
export interface AddedPiece {
  piece: PieceInfo;
  /** Unpadded offset of the piece data in the sector. */
  offset: number;
  /** Unpadded bytes the piece took with its alignment (rust add_piece's second result). */
  written: number;
}

function toAsyncIterable(data: Exclude<PieceData, null | 'pledge'>): AsyncIterable<Uint8Array> | Iterable<Uint8Array> {
  if (typeof data === 'string') return createReadStream(data, { highWaterMark: 1 << 20 });
  if (data instanceof Uint8Array) return [data];
  return data;
}

/** Cuts a stream at `limit` bytes (error when it ends early) and fails when it has more than `max`. */
async function* limited(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  limit: number | undefined,
  max: number,
): AsyncGenerator<Uint8Array> {
  let seen = 0;
  const cap = limit ?? max;
  for await (const chunk of source) {
    if (seen + chunk.length > cap) {
      if (limit === undefined) throw new RangeError(`piece data is larger than the piece (${max} unpadded bytes)`);
      yield chunk.subarray(0, cap - seen);
      seen = cap;
      break;
    }
    seen += chunk.length;
    yield chunk;
  }
  if (limit !== undefined && seen < limit) {
    throw new RangeError(`piece data ended after ${seen} bytes, expected a payload of ${limit}`);
  }
}

async function writeFully(fh: FileHandle, data: Uint8Array, pos: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, pos + off);
    if (bytesWritten <= 0) throw new Error('short write to the staged file');
    off += bytesWritten;
  }
}

/**
 * rust `add_piece` on an open staged file: places the piece after `written` unpadded bytes (aligned to its
 * size), writes its Fr32-padded payload and computes its CommP on the way. Zero alignment and the zero tail
 * of the piece are not written: the caller sizes the file (the gaps read as zeros, as rust writes them).
 */
export async function writePiece(fh: FileHandle, written: number, piece: PieceInput): Promise<AddedPiece> {
  const padded = checkPaddedPieceSize(piece.size);
  const unpadded = unpaddedPieceSize(padded);
  const align = pieceAlignment(written, unpadded);
  const offset = written + align.left;
  const paddedOffset = (offset / 127) * 128;
  if (!Number.isInteger(paddedOffset)) throw new Error(`internal: unaligned piece offset ${offset}`);
  if (piece.payloadSize !== undefined && (!Number.isSafeInteger(piece.payloadSize) || piece.payloadSize < 0)) {
    throw new RangeError(`bad payload size ${piece.payloadSize}`);
  }
  if (piece.payloadSize !== undefined && piece.payloadSize > unpadded) {
    throw new RangeError(
      `payload of ${piece.payloadSize} bytes does not fit a ${padded}-byte piece (${unpadded} unpadded)`,
    );
  }
  let commitment: Uint8Array;
  if (piece.data === null || piece.data === 'pledge') {
    commitment = zeroCommitment(padded);
  } else {
    const tree = new PieceTree();
    let pos = paddedOffset;
    const source = limited(toAsyncIterable(piece.data), piece.payloadSize, unpadded);
    for await (const chunk of fr32PadStream(source, { chunkBlocks: 8192 })) {
      tree.push(chunk);
      await writeFully(fh, chunk, pos);
      pos += chunk.length;
    }
    commitment = tree.finish(padded);
  }
  return {
    piece: { size: padded, commitment },
    offset,
    written: align.left + unpadded + align.right,
  };
}

export interface AddPiecesOptions {
  /** The staged (unsealed) sector file; created or truncated. */
  stagedPath: string;
  sectorSize: number;
  pieces: readonly PieceInput[];
  /**
   * Also return the zero filler pieces that complete the sector (Lotus `fillersFromRem`), so the list
   * covers the whole sector. CommD is the same either way.
   */
  fill?: boolean;
}

/**
 * AddPieces: writes the staged sector file from the pieces, in order, each aligned to its size (rust
 * add_piece rules), and sizes the file to the sector (the rest reads as zeros, as PC1's set_len makes it).
 * Returns one PieceInfo per input piece, plus fillers when `fill` is set.
 */
export async function addPieces(opts: AddPiecesOptions): Promise<PieceInfo[]> {
  const { sectorSize } = sectorSizeInfo(opts.sectorSize);
  const unpaddedSector = (sectorSize / 128) * 127;
  // check the whole layout before touching the file
  let written = 0;
  for (const p of opts.pieces) {
    const u = unpaddedPieceSize(checkPaddedPieceSize(p.size));
    const a = pieceAlignment(written, u);
    written += a.left + u + a.right;
    if (written > unpaddedSector) {
      throw new RangeError(
        `pieces do not fit a ${sectorSize}-byte sector (${(written / 127) * 128} padded bytes needed)`,
      );
    }
  }
  const fh = await open(opts.stagedPath, 'w+');
  const out: PieceInfo[] = [];
  try {
    written = 0;
    for (const p of opts.pieces) {
      const r = await writePiece(fh, written, p);
      out.push(r.piece);
      written += r.written;
    }
    await fh.truncate(sectorSize);
    await fh.sync();
  } finally {
    await fh.close();
  }
  if (opts.fill) out.push(...fillerPieces((written / 127) * 128, sectorSize));
  return out;
}
