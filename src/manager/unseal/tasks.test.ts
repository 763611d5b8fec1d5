import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { bytes32ToJson } from '../../api/sealer.js';
import { cidToCommD } from '../../fil/index.js';
import type { CallContext } from '../../rpc/index.js';
import { type SealerOptions, SealerService } from '../sealer.js';
import { addSealedSector, MINER, makeTasks, pieceCid, tempDb } from './fixture.test-util.js';
import { UnsealTasks } from './tasks.js';

const worker = (name: string) => ({ admin: false, name });
const ctxOf = (name: string) => ({ perms: ['read', 'write'], token: { name } }) as unknown as CallContext;

test('allocate → acquire dest → achieve ok: the worker gets what it needs, the sector goes back offline', () => {
  const { db } = tempDb();
  const { b, sid } = addSealedSector(db, 3);
  const tasks = makeTasks(db, { market: () => ({ url: 'http://127.0.0.1:41235', token: 'mkt-secret' }) });
  const outcomes: string[] = [];
  tasks.onOutcome((t, ids) => outcomes.push(`${t.state}:${ids.join(',')}`));

  const { task } = tasks.request({
    sid,
    pieceCid: { '/': b },
    dest: 'market://store-a/' + b,
    source: 'market',
    eventId: 'ev-1',
  });
  assert.equal(task.state, 'set_up');
  assert.equal(task.offset, 1016, 'unpadded offset of the second 1 KiB piece');
  assert.equal(task.size, 1016);

  // a worker limited to another miner gets nothing
  assert.equal(tasks.allocate({ AllowedMiners: [2000], AllowedProofTypes: null }, worker('w1')), null);
  assert.equal(tasks.allocate({ AllowedMiners: null, AllowedProofTypes: [8] }, worker('w1')), null);

  const info = tasks.allocate({ AllowedMiners: [MINER], AllowedProofTypes: [5] }, worker('w1'));
  assert.ok(info);
  assert.deepEqual(info.Sector, { ID: sid, ProofType: 5 });
  assert.deepEqual(info.PieceCid, { '/': b });
  assert.equal(info.Offset, 1016);
  assert.equal(info.Size, 1016);
  assert.equal(info.PrivateInfo.AccessInstance, 'store-1');
  const s = db.getSector(sid)!;
  assert.deepEqual(info.CommD, bytes32ToJson(cidToCommD(s.state.Pre!.CommD)));
  assert.deepEqual(info.Ticket, s.state.Pre!.Ticket);
  assert.equal(info.State, 'unsealing');
  // the sector is online while unsealing, still Finalized (its state name stays) and bound to the worker
  assert.equal(s.online, true);
  assert.equal(s.state.Unsealing, true);
  assert.equal(db.sectorOwner(sid), 'w1');
  // nothing else to hand out
  assert.equal(tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w2')), null);

  // another worker may not take over the task
  assert.throws(() => tasks.acquireDest(sid, { '/': b }, worker('w2')), /held by worker "w1"/);
  const dests = tasks.acquireDest(sid, { '/': b }, worker('w1'));
  assert.equal(dests.length, 1);
  const u = new URL(dests[0]!);
  assert.equal(u.protocol, 'market:');
  assert.equal(u.searchParams.get('host'), '127.0.0.1:41235');
  assert.equal(u.searchParams.get('scheme'), 'http');
  assert.equal(u.searchParams.get('token'), 'mkt-secret');
  assert.equal(tasks.get(task.id)!.state, 'uploading');
  // the token is handed to the worker, never stored
  assert.doesNotMatch(JSON.stringify(tasks.get(task.id)), /mkt-secret/);

  assert.deepEqual(tasks.achieve(sid, { '/': b }, '', worker('w1')), {});
  const done = tasks.get(task.id)!;
  assert.equal(done.state, 'finished');
  assert.equal(done.reported, true, 'the waiting market request got the outcome');
  assert.deepEqual(outcomes, ['finished:ev-1']);
  const after = db.getSector(sid)!;
  assert.equal(after.online, false);
  assert.equal(after.state.Unsealing, false);
  assert.equal(after.state.Finalized, true);
  // a repeated AchieveUnsealSector answers the same
  assert.deepEqual(tasks.achieve(sid, { '/': b }, '', worker('w1')), {});
});

test('achieve with an error: the task fails with the reason, counted by cause, the market told', async () => {
  const { db } = tempDb();
  const { a, sid } = addSealedSector(db, 4);
  const registry = new Registry();
  const tasks = new UnsealTasks({ store: db, registry });
  const outcomes: { state: string; error: string; ids: string[] }[] = [];
  tasks.onOutcome((t, ids) => outcomes.push({ state: t.state, error: t.error, ids }));
  tasks.request({ sid, pieceCid: a, dest: 'file:///tmp/out.car', source: 'market', eventId: 'ev-9' });
  assert.ok(tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w1')));
  tasks.achieve(sid, a, 'CommP of the unsealed bytes differs', worker('w1'));
  assert.deepEqual(outcomes, [{ state: 'failed', error: 'CommP of the unsealed bytes differs', ids: ['ev-9'] }]);
  assert.equal(db.getSector(sid)!.online, false);
  const text = await registry.metrics();
  assert.match(text, /venus_unseal_failures_total\{cause="worker"\} 1/);
  assert.match(text, /venus_unseal_tasks\{state="failed"\} 1/);
  assert.match(text, /venus_unseal_tasks\{state="set_up"\} 0/);
  // the next request from the market for the piece starts a new task
  const again = tasks.request({ sid, pieceCid: a, dest: 'file:///tmp/out.car', source: 'market', eventId: 'ev-10' });
  assert.equal(again.answer, undefined);
  assert.equal(again.task.state, 'set_up');
});

test('tasks survive a restart: a waiting task and an allocated one are there after reopening the database', () => {
  const { dir, db } = tempDb();
  const s1 = addSealedSector(db, 5);
  const s2 = addSealedSector(db, 6);
  const t1 = makeTasks(db);
  t1.request({ sid: s1.sid, pieceCid: s1.a, dest: 'http://127.0.0.1:9/put', source: 'cli' });
  t1.request({ sid: s2.sid, pieceCid: s2.b, dest: 'https://example.test/put', source: 'market', eventId: 'e1' });
  const got = t1.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w1'));
  assert.equal(got?.Sector.ID.Number, 5, 'oldest first');
  db.close();

  const db2 = tempDb(dir).db;
  const t2 = makeTasks(db2);
  const list = t2.recent(10);
  assert.deepEqual(
    list.map((t) => [t.number, t.state, t.events]),
    [
      [6, 'set_up', ['e1']],
      [5, 'unsealing', []],
    ],
  );
  // the worker holding sector 5 finishes it after the restart; sector 6 is handed out next
  t2.acquireDest(s1.sid, s1.a, worker('w1'));
  t2.achieve(s1.sid, s1.a, '', worker('w1'));
  assert.equal(t2.get(list[1]!.id)!.state, 'finished');
  assert.equal(t2.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w2'))?.Sector.ID.Number, 6);
  db2.close();
});

test('a task a worker never finishes is offered again after the timeout, and failed after maxAttempts', () => {
  const { db } = tempDb();
  const { a, sid } = addSealedSector(db, 7);
  let now = 1_000_000;
  const tasks = makeTasks(db, { now: () => now, reofferAfterMs: 60_000, maxAttempts: 2 });
  const { task } = tasks.request({ sid, pieceCid: a, dest: 'file:///tmp/a', source: 'cli' });
  assert.ok(tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w1')));
  now += 59_000;
  assert.equal(tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w2')), null, 'not yet');
  // asking for the destinations keeps the task alive
  tasks.acquireDest(sid, a, worker('w1'));
  now += 59_000;
  assert.equal(tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w2')), null);
  now += 2_000;
  const again = tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w2'));
  assert.ok(again, 'offered again');
  assert.equal(tasks.get(task.id)!.attempts, 2);
  assert.equal(tasks.get(task.id)!.worker, 'w2');
  // the first worker's late answer is refused: the task is w2's now
  assert.throws(() => tasks.achieve(sid, a, '', worker('w1')), /held by worker "w2"/);
  now += 61_000;
  tasks.sweep();
  const t = tasks.get(task.id)!;
  assert.equal(t.state, 'failed');
  assert.match(t.error, /no worker finished the unseal \(2 attempts/);
  assert.equal(db.getSector(sid)!.online, false, 'the sector is offline again');
});

test('requests are checked: unknown sector, sector being sealed, piece not in it, wrong offset or size, bad destination', () => {
  const { db } = tempDb();
  const { a, b, sid } = addSealedSector(db, 8);
  const sealing = addSealedSector(db, 9, { online: true });
  const tasks = makeTasks(db);
  const req = { sid, pieceCid: a, dest: 'file:///tmp/x', source: 'market' as const };
  assert.throws(() => tasks.request({ ...req, sid: { Miner: MINER, Number: 99 } }), /s-t01000-99 is unknown/);
  assert.throws(() => tasks.request({ ...req, sid: sealing.sid, pieceCid: sealing.a }), /still being sealed/);
  assert.throws(() => tasks.request({ ...req, pieceCid: pieceCid() }), /is not in sector s-t01000-8/);
  assert.throws(() => tasks.request({ ...req, pieceCid: 'bafkqaaa' }), /invalid piece CID/);
  assert.throws(() => tasks.request({ ...req, pieceCid: b, offset: 0, size: 1016 }), /offset 0 is not where/);
  assert.throws(() => tasks.request({ ...req, pieceCid: b, offset: 1016, size: 508 }), /size 508 is not the size/);
  assert.throws(() => tasks.request({ ...req, dest: 'ftp://host/x' }), /unsupported scheme "ftp"/);
  assert.throws(() => tasks.request({ ...req, dest: 'file:///tmp/' }), /must name a file/);
  assert.throws(() => tasks.request({ ...req, dest: 'https://u:p@host/x' }), /user and password/);
  assert.throws(() => tasks.request({ ...req, dest: 'not a url' }), /is not a URL/);
  assert.throws(() => tasks.request({ ...req, dest: `market://store/${b}` }), /names piece .*, not/);
  // a filler piece (no deal, no allocation) is not something to unseal
  const filler = pieceCid();
  const st = db.getSector(sid)!.state;
  st.Pieces!.push({
    Piece: { Size: 2048, PieceCID: { '/': filler } },
    DealInfo: { DealID: 0, AllocationID: 0, PayloadSize: 0, IsBuiltinMarket: false, IsCompatible: false },
  });
  db.putSector(st, false);
  assert.throws(() => tasks.request({ ...req, pieceCid: filler }), /is not in sector/);
  assert.equal(tasks.recent().length, 0, 'nothing was recorded');
  // a second destination joins the task; while uploading another one is refused
  const first = tasks.request({ ...req, pieceCid: b, offset: 1016, size: 1016 }).task;
  const joined = tasks.request({ ...req, pieceCid: b, dest: 'http://127.0.0.1:8/y' }).task;
  assert.equal(joined.id, first.id);
  assert.deepEqual(tasks.get(first.id)!.dest, ['file:///tmp/x', 'http://127.0.0.1:8/y']);
  tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w1'));
  tasks.acquireDest(sid, b, worker('w1'));
  assert.throws(() => tasks.request({ ...req, pieceCid: b, dest: 'file:///tmp/z' }), /is uploading; ask again later/);
});

test('market:// needs a configured market; the outcome waits for a market that was not listening', () => {
  const { db } = tempDb();
  const { a, sid } = addSealedSector(db, 10);
  const tasks = makeTasks(db);
  const { task } = tasks.request({ sid, pieceCid: a, dest: `market://store/${a}`, source: 'market', eventId: 'e1' });
  tasks.dropEvent(task.id, 'e1'); // answered with the state of the moment, the market asks again later
  tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w1'));
  assert.throws(() => tasks.acquireDest(sid, a, worker('w1')), /needs the market's address, and none is configured/);
  tasks.achieve(sid, a, '', worker('w1'));
  assert.equal(tasks.get(task.id)!.reported, false);
  // the market asks again: it reads the outcome once, then a further request is a fresh unseal
  const again = tasks.request({ sid, pieceCid: a, dest: `market://store/${a}`, source: 'market', eventId: 'e2' });
  assert.deepEqual(again.answer, { state: 'finished', error: '' });
  assert.equal(again.task.id, task.id);
  const fresh = tasks.request({ sid, pieceCid: a, dest: `market://store/${a}`, source: 'market', eventId: 'e3' });
  assert.notEqual(fresh.task.id, task.id);
  assert.equal(fresh.answer, undefined);
});

test('SealerAPI wiring: the three methods reach the tasks; a worker aborting an unseal fails the task, not the sector', async () => {
  const { db } = tempDb();
  const { a, sid } = addSealedSector(db, 11);
  const tasks = makeTasks(db);
  const api = new SealerService({ store: db } as unknown as SealerOptions, tasks).api();
  tasks.request({ sid, pieceCid: a, dest: 'file:///tmp/a', source: 'cli' });
  const info = await api.AllocateUnsealSector({ AllowedMiners: null, AllowedProofTypes: null }, ctxOf('w1'));
  assert.equal(info?.Sector.ID.Number, 11);
  assert.deepEqual(await api.AcquireUnsealDest(sid, { '/': a }, ctxOf('w1')), ['file:///tmp/a']);
  // the worker gives up: the unseal fails, the proven sector is neither aborted nor online
  assert.deepEqual(await api.ReportAborted(sid, 'unseal: sealed file missing', ctxOf('w1')), {});
  const s = db.getSector(sid)!;
  assert.equal(s.state.AbortReason, '');
  assert.equal(s.online, false);
  const t = tasks.recent(1)[0]!;
  assert.equal(t.state, 'failed');
  assert.match(t.error, /sealed file missing/);
  await assert.rejects(
    async () => api.AchieveUnsealSector({ Miner: MINER, Number: 12 }, { '/': a }, '', ctxOf('w1')),
    /no unseal of/,
  );
  // without tasks, workers with plan "unseal" simply get none
  const bare = new SealerService({ store: db } as unknown as SealerOptions).api();
  assert.equal(await bare.AllocateUnsealSector({ AllowedMiners: null, AllowedProofTypes: null }, ctxOf('w1')), null);
  // FindSectorWithPiece looks through the sectors' pieces
  assert.equal((await api.FindSectorWithPiece('offline', { '/': a }, ctxOf('w1')))?.ID.Number, 11);
  assert.equal(await api.FindSectorWithPiece('online', { '/': a }, ctxOf('w1')), null);
});

test("damocles' UnsealPiece stream: schedules the task, ends with an empty chunk once the bytes are at dest", async () => {
  const { db } = tempDb();
  const { a, b, sid } = addSealedSector(db, 13);
  const tasks = makeTasks(db);
  const api = new SealerService({ store: db } as unknown as SealerOptions, tasks).api();
  const ctx = { ...ctxOf('admin'), signal: new AbortController().signal } as CallContext;
  await assert.rejects(async () => api.UnsealPiece(sid, { '/': a }, 0, 1016, '', ctx), /give a destination/);
  const stream = (await api.UnsealPiece(sid, { '/': a }, 0, 1016, 'file:///tmp/a', ctx)) as AsyncIterable<string>;
  assert.equal(tasks.recent(1)[0]!.state, 'set_up');
  const chunks: string[] = [];
  const reading = (async () => {
    for await (const c of stream) chunks.push(c);
  })();
  tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w1'));
  tasks.achieve(sid, a, '', worker('w1'));
  await reading;
  assert.deepEqual(chunks, ['']);
  const failing = (await api.UnsealPiece(sid, { '/': b }, 1016, 1016, 'file:///tmp/b', ctx)) as AsyncIterable<string>;
  tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker('w1'));
  tasks.achieve(sid, b, 'no replica', worker('w1'));
  await assert.rejects(async () => {
    for await (const _ of failing) {
      // nothing comes before the error
    }
  }, /unseal failed: no replica/);
});

test('a worker that lost the AllocateUnsealSector answer and asks again from the same store gets the same task back', () => {
  const { db } = tempDb();
  const s1 = addSealedSector(db, 11);
  const s2 = addSealedSector(db, 12);
  let now = 1_000_000;
  const tasks = makeTasks(db, { now: () => now, reofferAfterMs: 6 * 3600_000 });
  const { task } = tasks.request({ sid: s1.sid, pieceCid: s1.a, dest: 'file:///tmp/a', source: 'cli' });
  tasks.request({ sid: s2.sid, pieceCid: s2.b, dest: 'file:///tmp/b', source: 'cli' });
  const store = { Instance: 'worker-1', Location: '/data/unseal-0' };
  const spec = { AllowedMiners: null, AllowedProofTypes: null, Worker: store };
  const first = tasks.allocate(spec, worker('w1'));
  assert.equal(first?.Sector.ID.Number, 11);
  // the answer never reached the worker; a minute later the same thread asks again
  now += 60_000;
  const again = tasks.allocate(spec, worker('w1'));
  assert.deepEqual(again, first, 'the same allocation, not the next task nor nothing');
  assert.equal(tasks.get(task.id)!.attempts, 1, 'not counted as another attempt');
  assert.equal(tasks.get(task.id)!.allocatedAt, now, 'its re-offer clock starts when the worker really has it');
  // another store of the same worker, or another worker naming this store, gets the next task instead
  const other = tasks.allocate({ ...spec, Worker: { ...store, Location: '/data/unseal-1' } }, worker('w1'));
  assert.equal(other?.Sector.ID.Number, 12);
  assert.equal(tasks.allocate(spec, worker('w2')), null, 'naming another worker’s store hands nothing over');
  // once started (AcquireUnsealDest) it is the worker's for good: asking again gives nothing new
  tasks.acquireDest(s1.sid, s1.a, worker('w1'));
  assert.equal(tasks.allocate(spec, worker('w1')), null);
  // a malformed store is refused, as AllocateSector does
  assert.throws(
    () => tasks.allocate({ ...spec, Worker: 'w1' as never }, worker('w1')),
    /invalid AllocateSectorSpec\.Worker/,
  );
});
