/**
 * The manager's SQL layer (docs/manager-db.md): one synchronous interface over SQLite (better-sqlite3) and
 * PostgreSQL (pg in a worker thread), so the stores keep their prepared-statement, sync-transaction style.
 *
 * Portable SQL (every store): placeholders `?` or `@name` (never `$1`); integers come back as JS numbers; booleans
 * are 0/1; upserts are `ON CONFLICT … DO UPDATE/NOTHING`; `RETURNING` instead of lastInsertRowid; no `rowid`, no
 * `LIMIT -1`, no `INSERT OR …`, no json functions outside per-dialect code; `ORDER BY` always explicit; camelCase
 * aliases quoted ("ticketEpoch": PostgreSQL folds unquoted names to lower case).
 */

export interface RunResult {
  changes: number;
}

export interface Statement {
  /** The first row, or undefined. */
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed by the caller
  get(...p: unknown[]): any;
  // biome-ignore lint/suspicious/noExplicitAny: rows are typed by the caller
  all(...p: unknown[]): any[];
  run(...p: unknown[]): RunResult;
}

export type Dialect = 'sqlite' | 'postgres';

export interface Db {
  readonly dialect: Dialect;
  /** A statement in portable SQL (rules above). */
  prepare(sql: string): Statement;
  /** DDL, or several statements separated by `;`. */
  exec(sql: string): void;
  /**
   * Runs fn in one transaction: all of its writes land, or none; transactions are serialised (SQLite: BEGIN
   * IMMEDIATE; PostgreSQL: SERIALIZABLE, fn re-run on a serialisation failure or deadlock, so fn must only touch
   * the database: no pushes, no timers). A tx inside a tx joins it.
   */
  tx<T>(fn: () => T): T;
  /** The database's clock, ms since epoch (several managers agree on it). */
  now(): number;
  close(): void;
}

/** `[Common.DB]` of sector-manager.cfg. */
export interface DbConfig {
  Driver: Dialect;
  Postgres: {
    /** postgres://user:password@host:port/db — never logged (formatConfig redacts the password) */
    DSN: string;
    PoolSize: number;
    /** how long one statement may take before the database counts as lost, e.g. "30s" */
    StatementTimeout: string;
  };
}

/** One schema step: the same change in each dialect. */
export interface SchemaStep {
  sqlite: string;
  postgres: string;
}
