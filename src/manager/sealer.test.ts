import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { bytes32ToJson, OnChainState, SECTOR_STATE_NOT_FOUND, SubmitResult } from '../api/sealer.js';
import { setupLogging } from '../common/log.js';
import { emptyCommD } from '../proofs/index.js';
import type { RpcError } from '../rpc/index.js';
import { makeHarness, preCommitInfoFor, proofFor, writeSectorFiles } from './harness.test-util.js';
import { MinerMethod } from './params.js';

const REPORT = {
  Worker: { Instance: 'w1', Location: '/seal/1' },
  StateChange: { Prev: 'Empty', Next: 'Allocated', Event: 'Allocate' },
  Failure: null,
};

test('one sector through every call, idempotent at each step, to an active sector', async () => {
  const h = makeHarness();
  const s = h.sealer;
  const sector = await s.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
  assert.deepEqual(sector, { ID: { Miner: 1000, Number: 1 }, ProofType: 5 });
  const sid = sector!.ID;
  assert.equal(await s.acquireDeals(sid, { MaxDeals: null, MinUsedSpace: null }), null);
  assert.deepEqual(await s.reportState(sid, REPORT), { Id: sid, Finalized: false, AbortReason: null });

  const ticket = await s.assignTicket(sid);
  assert.equal(ticket.Epoch, h.chain.height - 900);
  assert.equal(Buffer.from(ticket.Ticket, 'base64').length, 32);
  assert.deepEqual(await s.assignTicket(sid), ticket, 'a repeated AssignTicket answers the same ticket');

  const info = preCommitInfoFor(sid, ticket);
  assert.deepEqual(await s.submitPreCommit(sector!, info, false), { Res: SubmitResult.Accepted, Desc: null });
  assert.deepEqual(await s.submitPreCommit(sector!, info, false), { Res: SubmitResult.Accepted, Desc: null });
  const other = { ...info, CommR: bytes32ToJson(new Uint8Array(32).fill(7)) };
  assert.equal((await s.submitPreCommit(sector!, other, false)).Res, SubmitResult.MismatchedSubmission);

  await h.commit.idle();
  assert.equal(h.chain.pushed.length, 1, 'batching off: sent at once');
  const rec = h.chain.records.get(h.chain.pushed[0]!)!;
  assert.equal(rec.Method, MinerMethod.PreCommitSectorBatch2);
  assert.equal(rec.Value, '1000', 'deposit from StateMinerPreCommitDepositForPower');
  assert.equal((await s.pollPreCommitState(sid)).State, OnChainState.Pending);
  await h.chain.mine();
  assert.equal((await s.pollPreCommitState(sid)).State, OnChainState.Packed, 'below MsgConfidence 2');
  await h.chain.mine(2);
  assert.deepEqual(await s.pollPreCommitState(sid), { State: OnChainState.Landed, Desc: null });

  // persist
  assert.equal(await s.submitPersistedEx(sid, 'store-1', false), false, 'files not there yet');
  const reserved = s.storeReserveSpace(sid, 4096, null);
  assert.equal(reserved?.Name, 'store-1');
  assert.deepEqual(s.storeReserveSpace(sid, 4096, null), reserved);
  writeSectorFiles(h.storeDir, sid);
  assert.equal(await s.submitPersistedEx(sid, 'store-1', false), true);
  assert.equal(await s.submitPersistedEx(sid, 'nope', false), false);

  // seed
  const w = await s.waitSeed(sid, 5);
  assert.equal(w.ShouldWait, true);
  assert.ok(w.Delay > 0);
  await h.chain.mine(20);
  const seeded = await s.waitSeed(sid, 5);
  assert.equal(seeded.ShouldWait, false);
  assert.equal(seeded.Seed?.Epoch, h.chain.miners.get(1000)!.precommits.get(1)!.PreCommitEpoch + 10);
  assert.deepEqual(await s.waitSeed(sid, 5), seeded);

  // proof
  assert.equal(
    (await s.submitProof(sid, { Proof: Buffer.alloc(32, 9).toString('base64') }, false)).Res,
    SubmitResult.Rejected,
  );
  const proof = proofFor(sid, ticket.Ticket, seeded.Seed!.Seed);
  assert.deepEqual(await s.submitProof(sid, { Proof: proof }, false), { Res: SubmitResult.Accepted, Desc: null });
  assert.deepEqual(await s.submitProof(sid, { Proof: proof }, false), { Res: SubmitResult.Accepted, Desc: null });
  assert.equal(
    (await s.submitProof(sid, { Proof: Buffer.alloc(32, 1).toString('base64') }, false)).Res,
    SubmitResult.MismatchedSubmission,
  );
  await h.commit.idle();
  assert.equal(h.chain.pushed.length, 2);
  const prove = h.chain.records.get(h.chain.pushed[1]!)!;
  assert.equal(prove.Method, MinerMethod.ProveCommitSectors3);
  assert.equal(prove.Value, '4000', 'collateral = pledge − deposit');
  await h.chain.mine(3);
  assert.equal((await s.pollProofState(sid)).State, OnChainState.Landed);
  assert.ok(h.chain.miners.get(1000)!.sectors.has(1), 'sector active on chain');

  await s.reportFinalized(sid);
  await s.reportFinalized(sid);
  assert.deepEqual(await s.reportState(sid, REPORT), { Id: sid, Finalized: true, AbortReason: null });
  assert.equal(h.db.getReservation(sid), undefined, 'reservation released');
  await assert.rejects(s.assignTicket(sid), (e: RpcError) => e.code === SECTOR_STATE_NOT_FOUND);
  h.commit.stop();
});

