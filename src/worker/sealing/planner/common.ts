/**
 * What the sealer plan's steps share (docs/spec/sealer-api.md §States and events): the host a step runs in (the
 * sealing thread, which owns the display state and the waits), the event a step yields, and the helpers for the
 * steps — the sector's context, stage limits, manager calls and on-chain polling (persisting to a store is
 * planner/persist.ts; deal pieces are fetched by src/worker/pieces).
 */
import { access } from 'node:fs/promises';
import {
  type AllocatedSector,
  type AllocateSectorSpec,
  ON_CHAIN_STATE_NAMES,
  OnChainState,
  type SealerAPI,
  type SectorID,
  SUBMIT_RESULT_NAMES,
  type SubmitResp,
  SubmitResult,
} from '../../../api/sealer.js';
import { logger } from '../../../common/log.js';
import { metrics } from '../../../common/metrics.js';
import { randomnessToFr32 } from '../../../fil/index.js';
import { sealProof } from '../../../proofs/index.js';
import type { ApiClient } from '../../../rpc/index.js';
import type { LimitStage, PersistStoreConfig, SealingThreadConfig } from '../../config.js';
import type { Sealer, Stage, TaskOf } from '../../processor/index.js';
import { type SealStore, type SectorPaths, sectorIdProblem } from '../../store.js';
import { abort, classify, Interrupted, perm, prefixed } from '../failure.js';
import type { StageLimits } from '../limits.js';
import type { SectorDoc } from '../sector.js';
import type { EventName, State } from '../states.js';
import { Backoff, bound } from '../waits.js';

const log = logger('sealing');

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
  /** The headers sent to the manager (its Authorization): also sent to its piece store. */
  managerHeaders?: Record<string, string>;
  localPiecesDirs: string[];
  /** Sector size → static CC tree_d file. */
  staticTreeD: Record<number, string>;
  /** Wait before resubmitting after OnChainState Failed (damocles: 30 s). */
  resubmitWaitMs?: number;
}

export interface Event {
  name: EventName;
  /** SetState's target. */
  state?: State;
  apply?: (doc: SectorDoc) => void;
}

export const ev = (name: EventName, apply?: (doc: SectorDoc) => void): Event => ({ name, apply });

/** What a step sees of the sealing thread it runs in. */
export interface StepHost {
  readonly index: number;
  readonly cfg: SealingThreadConfig;
  readonly deps: ThreadDeps;
  readonly store: SealStore;
  /** Aborted on pause or stop: waits and computations end early. */
  readonly signal: AbortSignal;
  /** The thread's current sector document (stage metrics are labelled by its sector size). */
  readonly doc: SectorDoc | null;
  /** What `worker list` shows as the thread's last error. */
  lastError: string | null;
  setState(s: 'Running' | 'Waiting', proc?: string | null, keepSince?: boolean): void;
  sleep(ms: number): Promise<void>;
  /** A named wait, shown in `worker list` and logged (docs/worker-waits.md). */
  waitFor(doc: SectorDoc, w: { what: string; label: string; ms: number; first: boolean; why: string }): Promise<void>;
  sectorName(doc: SectorDoc): string | undefined;
  /** Wipes the sector's data and document once it is done. */
  finalize(): Promise<void>;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

export function sameBytes(a: number[] | Uint8Array, b: number[] | Uint8Array): boolean {
  return a.length === b.length && Array.from(a).every((x, i) => x === b[i]);
}

/**
 * Chain randomness (base64) as the prover takes it: the top two bits of the last byte cleared so it is a
 * field element, as Lotus does with tickets and seeds (idempotent when the manager already did it).
 */
export function fr32Randomness(b64: string): number[] {
  const b = Buffer.from(b64, 'base64');
  if (b.length !== 32) throw perm(`randomness of ${b.length} bytes from the manager (32 expected)`);
  return Array.from(randomnessToFr32(b));
}

export function hex(b: number[] | Uint8Array): string {
  return Buffer.from(Uint8Array.from(b)).toString('hex');
}

/** Runs `fn` under the stage's [limit] slot; Waiting while queued, Running with the stage as proc. */
export async function limited<T>(t: StepHost, stage: LimitStage, fn: () => Promise<T>): Promise<T> {
  const token = await t.deps.limits.acquire(stage, t.signal, () => t.setState('Waiting', stage));
  t.setState('Running', stage);
  // time the computation only (not the wait for the slot), per sector size, as damocles' stage metrics do
  const size = t.doc?.base ? sealProof(t.doc.base.allocated.ProofType).sectorSize : 'unknown';
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
    t.setState('Running');
  }
}

export function run<S extends Stage & LimitStage>(t: StepHost, stage: S, task: TaskOf<S>) {
  return limited(t, stage, () => t.deps.sealer.run(stage, task, t.signal));
}

