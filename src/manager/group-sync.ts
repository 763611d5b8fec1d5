/**
 * Group commit for the daemon's SQLite file. With synchronous=FULL every write transaction waited for its own
 * fsync of the WAL on the event loop (about 8 ms on a VM disk: ~120 writes/s for the whole manager). Instead the
 * daemon runs the database with synchronous=NORMAL (commits reach the WAL file, not yet the disk) and holds each
 * API answer until one fdatasync of the WAL, off the event loop, covers every change made so far: the calls
 * answered together share one fsync, and what a worker was told is on disk before it is told (as with FULL).
 */
import { open } from 'node:fs/promises';
import { logger } from '../common/log.js';
import type { ApiDecl, ApiImpl } from '../rpc/index.js';

const log = logger('sealer');
/** An fsync slower than this is logged. */
const SLOW_SYNC_MS = 1000;

export interface GroupSyncOptions {
  /** a counter that grows with every change to the database (SQLite's total_changes()) */
  changes: () => number;
  /** makes every change made before it was called durable */
  sync: () => Promise<void>;
}

export class GroupSync {
  /** changes known to be on disk */
  private synced = 0;
  private inflight: { upTo: number; done: Promise<void> } | undefined;
  /** fsyncs done (for tests and the log) */
  syncs = 0;

  constructor(private readonly o: GroupSyncOptions) {
    this.synced = o.changes();
  }

  /** Resolves once every change made before this call is on disk; rejects when the fsync fails. */
  async flush(): Promise<void> {
    const want = this.o.changes();
    while (want > this.synced) {
      if (!this.inflight) this.start();
      const f = this.inflight!;
      if (f.upTo >= want) return f.done;
      // the fsync in flight started before our change: wait for it, then start (or join) the next one
      await f.done.catch(() => {});
    }
  }

  private start(): void {
    const upTo = this.o.changes();
    const t0 = performance.now();
    const done = this.o.sync().then(
      () => {
        this.syncs++;
        const ms = performance.now() - t0;
        // every answer waited this long: a disk that stalls should be seen
        if (ms >= SLOW_SYNC_MS)
          log.warn({ ms: Math.round(ms) }, 'manager database fsync was slow; answers waited for it');
        if (upTo > this.synced) this.synced = upTo;
      },
      (err: unknown) => {
        const msg = `the manager database could not be synced to disk: ${(err as Error).message}`;
        log.error({ err: (err as Error).message }, 'manager database fsync failed; the answers waiting for it fail');
        throw new Error(msg);
      },
    );
    const f = { upTo, done };
    this.inflight = f;
    void done.then(
      () => this.clear(f),
      () => this.clear(f),
    );
  }

  private clear(f: NonNullable<GroupSync['inflight']>): void {
    if (this.inflight === f) this.inflight = undefined;
  }
}

/** What sqliteGroupSync needs of a better-sqlite3 handle. */
export interface SqliteHandle {
  pragma(source: string): unknown;
  prepare(sql: string): { get(): unknown };
}

/**
 * Switches `db` (WAL mode, file `file`) to synchronous=NORMAL and returns the GroupSync that fdatasyncs its WAL.
 * Only for a process that holds every answer with `durableApi` (the daemon); other users of the file keep FULL.
 */
export function sqliteGroupSync(db: SqliteHandle, file: string): GroupSync & { close(): Promise<void> } {
  db.pragma('synchronous = NORMAL');
  const total = db.prepare('SELECT total_changes() AS n');
  // the WAL exists while the connection is open (SQLite resets it in place after a checkpoint)
  let wal: Awaited<ReturnType<typeof open>> | undefined;
  const gs = new GroupSync({
    changes: () => (total.get() as { n: number }).n,
    sync: async () => {
      wal ??= await open(`${file}-wal`, 'r');
      await wal.datasync();
    },
  });
  return Object.assign(gs, {
    async close() {
      await wal?.close();
      wal = undefined;
    },
  });
}

/**
 * `impl` with every method's answer (result or error) held until `flush()` resolved: nothing is answered that a
 * crash could take back. Channel methods pass through.
 */
export function durableApi<A extends ApiDecl>(api: A, impl: ApiImpl<A>, flush: () => Promise<void>): ApiImpl<A> {
  const out: Record<string, unknown> = { ...impl };
  for (const [name, spec] of Object.entries(api.methods)) {
    const fn = (impl as Record<string, unknown>)[name];
    if (spec.kind !== 'method' || typeof fn !== 'function') continue;
    out[name] = async (...args: unknown[]) => {
      let r: unknown;
      try {
        r = await fn(...args);
      } catch (err) {
        await flush().catch(() => {});
        throw err;
      }
      await flush();
      return r;
    };
  }
  return out as ApiImpl<A>;
}
