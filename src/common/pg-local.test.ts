import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { pgAvailable, startLocalPostgres } from './pg-local.js';

test('a throwaway PostgreSQL: loopback, a password required, database venus; stop removes it', {
  skip: pgAvailable() ? false : 'PostgreSQL not installed (initdb/pg_ctl)',
}, async () => {
  const parent = mkdtempSync(join(tmpdir(), 'venus-pg-local-'));
  chmodSync(parent, 0o755);
  const dir = join(parent, 'pg');
  const lines: string[] = [];
  const s = await startLocalPostgres({ dir, fast: true, log: (l) => lines.push(l) });
  try {
    const u = new URL(s.dsn);
    assert.equal(u.hostname, '127.0.0.1');
    assert.equal(Number(u.port), s.port);
    assert.equal(u.pathname, '/venus');
    assert.ok(u.password.length >= 16, 'a random password');
    assert.ok(!lines.join('\n').includes(decodeURIComponent(u.password)), 'the password is not logged');
    const c = new pg.Client({ connectionString: s.dsn });
    await c.connect();
    const r = await c.query("SELECT current_database() AS db, current_setting('listen_addresses') AS listen");
    assert.deepEqual(r.rows[0], { db: 'venus', listen: '127.0.0.1' });
    await c.end();
    const wrong = new URL(s.dsn);
    wrong.password = 'not-the-password';
    const bad = new pg.Client({ connectionString: wrong.toString() });
    await assert.rejects(bad.connect(), /password authentication failed/);
    await bad.end().catch(() => {});
    const conf = readFileSync(join(dir, 'data', 'pg_hba.conf'), 'utf8');
    assert.ok(!/^\s*(local|host)\S*\s.*\btrust\b/m.test(conf), 'no trust authentication');
  } finally {
    await s.stop();
  }
  assert.equal(existsSync(dir), false, 'its directory is gone');
  assert.equal(pgAvailable(), true);
});
