/**
 * A manager database that tells when it stops answering: every DatabaseUnavailable a statement, transaction or
 * clock read throws is handed to `onLost` (then thrown on as before), so the duties stop at once wherever the
 * manager meets the outage first (a worker's call, a batcher, the lease rounds) — docs/manager-ha.md §The lease.
 */
import type { Db, Statement } from '../sql/types.js';
import { isDatabaseUnavailable } from './duties.js';

export function watchDatabase(db: Db, onLost: (err: unknown) => void): Db {
  const guard = <T>(f: () => T): T => {
    try {
      return f();
    } catch (err) {
      if (isDatabaseUnavailable(err)) onLost(err);
      throw err;
    }
  };
  return {
    dialect: db.dialect,
    prepare(sql: string): Statement {
      const s = db.prepare(sql);
      return {
        get: (...p) => guard(() => s.get(...p)),
        all: (...p) => guard(() => s.all(...p)),
        run: (...p) => guard(() => s.run(...p)),
      };
    },
    exec: (sql) => guard(() => db.exec(sql)),
    tx: (fn) => guard(() => db.tx(fn)),
    now: () => guard(() => db.now()),
    close: () => db.close(),
  };
}
