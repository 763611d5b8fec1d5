/**
 * The manager database's schema (the tables db.ts describes), its additive migrations, and opening the file
 * (WAL, synchronous=FULL) at a schema version this build understands.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

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

/** Additive changes to databases made by earlier builds (schema_version stays 1: older builds can still open it). */
function migrate(db: Db): void {
  const cols = db.prepare('PRAGMA table_xinfo(sectors)').all() as { name: string }[];
  if (!cols.some((c) => c.name === 'state_name'))
    db.exec(`ALTER TABLE sectors ADD COLUMN state_name TEXT GENERATED ALWAYS AS (${STATE_NAME_SQL}) VIRTUAL`);
  db.exec('CREATE INDEX IF NOT EXISTS sectors_state_name ON sectors (state_name)');
  // the name in the token of the worker that allocated the sector (NULL: no name): only it may act on the sector
  if (!cols.some((c) => c.name === 'owner')) db.exec('ALTER TABLE sectors ADD COLUMN owner TEXT');
}

/** Opens (creating if needed) the manager database. */
export function openDb(file: string): Db {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a transaction that returned is on disk, even on power loss (NORMAL would be enough for kill -9).
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);
  migrate(db);
  const v = db.prepare('SELECT value FROM meta WHERE key = ?').get('schema_version') as { value: string } | undefined;
  if (!v) db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema_version', String(SCHEMA_VERSION));
  else if (Number(v.value) > SCHEMA_VERSION)
    throw new Error(`${file}: database schema ${v.value} is newer than this build (${SCHEMA_VERSION})`);
  // post_results.reason came later: databases created before get the column (NULL for their rows)
  const cols = db.prepare('PRAGMA table_info(post_results)').all() as { name: string }[];
  if (!cols.some((c) => c.name === 'reason')) db.exec('ALTER TABLE post_results ADD COLUMN reason TEXT');
  return db;
}
