/**
 * The worker thread behind PostgresDb (postgres.ts): runs each statement the main thread posts on a pg.Pool (or,
 * inside a transaction, on the one client the transaction holds), posts the answer back and bumps the shared
 * counter the main thread waits on (Atomics). One answer per request, always, error or not.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import pg from 'pg';

export interface WorkerInit {
  port: MessagePort;
  signal: SharedArrayBuffer;
  dsn: string;
  poolSize: number;
  timeoutMs: number;
}

export type Call =
  | { op: 'query'; sql: string; params: unknown[] }
  | { op: 'exec'; sql: string }
  | { op: 'begin' | 'commit' | 'rollback' | 'close' };
export type Request = Call & { id: number };

export type Reply =
  | { id: number; ok: true; rows: Record<string, unknown>[]; changes: number }
  | { id: number; ok: false; message: string; code: string | undefined };

const init = workerData as WorkerInit;
const counter = new Int32Array(init.signal);

/** int8 and numeric as JS numbers: the stores count and compare them; past 2^53 a number would be wrong. */
function toNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n)))
    throw new Error(`number ${v} from the database is beyond what JavaScript holds exactly (2^53)`);
  return n;
}
const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: string) {
    if (oid === INT8 || oid === NUMERIC) return toNumber;
    // biome-ignore lint/suspicious/noExplicitAny: pg's own parser table
    return (pg.types.getTypeParser as any)(oid, format);
  },
};

const pool = new pg.Pool({
  connectionString: init.dsn,
  max: init.poolSize,
  connectionTimeoutMillis: init.timeoutMs,
  statement_timeout: init.timeoutMs,
  idleTimeoutMillis: 30_000,
  types,
});
// an idle client's connection dropping is not an error of any statement: the next statement reconnects
pool.on('error', () => {});

let txClient: pg.PoolClient | undefined;

async function endTx(query: string): Promise<void> {
  const c = txClient;
  txClient = undefined;
  if (!c) return;
  try {
    await c.query(query);
    c.release();
  } catch (e) {
    c.release(e as Error); // a broken connection is not reused
    throw e;
  }
}

async function handle(m: Request): Promise<Reply> {
  switch (m.op) {
    case 'query': {
      const r = await (txClient ?? pool).query({ text: m.sql, values: m.params });
      return { id: m.id, ok: true, rows: r.rows, changes: r.rowCount ?? 0 };
    }
    case 'exec':
      await (txClient ?? pool).query(m.sql);
      return { id: m.id, ok: true, rows: [], changes: 0 };
    case 'begin': {
      if (txClient) await endTx('ROLLBACK').catch(() => {}); // left over from a call that timed out
      const c = await pool.connect();
      try {
        await c.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
      } catch (e) {
        c.release(e as Error);
        throw e;
      }
      txClient = c;
      return { id: m.id, ok: true, rows: [], changes: 0 };
    }
    case 'commit':
    case 'rollback':
      await endTx(m.op === 'commit' ? 'COMMIT' : 'ROLLBACK');
      return { id: m.id, ok: true, rows: [], changes: 0 };
    case 'close':
      if (txClient) await endTx('ROLLBACK').catch(() => {});
      await pool.end();
      return { id: m.id, ok: true, rows: [], changes: 0 };
  }
}

init.port.on('message', (m: Request) => {
  handle(m)
    .catch(
      (e: unknown): Reply => ({
        id: m.id,
        ok: false,
        message: e instanceof Error ? e.message : String(e),
        code: typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : undefined,
      }),
    )
    .then((reply) => {
      init.port.postMessage(reply);
      Atomics.add(counter, 0, 1);
      Atomics.notify(counter, 0);
      if (m.op === 'close') init.port.close();
    });
});
