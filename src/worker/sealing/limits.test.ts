import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StageLimits } from './limits.js';

describe('stage limits', () => {
  it('caps a stage across callers; waiters are told they wait and get the slot in order', async () => {
    const l = new StageLimits({ concurrent: { pc2: 1 }, staggeredMs: {} });
    const a = await l.acquire('pc2');
    assert.equal(l.available('pc2'), 0);
    const waited: string[] = [];
    const order: string[] = [];
    const b = l
      .acquire('pc2', undefined, () => waited.push('b'))
      .then((t) => {
        order.push('b');
        return t;
      });
    const c = l
      .acquire('pc2', undefined, () => waited.push('c'))
      .then((t) => {
        order.push('c');
        return t;
      });
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(waited, ['b', 'c']);
    assert.deepEqual(order, []);
    a.release();
    a.release(); // idempotent
    (await b).release();
    (await c).release();
    assert.deepEqual(order, ['b', 'c']);
    assert.equal(l.available('pc2'), 1);
    // unlimited stages never wait
    const t = await l.acquire('c2', undefined, () => assert.fail('c2 is not limited'));
    t.release();
    assert.equal(l.available('c2'), undefined);
  });

  it('a wait can be cut short (pause), giving the slot to no one', async () => {
    const l = new StageLimits({ concurrent: { pc1: 1 }, staggeredMs: {} });
    const a = await l.acquire('pc1');
    const ac = new AbortController();
    const w = l.acquire('pc1', ac.signal);
    ac.abort(new Error('paused'));
    await assert.rejects(w, /paused/);
    a.release();
    assert.equal(l.available('pc1'), 1);
  });

  it('staggered starts space the starts of a stage', async () => {
    let now = 1000;
    const l = new StageLimits({ concurrent: {}, staggeredMs: { pc1: 30 } }, () => now);
    (await l.acquire('pc1')).release();
    let waited = false;
    const t0 = Date.now();
    (await l.acquire('pc1', undefined, () => (waited = true))).release();
    assert.ok(waited);
    assert.ok(Date.now() - t0 >= 25);
    now += 1000;
    waited = false;
    (await l.acquire('pc1', undefined, () => (waited = true))).release();
    assert.equal(waited, false);
  });
});
