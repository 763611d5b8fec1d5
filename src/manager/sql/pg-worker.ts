/**
 * The worker thread behind PostgresDb (postgres.ts): runs each statement the main thread posts on a pg.Pool (or,
 * inside a transaction, on the one client the transaction holds), posts the answer back and bumps the shared
 * counter the main thread waits on (Atomics). One answer per request, always, error or not; a failed one says
 * whether the database was lost (pg-errors.ts), from where the error arose and what pg gave, not its text.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { classifyPgError, type FailureInfo } from './pg-errors.js';

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
  | ({ id: number; ok: false; message: string } & FailureInfo);

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

/** Clients whose connection ended or failed: an error on one of them is the database's, not the statement's. */
const lostClients = new WeakSet<pg.PoolClient>();
const watched = new WeakSet<pg.PoolClient>();

/** Thrown (around the cause) when the pool cannot give a connection: refused, unreachable, login, pool timeout. */
class ConnectFailed {
  constructor(readonly cause: unknown) {}
}

async function connect(): Promise<pg.PoolClient> {
  let c: pg.PoolClient;
  try {
    c = await pool.connect();
  } catch (e) {
    throw new ConnectFailed(e);
  }
  if (!watched.has(c)) {
    watched.add(c);
    const lost = () => lostClients.add(c);
    c.on('error', lost);
    c.on('end', lost);
  }
  return c;
}

/** Gives a client back after a statement: one whose connection is gone, or after an unknown error, is not reused. */
function release(c: pg.PoolClient, e?: StatementFailed): void {
  if (!e || (e.cause instanceof pg.DatabaseError && !e.connectionLost)) c.release();
  else destroy(c, e);
}

/** One statement on the transaction's client, or on a pool client taken for it. */
async function query(config: string | pg.QueryConfig): Promise<pg.QueryResult> {
  const tx = txClient;
  if (tx) return onClient(tx, () => tx.query(config));
  const c = await connect();
  const r = await onClient(c, () => c.query(config)).catch((e: StatementFailed) => {
    release(c, e);
    throw e;
  });
  release(c);
  return r;
}

/** A statement's error, with whether its client's connection died under it. */
class StatementFailed {
  constructor(
    readonly cause: unknown,
    readonly connectionLost: boolean,
  ) {}
}

/** Runs `fn` on client `c`; its error comes back as StatementFailed. */
async function onClient<T>(c: pg.PoolClient, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    // pg fails the query first and emits 'error' / 'end' on the client after: let those run before looking
    await new Promise((r) => setImmediate(r));
    throw new StatementFailed(e, lostClients.has(c));
  }
}

async function endTx(sql: string): Promise<void> {
  const c = txClient;
  txClient = undefined;
  if (!c) return;
  try {
    await onClient(c, () => c.query(sql));
  } catch (e) {
    destroy(c, e); // a connection whose transaction did not end cleanly is not reused
    throw e;
  }
  c.release();
}

function destroy(c: pg.PoolClient, e: unknown): void {
  const cause = e instanceof StatementFailed ? e.cause : e;
  c.release(cause instanceof Error ? cause : new Error(String(cause)));
}

async function handle(m: Request): Promise<Reply> {
  switch (m.op) {
    case 'query': {
      const r = await query({ text: m.sql, values: m.params });
      return { id: m.id, ok: true, rows: r.rows, changes: r.rowCount ?? 0 };
    }
    case 'exec':
      await query(m.sql);
      return { id: m.id, ok: true, rows: [], changes: 0 };
    case 'begin': {
      if (txClient) await endTx('ROLLBACK').catch(() => {}); // left over from a call that timed out
      const c = await connect();
      try {
        await onClient(c, () => c.query('BEGIN ISOLATION LEVEL SERIALIZABLE'));
      } catch (e) {
        destroy(c, e);
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

/** The reply for a failed request: the message and what pg-errors.ts makes of where it came from. */
function failure(id: number, e: unknown): Reply {
  const connecting = e instanceof ConnectFailed;
  const connectionLost = e instanceof StatementFailed && e.connectionLost;
  const cause = e instanceof ConnectFailed || e instanceof StatementFailed ? e.cause : e;
  return {
    id,
    ok: false,
    message: cause instanceof Error ? cause.message : String(cause),
    ...classifyPgError(cause, { connecting, connectionLost }),
  };
}

init.port.on('message', (m: Request) => {
  handle(m)
    .catch((e: unknown) => failure(m.id, e))
    .then((reply) => {
      init.port.postMessage(reply);
      Atomics.add(counter, 0, 1);
      Atomics.notify(counter, 0);
      if (m.op === 'close') init.port.close();
    });
});
