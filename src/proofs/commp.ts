/**
 * Piece commitments (CommP): the root of the binary SHA-256-trunc254 tree over the Fr32-padded piece
 * (rust-fil-proofs `generate_piece_commitment`, `commitment_reader.rs`; leaves are the padded 32-byte words,
 * not hashed). A payload is zero-extended to the next 127·2^k bytes (at least 127), as Lotus does for the
 * piece of a file (`padreader.PaddedSize`); zeros pad to zeros, so the missing part of the tree is made of
 * zero-subtree roots and is never hashed.
 *
 * Streaming: input is padded in chunks of 2^15 blocks (4 MiB padded, a power of two of leaves) and each
 * chunk's subtree is hashed in bulk; only one partial group per row is kept between chunks.
 */
import { open } from 'node:fs/promises';
import { FR32_UNPADDED_BLOCK, padBlocks, padFr32 } from './fr32.js';
import { MerkleTreeBuilder, NODE_SIZE, sha256NodeHasher } from './merkle.js';
import { hashPairsInto } from './sha256.js';

/** Smallest piece: 128 padded bytes (127 unpadded, rust `MIN_PIECE_SIZE`). */
export const MIN_PADDED_PIECE_SIZE = 128;

const ZERO_TABLE_ROWS = 41; // up to 32·2^40 bytes, far past 64 GiB sectors
const zeroRows: Uint8Array[] = (() => {
  const rows = [new Uint8Array(32)];
  const pair = new Uint8Array(64);
  for (let k = 1; k < ZERO_TABLE_ROWS; k++) {
    pair.set(rows[k - 1], 0);
    pair.set(rows[k - 1], 32);
    const out = new Uint8Array(32);
    hashPairsInto(pair, out);
    rows.push(out);
  }
  return rows;
})();

/**
 * The root of an all-zero subtree of height `row` (padded size 32·2^row): z_0 = 0^32, z_{k+1} = H(z_k, z_k).
 * rust `pieces::zero_padding`. A view into a shared table: copy before changing it.
 */
export function zeroSubtreeRoot(row: number): Uint8Array {
  if (!Number.isInteger(row) || row < 0 || row >= ZERO_TABLE_ROWS)
    throw new RangeError(`no zero subtree of row ${row}`);
  return zeroRows[row];
}

/** The commitment of an all-zero piece (or sector) of `paddedSize` bytes (a power of two ≥ 32). */
export function zeroCommitment(paddedSize: number): Uint8Array {
  const row = Math.log2(paddedSize / NODE_SIZE);
  if (!Number.isInteger(row) || row < 0) throw new RangeError(`${paddedSize} is not a power-of-two padded size ≥ 32`);
  return zeroSubtreeRoot(row).slice();
}

/** True when `n` is a valid padded piece size: a power of two ≥ 128. */
export function isValidPaddedPieceSize(n: number): boolean {
  return Number.isSafeInteger(n) && n >= MIN_PADDED_PIECE_SIZE && 2 ** Math.round(Math.log2(n)) === n;
}

/** Checks a padded piece size and returns it; throws a clear error otherwise. */
export function checkPaddedPieceSize(n: number): number {
  if (!isValidPaddedPieceSize(n)) throw new RangeError(`padded piece size must be a power of two ≥ 128, got ${n}`);
  return n;
}

/** Unpadded size of a padded piece size: 127·(padded/128). */
export function unpaddedPieceSize(paddedSize: number): number {
  return (checkPaddedPieceSize(paddedSize) / 128) * 127;
}

/** Padded size of an unpadded piece size 127·2^k. */
export function paddedPieceSize(unpaddedSize: number): number {
  const padded = (unpaddedSize / 127) * 128;
  if (!Number.isInteger(padded) || !isValidPaddedPieceSize(padded)) {
    throw new RangeError(`unpadded piece size must be 127·2^k (k ≥ 0), got ${unpaddedSize}`);
  }
  return padded;
}

/** The padded size of the piece holding `payloadSize` bytes: the next 128·2^k that fits them (Lotus padreader). */
export function pieceSizeForPayload(payloadSize: number): number {
  if (!Number.isSafeInteger(payloadSize) || payloadSize < 0) throw new RangeError(`bad payload size ${payloadSize}`);
  let padded = MIN_PADDED_PIECE_SIZE;
  while ((padded / 128) * 127 < payloadSize) padded *= 2;
  return padded;
}

/** A CommP result. */
export interface CommPResult {
  /** The piece commitment (32 bytes, as rust and the CID carry it). */
  commP: Uint8Array;
  /** Padded piece size (a power of two ≥ 128). */
  paddedSize: number;
  /** Bytes of payload hashed. */
  payloadSize: number;
}

