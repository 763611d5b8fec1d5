import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  hashNodes,
  hashPairsInto,
  hashPairsIntoCrypto,
  hashPairsIntoHashtree,
  sha256Backend,
  sha256Trunc254,
} from './sha256.js';

describe('sha256 trunc254', () => {
  it('is SHA-256 with the top two bits of the last byte cleared', () => {
    const data = randomBytes(136);
    const plain = createHash('sha256').update(data).digest();
    const t = sha256Trunc254(data);
    assert.deepEqual(Buffer.from(t.subarray(0, 31)), plain.subarray(0, 31));
    assert.equal(t[31], plain[31] & 0x3f);
  });

  it('hashes the zero pair into the 64-byte zero commitment (docs/spec/proofs.md §CommP and zero pieces)', () => {
    const z = new Uint8Array(32);
    assert.equal(
      Buffer.from(hashNodes(z, z)).toString('hex'),
      'f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a92759fb0b',
    );
  });

  it('hashtree and node:crypto rows give the same bytes', { skip: sha256Backend !== 'hashtree' }, () => {
    for (const pairs of [1, 2, 3, 64, 1000]) {
      const input = randomBytes(pairs * 64);
      const a = new Uint8Array(pairs * 32);
      const b = new Uint8Array(pairs * 32);
      hashPairsIntoHashtree(input, a);
      hashPairsIntoCrypto(input, b);
      assert.deepEqual(a, b, `${pairs} pairs`);
      for (let i = 0; i < pairs; i++) {
        const one = sha256Trunc254(input.subarray(i * 64, i * 64 + 64));
        assert.deepEqual(a.subarray(i * 32, i * 32 + 32), one);
      }
    }
  });

  it('the default row function writes only the parents and checks sizes', () => {
    const input = randomBytes(4 * 64);
    const out = new Uint8Array(4 * 32 + 5).fill(7);
    hashPairsInto(input, out);
    assert.deepEqual([...out.subarray(128)], [7, 7, 7, 7, 7]);
    assert.throws(() => hashPairsInto(new Uint8Array(65), new Uint8Array(64)), RangeError);
    assert.throws(() => hashPairsInto(new Uint8Array(128), new Uint8Array(32)), RangeError);
  });
});
