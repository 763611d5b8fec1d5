/**
 * `[Common.DB]` of sector-manager.cfg (docs/manager-db.md): where the manager keeps its state.
 *   [Common.DB]
 *   Driver = "sqlite"                 # default: <home>/manager.db; or "postgres"
 *   [Common.DB.Postgres]
 *   DSN = "postgres://user:password@host:5432/db"   # never logged: formatConfig shows user:***@
 *   PoolSize = 4                       # connections per manager
 *   StatementTimeout = "30s"          # longer without an answer: the database counts as lost
 */
import { z } from 'zod';
import { DEFAULT_DB_CONFIG } from './sql/index.js';
import { parseTimeout } from './sql/postgres.js';
import type { DbConfig } from './sql/types.js';

const PostgresSchema = z.strictObject({
  DSN: z
    .string()
    .max(4096)
    .default('')
    .superRefine((s, ctx) => {
      if (s === '') return;
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        // the value itself may hold a password: not repeated
        ctx.addIssue({ code: 'custom', message: 'expected a URL postgres://user:password@host:port/database' });
        return;
      }
      if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
        ctx.addIssue({ code: 'custom', message: `expected a postgres:// URL, got ${u.protocol}//…` });
      else if (!u.hostname) ctx.addIssue({ code: 'custom', message: 'the URL names no host' });
    }),
  PoolSize: z.number().int().min(1).max(64).default(DEFAULT_DB_CONFIG.Postgres.PoolSize),
  StatementTimeout: z
    .string()
    .default(DEFAULT_DB_CONFIG.Postgres.StatementTimeout)
    .superRefine((s, ctx) => {
      try {
        parseTimeout(s);
      } catch (e) {
        ctx.addIssue({ code: 'custom', message: (e as Error).message });
      }
    }),
});

/** The `DB` table of `[Common]`. */
export const DbConfigSchema = z
  .strictObject({
    Driver: z.enum(['sqlite', 'postgres']).default('sqlite'),
    Postgres: PostgresSchema.default({ ...DEFAULT_DB_CONFIG.Postgres }),
  })
  .superRefine((d, ctx) => {
    if (d.Driver === 'postgres' && d.Postgres.DSN === '')
      ctx.addIssue({ code: 'custom', path: ['Postgres', 'DSN'], message: 'required when Driver = "postgres"' });
  });

/** `[Common]` as this file knows it (other helpers' tables join it). */
export const DB_DEFAULT = (): DbConfig => ({ ...DEFAULT_DB_CONFIG, Postgres: { ...DEFAULT_DB_CONFIG.Postgres } });

/** A DSN with its password replaced by *** (what logs and `formatConfig` show). */
export function redactDsn(dsn: string): string {
  try {
    const u = new URL(dsn);
    if (u.password) u.password = '***';
    u.searchParams.forEach((_v, k) => {
      if (/pass/i.test(k)) u.searchParams.set(k, '***');
    });
    return u.toString();
  } catch {
    return dsn === '' ? '' : '***';
  }
}

/** `[Common.DB]` as formatConfig shows it: absent while at the default (SQLite), the DSN redacted. */
export function shownDbConfig(db: DbConfig): Record<string, unknown> | undefined {
  if (db.Driver === 'sqlite' && db.Postgres.DSN === '') return undefined;
  return { Driver: db.Driver, Postgres: { ...db.Postgres, DSN: redactDsn(db.Postgres.DSN) } };
}
