import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Backoff, bound, clock, FIRST_POLL_MS } from './waits.js';

test('chain waits start at one second and double up to rpc_polling_interval (its meaning: the longest)', () => {
  const b = new Backoff(180_000);
  const got = Array.from({ length: 10 }, () => b.next());
  assert.deepEqual(got, [1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 180000, 180000]);
  // a shorter rpc_polling_interval is never exceeded, even by the first check
  const short = new Backoff(300);
  assert.deepEqual([short.next(), short.next()], [300, 300]);
  assert.equal(FIRST_POLL_MS, 1000);
});

test('wait lines: local time of day and the bounding key', () => {
  const d = new Date(2026, 0, 2, 9, 5, 7);
  assert.equal(clock(d.getTime()), '09:05:07');
  assert.equal(bound('rpc_polling_interval', 180_000), 'rpc_polling_interval 3m0s');
});
