/**
 * `[limit]` / `[processors.limitation]`: per-stage counting semaphores shared by all sealing threads, with an
 * optional staggered start (minimum time between two starts of one stage). A thread blocked here shows as
 * Waiting in `worker list`.
 */
import type { LimitStage, WorkerConfig } from '../config.js';
import { Semaphore } from '../processor/index.js';

export interface StageToken {
  release(): void;
}

export class StageLimits {
  private sems = new Map<string, Semaphore>();
  private nextStart = new Map<string, number>();

  constructor(
    private readonly limits: WorkerConfig['limits'] = { concurrent: {}, staggeredMs: {} },
    private readonly now: () => number = Date.now,
  ) {
    for (const [stage, n] of Object.entries(limits.concurrent)) {
      if (n !== undefined && n > 0) this.sems.set(stage, new Semaphore(n));
    }
  }

  /** Free slots of a limited stage (undefined when unlimited). */
  available(stage: LimitStage): number | undefined {
    return this.sems.get(stage)?.available;
  }

  /**
   * Waits for a slot of `stage`. `onWait` is called once if the caller has to wait (to show Waiting).
   * A stage with limit 0 or no limit never waits for a slot.
   */
  async acquire(stage: LimitStage, signal?: AbortSignal, onWait?: () => void): Promise<StageToken> {
    const sem = this.sems.get(stage);
    if (sem && !sem.tryAcquire()) {
      onWait?.();
      await sem.acquire(signal);
    }
    try {
      await this.stagger(stage, signal, onWait);
    } catch (err) {
      sem?.release();
      throw err;
    }
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        sem?.release();
      },
    };
  }

  private async stagger(stage: LimitStage, signal?: AbortSignal, onWait?: () => void): Promise<void> {
    const gap = this.limits.staggeredMs[stage];
    if (!gap) return;
    const now = this.now();
    const at = Math.max(now, this.nextStart.get(stage) ?? 0);
    this.nextStart.set(stage, at + gap);
    if (at > now) {
      onWait?.();
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, at - now);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(t);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    }
  }
}
