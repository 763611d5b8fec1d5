import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { Fr32 } from '@web3-storage/data-segment';
import {
  createFr32PadTransform,
  createFr32UnpadTransform,
  fr32PaddedLength,
  fr32PadStream,
  fr32UnpadStream,
  padBlocks,
  padBlocksBytes,
  padFr32,
  toPaddedSize,
  toUnpaddedSize,
  unpadFr32,
} from './fr32.js';

/** Bit-level reference, straight from the definition: out_k = (v >> 254k) & (2^254 − 1) per 127-byte block. */
function referencePad(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(fr32PaddedLength(data.length));
  const mask = (1n << 254n) - 1n;
  for (let b = 0; b * 127 < data.length; b++) {
    const block = new Uint8Array(127);
    block.set(data.subarray(b * 127, b * 127 + 127));
    let v = 0n;
    for (let i = 126; i >= 0; i--) v = (v << 8n) | BigInt(block[i]);
    for (let k = 0; k < 4; k++) {
      const at = b * 128 + k * 32;
      if (at >= out.length) break;
      let w = (v >> BigInt(254 * k)) & mask;
      for (let i = 0; i < 32; i++) {
        out[at + i] = Number(w & 0xffn);
        w >>= 8n;
      }
    }
  }
  return out;
}

async function collect(gen: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of gen) parts.push(c);
  return Buffer.concat(parts);
}

function* chunked(data: Uint8Array, sizes: number[]): Generator<Uint8Array> {
  let off = 0;
  for (let i = 0; off < data.length; i++) {
    const n = sizes[i % sizes.length];
    yield data.subarray(off, off + n);
    off += n;
  }
}

