import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManagerStore, newSectorState, openDb } from './db.js';
import { makeHarness } from './harness.test-util.js';
import { openTestDb, TEST_DB } from './sql/pg.test-util.js';

test('kill -9 loses nothing a worker was told: numbers and tickets survive, numbers never repeat', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-kill-'));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./kill-child.test-util.ts', import.meta.url).pathname, dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const told: { n: number; epoch: number }[] = [];
  let buf = '';
  await new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.stdout.on('data', (c: Buffer) => {
      buf += c;
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const [n, e] = l.split(' ').map(Number);
        told.push({ n: n!, epoch: e! });
      }
      if (told.length >= 25 && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => resolve());
  });
  await new Promise((r) => child.once('close', r));
  assert.ok(told.length >= 25, `child printed ${told.length} allocations`);
  const h = makeHarness({ dir, cfgText: '[[SectorManager.Miners]]\nID = 1000\nMaxNumber = 1000000\n' });
  for (const t of told) {
    const s = h.db.getSector({ Miner: 1000, Number: t.n });
    assert.ok(s, `sector ${t.n} was acknowledged but is gone`);
    assert.equal(s.state.Ticket?.Epoch, t.epoch, `ticket of sector ${t.n}`);
  }
  const max = Math.max(...told.map((t) => t.n));
  const next = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
  assert.ok(next!.ID.Number > max, `number ${next!.ID.Number} handed out again (max told ${max})`);
  // no number skipped: one allocated but never told (no ticket yet) goes again to the seal store it was for
  const again = new Set<number>();
  for (let i = 0; i < 4; i++) {
    const s = await h.sealer.allocateSector({
      AllowedMiners: null,
      AllowedProofTypes: null,
      Worker: { Instance: 'w', Location: `/seal/${i}` },
    });
    again.add(s!.ID.Number);
  }
  const toldSet = new Set(told.map((t) => t.n));
  let ticketedNotTold = 0;
  for (let n = 1; n < next!.ID.Number; n++) {
    if (toldSet.has(n)) continue;
    if (h.db.getSector({ Miner: 1000, Number: n })?.state.Ticket) ticketedNotTold++;
    else assert.ok(again.has(n), `sector ${n} allocated, never told, and not offered again: skipped`);
  }
  assert.ok(ticketedNotTold <= 1, `${ticketedNotTold} sectors ticketed but not told (one kill)`);
  h.commit.stop();
});

test('transactions: all or nothing; numbers never go back', () => {
  const db = new ManagerStore(openTestDb(':memory:'));
  assert.throws(() =>
    db.tx(() => {
      db.setLastNumber(1000, 5);
      db.putSector(newSectorState({ Miner: 1000, Number: 5 }, 5), true);
      throw new Error('crash in the middle');
    }),
  );
  assert.equal(db.lastNumber(1000), undefined);
  assert.equal(db.getSector({ Miner: 1000, Number: 5 }), undefined);
  db.setLastNumber(1000, 7);
  assert.throws(() => db.setLastNumber(1000, 6), /would go back/);
  assert.equal(db.nextNumberCandidate(1000, 0, 10), 8);
  assert.equal(db.nextNumberCandidate(1000, 20, 30), 21, 'a raised InitNumber wins');
  assert.throws(() => db.nextNumberCandidate(1000, 0, 7), /no sector number left/);
  db.close();
});

test('entropy is the CBOR of the miner ID address, f01000 → 43 00 e8 07 (docs/spec/chain.md §Randomness)', async () => {
  const { minerEntropy } = await import('./chain.js');
  assert.equal(Buffer.from(minerEntropy(1000), 'base64').toString('hex'), '4300e807');
});

test('sector timelines: steps in order, repeats collapsed, kept across a reopen; PoSt results trimmed', () => {
  const file = join(mkdtempSync(join(tmpdir(), 'vsm-events-')), 'manager.db');
  let db = new ManagerStore(openTestDb(file));
  const left: [string, number][] = [];
  db.onStateLeft = (_sid, state, seconds) => left.push([state, seconds]);
  const sid = { Miner: 1000, Number: 3 };
  const step = (state: string, failure: string | null = null) => ({ state, event: null, worker: 'w /seal/0', failure });
  assert.equal(db.recordSectorEvent(sid, step('Allocated'), 1), true);
  assert.equal(db.recordSectorEvent(sid, step('PC1Done'), 2), true);
  assert.equal(db.recordSectorEvent(sid, step('PC1Done'), 3), false, 'a re-report of the same state');
  assert.equal(db.recordSectorEvent(sid, step('PC1Done', 'Temporary: chain down'), 4), true, 'a failure is a step');
  assert.equal(db.recordSectorEvent(sid, step('PC1Done', 'Temporary: chain down'), 5), false);
  assert.equal(db.recordSectorEvent(sid, step('PC2Done'), 6), true);
  db.recordSectorEvent({ Miner: 1000, Number: 4 }, step('Allocated'), 7);
  // time in a state runs from entering it to the next state, across a failure reported on the way
  assert.deepEqual(left, [
    ['Allocated', 0.001],
    ['PC1Done', 0.004],
  ]);
  db.close();

  db = new ManagerStore(openTestDb(file));
  assert.deepEqual(
    db.sectorEvents(sid).map((e) => [e.state, e.failure, e.at]),
    [
      ['Allocated', null, 1],
      ['PC1Done', null, 2],
      ['PC1Done', 'Temporary: chain down', 4],
      ['PC2Done', null, 6],
    ],
  );
  assert.equal(db.sectorEvents({ Miner: 1000, Number: 5 }).length, 0);

  for (let i = 0; i < 5; i++)
    db.recordPoSt({ miner: 't01000', deadline: i, ok: i !== 2, epoch: 100 + i, proven: 2, faulty: 0 }, 1000 + i, 3);
  assert.deepEqual(
    db.recentPoSts(10).map((p) => [p.deadline, p.ok, p.epoch, p.at]),
    [
      [4, true, 104, 1004],
      [3, true, 103, 1003],
      [2, false, 102, 1002],
    ],
  );
  db.close();
});

