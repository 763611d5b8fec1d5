import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SingleFlight, sharedChainHead } from './single-flight.js';

test('SingleFlight: concurrent calls of a key share one request; later ones make their own', async () => {
  const f = new SingleFlight<string, number>();
  let calls = 0;
  let release!: (v: number) => void;
  const fn = () => {
    calls++;
    return new Promise<number>((r) => {
      release = r;
    });
  };
  const a = f.run('m1', fn);
  const b = f.run('m1', fn);
  assert.equal(calls, 1);
  release(7);
  assert.deepEqual(await Promise.all([a, b]), [7, 7]);
  assert.equal(f.size, 0);
  const c = f.run('m1', fn);
  assert.equal(calls, 2, 'an answer is never reused once it arrived');
  release(8);
  assert.equal(await c, 8);
});

test('SingleFlight: a failure fails the callers that shared it, and the next call tries again', async () => {
  const f = new SingleFlight<string, number>();
  let n = 0;
  const fail = () => Promise.reject(new Error(`down ${++n}`));
  const a = f.run('k', fail);
  const b = f.run('k', fail);
  await assert.rejects(a, /down 1/);
  await assert.rejects(b, /down 1/);
  await assert.rejects(f.run('k', fail), /down 2/);
});

test('sharedChainHead: ChainHead shared, the other methods called on the chain itself', async () => {
  class Chain {
    heads = 0;
    #tag = 'own';
    async ChainHead() {
      this.heads++;
      return { Height: this.heads };
    }
    async Other() {
      return this.#tag;
    }
  }
  const chain = new Chain();
  const shared = sharedChainHead(chain);
  const [x, y] = await Promise.all([shared.ChainHead(), shared.ChainHead()]);
  assert.equal(chain.heads, 1);
  assert.equal(x, y);
  await shared.ChainHead();
  assert.equal(chain.heads, 2);
  assert.equal(await shared.Other(), 'own');
});

test('sharedChainHead: over a frozen RPC client too', async () => {
  let heads = 0;
  const client = Object.freeze({
    ChainHead: async () => ({ Height: ++heads }),
    StateNetworkName: async () => 'devnet',
  });
  const shared = sharedChainHead(client);
  await Promise.all([shared.ChainHead(), shared.ChainHead()]);
  assert.equal(heads, 1);
  assert.equal(await shared.StateNetworkName(), 'devnet');
});