const CHUNK_BLOCKS = 1 << 15; // 4 MiB padded: a power-of-two leaf count, so chunk subtrees hash cleanly

/**
 * A binary tree over padded piece data, completed with zero subtrees up to the piece size. Push padded
 * bytes (whole 32-byte nodes) in order; `finish` gives the root.
 */
export class PieceTree {
  private readonly builder = new MerkleTreeBuilder(sha256NodeHasher);

  /** Padded bytes pushed so far. */
  get paddedPushed(): number {
    return this.builder.leavesPushed * NODE_SIZE;
  }

  push(padded: Uint8Array): void {
    this.builder.push(padded);
  }

  /**
   * The root for a piece of `paddedSize` bytes (default: the smallest power of two ≥ 128 holding what was
   * pushed). Throws when more was pushed than the piece holds.
   */
  finish(paddedSize?: number): Uint8Array {
    const size = paddedSize === undefined ? undefined : checkPaddedPieceSize(paddedSize);
    if (size !== undefined && this.paddedPushed > size) {
      throw new RangeError(`piece data (${this.paddedPushed} padded bytes) exceeds the piece size ${size}`);
    }
    const minLeaves = (size ?? MIN_PADDED_PIECE_SIZE) / NODE_SIZE;
    return this.builder.finishPadded(zeroSubtreeRoot, minLeaves).root;
  }
}

/**
 * Incremental CommP of unpadded bytes: `update()` as data arrives, `digest()` at the end. Memory is one
 * 4 MiB chunk whatever the input size.
 */
export class CommPHasher {
  private readonly stage = new Uint8Array(CHUNK_BLOCKS * FR32_UNPADDED_BLOCK);
  private staged = 0;
  private readonly padded = new Uint8Array(CHUNK_BLOCKS * 128);
  private readonly tree = new PieceTree();
  private total = 0;
  private done = false;

  /** Unpadded bytes hashed so far. */
  get payloadSize(): number {
    return this.total;
  }

  update(data: Uint8Array): this {
    if (this.done) throw new Error('CommPHasher already digested');
    this.total += data.length;
    const stageLen = this.stage.length;
    let off = 0;
    while (off < data.length) {
      if (this.staged === 0 && data.length - off >= stageLen) {
        padBlocks(data, off, this.padded, 0, CHUNK_BLOCKS);
        this.tree.push(this.padded);
        off += stageLen;
        continue;
      }
      const take = Math.min(stageLen - this.staged, data.length - off);
      this.stage.set(data.subarray(off, off + take), this.staged);
      this.staged += take;
      off += take;
      if (this.staged === stageLen) {
        padBlocks(this.stage, 0, this.padded, 0, CHUNK_BLOCKS);
        this.tree.push(this.padded);
        this.staged = 0;
      }
    }
    return this;
  }

  /**
   * The CommP of everything hashed, zero-extended to `paddedSize` (default: the smallest piece that holds
   * it, `pieceSizeForPayload`).
   */
  digest(paddedSize?: number): CommPResult {
    if (this.done) throw new Error('CommPHasher already digested');
    this.done = true;
    const size = paddedSize ?? pieceSizeForPayload(this.total);
    if (this.total > unpaddedPieceSize(checkPaddedPieceSize(size))) {
      throw new RangeError(`payload of ${this.total} bytes does not fit a piece of ${size} padded bytes`);
    }
    if (this.staged > 0) this.tree.push(padFr32(this.stage.subarray(0, this.staged)));
    return { commP: this.tree.finish(size), paddedSize: size, payloadSize: this.total };
  }
}

/** CommP of a buffer, zero-extended to `paddedSize` (default: the smallest piece holding it). */
export function commPOfBuffer(data: Uint8Array, paddedSize?: number): CommPResult {
  return new CommPHasher().update(data).digest(paddedSize);
}

/** CommP of a stream of any size (bounded memory). */
export async function commPOfStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  paddedSize?: number,
): Promise<CommPResult> {
  const h = new CommPHasher();
  for await (const chunk of source) h.update(chunk);
  return h.digest(paddedSize);
}

/** CommP of a file, read in 4 MiB chunks, zero-extended to the next 127·2^k bytes (or to `paddedSize`). */
export async function commPOfFile(path: string, paddedSize?: number): Promise<CommPResult> {
  const fh = await open(path, 'r');
  try {
    const h = new CommPHasher();
    const buf = new Uint8Array(CHUNK_BLOCKS * FR32_UNPADDED_BLOCK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
    return h.digest(paddedSize);
  } finally {
    await fh.close();
  }
}