test('countSectorsByState counts every sector by state name from the index, not the JSON', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-count-'));
  const store = new ManagerStore(openTestDb(join(dir, 'manager.db')));
  const mk = (n: number) => newSectorState({ Miner: 1000, Number: n }, 5);
  store.putSector(mk(1), true);
  store.putSector(mk(2), true);
  const reported = mk(3);
  reported.LatestState = {
    Worker: { Instance: 'w', Location: '/s' },
    StateChange: { Prev: 'Empty', Next: 'PC1Done', Event: 'SectorPC1' },
    Failure: null,
  };
  store.putSector(reported, true);
  store.putSector({ ...mk(4), Finalized: true }, false);
  store.putSector({ ...mk(5), Finalized: true, AbortReason: 'gone' }, false);
  const counts = Object.fromEntries(store.countSectorsByState().map((r) => [r.state, r.count]));
  assert.deepEqual(counts, { Allocated: 2, PC1Done: 1, Finalized: 1, Aborted: 1 });
  if (TEST_DB !== 'sqlite') {
    store.close();
    return; // the rest is SQLite's: its query plan, files of earlier builds
  }
  const plan = store.db
    .prepare('EXPLAIN QUERY PLAN SELECT state_name AS state, count(*) AS count FROM sectors GROUP BY state_name')
    .all() as { detail: string }[];
  assert.ok(
    plan.some((p) => /USING (COVERING )?INDEX sectors_state_name/.test(p.detail)),
    JSON.stringify(plan),
  );
  store.close();
  // a database from an earlier build (no state_name column) gains it on open
  const old = join(dir, 'old.db');
  const raw = openDb(old);
  raw.exec('DROP INDEX sectors_state_name; ALTER TABLE sectors DROP COLUMN state_name');
  raw.close();
  const again = new ManagerStore(openDb(old));
  again.putSector(mk(1), true);
  assert.deepEqual(again.countSectorsByState(), [{ state: 'Allocated', count: 1 }]);
  again.close();
});

test('M10: timelines, workers and seal store allocations stay bounded; stale rows are pruned', async () => {
  const h = makeHarness();
  const sid = (await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!.ID;
  const worker = { Instance: 'w', Location: '/seal/1' };
  // the attack: a worker alternating two states writes a row per call
  for (let i = 0; i < 300; i++)
    await h.sealer.reportState(sid, {
      Worker: worker,
      StateChange: { Prev: 'x', Next: i % 2 ? 'A' : 'B', Event: 'e' },
      Failure: null,
    });
  const events = h.db.sectorEvents(sid);
  assert.equal(events.length, 256);
  assert.equal(events[0]!.state, 'Allocated', 'the first step stays');
  assert.equal(events.at(-1)!.state, 'A', 'the latest steps stay');
  // 2000 worker names, 5000 seal stores: capped
  h.db.tx(() => {
    for (let i = 0; i < 2000; i++)
      h.sealer.workerPing({
        Name: `w${i}`,
        Dest: '',
        Version: 'x',
        Summary: { Threads: 1, Empty: 1, Paused: 0, Running: 0, Waiting: 0, Errors: 0 },
      });
  });
  assert.equal(h.db.listWorkers().length, 1024);
  assert.ok(h.db.getWorker('w1999'), 'the latest pings stay');
  h.db.tx(() => {
    for (let i = 0; i < 5000; i++)
      h.db.recordAllocation({ Instance: `i${i}`, Location: '/s' }, { Miner: 1000, Number: i });
  });
  const n = (t: string) => (h.db.db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
  assert.equal(n('seal_allocations'), 4096);
  // stale: a week without a ping; a finished sector's timeline after 90 days
  await h.sealer.reportFinalized(sid);
  const later = Date.now() + 91 * 24 * 3600_000;
  assert.deepEqual(h.db.prune(later), { workers: 1024, allocations: 4096, events: 256 });
  assert.equal(h.db.sectorEvents(sid).length, 0);
  assert.equal(h.db.getSector(sid)?.state.Finalized, true, 'the sector itself stays');
  h.commit.stop();
});
