/** Attacks on the worker API that only input checks stop (docs/security.md): H2, H5, M3, M4. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes32ToJson, SubmitResult } from '../api/sealer.js';
import { makeHarness, preCommitInfoFor } from './harness.test-util.js';

const SPEC = { AllowedMiners: null, AllowedProofTypes: null };

test('H2: SubmitPreCommit(reset=true) never replaces a CommR that is queued, pending or on chain', async () => {
  const h = makeHarness();
  const s = h.sealer;
  const sector = (await s.allocateSector(SPEC))!;
  const sid = sector.ID;
  const ticket = await s.assignTicket(sid);
  const info = preCommitInfoFor(sid, ticket);
  const bogus = { ...info, CommR: bytes32ToJson(new Uint8Array(32).fill(7)) };
  assert.equal((await s.submitPreCommit(sector, info, false)).Res, SubmitResult.Accepted);
  const recorded = h.db.getSector(sid)!.state.Pre;

  // queued (not yet pushed), then pending in the messager, then on chain: the attacker's reset is refused each time
  const queued = await s.submitPreCommit(sector, bogus, true);
  await h.commit.idle();
  const pending = await s.submitPreCommit(sector, bogus, true);
  await h.chain.mine(3);
  const landed = await s.submitPreCommit(sector, bogus, true);
  for (const [when, r] of [
    ['queued', queued],
    ['pending', pending],
    ['on chain', landed],
  ] as const) {
    assert.equal(r.Res, SubmitResult.MismatchedSubmission, `${when}: ${r.Desc}`);
    assert.match(r.Desc ?? '', /cannot reset the PreCommit/);
  }
  assert.match(landed.Desc ?? '', /a PreCommit with SealedCID \S+ is on chain/);
  assert.deepEqual(h.db.getSector(sid)!.state.Pre, recorded, 'the recorded CommR is intact');
  assert.equal(h.chain.pushed.length, 1, 'no second PreCommit was sent');

  // the same PreCommit again with reset is fine (a worker that lost the answer)
  assert.equal((await s.submitPreCommit(sector, info, true)).Res, SubmitResult.Accepted);
  // a record without its PreCommit (lost, restored): the chain's SealedCID is compared
  const st = h.db.getSector(sid)!.state;
  delete st.Pre;
  h.db.putSector(st, true);
  const r = await s.submitPreCommit(sector, bogus, false);
  assert.equal(r.Res, SubmitResult.Rejected);
  assert.match(r.Desc ?? '', /the PreCommit on chain has SealedCID \S+, not \S+/);
  assert.equal(h.db.getSector(sid)!.state.Pre, undefined);
  assert.equal((await s.submitPreCommit(sector, info, false)).Res, SubmitResult.Accepted);
  assert.deepEqual(h.db.getSector(sid)!.state.Pre, recorded);
  h.commit.stop();
});
