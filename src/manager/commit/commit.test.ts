import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type MessageRecord, MessageState } from '../../api/messager.js';
import { OnChainState, SubmitResult } from '../../api/sealer.js';
import { blake2bN, CID, concatBytes, encodeMessage, idAddress, newMessage } from '../../fil/index.js';
import { makeHarness, preCommitInfoFor } from '../harness.test-util.js';
import { MinerMethod } from '../params.js';
import { executedOk, messageId, onChainState } from './msg.js';

const BATCH_CFG = (dir: string) => `[[SectorManager.Miners]]
ID = 1000
MaxNumber = 100
[Commitment.DefaultPolicy]
EnableBatchPreCommit = true
PreCommitBatchThreshold = 3
PreCommitBatchMaxWait = "1h"
PreCommitCheckInterval = "1h"
BatchPreCommitGasOverEstimation = 1.3
MaxBatchPreCommitFeeCap = "5 nanoFIL"
MsgConfidence = 1
[[PersistedStore.Stores]]
Name = "s"
Path = "${dir}"
`;

async function preCommitted(h: ReturnType<typeof makeHarness>, n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const sector = (await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!;
    const ticket = await h.sealer.assignTicket(sector.ID);
    const r = await h.sealer.submitPreCommit(sector, preCommitInfoFor(sector.ID, ticket), false);
    assert.equal(r.Res, SubmitResult.Accepted);
    out.push(sector);
  }
  return out;
}

test('message ids are damocles NewMIdFromBytes: CIDv1 raw blake2b-512 of counter ‖ message', () => {
  const m = newMessage({ from: idAddress(100), to: idAddress(1000), method: 28 });
  const a = messageId(m, 0);
  const c = CID.parse(a);
  assert.equal(c.version, 1);
  assert.equal(c.code, 0x55, 'raw codec');
  assert.equal(c.multihash.code, 0xb240, 'blake2b-512 (go-multihash BLAKE2B_MAX)');
  assert.deepEqual(c.multihash.digest, blake2bN(concatBytes(Uint8Array.of(0), encodeMessage(m)), 64));
  assert.equal(messageId(m, 0), a);
  assert.notEqual(messageId(m, 1), a);
  assert.notEqual(messageId({ ...m, value: 1n }, 0), a);
});

test('PreCommits wait for the batch threshold, then go as one PreCommitSectorBatch2', async () => {
  const h = makeHarness({ cfgText: BATCH_CFG('/tmp') });
  await preCommitted(h, 2);
  await h.commit.idle();
  assert.equal(h.chain.pushed.length, 0, 'below the threshold: nothing sent');
  await preCommitted(h, 1);
  await h.commit.idle();
  assert.equal(h.chain.pushed.length, 1);
  const rec = h.chain.records.get(h.chain.pushed[0]!)!;
  assert.equal(rec.Method, MinerMethod.PreCommitSectorBatch2);
  assert.equal(rec.Value, '3000', 'three deposits');
  assert.equal(rec.GasFeeCap, '5000000000', 'MaxBatchPreCommitFeeCap on the message');
  assert.deepEqual(rec.Meta, {
    expireEpoch: 0,
    gasOverEstimation: 1.3,
    maxFee: '0',
    maxFeeCap: '5000000000',
    gasOverPremium: 0,
  });
  await h.chain.mine(2);
  for (const n of [1, 2, 3])
    assert.equal((await h.sealer.pollPreCommitState({ Miner: 1000, Number: n })).State, OnChainState.Landed);
  h.commit.stop();
});

test('a restart between batching and sending pushes the recorded message once', async () => {
  let h = makeHarness();
  h.chain.pushError = new Error('messager down');
  const [s1] = await preCommitted(h, 1);
  await h.commit.idle();
  assert.equal(h.chain.pushed.length, 0);
  const unpushed = h.db.unpushedMessages();
  assert.equal(unpushed.length, 1, 'the batch is recorded before it is pushed');
  assert.equal(h.db.getSector(s1!.ID)!.state.MessageInfo.PreCommitCid?.['/'], unpushed[0]!.id);
  assert.equal((await h.sealer.pollPreCommitState(s1!.ID)).State, OnChainState.Pending);

  // "crash" and restart: the recorded message goes out under its id, the sector is not batched again
  h.chain.pushError = undefined;
  h = h.restart();
  await h.commit.resume();
  await h.commit.idle();
  assert.deepEqual(h.chain.pushed, [unpushed[0]!.id]);
  assert.equal(h.db.unpushedMessages().length, 0);

  // a crash after the push but before it was marked: the messager knows the id, nothing is sent again
  h.db.db.prepare('UPDATE messages SET pushed = 0').run();
  h = h.restart();
  await h.commit.resume();
  await h.commit.flush();
  assert.equal(h.chain.pushed.length, 1, 'never sent twice');
  await h.chain.mine(3);
  assert.equal((await h.sealer.pollPreCommitState(s1!.ID)).State, OnChainState.Landed);
  h.commit.stop();
});

