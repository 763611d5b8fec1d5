/**
 * RLE+ bitfield tests.
 *
 * Vectors and their sources:
 * - go-bitfield rle/rleplus_test.go TestDecode (@7744913): {0,2,4,5,6,11..27} ↔ 7c 47 22 02 (the Rust reference
 *   encoding with the version header added).
 * - go-bitfield rle/rleplus_golden_test.go goldenRLE (testdata/go-bitfield-golden.hex, 2062 bytes): decoding and
 *   re-encoding gives the same bytes (TestGoldenLoop); the strict decoder accepts it too.
 * - go-bitfield rle/rleplus.go MarshalJSON doc: {0,1,2,8,9} ↔ [0,3,5,2]; empty ↔ [0]; UnmarshalJSON refuses a
 *   zero-length run after the first.
 * - fvm_ipld_bitfield (filecoin-project/ref-fvm ipld/bitfield/src/rleplus/mod.rs, test `test`): the bit-level table of
 *   valid and invalid streams (wrong version, non-minimal blocks, trailing garbage, trailing zero runs, bad varints,
 *   64-bit overflow), checked against our strict decoder; the go-bitfield reading of the same streams is checked
 *   against go's rules (rleplus_reader.go: a zero-length run ends the stream).
 * - docs/spec/chain.md §Bitfields (computed with an encoder that reproduces go-bitfield's own vector): {0} → 0c, {1} →
 *   18, {5} → b0 02, {0,1,2} → 74, {3,4} → 70 14, {100} → 80 2c, {} → empty.
 * - Set operations: checked against a naive Set on seeded random inputs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BitField } from './bitfield.js';
import { fromHex, toHex } from './bytes.js';
import { BitFieldError } from './errors.js';

/** Packs bits LSB-first into bytes without trimming (like fvm's BitWriter::finish_test). */
function bitsToBytes(bits: number[]): Uint8Array {
  const out = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}
const zeros = (n: number) => Array<number>(n).fill(0);
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('bitfield: go-bitfield vectors', () => {
  it('TestDecode reference encoding', () => {
    const set = [0, 2, 4, 5, 6, ...range(11, 27)];
    const bf = BitField.fromNumbers(set);
    assert.equal(toHex(bf.encode()), '7c472202');
    assert.deepEqual(BitField.decode(fromHex('7c472202')).toArray(), set);
    assert.deepEqual(BitField.decode(fromHex('7c472202'), { strict: true }).toArray(), set);
  });

  it('golden RLE decodes and re-encodes to the same bytes', () => {
    const golden = fromHex(readFileSync(new URL('./testdata/go-bitfield-golden.hex', import.meta.url), 'utf8').trim());
    assert.equal(golden.length, 2062);
    const bf = BitField.decode(golden);
    assert.equal(toHex(bf.encode()), toHex(golden));
    assert.ok(BitField.decode(golden, { strict: true }).equals(bf));
    assert.ok(bf.count() > 1000);
    assert.equal(BitField.fromNumbers(bf.toArray()).encode().length, golden.length);
  });

  it('small sets (docs/spec/chain.md §Bitfields)', () => {
    const cases: [number[], string][] = [
      [[], ''],
      [[0], '0c'],
      [[1], '18'],
      [[5], 'b002'],
      [[0, 1, 2], '74'],
      [[3, 4], '7014'],
      [[100], '802c'],
    ];
    for (const [set, hex] of cases) {
      assert.equal(toHex(BitField.fromNumbers(set).encode()), hex, JSON.stringify(set));
      assert.deepEqual(BitField.decode(fromHex(hex), { strict: true }).toArray(), set);
    }
  });

  it('Lotus JSON run lengths', () => {
    const bf = BitField.fromNumbers([0, 1, 2, 8, 9]);
    assert.deepEqual(bf.runLengths(), [0, 3, 5, 2]);
    assert.equal(JSON.stringify({ s: bf }), '{"s":[0,3,5,2]}');
    assert.deepEqual(BitField.fromJSON([0, 3, 5, 2]).toArray(), [0, 1, 2, 8, 9]);
    assert.deepEqual(BitField.fromJSON([5, 1]).toArray(), [5]);
    assert.deepEqual(BitField.empty().runLengths(), [0]);
    assert.ok(BitField.fromJSON([0]).isEmpty());
    assert.ok(BitField.fromJSON([]).isEmpty());
    assert.throws(() => BitField.fromJSON([0, 3, 0, 2]), /zero-length run except at start/);
    assert.throws(() => BitField.fromJSON([1, -2]), /non-negative integer/);
    assert.throws(() => BitField.fromJSON('x'), /array of run lengths/);
  });
});

