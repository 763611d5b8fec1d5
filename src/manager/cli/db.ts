/**
 * util db migrate: moves a manager's state between SQLite (<home>/manager.db) and PostgreSQL
 * (docs/manager-db.md). Run with the manager stopped; the target must be empty.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { redactDsn } from '../config-db.js';
import { configPath } from '../daemon.js';
import { DB_FILE, DEFAULT_DB_CONFIG, openManagerDb } from '../sql/index.js';
import { formatSummary, migrateDb } from '../sql/migrate.js';
import type { DbConfig } from '../sql/types.js';
import { globals, loadCfg } from './common.js';

export function registerDb(util: Command): void {
  const db = util.command('db').description("the manager's database");
  db.command('migrate')
    .description(
      'copy every table into an empty database and verify it: --to postgres --dsn DSN (from the configured ' +
        'database), or --to sqlite (into <home>/manager.db, from --dsn or the configured PostgreSQL)',
    )
    .requiredOption('--to <driver>', 'postgres or sqlite')
    .option('--dsn <dsn>', 'postgres://user:password@host:port/db')
    .action(function (this: Command) {
      const o = this.opts() as { to: string; dsn?: string };
      const g = globals(this);
      const cfg: DbConfig = existsSync(configPath(g.home)) ? loadCfg(g).Common.DB : DEFAULT_DB_CONFIG;
      const pgConfig = (dsn: string): DbConfig => ({ Driver: 'postgres', Postgres: { ...cfg.Postgres, DSN: dsn } });
      let from: DbConfig;
      let to: DbConfig;
      if (o.to === 'postgres') {
        if (!o.dsn) throw new UserError('--to postgres needs --dsn postgres://user:password@host:port/db');
        from = cfg;
        to = pgConfig(o.dsn);
        if (from.Driver === 'postgres' && from.Postgres.DSN === o.dsn)
          throw new UserError('the configured database is already that PostgreSQL database');
      } else if (o.to === 'sqlite') {
        const dsn = o.dsn ?? (cfg.Driver === 'postgres' ? cfg.Postgres.DSN : '');
        if (!dsn) throw new UserError('--to sqlite needs --dsn, or [Common.DB] Driver = "postgres" in the config');
        from = pgConfig(dsn);
        to = DEFAULT_DB_CONFIG;
      } else throw new UserError(`--to "${o.to}": expected postgres or sqlite`);
      const name = (c: DbConfig) =>
        c.Driver === 'postgres' ? `PostgreSQL ${redactDsn(c.Postgres.DSN)}` : join(g.home, DB_FILE);
      const src = openManagerDb(g.home, from);
      try {
        const dst = openManagerDb(g.home, to);
        try {
          console.log(`migrating ${name(from)} → ${name(to)}`);
          const summary = migrateDb(src, dst);
          console.log(formatSummary(summary));
          console.log(
            `done: ${summary.length} tables, ${summary.reduce((n, s) => n + s.rows, 0)} rows, checksums equal` +
              (o.to === 'postgres' ? '; set [Common.DB] Driver = "postgres" and its DSN to use it' : ''),
          );
        } finally {
          dst.close();
        }
      } finally {
        src.close();
      }
    });
}