test('a sector accepted but not yet batched is re-queued after a restart', async () => {
  let h = makeHarness({ cfgText: BATCH_CFG('/tmp') });
  await preCommitted(h, 2);
  assert.equal(h.chain.pushed.length, 0);
  h = h.restart();
  await h.commit.resume();
  await h.commit.flush();
  assert.equal(h.chain.pushed.length, 1);
  assert.equal(h.db.unpushedMessages().length, 0);
  h.commit.stop();
});

test('receipts map to OnChainState: out of gas → Failed (resend with reset), other exit codes → PermFailed', async () => {
  const h = makeHarness();
  const [s1] = await preCommitted(h, 1);
  await h.commit.idle();
  h.chain.failNext.set(MinerMethod.PreCommitSectorBatch2, 7);
  await h.chain.mine(3);
  const failed = await h.sealer.pollPreCommitState(s1!.ID);
  assert.equal(failed.State, OnChainState.Failed);
  assert.match(failed.Desc!, /exited with code 7/);
  // the worker resubmits with reset=true: a new message with a new id
  const st = h.db.getSector(s1!.ID)!.state;
  const r = await h.sealer.submitPreCommit({ ID: s1!.ID, ProofType: 5 }, preCommitInfoFor(s1!.ID, st.Ticket!), true);
  assert.equal(r.Res, SubmitResult.Accepted);
  await h.commit.idle();
  assert.equal(h.chain.pushed.length, 2);
  assert.notEqual(h.chain.pushed[0], h.chain.pushed[1]);
  await h.chain.mine(3);
  assert.equal((await h.sealer.pollPreCommitState(s1!.ID)).State, OnChainState.Landed);
  h.commit.stop();

  const base = { Receipt: { ExitCode: 16, Return: null, GasUsed: 1, EventsRoot: null }, Confidence: 9, Height: 5 };
  const rec = (over: Partial<MessageRecord>) =>
    ({ ID: 'x', State: MessageState.OnChainMsg, ErrorMsg: '', SignedCid: null, ...base, ...over }) as MessageRecord;
  assert.equal(onChainState(rec({}), 5).state, OnChainState.PermFailed);
  assert.equal(onChainState(rec({ Receipt: { ...base.Receipt, ExitCode: 6 } }), 5).state, OnChainState.Failed);
  assert.equal(onChainState(rec({ Receipt: { ...base.Receipt, ExitCode: 0 } }), 10).state, OnChainState.Packed);
  assert.equal(onChainState(rec({ State: MessageState.FillMsg }), 10).state, OnChainState.Pending);
  assert.equal(onChainState(rec({ State: MessageState.FailedMsg }), 10).state, OnChainState.Failed);
});

test('NonceConflictMsg: a replacement that ran is followed (Landed); a nonce spent by another call is Failed, and the resubmission lands', async () => {
  const h = makeHarness();
  // s1's PreCommit is replaced on chain by the same call with more gas; s2's nonce is spent by something else
  const [s1] = await preCommitted(h, 1);
  await h.commit.idle();
  h.chain.replaceNext.set(MinerMethod.PreCommitSectorBatch2, 'replace');
  await h.chain.mine(1);
  const [s2] = await preCommitted(h, 1);
  await h.commit.idle();
  h.chain.replaceNext.set(MinerMethod.PreCommitSectorBatch2, 'lose');
  await h.chain.mine(3);
  const s1id = h.db.getSector(s1!.ID)!.state.MessageInfo.PreCommitCid!['/'];
  assert.equal(h.chain.records.get(s1id)!.State, MessageState.NonceConflictMsg);
  assert.deepEqual(await h.sealer.pollPreCommitState(s1!.ID), { State: OnChainState.Landed, Desc: null });
  const lost = await h.sealer.pollPreCommitState(s2!.ID);
  assert.equal(lost.State, OnChainState.Failed, 'not given up: the worker resubmits');
  assert.match(lost.Desc!, /nonce was used by another message/);
  const st = h.db.getSector(s2!.ID)!.state;
  const r = await h.sealer.submitPreCommit({ ID: s2!.ID, ProofType: 5 }, preCommitInfoFor(s2!.ID, st.Ticket!), true);
  assert.equal(r.Res, SubmitResult.Accepted);
  await h.commit.idle();
  await h.chain.mine(3);
  assert.equal((await h.sealer.pollPreCommitState(s2!.ID)).State, OnChainState.Landed);
  h.commit.stop();

  const rec = (over: Partial<MessageRecord>) =>
    ({
      ID: 'x',
      State: MessageState.NonceConflictMsg,
      ErrorMsg: '',
      SignedCid: null,
      Confidence: 9,
      Height: 5,
      Receipt: { ExitCode: 0, Return: null, GasUsed: 1, EventsRoot: null },
      ...over,
    }) as MessageRecord;
  assert.equal(onChainState(rec({}), 5).state, OnChainState.Landed);
  assert.equal(onChainState(rec({}), 10).state, OnChainState.Packed);
  assert.equal(
    onChainState(rec({ Receipt: { ExitCode: 16, Return: null, GasUsed: 1, EventsRoot: null } }), 5).state,
    OnChainState.PermFailed,
  );
  assert.equal(onChainState(rec({ Receipt: null }), 5).state, OnChainState.Failed);
  assert.equal(executedOk(rec({})), true);
  assert.equal(executedOk(rec({ Receipt: null })), false);
});
