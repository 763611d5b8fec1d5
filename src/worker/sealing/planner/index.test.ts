/**
 * The plans' tables (planTables): each plan moves on its own events, an impossible pair is an error naming the
 * states, the event and (for any plan but the sealer's) the plan, and `worker list` shows a stage or `-`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PLANNERS } from './index.js';

describe('plan tables', () => {
  it('each plan moves on its own events', () => {
    assert.equal(PLANNERS.sealer.plan('Allocate', 'Empty'), 'Allocated');
    assert.equal(PLANNERS.unseal.plan('AllocatedUnsealSector', 'Empty'), 'Allocated');
    assert.equal(PLANNERS.unseal.plan('UploadPieceDone', 'Unsealed'), 'Finished');
    assert.equal(PLANNERS.rebuild.plan('SnapEncode', 'SealedChecked'), 'SnapDone');
    assert.equal(PLANNERS.rebuild.plan('SubmitPersistance', 'Persisted'), 'Finished');
    assert.equal(PLANNERS.snapup.plan('RePersist', 'Persisted'), 'SnapProved');
    assert.equal(PLANNERS.snapup.plan('ReSubmitProof', 'ProofSubmitted'), 'Persisted');
  });

  it('an impossible pair names the state, the event and the plan', () => {
    assert.throws(
      () => PLANNERS.sealer.plan('SnapProve', 'Empty'),
      /^Error: no transition from Empty on event SnapProve$/,
    );
    assert.throws(
      () => PLANNERS.unseal.plan('Allocate', 'Empty'),
      /^Error: no transition from Empty on event Allocate in the unseal plan$/,
    );
    assert.throws(
      () => PLANNERS.rebuild.plan('SubmitPersistance', 'PCLanded'),
      /^Error: no transition from PCLanded on event SubmitPersistance in the rebuild plan$/,
    );
    assert.throws(
      () => PLANNERS.snapup.plan('SubmitPersistance', 'Persisted'),
      /^Error: no transition from Persisted on event SubmitPersistance in the snapup plan$/,
    );
  });

  it('the stage of a state, or - where the plan runs nothing there', () => {
    assert.equal(PLANNERS.unseal.stage('Allocated'), 'Unseal');
    assert.equal(PLANNERS.unseal.stage('Unsealed'), 'UploadPiece');
    assert.equal(PLANNERS.unseal.stage('Finished'), '-');
    assert.equal(PLANNERS.rebuild.stage('SnapDone'), 'PersistFiles');
    assert.equal(PLANNERS.rebuild.stage('C1Done'), '-');
    assert.equal(PLANNERS.snapup.stage('Persisted'), 'SubmitSnapupProof');
    assert.equal(PLANNERS.snapup.stage('Empty'), '-');
  });
});
