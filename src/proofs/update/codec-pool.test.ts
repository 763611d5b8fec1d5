import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { randomSectorData } from '../porep/fixture.js';
import { frToBytes } from '../poseidon/field.js';
import { decodeChunk, encodeChunk } from './codec.js';
import { CodecPool, pipeChunks } from './codec-pool.js';
import { Rhos, updatePhi } from './randomness.js';

describe('snap codec pool', () => {
  it('worker threads give the inline bytes, in order, for encode and decode', async () => {
    const nodes = 256;
    const phi = updatePhi(frToBytes(11n), frToBytes(13n));
    const key = randomSectorData(nodes * 32);
    const data = randomSectorData(nodes * 32);
    data.fill(0, 64 * 32, 96 * 32); // a zero stretch takes the fast path
    const want = new Uint8Array(nodes * 32);
    const rhos = new Rhos(phi, 3, nodes);
    encodeChunk(key, data, want, rhos, 0);
    for (const threads of [1, 3]) {
      const pool = new CodecPool(phi, 3, nodes, threads);
      const got = new Uint8Array(nodes * 32);
      const order: number[] = [];
      try {
        await pipeChunks(
          pool,
          'encode',
          0,
          nodes,
          16,
          (n, c) => [key.slice(n * 32, (n + c) * 32), data.slice(n * 32, (n + c) * 32)],
          (n, out) => {
            order.push(n);
            got.set(out, n * 32);
          },
        );
        assert.deepEqual(got, want, `${threads} threads`);
        assert.deepEqual(
          order,
          Array.from({ length: 16 }, (_, i) => i * 16),
        );
        const back = new Uint8Array(nodes * 32);
        await pipeChunks(
          pool,
          'decode',
          32,
          100,
          16,
          (n, c) => [want.slice(n * 32, (n + c) * 32), key.slice(n * 32, (n + c) * 32)],
          (n, out) => back.set(out, (n - 32) * 32),
        );
        assert.deepEqual(back.subarray(0, 100 * 32), data.subarray(32 * 32, 132 * 32));
      } finally {
        await pool.close();
      }
    }
    const check = new Uint8Array(nodes * 32);
    decodeChunk(want, key, check, rhos, 0);
    assert.deepEqual(check, data);
  });

  it('a node that is not a field element fails the job with the reason', async () => {
    const phi = updatePhi(frToBytes(1n), frToBytes(2n));
    const pool = new CodecPool(phi, 1, 64, 2);
    try {
      const bad = new Uint8Array(64 * 32).fill(0xff);
      await assert.rejects(
        pipeChunks(
          pool,
          'encode',
          0,
          64,
          32,
          (n, c) => [bad.slice(n * 32, (n + c) * 32), randomSectorData(c * 32)],
          () => {},
        ),
        /not a canonical field element/,
      );
    } finally {
      await pool.close();
    }
  });
});
