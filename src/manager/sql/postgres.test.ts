import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pgAvailable, startLocalPostgres } from '../../common/pg-local.js';
import { ManagerStore, newSectorState } from '../db.js';
import { applySchema, ddl, openManagerDb } from './index.js';
import { freshPostgresConfig, testPostgres } from './pg.test-util.js';
import { DatabaseError, DatabaseUnavailable, describeDsn, openPostgres, translate } from './postgres.js';

const run = promisify(execFile);
const noPg = pgAvailable() ? false : 'PostgreSQL not installed (initdb/pg_ctl)';

test('placeholders: ? and @name become $n once, quotes and comments untouched', () => {
  assert.deepEqual(translate('SELECT a FROM t WHERE b = ? AND c = ?'), {
    text: 'SELECT a FROM t WHERE b = $1 AND c = $2',
    names: null,
    count: 2,
  });
  const t = translate('UPDATE t SET a = @now, b = \'@x?\' WHERE id = @id AND c = @now -- what?\n AND d::text = "?"');
  assert.equal(t.text, 'UPDATE t SET a = $1, b = \'@x?\' WHERE id = $2 AND c = $1 -- what?\n AND d::text = "?"');
  assert.deepEqual(t.names, ['now', 'id']);
  assert.throws(() => translate('SELECT ? , @a'), /mixes/);
});

test('a DSN is named by host, port and database, never its password', () => {
  assert.equal(describeDsn('postgres://venus:s3cret@db.example:6543/venus'), 'db.example:6543/venus');
  assert.equal(describeDsn('postgres://venus:s3cret@db.example/venus'), 'db.example:5432/venus');
  assert.ok(!describeDsn('not a url s3cret').includes('s3cret'));
});

test('PostgreSQL: statements, numbers, transactions, the clock', { skip: noPg }, async () => {
  await testPostgres();
  const cfg = freshPostgresConfig();
  const db = openPostgres(cfg.Postgres);
  try {
    applySchema(db, 't', [ddl('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, s TEXT)')]);
    applySchema(db, 't', [ddl('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, s TEXT)')]);
    const ins = db.prepare('INSERT INTO t (n, s) VALUES (@n, @s) RETURNING id');
    assert.deepEqual(ins.get({ n: 2 ** 40, s: 'a' }), { id: 1 });
    assert.equal(db.prepare('SELECT n FROM t WHERE id = ?').get(1).n, 2 ** 40, 'int8 comes back as a number');
    assert.equal(db.prepare('SELECT count(*) AS n FROM t').get().n, 1);
    assert.throws(() => db.prepare('SELECT (2::numeric ^ 60)::bigint AS big').get(), /beyond what JavaScript/);
    assert.throws(
      () =>
        db.tx(() => {
          ins.get({ n: 1, s: 'b' });
          throw new Error('crash in the middle');
        }),
      /crash/,
    );
    assert.equal(db.prepare('SELECT count(*) AS n FROM t').get().n, 1, 'rolled back');
    assert.equal(db.prepare('UPDATE t SET s = ? WHERE n > ?').run('c', 0).changes, 1);
    assert.throws(
      () => db.prepare('SELECT nope FROM t').all(),
      (e: Error & { code?: string }) => e.code === '42703',
    );
    assert.ok(Math.abs(db.now() - Date.now()) < 5_000, 'the database clock');
    assert.throws(() => applySchema(db, 't', []), /newer than this build/);
  } finally {
    db.close();
  }
});

