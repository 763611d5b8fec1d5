/**
 * How the poster reports a Window PoSt step that failed: an ERROR log with the reason and the fix (at most once a
 * minute for the same miner and cause, so a locked wallet does not flood the log), the failure counter
 * venus_wdpost_failures_total{miner,deadline,reason}, and a failed row with the reason in post_results (through
 * onPoSt, which the daemon wires to the metrics and the database the dashboard reads).
 */
import { logger } from '../../common/log.js';
import { metrics, type ServiceMetrics } from '../../common/metrics.js';
import { minerAddr } from '../chain.js';
import { describeOutcome, type FailureReason, Throttle } from '../commit/outcome.js';

const log = logger('poster');

/** What onPoSt receives (the daemon records it in the metrics and post_results). */
export interface PoStReport {
  miner: string;
  deadline: number;
  ok: boolean;
  epoch: number;
  proven: number;
  faulty: number;
  /** why it failed: "reason: detail (fix)"; absent when ok */
  reason?: string;
}

export interface PoStFailure {
  miner: number;
  deadline: number;
  reason: FailureReason;
  /** what went wrong, in the words of whoever said so (the messager, the prover, the chain) */
  detail: string;
  /** what the operator can do */
  fix?: string;
  epoch: number;
  /** the message, if there is one */
  id?: string;
  partitions?: number[];
  /** epochs left before the deadline closes */
  closesIn?: number;
  /** sectors the failed proof was to prove, and those it skipped */
  proven?: number;
  faulty?: number;
}

export interface ReportOptions {
  /** the log line's message */
  msg: string;
  /** failures with the same key log (and get a post_results row) at most once per period */
  throttleKey: string;
  /** the failure counter goes up once per key (default: every call) */
  countKey?: string;
}

export class PoStFailures {
  private readonly throttle: Throttle;
  private readonly counted = new Set<string>();

  constructor(
    private readonly o: {
      onPoSt?: ((r: PoStReport) => void) | undefined;
      metrics?: Pick<ServiceMetrics, 'postFailed'> | undefined;
      everyMs?: number | undefined;
      now?: (() => number) | undefined;
    } = {},
  ) {
    this.throttle = new Throttle(o.everyMs ?? 60_000, o.now ?? Date.now);
  }

  report(f: PoStFailure, opts: ReportOptions): void {
    if (opts.countKey === undefined || !this.counted.has(opts.countKey)) {
      if (opts.countKey !== undefined) {
        this.counted.add(opts.countKey);
        if (this.counted.size > 10_000) this.counted.clear();
      }
      try {
        (this.o.metrics ?? metrics()).postFailed(f.miner, f.deadline, f.reason);
      } catch {
        // metrics never break proving
      }
    }
    if (!this.throttle.ready(opts.throttleKey)) return;
    log.error(
      {
        miner: String(f.miner),
        deadline: f.deadline,
        reason: f.reason,
        err: f.detail,
        ...(f.fix ? { fix: f.fix } : {}),
        ...(f.id ? { id: f.id } : {}),
        ...(f.partitions ? { partitions: f.partitions } : {}),
        ...(f.closesIn !== undefined ? { closesIn: f.closesIn } : {}),
      },
      opts.msg,
    );
    try {
      this.o.onPoSt?.({
        miner: minerAddr(f.miner),
        deadline: f.deadline,
        ok: false,
        epoch: f.epoch,
        proven: f.proven ?? 0,
        faulty: f.faulty ?? 0,
        reason: describeOutcome(f),
      });
    } catch {
      // metrics never break proving
    }
  }

  /** A cause is gone (the message moved on): the next failure with this key logs at once. */
  clear(throttleKey: string): void {
    this.throttle.forget(throttleKey);
  }
}
