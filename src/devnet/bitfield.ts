/**
 * RLE+ bitfields at the devnet's edges (message params, JSON results), over fil's BitField.
 * State keeps sorted number arrays (sets.ts); these convert.
 */
import { BitField } from '../fil/index.js';
import type { NumSet } from './sets.js';

/** Decodes RLE+ bytes (strict: minimal encoding) into a sorted set. */
export function bitfieldFromBytes(b: Uint8Array): NumSet {
  return BitField.decode(b).toArray();
}

export function bitfieldToBytes(s: NumSet): Uint8Array {
  return BitField.fromNumbers(s).encode();
}

/** Lotus JSON of a bitfield: run lengths starting with a 0-run ({0,1,2,8,9} → [0,3,5,2]; empty → [0]). */
export function bitfieldToJson(s: NumSet): number[] {
  return BitField.fromNumbers(s).toJSON();
}

export function bitfieldFromJson(v: unknown): NumSet {
  return BitField.fromJSON(v).toArray();
}
