/**
 * A sealing thread: one seal store, one sector at a time, through its plan's state machine
 * (docs/spec/sealer-api.md §States and events to §Persist); the plans' steps are in planner/ (sealer.ts, rebuild.ts).
 *
 * Driver (docs/spec/sealer-api.md §Driver loop): apply the event → save the document → ReportState → run the handler of
 * the new state, which yields the next event or fails. On restart the saved state's handler runs again, so every
 * handler is "clean outputs, then compute" and every manager call is idempotent. Failures: temporary ones retry the
 * same step up to max_retries every recover_interval, then escalate to permanent; permanent and critical ones pause
 * the thread until `worker resume`; abort reports to the manager, wipes the store and takes the next sector.
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../../common/log.js';
import type { SealingThreadConfig } from '../config.js';
import { type ManagerWaitHost, managerWaits } from '../sealer-rpc.js';
import { SealStore } from '../store.js';
import { classify, crit, Failure, Interrupted, LEVEL_WIRE, perm, prefixed } from './failure.js';
import type { Event, SealerClient, StepHost, ThreadDeps } from './planner/common.js';
import { PLANNERS, type Planner } from './planner/index.js';
import { lockSealStore } from './seal-lock.js';
import { type SectorDoc, SectorDocStore } from './sector.js';
import { isState, type State } from './states.js';
import { clock } from './waits.js';

export type { SealerClient, ThreadDeps } from './planner/common.js';

const log = logger('sealing');

export type ThreadStateName = 'Idle' | 'Running' | 'Waiting' | 'Paused';

/** What `worker list` shows of a thread (VenusWorker.WorkerList, snake_case as the original). */
export interface ThreadInfo {
  index: number;
  location: string;
  plan: string;
  /** The sector being sealed (s-t0M-N), or null. */
  job_id: string | null;
  job_state: string;
  job_stage: string | null;
  thread_state: { state: ThreadStateName; elapsed: number; proc: string | null };
  last_error: string | null;
}

/** Thrown by ReportState handling when the manager has finalized or aborted the sector. */
class DroppedByManager extends Failure {
  constructor(reason: string) {
    super('abort', reason);
  }
}

export class SealingThread {
  private store!: SealStore;
  private docs!: SectorDocStore;
  private doc: SectorDoc | null = null;
  private state: ThreadStateName = 'Idle';
  private since = Date.now();
  private proc: string | null = null;
  private lastError: string | null = null;
  private pauseRequested = false;
  private stopped = false;
  private ctl = new AbortController();
  private resumeWaiter: ((state: State | null) => void) | null = null;
  private loopDone: Promise<void> | null = null;
  /** Releases the seal store's lock (one worker per seal store). */
  private unlock: (() => void) | null = null;
  /** What the thread showed before a manager call started waiting for a sector-manager (restored after). */
  private beforeManagerWait: { state: ThreadStateName; proc: string | null; since: number } | null = null;

  constructor(
    readonly index: number,
    readonly cfg: SealingThreadConfig,
    private readonly deps: ThreadDeps,
  ) {}

  /** What the plan's steps see of this thread: they run in it, as functions of the plan, not as its methods. */
  private readonly host: StepHost = this.stepHost();

  private stepHost(): StepHost {
    const thread = this;
    return {
      get index() {
        return thread.index;
      },
      get cfg() {
        return thread.cfg;
      },
      get deps() {
        return thread.deps;
      },
      get store() {
        return thread.store;
      },
      get signal() {
        return thread.signal;
      },
      get doc() {
        return thread.doc;
      },
      get lastError() {
        return thread.lastError;
      },
      set lastError(v) {
        thread.lastError = v;
      },
      setState: (s, proc, keepSince) => thread.setState(s, proc, keepSince),
      sleep: (ms) => thread.sleep(ms),
      waitFor: (doc, w) => thread.waitFor(doc, w),
      sectorName: (doc) => thread.sectorName(doc),
      finalize: () => thread.finalize(),
    };
  }

