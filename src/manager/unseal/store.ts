/**
 * Unseal tasks in the manager database (table `unseal_tasks`, created here so the task lives next to the sectors it
 * reads): one row per request to bring a piece's bytes back out of a sealed sector (docs/deals-unseal.md).
 *
 * A task is active while its state is set_up (waiting for a worker), unsealing (a worker has it) or uploading (the
 * worker asked where to put the bytes); finished and failed are terminal. `events` holds the ids of market requests
 * waiting for the outcome; `reported` says the outcome reached whoever asked (or nobody needs it), so the next
 * market request for the same piece starts a fresh task instead of reading an old answer.
 */
import { applySchema, ddl } from '../sql/schema.js';
import type { Db } from '../sql/types.js';

/** The states, spelled as venus-shared's gateway.UnsealState (what the market reads back). */
export const UNSEAL_STATES = ['set_up', 'unsealing', 'uploading', 'finished', 'failed'] as const;
export type UnsealTaskState = (typeof UNSEAL_STATES)[number];
export const ACTIVE_STATES: readonly UnsealTaskState[] = ['set_up', 'unsealing', 'uploading'];

export type UnsealSource = 'market' | 'cli';

export interface UnsealTask {
  id: number;
  miner: number;
  number: number;
  pieceCid: string;
  /** unpadded byte offset of the piece in the sector */
  offset: number;
  /** unpadded size of the piece */
  size: number;
  dest: string[];
  state: UnsealTaskState;
  error: string;
  /** market request ids waiting for the outcome */
  events: string[];
  source: UnsealSource;
  /** token name of the worker it is allocated to ('' for an unnamed token) */
  worker: string | null;
  /**
   * the worker's store (instance and location, AllocateSectorSpec.Worker) that took it: the same store asking
   * again before starting gets it again (the answer was lost); null: an older worker that does not say
   */
  workerStore: string | null;
  attempts: number;
  reported: boolean;
  createdAt: number;
  updatedAt: number;
  /** when a worker last took it or asked for its destinations (re-offer clock) */
  allocatedAt: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS unseal_tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  piece_cid TEXT NOT NULL,
  "offset" INTEGER NOT NULL,
  size INTEGER NOT NULL,
  dest TEXT NOT NULL,
  state TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  events TEXT NOT NULL DEFAULT '[]',
  source TEXT NOT NULL,
  worker TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  reported INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  allocated_at INTEGER
);
CREATE INDEX IF NOT EXISTS unseal_tasks_state ON unseal_tasks (state, id);
CREATE INDEX IF NOT EXISTS unseal_tasks_piece ON unseal_tasks (miner, number, piece_cid, id);
`;

interface Row {
  id: number;
  miner: number;
  number: number;
  piece_cid: string;
  offset: number;
  size: number;
  dest: string;
  state: string;
  error: string;
  events: string;
  source: string;
  worker: string | null;
  worker_store?: string | null;
  attempts: number;
  reported: number;
  created_at: number;
  updated_at: number;
  allocated_at: number | null;
}

function fromRow(r: Row): UnsealTask {
  return {
    id: r.id,
    miner: r.miner,
    number: r.number,
    pieceCid: r.piece_cid,
    offset: r.offset,
    size: r.size,
    dest: JSON.parse(r.dest) as string[],
    state: r.state as UnsealTaskState,
    error: r.error,
    events: JSON.parse(r.events) as string[],
    source: r.source as UnsealSource,
    worker: r.worker,
    workerStore: r.worker_store ?? null,
    attempts: r.attempts,
    reported: r.reported === 1,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    allocatedAt: r.allocated_at,
  };
}

const ACTIVE_SQL = `state IN ('set_up', 'unsealing', 'uploading')`;

export class UnsealStore {
  private readonly st;

  constructor(readonly db: Db) {
    applySchema(db, 'unseal', [
      ddl(SCHEMA),
      // the store of the worker that took a task: a retry of a lost AllocateUnsealSector answer gets it again
      ddl('ALTER TABLE unseal_tasks ADD COLUMN worker_store TEXT'),
    ]);
    this.st = {
      insert: db.prepare(
        `INSERT INTO unseal_tasks (miner, number, piece_cid, "offset", size, dest, state, events, source, created_at, updated_at)
         VALUES (@miner, @number, @pieceCid, @offset, @size, @dest, 'set_up', @events, @source, @now, @now) RETURNING id`,
      ),
      get: db.prepare('SELECT * FROM unseal_tasks WHERE id = ?'),
      active: db.prepare(
        `SELECT * FROM unseal_tasks WHERE miner = ? AND number = ? AND piece_cid = ? AND ${ACTIVE_SQL} ORDER BY id DESC LIMIT 1`,
      ),
      latest: db.prepare(
        'SELECT * FROM unseal_tasks WHERE miner = ? AND number = ? AND piece_cid = ? ORDER BY id DESC LIMIT 1',
      ),
      activeOfSector: db.prepare(
        `SELECT * FROM unseal_tasks WHERE miner = ? AND number = ? AND ${ACTIVE_SQL} ORDER BY id`,
      ),
      pending: db.prepare(`SELECT * FROM unseal_tasks WHERE state = 'set_up' ORDER BY id LIMIT 1000`),
      allocated: db.prepare(`SELECT * FROM unseal_tasks WHERE state IN ('unsealing', 'uploading') ORDER BY id`),
      takenBy: db.prepare(
        `SELECT * FROM unseal_tasks WHERE state = 'unsealing' AND worker_store = ? ORDER BY id DESC LIMIT 1`,
      ),
      update: db.prepare(
        `UPDATE unseal_tasks SET dest = @dest, state = @state, error = @error, events = @events, worker = @worker,
           worker_store = @workerStore, attempts = @attempts, reported = @reported, updated_at = @now,
           allocated_at = @allocatedAt WHERE id = @id`,
      ),
      recent: db.prepare('SELECT * FROM unseal_tasks ORDER BY id DESC LIMIT ?'),
      counts: db.prepare('SELECT state, count(*) AS count FROM unseal_tasks GROUP BY state'),
      countActive: db.prepare(`SELECT count(*) AS n FROM unseal_tasks WHERE ${ACTIVE_SQL}`),
      // terminal tasks beyond the newest `keep` go (what the dashboard and the CLI show is bounded)
      trim: db.prepare(
        `DELETE FROM unseal_tasks WHERE NOT ${ACTIVE_SQL} AND id NOT IN (
           SELECT id FROM unseal_tasks WHERE NOT ${ACTIVE_SQL} ORDER BY id DESC LIMIT ?)`,
      ),
    };
  }

  tx<T>(fn: () => T): T {
    return this.db.tx(fn);
  }

  insert(
    t: Pick<UnsealTask, 'miner' | 'number' | 'pieceCid' | 'offset' | 'size' | 'dest' | 'events' | 'source'>,
    now = Date.now(),
  ): UnsealTask {
    const r = this.st.insert.get({ ...t, dest: JSON.stringify(t.dest), events: JSON.stringify(t.events), now }) as {
      id: number;
    };
    return this.get(r.id) as UnsealTask;
  }

  get(id: number): UnsealTask | undefined {
    const r = this.st.get.get(id) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** The active task for a piece of a sector, if any. */
  active(miner: number, number: number, pieceCid: string): UnsealTask | undefined {
    const r = this.st.active.get(miner, number, pieceCid) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** The newest task for a piece of a sector, whatever its state. */
  latest(miner: number, number: number, pieceCid: string): UnsealTask | undefined {
    const r = this.st.latest.get(miner, number, pieceCid) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  activeOfSector(miner: number, number: number): UnsealTask[] {
    return (this.st.activeOfSector.all(miner, number) as Row[]).map(fromRow);
  }

  /** Tasks waiting for a worker, oldest first. */
  pending(): UnsealTask[] {
    return (this.st.pending.all() as Row[]).map(fromRow);
  }

  /** Tasks a worker holds. */
  allocated(): UnsealTask[] {
    return (this.st.allocated.all() as Row[]).map(fromRow);
  }

  /** The task a worker's store took last and has not started (state unsealing), if any. */
  takenBy(workerStore: string): UnsealTask | undefined {
    const r = this.st.takenBy.get(workerStore) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  update(t: UnsealTask, now = Date.now()): void {
    this.st.update.run({
      id: t.id,
      dest: JSON.stringify(t.dest),
      state: t.state,
      error: t.error,
      events: JSON.stringify(t.events),
      worker: t.worker,
      workerStore: t.workerStore,
      attempts: t.attempts,
      reported: t.reported ? 1 : 0,
      allocatedAt: t.allocatedAt,
      now,
    });
    t.updatedAt = now;
  }

  recent(limit = 100): UnsealTask[] {
    return (this.st.recent.all(limit) as Row[]).map(fromRow);
  }

  /** Tasks per state (every state listed, 0 when none). */
  counts(): Record<UnsealTaskState, number> {
    const out = Object.fromEntries(UNSEAL_STATES.map((s) => [s, 0])) as Record<UnsealTaskState, number>;
    for (const r of this.st.counts.all() as { state: string; count: number }[])
      if ((UNSEAL_STATES as readonly string[]).includes(r.state)) out[r.state as UnsealTaskState] = r.count;
    return out;
  }

  countActive(): number {
    return (this.st.countActive.get() as { n: number }).n;
  }

  /** Keeps the newest `keep` finished/failed tasks. Returns how many went. */
  trim(keep: number): number {
    return this.st.trim.run(keep).changes;
  }
}
