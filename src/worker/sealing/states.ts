/**
 * The sealer plan's states, events and transitions (docs/spec/sealer-api.md §States and events). Each handler runs *in*
 * a state and yields an event; `plan(event, state)` gives the next state. State names are what ReportState and
 * `worker resume -s STATE` carry.
 */

/** damocles' `def_state!` order (the index is the original's on-disk u64). */
export const STATES = [
  'Empty',
  'Allocated',
  'DealsAcquired',
  'PieceAdded',
  'TreeDBuilt',
  'TicketAssigned',
  'PC1Done',
  'PC2Done',
  'SyntheticPoRepNeeded',
  'PCSubmitted',
  'PCLanded',
  'Persisted',
  'PersistanceSubmitted',
  'SeedAssigned',
  'C1Done',
  'C2Done',
  'ProofSubmitted',
  'Finished',
  'Aborted',
  // the unseal plan (damocles' index 25; the snap-up states between are not in this build)
  'Unsealed',
] as const;

/** States only the rebuild plan goes through (damocles' names; planner/rebuild.ts). */
export const REBUILD_STATES = ['SealedChecked', 'SnapDone'] as const;
/** States only the snapup plan goes through (damocles' names; planner/snapup.ts). */
export const SNAPUP_STATES = ['SnapEncoded', 'SnapProved'] as const;
export type State = (typeof STATES)[number] | (typeof REBUILD_STATES)[number] | (typeof SNAPUP_STATES)[number];

/** The sealer plan's main path, from allocation to finished (no Empty, synthetic-PoRep, Aborted or unseal states). */
export const SEALER_PIPELINE: readonly State[] = STATES.filter(
  (s) => s !== 'Empty' && s !== 'SyntheticPoRepNeeded' && s !== 'Aborted' && s !== 'Unsealed',
);

export function isState(s: string): s is State {
  return (
    (STATES as readonly string[]).includes(s) ||
    (REBUILD_STATES as readonly string[]).includes(s) ||
    (SNAPUP_STATES as readonly string[]).includes(s)
  );
}

/** The work that runs while a sector is in a state (`State::stage` for the sealer plan). */
export const STAGE_OF: Record<State, string> = {
  Empty: '-',
  Allocated: 'AcquireDeals',
  DealsAcquired: 'AddPieces',
  PieceAdded: 'TreeD',
  TreeDBuilt: 'AssignTicket',
  TicketAssigned: 'PC1',
  PC1Done: 'PC2',
  SyntheticPoRepNeeded: 'SyntheticPoRep',
  PC2Done: 'SubmitPreCommit',
  PCSubmitted: 'WaitPCLanded',
  PCLanded: 'PersistFiles',
  Persisted: 'SubmitPersisted',
  PersistanceSubmitted: 'WaitSeed',
  SeedAssigned: 'C1',
  C1Done: 'C2',
  C2Done: 'SubmitProof',
  ProofSubmitted: 'WaitProofLanded',
  Finished: '-',
  Aborted: '-',
  Unsealed: 'UploadPiece',
  SealedChecked: 'SkipSnap',
  SnapDone: 'PersistFiles',
  SnapEncoded: 'SnapProve',
  SnapProved: 'PersistFiles',
};

/** Event names as ReportState shows them (the Rust enum's Debug names). */
export type EventName =
  | 'SetState'
  | 'Idle'
  | 'Retry'
  | 'Allocate'
  | 'AcquireDeals'
  | 'AddPiece'
  | 'BuildTreeD'
  | 'AssignTicket'
  | 'PC1'
  | 'PC2'
  | 'SubmitPC'
  | 'CheckPC'
  | 'ReSubmitPC'
  | 'Persist'
  | 'SubmitPersistance'
  | 'AssignSeed'
  | 'C1'
  | 'C2'
  | 'SubmitProof'
  | 'ReSubmitProof'
  | 'Finish'
  // the unseal plan (UnsealDone shows as "Unsealed", as the original's Debug name)
  | 'AllocatedUnsealSector'
  | 'Unsealed'
  | 'UploadPieceDone'
  // the rebuild plan's own
  | 'AllocatedRebuildSector'
  | 'CheckSealed'
  | 'SkipSnap'
  // the snapup plan's own
  | 'AllocatedSnapUpSector'
  | 'SnapEncode'
  | 'SnapProve'
  | 'RePersist';

/** A plan's transitions: (state the handler ran in, event it yielded) → next state. */
export type Transitions = Partial<Record<State, Partial<Record<EventName, State>>>>;

/** Sealer transitions. */
const TRANSITIONS: Transitions = {
  Empty: { Allocate: 'Allocated' },
  Allocated: { AcquireDeals: 'DealsAcquired' },
  DealsAcquired: { AddPiece: 'PieceAdded' },
  PieceAdded: { BuildTreeD: 'TreeDBuilt' },
  TreeDBuilt: { AssignTicket: 'TicketAssigned' },
  TicketAssigned: { PC1: 'PC1Done' },
  PC1Done: { PC2: 'PC2Done' },
  PC2Done: { SubmitPC: 'PCSubmitted' },
  PCSubmitted: { CheckPC: 'PCLanded', ReSubmitPC: 'PC2Done' },
  PCLanded: { Persist: 'Persisted' },
  Persisted: { SubmitPersistance: 'PersistanceSubmitted' },
  PersistanceSubmitted: { AssignSeed: 'SeedAssigned' },
  SeedAssigned: { C1: 'C1Done' },
  C1Done: { C2: 'C2Done' },
  C2Done: { SubmitProof: 'ProofSubmitted' },
  ProofSubmitted: { Finish: 'Finished', ReSubmitProof: 'C2Done' },
};

/**
 * The next state in a plan's table, or an error naming the impossible pair (a bug or a damaged document: critical);
 * the error names any plan but the sealer's.
 */
function transition(table: Transitions, event: EventName, state: State, name?: string): State {
  const next = table[state]?.[event];
  if (!next) throw new Error(`no transition from ${state} on event ${event}${name ? ` in the ${name} plan` : ''}`);
  return next;
}

/** The sealer plan's next state. */
export function plan(event: EventName, state: State): State {
  return transition(TRANSITIONS, event, state);
}

/** Another plan's next state and its stage (what `worker list` shows for a state, `-` where none), from its tables. */
export function planTables(name: string, transitions: Transitions, stages: Partial<Record<State, string>>) {
  return {
    next: (event: EventName, state: State): State => transition(transitions, event, state, name),
    stage: (state: State): string => stages[state] ?? '-',
  };
}
