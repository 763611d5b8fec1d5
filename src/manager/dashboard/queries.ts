/**
 * The dashboard's reads of the manager database, written so their cost does not grow with what workers send:
 * counts are one GROUP BY, lists have a LIMIT, and every worker-supplied string is cut in SQL (json_extract +
 * substr, or PostgreSQL's jsonb operators) so a 1 MB `LatestState` or `WorkerInfo` is never parsed in JavaScript.
 * Read-only.
 */
import type { Db, ManagerStore } from '../db.js';
import { hasTable } from '../sql/schema.js';
import type { Dialect } from '../sql/types.js';

/** Longest string (characters) the dashboard shows for any worker-supplied or chain value. */
export const TEXT_MAX = 200;
/** Longest state name; longer or non-text ones are shown as they are counted: cut. */
const STATE_MAX = 64;

/**
 * Reads of a field of a JSON text column, per dialect. `path` is a list of keys (constants of this file, never
 * input). SQLite: json_type/json_extract; PostgreSQL: the column as jsonb, #> and #>>.
 */
function json(dialect: Dialect) {
  const sqlitePath = (path: string[]) => `'$${path.map((k) => (/^\w+$/.test(k) ? `.${k}` : `."${k}"`)).join('')}'`;
  const pgPath = (path: string[]) => `'{${path.map((k) => (/^\w+$/.test(k) ? k : `"${k}"`)).join(',')}}'`;
  if (dialect === 'sqlite')
    return {
      isText: (col: string, path: string[]) => `json_type(${col}, ${sqlitePath(path)}) = 'text'`,
      str: (col: string, path: string[]) => `json_extract(${col}, ${sqlitePath(path)})`,
      isTrue: (col: string, path: string[]) => `json_type(${col}, ${sqlitePath(path)}) = 'true'`,
      /** An integer field; NULL when absent or not an integer. */
      int: (col: string, path: string[]) =>
        `CASE WHEN json_type(${col}, ${sqlitePath(path)}) = 'integer' THEN json_extract(${col}, ${sqlitePath(path)}) END`,
    };
  const v = (col: string, path: string[]) => `((${col})::jsonb #> ${pgPath(path)})`;
  const n = (col: string, path: string[]) => `((${col})::jsonb #>> ${pgPath(path)})::numeric`;
  return {
    isText: (col: string, path: string[]) => `jsonb_typeof(${v(col, path)}) = 'string'`,
    str: (col: string, path: string[]) => `((${col})::jsonb #>> ${pgPath(path)})`,
    isTrue: (col: string, path: string[]) => `${v(col, path)} = 'true'::jsonb`,
    // nested CASE: the numeric cast only runs on a number (AND does not promise an order); the same integers
    // SQLite's json_type calls 'integer' (whole, within 64 bits), and within 2^53 so they come back as numbers
    int: (col: string, path: string[]) =>
      `CASE WHEN jsonb_typeof(${v(col, path)}) = 'number' THEN CASE WHEN ${n(col, path)} = trunc(${n(col, path)})
         AND abs(${n(col, path)}) < 9007199254740992 THEN ${n(col, path)}::bigint END END`,
  };
}

/** A sector's state as the dashboard names it: Aborted, Finalized, or the worker's last reported state. */
function stateSql(d: Dialect): string {
  const j = json(d);
  const next = ['LatestState', 'StateChange', 'Next'];
  return `CASE
  WHEN ${j.isText('state', ['AbortReason'])} AND ${j.str('state', ['AbortReason'])} <> '' THEN 'Aborted'
  WHEN ${j.isTrue('state', ['Finalized'])} THEN 'Finalized'
  WHEN ${j.isText('state', next)} THEN substr(${j.str('state', next)}, 1, ${STATE_MAX})
  ELSE 'Allocated' END`;
}

/** A text field of a JSON column, cut to TEXT_MAX characters; NULL when absent or not text. */
const text = (d: Dialect, col: string, path: string[], max = TEXT_MAX) =>
  `CASE WHEN ${json(d).isText(col, path)} THEN substr(${json(d).str(col, path)}, 1, ${max}) END`;
/** An integer field of a JSON column; NULL when absent or not an integer. */
const int = (d: Dialect, col: string, path: string[]) => json(d).int(col, path);

/**
 * Sectors per state (all sectors ever, online or not), from the store's indexed state column
 * (`ManagerStore.countSectorsByState`). At most `maxStates` names, cut; the rest summed as "other".
 */
export function sectorCounts(store: ManagerStore, maxStates = 40): Record<string, number> {
  const rows = store.countSectorsByState().map((r: { state: unknown; count: number }) => ({
    s: typeof r.state === 'string' ? r.state.slice(0, STATE_MAX) : r.state == null ? 'Allocated' : '?',
    n: r.count,
  }));
  return capStates(rows, maxStates);
}

