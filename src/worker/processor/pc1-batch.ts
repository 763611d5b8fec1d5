/**
 * Batch PC1 in the worker (`[processors.pc1] batch = K`, `gather_timeout`): sealing threads that reach PC1 hand
 * their task to one Pc1Batcher; it gathers up to K tasks of the same proof type and labels them together
 * (labelSectorsBatch: one parent walk, the sectors' hashes interleaved on one core), then hands each thread its
 * own output. The first task of a batch waits at most `gather_timeout` for others, so a lone sector is not held.
 * A failure of one sector's inputs (bad ticket, missing TreeD, unwritable cache dir) fails that thread only.
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
  MAX_BATCH_SECTORS,
  SdrGraph,
  sealProof,
  treeDPath,
} from '../../proofs/index.js';
import type { BuiltinPC1Output } from './builtin.js';
import type { PC1Task } from './tasks.js';
import { fromJson32, toJson32 } from './tasks.js';

const log = logger('pc1-batch');

export interface Pc1BatchConfig {
  /** Sectors labeled together, 1…64. */
  batch: number;
  /** How long the first task of a batch waits for others, ms. */
  gatherMs: number;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)$/;

/**
 * `[processors.pc1]` batch keys: `batch = K` (integer 1…64) and `gather_timeout` ("30s", "500ms", "2m"; default
 * "60s"). Null when `batch` is absent or 1 (one sector per thread, as before).
 */
export function parsePc1BatchConfig(section: Record<string, unknown> | undefined): Pc1BatchConfig | null {
  const b = section?.batch;
  if (b === undefined) return null;
  if (typeof b !== 'number' || !Number.isInteger(b) || b < 1 || b > MAX_BATCH_SECTORS)
    throw new Error(`[processors.pc1] batch must be an integer from 1 to ${MAX_BATCH_SECTORS}, got ${String(b)}`);
  const g = section?.gather_timeout ?? '60s';
  const m = typeof g === 'string' ? DURATION.exec(g) : null;
  if (!m) throw new Error(`[processors.pc1] gather_timeout must be a duration like "30s" or "500ms", got ${String(g)}`);
  const gatherMs = Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 's' ? 1000 : 60000);
  if (gatherMs > 3600_000) throw new Error('[processors.pc1] gather_timeout must be at most 1h');
  return b === 1 ? null : { batch: b, gatherMs };
}

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
}

export interface Pc1BatcherDeps {
  prepare?: (t: PC1Task) => Promise<PreparedPC1>;
  label?: (o: LabelBatchOptions) => Promise<LabelBatchResult>;
  parentCache?: (g: SdrGraph) => Promise<string>;
}

export class Pc1Batcher {
  private readonly groups = new Map<number, { waiting: Waiting[]; timer: NodeJS.Timeout | null }>();
  private readonly prepare: (t: PC1Task) => Promise<PreparedPC1>;
  private readonly label: (o: LabelBatchOptions) => Promise<LabelBatchResult>;
  private readonly parentCache: (g: SdrGraph) => Promise<string>;

  constructor(
    readonly config: Pc1BatchConfig,
    deps: Pc1BatcherDeps = {},
  ) {
    this.prepare = deps.prepare ?? preparePC1;
    this.label = deps.label ?? labelSectorsBatch;
    this.parentCache = deps.parentCache ?? ((g) => ensureParentCache(g));
  }

  /** Labels this task's sector, with up to batch − 1 others of the same proof type; resolves to its PC1 output. */
  async submit(task: PC1Task): Promise<BuiltinPC1Output> {
    const prep = await this.prepare(task); // a bad input fails this thread before it joins a batch
    return new Promise((resolve, reject) => {
      const key = task.registered_proof;
      let g = this.groups.get(key);
      if (!g) {
        g = { waiting: [], timer: null };
        this.groups.set(key, g);
      }
      g.waiting.push({ task, prep, resolve, reject });
      if (g.waiting.length >= this.config.batch) this.flush(key);
      else g.timer ??= setTimeout(() => this.flush(key), this.config.gatherMs);
    });
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
    if (g.waiting.length) g.timer = setTimeout(() => this.flush(key), this.config.gatherMs);
    else this.groups.delete(key);
    if (batch.length) void this.run(key, batch);
  }

  private async run(key: number, batch: Waiting[]): Promise<void> {
    const proof = sealProof(key);
    log.info({ sectors: batch.map((w) => w.task.sector_id), proof: proof.id }, 'batch PC1 starts');
    try {
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
            registered_proof: proof.id,
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
      const err = e instanceof Error ? e : new Error(String(e));
      log.error({ sectors: batch.map((w) => w.task.sector_id), err: err.message }, 'batch PC1 failed');
      for (const w of batch) w.reject(err);
    }
  }
}