describe('fr32', () => {
  it('pads 127 bytes of 0xff into four ff…ff3f words (docs/spec/proofs.md §Fr32 padding, rust test_simple_127)', () => {
    const out = padFr32(new Uint8Array(127).fill(0xff));
    assert.equal(out.length, 128);
    for (let k = 0; k < 4; k++) {
      assert.ok(out.subarray(k * 32, k * 32 + 31).every((x) => x === 0xff));
      assert.equal(out[k * 32 + 31], 0x3f);
    }
  });

  it('matches rust fr32 reader tests (short, single, exotic)', () => {
    // test_simple_short: 30 bytes of 3 → one node, data unchanged
    const s = padFr32(new Uint8Array(30).fill(3));
    assert.equal(s.length, 32);
    assert.deepEqual([...s.subarray(0, 30)], new Array(30).fill(3));
    // test_simple_single: 32 bytes of 0xff → 64 bytes, [31] = 0x3f, [32] = 0x03
    const one = padFr32(new Uint8Array(32).fill(0xff));
    assert.equal(one.length, 64);
    assert.equal(one[31], 0b0011_1111);
    assert.equal(one[32], 0b0000_0011);
    // test_exotic
    const src: number[] = [];
    for (let r = 0; r < 2; r++) {
      for (let i = 1; i <= 31; i++) src.push(i);
      src.push(0xff);
    }
    src.push(9, 9, 9, 0xff);
    const buf = padFr32(Uint8Array.from(src));
    for (let i = 0; i < 31; i++) assert.equal(buf[i], i + 1);
    assert.equal(buf[31], 63);
    assert.equal(buf[32], (1 << 2) | 0b11);
    for (let i = 33; i < 63; i++) assert.equal(buf[i], ((i - 31) << 2) & 0xff);
    assert.equal(buf[63], 0x0f << 2);
    assert.equal(buf[64], 0x0f | (9 << 4));
    assert.equal(buf[65], (9 << 4) & 0xff);
    assert.equal(buf[66], (9 << 4) & 0xff);
    assert.equal(buf[67], 0xf0);
    assert.equal(buf[68], 0x0f);
  });

  it('agrees with the bit-level definition for every tail length', () => {
    const data = randomBytes(127 * 3 + 126);
    for (let n = 0; n <= data.length; n += n < 260 ? 1 : 37) {
      const d = data.subarray(0, n);
      assert.deepEqual(Buffer.from(padFr32(d)), Buffer.from(referencePad(d)), `length ${n}`);
    }
  });

  it('32-bit lane and byte loops agree, aligned or not', () => {
    const blocks = 300;
    const input = randomBytes(blocks * 127 + 3);
    const a = new Uint8Array(blocks * 128 + 8);
    const b = new Uint8Array(blocks * 128 + 8);
    padBlocks(input, 3, a, 4, blocks);
    padBlocksBytes(input, 3, b, 4, blocks);
    assert.deepEqual(a, b);
    const c = new Uint8Array(blocks * 128 + 8);
    padBlocks(input, 3, c, 1, blocks); // unaligned output takes the byte path
    assert.deepEqual(c.subarray(1, 1 + blocks * 128), a.subarray(4, 4 + blocks * 128));
  });

  it('agrees with @web3-storage/data-segment Fr32.pad (independent implementation)', () => {
    for (const n of [127, 254, 1016, 127 * 64, 5000]) {
      const d = randomBytes(n);
      const theirs = Fr32.pad(d);
      const ours = padFr32(d);
      // data-segment zero-extends to a whole power-of-two piece; the extra bytes must be zero
      assert.deepEqual(Buffer.from(theirs.subarray(0, ours.length)), Buffer.from(ours), `n=${n}`);
      assert.ok(theirs.subarray(ours.length).every((x) => x === 0));
    }
  });

  it('every padded word is a valid Fr (top two bits clear)', () => {
    const out = padFr32(new Uint8Array(127 * 9).fill(0xff));
    for (let i = 31; i < out.length; i += 32) assert.equal(out[i] & 0xc0, 0);
  });

  it('unpads back to the input, including partial blocks', () => {
    const data = randomBytes(127 * 5 + 77);
    for (const n of [0, 1, 31, 32, 126, 127, 128, 254, 300, data.length]) {
      const d = data.subarray(0, n);
      const p = padFr32(d);
      const u = unpadFr32(p);
      assert.ok(u.length >= n);
      assert.deepEqual(Buffer.from(u.subarray(0, n)), Buffer.from(d), `n=${n}`);
      assert.ok(u.subarray(n).every((x) => x === 0));
    }
    const big = new Uint8Array(1016).fill(0xff);
    assert.deepEqual(unpadFr32(padFr32(big)), big);
  });

  it('size math follows rust to_padded_bytes / to_unpadded_bytes', () => {
    assert.equal(toPaddedSize(127), 128);
    assert.equal(toPaddedSize(1016), 1024);
    assert.equal(toPaddedSize(2032), 2048);
    assert.equal(toPaddedSize(32), 33); // 256 bits: one 254-bit unit + 2 bits → 258 bits → 33 bytes
    assert.equal(toPaddedSize(0), 0);
    assert.equal(toUnpaddedSize(128), 127);
    assert.equal(toUnpaddedSize(2048), 2032);
    assert.equal(toUnpaddedSize(32 * 2 ** 30), 32 * 2 ** 30 - 2 ** 28);
    assert.equal(toUnpaddedSize(32), 31); // 254 bits → 31 whole bytes
    assert.equal(fr32PaddedLength(30), 32);
    assert.equal(fr32PaddedLength(32), 64);
    assert.equal(fr32PaddedLength(127), 128);
    assert.equal(fr32PaddedLength(128), 160);
    assert.throws(() => toPaddedSize(-1), RangeError);
  });

  it('streams pad and unpad over any chunking', async () => {
    const data = randomBytes(127 * 40 + 50);
    const expected = Buffer.from(padFr32(data));
    for (const sizes of [[1], [127], [1000, 3, 9000], [data.length]]) {
      const padded = await collect(fr32PadStream(chunked(data, sizes), { chunkBlocks: 7 }));
      assert.deepEqual(padded, expected, `chunks ${sizes}`);
      const back = await collect(fr32UnpadStream(chunked(padded, sizes), { chunkBlocks: 5, limit: data.length }));
      assert.deepEqual(back, Buffer.from(data));
    }
  });

  it('works as Node transforms in a pipeline', async () => {
    const data = randomBytes(127 * 20 + 9);
    const parts: Buffer[] = [];
    await pipeline(
      Readable.from(chunked(data, [100, 1000])),
      createFr32PadTransform({ chunkBlocks: 3 }),
      createFr32UnpadTransform({ chunkBlocks: 2, limit: data.length }),
      new Writable({
        write(chunk, _enc, cb) {
          parts.push(chunk);
          cb();
        },
      }),
    );
    assert.deepEqual(Buffer.concat(parts), Buffer.from(data));
  });
});