  /** Opens the seal store (refusing an unformatted one, or one another worker holds) and starts sealing. */
  async start(): Promise<void> {
    this.store = await SealStore.open(this.cfg.location);
    this.unlock = lockSealStore(this.store.location);
    this.docs = new SectorDocStore(this.store.metaDir);
    // manager calls made by this loop wait (shown in `worker list`) while no sector-manager answers
    this.loopDone = managerWaits.run(this.managerWaitHost(), () => this.loop());
  }

  private managerWaitHost(): ManagerWaitHost {
    const thread = this;
    return {
      get signal() {
        return thread.signal;
      },
      waiting(w) {
        if (w) {
          if (w.first || !thread.beforeManagerWait) {
            thread.beforeManagerWait = { state: thread.state, proc: thread.proc, since: thread.since };
          }
          thread.setState(
            'Waiting',
            `sealer_rpc: waiting for ${w.targets.join(', ')}, next try ${clock(w.nextAt)}`,
            !w.first,
          );
        } else if (thread.beforeManagerWait) {
          const b = thread.beforeManagerWait;
          thread.beforeManagerWait = null;
          thread.state = b.state;
          thread.proc = b.proc;
          thread.since = b.since;
        }
      },
    };
  }

  /** Stops after the current step (a running computation finishes first). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.ctl.abort(new Interrupted('worker stopping'));
    this.resumeWaiter?.(null);
    await this.loopDone;
    this.unlock?.();
    this.unlock = null;
  }

  info(): ThreadInfo {
    const doc = this.doc;
    const sector = doc?.base ? this.store.sector(doc.base.allocated.ID.Miner, doc.base.allocated.ID.Number) : null;
    return {
      index: this.index,
      location: this.cfg.location,
      plan: this.cfg.plan,
      job_id: sector?.name ?? null,
      job_state: doc?.state ?? 'Empty',
      job_stage: doc ? this.planner(doc).stage(doc.state) : null,
      thread_state: { state: this.state, elapsed: Math.round((Date.now() - this.since) / 1000), proc: this.proc },
      last_error: this.lastError,
    };
  }

  /** Pauses at the next step boundary (waits and sleeps are cut short). False when already paused. */
  pause(): boolean {
    if (this.state === 'Paused' || this.pauseRequested) return false;
    this.pauseRequested = true;
    this.ctl.abort(new Interrupted('paused by the operator'));
    return true;
  }

  /** Resumes a paused thread, optionally setting the sector's state first (`-s Aborted` drops it). */
  resume(state?: string | null): boolean {
    if (state != null && !isState(state)) {
      throw new Error(`unknown state "${state}"`);
    }
    if (this.state !== 'Paused' || !this.resumeWaiter) return false;
    const w = this.resumeWaiter;
    this.resumeWaiter = null;
    w((state as State | undefined) ?? null);
    return true;
  }

  /** `keepSince`: the same wait goes on (its next check time changed), so `worker list` keeps its elapsed. */
  private setState(s: ThreadStateName, proc: string | null = null, keepSince = false): void {
    if ((this.state !== s || this.proc !== proc) && !(keepSince && this.state === s)) this.since = Date.now();
    this.state = s;
    this.proc = proc;
  }

