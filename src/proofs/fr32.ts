/**
 * Fr32 padding (rust-fil-proofs `fr32/src/reader.rs` Fr32Reader, `fr32/src/padding.rs`).
 *
 * Filecoin stores user data in 32-byte nodes that must be BLS12-381 scalars, so each node carries only 254
 * bits of data: the input is cut into 127-byte blocks, each read as one 1016-bit little-endian integer v,
 * and written as four 32-byte little-endian words `(v >> 254k) & (2^254 − 1)`, k = 0..3. Every output word
 * therefore has its top two bits clear. A final partial block is zero-filled and, like Fr32Reader, only
 * the 32-byte words that hold data are emitted.
 *
 * The padding loop is the hot part of CommP and AddPieces, so `padBlocks` works on 32-bit lanes: each
 * output word k is the input shifted right by 2k bits, assembled from unaligned little-endian u32 reads.
 */

import { Duplex } from 'node:stream';

/** Unpadded bytes per Fr32 block. */
export const FR32_UNPADDED_BLOCK = 127;
/** Padded bytes per Fr32 block (4 nodes). */
export const FR32_PADDED_BLOCK = 128;

/**
 * rust `to_padded_bytes`: the padded size of `unpadded` bytes, counted in bits and rounded up to a byte
 * (so 127·k ↦ 128·k; other sizes give the byte holding the last data bit, not a whole node).
 */
export function toPaddedSize(unpadded: number): number {
  checkSize(unpadded, 'unpadded size');
  const bits = unpadded * 8;
  const full = Math.floor(bits / 254);
  return Math.ceil((full * 256 + (bits - full * 254)) / 8);
}

/** rust `to_unpadded_bytes`: the data bytes held by `padded` padded bytes (rounded down to a byte). */
export function toUnpaddedSize(padded: number): number {
  checkSize(padded, 'padded size');
  const bits = padded * 8;
  const full = Math.floor(bits / 256);
  return Math.floor((full * 254 + (bits - full * 256)) / 8);
}

/**
 * The number of bytes Fr32Reader emits for `unpadded` input bytes: whole 32-byte nodes, four per full
 * block and ceil(bits/254) for a final partial block.
 */
export function fr32PaddedLength(unpadded: number): number {
  checkSize(unpadded, 'unpadded size');
  const blocks = Math.floor(unpadded / 127);
  const rest = unpadded - blocks * 127;
  return blocks * 128 + Math.ceil((rest * 8) / 254) * 32;
}

