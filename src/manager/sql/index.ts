/**
 * Opening the manager's database (SQLite file in the home, or PostgreSQL from `[Common.DB]`) and versioned,
 * per-dialect schema steps (docs/manager-db.md).
 */
import { join } from 'node:path';
import { applyManagerSchema } from '../db-schema.js';
import { describeDsn, openPostgres } from './postgres.js';
import { SqliteDb } from './sqlite.js';
import type { Db, DbConfig } from './types.js';

export { DatabaseError, DatabaseUnavailable, describeDsn, PostgresDb } from './postgres.js';
export { applySchema, ddl, hasTable } from './schema.js';
export { SqliteDb } from './sqlite.js';
export type { Db, DbConfig, Dialect, RunResult, SchemaStep, Statement } from './types.js';

/** The manager's SQLite file in its home (Driver = "sqlite"). */
export const DB_FILE = 'manager.db';

/** What a home's database is when sector-manager.cfg says nothing: `<home>/manager.db`. */
export const DEFAULT_DB_CONFIG: DbConfig = {
  Driver: 'sqlite',
  Postgres: { DSN: '', PoolSize: 4, StatementTimeout: '30s' },
};

/**
 * Opens the database `[Common.DB]` names (SQLite: `<home>/manager.db`) with the manager's tables. PostgreSQL: a
 * database that does not answer throws naming its host (never the password).
 */
export function openManagerDb(home: string, cfg: DbConfig = DEFAULT_DB_CONFIG): Db {
  const db = cfg.Driver === 'postgres' ? openPostgres(cfg.Postgres) : new SqliteDb(join(home, DB_FILE));
  try {
    applyManagerSchema(
      db,
      cfg.Driver === 'postgres' ? `PostgreSQL ${describeDsn(cfg.Postgres.DSN)}` : join(home, DB_FILE),
    );
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
