// Window PoSt never fails silently: a locked wallet at a deadline, a closed deadline, a refused push — each is an
// ERROR with the reason (once a minute), venus_wdpost_failures_total{reason} and a post_results row, and the
// poster keeps going while the deadline is open. The in-process chain with the fake prover (no files needed).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { setupLogging } from '../../common/log.js';
import { parseExposition, ServiceMetrics } from '../../common/metrics.js';
import type { SealedFixture } from '../../proofs/porep/fixture.js';
import type { ChainAPI, MessagerAPI } from '../chain.js';
import { ManagerStore, openDb } from '../db.js';
import { LeaseLost } from '../ha/lease.js';
import { makeHarness, placeSealedSector, sealTestSector } from '../harness.test-util.js';
import { MinerInfoCache } from '../miners.js';
import { MinerMethod } from '../params.js';
import { LocalWindowPoStProver } from '../proofs.js';
import { TEST_POLICY } from '../testkit.js';
import type { PoStReport } from './failures.js';
import { Poster, type PosterOptions } from './index.js';

let fixtureDir: string;
let fixture: SealedFixture;
const lines: { level: string; module: string; msg: string; [k: string]: unknown }[] = [];
before(async () => {
  fixtureDir = mkdtempSync(join(tmpdir(), 'vsm-post-fail-'));
  fixture = await sealTestSector(fixtureDir);
  setupLogging({
    levelSpec: 'info',
    format: 'json',
    dest: new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    }),
  });
});
after(() => {
  setupLogging({ levelSpec: 'info', format: 'text', dest: process.stderr });
  rmSync(fixtureDir, { recursive: true, force: true });
});

function setup(o: { chain?: ChainAPI; messager?: MessagerAPI; lease?: PosterOptions['lease'] } = {}) {
  const h = makeHarness({ cfgText: '[[SectorManager.Miners]]\nID = 1000\n[PoSt.Actors.1000]\nSender = "t0100"\n' });
  h.stores.reload([{ name: 'store-1', path: h.storeDir, strict: false, readOnly: false, weight: 1 }]);
  h.chain.deadlines = { count: 4, window: 20, lookback: 5, periodStart: 0 };
  h.chain.height = 5;
  for (const n of [1, 2]) {
    const sid = { Miner: 1000, Number: n };
    h.chain.activateSector(1000, n, 1, fixture.commR);
    h.db.indexSector('normal', sid, { SealedFile: 'store-1', CacheDir: 'store-1' });
    placeSealedSector(h.storeDir, sid, fixture);
  }
  const reports: PoStReport[] = [];
  const metrics = new ServiceMetrics({ defaults: false });
  const poster = new Poster({
    chain: o.chain ?? h.chain.api(),
    messager: o.messager ?? h.chain.messager(),
    ...(o.lease ? { lease: o.lease } : {}),
    store: h.db,
    stores: h.stores,
    prover: new LocalWindowPoStProver(),
    miners: new MinerInfoCache(h.chain.api()),
    policy: TEST_POLICY,
    config: () => h.cfg,
    challengeConfidence: 2,
    submitConfidence: 1,
    onPoSt: (r) => reports.push(r),
    metrics,
  });
  const run = async (until: number) => {
    while (h.chain.height < until) {
      await h.chain.mine();
      await poster.onHead(h.chain.height, h.chain.tipset().Cids);
      await poster.idle();
    }
  };
  const failures = async () =>
    Object.fromEntries(
      parseExposition(await metrics.text())
        .filter((s) => s.name === 'venus_wdpost_failures_total')
        .map((s) => [s.labels.reason!, s.value]),
    );
  const done = () => {
    poster.stop();
    h.commit.stop();
  };
  return { h, poster, reports, run, failures, done };
}

const errors = (msg: RegExp) => lines.filter((l) => l.level === 'error' && l.module === 'poster' && msg.test(l.msg));

