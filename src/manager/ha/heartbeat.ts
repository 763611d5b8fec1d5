/**
 * One row per running manager in `manager_heartbeats` (docs/manager-ha.md §Names): its [Common.HA] Name, a random
 * id of this process, where it runs (host, pid, listen address) and when it last beat, in the database's clock.
 *
 * Two managers under one Name would each take the other's leases for their own (the lease names the holder), so
 * a manager refuses to start under a Name whose row another process beat within the stale time, naming where
 * that one runs. A row is free when it is stale, handed back (graceful stop), or left by a process of this host
 * that is gone (kill -9, then a restart under the same Name).
 */
import { hostname } from 'node:os';
import { UserError } from '../../common/cli.js';
import { applySchema, ddl } from '../sql/schema.js';
import type { Db, SchemaStep } from '../sql/types.js';
import type { LeaseDb } from './lease.js';

/** The "ha_heartbeat" component's schema steps. */
export const HEARTBEAT_SCHEMA: SchemaStep[] = [
  ddl(`CREATE TABLE IF NOT EXISTS manager_heartbeats (
  name TEXT PRIMARY KEY,
  instance TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  listen TEXT NOT NULL DEFAULT '',
  started_at INTEGER NOT NULL,
  beat_at INTEGER NOT NULL
)`),
];

/** Where a manager runs, as its heartbeat row says. */
export interface Whereabouts {
  host: string;
  pid: number;
  /** host:port of its API ('' before it listens) */
  listen: string;
}

export interface HeartbeatRow extends Whereabouts {
  name: string;
  instance: string;
  startedAt: number;
  beatAt: number;
}

/** Another running manager has this [Common.HA] Name (its heartbeat is fresh): this one must not start. */
export class ManagerNameInUse extends UserError {
  constructor(
    readonly managerName: string,
    readonly other: HeartbeatRow,
    readonly ageMs: number,
    readonly staleMs: number,
  ) {
    super(
      `[Common.HA] Name "${managerName}" is in use by another running manager (host ${other.host}, pid ${other.pid}` +
        `${other.listen ? `, listening on ${other.listen}` : ''}, last heartbeat ${Math.max(0, Math.round(ageMs))} ms ago): ` +
        `give each manager its own Name in sector-manager.cfg, or stop that one (its heartbeat counts as stale after ${staleMs} ms)`,
    );
    this.name = 'ManagerNameInUse';
  }
}

/** A process of this host that is gone (its pid answers ESRCH); another host's is never judged from here. */
export function processIsGone(host: string, pid: number): boolean {
  if (host !== hostname() || pid === process.pid || pid <= 1) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

interface Stored {
  name: string;
  instance: string;
  host: string;
  pid: number | string;
  listen: string;
  started_at: number | string;
  beat_at: number | string;
}

function fromRow(r: Stored): HeartbeatRow {
  return {
    name: r.name,
    instance: r.instance,
    host: r.host,
    pid: Number(r.pid),
    listen: r.listen,
    startedAt: Number(r.started_at),
    beatAt: Number(r.beat_at),
  };
}

export interface HeartbeatOptions {
  db: LeaseDb;
  name: string;
  /** this process (random per Duties) */
  instance: string;
  /** a row not beaten for this long (database clock) is stale */
  staleMs: number;
  where: Whereabouts;
  /** whether the process a row names is known to be gone (default processIsGone) */
  isGone?: (host: string, pid: number) => boolean;
}

export class Heartbeat {
  private readonly st;
  readonly where: Whereabouts;

  constructor(private readonly o: HeartbeatOptions) {
    applySchema(o.db as Db, 'ha_heartbeat', HEARTBEAT_SCHEMA);
    this.where = { ...o.where };
    const db = o.db;
    this.st = {
      get: db.prepare(
        'SELECT name, instance, host, pid, listen, started_at, beat_at FROM manager_heartbeats WHERE name = ?',
      ),
      put: db.prepare(
        `INSERT INTO manager_heartbeats (name, instance, host, pid, listen, started_at, beat_at)
         VALUES (@name, @instance, @host, @pid, @listen, @now, @now)
         ON CONFLICT (name) DO UPDATE SET instance = excluded.instance, host = excluded.host, pid = excluded.pid,
           listen = excluded.listen, started_at = excluded.started_at, beat_at = excluded.beat_at`,
      ),
      beat: db.prepare(
        'UPDATE manager_heartbeats SET beat_at = @now, listen = @listen WHERE name = @name AND instance = @instance',
      ),
      release: db.prepare('DELETE FROM manager_heartbeats WHERE name = ? AND instance = ?'),
    };
  }

  /** The row under this Name whoever wrote it. */
  get(): HeartbeatRow | undefined {
    const r = this.st.get.get(this.o.name) as Stored | undefined;
    return r ? fromRow(r) : undefined;
  }

  /**
   * Takes the Name for this process (a fresh row of another running process: ManagerNameInUse), or beats it.
   * Returns the conflict instead of throwing so the caller decides (refuse to start, or stand by).
   */
  beat(): ManagerNameInUse | undefined {
    return this.o.db.tx(() => {
      const now = this.o.db.now();
      const args = { name: this.o.name, instance: this.o.instance, listen: this.where.listen, now };
      if (this.st.beat.run(args).changes === 1) return undefined;
      const other = this.get();
      if (other && other.instance !== this.o.instance) {
        const age = now - other.beatAt;
        const gone = (this.o.isGone ?? processIsGone)(other.host, other.pid);
        if (age < this.o.staleMs && !gone) return new ManagerNameInUse(this.o.name, other, age, this.o.staleMs);
      }
      this.st.put.run({ ...args, host: this.where.host, pid: this.where.pid });
      return undefined;
    });
  }

  /** Hands the Name back (graceful stop): a successor need not wait for the row to go stale. */
  release(): void {
    this.o.db.tx(() => this.st.release.run(this.o.name, this.o.instance));
  }
}
