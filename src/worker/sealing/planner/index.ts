/**
 * The plans a sealing thread runs (`[[sealing_thread]] plan`, damocles' names). A thread runs the plan its
 * config names for each new task; a task already in its document finishes under the plan it started with.
 */
import type { PlanName } from '../../config.js';
import type { SectorDoc } from '../sector.js';
import { type EventName, STAGE_OF, type State, plan as sealerPlan } from '../states.js';
import type { Event, StepHost } from './common.js';
import * as rebuild from './rebuild.js';
import { exec as sealerExec } from './sealer.js';
import * as snapup from './snapup.js';
import * as unseal from './unseal.js';

export interface Planner {
  readonly name: PlanName;
  /** Runs the handler of the document's state. */
  exec(t: StepHost, doc: SectorDoc): Promise<Event | null>;
  /** The next state, or an error naming the impossible pair. */
  plan(event: EventName, state: State): State;
  /** The work shown for a state in `worker list`. */
  stage(state: State): string;
  /** Tells the manager a task is given up (default: Venus.ReportAborted). */
  abandon?(t: StepHost, doc: SectorDoc, reason: string): Promise<void>;
  /**
   * Whether ReportState's Finalized alone drops the task. An unseal task runs on a sector the manager finalized
   * long ago, so only an AbortReason stops it.
   */
  readonly droppedWhenFinalized: boolean;
}

export const PLANNERS: Record<PlanName, Planner> = {
  sealer: {
    name: 'sealer',
    exec: sealerExec,
    plan: sealerPlan,
    stage: (s) => STAGE_OF[s],
    droppedWhenFinalized: true,
  },
  unseal: {
    name: 'unseal',
    exec: unseal.exec,
    plan: unseal.next,
    stage: unseal.stage,
    abandon: unseal.abandon,
    droppedWhenFinalized: false,
  },
  rebuild: {
    name: 'rebuild',
    exec: rebuild.exec,
    plan: rebuild.next,
    stage: rebuild.stage,
    droppedWhenFinalized: true,
  },
  snapup: {
    name: 'snapup',
    exec: snapup.exec,
    plan: snapup.next,
    stage: snapup.stage,
    droppedWhenFinalized: true,
  },
};
