import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
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

test('a throwaway PostgreSQL dies with its owner: kill -9 of the process that started it stops it and removes it', {
  skip: pgAvailable() ? false : 'PostgreSQL not installed (initdb/pg_ctl)',
  timeout: 120_000,
}, async () => {
  const parent = mkdtempSync(join(tmpdir(), 'venus-pg-owner-'));
  chmodSync(parent, 0o755);
  const dir = join(parent, 'pg');
  const mod = new URL('./pg-local.ts', import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(mod)});
    const s = await m.startLocalPostgres({ dir: ${JSON.stringify(dir)}, fast: true });
    process.stdout.write(s.port + '\\n');
    setInterval(() => {}, 1 << 30);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      if (buf.includes('\n')) resolve(Number(buf.split('\n')[0]));
    });
    child.once('exit', (c) => reject(new Error(`the owner exited (${c}) before its server started`)));
  });
  const answers = () =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  assert.equal(await answers(), true);
  child.kill('SIGKILL');
  const end = Date.now() + 30_000;
  while ((await answers()) || existsSync(dir)) {
    assert.ok(Date.now() < end, 'the server still runs 30 s after its owner was killed');
    await new Promise((r) => setTimeout(r, 250));
  }
  rmSync(parent, { recursive: true, force: true });
});