  private get signal(): AbortSignal {
    return this.ctl.signal;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.signal.aborted) return reject(this.signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(this.signal.reason);
      };
      const t = setTimeout(() => {
        this.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Sleeps `w.ms` as a named wait: `worker list` shows Waiting(<label>, next check HH:MM:SS) from the start of
   * the wait until the next step; the log says what and until when at INFO when the wait begins (`first`), at
   * DEBUG on each later check (docs/worker-waits.md).
   */
  private async waitFor(
    doc: SectorDoc,
    w: { what: string; label: string; ms: number; first: boolean; why: string },
  ): Promise<void> {
    const at = clock(Date.now() + w.ms);
    const fields = { thread: this.index, sector: this.sectorName(doc) };
    if (w.first) log.info(fields, `${w.what}, next check at ${at} (${w.why})`);
    else log.debug(fields, `${w.what}, next check at ${at}`);
    this.setState('Waiting', `${w.label}, next check ${at}`, !w.first);
    await this.sleep(w.ms);
  }

  private checkInterrupt(): void {
    if (this.stopped) throw new Interrupted('worker stopping');
    if (this.pauseRequested) throw new Interrupted('paused by the operator');
  }

  // -------------------------------------------------------------------------------------------------------
  // thread loop

  private async loop(): Promise<void> {
    let resumeState: State | null = null;
    while (!this.stopped) {
      try {
        await this.sealOne(resumeState);
        resumeState = null;
        this.setState('Idle');
        await this.sleep(this.cfg.sealing.sealIntervalMs);
      } catch (err) {
        resumeState = null;
        if (this.stopped) break;
        const f = err instanceof Failure ? err : crit(`sealing thread: ${(err as Error).message}`, err);
        if (f.level === 'abort' && !(f instanceof Interrupted)) {
          log.warn({ thread: this.index, location: this.cfg.location }, `sector aborted: ${f.message}`);
          this.setState('Idle');
          try {
            await this.sleep(this.cfg.sealing.sealIntervalMs);
            continue;
          } catch {
            // paused while waiting for the next sector: fall through to the pause
          }
        }
        if (!(f instanceof Interrupted) && f.level !== 'abort') {
          this.lastError = f.message;
          log.error({ thread: this.index, location: this.cfg.location, level: f.level }, `thread paused: ${f.message}`);
        } else {
          log.info({ thread: this.index, location: this.cfg.location }, 'thread paused');
        }
        if (this.stopped) break;
        resumeState = await this.waitResume();
      }
    }
    this.setState('Idle');
  }

  private async waitResume(): Promise<State | null> {
    this.setState('Paused');
    const state = await new Promise<State | null>((resolve) => {
      this.resumeWaiter = resolve;
    });
    this.pauseRequested = false;
    this.ctl = new AbortController();
    if (!this.stopped) {
      log.info({ thread: this.index, state }, 'thread resumed');
      this.lastError = null;
      this.setState(this.doc?.state === 'Empty' ? 'Idle' : 'Running');
    }
    return state;
  }

  /** The plan a document runs under (a task in flight keeps the plan it started with). */
  private planner(doc: SectorDoc): Planner {
    return PLANNERS[doc.plan] ?? PLANNERS.sealer;
  }

  /** Seals one sector: from the saved state (or Empty) to Finished, or until a failure escapes. */
  private async sealOne(resumeState: State | null): Promise<void> {
    let doc: SectorDoc;
    try {
      doc = await this.docs.load();
    } catch (err) {
      throw crit(`load sector document: ${(err as Error).message}`, err);
    }
    if (doc.state === 'Empty' && !doc.base) doc.plan = this.cfg.plan;
    else if (doc.plan !== this.cfg.plan) {
      log.info(
        { thread: this.index, plan: doc.plan },
        `finishing the ${doc.plan} task in flight before the ${this.cfg.plan} plan`,
      );
    }
    this.doc = doc;
    let event: Event | null = resumeState ? { name: 'SetState', state: resumeState } : null;
    let idles = 0;
    for (;;) {
      this.checkInterrupt();
      if (event) {
        if (event.name === 'Idle' || event.name === 'Retry') {
          await this.sleep(this.cfg.sealing.recoverIntervalMs);
        } else {
          await this.applyEvent(doc, event);
          this.checkInterrupt();
        }
      }
      this.setState(doc.state === 'Empty' ? 'Idle' : 'Running');
      let next: Event | null;
      try {
        next = await this.planner(doc).exec(this.host, doc);
        if (doc.retry !== 0 && next?.name !== 'Idle') this.lastError = null;
      } catch (err) {
        const f = classify(err, this.planner(doc).stage(doc.state));
        if (f instanceof Interrupted || this.signal.aborted) throw this.signal.aborted ? this.signal.reason : f;
        await this.report(doc, doc.state, doc.state, 'Retry', f).catch((e) => {
          if (e instanceof DroppedByManager) throw e;
        });
        if (f.level === 'temporary') {
          const max = this.cfg.sealing.maxRetries;
          if (doc.retry >= max) {
            doc.retry = 0;
            await this.save(doc);
            throw perm(`${f.message} (still failing after ${max} retries)`, f);
          }
          doc.retry++;
          await this.save(doc);
          this.lastError = `temporary (retry ${doc.retry}/${max}): ${f.message}`;
          log.warn({ thread: this.index, state: doc.state, retry: doc.retry }, f.message);
          this.setState('Running'); // retrying the step, not in a chain wait any more
          await this.sleep(this.cfg.sealing.recoverIntervalMs);
          event = null;
          continue;
        }
        if (f.level === 'abort') {
          await this.dropSector(doc, f.message, !(f instanceof DroppedByManager));
        }
        throw f;
      }
      if (next === null) return; // Finished: reported and wiped
      if (next.name === 'Idle') {
        idles++;
        // no task for a while: let the outer loop wait seal_interval before asking again
        if (idles > this.cfg.sealing.requestTaskMaxRetries) return;
      } else {
        idles = 0;
      }
      event = next;
    }
  }

  private async save(doc: SectorDoc): Promise<void> {
    try {
      await this.docs.save(doc);
    } catch (err) {
      throw crit(`save sector document: ${(err as Error).message}`, err);
    }
  }

  private async applyEvent(doc: SectorDoc, event: Event): Promise<void> {
    const prev = doc.state;
    let next: State;
    if (event.name === 'SetState') {
      next = event.state!;
    } else {
      try {
        next = this.planner(doc).plan(event.name, prev);
      } catch (err) {
        throw crit((err as Error).message);
      }
    }
    event.apply?.(doc);
    doc.prev_state = prev;
    doc.state = next;
    doc.retry = 0;
    await this.save(doc);
    log.info({ thread: this.index, sector: this.sectorName(doc), event: event.name }, `${prev} → ${next}`);
    await this.report(doc, prev, next, event.name, null);
  }

  /**
   * ReportState; its errors are only logged. When the manager says the sector is finalized (it was aborted
   * or finished there), the sector is dropped locally.
   */
  private async report(doc: SectorDoc, prev: State, next: State, event: string, failure: Failure | null) {
    if (!doc.base) return;
    let resp: Awaited<ReturnType<SealerClient['ReportState']>>;
    try {
      resp = await this.deps.manager.ReportState(doc.base.allocated.ID, {
        Worker: { Instance: this.deps.instance, Location: this.cfg.location },
        StateChange: { Prev: prev, Next: next, Event: event },
        Failure: failure ? { Level: LEVEL_WIRE[failure.level], Desc: failure.message } : null,
      });
    } catch (err) {
      log.warn({ thread: this.index, sector: this.sectorName(doc) }, prefixed('Venus.ReportState', err));
      return;
    }
    if (!resp?.Finalized) return;
    if (!this.planner(doc).droppedWhenFinalized && !resp.AbortReason) return;
    if (next !== 'Finished') {
      const why = resp.AbortReason ? `aborted by the manager: ${resp.AbortReason}` : 'finalized by the manager';
      await this.dropSector(doc, why, false);
      throw new DroppedByManager(`${this.sectorName(doc)} ${why}`);
    }
  }

  /** Abort: tell the manager (unless it told us), wipe the store, forget the sector. */
  private async dropSector(doc: SectorDoc, reason: string, tellManager: boolean): Promise<void> {
    const abandon = this.planner(doc).abandon;
    if (tellManager && abandon) {
      await abandon(this.host, doc, reason);
    } else if (doc.base && tellManager) {
      try {
        await this.deps.manager.ReportAborted(doc.base.allocated.ID, reason);
      } catch (err) {
        log.warn({ sector: this.sectorName(doc) }, prefixed('Venus.ReportAborted', err));
      }
    }
    await this.finalize();
  }

  /**
   * Wipes everything under data/ and the sector document (the persisted copy is the one left). The folder itself
   * stays: a kill between removing and re-creating it would leave a store that refuses to open ("damaged").
   */
  private async finalize(): Promise<void> {
    try {
      await mkdir(this.store.dataDir, { recursive: true });
      for (const e of await readdir(this.store.dataDir)) {
        await rm(join(this.store.dataDir, e), { recursive: true, force: true });
      }
      await this.docs.clear();
    } catch (err) {
      throw crit(`clean up ${this.store.dataDir}: ${(err as Error).message}`, err);
    }
    this.doc = null;
  }

  private sectorName(doc: SectorDoc): string | undefined {
    return doc.base ? `s-t0${doc.base.allocated.ID.Miner}-${doc.base.allocated.ID.Number}` : undefined;
  }
}
