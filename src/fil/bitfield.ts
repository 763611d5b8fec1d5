/**
 * RLE+ bitfields (go-bitfield rle/, fvm_ipld_bitfield), the encoding of sector number sets in actor params
 * and state (CBOR byte string) and, as run lengths, in Lotus JSON.
 *
 * Bits are read and written LSB-first within each byte. Stream: version "00", the value of the first run (1 bit),
 * then the run lengths of alternating values: 1 → "1"; 2..15 → "01" + 4 bits; ≥ 16 → "00" + uvarint bytes.
 * A trailing run of zeros is not written and trailing zero bytes are trimmed, so the empty set is zero bytes.
 *
 * Decoding follows go-bitfield by default (the decoder Lotus, venus and the cluster use): it refuses a wrong
 * version, a trailing zero byte, a malformed varint and lengths overflowing 64 bits, stops at a zero-length run,
 * and accepts other non-minimal forms. `{ strict: true }` applies the rules of the Rust decoder the builtin
 * actors run on chain (fvm_ipld_bitfield): every block must be minimal (a 4-bit block holds 2..15, a varint
 * block ≥ 16), no zero-length runs, no trailing run of zeros. The encoder always writes the canonical form
 * both accept.
 *
 * Positions are JS numbers: a set reaching beyond 2^53 is refused (sector numbers never get there).
 */
import { BitFieldError } from './errors.js';

/** A run of consecutive set bits: start, start+1, …, start+count-1. */
export interface BitRange {
  start: number;
  count: number;
}

export interface BitFieldDecodeOptions {
  /** Apply the on-chain (Rust, fvm_ipld_bitfield) minimality rules instead of go-bitfield's. */
  strict?: boolean;
}

/** Largest encoded bitfield go-bitfield and the actors accept from CBOR (32 KiB). */
export const BITFIELD_MAX_ENCODED_SIZE = 32 << 10;
const U64_MAX = (1n << 64n) - 1n;

class BitReader {
  private pos = 0;
  /** One past the highest set bit of the input. */
  readonly end: number;
  constructor(private readonly buf: Uint8Array) {
    const last = buf.length ? buf[buf.length - 1]! : 0;
    this.end = buf.length ? (buf.length - 1) * 8 + (32 - Math.clz32(last)) : 0;
  }
  /** Reads n ≤ 8 bits LSB-first; zeros past the end. */
  read(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const p = this.pos++;
      const byte = p >> 3;
      if (byte < this.buf.length && (this.buf[byte]! >> (p & 7)) & 1) v |= 1 << i;
    }
    return v;
  }
  peek(n: number): number {
    const save = this.pos;
    const v = this.read(n);
    this.pos = save;
    return v;
  }
  hasMore(): boolean {
    return this.pos < this.end;
  }
}

class BitWriter {
  private readonly out: number[] = [];
  private acc = 0;
  private nbits = 0;
  write(value: number, n: number): void {
    for (let i = 0; i < n; i++) {
      if ((value >> i) & 1) this.acc |= 1 << this.nbits;
      if (++this.nbits === 8) {
        this.out.push(this.acc);
        this.acc = 0;
        this.nbits = 0;
      }
    }
  }
  writeLength(len: number): void {
    if (len === 1) this.write(1, 1);
    else if (len < 16) {
      this.write(0b10, 2);
      this.write(len, 4);
    } else {
      this.write(0b00, 2);
      let v = BigInt(len);
      while (v >= 0x80n) {
        this.write(Number(v & 0x7fn) | 0x80, 8);
        v >>= 7n;
      }
      this.write(Number(v), 8);
    }
  }
  finish(): Uint8Array {
    if (this.nbits) this.out.push(this.acc);
    let n = this.out.length;
    while (n > 0 && this.out[n - 1] === 0) n--;
    return Uint8Array.from(this.out.slice(0, n));
  }
}

function readVarint(r: BitReader): bigint {
  let v = 0n;
  for (let i = 0; i < 10; i++) {
    const b = r.read(8);
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) {
      if (i === 9 && b > 1) break;
      if (b === 0 && i > 0) throw new BitFieldError('invalid RLE+: varint run length not minimally encoded');
      return v;
    }
  }
  throw new BitFieldError('invalid RLE+: varint run length too long (over 64 bits)');
}

