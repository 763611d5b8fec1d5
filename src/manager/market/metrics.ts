/**
 * The deal series of the sector-manager (on the process registry of common/metrics.ts, so /metrics shows them):
 *
 *   venus_deals_assigned_total{kind}            deals the market assigned to sectors (kind: market | ddo)
 *   venus_deals_released_total{kind}            deals handed back to the market (aborted sectors, refused deals)
 *   venus_deals_failures_total{step,reason}     step: assign | release | seal; reason: unreachable | refused |
 *                                               invalid | start_passed | end_too_far | other_provider
 *   venus_deals_release_pending                 releases written but not yet taken by the market
 *
 * Labels are fixed sets, never a deal id, piece or miner.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { metrics } from '../../common/metrics.js';
import type { DealKind } from './store.js';

export type DealFailureStep = 'assign' | 'release' | 'seal';
export type DealFailureReason =
  | 'unreachable'
  | 'refused'
  | 'invalid'
  | 'start_passed'
  | 'end_too_far'
  | 'other_provider';

export class DealMetrics {
  readonly assigned: Counter<'kind'>;
  readonly released: Counter<'kind'>;
  readonly failures: Counter<'step' | 'reason'>;
  readonly pending: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.assigned = new Counter({
      name: 'venus_deals_assigned_total',
      help: 'Deals the market assigned to sectors',
      labelNames: ['kind'],
      registers,
    });
    this.released = new Counter({
      name: 'venus_deals_released_total',
      help: 'Deals handed back to the market (aborted sectors, refused deals)',
      labelNames: ['kind'],
      registers,
    });
    this.failures = new Counter({
      name: 'venus_deals_failures_total',
      help: 'Deal steps that failed, by step (assign, release, seal) and reason',
      labelNames: ['step', 'reason'],
      registers,
    });
    this.pending = new Gauge({
      name: 'venus_deals_release_pending',
      help: 'Deal releases written but not yet taken by the market (retried)',
      registers,
    });
  }

  assignedDeal(kind: DealKind, n = 1): void {
    if (n > 0) this.assigned.inc({ kind }, n);
  }
  releasedDeal(kind: DealKind, n = 1): void {
    if (n > 0) this.released.inc({ kind }, n);
  }
  failed(step: DealFailureStep, reason: DealFailureReason, n = 1): void {
    if (n > 0) this.failures.inc({ step, reason }, n);
  }
}

const perRegistry = new WeakMap<Registry, DealMetrics>();

/** The deal series on a registry (default: the process's), registered once. */
export function dealMetrics(registry: Registry = metrics().registry): DealMetrics {
  let m = perRegistry.get(registry);
  if (!m) {
    m = new DealMetrics(registry);
    perRegistry.set(registry, m);
  }
  return m;
}