describe('bitfield: decoder rules (fvm_ipld_bitfield table, go-bitfield reading)', () => {
  const s = (bits: number[]) => () => BitField.decode(bitsToBytes(bits), { strict: true });
  const g = (bits: number[]) => BitField.decode(bitsToBytes(bits));

  it('valid streams', () => {
    assert.ok(s([])().isEmpty());
    assert.deepEqual(s([0, 0, 1, 0, 1, 0, 0, 0, 1])().toArray(), range(0, 7));
    assert.deepEqual(s([0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0])().toArray(), [0, 1, 2, 3, 5, 6, 7]);
    assert.deepEqual(s([0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0])().toArray(), range(0, 24));
    // the trailing zero bits stay inside the last non-zero byte
    assert.deepEqual(s([0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0])().toArray(), range(0, 16));
  });

  it('invalid streams, strict (the on-chain decoder)', () => {
    const cases: [number[], RegExp][] = [
      [[1, 0, 1, 0, 1, 0, 0, 0, 1], /unsupported version 1/],
      [[0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1], /run of 0 in a 4-bit block/],
      [[0, 0, 1, 1, 0, 0, ...zeros(8), 1], /run of 0 in a varint block/],
      [[0, 0, 1, 0, 1, 1, 0, 1, ...zeros(8)], /trailing zero byte/],
      [[0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, ...zeros(8), 1, 1, 1], /varint run length not minimally encoded/],
      [[0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1], /run of 3 in a varint block/],
      [[0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1], /run of 1 in a varint block/],
      [[0, 0, 1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1], /run of 1 in a 4-bit block/],
      [[0, 0, 0, 1], /trailing run of zeros/],
      [[0, 0, 0, 0, 1, 0, 0, 1, 0], /not minimally encoded/], // 9 bits: also a trailing zero byte
      [[0, 0, 1, 0, 1, 0, 0, 1, 0, 1], /trailing run of zeros/],
      [[0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0], /trailing run of zeros/],
    ];
    for (const [bits, re] of cases)
      assert.throws(s(bits), (e: unknown) => e instanceof BitFieldError && re.test(e.message), bits.join(''));
  });

  it('the same streams read by go-bitfield rules', () => {
    // a zero-length run ends the stream; what follows is ignored
    assert.deepEqual(g([0, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1]).toArray(), [0]);
    assert.deepEqual(g([0, 0, 1, 1, 0, 0, ...zeros(8), 1]).toArray(), [0]);
    // non-minimal blocks are accepted
    assert.deepEqual(g([0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 1]).toArray(), [0, 1, 2]);
    assert.deepEqual(g([0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 1]).toArray(), [0]);
    // a trailing zero run is dropped
    assert.ok(g([0, 0, 0, 1]).isEmpty());
    assert.deepEqual(g([0, 0, 1, 0, 1, 0, 0, 1, 0, 1]).toArray(), [0, 1, 2, 3]);
    // but these are refused in both modes
    assert.throws(() => g([0, 0, 1, 0, 1, 1, 0, 1, ...zeros(8)]), /trailing zero byte/);
    assert.throws(() => g([1, 0, 1]), /unsupported version 1/);
    assert.throws(() => g([0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, ...zeros(8), 1, 1, 1]), /not minimally encoded/);
  });

  it('varints: over 64 bits, 64-bit overflow of the total, and our 2^53 limit', () => {
    const varintBits = (bytes: number[]) => bytes.flatMap((b) => range(0, 7).map((i) => (b >> i) & 1));
    // 11-byte varint (one byte too many); a final 1 bit keeps the last byte non-zero
    const tooLong = [
      0,
      0,
      1,
      0,
      0,
      ...varintBits([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
      1,
    ];
    assert.throws(() => g(tooLong), /varint run length too long/);
    assert.throws(s(tooLong), /varint run length too long/);
    // ones(1) then zeros(2^64 - 1) then ones(1): the total passes 2^64
    const u64max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    const overflow = [0, 0, 1, 1, 0, 0, ...varintBits(u64max), 1];
    assert.throws(() => g(overflow), /overflow 64 bits/);
    assert.throws(s(overflow), /overflow 64 bits/);
    // fvm iter_last: 2^64 - 2 set bits; valid on chain, beyond what this implementation holds
    const huge = fromHex('e4ffffffffffffffff2fffffffffffffffff7f');
    assert.throws(() => BitField.decode(huge), /beyond 2\^53/);
    // a zero run up to 2^53 is fine: {2^53 - 1}
    const top = BitField.fromNumbers([Number.MAX_SAFE_INTEGER]);
    assert.deepEqual(BitField.decode(top.encode(), { strict: true }).toArray(), [Number.MAX_SAFE_INTEGER]);
  });

  it('size limit and type checks', () => {
    assert.throws(() => BitField.decode(new Uint8Array(32 * 1024 + 1).fill(1)), /too large \(32769 bytes, max 32768\)/);
    assert.throws(() => BitField.decode('0c' as unknown as Uint8Array), /must be bytes/);
    assert.throws(() => BitField.fromNumbers([1, -1]), /non-negative integer/);
    assert.throws(() => BitField.fromNumbers([0.5]), /non-negative integer/);
  });
});

describe('bitfield: set operations against a naive Set', () => {
  // xorshift32, so failures reproduce
  let seed = 0x9e3779b9;
  const rnd = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const randomSet = () => {
    const out = new Set<number>();
    const runs = rnd(12);
    let pos = rnd(40);
    for (let i = 0; i < runs; i++) {
      const len = 1 + rnd(rnd(2) ? 3 : 40);
      for (let k = 0; k < len; k++) out.add(pos + k);
      pos += len + 1 + rnd(rnd(2) ? 3 : 300);
    }
    return out;
  };
  const sorted = (s: Iterable<number>) => [...s].sort((a, b) => a - b);

  it('union, intersect, subtract, has, count, first/last, encode/decode', () => {
    for (let iter = 0; iter < 300; iter++) {
      const a = randomSet();
      const b = randomSet();
      const A = BitField.fromNumbers(a);
      const B = BitField.fromNumbers(b);
      assert.deepEqual(A.toArray(), sorted(a));
      assert.deepEqual(A.union(B).toArray(), sorted(new Set([...a, ...b])));
      assert.deepEqual(A.intersect(B).toArray(), sorted([...a].filter((x) => b.has(x))));
      assert.deepEqual(A.subtract(B).toArray(), sorted([...a].filter((x) => !b.has(x))));
      assert.equal(A.count(), a.size);
      assert.equal(A.first(), a.size ? Math.min(...a) : undefined);
      assert.equal(A.last(), a.size ? Math.max(...a) : undefined);
      for (let k = 0; k < 20; k++) {
        const x = rnd(2000);
        assert.equal(A.has(x), a.has(x));
      }
      const enc = A.encode();
      assert.ok(BitField.decode(enc, { strict: true }).equals(A));
      assert.ok(BitField.fromRunLengths(A.runLengths()).equals(A));
      assert.ok(BitField.fromRanges(A.ranges()).equals(A));
    }
  });

  it('ranges merge, iterate, toString', () => {
    const bf = BitField.fromRanges([
      { start: 10, count: 5 },
      { start: 0, count: 3 },
      { start: 3, count: 2 },
      { start: 12, count: 10 },
      { start: 40, count: 0 },
    ]);
    assert.deepEqual(bf.ranges(), [
      { start: 0, count: 5 },
      { start: 10, count: 12 },
    ]);
    assert.equal(bf.toString(), 'BitField{0..4,10..21}');
    assert.deepEqual([...BitField.fromNumbers([3, 1, 2, 2, 9])], [1, 2, 3, 9]);
    assert.deepEqual(
      BitField.union(BitField.fromNumbers([1]), BitField.fromNumbers([3]), BitField.empty()).toArray(),
      [1, 3],
    );
    assert.throws(() => BitField.fromRanges([{ start: 0, count: 20 }]).toArray(10), /20 bits set, more than 10/);
  });
});
