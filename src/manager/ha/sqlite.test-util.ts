// A Db over one SQLite file for the lease tests: each call opens its own connection (as a second manager process
// would), transactions take the write lock up front, and the database's clock is the test's.
import { SqliteDb } from '../sql/sqlite.js';
import type { Db } from '../sql/types.js';
import { applyHaSchema } from './lease.js';

export interface TestLeaseDb extends Db {
  /** the next statements throw this (a database that went away); undefined: they work again */
  failWith: Error | undefined;
  /** called inside every transaction (a slow database: the test moves its clock there) */
  during: (() => void) | undefined;
}

export function openTestLeaseDb(file: string, now: () => number): TestLeaseDb {
  const db = new SqliteDb(file);
  applyHaSchema(db);
  const self: TestLeaseDb = {
    dialect: 'sqlite',
    failWith: undefined,
    during: undefined,
    prepare(sql: string) {
      const s = db.prepare(sql);
      const check = () => {
        if (self.failWith) throw self.failWith;
      };
      return {
        get: (...p: unknown[]) => {
          check();
          return s.get(...p);
        },
        all: (...p: unknown[]) => {
          check();
          return s.all(...p);
        },
        run: (...p: unknown[]) => {
          check();
          return s.run(...p);
        },
      };
    },
    exec: (sql: string) => db.exec(sql),
    tx<T>(fn: () => T): T {
      if (self.failWith) throw self.failWith;
      return db.tx(() => {
        self.during?.();
        return fn();
      });
    },
    now,
    close: () => db.close(),
  };
  return self;
}
