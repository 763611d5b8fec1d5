/**
 * Stage processors: every sealing stage runs in-process (builtin) or in external sub-processes speaking the
 * external processor protocol (docs/spec/processor-protocol.md). The sealing thread only sees `Sealer.run(stage,
 * task)`.
 */

import { ExternalPool, ExternalSub, Semaphore, type SubSpawn } from '../../common/extproc/index.js';
import { logger } from '../../common/log.js';
import type { ProcessorStage, WorkerConfig } from '../config.js';
import { BUILTIN } from './builtin.js';
import { Pc1Batcher } from './pc1-batch.js';
import type { OutputOf, Stage, TaskOf } from './tasks.js';

// the transport lives in common/extproc (the sector-manager's ext-prover uses it too)
export {
  cgroupRoot,
  ExternalPool,
  ExternalSub,
  type ExternalSubOptions,
  isCpuList,
  type PinResult,
  ProcessorExitedError,
  type ProcessorRequest,
  type ProcessorResponse,
  ProcessorTaskError,
  ProcessorTimeoutError,
  parseResponse,
  pinToCpuset,
  readyLine,
  Semaphore,
  type SubSpawn,
} from '../../common/extproc/index.js';
export { BUILTIN, StageNotAvailableError } from './builtin.js';
export { Pc1Batcher, preparePC1 } from './pc1-batch.js';
export { serveProcessor, type TaskHandler } from './serve.js';
export * from './tasks.js';

const log = logger('processor');

/** What the sealing thread calls for each stage's computation. */
export interface Sealer {
  run<S extends Stage>(stage: S, task: TaskOf<S>, signal?: AbortSignal): Promise<OutputOf<S>>;
  /** Where a stage runs, for logs and `worker list`. */
  where(stage: Stage): 'builtin' | 'external';
  stop(): Promise<void>;
}

/** How this program starts itself as `venus-worker processor <stage>` (works under tsx and from dist/). */
export function selfProcessorSpawn(stage: string): SubSpawn {
  return { bin: process.execPath, args: [...process.execArgv, process.argv[1]!, 'processor', stage] };
}

export interface StageRunnerOptions {
  /** How to start a sub that has no `bin` (default: this program's `processor <stage>`). */
  defaultSpawn?: (stage: string) => SubSpawn;
  restartDelayMs?: number;
  cgroupRoot?: string;
  /** In-process implementations (tests may wrap them). */
  builtin?: typeof BUILTIN;
  /** The batch PC1 gatherer, when `[processors.pc1] batch` is set (default: one made from the config). */
  pc1Batcher?: Pc1Batcher;
  /** The environment subs inherit, asked at each spawn (default: this process's, as it was at start). */
  baseEnv?: () => NodeJS.ProcessEnv;
}

/** Runs each stage in-process or through its external pool, as configured. */
export class StageRunner implements Sealer {
  private constructor(
    private readonly pools: Map<Stage, ExternalPool>,
    private readonly builtin: typeof BUILTIN,
    /** Batch PC1: the sealing threads' PC1 tasks are gathered and labeled together (docs/pc1-batch.md). */
    readonly pc1Batcher: Pc1Batcher | null,
  ) {}

  /** Builds the pools of the configured stages and starts their subs (each must print its ready line). */
  static async create(
    cfg: Pick<WorkerConfig, 'processors' | 'extLocks'> & Partial<Pick<WorkerConfig, 'pc1Batch'>>,
    opts: StageRunnerOptions = {},
  ): Promise<StageRunner> {
    const locks = new Map(Object.entries(cfg.extLocks).map(([k, n]) => [k, new Semaphore(n)]));
    const pools = new Map<Stage, ExternalPool>();
    if (cfg.pc1Batch && cfg.processors.pc1?.length) {
      throw new Error('batch PC1 runs in the worker process: it cannot be combined with external PC1 processors');
    }
    const batcher = cfg.pc1Batch ? (opts.pc1Batcher ?? new Pc1Batcher(cfg.pc1Batch)) : null;
    if (batcher) log.info({ batch: batcher.config.batch, gatherMs: batcher.config.gatherMs }, 'batch PC1 enabled');
    const runner = new StageRunner(pools, opts.builtin ?? BUILTIN, batcher);
    for (const [stage, subs] of Object.entries(cfg.processors) as [
      ProcessorStage,
      NonNullable<WorkerConfig['processors'][ProcessorStage]>,
    ][]) {
      const made = subs.map(
        (s, index) =>
          new ExternalSub({
            stage,
            index,
            spawn: s.bin
              ? { bin: s.bin, args: s.args ?? ['processor', stage] }
              : (opts.defaultSpawn ?? selfProcessorSpawn)(stage),
            config: s,
            restartDelayMs: opts.restartDelayMs,
            cgroupRoot: opts.cgroupRoot,
            baseEnv: opts.baseEnv,
          }),
      );
      pools.set(
        stage,
        new ExternalPool(
          stage,
          made,
          locks,
          subs.map((s) => s.locks),
        ),
      );
    }
    try {
      await Promise.all([...pools.values()].map((p) => p.start()));
    } catch (err) {
      await runner.stop();
      throw err;
    }
    for (const [stage, pool] of pools) log.info({ stage, subs: pool.subs.length }, 'external processors ready');
    return runner;
  }

  where(stage: Stage): 'builtin' | 'external' {
    return this.pools.has(stage) ? 'external' : 'builtin';
  }

  async run<S extends Stage>(stage: S, task: TaskOf<S>, signal?: AbortSignal): Promise<OutputOf<S>> {
    const pool = this.pools.get(stage);
    if (pool) return (await pool.run(task, signal)) as OutputOf<S>;
    if (stage === 'pc1' && this.pc1Batcher) {
      return (await this.pc1Batcher.submit(task as TaskOf<'pc1'>, signal)) as OutputOf<S>;
    }
    return (this.builtin[stage] as (t: TaskOf<S>) => Promise<OutputOf<S>>)(task);
  }

  async stop(): Promise<void> {
    this.pc1Batcher?.stop();
    await Promise.all([...this.pools.values()].map((p) => p.stop()));
  }
}
