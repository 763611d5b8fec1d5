// Duties under a lease: two managers (two Duties, each with its own connection to one SQLite file) and one fake
// clock for both and for the database. A duty runs on one of them at a time; the holder stops it here before the
// database lets the other take it; the fencing token grows on every takeover; a graceful stop hands it over at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { Duties, type Duty, LeaseLost, LeaseTable } from './duties.js';
import { openTestLeaseDb, type TestLeaseDb } from './sqlite.test-util.js';

const TTL = 3000;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Manager {
  duties: Duties;
  db: TestLeaseDb;
  registry: Registry;
  events: string[];
}

function cluster(n = 2) {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-ha-'));
  dirs.push(dir);
  const time = { t: 1_000_000 };
  const clock = () => time.t;
  const managers: Manager[] = [];
  for (let i = 0; i < n; i++) {
    const db = openTestLeaseDb(join(dir, 'manager.db'), clock);
    const registry = new Registry();
    const duties = new Duties({ db, name: `m${i}`, ttlMs: TTL, clock, timers: false, registry });
    const events: string[] = [];
    for (const d of ['post', 'commit', 'chain'] as Duty[])
      duties.on(d, { acquire: () => void events.push(`+${d}`), release: () => void events.push(`-${d}`) });
    managers.push({ duties, db, registry, events });
  }
  const settle = () => new Promise((r) => setImmediate(r));
  return {
    time,
    managers,
    settle,
    close: () => {
      for (const m of managers) m.db.close();
    },
  };
}

async function held(m: Manager): Promise<string> {
  const text = await m.registry.metrics();
  return [...text.matchAll(/venus_sector_manager_duty_held\{duty="(\w+)"\} (\d)/g)]
    .map(([, d, v]) => `${d}=${v}`)
    .join(' ');
}

test('the first manager takes every duty, the second stands by; snapshot and metric say so', async () => {
  const { managers, settle, close } = cluster();
  const [a, b] = managers as [Manager, Manager];
  await a.duties.start();
  await b.duties.start();
  await settle();
  for (const d of ['post', 'commit', 'chain'] as Duty[]) {
    assert.ok(a.duties.holds(d), d);
    assert.ok(!b.duties.holds(d), d);
    assert.equal(a.duties.token(d), 1);
    assert.equal(b.duties.token(d), 0);
  }
  assert.deepEqual(a.events.sort(), ['+chain', '+commit', '+post']);
  assert.deepEqual(b.events, []);
  const snap = b.duties.snapshot();
  assert.deepEqual(
    snap.map((s) => [s.duty, s.holder, s.token, s.mine]),
    [
      ['post', 'm0', 1, false],
      ['commit', 'm0', 1, false],
      ['chain', 'm0', 1, false],
    ],
  );
  assert.equal(snap[0]!.expiresAt, 1_000_000 + TTL);
  assert.equal(await held(a), 'post=1 commit=1 chain=1');
  assert.equal(await held(b), 'post=0 commit=0 chain=0');
  close();
});

test('renewals keep the lease; a dead holder is stopped locally before the other takes over with the next token', async () => {
  const { time, managers, settle, close } = cluster();
  const [a, b] = managers as [Manager, Manager];
  await a.duties.start();
  await b.duties.start();
  // ten renewal rounds: still a's, b never gets it
  for (let i = 0; i < 10; i++) {
    time.t += TTL / 3;
    await a.duties.tick();
    await b.duties.tick();
  }
  assert.ok(a.duties.holds('post'));
  assert.ok(!b.duties.holds('post'));
  assert.equal(a.duties.token('post'), 1);
  // a freezes (no more renewals): it may act until before+TTL−TTL/10, the database keeps it until before+TTL
  const renewedAt = time.t;
  time.t = renewedAt + TTL - TTL / 10;
  assert.ok(!a.duties.holds('post'), 'a stops acting before its lease expires in the database');
  await settle();
  assert.deepEqual(a.events.filter((e) => e.startsWith('-')).sort(), ['-post']);
  await b.duties.tick();
  assert.ok(!b.duties.holds('post'), 'the database still says a: b waits');
  time.t = renewedAt + TTL;
  await b.duties.tick();
  await settle();
  for (const d of ['post', 'commit', 'chain'] as Duty[]) {
    assert.ok(b.duties.holds(d), d);
    assert.equal(b.duties.token(d), 2, 'fencing token bumped on takeover');
  }
  assert.deepEqual(b.events.sort(), ['+chain', '+commit', '+post']);
  // a wakes up: its renewal finds the lease taken; it stays standby
  await a.duties.tick();
  await settle();
  for (const d of ['post', 'commit', 'chain'] as Duty[]) assert.ok(!a.duties.holds(d), d);
  assert.deepEqual(a.events.sort(), ['+chain', '+commit', '+post', '-chain', '-commit', '-post']);
  close();
});

test('fencing: a write fenced by the old holder is refused once the lease moved; the holder’s passes', async () => {
  const { time, managers, close } = cluster();
  const [a, b] = managers as [Manager, Manager];
  await a.duties.start();
  await b.duties.start();
  a.db.exec('CREATE TABLE writes (who TEXT NOT NULL)');
  const write = (m: Manager) =>
    m.db.tx(() => {
      m.duties.fence('commit');
      m.db.prepare('INSERT INTO writes (who) VALUES (?)').run(m.duties.name);
    });
  write(a);
  assert.throws(() => write(b), LeaseLost);
  // a's lease lapses and b takes it; a write of a (whatever it thinks) is refused by the database
  time.t += TTL;
  await b.duties.tick();
  assert.ok(b.duties.holds('commit'));
  assert.throws(() => write(a), LeaseLost);
  // even if a's local view were stale: the row in the database decides
  const table = new LeaseTable(a.db);
  assert.throws(() => a.db.tx(() => table.fence('commit', 'm0', 1)), /held by m1 under token 2/);
  write(b);
  assert.deepEqual(
    a.db
      .prepare('SELECT who FROM writes ORDER BY who')
      .all()
      .map((r) => r.who),
    ['m0', 'm1'],
  );
  close();
});

