import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PersistStoresRefusedError } from '../../api/errors.js';
import { fromErrorObject, RpcConnectionError, RpcError, toErrorObject } from '../../rpc/index.js';
import { isStoreRefusal, refusalLine } from './persist-stores.js';

test("the manager's refusal of the persist stores is known by its type, not its text", () => {
  // as the worker's RPC client rebuilds it from the wire: the registered class (code 12001)
  const sent = new PersistStoresRefusedError(
    'the worker offers persist stores ["/x"]; configured: none; add a [[PersistedStore.Stores]] entry with Path = "/x"',
  );
  const received = fromErrorObject(toErrorObject(sent, 'Venus.StoreReserveSpace').error);
  assert.ok(received instanceof PersistStoresRefusedError);
  assert.ok(isStoreRefusal(received));
  assert.equal(refusalLine(received as PersistStoresRefusedError), `Venus.StoreReserveSpace: ${sent.message}`);
  // the same words in any other error are not a refusal: the call failed, the worker treats it as such
  assert.equal(isStoreRefusal(new RpcError(1, 'the worker offers persist stores ["/x"]')), false);
  assert.equal(isStoreRefusal(new RpcConnectionError('cannot reach the manager: persist stores unknown')), false);
  assert.equal(isStoreRefusal(new Error('persist stores')), false);
});