function capStates(rows: { s: string; n: number }[], maxStates: number): Record<string, number> {
  const merged = new Map<string, number>();
  for (const r of rows) merged.set(r.s, (merged.get(r.s) ?? 0) + r.n);
  const sorted = [...merged].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const out: Record<string, number> = {};
  sorted.forEach(([s, n], i) => {
    const k = i < maxStates ? s : 'other';
    out[k] = (out[k] ?? 0) + n;
  });
  return out;
}

export interface SectorListRow {
  miner: number;
  number: number;
  online: boolean;
  state: string;
  finalized: boolean;
  abort: string | null;
  worker: string | null;
  failure: string | null;
  ticketEpoch: number | null;
  seedEpoch: number | null;
  preCommitMsg: string | null;
  proveMsg: string | null;
}

/**
 * The latest `limit` sectors (by miner, newest number first), the fields the dashboard shows, cut. The rows are
 * picked on (miner, number) first, so only those `limit` states are read as JSON.
 */
export function listSectorRows(db: Db, limit: number): SectorListRow[] {
  const d = db.dialect;
  const rows = db
    .prepare(
      `SELECT miner, number, online, ${stateSql(d)} AS state,
         CASE WHEN ${json(d).isTrue('state', ['Finalized'])} THEN 1 ELSE 0 END AS finalized,
         ${text(d, 'state', ['AbortReason'])} AS abort,
         ${text(d, 'state', ['LatestState', 'Worker', 'Location'])} AS worker,
         ${text(d, 'state', ['LatestState', 'Failure', 'Desc'])} AS failure,
         ${int(d, 'state', ['Ticket', 'Epoch'])} AS "ticketEpoch",
         ${int(d, 'state', ['Seed', 'Epoch'])} AS "seedEpoch",
         ${text(d, 'state', ['MessageInfo', 'PreCommitCid', '/'], 120)} AS "preCommitMsg",
         ${text(d, 'state', ['MessageInfo', 'CommitCid', '/'], 120)} AS "proveMsg"
       FROM (SELECT miner AS m, number AS n FROM sectors ORDER BY miner, number DESC LIMIT ?) AS k
       JOIN sectors ON miner = m AND number = n ORDER BY miner, number DESC`,
    )
    .all(limit) as (Omit<SectorListRow, 'online' | 'finalized'> & { online: number; finalized: number })[];
  return rows.map((r) => ({ ...r, online: r.online === 1, finalized: r.finalized === 1, abort: r.abort || null }));
}

export interface TimelineStep {
  state: string;
  event: string | null;
  failure: string | null;
  at: number;
}

/** A sector's recorded timeline, oldest first: its first step and the latest `limit - 1`, strings cut. */
export function sectorTimeline(db: Db, miner: number, number: number, limit = 40): TimelineStep[] {
  const cols = `substr(state, 1, ${STATE_MAX}) AS state, substr(event, 1, ${STATE_MAX}) AS event,
    substr(failure, 1, ${TEXT_MAX}) AS failure, at`;
  const first = db
    .prepare(`SELECT seq, ${cols} FROM sector_events WHERE miner = ? AND number = ? ORDER BY seq LIMIT 1`)
    .get(miner, number) as (TimelineStep & { seq: number }) | undefined;
  if (!first) return [];
  const rest = (
    db
      .prepare(
        `SELECT seq, ${cols} FROM sector_events WHERE miner = ? AND number = ? AND seq > ? ORDER BY seq DESC LIMIT ?`,
      )
      .all(miner, number, first.seq, limit - 1) as (TimelineStep & { seq: number })[]
  ).reverse();
  return [first, ...rest].map(({ state, event, failure, at }) => ({ state, event, failure, at }));
}

export interface WorkerRow {
  name: string;
  dest: string | null;
  lastPing: number;
  summary: { Threads: number; Running: number; Paused: number; Errors: number } | null;
}

const SUMMARY_KEYS = ['Threads', 'Running', 'Paused', 'Errors'] as const;

/** Workers by latest ping, at most `limit`; `total` counts them all. Summary only when every count is an integer ≥ 0. */
export function listWorkerRows(db: Db, limit: number): { workers: WorkerRow[]; total: number } {
  const total = (db.prepare('SELECT count(*) AS n FROM workers').get() as { n: number }).n;
  const rows = db
    .prepare(
      `SELECT substr(name, 1, ${TEXT_MAX}) AS name, last_ping AS "lastPing",
         ${text(db.dialect, 'info', ['Dest'], 300)} AS dest,
         ${SUMMARY_KEYS.map((k) => `${int(db.dialect, 'info', ['Summary', k])} AS "${k}"`).join(', ')}
       FROM (SELECT name AS k FROM workers ORDER BY last_ping DESC, name LIMIT ?) AS t JOIN workers ON name = k
       ORDER BY last_ping DESC, name`,
    )
    .all(limit) as (Record<(typeof SUMMARY_KEYS)[number], number | null> & {
    name: string;
    lastPing: number;
    dest: string | null;
  })[];
  const workers = rows.map((r) => {
    const ok = SUMMARY_KEYS.every((k) => typeof r[k] === 'number' && (r[k] as number) >= 0);
    return {
      name: r.name,
      dest: r.dest,
      lastPing: r.lastPing,
      summary: ok ? { Threads: r.Threads!, Running: r.Running!, Paused: r.Paused!, Errors: r.Errors! } : null,
    };
  });
  return { workers, total };
}

