import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ActorNotFoundError } from '../api/errors.js';
import { RpcConnectionError, RpcError, RpcTimeoutError } from '../rpc/index.js';
import { preCommitInfo } from './chain.js';

const chainAnswering = (answer: () => unknown) => ({
  StateSectorPreCommitInfo: async () => answer() as never,
});

test("preCommitInfo: null for the node's not-found answer; a failed call is a failure whatever its text", async () => {
  const info = { Info: { SectorNumber: 1 }, PreCommitEpoch: 10 };
  assert.deepEqual(
    await preCommitInfo(
      chainAnswering(() => info),
      1000,
      1,
      [],
    ),
    info,
  );
  assert.equal(
    await preCommitInfo(
      chainAnswering(() => null),
      1000,
      1,
      [],
    ),
    null,
  );
  // Venus v1.6.1: an application error (code 1) saying so
  const venus = () => {
    throw new RpcError(1, 'precommit info does not exist');
  };
  assert.equal(await preCommitInfo(chainAnswering(venus), 1000, 1, []), null);
  // the same words in a failed call: never "no pre-commit" (the sector would be pre-committed again)
  for (const err of [
    new RpcConnectionError('Filecoin.StateSectorPreCommitInfo: cannot reach http://node: HTTP 404 Not Found'),
    new RpcTimeoutError('Filecoin.StateSectorPreCommitInfo', 1000),
    new ActorNotFoundError('actor not found'),
    new Error('lookup node: not found'),
  ]) {
    const failing = () => {
      throw err;
    };
    await assert.rejects(preCommitInfo(chainAnswering(failing), 1000, 1, []), (e: unknown) => e === err);
  }
});
