// A duty holder whose database stops answering (DatabaseUnavailable) stops every duty at once — not when its lease
// would run out here — says so at ERROR with the reason, shows 0 in venus_sector_manager_duty_held, and takes the
// duties again once the database answers. Two managers on one SQLite file whose statements can be made to throw,
// one fake clock; then the same against a real throwaway PostgreSQL stopped and started under the manager.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { setupLogging } from '../../common/log.js';
import { pgAvailable, startLocalPostgres } from '../../common/pg-local.js';
import { DatabaseUnavailable, openPostgres } from '../sql/postgres.js';
import { watchDatabase } from './db-watch.js';
import { applyHaSchema, Duties, type Duty } from './duties.js';
import { openTestLeaseDb, type TestLeaseDb } from './sqlite.test-util.js';

const lines: { level: string; msg: string; why?: string; err?: string; duty?: string }[] = [];
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
const isError = (l: { level: string }) => l.level === 'error' || l.level === 'fatal';

const TTL = 3000;
const ALL: Duty[] = ['post', 'commit', 'chain'];
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

function pair() {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-ha-lost-'));
  dirs.push(dir);
  const time = { t: 1_000_000 };
  const clock = () => time.t;
  const managers = [0, 1].map((i): Manager => {
    const db = openTestLeaseDb(join(dir, 'manager.db'), clock);
    const registry = new Registry();
    const duties = new Duties({ db, name: `m${i}`, ttlMs: TTL, clock, timers: false, registry });
    const events: string[] = [];
    for (const d of ALL)
      duties.on(d, { acquire: () => void events.push(`+${d}`), release: () => void events.push(`-${d}`) });
    return { duties, db, registry, events };
  });
  return {
    time,
    managers: managers as [Manager, Manager],
    close: () => {
      for (const m of managers) m.db.close();
    },
  };
}

async function held(registry: Registry): Promise<string> {
  const text = await registry.metrics();
  return [...text.matchAll(/venus_sector_manager_duty_held\{duty="(\w+)"\} (\d)/g)]
    .map(([, d, v]) => `${d}=${v}`)
    .join(' ');
}

const settle = () => new Promise((r) => setImmediate(r));
const lost = () =>
  new DatabaseUnavailable(
    'PostgreSQL 127.0.0.1:5432/venus did not answer within 31000 ms (query); the database is lost',
  );

test('the database stops answering: the holder stops every duty at the next round, long before its lease runs out', async () => {
  const { time, managers, close } = pair();
  const [a, b] = managers;
  await a.duties.start();
  await b.duties.start();
  assert.equal(await held(a.registry), 'post=1 commit=1 chain=1');
  const from = lines.length;
  a.db.failWith = lost();
  time.t += TTL / 3; // the first renewal after the outage: the local lease has 2/3 of its time left
  await a.duties.tick();
  await settle();
  for (const d of ALL) assert.ok(!a.duties.holds(d), `${d} stopped at once`);
  assert.deepEqual(a.events.filter((e) => e.startsWith('-')).sort(), ['-chain', '-commit', '-post']);
  assert.equal(await held(a.registry), 'post=0 commit=0 chain=0');
  const errors = lines.slice(from).filter(isError);
  assert.ok(
    errors.some((l) => /database unavailable/.test(l.msg) && /did not answer within/.test(l.err ?? '')),
    JSON.stringify(errors),
  );
  assert.ok(
    ALL.every((d) => errors.some((l) => l.duty === d && /the database does not answer/.test(l.why ?? ''))),
    'each duty stopped at ERROR with the reason',
  );
  // rounds during the outage: still nothing held, the ERROR is not repeated
  const before = lines.filter(isError).length;
  time.t += TTL / 3;
  await a.duties.tick();
  assert.equal(lines.filter(isError).length, before);
  // the database answers again (before the lease ran out there): a takes its duties back under a new token
  a.db.failWith = undefined;
  await b.duties.tick();
  assert.ok(!b.duties.holds('post'), 'the lease is still a’s in the database');
  await a.duties.tick();
  await settle();
  for (const d of ALL) {
    assert.ok(a.duties.holds(d), d);
    assert.equal(a.duties.token(d), 2);
  }
  assert.equal(await held(a.registry), 'post=1 commit=1 chain=1');
  assert.equal(a.events.filter((e) => e === '+post').length, 2);
  close();
});

test('a DatabaseUnavailable anywhere in the manager (a watched statement, a fence) stops the duties before any round', async () => {
  const { managers, close } = pair();
  const [a] = managers;
  await a.duties.start();
  const db = watchDatabase(a.db, (err) => void a.duties.databaseLost(err));
  const st = db.prepare('SELECT 1 AS x');
  assert.equal(st.get().x, 1);
  a.db.failWith = lost();
  assert.throws(() => st.get(), DatabaseUnavailable);
  for (const d of ALL) assert.ok(!a.duties.holds(d), d);
  await settle();
  assert.equal(await held(a.registry), 'post=0 commit=0 chain=0');
  // other failures are the statement's, not the database's: nothing stops
  a.db.failWith = undefined;
  await a.duties.tick();
  assert.ok(a.duties.holds('commit'));
  a.db.failWith = new Error('UNIQUE constraint failed');
  assert.throws(() => st.get(), /UNIQUE/);
  assert.ok(a.duties.holds('commit'));
  // the fence of a holder's write
  a.db.failWith = lost();
  assert.throws(() => a.duties.fence('commit'), DatabaseUnavailable);
  assert.ok(!a.duties.holds('commit') && !a.duties.holds('post'));
  a.db.failWith = undefined;
  close();
});

test('a real PostgreSQL stopped under the holder: duties stop at once; started again, they are taken back', {
  skip: !pgAvailable() && 'PostgreSQL not installed',
  timeout: 120_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-ha-pg-'));
  dirs.push(dir);
  chmodSync(dir, 0o755);
  const server = await startLocalPostgres({ dir: join(dir, 'pg'), fast: true });
  const raw = openPostgres({ DSN: server.dsn, PoolSize: 2, StatementTimeout: '2s' });
  const registry = new Registry();
  const ref: { duties?: Duties } = {};
  const db = watchDatabase(raw, (err) => void ref.duties?.databaseLost(err));
  applyHaSchema(db);
  const duties = new Duties({ db, name: 'pg-a', ttlMs: 30_000, timers: false, registry });
  ref.duties = duties;
  try {
    await duties.start();
    assert.ok(duties.holds('commit'));
    // the server goes away (its files kept): the next statement fails, every duty stops though ~30 s were left
    await server.halt();
    const t0 = Date.now();
    await duties.tick();
    await settle();
    for (const d of ALL) assert.ok(!duties.holds(d), d);
    assert.ok(Date.now() - t0 < 10_000, `stopped within the statement timeout, not the lease (${Date.now() - t0} ms)`);
    assert.equal(await held(registry), 'post=0 commit=0 chain=0');
    // back on the same port: the pool reconnects and a round takes the duties again
    await server.resume();
    await until(async () => {
      await duties.tick();
      return duties.holds('commit');
    });
    assert.equal(await held(registry), 'post=1 commit=1 chain=1');
  } finally {
    await duties.stop().catch(() => {});
    raw.close();
    await server.stop();
  }
});

async function until(f: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
