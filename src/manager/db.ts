/**
 * The manager's state in one SQLite file (`<home>/manager.db`, WAL, synchronous=FULL): every answer given to a
 * worker is committed before it is sent, so a kill -9 at any moment loses nothing a worker was told.
 *
 * Tables (what the original kept in badger collections, docs/spec/sealer-api.md §Manager configuration):
 *   sector_numbers   last number handed out per miner ("sector-number")
 *   sectors          per-sector state as the CLI API shows it (SectorState JSON), online or offline
 *                    ("sector-states" / "sector-states-offline"), and the worker it is bound to (owner)
 *   messages         commitment messages planned per miner: written before they are pushed, so a restart
 *                    re-pushes the same id instead of building a second message
 *   reservations     persist-store space reserved for a sector until ReportFinalized ("objstore")
 *   sector_index     which persist store holds a sector's sealed file and cache ("sector-index")
 *   workers          last WorkerPing per worker ("worker")
 *   seal_allocations the last sector allocated to each seal store (worker instance + location) that said who it is
 *                    (AllocateSectorSpec.Worker, our extension): re-offered to that store while untouched
 *   sector_events    each sector's timeline: the states workers reported (with the event and any failure), its
 *                    allocation, finalization or abort, with the time the manager recorded them
 *   post_results     Window PoSt submissions and their outcome per miner and deadline (what the dashboard lists)
 *
 * Retention (what workers can add rows to is bounded, docs/security.md): a sector keeps its first and its latest
 * RETENTION.eventsPerSector timeline steps, and finished sectors' timelines go after RETENTION.eventAgeMs; workers
 * not heard from for RETENTION.staleMs go, and at most RETENTION.workers are kept (the least recently pinged
 * go first); seal store allocations likewise; post_results keeps the latest 1000.
 */
import type {
  SectorAccessStores,
  SectorID,
  SectorIndexType,
  SectorState,
  WorkerIdentifier,
  WorkerInfo,
  WorkerPingInfo,
} from '../api/sealer.js';
import { sectorNeedsSend, sectorStateName } from './db-schema.js';
import type { Db } from './sql/types.js';

export { type Db, openDb } from './db-schema.js';

const DAY = 24 * 3600_000;
/** Table retention; tests pass their own to ManagerStore. */
export const RETENTION = {
  eventsPerSector: 256,
  eventAgeMs: 90 * DAY,
  staleMs: 7 * DAY,
  workers: 1024,
  allocations: 4096,
};
export type Retention = typeof RETENTION;

/** A new, empty sector state as AllocateSector records it. */
export function newSectorState(sid: SectorID, proofType: number): SectorState {
  return {
    ID: { Miner: sid.Miner, Number: sid.Number },
    SectorType: proofType,
    Deals: null,
    Pieces: null,
    MessageInfo: { PreCommitCid: null, CommitCid: null, NeedSend: false },
    TerminateInfo: { TerminateCid: null, TerminatedAt: 0, AddedHeight: 0 },
    Finalized: false,
    Removed: false,
    AbortReason: '',
    Upgraded: false,
    Imported: false,
    NeedRebuild: false,
    Unsealing: false,
  };
}

/** A commitment message as planned by a batcher. */
export interface MessageRecordRow {
  id: string;
  miner: number;
  kind: 'pre' | 'prove' | 'post' | 'recover' | 'other';
  sectors: number[];
  /** Lotus JSON of the unsigned message */
  message: unknown;
  /** messager SendSpec */
  spec: unknown;
  pushed: boolean;
  createdAt: number;
}

export class SectorNumberExhausted extends Error {
  constructor(
    readonly miner: number,
    readonly maxNumber: number,
  ) {
    super(`miner ${miner}: no sector number left (MaxNumber = ${maxNumber} reached; raise it in sector-manager.cfg)`);
    this.name = 'SectorNumberExhausted';
  }
}

