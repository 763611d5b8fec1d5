// A LeaseDb over one SQLite file for the lease tests: each call opens its own connection (as a second manager
// process would), transactions take the write lock up front, and the database's clock is the test's.
import Database from 'better-sqlite3';
import { HA_SCHEMA, type LeaseDb } from './lease.js';

export interface TestLeaseDb extends LeaseDb {
  /** the next statements throw this (a database that went away); undefined: they work again */
  failWith: Error | undefined;
  /** called inside every transaction (a slow database: the test moves its clock there) */
  during: (() => void) | undefined;
  close(): void;
}

export function openTestLeaseDb(file: string, now: () => number): TestLeaseDb {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
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
          return { changes: s.run(...p).changes };
        },
      };
    },
    exec(sql: string) {
      db.exec(sql);
    },
    tx<T>(fn: () => T): T {
      if (self.failWith) throw self.failWith;
      return db
        .transaction(() => {
          self.during?.();
          return fn();
        })
        .immediate();
    },
    now,
    close() {
      db.close();
    },
  };
  for (const step of HA_SCHEMA) db.exec(step.sqlite);
  return self;
}
