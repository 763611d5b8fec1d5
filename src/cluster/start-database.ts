/**
 * The managers' shared database with --db: a throwaway PostgreSQL under the home (--db postgres, stopped when the
 * runner stops) or the server a DSN names (--db postgres://…). With --db sqlite this step does not run.
 */
import { UserError } from '../common/cli.js';
import { startLocalPostgres } from '../common/pg-local.js';
import type { ClusterContext } from './context.js';
import { logFile } from './home.js';
import { appendLine } from './process-log.js';

export async function startDatabase(c: ClusterContext): Promise<void> {
  if (c.db !== 'postgres') {
    c.pg = { dsn: c.db };
    c.event('managers share the PostgreSQL database given with --db');
    return;
  }
  const start = c.o.startPostgres ?? startLocalPostgres;
  const file = logFile(c.paths, 'postgres');
  appendLine(file, `=== ${new Date().toISOString()} local PostgreSQL in ${c.paths.postgres}`);
  const pg = await start({ dir: c.paths.postgres, log: (line) => appendLine(file, line) }).catch((err: Error) => {
    // as root the server runs as the postgres user, which must be able to reach the folder
    const hint = /Permission denied/.test(err.message)
      ? ` (PostgreSQL runs as its own user: every folder above ${c.paths.postgres} must be traversable, chmod o+x)`
      : '';
    throw new UserError(`--db postgres: cannot start a local PostgreSQL: ${err.message}${hint}`);
  });
  c.pg = { dsn: pg.dsn, stop: () => pg.stop() };
  c.event(`postgres: listening on 127.0.0.1:${pg.port} (data in ${c.paths.postgres}, log ${file})`);
}
