// The commit duty across two managers on one database and one chain: the standby accepts a worker's PreCommit and
// only records it, the holder finds it and sends it; when the holder dies with a message recorded but not pushed,
// the other takes over and pushes it under its write-ahead id; the dead one never pushes again.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { SubmitResult } from '../../api/sealer.js';
import type { CommitLease } from '../commit/index.js';
import { type Harness, makeHarness, preCommitInfoFor } from '../harness.test-util.js';
import { FakeChain } from '../testkit.js';
import { applyHaSchema, Duties } from './duties.js';

const TTL = 3000;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function manager(dir: string, chain: FakeChain, name: string, time: { t: number }) {
  const ref: { duties?: Duties } = {};
  const lease: CommitLease = {
    holds: () => ref.duties!.holds('commit'),
    fence: () => ref.duties!.fence('commit'),
  };
  const h = makeHarness({ dir, chain, commitLease: lease });
  applyHaSchema(h.db.db);
  // the database's clock is the test's
  const db = {
    dialect: h.db.db.dialect,
    prepare: (sql: string) => h.db.db.prepare(sql),
    exec: (sql: string) => h.db.db.exec(sql),
    tx: <T>(fn: () => T) => h.db.db.tx(fn),
    now: () => time.t,
  };
  const duties = new Duties({
    db,
    name,
    ttlMs: TTL,
    duties: ['commit'],
    clock: () => time.t,
    timers: false,
    registry: new Registry(),
  });
  ref.duties = duties;
  duties.on('commit', { acquire: () => h.commit.activate(), release: () => h.commit.deactivate() });
  return { h, duties };
}

async function preCommit(h: Harness) {
  const sector = (await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null }))!;
  const ticket = await h.sealer.assignTicket(sector.ID);
  const r = await h.sealer.submitPreCommit(sector, preCommitInfoFor(sector.ID, ticket), false);
  assert.equal(r.Res, SubmitResult.Accepted);
  return sector;
}

test('commit duty: the standby records, the holder sends; a takeover pushes the recorded message once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-ha-commit-'));
  dirs.push(dir);
  const chain = new FakeChain();
  const time = { t: 5_000_000 };
  const a = manager(dir, chain, 'a', time);
  const b = manager(dir, chain, 'b', time);
  await a.duties.start();
  await b.duties.start();
  assert.ok(a.duties.holds('commit') && !b.duties.holds('commit'));

  // a worker talks to the standby: accepted and recorded (NeedSend), nothing sent from there
  const s1 = await preCommit(b.h);
  await b.h.commit.idle();
  assert.equal(chain.pushed.length, 0);
  assert.equal(b.h.db.getSector(s1.ID)!.state.MessageInfo.NeedSend, true);
  // the holder's rescan finds it
  a.h.commit.rescan();
  await a.h.commit.idle();
  assert.equal(chain.pushed.length, 1);
  assert.equal(a.h.db.getSector(s1.ID)!.state.MessageInfo.NeedSend, false);

  // the holder records the next one, the messager is down, and the holder dies before it could push
  chain.pushError = new Error('messager down');
  await preCommit(a.h);
  await a.h.commit.idle();
  const recorded = a.h.db.unpushedMessages();
  assert.equal(recorded.length, 1);
  // a Window PoSt recorded by a poster that died is no commit message: never pushed on a takeover
  a.h.db.putMessage({ id: 'post-left-behind', miner: 1000, kind: 'post', sectors: [], message: {}, spec: {} });
  chain.pushError = undefined;
  time.t += TTL;
  assert.ok(!a.duties.holds('commit'), 'the dead holder stops acting before the database lets go');
  await b.duties.tick();
  assert.ok(b.duties.holds('commit'));
  assert.equal(b.duties.token('commit'), 2);
  await b.h.commit.idle();
  assert.deepEqual(chain.pushed.slice(1), [recorded[0]!.id], 'pushed under its write-ahead id');
  assert.deepEqual(
    b.h.db.unpushedMessages().map((m) => m.id),
    ['post-left-behind'],
  );

  // the old holder wakes up: its retry finds the messager has the message; nothing is sent twice
  assert.equal(await a.h.commit.push(recorded[0]!.id, recorded[0]!.message, recorded[0]!.spec), true);
  const s3 = await preCommit(a.h); // a worker still talks to it: recorded only
  await a.h.commit.flush();
  assert.equal(chain.pushed.length, 2, 'a manager without the commit duty pushes nothing');
  b.h.commit.rescan();
  await b.h.commit.idle();
  assert.equal(chain.pushed.length, 3);
  assert.equal(b.h.db.getSector(s3.ID)!.state.MessageInfo.NeedSend, false);
  assert.equal(new Set(chain.pushed).size, 3, 'no id pushed twice');
  a.h.commit.stop();
  b.h.commit.stop();
});