/** One step of a sector's timeline (sector_events). */
export interface SectorEvent {
  /** the sector's state from then on: a worker's state name, or Allocated / Finalized / Aborted */
  state: string;
  /** the worker's event name (SectorPC1Done…), if a worker reported it */
  event: string | null;
  /** "instance location" of the reporting worker's seal store */
  worker: string | null;
  /** a failure the worker reported with this state (it retries or waits), or the abort reason */
  failure: string | null;
  /** ms since epoch */
  at: number;
}

/** A Window PoSt submission as the poster reported it (post_results). */
export interface PoStResultRow {
  miner: string;
  deadline: number;
  ok: boolean;
  epoch: number | null;
  proven: number | null;
  faulty: number | null;
  /** why it failed, "reason: detail (fix)" with reason one of FailureReason (manager/commit/outcome.ts); null if ok */
  reason?: string | null;
  /** ms since epoch */
  at: number;
}

/** Typed access to the tables. All writes are single statements or transactions. */
export class ManagerStore {
  private readonly st;

  constructor(
    readonly db: Db,
    private readonly keep: Retention = RETENTION,
  ) {
    this.st = {
      getNumber: db.prepare('SELECT current FROM sector_numbers WHERE miner = ?'),
      // only ever raises it: 0 changes when it would go back (one round trip for the check and the write)
      raiseNumber: db.prepare(
        `INSERT INTO sector_numbers (miner, current) VALUES (?, ?) ON CONFLICT (miner) DO UPDATE
         SET current = excluded.current WHERE sector_numbers.current < excluded.current`,
      ),
      getSector: db.prepare('SELECT state, online FROM sectors WHERE miner = ? AND number = ?'),
      // SQLite generates state_name and need_send from state; PostgreSQL's are plain columns written with it
      putSector: db.prepare(
        db.dialect === 'sqlite'
          ? `INSERT INTO sectors (miner, number, online, state, updated_at) VALUES (@miner, @number, @online, @state, @at)
         ON CONFLICT (miner, number) DO UPDATE SET online = excluded.online, state = excluded.state, updated_at = excluded.updated_at`
          : `INSERT INTO sectors (miner, number, online, state, state_name, need_send, updated_at)
         VALUES (@miner, @number, @online, @state, @stateName, @needSend, @at)
         ON CONFLICT (miner, number) DO UPDATE SET online = excluded.online, state = excluded.state,
           state_name = excluded.state_name, need_send = excluded.need_send, updated_at = excluded.updated_at`,
      ),
      // a sector allocated just now, with its owner: one statement (an allocation holds its miner's number lock)
      putOwnedSector: db.prepare(
        db.dialect === 'sqlite'
          ? `INSERT INTO sectors (miner, number, online, state, updated_at, owner)
         VALUES (@miner, @number, @online, @state, @at, @owner)
         ON CONFLICT (miner, number) DO UPDATE SET online = excluded.online, state = excluded.state,
           updated_at = excluded.updated_at, owner = excluded.owner`
          : `INSERT INTO sectors (miner, number, online, state, state_name, updated_at, owner)
         VALUES (@miner, @number, @online, @state, @stateName, @at, @owner)
         ON CONFLICT (miner, number) DO UPDATE SET online = excluded.online, state = excluded.state,
           state_name = excluded.state_name, updated_at = excluded.updated_at, owner = excluded.owner`,
      ),
      listSectors: db.prepare('SELECT state FROM sectors WHERE online = ? ORDER BY miner, number'),
      listNeedSend: db.prepare('SELECT state FROM sectors WHERE need_send = 1 AND online = 1 ORDER BY miner, number'),
      getOwner: db.prepare('SELECT owner FROM sectors WHERE miner = ? AND number = ?'),
      setOwner: db.prepare('UPDATE sectors SET owner = ? WHERE miner = ? AND number = ?'),
      countByState: db.prepare('SELECT state_name AS state, count(*) AS count FROM sectors GROUP BY state_name'),
      putMessage: db.prepare(
        `INSERT INTO messages (id, miner, kind, sectors, message, spec, pushed, created_at)
         VALUES (@id, @miner, @kind, @sectors, @message, @spec, 0, @at)`,
      ),
      markPushed: db.prepare('UPDATE messages SET pushed = 1 WHERE id = ?'),
      unpushed: db.prepare('SELECT * FROM messages WHERE pushed = 0 ORDER BY created_at, id'),
      getMessage: db.prepare('SELECT * FROM messages WHERE id = ?'),
      getReservation: db.prepare('SELECT store, size, at FROM reservations WHERE miner = ? AND number = ?'),
      putReservation: db.prepare(
        'INSERT INTO reservations (miner, number, store, size, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (miner, number) DO NOTHING',
      ),
      delReservation: db.prepare('DELETE FROM reservations WHERE miner = ? AND number = ?'),
      reservationsOf: db.prepare('SELECT miner, number, size, at FROM reservations WHERE store = ?'),
      getIndex: db.prepare(
        'SELECT sealed_store, cache_store FROM sector_index WHERE miner = ? AND number = ? AND kind = ?',
      ),
      putIndex: db.prepare(
        `INSERT INTO sector_index (miner, number, kind, sealed_store, cache_store) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (miner, number, kind) DO UPDATE SET sealed_store = excluded.sealed_store, cache_store = excluded.cache_store`,
      ),
      putWorker: db.prepare(
        'INSERT INTO workers (name, info, last_ping) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET info = excluded.info, last_ping = excluded.last_ping',
      ),
      getWorker: db.prepare('SELECT info, last_ping FROM workers WHERE name = ?'),
      listWorkers: db.prepare('SELECT info, last_ping FROM workers ORDER BY name'),
      delWorker: db.prepare('DELETE FROM workers WHERE name = ?'),
      getAllocation: db.prepare('SELECT miner, number FROM seal_allocations WHERE instance = ? AND location = ?'),
      getAllocationOwner: db.prepare(
        `SELECT a.miner, a.number, s.owner FROM seal_allocations a
         LEFT JOIN sectors s ON s.miner = a.miner AND s.number = a.number
         WHERE a.instance = ? AND a.location = ?`,
      ),
      putAllocation: db.prepare(
        `INSERT INTO seal_allocations (instance, location, miner, number, at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (instance, location) DO UPDATE SET miner = excluded.miner, number = excluded.number, at = excluded.at`,
      ),
      lastEvent: db.prepare(
        'SELECT state, failure, at FROM sector_events WHERE miner = ? AND number = ? ORDER BY seq DESC LIMIT 1',
      ),
      // when the sector entered its current run of `state`: the first event after the last other state
      stateEntered: db.prepare(
        `SELECT at FROM sector_events WHERE miner = ? AND number = ? AND seq > (
           SELECT COALESCE(MAX(seq), 0) FROM sector_events WHERE miner = ? AND number = ? AND state != ?)
         ORDER BY seq LIMIT 1`,
      ),
      // the sector's first step stays (its allocation); of the rest, the latest `?` stay
      trimEvents: db.prepare(
        `DELETE FROM sector_events WHERE miner = @miner AND number = @number
           AND seq > (SELECT MIN(seq) FROM sector_events WHERE miner = @miner AND number = @number)
           AND seq <= (SELECT seq FROM sector_events WHERE miner = @miner AND number = @number
                       ORDER BY seq DESC LIMIT 1 OFFSET @keep)`,
      ),
      // timelines of sectors no longer online, once their last step is older than the cut-off
      pruneEvents: db.prepare(
        `DELETE FROM sector_events WHERE (miner, number) IN (
           SELECT e.miner, e.number FROM sector_events e JOIN sectors s ON s.miner = e.miner AND s.number = e.number
           WHERE s.online = 0 GROUP BY e.miner, e.number HAVING MAX(e.at) < ?)`,
      ),
      pruneWorkers: db.prepare('DELETE FROM workers WHERE last_ping < ?'),
      capWorkers: db.prepare(
        'DELETE FROM workers WHERE name NOT IN (SELECT name FROM workers ORDER BY last_ping DESC, name DESC LIMIT ?)',
      ),
      pruneAllocations: db.prepare('DELETE FROM seal_allocations WHERE at < ?'),
      capAllocations: db.prepare(
        `DELETE FROM seal_allocations WHERE (instance, location) NOT IN (
           SELECT instance, location FROM seal_allocations ORDER BY at DESC, instance DESC, location DESC LIMIT ?)`,
      ),
      putEvent: db.prepare(
        'INSERT INTO sector_events (miner, number, state, event, worker, failure, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      eventsOf: db.prepare(
        'SELECT state, event, worker, failure, at FROM sector_events WHERE miner = ? AND number = ? ORDER BY seq',
      ),
      putPoSt: db.prepare(
        'INSERT INTO post_results (miner, deadline, ok, epoch, proven, faulty, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      recentPoSts: db.prepare('SELECT * FROM post_results ORDER BY seq DESC LIMIT ?'),
      trimPoSts: db.prepare('DELETE FROM post_results WHERE seq <= (SELECT MAX(seq) FROM post_results) - ?'),
    };
  }

  /**
   * Runs fn in one transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: SERIALIZABLE, fn re-run on a conflict):
   * all of its writes land, or none.
   */
  tx<T>(fn: () => T): T {
    return this.db.tx(fn);
  }

  // ----- sector numbers

  /** Last number handed out for a miner, or undefined if none yet. */
  lastNumber(miner: number): number | undefined {
    const r = this.st.getNumber.get(miner) as { current: number } | undefined;
    return r?.current;
  }

  /**
   * The next candidate number after the stored one (or after InitNumber; a raised InitNumber wins so
   * numbers only ever go up). Throws SectorNumberExhausted past MaxNumber. Does not write.
   */
  nextNumberCandidate(miner: number, initNumber: number, maxNumber: number | undefined, after?: number): number {
    const stored = this.lastNumber(miner);
    const base = Math.max(stored ?? initNumber, initNumber, after ?? -1);
    const next = base + 1;
    if (maxNumber !== undefined && next > maxNumber) throw new SectorNumberExhausted(miner, maxNumber);
    if (!Number.isSafeInteger(next)) throw new SectorNumberExhausted(miner, Number.MAX_SAFE_INTEGER);
    return next;
  }

  /** Records `n` as handed out (only ever raises the stored number). */
  setLastNumber(miner: number, n: number): void {
    if (this.st.raiseNumber.run(miner, n).changes === 1) return;
    throw new Error(`sector number ${n} of miner ${miner} would go back (at ${this.lastNumber(miner)})`);
  }

  // ----- sectors

  getSector(sid: SectorID): { state: SectorState; online: boolean } | undefined {
    const r = this.st.getSector.get(sid.Miner, sid.Number) as { state: string; online: number } | undefined;
    return r ? { state: JSON.parse(r.state) as SectorState, online: r.online === 1 } : undefined;
  }

  putSector(state: SectorState, online: boolean): void {
    this.st.putSector.run({
      miner: state.ID.Miner,
      number: state.ID.Number,
      online: online ? 1 : 0,
      state: JSON.stringify(state),
      ...(this.db.dialect === 'postgres'
        ? { stateName: sectorStateName(state), needSend: sectorNeedsSend(state) }
        : {}),
      at: Date.now(),
    });
  }

  /** putSector and setSectorOwner in one statement (a new sector's allocation; owner null: no name). */
  putOwnedSector(state: SectorState, online: boolean, owner: string | null): void {
    this.st.putOwnedSector.run({
      miner: state.ID.Miner,
      number: state.ID.Number,
      online: online ? 1 : 0,
      state: JSON.stringify(state),
      ...(this.db.dialect === 'postgres' ? { stateName: sectorStateName(state) } : {}),
      at: Date.now(),
      owner,
    });
  }

  listSectors(online: boolean): SectorState[] {
    return (this.st.listSectors.all(online ? 1 : 0) as { state: string }[]).map((r) => JSON.parse(r.state));
  }

  /** Online sectors whose commitment message is still to be sent (NeedSend): read through an index, not every row. */
  listNeedSend(): SectorState[] {
    return (this.st.listNeedSend.all() as { state: string }[]).map((r) => JSON.parse(r.state));
  }

  /** The worker name a sector is bound to (the name in the allocating token), or null. */
  sectorOwner(sid: SectorID): string | null {
    const r = this.st.getOwner.get(sid.Miner, sid.Number) as { owner: string | null } | undefined;
    return r?.owner ?? null;
  }

  /** Binds a sector to a worker name (call in the allocation's transaction, after putSector). */
  setSectorOwner(sid: SectorID, owner: string | null): void {
    this.st.setOwner.run(owner, sid.Miner, sid.Number);
  }

  /**
   * Sectors per state name, online and offline together: Aborted, Finalized, the worker's last reported state,
   * or Allocated (nothing reported yet). Read from an index: cheap enough for a timer.
   */
  countSectorsByState(): Array<{ state: string; count: number }> {
    return this.st.countByState.all() as Array<{ state: string; count: number }>;
  }

  // ----- messages

  putMessage(m: Omit<MessageRecordRow, 'pushed' | 'createdAt'>): void {
    this.st.putMessage.run({
      id: m.id,
      miner: m.miner,
      kind: m.kind,
      sectors: JSON.stringify(m.sectors),
      message: JSON.stringify(m.message),
      spec: JSON.stringify(m.spec),
      at: Date.now(),
    });
  }

  markPushed(id: string): void {
    this.st.markPushed.run(id);
  }

  getMessage(id: string): MessageRecordRow | undefined {
    const r = this.st.getMessage.get(id) as Record<string, unknown> | undefined;
    return r ? rowToMessage(r) : undefined;
  }

  unpushedMessages(): MessageRecordRow[] {
    return (this.st.unpushed.all() as Record<string, unknown>[]).map(rowToMessage);
  }

  // ----- store reservations

  getReservation(sid: SectorID): { store: string; size: number; at: number } | undefined {
    return this.st.getReservation.get(sid.Miner, sid.Number) as { store: string; size: number; at: number } | undefined;
  }

  /** Reserves once per sector: a repeated call keeps the first reservation. */
  reserve(sid: SectorID, store: string, size: number): void {
    this.st.putReservation.run(sid.Miner, sid.Number, store, size, Math.floor(Date.now() / 1000));
  }

  release(sid: SectorID): boolean {
    return this.st.delReservation.run(sid.Miner, sid.Number).changes > 0;
  }

  reservationsOf(store: string): { miner: number; number: number; size: number; at: number }[] {
    return this.st.reservationsOf.all(store) as { miner: number; number: number; size: number; at: number }[];
  }

  // ----- sector index

  findSector(kind: SectorIndexType, sid: SectorID): SectorAccessStores | undefined {
    const r = this.st.getIndex.get(sid.Miner, sid.Number, kind) as
      | { sealed_store: string; cache_store: string }
      | undefined;
    return r ? { SealedFile: r.sealed_store, CacheDir: r.cache_store } : undefined;
  }

  indexSector(kind: SectorIndexType, sid: SectorID, at: SectorAccessStores): void {
    this.st.putIndex.run(sid.Miner, sid.Number, kind, at.SealedFile, at.CacheDir);
  }

  // ----- allocations per seal store

  /** The last sector allocated to a seal store (AllocateSectorSpec.Worker), if any. */
  allocationOf(w: WorkerIdentifier): SectorID | undefined {
    const r = this.st.getAllocation.get(w.Instance, w.Location) as { miner: number; number: number } | undefined;
    return r ? { Miner: r.miner, Number: r.number } : undefined;
  }

  /** A seal store's last allocation and that sector's owner (one round trip for the allocation's check). */
  allocationWithOwner(w: WorkerIdentifier): { sid: SectorID; owner: string | null } | undefined {
    const r = this.st.getAllocationOwner.get(w.Instance, w.Location) as
      | { miner: number; number: number; owner: string | null }
      | undefined;
    return r ? { sid: { Miner: r.miner, Number: r.number }, owner: r.owner ?? null } : undefined;
  }

  /**
   * Records `sid` as the seal store's last allocation (call inside the allocation's transaction). The table is
   * capped when a store this process has not recorded yet may have added a row: a known store's row is
   * replaced, so its allocations need no scan of the table.
   */
  recordAllocation(w: WorkerIdentifier, sid: SectorID): void {
    this.st.putAllocation.run(w.Instance, w.Location, sid.Miner, sid.Number, Math.floor(Date.now() / 1000));
    if (seenBefore(this.recorded, `${w.Instance}\u0000${w.Location}`, this.keep.allocations)) return;
    this.st.capAllocations.run(this.keep.allocations);
  }

  /** seal stores (and below, workers) whose row this process wrote: theirs replace a row, never add one */
  private readonly recorded = new Set<string>();
  private readonly pinged = new Set<string>();

  // ----- sector timelines

  /**
   * Appends a step to a sector's timeline, unless it repeats the last one (same state and failure: a worker
   * re-reports its state after a restart or on each retry). Returns whether a row was written.
   */
  recordSectorEvent(
    sid: SectorID,
    step: Pick<SectorEvent, 'state'> & Partial<Omit<SectorEvent, 'state' | 'at'>>,
    at = Date.now(),
  ): boolean {
    const e = { event: null, worker: null, failure: null, ...step };
    const last = this.lastSectorEvent(sid);
    if (last && last.state === e.state && last.failure === e.failure) return false;
    if (last && last.state !== e.state && this.onStateLeft) {
      const entered = (
        this.st.stateEntered.get(sid.Miner, sid.Number, sid.Miner, sid.Number, last.state) as { at: number }
      ).at;
      try {
        this.onStateLeft(sid, last.state, Math.max(0, at - entered) / 1000);
      } catch {
        // metrics never break a write
      }
    }
    this.st.putEvent.run(sid.Miner, sid.Number, e.state, e.event, e.worker, e.failure, at);
    this.st.trimEvents.run({ miner: sid.Miner, number: sid.Number, keep: this.keep.eventsPerSector - 1 });
    return true;
  }

  /** The first step of a new sector's timeline (its allocation: nothing to compare with or trim). */
  startSectorTimeline(
    sid: SectorID,
    step: Pick<SectorEvent, 'state'> & Partial<Omit<SectorEvent, 'state' | 'at'>>,
    at = Date.now(),
  ): void {
    const e = { event: null, worker: null, failure: null, ...step };
    this.st.putEvent.run(sid.Miner, sid.Number, e.state, e.event, e.worker, e.failure, at);
  }

  /** Called when a sector's timeline moves on from a state, with the seconds it spent there (metrics). */
  onStateLeft: ((sid: SectorID, state: string, seconds: number) => void) | undefined;

  /**
   * Resolves once every write so far is on disk. The daemon runs the file with group commit (group-sync.ts):
   * whoever tells the outside world about a write (a message pushed after it was recorded) awaits this first.
   */
  durable: () => Promise<void> = async () => {};

  /** The latest step of a sector's timeline. */
  lastSectorEvent(sid: SectorID): { state: string; failure: string | null; at: number } | undefined {
    return this.st.lastEvent.get(sid.Miner, sid.Number) as
      | { state: string; failure: string | null; at: number }
      | undefined;
  }

  /** A sector's timeline, oldest first. */
  sectorEvents(sid: SectorID): SectorEvent[] {
    return this.st.eventsOf.all(sid.Miner, sid.Number) as SectorEvent[];
  }

  // ----- Window PoSt results

  /** Records a submission; only the latest `keep` are kept. */
  recordPoSt(r: Omit<PoStResultRow, 'at'>, at = Date.now(), keep = 1000): void {
    this.tx(() => {
      this.st.putPoSt.run(r.miner, r.deadline, r.ok ? 1 : 0, r.epoch, r.proven, r.faulty, at, r.reason ?? null);
      this.st.trimPoSts.run(keep);
    });
  }

  /** The latest submissions, newest first. */
  recentPoSts(limit = 50): PoStResultRow[] {
    return (this.st.recentPoSts.all(limit) as Record<string, unknown>[]).map((r) => ({
      miner: r.miner as string,
      deadline: r.deadline as number,
      ok: r.ok === 1,
      epoch: (r.epoch as number | null) ?? null,
      proven: (r.proven as number | null) ?? null,
      faulty: (r.faulty as number | null) ?? null,
      reason: (r.reason as string | null) ?? null,
      at: r.at as number,
    }));
  }

  // ----- workers

  pingWorker(info: WorkerInfo, now = Math.floor(Date.now() / 1000)): void {
    // a worker pinged before only replaces its row: one statement, no scan of the table to cap it
    if (seenBefore(this.pinged, info.Name, this.keep.workers)) {
      this.st.putWorker.run(info.Name, JSON.stringify(info), now);
      return;
    }
    this.tx(() => {
      this.st.putWorker.run(info.Name, JSON.stringify(info), now);
      this.st.capWorkers.run(this.keep.workers);
    });
  }

  /**
   * Drops what outlived its use: workers and seal store allocations not heard of for `staleMs`, timelines of
   * sectors that left the pipeline `eventAgeMs` ago. The daemon calls it hourly. Returns the rows removed.
   */
  prune(now = Date.now()): { workers: number; allocations: number; events: number } {
    return this.tx(() => ({
      workers: this.st.pruneWorkers.run(Math.floor((now - this.keep.staleMs) / 1000)).changes,
      allocations: this.st.pruneAllocations.run(Math.floor((now - this.keep.staleMs) / 1000)).changes,
      events: this.st.pruneEvents.run(now - this.keep.eventAgeMs).changes,
    }));
  }

  getWorker(name: string): WorkerPingInfo | undefined {
    const r = this.st.getWorker.get(name) as { info: string; last_ping: number } | undefined;
    return r ? { Info: JSON.parse(r.info), LastPing: r.last_ping } : undefined;
  }

  listWorkers(): WorkerPingInfo[] {
    return (this.st.listWorkers.all() as { info: string; last_ping: number }[]).map((r) => ({
      Info: JSON.parse(r.info),
      LastPing: r.last_ping,
    }));
  }

  removeWorker(name: string): boolean {
    return this.st.delWorker.run(name).changes > 0;
  }

  close(): void {
    this.db.close();
  }
}

function rowToMessage(r: Record<string, unknown>): MessageRecordRow {
  return {
    id: r.id as string,
    miner: r.miner as number,
    kind: r.kind as MessageRecordRow['kind'],
    sectors: JSON.parse(r.sectors as string),
    message: JSON.parse(r.message as string),
    spec: JSON.parse(r.spec as string),
    pushed: r.pushed === 1,
    createdAt: r.created_at as number,
  };
}

/**
 * Whether `key` is in `seen` (a row this process wrote, so writing it again adds none); adds it. Bounded: past
 * `max` keys it starts afresh, and every key costs one cap again.
 */
function seenBefore(seen: Set<string>, key: string, max: number): boolean {
  if (seen.has(key)) return true;
  if (seen.size >= max) seen.clear();
  seen.add(key);
  return false;
}
