/**
 * Unseal tasks (docs/deals-unseal.md): a market request (SectorsUnsealPiece) or `util sealer sectors unseal` asks
 * for a piece's bytes back out of a sealed sector; a worker thread with plan "unseal" takes the task with
 * AllocateUnsealSector, asks where to put the bytes with AcquireUnsealDest, and ends it with AchieveUnsealSector.
 *
 * As damocles-manager does it (modules/impl/sectors/unseal.go, modules/sealer/sealer.go):
 * - one active task per (sector, piece); a second request with another destination adds it, unless the worker is
 *   already uploading;
 * - allocation brings the sector back online with `Unsealing` set (so the worker's ReportState calls are answered
 *   as for a live sector, not "finalized"); the end of the task puts it back offline.
 * Added here: tasks are rows in the manager database (they survive a restart); a task a worker took and never
 * finished is offered again after `reofferAfterMs` (failed after `maxAttempts`); a worker's ReportAborted of an
 * unsealing sector fails the task instead of aborting a proven sector.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  type Bytes32,
  bytes32ToJson,
  type SectorID,
  type SectorState,
  type SectorUnsealInfo,
  sectorName,
  type UnsealUpgradeInfo,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { metrics } from '../../common/metrics.js';
import { cidToCommD } from '../../fil/index.js';
import { RpcError } from '../../rpc/index.js';
import type { SectorCaller } from '../auth.js';
import type { ManagerStore } from '../db.js';
import { sealStoreOf } from '../sealer/allocation.js';
import { SnapStore } from '../snapup/store.js';
import { checkDest, destsForWorker, MAX_DESTS, type MarketTarget, redactDest } from './dest.js';
import { pieceCidString, piecePlace } from './pieces.js';
import {
  ACTIVE_STATES,
  UNSEAL_STATES,
  type UnsealSource,
  UnsealStore,
  type UnsealTask,
  type UnsealTaskState,
} from './store.js';

const log = logger('unseal');

const HOUR = 3600_000;
/** market request ids kept per task (a market re-asks every few minutes; older ids are long answered or gone) */
const MAX_EVENTS = 16;

export interface UnsealTasksOptions {
  store: ManagerStore;
  /** the market's piece store for market:// destinations (undefined: none configured) */
  market?: () => MarketTarget | undefined;
  /** a task a worker took and did not finish is offered again after this long (default 6 h) */
  reofferAfterMs?: number;
  /** a task is failed after this many allocations without an outcome (default 3) */
  maxAttempts?: number;
  /** finished and failed tasks kept (default 500) */
  keep?: number;
  registry?: Registry;
  now?: () => number;
}

export interface UnsealRequestIn {
  sid: SectorID;
  /** piece CID string or {"/": …} */
  pieceCid: unknown;
  /** unpadded offset and size; when absent (CLI) they come from the sector's pieces */
  offset?: number;
  size?: number;
  dest: string;
  source: UnsealSource;
  /** the market request to answer with the outcome */
  eventId?: string;
}

/** What a market request gets now: an outcome known already, or nothing (it waits for the task). */
export interface RequestOutcome {
  task: UnsealTask;
  /** set: answer the request now with this state (and error, for failed) */
  answer?: { state: UnsealTaskState; error: string };
}

export type OutcomeListener = (task: UnsealTask, eventIds: string[]) => void;

/** Why a task failed, as the failure counter labels it (bounded). */
export type FailureCause = 'worker' | 'timeout' | 'sector';

export class UnsealTasks {
  readonly tasks: UnsealStore;
  private readonly listeners: OutcomeListener[] = [];
  /** callers waiting for a task's outcome (the UnsealPiece stream) */
  private readonly waiters = new Map<number, Set<(t: UnsealTask) => void>>();
  private readonly reofferAfterMs: number;
  private readonly maxAttempts: number;
  private readonly keep: number;
  private readonly now: () => number;
  private readonly failures: Counter<'cause'>;
  private timer: NodeJS.Timeout | undefined;
  /** the snapup records, read for upgraded sectors (opened at the first one) */
  private snaps: SnapStore | undefined;