/** Decodes RLE+ bytes into the set bits' ranges (sorted, disjoint, non-adjacent). */
function decodeRanges(bytes: Uint8Array, strict: boolean): BitRange[] {
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0)
    throw new BitFieldError('invalid RLE+: not minimally encoded (trailing zero byte)');
  const r = new BitReader(bytes);
  const version = r.read(2);
  if (version !== 0) throw new BitFieldError(`invalid RLE+: unsupported version ${version}`);
  let value = r.read(1) === 1;
  let pos = 0n;
  const ranges: BitRange[] = [];
  for (;;) {
    if (strict && !r.hasMore()) break;
    let len: bigint;
    if (r.peek(1) === 1) {
      r.read(1);
      len = 1n;
    } else if (r.peek(2) === 0b10) {
      r.read(2);
      len = BigInt(r.read(4));
      if (strict && len < 2n)
        throw new BitFieldError(`invalid RLE+: not minimally encoded (run of ${len} in a 4-bit block)`);
    } else {
      r.read(2);
      len = readVarint(r);
      if (strict && len < 16n)
        throw new BitFieldError(`invalid RLE+: not minimally encoded (run of ${len} in a varint block)`);
    }
    if (len === 0n) break; // go-bitfield: a zero-length run ends the stream
    if (pos + len > U64_MAX) throw new BitFieldError('invalid RLE+: run lengths overflow 64 bits');
    if (value) {
      if (pos + len > BigInt(Number.MAX_SAFE_INTEGER) + 1n) {
        throw new BitFieldError('bitfield reaches beyond 2^53, which this implementation does not support');
      }
      ranges.push({ start: Number(pos), count: Number(len) });
    }
    pos += len;
    value = !value;
  }
  // in strict mode the stream must end on a run of ones (value has flipped to false after it)
  if (strict && value) throw new BitFieldError('invalid RLE+: not minimally encoded (trailing run of zeros)');
  return ranges;
}

function checkPosition(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new BitFieldError(`${what} must be a non-negative integer, got ${n}`);
}

/** An immutable set of non-negative integers stored as runs. */
export class BitField {
  /** Sorted, disjoint, non-adjacent ranges of set bits. */
  private readonly rs: readonly BitRange[];

  private constructor(ranges: BitRange[]) {
    this.rs = ranges;
  }

  static empty(): BitField {
    return new BitField([]);
  }

  /** From any iterable of positions (unsorted and duplicates are fine). */
  static fromNumbers(numbers: Iterable<number>): BitField {
    const xs = [...numbers];
    for (const x of xs) checkPosition(x, 'bitfield position');
    xs.sort((a, b) => a - b);
    const out: BitRange[] = [];
    for (const x of xs) {
      const last = out[out.length - 1];
      if (last && x <= last.start + last.count) {
        if (x === last.start + last.count) last.count++;
      } else out.push({ start: x, count: 1 });
    }
    return new BitField(out);
  }

  /** From ranges in any order; overlapping or touching ranges merge. */
  static fromRanges(ranges: Iterable<BitRange>): BitField {
    const xs = [...ranges].filter((r) => {
      checkPosition(r.start, 'range start');
      checkPosition(r.count, 'range count');
      if (!Number.isSafeInteger(r.start + r.count)) throw new BitFieldError('range reaches beyond 2^53');
      return r.count > 0;
    });
    xs.sort((a, b) => a.start - b.start);
    const out: BitRange[] = [];
    for (const r of xs) {
      const last = out[out.length - 1];
      if (last && r.start <= last.start + last.count) {
        last.count = Math.max(last.count, r.start + r.count - last.start);
      } else out.push({ start: r.start, count: r.count });
    }
    return new BitField(out);
  }

  /**
   * From Lotus JSON run lengths, alternating and starting with a (possibly 0) run of unset bits:
   * [0, 3, 5, 2] = {0, 1, 2, 8, 9}; [0] or [] = empty. A zero-length run is only allowed first (go-bitfield).
   */
  static fromRunLengths(runs: readonly number[]): BitField {
    if (!Array.isArray(runs)) throw new BitFieldError('bitfield JSON must be an array of run lengths');
    const out: BitRange[] = [];
    let pos = 0;
    runs.forEach((len, i) => {
      checkPosition(len, `run length ${i}`);
      if (len === 0 && i !== 0) throw new BitFieldError('bitfield JSON: cannot have a zero-length run except at start');
      if (i % 2 === 1) out.push({ start: pos, count: len });
      pos += len;
      if (!Number.isSafeInteger(pos)) throw new BitFieldError('bitfield reaches beyond 2^53');
    });
    return new BitField(out);
  }

  /** Lotus JSON form (see fromRunLengths). */
  static fromJSON(v: unknown): BitField {
    return BitField.fromRunLengths(v as number[]);
  }

