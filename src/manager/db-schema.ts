/**
 * The manager database's schema (the tables db.ts describes) in both dialects, SQLite's additive migrations of
 * files made by earlier builds, and opening a SQLite file (WAL, synchronous=FULL) at a schema version this build
 * understands.
 */
import { applySchema, ddl } from './sql/schema.js';
import { SqliteDb } from './sql/sqlite.js';
import type { Db } from './sql/types.js';

export type { Db } from './sql/types.js';

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sector_numbers (miner INTEGER PRIMARY KEY, current INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sectors (
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  online INTEGER NOT NULL DEFAULT 1,
  state TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (miner, number)
);
CREATE INDEX IF NOT EXISTS sectors_online ON sectors (online, miner, number);
CREATE TABLE IF NOT EXISTS messages (
  id TEXT PRIMARY KEY,
  miner INTEGER NOT NULL,
  kind TEXT NOT NULL,
  sectors TEXT NOT NULL,
  message TEXT NOT NULL,
  spec TEXT NOT NULL,
  pushed INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_unpushed ON messages (pushed);
CREATE TABLE IF NOT EXISTS reservations (
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  store TEXT NOT NULL,
  size INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (miner, number)
);
CREATE TABLE IF NOT EXISTS sector_index (
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  kind TEXT NOT NULL,
  sealed_store TEXT NOT NULL,
  cache_store TEXT NOT NULL,
  PRIMARY KEY (miner, number, kind)
);
CREATE TABLE IF NOT EXISTS workers (name TEXT PRIMARY KEY, info TEXT NOT NULL, last_ping INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seal_allocations (
  instance TEXT NOT NULL,
  location TEXT NOT NULL,
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (instance, location)
);
CREATE TABLE IF NOT EXISTS sector_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  state TEXT NOT NULL,
  event TEXT,
  worker TEXT,
  failure TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sector_events_sector ON sector_events (miner, number, seq);
CREATE TABLE IF NOT EXISTS post_results (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  miner TEXT NOT NULL,
  deadline INTEGER NOT NULL,
  ok INTEGER NOT NULL,
  epoch INTEGER,
  proven INTEGER,
  faulty INTEGER,
  at INTEGER NOT NULL,
  reason TEXT
);
`;

/**
 * A sector's state name as the dashboard and the gauge count it: Aborted, Finalized, the worker's last reported
 * state, or Allocated. A virtual column with an index, so counting by state reads the index, not every row's JSON.
 */
const STATE_NAME_SQL = `CASE
  WHEN COALESCE(json_extract(state, '$.AbortReason'), '') != '' THEN 'Aborted'
  WHEN json_extract(state, '$.Finalized') THEN 'Finalized'
  ELSE COALESCE(json_extract(state, '$.LatestState.StateChange.Next'), 'Allocated') END`;

/**
 * PostgreSQL's sectors table has what SQLite files gained later (owner, post_results.reason) from the start, and
 * state_name as a plain column the store writes (sectorStateName; generated columns differ between PostgreSQL and
 * its look-alikes).
 */
const PG_EXTRA = `
ALTER TABLE sectors ADD COLUMN IF NOT EXISTS owner TEXT;
ALTER TABLE sectors ADD COLUMN IF NOT EXISTS state_name TEXT;
CREATE INDEX IF NOT EXISTS sectors_state_name ON sectors (state_name);
ALTER TABLE post_results ADD COLUMN IF NOT EXISTS reason TEXT;
`;

const STEPS = [{ sqlite: SCHEMA, postgres: ddl(SCHEMA).postgres + PG_EXTRA }];

/**
 * STATE_NAME_SQL in JavaScript, for PostgreSQL's plain state_name column (the store writes it with the state):
 * the same name SQLite's generated column gives for the states the manager writes.
 */
export function sectorStateName(state: {
  AbortReason?: unknown;
  Finalized?: unknown;
  LatestState?: { StateChange?: { Next?: unknown } } | null;
}): string {
  const abort = state.AbortReason;
  if (abort !== undefined && abort !== null && abort !== '') return 'Aborted';
  const fin = state.Finalized;
  if (fin === true || (typeof fin === 'number' && fin !== 0)) return 'Finalized';
  const next = state.LatestState?.StateChange?.Next;
  if (next === undefined || next === null) return 'Allocated';
  return typeof next === 'string' ? next : JSON.stringify(next);
}

/**
 * need_send: 1 for a sector whose commitment message is still to be sent (MessageInfo.NeedSend), so the commit
 * duty's rescan reads those rows alone through an index instead of every online sector's JSON.
 */
const NEED_SEND_SQL = `CASE WHEN json_extract(state, '$.MessageInfo.NeedSend') THEN 1 ELSE 0 END`;

/** NEED_SEND_SQL in JavaScript, for PostgreSQL's plain need_send column (the store writes it with the state). */
export function sectorNeedsSend(state: { MessageInfo?: { NeedSend?: unknown } | null }): 0 | 1 {
  return state.MessageInfo?.NeedSend ? 1 : 0;
}

/**
 * need_send on PostgreSQL, added to databases made before it (and filled from the state) at open: additive, so
 * older builds still open the database. A sector an older build writes keeps a stale flag until this build
 * writes it again; the commit duty's full scan when it is taken (CommitmentManager.resume) still finds it.
 */
function migratePostgres(db: Db): void {
  const has = db
    .prepare(
      `SELECT 1 AS one FROM information_schema.columns
       WHERE table_schema = current_schema() AND table_name = 'sectors' AND column_name = 'need_send'`,
    )
    .get();
  if (has) return;
  db.tx(() => {
    db.exec(`ALTER TABLE sectors ADD COLUMN IF NOT EXISTS need_send INTEGER NOT NULL DEFAULT 0;
UPDATE sectors SET need_send = 1 WHERE (state::jsonb #>> '{MessageInfo,NeedSend}') = 'true';
CREATE INDEX IF NOT EXISTS sectors_need_send ON sectors (need_send, online, miner, number);`);
  });
}

/** Additive changes to databases made by earlier builds (schema_version stays 1: older builds can still open it). */
function migrate(db: SqliteDb): void {
  const cols = db.prepare('PRAGMA table_xinfo(sectors)').all() as { name: string }[];
  if (!cols.some((c) => c.name === 'state_name'))
    db.exec(`ALTER TABLE sectors ADD COLUMN state_name TEXT GENERATED ALWAYS AS (${STATE_NAME_SQL}) VIRTUAL`);
  db.exec('CREATE INDEX IF NOT EXISTS sectors_state_name ON sectors (state_name)');
  if (!cols.some((c) => c.name === 'need_send'))
    db.exec(`ALTER TABLE sectors ADD COLUMN need_send INTEGER GENERATED ALWAYS AS (${NEED_SEND_SQL}) VIRTUAL`);
  db.exec('CREATE INDEX IF NOT EXISTS sectors_need_send ON sectors (need_send, online, miner, number)');
  // the name in the token of the worker that allocated the sector (NULL: no name): only it may act on the sector
  if (!cols.some((c) => c.name === 'owner')) db.exec('ALTER TABLE sectors ADD COLUMN owner TEXT');
}

/** Opens (creating if needed) a manager database in a SQLite file. */
export function openDb(file: string): Db {
  const db = new SqliteDb(file);
  try {
    applyManagerSchema(db, file);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/**
 * Creates or upgrades the manager's tables. `where` names the database in errors (a file, or PostgreSQL's
 * host: never a DSN with its password).
 */
export function applyManagerSchema(db: Db, where: string): void {
  applySchema(db, 'manager', STEPS);
  if (db instanceof SqliteDb) migrate(db);
  else migratePostgres(db);
  const v = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as { value: string } | undefined;
  if (!v)
    db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING').run(
      'schema_version',
      String(SCHEMA_VERSION),
    );
  else if (Number(v.value) > SCHEMA_VERSION)
    throw new Error(`${where}: database schema ${v.value} is newer than this build (${SCHEMA_VERSION})`);
  if (!(db instanceof SqliteDb)) return;
  // post_results.reason came later: databases created before get the column (NULL for their rows)
  const cols = db.prepare('PRAGMA table_info(post_results)').all() as { name: string }[];
  if (!cols.some((c) => c.name === 'reason')) db.exec('ALTER TABLE post_results ADD COLUMN reason TEXT');
}
