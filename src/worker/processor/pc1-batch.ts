/**
 * Batch PC1 in the worker (`[processors.pc1] batch = K`, `gather_timeout`): sealing threads that reach PC1 hand
 * their task to one Pc1Batcher; it gathers up to K tasks of the same proof type and labels them together
 * (labelSectorsBatch: one parent walk, the sectors' hashes interleaved on one core), then hands each thread its
 * own output. The first task of a batch waits at most `gather_timeout` for others, so a lone sector is not held.
 * A failure of one sector's inputs (bad ticket, missing TreeD, unwritable cache dir) fails that thread only; a
 * failure of the batch itself (parent cache, kernel) fails every sector of it with that reason.
 *
 * A thread stopped while its task waits to be gathered leaves the batch at once. Once labeling has begun it
 * waits for the batch's end, as a single-sector PC1 would (the other sectors' labels are being computed in the
 * same kernel calls, and its cache directory must not be cleaned under a running write). A worker killed
 * mid-batch resumes each sector at TreeDBuilt: the PC1 step cleans the cache directory and labels again.
 *
 * Memory: K × the single-sector plan (docs/pc1-batch.md).
 */
import { stat } from 'node:fs/promises';
import { logger } from '../../common/log.js';
import {
  computeCommD,
  ensureParentCache,
  generateReplicaId,
  type LabelBatchOptions,
  type LabelBatchResult,
  labelSectorsBatch,
  type PoRepConfig,
  SdrGraph,
  sealProof,
  treeDPath,
} from '../../proofs/index.js';
import type { Pc1BatchConfig } from '../config.js';
import type { BuiltinPC1Output } from './builtin.js';
import type { PC1Task } from './tasks.js';
import { fromJson32, toJson32 } from './tasks.js';

const log = logger('pc1-batch');

/** What PC1 needs of a task before labeling: the replica id and CommD (throws for this task's bad inputs). */
export interface PreparedPC1 {
  replicaId: Uint8Array;
  commD: Uint8Array;
}

/** The same preparation as the single-sector builtin PC1: CommD of the pieces, TreeD present, the replica id. */
export async function preparePC1(t: PC1Task): Promise<PreparedPC1> {
  const proof = sealProof(t.registered_proof);
  const commD = computeCommD(
    proof.sectorSize,
    t.piece_infos.map((p) => ({ size: p.size, commitment: fromJson32(p.commitment, 'piece commitment') })),
  );
  await stat(treeDPath(t.cache_path)).catch(() => {
    throw new Error(`pc1: ${treeDPath(t.cache_path)} is missing (tree_d must run first)`);
  });
  const replicaId = generateReplicaId(
    fromJson32(t.prover_id, 'prover_id'),
    t.sector_id,
    fromJson32(t.ticket, 'ticket'),
    commD,
    proof.porepId,
  );
  return { replicaId, commD };
}

interface Waiting {
  task: PC1Task;
  prep: PreparedPC1;
  resolve: (o: BuiltinPC1Output) => void;
  reject: (e: Error) => void;
  /** Detaches the thread's abort listener (once the task has left the waiting list). */
  detach: () => void;
}

interface Group {
  waiting: Waiting[];
  timer: NodeJS.Timeout | null;
}

export interface Pc1BatcherDeps {
  /** The proof configuration of a registered proof (default: sealProof, the network's porep ids). */
  proofFor?: (registeredProof: number) => PoRepConfig;
  prepare?: (t: PC1Task) => Promise<PreparedPC1>;
  label?: (o: LabelBatchOptions) => Promise<LabelBatchResult>;
  parentCache?: (g: SdrGraph) => Promise<string>;
}

export class Pc1Batcher {
  private readonly groups = new Map<number, Group>();
  private stopped = false;
  private readonly proofFor: (registeredProof: number) => PoRepConfig;
  private readonly prepare: (t: PC1Task) => Promise<PreparedPC1>;
  private readonly label: (o: LabelBatchOptions) => Promise<LabelBatchResult>;
  private readonly parentCache: (g: SdrGraph) => Promise<string>;