test('a locked wallet at a PoSt deadline: ERROR once with the fix, metric and reason while the deadline is open; retried once unlocked', async () => {
  const { h, reports, run, failures, done } = setup();
  const m = h.chain.miners.get(1000)!;
  lines.length = 0;
  h.chain.unsignable = 'wallet not found';
  await run(30); // deadline 1: open 20, close 40; pushed at 21, unsigned since
  const sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 1, 'pushed once, waiting in the messager');
  const waits = errors(/waits unsigned/);
  assert.equal(waits.length, 1, 'one ERROR for 9 heads of a locked wallet (once a minute)');
  assert.equal(waits[0]!.reason, 'signing');
  assert.equal(waits[0]!.err, 'wallet not found');
  assert.match(String(waits[0]!.fix), /venus-wallet unlock/);
  assert.ok(Number(waits[0]!.closesIn) > 0, 'reported while the deadline is open');
  assert.deepEqual(await failures(), { signing: 1 });
  assert.equal(reports.length, 1);
  assert.equal(reports[0]!.ok, false);
  assert.match(reports[0]!.reason!, /^signing: wallet not found \(is venus-wallet running, unlocked/);
  assert.equal(m.posts.length, 0);

  h.chain.unsignable = undefined; // venus-wallet unlock
  await run(39);
  assert.equal(m.posts.length, 1, 'the waiting message landed once the wallet signed');
  assert.equal(reports.at(-1)!.ok, true);
  assert.equal(errors(/deadline closed/).length, 0);
  done();
});

test('a wallet locked through the whole deadline: the closed deadline is an ERROR naming the last failure', async () => {
  const { h, reports, run, failures, done } = setup();
  lines.length = 0;
  h.chain.unsignable = 'wallet not found';
  await run(41);
  const closed = errors(/deadline closed before its window post landed/);
  assert.equal(closed.length, 1);
  assert.match(String(closed[0]!.err), /deadline 1 closed at epoch 40 .*last failure: signing: wallet not found/);
  assert.deepEqual(await failures(), { signing: 1, deadline_closed: 1 });
  assert.match(reports.at(-1)!.reason!, /^deadline_closed: /);
  done();
});

test('a closed deadline is never pushed: the deadline is read again right before the push', async () => {
  const { h, poster, reports, run, failures, done } = setup();
  lines.length = 0;
  await run(20); // proven (challenge 15 + 2), not yet submitted (open 20 + 1)
  const stale = h.chain.tipset(21).Cids;
  await h.chain.mine(21); // the chain moves past the close (40) before the poster sees the head of 21
  await poster.onHead(21, stale);
  await poster.idle();
  const sent = [...h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 0, 'nothing sent for a closed deadline');
  const e = errors(/deadline closed before the window post could be sent/);
  assert.equal(e.length, 1);
  assert.match(String(e[0]!.err), /not sent: deadline 1 closed at epoch 40 before the proof could be sent \(head 41\)/);
  assert.deepEqual(await failures(), { deadline_closed: 1 });
  assert.equal(reports.length, 1);
  assert.match(reports[0]!.reason!, /^deadline_closed: not sent/);
  await poster.onHead(42, h.chain.tipset(42).Cids);
  await poster.idle();
  assert.equal(errors(/deadline closed/).length, 1, 'reported once');
  done();
});

test('a refused push is an ERROR with the config keys, retried on the next heads while the deadline is open', async () => {
  const { h, reports, run, failures, done } = setup();
  const m = h.chain.miners.get(1000)!;
  lines.length = 0;
  h.chain.pushError = new Error('ws://127.0.0.1:1/rpc/v0: token signature does not match');
  await run(25);
  const e = errors(/could not be pushed/);
  assert.equal(e.length, 1, 'once a minute');
  assert.match(String(e[0]!.fix), /\[Messager\] Api and Token/);
  assert.ok((await failures()).push! >= 4, 'every failed attempt counted');
  assert.equal(reports.filter((r) => !r.ok).length, 1);
  h.chain.pushError = undefined;
  await run(39);
  assert.equal(m.posts.length, 1);
  done();
});