test('unknown sectors answer 11001; aborted sectors report Finalized with the reason', async () => {
  const h = makeHarness();
  const s = h.sealer;
  await assert.rejects(s.reportState({ Miner: 1000, Number: 77 }, REPORT), (e: RpcError) => e.code === 11001);
  const sector = (await s.allocateSector({ AllowedMiners: [1000], AllowedProofTypes: [5] }))!;
  await s.reportAborted(sector.ID, 'aborted via CLI');
  assert.deepEqual(await s.reportState(sector.ID, REPORT), {
    Id: sector.ID,
    Finalized: true,
    AbortReason: 'aborted via CLI',
  });
  assert.equal(await s.allocateSector({ AllowedMiners: [2000], AllowedProofTypes: null }), null);
  assert.equal(await s.allocateSector({ AllowedMiners: null, AllowedProofTypes: [8] }), null);
  h.commit.stop();
});

test('submission checks: CommD, ticket value and age, number on chain', async () => {
  const h = makeHarness();
  const s = h.sealer;
  const sector = (await s.allocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!;
  const ticket = await s.assignTicket(sector.ID);
  const good = preCommitInfoFor(sector.ID, ticket);
  const badD = { ...good, CommD: bytes32ToJson(new Uint8Array(32).fill(3)) };
  const r1 = await s.submitPreCommit(sector, badD, false);
  assert.equal(r1.Res, SubmitResult.MismatchedSubmission);
  assert.match(r1.Desc!, /CommD .* differs from the pieces/);
  const forged = { ...good, Ticket: { ...ticket, Ticket: Buffer.alloc(32).toString('base64') } };
  assert.match((await s.submitPreCommit(sector, forged, false)).Desc!, /ticket does not match/);
  h.chain.height += 4000;
  const old = await s.submitPreCommit(sector, good, false);
  assert.equal(old.Res, SubmitResult.Rejected);
  assert.match(old.Desc!, /ticket expired/);
  // a fresh ticket, but the number got allocated on chain meanwhile
  const s2 = (await s.allocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!;
  const t2 = await s.assignTicket(s2.ID);
  h.chain.miners.get(1000)!.allocated.add(s2.ID.Number);
  const r2 = await s.submitPreCommit(s2, preCommitInfoFor(s2.ID, t2), false);
  assert.equal(r2.Res, SubmitResult.Rejected);
  assert.match(r2.Desc!, /already allocated on chain/);
  assert.equal(h.chain.pushed.length, 0, 'nothing sent for refused submissions');
  void emptyCommD;
  h.commit.stop();
});

test('sector numbers: never twice, across restarts, skipping numbers allocated on chain; once exhausted no allocation and the reason logged once', async () => {
  let h = makeHarness({
    cfgText: `[[SectorManager.Miners]]
ID = 1000
InitNumber = 10
MaxNumber = 14
`,
  });
  const alloc = () => h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
  h.chain.miners.get(1000)!.allocated.add(12);
  assert.equal((await alloc())!.ID.Number, 11);
  // concurrent calls get distinct numbers
  const [a, b] = await Promise.all([alloc(), alloc()]);
  assert.deepEqual([a!.ID.Number, b!.ID.Number].sort(), [13, 14], '12 is on chain: skipped');
  h = h.restart();
  // exhausted: no allocation (the worker polls again later), the reason logged once at WARN, not at every poll
  const lines: string[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => lines.push(c.toString()));
  setupLogging({ levelSpec: 'warn', format: 'text', dest: sink });
  try {
    assert.equal(await alloc(), null);
    assert.equal(await alloc(), null);
    assert.equal(await alloc(), null);
    await new Promise((r) => setImmediate(r));
  } finally {
    setupLogging({ dest: process.stderr });
  }
  const reason = 'miner 1000: no sector number left (MaxNumber = 14 reached; raise it in sector-manager.cfg)';
  const said = lines.filter((l) => l.includes(reason));
  assert.equal(said.length, 1, lines.join(''));
  assert.match(said[0]!, /\tWARN\s*\tsealing\t/);
  assert.ok(!lines.some((l) => /\tERROR/.test(l)), lines.join(''));
  assert.deepEqual(h.sealer.numberExhausted(), [reason]);
  assert.equal(h.db.lastNumber(1000), 14);
  h.commit.stop();
});

test('CheckProvable and store calls through the API object', async () => {
  const h = makeHarness();
  const api = h.sealer.api();
  const ctx = {} as never;
  assert.equal(await api.Version(ctx), (await import('../common/version.js')).VERSION);
  assert.deepEqual(await api.StoreBasicInfo('store-1', ctx), {
    Name: 'store-1',
    Path: h.storeDir,
    Strict: false,
    ReadOnly: false,
    Weight: 1,
    Meta: {},
  });
  assert.equal(await api.StoreBasicInfo('other', ctx), null);
  // a worker's store named after its path (no [remote] name) is the store at that Path
  assert.equal((await api.StoreBasicInfo(h.storeDir, ctx))?.Name, 'store-1');
  await api.WorkerPing(
    {
      Name: 'w1',
      Dest: '127.0.0.1:17890',
      Version: 'x',
      Summary: { Threads: 1, Empty: 1, Paused: 0, Running: 0, Waiting: 0, Errors: 0 },
    },
    ctx,
  );
  assert.equal((await api.WorkerPingInfoList(ctx))?.[0]?.Info.Name, 'w1');
  h.commit.stop();
});

test('AllocateSectorSpec.Worker: a seal store that lost the answer gets the same sector again, until it is touched', async () => {
  let h = makeHarness();
  const w1 = { Instance: 'w1', Location: '/seal/1' };
  const w2 = { Instance: 'w1', Location: '/seal/2' };
  const w3 = { Instance: 'w2', Location: '/seal/1' };
  const alloc = (Worker?: { Instance: string; Location: string }, proofs: number[] | null = null) =>
    h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: proofs, Worker });
  const num = async (Worker?: { Instance: string; Location: string }) => (await alloc(Worker))!.ID.Number;

  assert.equal(await num(w1), 1);
  assert.equal(await num(w1), 1, 'asked again before any report: the same sector');
  assert.deepEqual(await Promise.all([alloc(w1), alloc(w1)]), [
    { ID: { Miner: 1000, Number: 1 }, ProofType: 5 },
    { ID: { Miner: 1000, Number: 1 }, ProofType: 5 },
  ]);
  assert.equal(await num(w2), 2, 'another location of the same worker: its own sector');
  assert.equal(await num(w3), 3, 'the same location on another worker: its own sector');
  assert.equal(await num(), 4, 'no Worker (a Go worker): always a new number');
  assert.equal(await num(), 5);

  // kept across a restart (the record is written with the number, in one transaction)
  h = h.restart();
  assert.equal(await num(w1), 1);
  assert.equal(await num(w2), 2);

  // any progress ends it: a ReportState, a ticket, an abort, a finalize
  await h.sealer.reportState({ Miner: 1000, Number: 1 }, REPORT);
  assert.equal(await num(w1), 6);
  await h.sealer.assignTicket({ Miner: 1000, Number: 2 });
  assert.equal(await num(w2), 7);
  await h.sealer.reportAborted({ Miner: 1000, Number: 3 }, 'gone');
  assert.equal(await num(w3), 8);
  await h.sealer.reportFinalized({ Miner: 1000, Number: 8 });
  assert.equal(await num(w3), 9);
  // a store that now only takes another proof type does not get it back (nor anything: no such miner)
  assert.equal(await alloc(w1, [8]), null);
  assert.equal(await num(w1), 6, 'still untouched: offered again once the filter allows it');

  await assert.rejects(
    h.sealer.allocateSector({
      AllowedMiners: null,
      AllowedProofTypes: null,
      Worker: { Instance: 1 } as never,
    }),
    /invalid AllocateSectorSpec\.Worker/,
  );
  // nothing skipped: every number up to the last is a sector some store was told
  assert.equal(h.db.lastNumber(1000), 9);
  for (let n = 1; n <= 9; n++) assert.ok(h.db.getSector({ Miner: 1000, Number: n }), `sector ${n}`);
  h.commit.stop();
});
