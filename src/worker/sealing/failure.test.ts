import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RpcConnectionError, RpcError, RpcTimeoutError } from '../../rpc/index.js';
import { classify, prefixed } from './failure.js';

test('a method name is said once: the RPC client already names it in connection and timeout errors', () => {
  const refused = new RpcConnectionError(
    'Venus.WorkerPing: cannot connect to ws://127.0.0.1:21791/rpc/v0: ECONNREFUSED',
  );
  assert.equal(
    prefixed('Venus.WorkerPing', refused),
    'Venus.WorkerPing: cannot connect to ws://127.0.0.1:21791/rpc/v0: ECONNREFUSED',
  );
  assert.equal(
    prefixed('Venus.PollPreCommitState', new RpcTimeoutError('Venus.PollPreCommitState', 60_000)),
    'Venus.PollPreCommitState: no answer within 60000 ms',
  );
  // a server's error does not name the method: it gets the prefix
  assert.equal(prefixed('Venus.WorkerPing', new RpcError(1, 'token refused')), 'Venus.WorkerPing: token refused');
  // a longer method name that merely starts the same is still prefixed
  assert.equal(prefixed('Venus.Worker', new Error('Venus.WorkerPing: x')), 'Venus.Worker: Venus.WorkerPing: x');
  const f = classify(refused, 'Venus.WorkerPing');
  assert.equal(f.level, 'temporary');
  assert.equal(f.message, refused.message);
});

test('the manager has no state for the sector (11001): the worker aborts it, whatever transport carried the answer', async () => {
  const { SectorStateNotFoundError } = await import('../../api/errors.js');
  const { fromErrorObject } = await import('../../rpc/errors.js');
  // what the RPC client rebuilds from the wire: the registered class, so the thread branches on instanceof
  const fromWire = fromErrorObject({ code: 11001, message: 'sector state not found: s-t01000-1' });
  assert.ok(fromWire instanceof SectorStateNotFoundError);
  assert.equal(classify(fromWire, 'Venus.ReportState').level, 'abort');
  // any other RPC error is temporary
  assert.equal(classify(new RpcError(1, 'busy'), 'Venus.ReportState').level, 'temporary');
});