test('renewal failure: the holder keeps the duty only until its local expiry, then stops it; the other takes over', async () => {
  const { time, managers, settle, close } = cluster();
  const [a, b] = managers as [Manager, Manager];
  await a.duties.start();
  await b.duties.start();
  const start = time.t;
  a.db.failWith = new Error('connection terminated unexpectedly');
  time.t += TTL / 3;
  await a.duties.tick(); // renewal fails: still within the lease
  assert.ok(a.duties.holds('post'));
  time.t += TTL / 3;
  await a.duties.tick();
  assert.ok(a.duties.holds('post'));
  time.t = start + TTL - TTL / 10;
  await a.duties.tick();
  await settle();
  assert.ok(!a.duties.holds('post'));
  assert.ok(a.events.includes('-post') && a.events.includes('-commit') && a.events.includes('-chain'));
  await b.duties.tick();
  assert.ok(!b.duties.holds('post'), 'not before the database lets go');
  time.t = start + TTL;
  await b.duties.tick();
  assert.ok(b.duties.holds('post'));
  // the database is back: a stands by
  a.db.failWith = undefined;
  await a.duties.tick();
  assert.ok(!a.duties.holds('post'));
  close();
});

test('a renewal answered after the local expiry is not acted on; the lease is taken again under the next token', async () => {
  const { time, managers, settle, close } = cluster();
  const [a] = managers as [Manager, Manager];
  await a.duties.start();
  time.t += TTL / 3;
  // the database takes a whole TTL to answer the renewal (the round's first transaction is the heartbeat's)
  let txs = 0;
  a.db.during = () => {
    if (++txs < 2) return;
    time.t += TTL;
    a.db.during = undefined;
  };
  await a.duties.tick();
  await settle();
  assert.ok(!a.duties.holds('post'), 'the late answer does not extend the duty here');
  assert.ok(a.events.includes('-post'));
  await a.duties.tick();
  await settle();
  assert.ok(a.duties.holds('post'));
  assert.equal(a.duties.token('post'), 2);
  assert.equal(a.events.filter((e) => e === '+post').length, 2);
  close();
});

test('a graceful stop stops the duties and hands the leases over at once', async () => {
  const { managers, settle, close } = cluster();
  const [a, b] = managers as [Manager, Manager];
  await a.duties.start();
  await b.duties.start();
  await a.duties.stop();
  assert.deepEqual(a.events.filter((e) => e.startsWith('-')).sort(), ['-chain', '-commit', '-post']);
  assert.equal(await held(a), 'post=0 commit=0 chain=0');
  await b.duties.tick(); // same instant: no wait for an expiry
  await settle();
  for (const d of ['post', 'commit', 'chain'] as Duty[]) {
    assert.ok(b.duties.holds(d));
    assert.equal(b.duties.token(d), 2);
  }
  close();
});

test('three managers racing for free duties: each duty has exactly one holder', async () => {
  const { time, managers, close } = cluster(3);
  await Promise.all(managers.map((m) => m.duties.start()));
  for (let round = 0; round < 6; round++) {
    for (const d of ['post', 'commit', 'chain'] as Duty[])
      assert.equal(managers.filter((m) => m.duties.holds(d)).length, 1, `${d} round ${round}`);
    // the holder of post dies every other round; the rest keep ticking
    const dead = managers.find((m) => m.duties.holds('post'))!;
    time.t += TTL;
    await Promise.all(managers.filter((m) => m !== dead).map((m) => m.duties.tick()));
    await dead.duties.tick();
  }
  close();
});

test('a holder known to be gone (its process died on this host) is not waited out', async () => {
  const { time, managers, settle, close } = cluster();
  const [a] = managers as [Manager, Manager];
  await a.duties.start();
  const gone = new Set<string>();
  const db = managers[1]!.db;
  const c = new Duties({
    db,
    name: 'm2',
    ttlMs: TTL,
    clock: () => time.t,
    timers: false,
    registry: new Registry(),
    isGone: (h) => gone.has(h),
  });
  await c.start();
  assert.ok(!c.holds('post'), 'a live holder keeps it');
  gone.add('m0'); // kill -9
  await c.tick();
  await settle();
  assert.ok(c.holds('post'));
  assert.equal(c.token('post'), 2);
  // the dead one's successor under the same name cannot be confused with it: the token moved
  await a.duties.tick();
  assert.ok(!a.duties.holds('post'));
  close();
});

test('holderIsGone: only a default-named holder of this host whose process has exited', async () => {
  const { spawnSync } = await import('node:child_process');
  const { hostname } = await import('node:os');
  const { holderIsGone } = await import('./duties.js');
  const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
  assert.equal(holderIsGone(`${hostname()}-${exited}`), true);
  assert.equal(holderIsGone(`${hostname()}-${process.pid}`), false, 'this process');
  assert.equal(holderIsGone(`${hostname()}-${process.ppid}`), false, 'a live process');
  assert.equal(holderIsGone(`other-host-${exited}`), false, 'another host is never judged from here');
  assert.equal(holderIsGone('manager-a'), false);
});
