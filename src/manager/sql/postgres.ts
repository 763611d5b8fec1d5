/**
 * The PostgreSQL backend of the SQL layer (docs/manager-db.md): a synchronous Db over `pg`. pg runs in a worker
 * thread; for each statement the main thread posts {sql, params} on a MessageChannel and waits on a shared
 * counter (Atomics.wait, at most StatementTimeout), then takes the answer with receiveMessageOnPort. One round
 * trip per statement; a transaction holds one connection, SERIALIZABLE, and is re-run on a serialisation failure
 * or deadlock. A database that does not answer throws DatabaseUnavailable naming its host, never the password.
 */
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { FailureInfo } from './pg-errors.js';
import type { Call, Reply, Request, WorkerInit } from './pg-worker.js';
import type { Db, DbConfig, RunResult, Statement } from './types.js';

/** The database did not answer (down, unreachable, refused the login, or slower than StatementTimeout). */
export class DatabaseUnavailable extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DatabaseUnavailable';
  }
}

/** An error the database returned for a statement; `code` is its SQLSTATE. */
export class DatabaseError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'DatabaseError';
  }
}

/** SQLSTATEs of a transaction that lost a race: roll back and run it again. */
const RETRY = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 10;

/** "host:port/db" of a DSN: what errors and logs name (never the user's password). */
export function describeDsn(dsn: string): string {
  try {
    const u = new URL(dsn);
    return `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return '(DSN not a postgres:// URL)';
  }
}

/** "30s", "500ms", "2m" → ms (config validation checks the shape first). */
export function parseTimeout(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s.trim());
  if (!m) throw new Error(`StatementTimeout "${s}": expected a duration like 30s, 500ms or 2m`);
  const ms = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60_000);
  if (ms < 1 || ms > 3600_000) throw new Error(`StatementTimeout "${s}": between 1ms and 60m`);
  return Math.round(ms);
}

/**
 * `?` → $1, $2… in order; `@name` → one $k per distinct name (values then come from one object). Quotes,
 * quoted names and comments are skipped; `::` casts are left alone.
 */
export function translate(sql: string): { text: string; names: string[] | null; count: number } {
  let out = '';
  let count = 0;
  const names: string[] = [];
  let positional = false;
  for (let i = 0; i < sql.length; ) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      const j = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const j = end < 0 ? sql.length : end;
      out += sql.slice(i, j);
      i = j;
    } else if (c === '?') {
      positional = true;
      out += `$${++count}`;
      i++;
    } else if (c === '@' && /[A-Za-z_]/.test(sql[i + 1] ?? '')) {
      const m = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(sql.slice(i))!;
      let k = names.indexOf(m[1]);
      if (k < 0) k = names.push(m[1]) - 1;
      out += `$${k + 1}`;
      i += m[0].length;
    } else {
      out += c;
      i++;
    }
  }
  if (positional && names.length) throw new Error(`SQL mixes ? and @name placeholders: ${sql.slice(0, 80)}`);
  return { text: out, names: names.length ? names : null, count: names.length ? names.length : count };
}

/**
 * The error a failed statement throws: DatabaseUnavailable when the worker found the database lost (pg-errors.ts
 * decides it from where the error arose, its SQLSTATE or system error code, never its text), else DatabaseError.
 */
export function statementError(
  where: string,
  r: { message: string } & FailureInfo,
): DatabaseError | DatabaseUnavailable {
  const msg = `PostgreSQL ${where}: ${r.message}`;
  return r.lost ? new DatabaseUnavailable(msg, r.code) : new DatabaseError(msg, r.code);
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The worker thread; under tsx (tests, sources) it registers tsx first, as the proofs' workers do. */
function startWorker(workerData: WorkerInit): Worker {
  const transferList = [workerData.port];
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./pg-worker.js', import.meta.url), { workerData, transferList });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./pg-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData, transferList });
}

export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  /** host:port/db, for errors and logs */
  readonly where: string;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly counter: Int32Array;
  private readonly timeoutMs: number;
  private seq = 0;
  private inTx = false;
  private closed = false;
  /** statements run and transactions re-run, for the metrics and docs/manager-db.md's numbers */
  readonly stats = { statements: 0, retries: 0 };

  constructor(cfg: DbConfig['Postgres']) {
    this.where = describeDsn(cfg.DSN);
    this.timeoutMs = parseTimeout(cfg.StatementTimeout);
    const signal = new SharedArrayBuffer(4);
    this.counter = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = startWorker({
      port: port2,
      signal,
      dsn: cfg.DSN,
      poolSize: cfg.PoolSize,
      timeoutMs: this.timeoutMs,
    });
    // the process may exit without close(): the thread must not hold it
    this.worker.unref();
  }

  /** Posts one request and waits for its answer (the only place the main thread blocks). */
  private call(req: Call): { rows: Record<string, unknown>[]; changes: number } {
    if (this.closed) throw new Error(`PostgreSQL ${this.where}: the database handle is closed`);
    const id = ++this.seq;
    // a worker still starting (tsx compiles it) gets a longer first wait than a statement
    const limit = this.timeoutMs + (id === 1 ? 30_000 : 0) + 1000;
    const deadline = Date.now() + limit;
    this.port.postMessage({ ...req, id } as Request);
    this.stats.statements++;
    for (;;) {
      const seen = Atomics.load(this.counter, 0);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const r = m.message as Reply;
        if (r.id !== id) continue; // the late answer of a call that timed out
        if (r.ok) return r;
        throw statementError(this.where, r);
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new DatabaseUnavailable(
          `PostgreSQL ${this.where} did not answer within ${limit} ms (${req.op}); the database is lost`,
        );
      Atomics.wait(this.counter, 0, seen, left);
    }
  }

  prepare(sql: string): Statement {
    const t = translate(sql);
    const values = (p: unknown[]): unknown[] => {
      if (t.names) {
        const o = p[0];
        if (p.length !== 1 || typeof o !== 'object' || o === null)
          throw new TypeError(`statement takes one object with ${t.names.map((n) => `@${n}`).join(', ')}`);
        return t.names.map((n) => {
          const v = (o as Record<string, unknown>)[n];
          if (v === undefined) throw new RangeError(`missing named parameter @${n}`);
          return v;
        });
      }
      if (p.length !== t.count) throw new RangeError(`statement takes ${t.count} values, got ${p.length}`);
      for (const v of p) if (v === undefined) throw new RangeError('undefined is not a SQL value (use null)');
      return p;
    };
    return {
      get: (...p) => this.call({ op: 'query', sql: t.text, params: values(p) }).rows[0],
      all: (...p) => this.call({ op: 'query', sql: t.text, params: values(p) }).rows,
      run: (...p): RunResult => ({ changes: this.call({ op: 'query', sql: t.text, params: values(p) }).changes }),
    };
  }

  exec(sql: string): void {
    this.call({ op: 'exec', sql });
  }

  tx<T>(fn: () => T): T {
    if (this.inTx) return fn(); // joins the transaction it is in
    for (let attempt = 1; ; attempt++) {
      this.call({ op: 'begin' });
      this.inTx = true;
      try {
        const out = fn();
        if (out instanceof Promise) throw new TypeError('a transaction function must be synchronous');
        this.call({ op: 'commit' });
        return out;
      } catch (e) {
        try {
          this.call({ op: 'rollback' });
        } catch {
          // the transaction is gone with its connection; the first error says why
        }
        const code = (e as { code?: string }).code;
        if (!code || !RETRY.has(code) || attempt >= MAX_ATTEMPTS) throw e;
        this.stats.retries++;
        // jittered back-off, growing: the competing transaction finishes first
        sleepSync(Math.random() * Math.min(200, 5 * 2 ** attempt));
      } finally {
        this.inTx = false;
      }
    }
  }

  now(): number {
    const r = this.call({
      op: 'query',
      sql: 'SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now',
      params: [],
    });
    return r.rows[0]!.now as number;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.call({ op: 'close' });
    } catch {
      // a database already gone: the thread still ends
    } finally {
      this.closed = true;
      void this.worker.terminate();
    }
  }
}

/** Connects (checking the database answers) or throws DatabaseUnavailable naming the host. */
export function openPostgres(cfg: DbConfig['Postgres']): PostgresDb {
  const db = new PostgresDb(cfg);
  try {
    db.now();
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