/** A manager call whose errors name the method (classified later: RPC errors are temporary, 11001 abort). */
export async function call<K extends keyof SealerClient>(
  t: StepHost,
  name: K,
  ...args: Parameters<SealerClient[K]>
): Promise<Awaited<ReturnType<SealerClient[K]>>> {
  try {
    return await (t.deps.manager[name] as (...a: unknown[]) => Promise<Awaited<ReturnType<SealerClient[K]>>>)(...args);
  } catch (err) {
    throw classify(err, `Venus.${String(name)}`);
  }
}

export function ctx(t: StepHost, doc: SectorDoc) {
  if (!doc.base) throw abort(`state ${doc.state} without an allocated sector in the document`);
  const allocated: AllocatedSector = doc.base.allocated;
  const sid: SectorID = allocated.ID;
  const proof = sealProof(allocated.ProofType);
  const paths: SectorPaths = t.store.sector(sid.Miner, sid.Number);
  return { allocated, sid, proof, paths, proverId: doc.base.prover_id };
}

export function required<T>(v: T | null | undefined, field: string, doc: SectorDoc): T {
  // damocles' field_required!: a state without what it needs cannot continue
  if (v === null || v === undefined) throw abort(`${field} is missing in state ${doc.state}`);
  return v;
}

/** SubmitResult → proceed or the failure the original gives (docs/spec/sealer-api.md §Result enums). */
export function submitted(what: string, r: SubmitResp): void {
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

/**
 * Polls an on-chain state until it lands, quickly at first and backing off to rpc_polling_interval;
 * Failed resubmits after a wait (docs/spec/sealer-api.md §Result enums).
 */
export async function pollLanded(
  t: StepHost,
  doc: SectorDoc,
  what: string,
  poll: () => Promise<{ State: number; Desc: string | null }>,
  landed: Event,
  resubmit: Event,
): Promise<Event> {
  const max = t.cfg.sealing.rpcPollingIntervalMs;
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
        await t.waitFor(doc, {
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
        await t.sleep(t.deps.resubmitWaitMs ?? 30_000);
        return resubmit;
      case OnChainState.ShouldAbort:
        throw abort(`${what} can never land${desc}`);
      default:
        throw perm(`${what}: on-chain state ${ON_CHAIN_STATE_NAMES[r.State] ?? r.State}${desc}`);
    }
  }
}

/**
 * What a thread asks a task for: its miners and proofs, and itself (the worker and the seal store), so the manager
 * can hand back a task it gave this store whose answer we never saved.
 */
export function allocateSpec(t: StepHost): AllocateSectorSpec {
  const s = t.cfg.sealing;
  return {
    AllowedMiners: s.allowedMiners,
    AllowedProofTypes: s.allowedProofTypes,
    Worker: { Instance: t.deps.instance, Location: t.cfg.location },
  };
}

/**
 * One request for a task: `ask` calls `Venus.<method>`. An RPC error is "no task yet" (damocles), null, kept in
 * `worker list` as the thread's last error until a call succeeds.
 */
export async function askOnce<T>(t: StepHost, method: string, ask: () => Promise<T | null>): Promise<T | null> {
  const name = `Venus.${method}`;
  try {
    const got = await ask();
    if (t.lastError?.startsWith(name)) t.lastError = null;
    return got;
  } catch (err) {
    t.lastError = prefixed(name, err);
    log.warn({ thread: t.index }, t.lastError);
    return null;
  }
}

/**
 * A sector the manager handed (`what`: "allocated a sector", …) refused as a permanent failure unless its proof
 * is known, its id is two safe integers (paths are built from it) and its miner is one this worker seals for.
 */
export function checkAllocated(a: AllocatedSector, allowedMiners: number[] | null, what: string): void {
  try {
    sealProof(a?.ProofType);
  } catch (err) {
    throw perm(`the manager ${what} with ${(err as Error).message}`);
  }
  const badId = sectorIdProblem(a.ID);
  if (badId) throw perm(`the manager ${what} with an invalid id: ${badId}`);
  if (allowedMiners && !allowedMiners.includes(a.ID.Miner)) {
    throw perm(`the manager ${what} of miner ${a.ID.Miner}, not one of allowed_miners`);
  }
}

/**
 * Asks the manager for a task until it has one this worker runs (askOnce): `take` gives the task's event, or null
 * once it refused the task (and told the manager). The wait is logged once and backs off up to seal_interval.
 */
export async function askForTask<T>(
  t: StepHost,
  doc: SectorDoc,
  o: { method: string; task: string; ask: () => Promise<T | null>; take: (task: T) => Promise<Event | null> },
): Promise<Event> {
  const s = t.cfg.sealing;
  const backoff = new Backoff(s.sealIntervalMs);
  let first = true;
  for (;;) {
    const got = await askOnce(t, o.method, o.ask);
    const event = got ? await o.take(got) : null;
    if (event) return event;
    const ms = backoff.next();
    await t.waitFor(doc, {
      what: `no ${o.task} from the manager yet (Venus.${o.method}); asking again`,
      label: o.task,
      ms,
      first,
      why: `checks back off up to ${bound('seal_interval', s.sealIntervalMs)}`,
    });
    first = false;
  }
}
