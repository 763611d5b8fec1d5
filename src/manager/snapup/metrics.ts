/**
 * The snapup series of the sector-manager (on the process registry of common/metrics.ts, so /metrics shows them):
 *
 *   venus_snapup_steps_total{step}          upgrades reaching a step: allocated | submitted | sent | landed |
 *                                           finalized | aborted
 *   venus_snapup_failures_total{reason}     rejected (SubmitSnapUpProof) | step_error (a committer step failed,
 *                                           retried) | resend (out of gas / funds) | failed (refused for good)
 *
 * Labels are fixed sets, never a sector or miner.
 */
import { Counter, type Registry } from 'prom-client';
import { metrics } from '../../common/metrics.js';

export type SnapStep = 'allocated' | 'submitted' | 'sent' | 'landed' | 'finalized' | 'aborted';
export type SnapFailure = 'rejected' | 'step_error' | 'resend' | 'failed';

export class SnapMetrics {
  readonly steps: Counter<'step'>;
  readonly failures: Counter<'reason'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.steps = new Counter({
      name: 'venus_snapup_steps_total',
      help: 'SnapUp upgrades reaching a step (allocated, submitted, sent, landed, finalized, aborted)',
      labelNames: ['step'],
      registers,
    });
    this.failures = new Counter({
      name: 'venus_snapup_failures_total',
      help: 'SnapUp failures by reason (rejected, step_error, resend, failed)',
      labelNames: ['reason'],
      registers,
    });
  }

  step(step: SnapStep): void {
    this.steps.inc({ step });
  }

  failed(reason: SnapFailure): void {
    this.failures.inc({ reason });
  }
}

const perRegistry = new WeakMap<Registry, SnapMetrics>();

/** The snapup series on a registry (default: the process's), registered once. */
export function snapMetrics(registry: Registry = metrics().registry): SnapMetrics {
  let m = perRegistry.get(registry);
  if (!m) {
    m = new SnapMetrics(registry);
    perRegistry.set(registry, m);
  }
  return m;
}
