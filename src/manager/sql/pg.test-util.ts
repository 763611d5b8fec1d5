/**
 * The manager tests' database: SQLite files as always, or — with VENUS_TEST_DB=postgres — a fresh PostgreSQL
 * database per test store, on ONE throwaway server per test process (started when this module is first loaded,
 * stopped at exit; child processes a test starts use the same server through VENUS_TEST_PG_DSN). A store reopened
 * under the same file name (a restart test, or a child process of the test) gets the same database back.
 *   VENUS_TEST_DB=postgres node scripts/run-tests.mjs src/manager
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LocalPostgres, startLocalPostgres, stopLocalPostgresSync } from '../../common/pg-local.js';
import { openDb } from '../db-schema.js';
import { openManagerDb } from './index.js';
import { openPostgres } from './postgres.js';
import type { Db, DbConfig } from './types.js';

export type TestBackend = 'sqlite' | 'postgres';

function backend(): TestBackend {
  const v = process.env.VENUS_TEST_DB ?? 'sqlite';
  if (v !== 'sqlite' && v !== 'postgres') throw new Error(`VENUS_TEST_DB="${v}": expected sqlite or postgres`);
  return v;
}

/** The backend this test process runs the manager's stores on. */
export const TEST_DB: TestBackend = backend();

let server: LocalPostgres | undefined;
let starting: Promise<LocalPostgres> | undefined;

/** The process's throwaway server (started on first use; stopped when the process exits), or its parent's. */
export function testPostgres(): Promise<LocalPostgres> {
  if (server) return Promise.resolve(server);
  const inherited = process.env.VENUS_TEST_PG_DSN;
  if (inherited) {
    server = { dsn: inherited, port: Number(new URL(inherited).port), stop: async () => {} };
    return Promise.resolve(server);
  }
  if (!starting) {
    const dir = mkdtempSync(join(tmpdir(), 'venus-pg-'));
    chmodSync(dir, 0o755); // the server runs as another user when we are root
    const pgDir = join(dir, 'pg');
    process.once('exit', () => {
      stopLocalPostgresSync(pgDir);
      rmSync(dir, { recursive: true, force: true });
    });
    starting = startLocalPostgres({ dir: pgDir, fast: true }).then((s) => {
      server = s;
      process.env.VENUS_TEST_PG_DSN = s.dsn; // for the child processes tests start
      return s;
    });
  }
  return starting;
}

// With VENUS_TEST_DB=postgres the server is up before any test asks for a store (stores open synchronously).
if (TEST_DB === 'postgres') await testPostgres();

const databases = new Map<string, string>();

/** A new, empty PostgreSQL database on the process's server: its [Common.DB]. */
export function freshPostgresConfig(name = `t_${randomBytes(6).toString('hex')}`): DbConfig {
  if (!server) throw new Error('no test PostgreSQL: run with VENUS_TEST_DB=postgres or await testPostgres() first');
  const admin = openPostgres({ DSN: server.dsn, PoolSize: 1, StatementTimeout: '60s' });
  try {
    if (!admin.prepare('SELECT 1 AS x FROM pg_database WHERE datname = ?').get(name))
      try {
        admin.exec(`CREATE DATABASE ${name}`);
      } catch (e) {
        if ((e as { code?: string }).code !== '42P04') throw e; // another process made it first
      }
  } finally {
    admin.close();
  }
  const u = new URL(server.dsn);
  u.pathname = `/${name}`;
  return { Driver: 'postgres', Postgres: { DSN: u.toString(), PoolSize: 2, StatementTimeout: '60s' } };
}

/**
 * The manager database a test opens where it used to call openDb(file): that SQLite file, or the PostgreSQL
 * database kept for that file name (created empty the first time).
 */
export function openTestDb(file: string): Db {
  if (TEST_DB === 'sqlite') return openDb(file);
  // the same file name, the same database, in this process and in its children
  const name =
    file === ':memory:'
      ? `t_${randomBytes(8).toString('hex')}`
      : `t_${createHash('sha256').update(file).digest('hex').slice(0, 16)}`;
  if (!databases.has(name)) {
    freshPostgresConfig(name);
    databases.set(name, name);
  }
  const u = new URL(server!.dsn);
  u.pathname = `/${name}`;
  return openManagerDb('', {
    Driver: 'postgres',
    Postgres: { DSN: u.toString(), PoolSize: 2, StatementTimeout: '60s' },
  });
}