  /** Decodes RLE+ bytes (go-bitfield rules, or the on-chain Rust rules with strict). */
  static decode(bytes: Uint8Array, opts: BitFieldDecodeOptions = {}): BitField {
    if (!(bytes instanceof Uint8Array)) throw new BitFieldError('RLE+ bitfield must be bytes');
    if (bytes.length > BITFIELD_MAX_ENCODED_SIZE) {
      throw new BitFieldError(`encoded bitfield too large (${bytes.length} bytes, max ${BITFIELD_MAX_ENCODED_SIZE})`);
    }
    return new BitField(decodeRanges(bytes, opts.strict ?? false));
  }

  /** Canonical RLE+ bytes (what go-bitfield and the actors write). */
  encode(): Uint8Array {
    if (this.rs.length === 0) return new Uint8Array(0);
    const w = new BitWriter();
    w.write(0, 2);
    const first = this.rs[0]!;
    if (first.start === 0) w.write(1, 1);
    else {
      w.write(0, 1);
      w.writeLength(first.start);
    }
    w.writeLength(first.count);
    let end = first.start + first.count;
    for (let i = 1; i < this.rs.length; i++) {
      const r = this.rs[i]!;
      w.writeLength(r.start - end);
      w.writeLength(r.count);
      end = r.start + r.count;
    }
    return w.finish();
  }

  /** Run lengths starting with unset bits, as Lotus JSON; [0] when empty. */
  runLengths(): number[] {
    if (this.rs.length === 0) return [0];
    const out: number[] = [];
    let pos = 0;
    for (const r of this.rs) {
      out.push(r.start - pos, r.count);
      pos = r.start + r.count;
    }
    return out;
  }

  toJSON(): number[] {
    return this.runLengths();
  }

  /** The set bits as ranges (copies). */
  ranges(): BitRange[] {
    return this.rs.map((r) => ({ ...r }));
  }

  has(n: number): boolean {
    let lo = 0;
    let hi = this.rs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = this.rs[mid]!;
      if (n < r.start) hi = mid - 1;
      else if (n >= r.start + r.count) lo = mid + 1;
      else return true;
    }
    return false;
  }

  count(): number {
    let n = 0;
    for (const r of this.rs) n += r.count;
    return n;
  }

  isEmpty(): boolean {
    return this.rs.length === 0;
  }

  /** Smallest set bit; undefined when empty. */
  first(): number | undefined {
    return this.rs[0]?.start;
  }

  /** Largest set bit; undefined when empty. */
  last(): number | undefined {
    const r = this.rs[this.rs.length - 1];
    return r && r.start + r.count - 1;
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (const r of this.rs) for (let i = 0; i < r.count; i++) yield r.start + i;
  }

  /** All set bits in order; refuses sets above `max` elements (default 10 million) to avoid runaway memory. */
  toArray(max = 10_000_000): number[] {
    const c = this.count();
    if (c > max) throw new BitFieldError(`bitfield has ${c} bits set, more than ${max}`);
    return [...this];
  }

  equals(other: BitField): boolean {
    if (this.rs.length !== other.rs.length) return false;
    return this.rs.every((r, i) => r.start === other.rs[i]!.start && r.count === other.rs[i]!.count);
  }

  union(other: BitField): BitField {
    return BitField.fromRanges([...this.rs, ...other.rs]);
  }

  intersect(other: BitField): BitField {
    const out: BitRange[] = [];
    let i = 0;
    let j = 0;
    while (i < this.rs.length && j < other.rs.length) {
      const a = this.rs[i]!;
      const b = other.rs[j]!;
      const s = Math.max(a.start, b.start);
      const e = Math.min(a.start + a.count, b.start + b.count);
      if (s < e) out.push({ start: s, count: e - s });
      if (a.start + a.count < b.start + b.count) i++;
      else j++;
    }
    return new BitField(out);
  }

  /** The bits of this set that are not in `other`. */
  subtract(other: BitField): BitField {
    const out: BitRange[] = [];
    let j = 0;
    for (const a of this.rs) {
      let s = a.start;
      const e = a.start + a.count;
      while (j < other.rs.length && other.rs[j]!.start + other.rs[j]!.count <= s) j++;
      let k = j;
      while (s < e && k < other.rs.length && other.rs[k]!.start < e) {
        const b = other.rs[k]!;
        if (b.start > s) out.push({ start: s, count: b.start - s });
        s = Math.max(s, b.start + b.count);
        k++;
      }
      if (s < e) out.push({ start: s, count: e - s });
    }
    return new BitField(out);
  }

  /** Union of many bitfields. */
  static union(...fields: BitField[]): BitField {
    return BitField.fromRanges(fields.flatMap((f) => f.rs));
  }

  toString(): string {
    return `BitField{${this.rs.map((r) => (r.count === 1 ? `${r.start}` : `${r.start}..${r.start + r.count - 1}`)).join(',')}}`;
  }
}
