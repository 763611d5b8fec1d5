/**
 * ChaCha8 keystream as rand_chacha 0.3's `ChaCha8Rng::from_seed(seed)` produces it: the 32-byte seed is the
 * key (8 LE words), words 12–13 are a 64-bit block counter starting at 0, words 14–15 (the stream) are 0, and
 * 8 rounds (4 double rounds). `next_u64()` reads the keystream as consecutive LE u64s.
 * Equivalent to RFC 7539 ChaCha with 8 rounds and an all-zero nonce while the counter stays below 2^32.
 */

const C0 = 0x61707865;
const C1 = 0x3320646e;
const C2 = 0x79622d32;
const C3 = 0x6b206574;

/** Writes the 16 keystream words of block `counter` (< 2^32) for `key` (8 words) into out[off..off+16]. */
export function chacha8Block(key: Uint32Array, counter: number, out: Uint32Array, off = 0): void {
  const k0 = key[0]! | 0;
  const k1 = key[1]! | 0;
  const k2 = key[2]! | 0;
  const k3 = key[3]! | 0;
  const k4 = key[4]! | 0;
  const k5 = key[5]! | 0;
  const k6 = key[6]! | 0;
  const k7 = key[7]! | 0;
  const n0 = counter | 0;
  let x0 = C0;
  let x1 = C1;
  let x2 = C2;
  let x3 = C3;
  let x4 = k0;
  let x5 = k1;
  let x6 = k2;
  let x7 = k3;
  let x8 = k4;
  let x9 = k5;
  let x10 = k6;
  let x11 = k7;
  let x12 = n0;
  let x13 = 0;
  let x14 = 0;
  let x15 = 0;
  let t = 0;
  for (let r = 0; r < 4; r++) {
    // column round
    x0 = (x0 + x4) | 0;
    t = x12 ^ x0;
    x12 = (t << 16) | (t >>> 16);
    x8 = (x8 + x12) | 0;
    t = x4 ^ x8;
    x4 = (t << 12) | (t >>> 20);
    x0 = (x0 + x4) | 0;
    t = x12 ^ x0;
    x12 = (t << 8) | (t >>> 24);
    x8 = (x8 + x12) | 0;
    t = x4 ^ x8;
    x4 = (t << 7) | (t >>> 25);

    x1 = (x1 + x5) | 0;
    t = x13 ^ x1;
    x13 = (t << 16) | (t >>> 16);
    x9 = (x9 + x13) | 0;
    t = x5 ^ x9;
    x5 = (t << 12) | (t >>> 20);
    x1 = (x1 + x5) | 0;
    t = x13 ^ x1;
    x13 = (t << 8) | (t >>> 24);
    x9 = (x9 + x13) | 0;
    t = x5 ^ x9;
    x5 = (t << 7) | (t >>> 25);

    x2 = (x2 + x6) | 0;
    t = x14 ^ x2;
    x14 = (t << 16) | (t >>> 16);
    x10 = (x10 + x14) | 0;
    t = x6 ^ x10;
    x6 = (t << 12) | (t >>> 20);
    x2 = (x2 + x6) | 0;
    t = x14 ^ x2;
    x14 = (t << 8) | (t >>> 24);
    x10 = (x10 + x14) | 0;
    t = x6 ^ x10;
    x6 = (t << 7) | (t >>> 25);

    x3 = (x3 + x7) | 0;
    t = x15 ^ x3;
    x15 = (t << 16) | (t >>> 16);
    x11 = (x11 + x15) | 0;
    t = x7 ^ x11;
    x7 = (t << 12) | (t >>> 20);
    x3 = (x3 + x7) | 0;
    t = x15 ^ x3;
    x15 = (t << 8) | (t >>> 24);
    x11 = (x11 + x15) | 0;
    t = x7 ^ x11;
    x7 = (t << 7) | (t >>> 25);

    // diagonal round
    x0 = (x0 + x5) | 0;
    t = x15 ^ x0;
    x15 = (t << 16) | (t >>> 16);
    x10 = (x10 + x15) | 0;
    t = x5 ^ x10;
    x5 = (t << 12) | (t >>> 20);
    x0 = (x0 + x5) | 0;
    t = x15 ^ x0;
    x15 = (t << 8) | (t >>> 24);
    x10 = (x10 + x15) | 0;
    t = x5 ^ x10;
    x5 = (t << 7) | (t >>> 25);

    x1 = (x1 + x6) | 0;
    t = x12 ^ x1;
    x12 = (t << 16) | (t >>> 16);
    x11 = (x11 + x12) | 0;
    t = x6 ^ x11;
    x6 = (t << 12) | (t >>> 20);
    x1 = (x1 + x6) | 0;
    t = x12 ^ x1;
    x12 = (t << 8) | (t >>> 24);
    x11 = (x11 + x12) | 0;
    t = x6 ^ x11;
    x6 = (t << 7) | (t >>> 25);

    x2 = (x2 + x7) | 0;
    t = x13 ^ x2;
    x13 = (t << 16) | (t >>> 16);
    x8 = (x8 + x13) | 0;
    t = x7 ^ x8;
    x7 = (t << 12) | (t >>> 20);
    x2 = (x2 + x7) | 0;
    t = x13 ^ x2;
    x13 = (t << 8) | (t >>> 24);
    x8 = (x8 + x13) | 0;
    t = x7 ^ x8;
    x7 = (t << 7) | (t >>> 25);

    x3 = (x3 + x4) | 0;
    t = x14 ^ x3;
    x14 = (t << 16) | (t >>> 16);
    x9 = (x9 + x14) | 0;
    t = x4 ^ x9;
    x4 = (t << 12) | (t >>> 20);
    x3 = (x3 + x4) | 0;
    t = x14 ^ x3;
    x14 = (t << 8) | (t >>> 24);
    x9 = (x9 + x14) | 0;
    t = x4 ^ x9;
    x4 = (t << 7) | (t >>> 25);
  }
  out[off] = x0 + C0;
  out[off + 1] = x1 + C1;
  out[off + 2] = x2 + C2;
  out[off + 3] = x3 + C3;
  out[off + 4] = x4 + k0;
  out[off + 5] = x5 + k1;
  out[off + 6] = x6 + k2;
  out[off + 7] = x7 + k3;
  out[off + 8] = x8 + k4;
  out[off + 9] = x9 + k5;
  out[off + 10] = x10 + k6;
  out[off + 11] = x11 + k7;
  out[off + 12] = x12 + n0;
  out[off + 13] = x13;
  out[off + 14] = x14;
  out[off + 15] = x15;
}

/** `len` bytes of ChaCha8Rng keystream for a 32-byte seed (tests and tools; the graph uses chacha8Block). */
export function chacha8Keystream(seed: Uint8Array, len: number): Uint8Array {
  if (seed.length !== 32) throw new RangeError('ChaCha8 seed must be 32 bytes');
  const key = new Uint32Array(8);
  const dv = new DataView(seed.buffer, seed.byteOffset, 32);
  for (let i = 0; i < 8; i++) key[i] = dv.getUint32(4 * i, true);
  const blocks = Math.ceil(len / 64);
  const words = new Uint32Array(blocks * 16);
  for (let b = 0; b < blocks; b++) chacha8Block(key, b, words, b * 16);
  const out = new Uint8Array(len);
  const odv = new DataView(out.buffer);
  for (let i = 0; i < len; i++) {
    if (i % 4 === 0 && i + 4 <= len) odv.setUint32(i, words[i / 4]!, true);
    else if (i % 4 === 0) for (let j = i; j < len; j++) out[j] = (words[i >> 2]! >>> (8 * (j - i))) & 0xff;
  }
  return out;
}
