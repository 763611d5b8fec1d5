/**
 * Rebuild tasks (docs/rebuild.md): what `util sealer sectors rebuild` recorded for a sector whose files were lost, in
 * the manager's database (table rebuild_tasks, created here: additive, older builds ignore it). A task holds the
 * SectorRebuildInfo a rebuild thread gets and the seal store it was handed to; it ends when the rebuilt files are
 * persisted and the worker reports the sector finalized, or when the rebuild is aborted.
 */
import type { SectorID, SectorRebuildInfo, WorkerIdentifier } from '../../api/sealer.js';
import { applySchema, ddl } from '../sql/schema.js';
import type { Db } from '../sql/types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rebuild_tasks (
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  info TEXT NOT NULL,
  instance TEXT,
  location TEXT,
  created_at INTEGER NOT NULL,
  allocated_at INTEGER,
  PRIMARY KEY (miner, number)
);
`;

export interface RebuildTask {
  info: SectorRebuildInfo;
  /** The seal store it was handed to (instance and location; both "" when the worker did not say), or null. */
  handedTo: WorkerIdentifier | null;
  createdAt: number;
}

interface Row {
  info: string;
  instance: string | null;
  location: string | null;
  created_at: number;
}

function toTask(r: Row): RebuildTask {
  return {
    info: JSON.parse(r.info) as SectorRebuildInfo,
    handedTo: r.instance === null ? null : { Instance: r.instance, Location: r.location ?? '' },
    createdAt: r.created_at,
  };
}

export class RebuildTasks {
  private readonly st;

  constructor(db: Db) {
    applySchema(db, 'rebuild', [ddl(SCHEMA)]);
    this.st = {
      get: db.prepare('SELECT * FROM rebuild_tasks WHERE miner = ? AND number = ?'),
      put: db.prepare(
        'INSERT INTO rebuild_tasks (miner, number, info, instance, location, created_at) VALUES (?, ?, ?, NULL, NULL, ?)',
      ),
      handedTo: db.prepare('SELECT * FROM rebuild_tasks WHERE instance = ? AND location = ? ORDER BY allocated_at'),
      waiting: db.prepare('SELECT * FROM rebuild_tasks WHERE instance IS NULL ORDER BY created_at, miner, number'),
      hand: db.prepare(
        'UPDATE rebuild_tasks SET instance = ?, location = ?, allocated_at = ? WHERE miner = ? AND number = ?',
      ),
      del: db.prepare('DELETE FROM rebuild_tasks WHERE miner = ? AND number = ?'),
      all: db.prepare('SELECT * FROM rebuild_tasks ORDER BY miner, number'),
    };
  }

  get(sid: SectorID): RebuildTask | undefined {
    const r = this.st.get.get(sid.Miner, sid.Number) as Row | undefined;
    return r ? toTask(r) : undefined;
  }

  /** Records a new task (not handed out yet). Call inside the transaction that marks the sector. */
  add(info: SectorRebuildInfo, at = Date.now()): void {
    this.st.put.run(info.Sector.ID.Miner, info.Sector.ID.Number, JSON.stringify(info), at);
  }

  /** Tasks already handed to this seal store (the worker may have lost the answer). */
  handedTo(w: WorkerIdentifier): RebuildTask[] {
    return (this.st.handedTo.all(w.Instance, w.Location) as Row[]).map(toTask);
  }

  /** Tasks no rebuild thread has taken yet, oldest first. */
  waiting(): RebuildTask[] {
    return (this.st.waiting.all() as Row[]).map(toTask);
  }

  hand(sid: SectorID, w: WorkerIdentifier, at = Date.now()): void {
    this.st.hand.run(w.Instance, w.Location, at, sid.Miner, sid.Number);
  }

  /** Ends a task (rebuilt or aborted). */
  remove(sid: SectorID): boolean {
    return this.st.del.run(sid.Miner, sid.Number).changes > 0;
  }

  all(): RebuildTask[] {
    return (this.st.all.all() as Row[]).map(toTask);
  }
}
