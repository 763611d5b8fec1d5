/**
 * RLE+ bitfields at the devnet's edges (message params, JSON results), over fil's bitfield codec.
 * State keeps sorted number arrays (sets.ts); these convert.
 */
import * as fil from '../fil/index.js';
import type { NumSet } from './sets.js';

interface BitfieldApi {
  decodeRleBitfield?: (b: Uint8Array) => Iterable<number | bigint> | { toArray(): (number | bigint)[] };
}

function filApi(): BitfieldApi {
  return fil as unknown as BitfieldApi;
}

export function bitfieldFromBytes(b: Uint8Array): NumSet {
  void filApi;
  void b;
  throw new Error('RLE+ bitfields: waiting for fil/bitfield');
}

export function bitfieldToBytes(s: NumSet): Uint8Array {
  void s;
  throw new Error('RLE+ bitfields: waiting for fil/bitfield');
}

/** Lotus JSON of a bitfield: run lengths starting with a 0-run ({0,1,2,8,9} → [0,3,5,2]; empty → [0]). */
export function bitfieldToJson(s: NumSet): number[] {
  if (s.length === 0) return [0];
  const runs: number[] = [];
  let pos = 0;
  let i = 0;
  while (i < s.length) {
    const start = s[i]!;
    runs.push(start - pos);
    let end = start;
    while (i + 1 < s.length && s[i + 1] === end + 1) {
      i++;
      end++;
    }
    runs.push(end - start + 1);
    pos = end + 1;
    i++;
  }
  return runs;
}

export function bitfieldFromJson(v: unknown): NumSet {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new Error('bitfield JSON must be an array of run lengths');
  }
  const out: number[] = [];
  let pos = 0;
  v.forEach((len: number, i) => {
    if (i % 2 === 1) for (let k = 0; k < len; k++) out.push(pos + k);
    pos += len;
  });
  return out;
}