/** One worker's control address as it pinged it (exact name), or undefined for an unknown worker. */
export function workerDest(db: Db, name: string): { dest: string | null } | undefined {
  return db
    .prepare(`SELECT ${text(db.dialect, 'info', ['Dest'], 300)} AS dest FROM workers WHERE name = ?`)
    .get(name) as { dest: string | null } | undefined;
}

export interface PoStRow {
  miner: string;
  deadline: number;
  ok: boolean;
  epoch: number | null;
  proven: number | null;
  faulty: number | null;
  /** why a submission failed, as the poster recorded it (post_results.reason) */
  reason: string | null;
  at: number;
}

/** The latest Window PoSt submissions, newest first, with their failure reason. */
export function recentPoStRows(db: Db, limit: number): PoStRow[] {
  const rows = db
    .prepare(
      `SELECT substr(miner, 1, 32) AS miner, deadline, ok, epoch, proven, faulty, substr(reason, 1, ${TEXT_MAX}) AS reason, at
       FROM post_results ORDER BY seq DESC LIMIT ?`,
    )
    .all(limit) as (Omit<PoStRow, 'ok'> & { ok: number })[];
  return rows.map((r) => ({ ...r, ok: r.ok === 1, reason: r.reason == null ? null : String(r.reason) }));
}

export interface DealRow {
  miner: number;
  number: number;
  /** the deal in this sector: its record's state (releasing, released, refused) or, while assigned, the sector's */
  state: string;
  piece: string;
  /** padded piece size */
  size: number;
  client: string;
  /** builtin-market deal id (0 for a direct deal) and verified allocation id (0: none recorded) */
  dealId: number;
  allocationId: number;
  kind: string;
  /** true for a verified allocation (every direct deal has one); null: a builtin deal whose flag is not recorded */
  verified: boolean | null;
}

/**
 * The latest `limit` deals the market assigned to sectors (the `sector_deals` records AcquireDeals writes, newest
 * first), with their sector's state; empty while the manager has no deal table. Strings are cut.
 */
export function listDealRows(db: Db, limit: number): DealRow[] {
  if (!hasTable(db, 'sector_deals')) return [];
  const rows = db
    .prepare(
      `SELECT d.miner, d.number, d.state AS deal, substr(d.piece_cid, 1, 120) AS piece, d.piece_size AS size,
         substr(d.client, 1, 64) AS client, d.deal_id AS "dealId", d.allocation_id AS "allocationId",
         substr(d.kind, 1, 16) AS kind, substr(s.state_name, 1, ${STATE_MAX}) AS sector
       FROM (SELECT seq AS k FROM sector_deals ORDER BY seq DESC LIMIT ?) AS t JOIN sector_deals d ON d.seq = k
       LEFT JOIN sectors s ON s.miner = d.miner AND s.number = d.number
       ORDER BY d.seq DESC`,
    )
    .all(limit) as (Omit<DealRow, 'state' | 'verified'> & { deal: string; sector: string | null })[];
  return rows.map(({ deal, sector, ...r }) => ({
    ...r,
    state: deal === 'assigned' ? (sector ?? 'Allocated') : String(deal).slice(0, STATE_MAX),
    verified: r.allocationId > 0 || r.kind === 'ddo' ? true : null,
  }));
}

export interface UnsealRow {
  id: number;
  miner: number;
  number: number;
  piece: string;
  /** unpadded */
  size: number;
  state: string;
  error: string;
  source: string;
  worker: string | null;
  attempts: number;
  updatedAt: number;
}

/** The latest unseal tasks and the count per state; empty when the manager has no unseal table yet. */
export function listUnsealRows(db: Db, limit: number): { tasks: UnsealRow[]; counts: Record<string, number> } {
  if (!hasTable(db, 'unseal_tasks')) return { tasks: [], counts: {} };
  const tasks = db
    .prepare(
      `SELECT id, miner, number, substr(piece_cid, 1, 120) AS piece, size, substr(state, 1, ${STATE_MAX}) AS state,
         substr(error, 1, ${TEXT_MAX}) AS error, source, substr(worker, 1, 64) AS worker, attempts, updated_at AS "updatedAt"
       FROM unseal_tasks ORDER BY id DESC LIMIT ?`,
    )
    .all(limit) as UnsealRow[];
  const counts: Record<string, number> = {};
  for (const r of db.prepare('SELECT state, count(*) AS n FROM unseal_tasks GROUP BY state ORDER BY state').all() as {
    state: string;
    n: number;
  }[])
    counts[String(r.state).slice(0, STATE_MAX)] = r.n;
  return { tasks, counts };
}