test('PostgreSQL that does not answer: DatabaseUnavailable naming the host, not the password', {
  skip: noPg,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'venus-pg-down-'));
  chmodSync(dir, 0o755);
  const s = await startLocalPostgres({ dir: join(dir, 'pg'), fast: true });
  const password = decodeURIComponent(new URL(s.dsn).password);
  const db = openManagerDb('', { Driver: 'postgres', Postgres: { DSN: s.dsn, PoolSize: 1, StatementTimeout: '5s' } });
  const store = new ManagerStore(db);
  store.putSector(newSectorState({ Miner: 1000, Number: 1 }, 5), true);
  await s.stop();
  assert.throws(
    () => store.getSector({ Miner: 1000, Number: 1 }),
    (e: Error) =>
      e instanceof DatabaseUnavailable &&
      e.message.includes(`127.0.0.1:${s.port}/venus`) &&
      !e.message.includes(password),
  );
  db.close();
  assert.throws(
    () => openPostgres({ DSN: s.dsn, PoolSize: 1, StatementTimeout: '2s' }),
    (e: Error) => e instanceof DatabaseUnavailable && !e.message.includes(password),
  );
});

test('a connection that dies under a transaction: DatabaseUnavailable, and the next statement reconnects', {
  skip: noPg,
}, async () => {
  await testPostgres();
  const cfg = freshPostgresConfig();
  const db = openPostgres({ ...cfg.Postgres, PoolSize: 1 });
  const admin = openPostgres({ ...cfg.Postgres, PoolSize: 1 });
  try {
    // a statement's own error keeps the connection (PoolSize 1: the same backend answers next)
    const pid = db.prepare('SELECT pg_backend_pid() AS pid').get()!.pid as number;
    assert.throws(
      () => db.prepare('SELECT nope').get(),
      (e: Error) => e instanceof DatabaseError && !(e instanceof DatabaseUnavailable) && e.code === '42703',
    );
    assert.equal(db.prepare('SELECT pg_backend_pid() AS pid').get()!.pid, pid);
    // the server ends the transaction's connection (an administrator, a failover): pg gives 57P01 or a
    // code-less "Connection terminated", whichever reaches the statement first; both are the database lost
    assert.throws(
      () =>
        db.tx(() => {
          const mine = db.prepare('SELECT pg_backend_pid() AS pid').get()!.pid as number;
          assert.equal(admin.prepare('SELECT pg_terminate_backend(?::int) AS ok').get(mine)!.ok, true);
          db.prepare('SELECT 1 AS one').get();
        }),
      (e: Error) => e instanceof DatabaseUnavailable,
    );
    assert.equal(db.prepare('SELECT 1 AS one').get()!.one, 1, 'a new connection');
  } finally {
    db.close();
    admin.close();
  }
});

/** Two managers (separate processes) on one database, each running `mode` COUNT times. */
async function twoManagers(mode: string, count: number, schemaFirst = true): Promise<string[][]> {
  await testPostgres();
  const cfg = freshPostgresConfig();
  if (schemaFirst) openManagerDb('', cfg).close(); // else the two create the tables at once too
  const child = new URL('./alloc-child.test-util.ts', import.meta.url).pathname;
  const outs = await Promise.all(
    [0, 1].map(() =>
      run(process.execPath, ['--import', 'tsx', child, cfg.Postgres.DSN, mode, String(count)], {
        maxBuffer: 1 << 20,
      }),
    ),
  );
  return outs.map((o) => o.stdout.split('\n').filter(Boolean));
}

test('two managers allocating sector numbers at once never get the same number', { skip: noPg }, async () => {
  const [a, b] = await twoManagers('numbers', 40);
  assert.equal(a!.length, 40);
  assert.equal(b!.length, 40);
  const all = [...a!, ...b!].map(Number);
  assert.equal(new Set(all).size, 80, 'no number handed out twice');
  assert.deepEqual(
    [...all].sort((x, y) => x - y),
    Array.from({ length: 80 }, (_, i) => i + 1),
    'no gaps',
  );
});

test('two managers starting on an empty database and recording the same messages: each id once', {
  skip: noPg,
}, async () => {
  const [a, b] = await twoManagers('messages', 40, false);
  const all = [...a!, ...b!];
  assert.equal(all.length, 40, 'every id once, by one of them');
  assert.equal(new Set(all).size, 40);
});
