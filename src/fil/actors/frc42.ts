/**
 * FRC-0042 method numbers (frc42_dispatch::method_hash!, used by builtin-actors for exported methods): the first
 * 4-byte big-endian chunk of blake2b-512("1|" + name) that is ≥ 2^24.
 */
import { blake2b } from '@noble/hashes/blake2.js';
import { EncodingError } from '../errors.js';

const FIRST_EXPORTED_METHOD = 1 << 24;

export function frc42MethodNumber(name: string): number {
  if (!/^[A-Z][A-Za-z0-9_]*$/.test(name))
    throw new EncodingError(`FRC-42 method name must be an exported identifier, got ${JSON.stringify(name)}`);
  const d = blake2b(new TextEncoder().encode(`1|${name}`), { dkLen: 64 });
  const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
  for (let i = 0; i + 4 <= d.length; i += 4) {
    const v = view.getUint32(i);
    if (v >= FIRST_EXPORTED_METHOD) return v;
  }
  throw new EncodingError(`FRC-42: no method number for ${name}`);
}
