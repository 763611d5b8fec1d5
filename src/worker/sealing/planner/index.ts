/**
 * The plans a sealing thread runs (`[[sealing_thread]] plan`, damocles' planners): each one's handlers, transitions
 * and stage names. A sector keeps the plan it started with (its document's `plan`), so a thread whose plan was changed
 * finishes the sector it has first.
 */
import type { SealingThreadConfig } from '../../config.js';
import type { PlanName, SectorDoc } from '../sector.js';
import { type EventName, STAGE_OF, type State, plan as sealerNext } from '../states.js';
import type { Event, StepHost } from './common.js';
import * as rebuild from './rebuild.js';
import * as sealer from './sealer.js';

export interface Planner {
  exec(t: StepHost, doc: SectorDoc): Promise<Event | null>;
  /** The next state, or an error naming the impossible pair. */
  next(event: EventName, state: State): State;
  /** The work that runs in a state (`worker list`, failure messages). */
  stage(state: State): string;
}

export const PLANNERS: Record<PlanName, Planner> = {
  sealer: { exec: sealer.exec, next: sealerNext, stage: (s) => STAGE_OF[s] },
  rebuild: { exec: rebuild.exec, next: rebuild.next, stage: rebuild.stage },
};

/** The planner of a sector: the thread's for a new one, the document's once it started. */
export function plannerOf(doc: SectorDoc, cfg: SealingThreadConfig): Planner {
  return PLANNERS[doc.state === 'Empty' ? cfg.plan : doc.plan];
}