  constructor(
    readonly config: Pc1BatchConfig,
    deps: Pc1BatcherDeps = {},
  ) {
    this.proofFor = deps.proofFor ?? sealProof;
    this.prepare = deps.prepare ?? preparePC1;
    this.label = deps.label ?? labelSectorsBatch;
    this.parentCache = deps.parentCache ?? ((g) => ensureParentCache(g));
  }

  /**
   * Labels this task's sector, with up to batch − 1 others of the same proof type; resolves to its PC1 output.
   * `signal` (the sealing thread's) takes the task out while it is still waiting to be gathered.
   */
  async submit(task: PC1Task, signal?: AbortSignal): Promise<BuiltinPC1Output> {
    signal?.throwIfAborted();
    const prep = await this.prepare(task); // a bad input fails this thread before it joins a batch
    signal?.throwIfAborted();
    if (this.stopped) throw new Error('pc1 (batch): the worker is stopping');
    return new Promise((resolve, reject) => {
      const key = task.registered_proof;
      let g = this.groups.get(key);
      if (!g) {
        g = { waiting: [], timer: null };
        this.groups.set(key, g);
      }
      const group = g;
      const onAbort = () => {
        const i = group.waiting.indexOf(w);
        if (i < 0) return; // already labeling: the thread gets the batch's result
        group.waiting.splice(i, 1);
        if (!group.waiting.length) this.drop(key, group);
        log.info({ sector: task.sector_id }, 'batch PC1: a stopped thread left the batch before it started');
        reject(signal?.reason ?? new Error('aborted'));
      };
      const w: Waiting = { task, prep, resolve, reject, detach: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      group.waiting.push(w);
      if (group.waiting.length >= this.config.batch) this.flush(key);
      else group.timer ??= setTimeout(() => this.flush(key), this.config.gatherMs);
    });
  }

  /** Fails the tasks still waiting to be gathered (batches already labeling finish). */
  stop(): void {
    this.stopped = true;
    for (const [key, g] of this.groups) {
      this.drop(key, g);
      for (const w of g.waiting.splice(0)) {
        w.detach();
        w.reject(new Error('pc1 (batch): the worker is stopping'));
      }
    }
  }

  private drop(key: number, g: Group): void {
    if (g.timer) clearTimeout(g.timer);
    g.timer = null;
    if (this.groups.get(key) === g) this.groups.delete(key);
  }

  /** Tasks waiting to be batched, per proof type. */
  pending(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.waiting.length;
    return n;
  }

  private flush(key: number): void {
    const g = this.groups.get(key);
    if (!g) return;
    if (g.timer) clearTimeout(g.timer);
    g.timer = null;
    const batch = g.waiting.splice(0, this.config.batch);
    for (const w of batch) w.detach();
    if (g.waiting.length) g.timer = setTimeout(() => this.flush(key), this.config.gatherMs);
    else this.groups.delete(key);
    if (batch.length) void this.run(key, batch);
  }

  private async run(key: number, batch: Waiting[]): Promise<void> {
    const sectors = batch.map((w) => w.task.sector_id);
    try {
      const proof = this.proofFor(key);
      log.info({ sectors, proof: key }, 'batch PC1 starts');
      const graph = SdrGraph.forConfig(proof);
      const r = await this.label({
        graph,
        layers: proof.layers,
        parentCachePath: await this.parentCache(graph),
        sectors: batch.map((w) => ({ replicaId: w.prep.replicaId, cacheDir: w.task.cache_path })),
        resume: false,
      });
      batch.forEach((w, i) => {
        const s = r.sectors[i];
        if (s?.ok) {
          w.resolve({
            registered_proof: key,
            replica_id: toJson32(w.prep.replicaId),
            comm_d: toJson32(w.prep.commD),
          });
        } else {
          const reason = s ? s.error.message : 'no result';
          log.warn({ sector: w.task.sector_id, err: reason }, 'batch PC1: sector failed');
          w.reject(new Error(`pc1 (batch): ${reason}`));
        }
      });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      log.error({ sectors, err: reason }, 'batch PC1 failed: every sector of the batch fails');
      for (const w of batch) w.reject(new Error(`pc1 (batch of ${batch.length} sectors): ${reason}`));
    }
  }
}