function checkSize(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative integer, got ${n}`);
}

function dataView(a: Uint8Array): DataView {
  return new DataView(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Pads `blocks` whole 127-byte blocks of `input` (from byte `inOff`) into `output` (from byte `outOff`,
 * 128 bytes per block). The output offset must be 4-byte aligned within its buffer for the fast path.
 */
export function padBlocks(input: Uint8Array, inOff: number, output: Uint8Array, outOff: number, blocks: number): void {
  if (blocks <= 0) return;
  if (inOff + blocks * 127 > input.length || outOff + blocks * 128 > output.length) {
    throw new RangeError('padBlocks: buffer too small');
  }
  const absOut = output.byteOffset + outOff;
  if (absOut % 4 !== 0) {
    padBlocksBytes(input, inOff, output, outOff, blocks);
    return;
  }
  const dv = dataView(input);
  const o32 = new Uint32Array(output.buffer, absOut, blocks * 32);
  const inp = input;
  for (let b = 0, i = inOff, o = 0; b < blocks; b++, i += 127, o += 32) {
    // word 0: bits 0..253 are bytes 0..31 with the top two bits of byte 31 cleared
    o32[o] = dv.getUint32(i, true);
    o32[o + 1] = dv.getUint32(i + 4, true);
    o32[o + 2] = dv.getUint32(i + 8, true);
    o32[o + 3] = dv.getUint32(i + 12, true);
    o32[o + 4] = dv.getUint32(i + 16, true);
    o32[o + 5] = dv.getUint32(i + 20, true);
    o32[o + 6] = dv.getUint32(i + 24, true);
    o32[o + 7] = dv.getUint32(i + 28, true) & 0x3fffffff;
    // word 1: bits 254..507 start at byte 31, bit 6
    for (let k = 0, p = i + 31; k < 8; k++, p += 4) {
      o32[o + 8 + k] = (dv.getUint32(p, true) >>> 6) | (inp[p + 4] << 26);
    }
    o32[o + 15] &= 0x3fffffff;
    // word 2: bits 508..761 start at byte 63, bit 4
    for (let k = 0, p = i + 63; k < 8; k++, p += 4) {
      o32[o + 16 + k] = (dv.getUint32(p, true) >>> 4) | (inp[p + 4] << 28);
    }
    o32[o + 23] &= 0x3fffffff;
    // word 3: bits 762..1015 start at byte 95, bit 2; the last lane must not read past byte 126
    for (let k = 0, p = i + 95; k < 7; k++, p += 4) {
      o32[o + 24 + k] = (dv.getUint32(p, true) >>> 2) | (inp[p + 4] << 30);
    }
    o32[o + 31] = (dv.getUint32(i + 123, true) >>> 2) & 0x3fffffff;
  }
}

/** Byte-wise padding (unaligned output, and a second implementation for tests). */
export function padBlocksBytes(
  input: Uint8Array,
  inOff: number,
  output: Uint8Array,
  outOff: number,
  blocks: number,
): void {
  const inp = input;
  const out = output;
  for (let b = 0; b < blocks; b++) {
    const i = inOff + b * 127;
    const o = outOff + b * 128;
    for (let k = 0; k < 31; k++) out[o + k] = inp[i + k];
    out[o + 31] = inp[i + 31] & 0x3f;
    for (let k = 0; k < 31; k++) out[o + 32 + k] = (inp[i + 31 + k] >>> 6) | (inp[i + 32 + k] << 2);
    out[o + 63] = ((inp[i + 62] >>> 6) | (inp[i + 63] << 2)) & 0x3f;
    for (let k = 0; k < 31; k++) out[o + 64 + k] = (inp[i + 63 + k] >>> 4) | (inp[i + 64 + k] << 4);
    out[o + 95] = ((inp[i + 94] >>> 4) | (inp[i + 95] << 4)) & 0x3f;
    for (let k = 0; k < 31; k++) out[o + 96 + k] = (inp[i + 95 + k] >>> 2) | (inp[i + 96 + k] << 6);
    out[o + 127] = (inp[i + 126] >>> 2) & 0x3f;
  }
}

/**
 * Unpads `blocks` whole 128-byte blocks into 127-byte blocks. The top two bits of each padded word are
 * ignored (they are zero in valid data).
 */
export function unpadBlocks(
  input: Uint8Array,
  inOff: number,
  output: Uint8Array,
  outOff: number,
  blocks: number,
): void {
  if (inOff + blocks * 128 > input.length || outOff + blocks * 127 > output.length) {
    throw new RangeError('unpadBlocks: buffer too small');
  }
  const w = input;
  const out = output;
  for (let b = 0; b < blocks; b++) {
    const i = inOff + b * 128;
    const o = outOff + b * 127;
    // output bit p comes from word floor(p/254), bit p mod 254
    for (let k = 0; k < 31; k++) out[o + k] = w[i + k];
    out[o + 31] = (w[i + 31] & 0x3f) | (w[i + 32] << 6);
    for (let j = 32; j < 63; j++) out[o + j] = (w[i + j] >>> 2) | (w[i + j + 1] << 6);
    out[o + 62] = (w[i + 62] >>> 2) | ((w[i + 63] & 0x3f) << 6);
    out[o + 63] = ((w[i + 63] & 0x3f) >>> 2) | (w[i + 64] << 4);
    for (let j = 64; j < 95; j++) out[o + j] = (w[i + j] >>> 4) | (w[i + j + 1] << 4);
    out[o + 94] = (w[i + 94] >>> 4) | ((w[i + 95] & 0x3f) << 4);
    out[o + 95] = ((w[i + 95] & 0x3f) >>> 4) | (w[i + 96] << 2);
    for (let j = 96; j < 127; j++) out[o + j] = (w[i + j] >>> 6) | (w[i + j + 1] << 2);
    out[o + 126] = (w[i + 126] >>> 6) | ((w[i + 127] & 0x3f) << 2);
  }
}

/**
 * Fr32-pads a buffer as Fr32Reader does: whole blocks, then the needed nodes of a zero-filled final
 * partial block. Returns `output` (allocated when not given) of length `fr32PaddedLength(input.length)`.
 */
export function padFr32(input: Uint8Array, output?: Uint8Array): Uint8Array {
  const len = fr32PaddedLength(input.length);
  const out = output ? output.subarray(0, len) : new Uint8Array(len);
  if (out.length < len) throw new RangeError(`padFr32: output needs ${len} bytes`);
  const blocks = Math.floor(input.length / 127);
  padBlocks(input, 0, out, 0, blocks);
  const rest = input.length - blocks * 127;
  if (rest > 0) {
    const tmpIn = new Uint8Array(127);
    tmpIn.set(input.subarray(blocks * 127));
    const tmpOut = new Uint8Array(128);
    padBlocks(tmpIn, 0, tmpOut, 0, 1);
    out.set(tmpOut.subarray(0, len - blocks * 128), blocks * 128);
  }
  return out;
}

/**
 * Removes Fr32 padding: `toUnpaddedSize(input.length)` bytes (a 128·k input gives 127·k bytes; a partial
 * final block gives the whole bytes its data bits cover).
 */
export function unpadFr32(input: Uint8Array, output?: Uint8Array): Uint8Array {
  const len = toUnpaddedSize(input.length);
  const out = output ? output.subarray(0, len) : new Uint8Array(len);
  if (out.length < len) throw new RangeError(`unpadFr32: output needs ${len} bytes`);
  const blocks = Math.floor(input.length / 128);
  unpadBlocks(input, 0, out, 0, blocks);
  const rest = input.length - blocks * 128;
  if (rest > 0) {
    const tmpIn = new Uint8Array(128);
    tmpIn.set(input.subarray(blocks * 128));
    const tmpOut = new Uint8Array(127);
    unpadBlocks(tmpIn, 0, tmpOut, 0, 1);
    out.set(tmpOut.subarray(0, len - blocks * 127), blocks * 127);
  }
  return out;
}

/** Default blocks per emitted chunk for the streams: 8192 blocks = 1 MiB padded. */
const DEFAULT_CHUNK_BLOCKS = 8192;

export interface Fr32StreamOptions {
  /** Blocks per emitted chunk (each chunk is 128·chunkBlocks padded bytes, except the last). */
  chunkBlocks?: number;
}

/**
 * Streams Fr32 padding over input of any size with bounded memory. Yields fresh buffers (the consumer may
 * keep them): whole chunks of 128·chunkBlocks bytes, then a final shorter chunk with the remaining whole
 * blocks and the nodes of a partial block, exactly `fr32PaddedLength(total input)` bytes in all.
 */
export async function* fr32PadStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: Fr32StreamOptions = {},
): AsyncGenerator<Uint8Array> {
  const chunkBlocks = options.chunkBlocks ?? DEFAULT_CHUNK_BLOCKS;
  if (!Number.isInteger(chunkBlocks) || chunkBlocks < 1) throw new RangeError('chunkBlocks must be ≥ 1');
  const stageLen = chunkBlocks * 127;
  const stage = new Uint8Array(stageLen);
  let staged = 0;
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length) {
      if (staged === 0 && piece.length - off >= stageLen) {
        // whole chunks straight from the input, no staging copy
        const out = new Uint8Array(chunkBlocks * 128);
        padBlocks(piece, off, out, 0, chunkBlocks);
        off += stageLen;
        yield out;
        continue;
      }
      const take = Math.min(stageLen - staged, piece.length - off);
      stage.set(piece.subarray(off, off + take), staged);
      staged += take;
      off += take;
      if (staged === stageLen) {
        const out = new Uint8Array(chunkBlocks * 128);
        padBlocks(stage, 0, out, 0, chunkBlocks);
        staged = 0;
        yield out;
      }
    }
  }
  if (staged > 0) yield padFr32(stage.subarray(0, staged));
}

export interface Fr32UnpadStreamOptions extends Fr32StreamOptions {
  /** Stop after this many unpadded bytes (e.g. a piece's payload size inside its padded piece). */
  limit?: number;
}

/**
 * Streams Fr32 unpadding: yields fresh buffers of 127·chunkBlocks bytes, then the tail
 * (`toUnpaddedSize` of the remaining padded bytes), cut at `limit` when given.
 */
export async function* fr32UnpadStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: Fr32UnpadStreamOptions = {},
): AsyncGenerator<Uint8Array> {
  const chunkBlocks = options.chunkBlocks ?? DEFAULT_CHUNK_BLOCKS;
  if (!Number.isInteger(chunkBlocks) || chunkBlocks < 1) throw new RangeError('chunkBlocks must be ≥ 1');
  let left = options.limit ?? Number.POSITIVE_INFINITY;
  const stageLen = chunkBlocks * 128;
  const stage = new Uint8Array(stageLen);
  let staged = 0;
  const emit = (out: Uint8Array): Uint8Array => {
    const cut = out.length > left ? out.subarray(0, left) : out;
    left -= cut.length;
    return cut;
  };
  for await (const piece of source) {
    let off = 0;
    while (off < piece.length && left > 0) {
      const take = Math.min(stageLen - staged, piece.length - off);
      stage.set(piece.subarray(off, off + take), staged);
      staged += take;
      off += take;
      if (staged === stageLen) {
        const out = new Uint8Array(chunkBlocks * 127);
        unpadBlocks(stage, 0, out, 0, chunkBlocks);
        staged = 0;
        yield emit(out);
      }
    }
    if (left <= 0) return;
  }
  if (staged > 0 && left > 0) yield emit(unpadFr32(stage.subarray(0, staged)));
}

/** `fr32PadStream` as a Node Transform (Duplex) for `stream.pipeline`. */
export function createFr32PadTransform(options: Fr32StreamOptions = {}): Duplex {
  return Duplex.from((source: AsyncIterable<Uint8Array>) => fr32PadStream(source, options));
}

/** `fr32UnpadStream` as a Node Transform (Duplex) for `stream.pipeline`. */
export function createFr32UnpadTransform(options: Fr32UnpadStreamOptions = {}): Duplex {
  return Duplex.from((source: AsyncIterable<Uint8Array>) => fr32UnpadStream(source, options));
}