test('post_results keeps the reason; a database from before the column gets it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-post-db-'));
  try {
    const file = join(dir, 'manager.db');
    const old = openDb(file);
    old.exec('DROP TABLE post_results');
    old.exec(
      'CREATE TABLE post_results (seq INTEGER PRIMARY KEY AUTOINCREMENT, miner TEXT NOT NULL, deadline INTEGER NOT NULL, ok INTEGER NOT NULL, epoch INTEGER, proven INTEGER, faulty INTEGER, at INTEGER NOT NULL)',
    );
    old.exec("INSERT INTO post_results (miner, deadline, ok, at) VALUES ('t01000', 0, 1, 1)");
    old.close();
    const store = new ManagerStore(openDb(file));
    store.recordPoSt({
      miner: 't01000',
      deadline: 1,
      ok: false,
      epoch: 30,
      proven: 2,
      faulty: 0,
      reason: 'signing: wallet not found',
    });
    const rows = store.recentPoSts();
    assert.equal(rows[0]!.reason, 'signing: wallet not found');
    assert.equal(rows[1]!.reason, null);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a manager frozen between the proof and the push wakes up after the deadline closed: nothing is sent', async () => {
  // the freeze: the messager call right before the push (the message id) returns when the chain is past the close
  let freeze: (() => Promise<void>) | undefined;
  let mine: (n: number) => Promise<void> = async () => undefined;
  const messager = new Proxy({} as MessagerAPI, {
    get: (_t, k: keyof MessagerAPI) => {
      const real = base.h.chain.messager();
      if (k !== 'HasMessageByUid') return real[k];
      return async (id: string) => {
        const f = freeze;
        freeze = undefined;
        if (f) await f();
        return real.HasMessageByUid(id);
      };
    },
  });
  const base = { h: undefined as unknown as ReturnType<typeof setup>['h'] };
  const t = setup({ messager });
  base.h = t.h;
  mine = (n) => t.h.chain.mine(n);
  lines.length = 0;
  await t.run(20); // proven (challenge 15 + 2); submitted from open 20 + 1
  freeze = () => mine(21); // the chain reaches 42 while this manager sleeps
  await t.run(21);
  const sent = [...t.h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(
    sent.length,
    0,
    'nothing pushed for the closed deadline (the messager would refuse it: invalid deadline)',
  );
  const e = errors(/deadline closed before the window post could be sent/);
  assert.equal(e.length, 1);
  assert.match(String(e[0]!.err), /deadline 1 closed at epoch 40 before the proof could be sent \(head 42\)/);
  assert.deepEqual(await t.failures(), { deadline_closed: 1 });
  assert.match(t.reports.at(-1)!.reason!, /^deadline_closed: not sent/);
  assert.equal(t.reports.at(-1)!.ok, false);
  t.done();
});

test('one epoch before the close is too late: a message pushed then could not land in the deadline', async () => {
  const t = setup();
  lines.length = 0;
  await t.run(20);
  await t.h.chain.mine(19); // 39: the next epoch is the close
  await t.poster.onHead(21, t.h.chain.tipset(21).Cids);
  await t.poster.idle();
  const sent = [...t.h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 0);
  assert.match(
    String(errors(/could be sent/)[0]?.err),
    /deadline 1 closes at epoch 40 before the proof could be sent \(head 39\)/,
  );
  t.done();
});

test('the chain cannot say the deadline is open right before the push: not sent then, sent on the next head', async () => {
  let down = false;
  const base = { api: undefined as unknown as ChainAPI };
  const chain = new Proxy({} as ChainAPI, {
    get: (_t, k: keyof ChainAPI) => {
      const real = base.api;
      if (k !== 'StateMinerProvingDeadline') return real[k];
      return async (a: string, tsk: unknown) => {
        if (down && tsk === null) throw new Error('connect ECONNREFUSED 127.0.0.1:1234');
        return real.StateMinerProvingDeadline(a, tsk as never);
      };
    },
  });
  const t = setup({ chain });
  base.api = t.h.chain.api();
  lines.length = 0;
  await t.run(20);
  down = true;
  await t.run(21);
  let sent = [...t.h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 0, 'not pushed on a stale view of the chain');
  assert.ok(lines.some((l) => l.level === 'warn' && /current deadline unavailable right before a push/.test(l.msg)));
  down = false;
  await t.run(23);
  sent = [...t.h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 1);
  assert.equal(t.reports.at(-1)?.ok, true);
  t.done();
});

test('a poster whose post duty moved to another manager pushes nothing, and records nothing unfenced', async () => {
  let held = true;
  const t = setup({
    lease: {
      holds: () => held,
      fence: () => {
        if (!held) throw new LeaseLost('post', 'm0', 'held by m1 under token 2');
      },
    },
  });
  lines.length = 0;
  await t.run(20);
  held = false; // taken over while the proof was made
  await t.run(24);
  const sent = [...t.h.chain.records.values()].filter((r) => r.Method === MinerMethod.SubmitWindowedPoSt);
  assert.equal(sent.length, 0);
  assert.equal(
    t.h.db.unpushedMessages().filter((m) => m.kind === 'post').length,
    0,
    'no write-ahead row for a message that is not ours to send',
  );
  assert.ok(lines.some((l) => /post duty moved to another manager/.test(l.msg)));
  assert.deepEqual(await t.failures(), {});
  t.done();
});
