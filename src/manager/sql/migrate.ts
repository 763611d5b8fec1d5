/**
 * `venus-sector-manager util db migrate`: copies a manager's state between SQLite and PostgreSQL
 * (docs/manager-db.md). Every table the manager keeps is copied in primary-key order into an empty target with
 * the same schema, then each table's row count and checksum (sha256 over its rows in primary-key order, as
 * canonical JSON) are compared on both sides. Run it with the manager stopped.
 */
import { createHash } from 'node:crypto';
import { DealStore } from '../market/store.js';
import { RebuildTasks } from '../sealer/rebuild-tasks.js';
import { SnapStore } from '../snapup/store.js';
import { UnsealStore } from '../unseal/store.js';
import { hasTable } from './schema.js';
import type { Db } from './types.js';

/** The manager's tables, their primary keys ("text" keys sort by bytes on both sides), and identity columns. */
export const TABLES: Array<{ name: string; key: string[]; text?: string[]; identity?: string }> = [
  { name: 'meta', key: ['key'], text: ['key'] },
  { name: 'sector_numbers', key: ['miner'] },
  { name: 'sectors', key: ['miner', 'number'] },
  { name: 'messages', key: ['id'], text: ['id'] },
  { name: 'reservations', key: ['miner', 'number'] },
  { name: 'sector_index', key: ['miner', 'number', 'kind'], text: ['kind'] },
  { name: 'workers', key: ['name'], text: ['name'] },
  { name: 'seal_allocations', key: ['instance', 'location'], text: ['instance', 'location'] },
  { name: 'sector_events', key: ['seq'], identity: 'seq' },
  { name: 'post_results', key: ['seq'], identity: 'seq' },
  { name: 'sector_deals', key: ['seq'], identity: 'seq' },
  { name: 'snapup_candidates', key: ['miner', 'number'] },
  { name: 'snapup_sectors', key: ['miner', 'number'] },
  { name: 'unseal_tasks', key: ['id'], identity: 'id' },
  { name: 'rebuild_tasks', key: ['miner', 'number'] },
];

/** Derived columns: not copied where the target computes them, not part of the checksum. */
const DERIVED: Record<string, string[]> = { sectors: ['state_name', 'need_send'] };

export interface TableSummary {
  table: string;
  rows: number;
  sha256: string;
}

const PAGE = 1000;

/** Creates every store's tables (the manager's own come with openManagerDb). */
export function ensureStoreTables(db: Db): void {
  new DealStore(db);
  new SnapStore(db);
  new UnsealStore(db);
  new RebuildTasks(db);
}

function orderBy(db: Db, t: (typeof TABLES)[number]): string {
  return t.key
    .map((k) => (t.text?.includes(k) && db.dialect === 'postgres' ? `"${k}" COLLATE "C"` : `"${k}"`))
    .join(', ');
}

/** Rows of a table in primary-key order, a page at a time. */
function* pages(db: Db, t: (typeof TABLES)[number]): Generator<Record<string, unknown>[]> {
  const st = db.prepare(`SELECT * FROM ${t.name} ORDER BY ${orderBy(db, t)} LIMIT ? OFFSET ?`);
  for (let off = 0; ; off += PAGE) {
    const rows = st.all(PAGE, off) as Record<string, unknown>[];
    if (rows.length) yield rows;
    if (rows.length < PAGE) return;
  }
}

/** Canonical JSON of a row: columns sorted by name, derived ones left out. */
function canonical(table: string, row: Record<string, unknown>): string {
  const skip = DERIVED[table] ?? [];
  const keys = Object.keys(row)
    .filter((k) => !skip.includes(k))
    .sort();
  return JSON.stringify(keys.map((k) => [k, row[k] ?? null]));
}

/** Row count and checksum of each of the manager's tables present in `db`. */
export function checksums(db: Db): TableSummary[] {
  const out: TableSummary[] = [];
  for (const t of TABLES) {
    if (!hasTable(db, t.name)) continue;
    const h = createHash('sha256');
    let rows = 0;
    for (const page of pages(db, t))
      for (const r of page) {
        h.update(canonical(t.name, r));
        h.update('\n');
        rows++;
      }
    out.push({ table: t.name, rows, sha256: h.digest('hex') });
  }
  return out;
}

/**
 * Copies every table from `from` into `to` (both opened with the manager's schema). Refuses a target holding
 * any row (the schema's own meta row aside); verifies counts and checksums; returns the summary.
 */
export function migrateDb(from: Db, to: Db, log: (line: string) => void = () => {}): TableSummary[] {
  ensureStoreTables(from);
  ensureStoreTables(to);
  for (const t of TABLES) {
    const sql =
      t.name === 'meta'
        ? `SELECT count(*) AS n FROM meta WHERE key <> 'schema_version'`
        : `SELECT count(*) AS n FROM ${t.name}`;
    const n = (to.prepare(sql).get() as { n: number }).n;
    if (n > 0)
      throw new Error(`the target database is not empty: table ${t.name} has ${n} rows (migrate into a new one)`);
  }
  for (const t of TABLES) {
    let copied = 0;
    for (const page of pages(from, t)) {
      const skip = to.dialect === 'sqlite' ? (DERIVED[t.name] ?? []) : [];
      const cols = Object.keys(page[0]!).filter((c) => !skip.includes(c));
      const conflict = t.name === 'meta' ? ' ON CONFLICT (key) DO UPDATE SET value = excluded.value' : '';
      to.tx(() => {
        // several rows per statement: one round trip for up to 100 rows on PostgreSQL
        for (let i = 0; i < page.length; i += 100) {
          const chunk = page.slice(i, i + 100);
          const values = chunk.map(() => `(${cols.map(() => '?').join(', ')})`).join(', ');
          to.prepare(`INSERT INTO ${t.name} (${cols.map((c) => `"${c}"`).join(', ')}) VALUES ${values}${conflict}`).run(
            ...chunk.flatMap((r) => cols.map((c) => r[c] ?? null)),
          );
        }
      });
      copied += page.length;
    }
    // identity columns continue after the copied rows (SQLite's AUTOINCREMENT follows by itself)
    if (t.identity && to.dialect === 'postgres' && copied > 0)
      to.prepare(
        `SELECT setval(pg_get_serial_sequence('${t.name}', '${t.identity}'), (SELECT max("${t.identity}") FROM ${t.name})) AS v`,
      ).get();
    log(`${t.name}: ${copied} rows copied`);
  }
  const a = checksums(from);
  const b = checksums(to);
  for (const s of a) {
    const d = b.find((x) => x.table === s.table);
    if (!d || d.rows !== s.rows || d.sha256 !== s.sha256)
      throw new Error(
        `table ${s.table} differs after the copy: ${s.rows} rows ${s.sha256.slice(0, 16)} → ${d?.rows ?? 0} rows ${d?.sha256.slice(0, 16) ?? '-'}`,
      );
  }
  return a;
}

/** The summary as the command prints it. */
export function formatSummary(s: TableSummary[]): string {
  const w = Math.max(...s.map((x) => x.table.length), 5);
  return [
    `${'table'.padEnd(w)}  ${'rows'.padStart(8)}  sha256`,
    ...s.map((x) => `${x.table.padEnd(w)}  ${String(x.rows).padStart(8)}  ${x.sha256}`),
  ].join('\n');
}
