/** The SQLite backend of the SQL layer: better-sqlite3, WAL, synchronous=FULL (docs/manager-db.md). */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Db, RunResult, Statement } from './types.js';

export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  /** The better-sqlite3 handle (SQLite-only code: migrations of old files, tests). */
  readonly raw: Database.Database;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.raw = new Database(file);
    this.raw.pragma('journal_mode = WAL');
    // FULL: a transaction that returned is on disk, even on power loss (NORMAL would be enough for kill -9).
    this.raw.pragma('synchronous = FULL');
    this.raw.pragma('busy_timeout = 5000');
  }

  prepare(sql: string): Statement {
    const st = this.raw.prepare(sql);
    const reader = st.reader;
    return {
      get: (...p) => st.get(...p),
      all: (...p) => st.all(...p),
      run: (...p): RunResult => {
        // a RETURNING statement run for its effect
        if (reader) return { changes: st.all(...p).length };
        return { changes: st.run(...p).changes };
      },
    };
  }

  exec(sql: string): void {
    this.raw.exec(sql);
  }

  tx<T>(fn: () => T): T {
    // nested: better-sqlite3 turns an inner transaction into a savepoint
    return this.raw.transaction(fn).immediate();
  }

  now(): number {
    return Date.now();
  }

  close(): void {
    this.raw.close();
  }
}
