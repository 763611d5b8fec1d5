/**
 * A sealing thread: one seal store, one sector at a time, through the sealer plan's state machine
 * (docs/spec/sealer-api.md §States and events to §Persist).
 *
 * Driver (docs/spec/sealer-api.md §Driver loop): apply the event → save the document → ReportState → run the handler of
 * the new state, which yields the next event or fails. On restart the saved state's handler runs again, so every
 * handler is "clean outputs, then compute" and every manager call is idempotent. Failures: temporary ones retry the
 * same step up to max_retries every recover_interval, then escalate to permanent; permanent and critical ones pause
 * the thread until `worker resume`; abort reports to the manager, wipes the store and takes the next sector.
 */
import { constants } from 'node:fs';
import { access, copyFile, mkdir, open, readdir, rm, stat, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  type AllocatedSector,
  bytes32ToJson,
  ON_CHAIN_STATE_NAMES,
  OnChainState,
  type SealerAPI,
  type SectorID,
  type SectorPieceV2,
  type StoreBasicInfo,
  SUBMIT_RESULT_NAMES,
  type SubmitResp,
  SubmitResult,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { metrics } from '../../common/metrics.js';
import { cidToCommP, randomnessToFr32 } from '../../fil/index.js';
import {
  bytesFromOutput,
  computeCommD,
  P_AUX_FILE,
  proverIdFromActorId,
  sealProof,
  T_AUX_FILE,
  treeRLastFileNames,
  unpaddedPieceSize,
} from '../../proofs/index.js';
import type { ApiClient } from '../../rpc/index.js';
import type { LimitStage, PersistStoreConfig, SealingThreadConfig } from '../config.js';
import { fromJson32, type PieceFile, type Sealer, type Stage, type TaskOf, toJson32 } from '../processor/index.js';
import { checkPersistStore, persistedPaths, SealStore, type SectorPaths, sectorIdProblem } from '../store.js';
import { abort, classify, crit, Failure, Interrupted, LEVEL_WIRE, perm, prefixed, temp } from './failure.js';
import type { StageLimits } from './limits.js';
import { attachedStore, isStoreRefusal, refusalLine } from './persist-stores.js';
import { lockSealStore } from './seal-lock.js';
import { type SectorDoc, SectorDocStore } from './sector.js';
import { type EventName, isState, plan, STAGE_OF, type State } from './states.js';
import { Backoff, bound, clock } from './waits.js';

const log = logger('sealing');

/** Manager refusals already logged at ERROR, per daemon (its deps): said once, then retried quietly. */
const refusalsSaid = new WeakMap<ThreadDeps, Set<string>>();

export type SealerClient = ApiClient<typeof SealerAPI>;

export interface ThreadDeps {
  manager: SealerClient;
  sealer: Sealer;
  limits: StageLimits;
  persistStores: PersistStoreConfig[];
  /** The worker's name, reported as Worker.Instance. */
  instance: string;
  /** `<manager origin>/piecestore`, where deal pieces are fetched from. */
  pieceStoreUrl: string | null;
  pieceToken: string | null;
  localPiecesDirs: string[];
  /** Sector size → static CC tree_d file. */
  staticTreeD: Record<number, string>;
  /** Wait before resubmitting after OnChainState Failed (damocles: 30 s). */
  resubmitWaitMs?: number;
}

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

interface Event {
  name: EventName;
  /** SetState's target. */
  state?: State;
  apply?: (doc: SectorDoc) => void;
}

const ev = (name: EventName, apply?: (doc: SectorDoc) => void): Event => ({ name, apply });

/** Thrown by ReportState handling when the manager has finalized or aborted the sector. */
class DroppedByManager extends Failure {
  constructor(reason: string) {
    super('abort', reason);
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

async function fsyncFile(p: string): Promise<void> {
  const fh = await open(p, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function sameBytes(a: number[] | Uint8Array, b: number[] | Uint8Array): boolean {
  return a.length === b.length && Array.from(a).every((x, i) => x === b[i]);
}

/**
 * Chain randomness (base64) as the prover takes it: the top two bits of the last byte cleared so it is a
 * field element, as Lotus does with tickets and seeds (idempotent when the manager already did it).
 */
function fr32Randomness(b64: string): number[] {
  const b = Buffer.from(b64, 'base64');
  if (b.length !== 32) throw perm(`randomness of ${b.length} bytes from the manager (32 expected)`);
  return Array.from(randomnessToFr32(b));
}

function hex(b: number[] | Uint8Array): string {
  return Buffer.from(Uint8Array.from(b)).toString('hex');
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

  constructor(
    readonly index: number,
    readonly cfg: SealingThreadConfig,
    private readonly deps: ThreadDeps,
  ) {}

  /** Opens the seal store (refusing an unformatted one, or one another worker holds) and starts sealing. */
  async start(): Promise<void> {
    this.store = await SealStore.open(this.cfg.location);
    this.unlock = lockSealStore(this.store.location);
    this.docs = new SectorDocStore(this.store.metaDir);
    this.loopDone = this.loop();
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
      job_stage: doc ? STAGE_OF[doc.state] : null,
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

  /** Seals one sector: from the saved state (or Empty) to Finished, or until a failure escapes. */
  private async sealOne(resumeState: State | null): Promise<void> {
    let doc: SectorDoc;
    try {
      doc = await this.docs.load();
    } catch (err) {
      throw crit(`load sector document: ${(err as Error).message}`, err);
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
        next = await this.exec(doc);
        if (doc.retry !== 0 && next?.name !== 'Idle') this.lastError = null;
      } catch (err) {
        const f = classify(err, STAGE_OF[doc.state]);
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
        next = plan(event.name, prev);
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
    if (resp?.Finalized && next !== 'Finished') {
      const why = resp.AbortReason ? `aborted by the manager: ${resp.AbortReason}` : 'finalized by the manager';
      await this.dropSector(doc, why, false);
      throw new DroppedByManager(`${this.sectorName(doc)} ${why}`);
    }
  }

  /** Abort: tell the manager (unless it told us), wipe the store, forget the sector. */
  private async dropSector(doc: SectorDoc, reason: string, tellManager: boolean): Promise<void> {
    if (doc.base && tellManager) {
      try {
        await this.deps.manager.ReportAborted(doc.base.allocated.ID, reason);
      } catch (err) {
        log.warn({ sector: this.sectorName(doc) }, prefixed('Venus.ReportAborted', err));
      }
    }
    await this.finalize();
  }

  /** Wipes everything under data/ and the sector document (the persisted copy is the one left). */
  private async finalize(): Promise<void> {
    try {
      await rm(this.store.dataDir, { recursive: true, force: true });
      await mkdir(this.store.dataDir, { recursive: true });
      await this.docs.clear();
    } catch (err) {
      throw crit(`clean up ${this.store.dataDir}: ${(err as Error).message}`, err);
    }
    this.doc = null;
  }

  private sectorName(doc: SectorDoc): string | undefined {
    return doc.base ? `s-t0${doc.base.allocated.ID.Miner}-${doc.base.allocated.ID.Number}` : undefined;
  }

  // -------------------------------------------------------------------------------------------------------
  // helpers for handlers

  /** Runs `fn` under the stage's [limit] slot; Waiting while queued, Running with the stage as proc. */
  private async limited<T>(stage: LimitStage, fn: () => Promise<T>): Promise<T> {
    const token = await this.deps.limits.acquire(stage, this.signal, () => this.setState('Waiting', stage));
    this.setState('Running', stage);
    // time the computation only (not the wait for the slot), per sector size, as damocles' stage metrics do
    const size = this.doc?.base ? sealProof(this.doc.base.allocated.ProofType).sectorSize : 'unknown';
    const done = metrics().phaseTimer(stage, size);
    try {
      const out = await fn();
      done();
      return out;
    } catch (err) {
      done(err instanceof Interrupted ? 'interrupted' : classify(err, stage).level);
      throw err;
    } finally {
      token.release();
      this.setState('Running');
    }
  }

  private run<S extends Stage & LimitStage>(stage: S, task: TaskOf<S>) {
    return this.limited(stage, () => this.deps.sealer.run(stage, task, this.signal));
  }

  /** A manager call whose errors name the method (classified later: RPC errors are temporary, 11001 abort). */
  private async call<K extends keyof SealerClient>(
    name: K,
    ...args: Parameters<SealerClient[K]>
  ): Promise<Awaited<ReturnType<SealerClient[K]>>> {
    try {
      return await (this.deps.manager[name] as (...a: unknown[]) => Promise<Awaited<ReturnType<SealerClient[K]>>>)(
        ...args,
      );
    } catch (err) {
      throw classify(err, `Venus.${String(name)}`);
    }
  }

  private ctx(doc: SectorDoc) {
    if (!doc.base) throw abort(`state ${doc.state} without an allocated sector in the document`);
    const allocated: AllocatedSector = doc.base.allocated;
    const sid: SectorID = allocated.ID;
    const proof = sealProof(allocated.ProofType);
    const paths: SectorPaths = this.store.sector(sid.Miner, sid.Number);
    return { allocated, sid, proof, paths, proverId: doc.base.prover_id };
  }

  private required<T>(v: T | null | undefined, field: string, doc: SectorDoc): T {
    // damocles' field_required!: a state without what it needs cannot continue
    if (v === null || v === undefined) throw abort(`${field} is missing in state ${doc.state}`);
    return v;
  }

  // -------------------------------------------------------------------------------------------------------
  // handlers (docs/spec/sealer-api.md §States and events)

  private exec(doc: SectorDoc): Promise<Event | null> {
    switch (doc.state) {
      case 'Empty':
        return this.allocate();
      case 'Allocated':
        return this.acquireDeals(doc);
      case 'DealsAcquired':
        return this.addPieces(doc);
      case 'PieceAdded':
        return this.treeD(doc);
      case 'TreeDBuilt':
        return Promise.resolve(ev('AssignTicket'));
      case 'TicketAssigned':
        return this.pc1(doc);
      case 'PC1Done':
        return this.pc2(doc);
      case 'PC2Done':
        return this.submitPreCommit(doc);
      case 'PCSubmitted':
        return this.waitPreCommit(doc);
      case 'PCLanded':
        return this.persist(doc);
      case 'Persisted':
        return this.submitPersisted(doc);
      case 'PersistanceSubmitted':
        return this.waitSeed(doc);
      case 'SeedAssigned':
        return this.c1(doc);
      case 'C1Done':
        return this.c2(doc);
      case 'C2Done':
        return this.submitProof(doc);
      case 'ProofSubmitted':
        return this.waitProof(doc);
      case 'Finished':
        return this.finish(doc);
      case 'Aborted':
        return Promise.reject(abort('sector aborted by the operator'));
      default:
        return Promise.reject(perm(`state ${doc.state} is not handled by the sealer plan`));
    }
  }

  private async allocate(): Promise<Event> {
    const s = this.cfg.sealing;
    let a: AllocatedSector | null;
    try {
      a = await this.deps.manager.AllocateSector({
        AllowedMiners: s.allowedMiners,
        AllowedProofTypes: s.allowedProofTypes,
        // lets the manager hand back a sector allocated to this store whose allocation we never saved
        Worker: { Instance: this.deps.instance, Location: this.cfg.location },
      });
    } catch (err) {
      // damocles: an RPC error here is just "no task yet"; keep it visible in `worker list`
      this.lastError = prefixed('Venus.AllocateSector', err);
      log.warn({ thread: this.index }, this.lastError);
      return ev('Idle');
    }
    if (this.lastError?.startsWith('Venus.AllocateSector')) this.lastError = null;
    if (!a) return ev('Idle');
    try {
      sealProof(a.ProofType);
    } catch (err) {
      throw perm(`the manager allocated a sector with ${(err as Error).message}`);
    }
    // paths are built from the id: refuse anything but two safe integers, and miners we do not seal for
    const badId = sectorIdProblem(a.ID);
    if (badId) throw perm(`the manager allocated a sector with an invalid id: ${badId}`);
    if (s.allowedMiners && !s.allowedMiners.includes(a.ID.Miner)) {
      throw perm(`the manager allocated a sector of miner ${a.ID.Miner}, not one of allowed_miners`);
    }
    const alloc = a;
    log.info({ thread: this.index, miner: a.ID.Miner, number: a.ID.Number, proof: a.ProofType }, 'sector allocated');
    return ev('Allocate', (d) => {
      d.base = { allocated: alloc, prover_id: toJson32(proverIdFromActorId(alloc.ID.Miner)) };
    });
  }

  private async acquireDeals(doc: SectorDoc): Promise<Event> {
    const s = this.cfg.sealing;
    const { sid } = this.ctx(doc);
    if (!s.enableDeals) {
      if (s.disableCC) return ev('Idle');
      return ev('AcquireDeals', (d) => {
        d.deals = null;
      });
    }
    const pieces = await this.call('AcquireDeals', sid, { MaxDeals: s.maxDeals, MinUsedSpace: s.minDealSpace });
    if ((!pieces || pieces.length === 0) && s.disableCC) return ev('Idle');
    return ev('AcquireDeals', (d) => {
      d.deals = pieces?.length ? pieces : null;
    });
  }

  private async pieceFile(p: SectorPieceV2): Promise<PieceFile> {
    const cid = p.Piece.PieceCID?.['/'];
    // joined into local paths and the piece store URL: a CID string is letters and digits only
    if (typeof cid !== 'string' || !/^[A-Za-z0-9]{1,200}$/.test(cid)) {
      throw perm(`the manager sent a piece CID that is not a CID string: ${JSON.stringify(cid)?.slice(0, 80)}`);
    }
    for (const dir of this.deps.localPiecesDirs) {
      const f = join(dir, cid);
      if (await exists(f)) return { local: f };
    }
    if (!this.deps.pieceStoreUrl) throw perm(`piece ${cid}: not in local_pieces_dirs and no piece store URL`);
    return {
      url: `${this.deps.pieceStoreUrl}/${cid}`,
      headers: this.deps.pieceToken ? { Authorization: `Bearer ${this.deps.pieceToken}` } : undefined,
    };
  }

  private isPledge(p: SectorPieceV2): boolean {
    return !p.DealInfo || (p.DealInfo.DealID === 0 && p.DealInfo.AllocationID === 0);
  }

  private async addPieces(doc: SectorDoc): Promise<Event> {
    const { proof, paths } = this.ctx(doc);
    const deals = doc.deals ?? [];
    const task: TaskOf<'add_pieces'> = {
      seal_proof_type: proof.id,
      staged_filepath: paths.staged,
      pieces: deals.length
        ? await Promise.all(
            deals.map(async (p) => ({
              piece_file: this.isPledge(p) ? ('pledge' as const) : await this.pieceFile(p),
              payload_size: p.DealInfo?.PayloadSize ?? unpaddedPieceSize(p.Piece.Size),
              piece_size: unpaddedPieceSize(p.Piece.Size),
            })),
          )
        : [
            {
              piece_file: 'pledge' as const,
              payload_size: unpaddedPieceSize(proof.sectorSize),
              piece_size: unpaddedPieceSize(proof.sectorSize),
            },
          ],
    };
    // clean outputs, then compute
    await rm(paths.staged, { force: true });
    const out = await this.run('add_pieces', task);
    deals.forEach((p, i) => {
      const want = cidToCommP(p.Piece.PieceCID);
      if (!out[i] || !sameBytes(out[i]!.commitment, want)) {
        throw perm(`piece ${i} (${p.Piece.PieceCID['/']}): its data does not hash to the piece CID`);
      }
    });
    return ev('AddPiece', (d) => {
      d.phases.pieces = out;
    });
  }

  private async treeD(doc: SectorDoc): Promise<Event> {
    const { proof, paths } = this.ctx(doc);
    const pieces = this.required(doc.phases.pieces, 'pieces', doc);
    const commD = computeCommD(
      proof.sectorSize,
      pieces.map((p) => ({ size: p.size, commitment: fromJson32(p.commitment, 'piece commitment') })),
    );
    await rm(paths.prepared, { recursive: true, force: true });
    await mkdir(paths.prepared, { recursive: true });
    const staticTreeD = !doc.deals ? this.deps.staticTreeD[proof.sectorSize] : undefined;
    if (staticTreeD) {
      await symlink(staticTreeD, paths.treeD);
    } else {
      const out = await this.run('tree_d', {
        registered_proof: proof.id,
        staged_file: paths.staged,
        cache_dir: paths.prepared,
      });
      if (!sameBytes(out.comm_d, commD)) {
        throw perm(`tree_d: CommD ${hex(out.comm_d)} of the staged file differs from the pieces' ${hex(commD)}`);
      }
    }
    return ev('BuildTreeD', (d) => {
      d.phases.comm_d = bytes32ToJson(commD);
    });
  }

  private async pc1(doc: SectorDoc): Promise<Event> {
    const { sid, proof, paths, proverId } = this.ctx(doc);
    const ticket = doc.phases.ticket ?? (await this.call('AssignTicket', sid));
    // clean outputs: a fresh cache dir with tree_d linked in, an empty sealed file
    await rm(paths.cache, { recursive: true, force: true });
    await mkdir(paths.cache, { recursive: true });
    await mkdir(join(paths.sealed, '..'), { recursive: true });
    await (await open(paths.sealed, 'w')).close();
    await symlink(paths.treeD, join(paths.cache, basename(paths.treeD)));
    const out = await this.run('pc1', {
      registered_proof: proof.id,
      cache_path: paths.cache,
      in_path: paths.staged,
      out_path: paths.sealed,
      prover_id: proverId,
      sector_id: sid.Number,
      ticket: fr32Randomness(ticket.Ticket),
      piece_infos: this.required(doc.phases.pieces, 'pieces', doc),
    });
    return ev('PC1', (d) => {
      d.phases.ticket = ticket;
      d.phases.pc1out = out;
    });
  }

  private async pc2(doc: SectorDoc): Promise<Event> {
    const { proof, paths } = this.ctx(doc);
    const pc1out = this.required(doc.phases.pc1out, 'pc1out', doc);
    const commD = this.required(doc.phases.comm_d, 'comm_d', doc);
    // clean outputs of an earlier attempt
    for (const f of await readdir(paths.cache)) {
      if (f === P_AUX_FILE || f === T_AUX_FILE || f.includes('tree-c') || f.includes('tree-r-last')) {
        await rm(join(paths.cache, f), { force: true });
      }
    }
    // PC2 may write the sealed file in place: a marker left by an interrupted run means it is dirty (issue #837)
    const marker = join(paths.cache, '.pc2_running');
    if (await exists(marker)) {
      log.warn(
        { sector: paths.name },
        'an interrupted PC2 left the sealed file dirty: restoring it from the staged file',
      );
      await rm(paths.sealed, { force: true });
      await copyFile(paths.staged, paths.sealed);
    }
    await (await open(marker, 'w')).close();
    await fsyncFile(paths.cache);
    const out = await this.run('pc2', {
      registered_proof: proof.id,
      pc1out,
      cache_dir: paths.cache,
      sealed_file: paths.sealed,
      staged_file: paths.staged,
    });
    if (!sameBytes(out.comm_d, commD)) {
      throw perm(`pc2: CommD ${hex(out.comm_d)} differs from tree_d's ${hex(commD)}`);
    }
    await rm(marker, { force: true });
    return ev('PC2', (d) => {
      d.phases.pc2out = out;
    });
  }

  /** SubmitResult → proceed or the failure the original gives (docs/spec/sealer-api.md §Result enums). */
  private submitted(what: string, r: SubmitResp): void {
    const desc = r.Desc ? `: ${r.Desc}` : '';
    switch (r.Res) {
      case SubmitResult.Accepted:
      case SubmitResult.DuplicateSubmit:
        return;
      case SubmitResult.MismatchedSubmission:
        throw perm(`${what} mismatched an earlier submission${desc}`);
      case SubmitResult.Rejected:
        throw abort(`${what} rejected${desc}`);
      case SubmitResult.FilesMissed:
        throw perm(`${what}: the manager cannot find the persisted files${desc}`);
      default:
        throw perm(`${what}: unexpected result ${SUBMIT_RESULT_NAMES[r.Res] ?? r.Res}${desc}`);
    }
  }

  private async submitPreCommit(doc: SectorDoc): Promise<Event> {
    const { allocated } = this.ctx(doc);
    const out = this.required(doc.phases.pc2out, 'pc2out', doc);
    const r = await this.call(
      'SubmitPreCommit',
      allocated,
      { CommR: out.comm_r, CommD: out.comm_d, Ticket: this.required(doc.phases.ticket, 'ticket', doc) },
      doc.phases.pc2_re_submit,
    );
    this.submitted('pre-commit', r);
    return ev('SubmitPC', (d) => {
      d.phases.pc2_re_submit = false;
    });
  }

  /**
   * Polls an on-chain state until it lands, quickly at first and backing off to rpc_polling_interval;
   * Failed resubmits after a wait (docs/spec/sealer-api.md §Result enums).
   */
  private async pollLanded(
    doc: SectorDoc,
    what: string,
    poll: () => Promise<{ State: number; Desc: string | null }>,
    landed: Event,
    resubmit: Event,
  ): Promise<Event> {
    const max = this.cfg.sealing.rpcPollingIntervalMs;
    const backoff = new Backoff(max);
    let said: number | null = null;
    for (;;) {
      const r = await poll();
      const desc = r.Desc ? `: ${r.Desc}` : '';
      switch (r.State) {
        case OnChainState.Landed:
          return landed;
        case OnChainState.Pending:
        case OnChainState.Packed: {
          const state = ON_CHAIN_STATE_NAMES[r.State] ?? String(r.State);
          await this.waitFor(doc, {
            what: `${what} sent; waiting for it to land (${state}${desc})`,
            label: `${what} ${state}`,
            ms: backoff.next(),
            first: said !== r.State,
            why: `checks back off up to ${bound('rpc_polling_interval', max)}`,
          });
          said = r.State;
          continue;
        }
        case OnChainState.Failed:
          log.warn({ what }, `${what} failed on chain${desc}; resubmitting`);
          await this.sleep(this.deps.resubmitWaitMs ?? 30_000);
          return resubmit;
        case OnChainState.ShouldAbort:
          throw abort(`${what} can never land${desc}`);
        default:
          throw perm(`${what}: on-chain state ${ON_CHAIN_STATE_NAMES[r.State] ?? r.State}${desc}`);
      }
    }
  }

  private waitPreCommit(doc: SectorDoc): Promise<Event> {
    const { sid } = this.ctx(doc);
    return this.pollLanded(
      doc,
      'PreCommit',
      () => this.call('PollPreCommitState', sid),
      ev('CheckPC'),
      ev('ReSubmitPC', (d) => {
        d.phases.pc2_re_submit = true;
      }),
    );
  }

  private async persist(doc: SectorDoc): Promise<Event> {
    const { sid, proof, paths } = this.ctx(doc);
    const GiB = 1 << 30;
    const required = proof.sectorSize < 32 * GiB ? 2 * proof.sectorSize : Math.ceil(1.02 * proof.sectorSize);
    const candidates = this.deps.persistStores.filter((s) => !s.readonly);
    if (!candidates.length) throw perm('no writable persist store: configure [remote] path or [[attached]]');
    const info = await this.reserveSpace(doc, sid, required, candidates);
    const store = attachedStore(candidates, info);
    if (!store) {
      throw perm(`the manager reserved space in "${info.Name}" (${info.Path}), which this worker does not attach`);
    }
    try {
      await checkPersistStore(store.location);
    } catch (err) {
      throw perm(`persist to "${store.name}": ${(err as Error).message}`);
    }
    const rel = persistedPaths(paths.name);
    const files = [P_AUX_FILE, T_AUX_FILE, ...treeRLastFileNames(proof)];
    const routes = [
      {
        src: { store_name: null, uri: paths.sealed },
        dest: { store_name: store.name, uri: join(store.location, rel.sealed) },
        opt: null,
      },
      ...files.map((f) => ({
        src: { store_name: null, uri: join(paths.cache, f) },
        dest: { store_name: store.name, uri: join(store.location, rel.cache, f) },
        opt: null,
      })),
    ];
    const want = await Promise.all(routes.map(async (r) => (await stat(r.src.uri)).size));
    try {
      await this.limited('transfer', () =>
        this.deps.sealer.run(
          'transfer',
          { stores: { [store.name]: { name: store.name, meta: null } }, routes },
          this.signal,
        ),
      );
      // verify what landed, whoever copied it
      for (const [i, r] of routes.entries()) {
        const got = (await stat(r.dest.uri)).size;
        if (got !== want[i]) throw new Error(`${r.dest.uri} has ${got} bytes, ${want[i]} expected`);
      }
    } catch (err) {
      if (err instanceof Failure && err.level === 'temporary') throw err;
      throw perm(`persist to "${store.name}" (${store.location}): ${(err as Error).message}`, err);
    }
    // the manager's name for the store: SubmitPersisted and Window PoSt find the files by it
    return ev('Persist', (d) => {
      d.phases.persist_instance = info.Name;
    });
  }

  /**
   * StoreReserveSpace until a store has room. No room is a wait (logged once); a refusal of the stores this
   * worker offers is a config mismatch, logged once at ERROR with the keys to set, then retried quietly (an
   * operator may fix either side without restarting this worker).
   */
  private async reserveSpace(
    doc: SectorDoc,
    sid: SectorID,
    required: number,
    candidates: PersistStoreConfig[],
  ): Promise<StoreBasicInfo> {
    const max = this.cfg.sealing.rpcPollingIntervalMs;
    const backoff = new Backoff(max);
    let said: string | null = null;
    for (;;) {
      let info: StoreBasicInfo | null;
      try {
        info = await this.deps.manager.StoreReserveSpace(
          sid,
          required,
          candidates.map((s) => s.name),
        );
      } catch (err) {
        if (!isStoreRefusal(err)) throw classify(err, 'Venus.StoreReserveSpace');
        const line = refusalLine(err);
        let seen = refusalsSaid.get(this.deps);
        if (!seen) refusalsSaid.set(this.deps, (seen = new Set()));
        if (!seen.has(line)) {
          seen.add(line);
          log.error({ thread: this.index, sector: this.sectorName(doc) }, line);
        }
        this.lastError = line;
        await this.waitFor(doc, {
          what: 'the manager refuses the persist stores offered; asking again',
          label: 'persist store refused',
          ms: backoff.next(),
          first: false,
          why: '',
        });
        said = 'refused';
        continue;
      }
      if (info) {
        if (said === 'refused') this.lastError = null;
        return info;
      }
      await this.waitFor(doc, {
        what: `no persist store has room for ${required} bytes yet; waiting`,
        label: 'persist store room',
        ms: backoff.next(),
        first: said !== 'room',
        why: `checks back off up to ${bound('rpc_polling_interval', max)}`,
      });
      said = 'room';
    }
  }

  private async submitPersisted(doc: SectorDoc): Promise<Event> {
    const { sid } = this.ctx(doc);
    const instance = this.required(doc.phases.persist_instance, 'persist_instance', doc);
    const ok = await this.call('SubmitPersistedEx', sid, instance, false);
    if (!ok) throw perm(`the manager cannot use the files persisted in "${instance}"`);
    return ev('SubmitPersistance');
  }

  private async waitSeed(doc: SectorDoc): Promise<Event> {
    const { sid, allocated } = this.ctx(doc);
    let first = true;
    for (;;) {
      const r = await this.call('WaitSeed', sid, allocated.ProofType);
      if (r.Seed) {
        const seed = r.Seed;
        return ev('AssignSeed', (d) => {
          d.phases.seed = seed;
        });
      }
      if (!r.ShouldWait) throw temp('Venus.WaitSeed: no seed and no reason to wait');
      const ms = r.Delay > 0 ? r.Delay * 1000 : this.cfg.sealing.rpcPollingIntervalMs;
      await this.waitFor(doc, {
        what: 'waiting for the seed (the PreCommit challenge delay)',
        label: 'seed',
        ms,
        first,
        why: r.Delay > 0 ? "the manager's estimate" : bound('rpc_polling_interval', ms),
      });
      first = false;
    }
  }

  private async c1(doc: SectorDoc): Promise<Event> {
    const { sid, proof, paths, proverId } = this.ctx(doc);
    const pc2out = this.required(doc.phases.pc2out, 'pc2out', doc);
    const out = await this.run('c1', {
      registered_proof: proof.id,
      cache_path: paths.cache,
      replica_path: paths.sealed,
      prover_id: proverId,
      sector_id: sid.Number,
      ticket: fr32Randomness(this.required(doc.phases.ticket, 'ticket', doc).Ticket),
      seed: fr32Randomness(this.required(doc.phases.seed, 'seed', doc).Seed),
      piece_infos: this.required(doc.phases.pieces, 'pieces', doc),
      comm_r: pc2out.comm_r,
      comm_d: pc2out.comm_d,
    });
    return ev('C1', (d) => {
      d.phases.c1out = out;
    });
  }

  private async c2(doc: SectorDoc): Promise<Event> {
    const { sid, proof, proverId } = this.ctx(doc);
    const out = await this.run('c2', {
      registered_proof: proof.id,
      c1out: this.required(doc.phases.c1out, 'c1out', doc),
      prover_id: proverId,
      sector_id: sid.Number,
      miner_id: sid.Miner,
    });
    // kept as base64, what SubmitProof carries, whichever form the processor answered in
    const bytes = bytesFromOutput(out?.proof, 'c2 output.proof');
    if (bytes.length === 0) throw new Error('c2 returned an empty proof');
    return ev('C2', (d) => {
      d.phases.c2out = { proof: Buffer.from(bytes).toString('base64') };
    });
  }

  private async submitProof(doc: SectorDoc): Promise<Event> {
    const { sid } = this.ctx(doc);
    const out = this.required(doc.phases.c2out, 'c2out', doc);
    const proof = Buffer.from(bytesFromOutput(out.proof, 'c2 output.proof')).toString('base64');
    const r = await this.call('SubmitProof', sid, { Proof: proof }, doc.phases.c2_re_submit);
    this.submitted('proof', r);
    return ev('SubmitProof', (d) => {
      d.phases.c2_re_submit = false;
    });
  }

  private async waitProof(doc: SectorDoc): Promise<Event> {
    const { sid, paths } = this.ctx(doc);
    if (!this.cfg.sealing.ignoreProofCheck) {
      const e = await this.pollLanded(
        doc,
        'ProveCommit',
        () => this.call('PollProofState', sid),
        ev('Finish'),
        ev('ReSubmitProof', (d) => {
          d.phases.c2_re_submit = true;
        }),
      );
      if (e.name !== 'Finish') return e;
    }
    // clear_cache: the layers, tree-c and tree-d are not needed any more
    try {
      for (const f of await readdir(paths.cache)) {
        if (f.includes('layer') || f.includes('tree-c') || f.includes('tree-d')) await rm(join(paths.cache, f));
      }
    } catch (err) {
      throw temp(`clear cache ${paths.cache}: ${(err as Error).message}`, err);
    }
    return ev('Finish');
  }

  private async finish(doc: SectorDoc): Promise<null> {
    const { sid, paths } = this.ctx(doc);
    await this.call('ReportFinalized', sid);
    await this.finalize();
    log.info({ thread: this.index, sector: paths.name }, 'sector finished');
    return null;
  }
}