  constructor(private readonly o: UnsealTasksOptions) {
    this.tasks = new UnsealStore(o.store.db);
    this.reofferAfterMs = o.reofferAfterMs ?? 6 * HOUR;
    this.maxAttempts = o.maxAttempts ?? 3;
    this.keep = o.keep ?? 500;
    this.now = o.now ?? Date.now;
    const registry = o.registry ?? metrics().registry;
    for (const name of ['venus_unseal_tasks', 'venus_unseal_failures_total']) registry.removeSingleMetric(name);
    const tasks = this.tasks;
    new Gauge({
      name: 'venus_unseal_tasks',
      help: 'Unseal tasks in the manager database, per state (set_up, unsealing, uploading, finished, failed)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const counts = tasks.counts();
        for (const s of UNSEAL_STATES) this.set({ state: s }, counts[s]);
      },
    });
    this.failures = new Counter({
      name: 'venus_unseal_failures_total',
      help: 'Unseal tasks that failed, per cause (worker: the worker reported an error; timeout: no worker finished it; sector: the sector cannot be unsealed)',
      labelNames: ['cause'],
      registers: [registry],
    });
  }

  /** Re-offers overdue tasks every minute (and trims old ones hourly). */
  start(): void {
    let n = 0;
    this.timer = setInterval(() => {
      try {
        this.sweep();
        if (n++ % 60 === 0) this.tasks.trim(this.keep);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'unseal task sweep failed');
      }
    }, 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Called with each task that ends and the market requests waiting for it. */
  onOutcome(fn: OutcomeListener): void {
    this.listeners.push(fn);
  }

  // ----------------------------------------------------------------------------------------------------------
  // requests (market events, the CLI)

  /**
   * Records a request: joins the active task for the piece, hands back an outcome the market has not seen yet, or
   * starts a new task. Throws an RpcError naming what is wrong with the request (unknown sector, piece not in it,
   * offset or size not the piece's, bad destination).
   */
  request(req: UnsealRequestIn): RequestOutcome {
    const pieceCid = pieceCidString(req.pieceCid);
    const dest = checkDest(req.dest);
    // market://STORE/PIECE_CID: the worker uploads under the unsealed piece's CID; another one here is a mistake
    const named = dest.startsWith('market:')
      ? decodeURIComponent(new URL(dest).pathname.replace(/^\/+|\/+$/g, ''))
      : '';
    if (named && named !== pieceCid)
      throw new RpcError(
        1,
        `unseal destination ${redactDest(dest)} names piece ${named.slice(0, 100)}, not ${pieceCid}`,
      );
    const place = this.locate(req.sid, pieceCid);
    if (req.offset !== undefined && req.offset !== place.offset)
      throw new RpcError(
        1,
        `offset ${req.offset} is not where piece ${pieceCid} sits in ${sectorName(req.sid)} (${place.offset}, unpadded)`,
      );
    if (req.size !== undefined && req.size !== place.size)
      throw new RpcError(
        1,
        `size ${req.size} is not the size of piece ${pieceCid} in ${sectorName(req.sid)} (${place.size}, unpadded)`,
      );
    const { Miner: miner, Number: number } = req.sid;
    return this.tasks.tx(() => {
      const active = this.tasks.active(miner, number, pieceCid);
      if (active) {
        if (!active.dest.includes(dest)) {
          if (active.state === 'uploading')
            throw new RpcError(
              1,
              `the unseal of ${pieceCid} in ${sectorName(req.sid)} is uploading; ask again later for another destination`,
            );
          if (active.dest.length >= MAX_DESTS)
            throw new RpcError(
              1,
              `the unseal of ${pieceCid} in ${sectorName(req.sid)} has ${MAX_DESTS} destinations already`,
            );
          active.dest.push(dest);
        }
        if (req.eventId && !active.events.includes(req.eventId))
          active.events = [...active.events, req.eventId].slice(-MAX_EVENTS);
        this.tasks.update(active, this.now());
        log.info(
          {
            task: active.id,
            sector: sectorName(req.sid),
            piece: pieceCid,
            dest: redactDest(dest),
            state: active.state,
          },
          'unseal request joins the task in progress',
        );
        return { task: active };
      }
      // an outcome the market has not been told yet (it finished after the market stopped waiting)
      const last = this.tasks.latest(miner, number, pieceCid);
      if (req.source === 'market' && last && !last.reported && last.dest.includes(dest)) {
        last.reported = true;
        this.tasks.update(last, this.now());
        return { task: last, answer: { state: last.state, error: last.error } };
      }
      const task = this.tasks.insert(
        {
          miner,
          number,
          pieceCid,
          offset: place.offset,
          size: place.size,
          dest: [dest],
          events: req.eventId ? [req.eventId] : [],
          source: req.source,
        },
        this.now(),
      );
      log.info(
        { task: task.id, sector: sectorName(req.sid), piece: pieceCid, dest: redactDest(dest), source: req.source },
        'unseal task added',
      );
      return { task };
    });
  }

  /** The task once it has ended (finished or failed); rejects when `signal` aborts first. */
  outcome(taskId: number, signal?: AbortSignal): Promise<UnsealTask> {
    const now = this.tasks.get(taskId);
    if (!now) return Promise.reject(new RpcError(1, `unseal task ${taskId} is gone`));
    if (!ACTIVE_STATES.includes(now.state)) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const set = this.waiters.get(taskId) ?? new Set();
      this.waiters.set(taskId, set);
      const done = (t: UnsealTask) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(t);
      };
      const onAbort = () => {
        set.delete(done);
        reject(new RpcError(1, 'stopped waiting for the unseal'));
      };
      set.add(done);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops waiting for a market request (it was answered with the state of the moment). */
  dropEvent(taskId: number, eventId: string): void {
    this.tasks.tx(() => {
      const t = this.tasks.get(taskId);
      if (!t?.events.includes(eventId)) return;
      t.events = t.events.filter((e) => e !== eventId);
      this.tasks.update(t, this.now());
    });
  }

  /** The outcome did not reach the market: the next request for the piece reads it instead of starting anew. */
  unreport(taskId: number): void {
    const t = this.tasks.get(taskId);
    if (!t || ACTIVE_STATES.includes(t.state) || !t.reported) return;
    t.reported = false;
    this.tasks.update(t, this.now());
  }

  /** Where the piece is in the sector, checking the sector can be unsealed at all. */
  private locate(sid: SectorID, pieceCid: string): { offset: number; size: number } {
    const r = this.o.store.getSector(sid);
    if (!r) throw new RpcError(1, `sector ${sectorName(sid)} is unknown to this sector-manager`);
    const s = r.state;
    if (s.AbortReason)
      throw new RpcError(
        1,
        `sector ${sectorName(sid)} was aborted (${s.AbortReason.slice(0, 200)}): nothing to unseal`,
      );
    if (!s.Finalized || !s.Pre)
      throw new RpcError(1, `sector ${sectorName(sid)} is still being sealed: nothing to unseal yet`);
    if (!this.o.store.findSector('normal', sid))
      throw new RpcError(1, `sector ${sectorName(sid)}: no persist store is known to hold its sealed file`);
    const place = piecePlace(s, pieceCid);
    if (!place) throw new RpcError(1, `piece ${pieceCid} is not in sector ${sectorName(sid)}`);
    return place;
  }

  // ----------------------------------------------------------------------------------------------------------
  // the worker side (SealerAPI)

  /**
   * AllocateUnsealSector: the oldest waiting task the worker's spec allows, or null. With `spec.Worker` (the
   * worker's store, as AllocateSector), the task that store took and never started is answered again: the worker
   * lost the answer (a dropped connection, a restart) and would otherwise wait for the re-offer.
   */
  allocate(
    spec: { AllowedMiners?: number[] | null; AllowedProofTypes?: number[] | null; Worker?: unknown },
    caller: SectorCaller,
  ): SectorUnsealInfo | null {
    this.sweep();
    const w = sealStoreOf(spec as Parameters<typeof sealStoreOf>[0]);
    const workerStore = w ? JSON.stringify([w.Instance, w.Location]) : null;
    if (workerStore) {
      const again = this.takenAgain(workerStore, spec, caller);
      if (again) return again;
    }
    for (const t of this.tasks.pending()) {
      if (spec.AllowedMiners && !spec.AllowedMiners.includes(t.miner)) continue;
      const sid = { Miner: t.miner, Number: t.number };
      const r = this.o.store.getSector(sid);
      if (r && spec.AllowedProofTypes && !spec.AllowedProofTypes.includes(r.state.SectorType)) continue;
      let info: SectorUnsealInfo;
      try {
        this.locate(sid, t.pieceCid);
        info = this.unsealInfo(t, r!.state);
      } catch (err) {
        this.finish(t, 'failed', (err as Error).message, 'sector');
        continue;
      }
      this.tasks.tx(() => {
        t.state = 'unsealing';
        t.worker = caller.admin ? '' : caller.name;
        t.workerStore = workerStore;
        t.attempts += 1;
        t.allocatedAt = this.now();
        this.tasks.update(t, this.now());
        // back online while unsealing: the worker's state reports are answered as for a live sector
        const cur = this.o.store.getSector(sid)!;
        cur.state.Unsealing = true;
        this.o.store.putSector(cur.state, true);
        if (!caller.admin) this.o.store.setSectorOwner(sid, caller.name || null);
        this.o.store.recordSectorEvent(sid, { state: 'Unsealing', worker: caller.name || null });
      });
      log.info(
        { task: t.id, sector: sectorName(sid), piece: t.pieceCid, worker: caller.name, attempt: t.attempts },
        'unseal task allocated',
      );
      return { ...info, State: 'unsealing' };
    }
    return null;
  }

  /** The task `workerStore` took and has not started, if the same caller asks and its spec still allows it. */
  private takenAgain(
    workerStore: string,
    spec: { AllowedMiners?: number[] | null; AllowedProofTypes?: number[] | null },
    caller: SectorCaller,
  ): SectorUnsealInfo | null {
    const t = this.tasks.takenBy(workerStore);
    // naming another worker's store does not hand over its task
    if (!t || t.worker !== (caller.admin ? '' : caller.name)) return null;
    if (spec.AllowedMiners?.length && !spec.AllowedMiners.includes(t.miner)) return null;
    const sid = { Miner: t.miner, Number: t.number };
    const r = this.o.store.getSector(sid);
    if (!r) return null;
    if (spec.AllowedProofTypes?.length && !spec.AllowedProofTypes.includes(r.state.SectorType)) return null;
    let info: SectorUnsealInfo;
    try {
      info = this.unsealInfo(t, r.state);
    } catch {
      return null; // the re-offer or the worker's AcquireUnsealDest says what is wrong with it
    }
    // its re-offer clock starts again: the worker starts on it now
    t.allocatedAt = this.now();
    this.tasks.update(t, this.now());
    log.info(
      { task: t.id, sector: sectorName(sid), piece: t.pieceCid, worker: caller.name, attempt: t.attempts },
      'unseal task allocated again to the worker that took it (never started: the worker lost the answer)',
    );
    return { ...info, State: 'unsealing' };
  }

  private unsealInfo(t: UnsealTask, s: SectorState): SectorUnsealInfo {
    const sid = { Miner: t.miner, Number: t.number };
    const at = this.o.store.findSector('normal', sid);
    let commD: Bytes32;
    let access = at?.SealedFile;
    let upgrade: UnsealUpgradeInfo | null = null;
    if (s.Upgraded) {
      // SnapDeals: the data is in the updated replica, decoded with the sector key (docs/deals-unseal.md)
      this.snaps ??= new SnapStore(this.o.store.db);
      const up = this.snaps.landedUpdate(sid);
      if (!up) throw new Error(`sector ${sectorName(s.ID)} is being upgraded: its update has not landed yet`);
      const where = this.o.store.findSector('upgrade', sid);
      if (!where) throw new Error(`sector ${sectorName(s.ID)}: the sector index has no store for its updated replica`);
      access = where.SealedFile;
      commD = up.commDNew;
      // where the CC replica was: still there when CleanupCCData is off, else the worker seals it again
      upgrade = { CommROld: up.commROld, SectorKeyInstance: at?.SealedFile ?? '' };
    } else {
      try {
        commD = bytes32ToJson(cidToCommD(s.Pre!.CommD));
      } catch (err) {
        throw new Error(`sector ${sectorName(s.ID)} has no usable CommD: ${(err as Error).message}`);
      }
    }
    if (!access) throw new Error(`sector ${sectorName(s.ID)}: the sector index has no store for its sealed file`);
    if (!s.Pre?.Ticket) throw new Error(`sector ${sectorName(s.ID)} has no ticket (it was not sealed here)`);
    let dest: string[];
    try {
      dest = destsForWorker(t.dest, this.o.market?.());
    } catch {
      dest = t.dest; // AcquireUnsealDest names the problem when the worker gets there
    }
    return {
      Sector: { ID: { Miner: t.miner, Number: t.number }, ProofType: s.SectorType },
      PieceCid: { '/': t.pieceCid },
      Offset: t.offset,
      Size: t.size,
      PrivateInfo: { AccessInstance: access },
      Ticket: s.Pre.Ticket,
      CommD: commD,
      Dest: dest,
      State: t.state,
      ErrorInfo: '',
      ...(upgrade ? { Upgrade: upgrade } : {}),
    };
  }

  /** The task a worker holds for (sector, piece), checking it is that worker's. */
  private held(sid: SectorID, pieceCid: unknown, caller: SectorCaller, what: string): UnsealTask | undefined {
    const cid = pieceCidString(pieceCid);
    const t = this.tasks.active(sid.Miner, sid.Number, cid);
    if (!t || t.state === 'set_up') return undefined;
    if (!caller.admin && t.worker && t.worker !== caller.name)
      throw new RpcError(1, `${what}: the unseal of ${cid} in ${sectorName(sid)} is held by worker "${t.worker}"`);
    return t;
  }

  /** AcquireUnsealDest: the destinations, market:// ones completed with the market's address. */
  acquireDest(sid: SectorID, pieceCid: unknown, caller: SectorCaller): string[] {
    const t = this.held(sid, pieceCid, caller, 'AcquireUnsealDest');
    if (!t) throw new RpcError(1, `no unseal of ${pieceCidString(pieceCid)} in ${sectorName(sid)} is in progress`);
    const dests = destsForWorker(t.dest, this.o.market?.());
    t.state = 'uploading';
    t.allocatedAt = this.now();
    this.tasks.update(t, this.now());
    return dests;
  }

  /** AchieveUnsealSector: the end of the task (errInfo empty: the bytes are at every destination). */
  achieve(sid: SectorID, pieceCid: unknown, errInfo: string, caller: SectorCaller): Record<string, never> {
    const t = this.held(sid, pieceCid, caller, 'AchieveUnsealSector');
    if (!t) {
      // a repeated call after the outcome was recorded answers the same
      const last = this.tasks.latest(sid.Miner, sid.Number, pieceCidString(pieceCid));
      if (last && !ACTIVE_STATES.includes(last.state)) return {};
      throw new RpcError(1, `no unseal of ${pieceCidString(pieceCid)} in ${sectorName(sid)} is in progress`);
    }
    if (errInfo) this.finish(t, 'failed', errInfo, 'worker');
    else this.finish(t, 'finished', '');
    return {};
  }

  /**
   * A worker's ReportAborted of a sector it is unsealing: the unseal failed, the sector stays as it was (proven).
   * Returns false for any other sector (the normal abort applies).
   */
  workerAborted(sid: SectorID, reason: string): boolean {
    const r = this.o.store.getSector(sid);
    if (!r?.online || !r.state.Unsealing) return false;
    const held = this.tasks.activeOfSector(sid.Miner, sid.Number).filter((t) => t.state !== 'set_up');
    for (const t of held)
      this.finish(t, 'failed', `the worker gave the unseal up: ${reason || 'no reason given'}`, 'worker');
    this.release(sid);
    return true;
  }

  /** Offers again the tasks no worker finished in time; fails those out of attempts. */
  sweep(now = this.now()): void {
    for (const t of this.tasks.allocated()) {
      if (t.allocatedAt === null || now - t.allocatedAt < this.reofferAfterMs) continue;
      const sid = { Miner: t.miner, Number: t.number };
      if (t.attempts >= this.maxAttempts) {
        this.finish(
          t,
          'failed',
          `no worker finished the unseal (${t.attempts} attempts, ${Math.round(this.reofferAfterMs / 60_000)} min each)`,
          'timeout',
        );
        continue;
      }
      this.tasks.tx(() => {
        t.state = 'set_up';
        t.worker = null;
        t.workerStore = null;
        t.allocatedAt = null;
        this.tasks.update(t, now);
      });
      this.release(sid);
      log.warn(
        { task: t.id, sector: sectorName(sid), piece: t.pieceCid, attempt: t.attempts },
        'unseal task not finished in time: offered again',
      );
    }
  }

  /** Ends a task, answers who waits for it, and puts the sector back offline when nothing else unseals it. */
  private finish(t: UnsealTask, state: 'finished' | 'failed', error: string, cause?: FailureCause): void {
    const events = t.events;
    this.tasks.tx(() => {
      t.state = state;
      t.error = error.slice(0, 4096);
      t.events = [];
      // the outcome reaches the waiting market requests now; a CLI task has nobody else to tell
      t.reported = events.length > 0 || t.source === 'cli';
      this.tasks.update(t, this.now());
    });
    this.release({ Miner: t.miner, Number: t.number });
    const fields = {
      task: t.id,
      sector: sectorName({ Miner: t.miner, Number: t.number }),
      piece: t.pieceCid,
      source: t.source,
    };
    if (state === 'failed') {
      this.failures.inc({ cause: cause ?? 'worker' });
      log.error({ ...fields, reason: t.error }, 'unseal task failed');
    } else log.info({ ...fields, dest: t.dest.map(redactDest) }, 'unseal task finished');
    const waiting = this.waiters.get(t.id);
    this.waiters.delete(t.id);
    for (const fn of waiting ?? []) fn(t);
    for (const fn of this.listeners) {
      try {
        fn(t, events);
      } catch (err) {
        log.error({ task: t.id, err: (err as Error).message }, 'unseal outcome listener failed');
      }
    }
  }

  /** The sector goes back offline (Unsealing cleared) once no task holds it. */
  private release(sid: SectorID): void {
    this.tasks.tx(() => {
      if (this.tasks.activeOfSector(sid.Miner, sid.Number).some((t) => t.state !== 'set_up')) return;
      const r = this.o.store.getSector(sid);
      if (!r?.state.Unsealing) return;
      r.state.Unsealing = false;
      this.o.store.putSector(r.state, false);
      this.o.store.recordSectorEvent(sid, { state: 'Finalized' });
    });
  }

  // ----------------------------------------------------------------------------------------------------------
  // reads

  get(id: number): UnsealTask | undefined {
    return this.tasks.get(id);
  }

  recent(limit = 100): UnsealTask[] {
    return this.tasks.recent(Math.min(Math.max(1, limit), 1000));
  }
}
