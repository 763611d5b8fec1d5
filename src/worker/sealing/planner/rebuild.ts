/**
 * The rebuild plan (docs/rebuild.md; damocles `planner/rebuild.rs`): a sector whose files were lost is sealed again
 * from what the manager kept — the same ticket, the same pieces (none: committed capacity) — and the comm_r it gives
 * is checked against the chain's sealed CID before the files go back to a persist store. No message is sent: the
 * sector is already on chain. Its states are the sealer plan's names where the work is the same:
 *
 *   Empty →AllocatedRebuildSector→ Allocated →AddPiece→ PieceAdded →BuildTreeD→ TreeDBuilt →PC1→ PC1Done →PC2→
 *   PC2Done →CheckSealed→ SealedChecked →SkipSnap→ SnapDone →Persist→ Persisted →SubmitPersistance→ Finished
 *
 * The steps for pieces, TreeD, PC1, PC2, persisting and finishing are the sealer plan's (planner/sealer.ts), so they
 * have its crash safety: each cleans its outputs, then computes, and its result is saved before the next step.
 */
import type { SectorRebuildInfo } from '../../../api/sealer.js';
import { logger } from '../../../common/log.js';
import { cidToCommR, commRToCid } from '../../../fil/index.js';
import { proverIdFromActorId, sealProof } from '../../../proofs/index.js';
import { toJson32 } from '../../processor/index.js';
import { sectorIdProblem } from '../../store.js';
import { abort, perm, prefixed } from '../failure.js';
import type { SectorDoc } from '../sector.js';
import type { EventName, State } from '../states.js';
import { call, type Event, ev, fr32Randomness, required, type StepHost, sameBytes } from './common.js';
import { addPieces, finish, pc1, pc2, persist, submitPersisted, treeD } from './sealer.js';

const log = logger('sealing');

/** Rebuild transitions: (state the handler ran in, event it yielded) → next state. */
const TRANSITIONS: Partial<Record<State, Partial<Record<EventName, State>>>> = {
  Empty: { AllocatedRebuildSector: 'Allocated' },
  Allocated: { AddPiece: 'PieceAdded' },
  PieceAdded: { BuildTreeD: 'TreeDBuilt' },
  TreeDBuilt: { PC1: 'PC1Done' },
  PC1Done: { PC2: 'PC2Done' },
  PC2Done: { CheckSealed: 'SealedChecked' },
  SealedChecked: { SkipSnap: 'SnapDone' },
  SnapDone: { Persist: 'Persisted' },
  Persisted: { SubmitPersistance: 'Finished' },
};

/** The rebuild plan's main path, from allocation to finished. */
export const REBUILD_PIPELINE: readonly State[] = [
  'Allocated',
  'PieceAdded',
  'TreeDBuilt',
  'PC1Done',
  'PC2Done',
  'SealedChecked',
  'SnapDone',
  'Persisted',
  'Finished',
];

/** The work that runs while a sector of this plan is in a state (what `worker list` shows as its stage). */
const STAGE: Partial<Record<State, string>> = {
  Allocated: 'AddPieces',
  PieceAdded: 'TreeD',
  TreeDBuilt: 'PC1',
  PC1Done: 'PC2',
  PC2Done: 'CheckSealed',
  SealedChecked: 'SkipSnap',
  SnapDone: 'PersistFiles',
  Persisted: 'SubmitPersisted',
};

export function next(event: EventName, state: State): State {
  const n = TRANSITIONS[state]?.[event];
  if (!n) throw new Error(`no transition from ${state} on event ${event} in the rebuild plan`);
  return n;
}

export function stage(state: State): string {
  return STAGE[state] ?? '-';
}

/** Runs the handler of the sector's state. */
export function exec(t: StepHost, doc: SectorDoc): Promise<Event | null> {
  switch (doc.state) {
    case 'Empty':
      return allocate(t);
    case 'Allocated':
      return addPieces(t, doc);
    case 'PieceAdded':
      return treeD(t, doc);
    case 'TreeDBuilt':
      // the ticket is the sector's own, from the allocation: pc1 draws none
      required(doc.phases.ticket, 'ticket', doc);
      return pc1(t, doc);
    case 'PC1Done':
      return pc2(t, doc);
    case 'PC2Done':
      return checkSealed(doc);
    case 'SealedChecked':
      // an upgraded sector would be re-encoded here (snapup); those are refused at allocation for now
      return Promise.resolve(ev('SkipSnap'));
    case 'SnapDone':
      return persist(t, doc);
    case 'Persisted':
      return submitPersisted(t, doc);
    case 'Finished':
      return finish(t, doc);
    case 'Aborted':
      return Promise.reject(abort('sector aborted by the operator'));
    default:
      return Promise.reject(perm(`state ${doc.state} is not handled by the rebuild plan`));
  }
}

/** Why a task cannot be rebuilt by this worker, or null. */
function refusal(info: SectorRebuildInfo): string | null {
  if (info.IsSnapUp) return 'rebuild of an upgraded sector needs the snapup data: not supported yet';
  if (!info.SealedCID)
    return 'the manager sent no SealedCID (a manager without this extension): the rebuilt replica cannot be checked against the chain';
  try {
    cidToCommR(info.SealedCID);
  } catch (err) {
    return `the manager sent a SealedCID that is not a sealed CID: ${(err as Error).message}`;
  }
  try {
    fr32Randomness(info.Ticket?.Ticket);
  } catch (err) {
    return `the manager sent a bad ticket: ${(err as Error).message}`;
  }
  return null;
}

async function allocate(t: StepHost): Promise<Event> {
  const s = t.cfg.sealing;
  let info: SectorRebuildInfo | null;
  try {
    info = await t.deps.manager.AllocateRebuildSector({
      AllowedMiners: s.allowedMiners,
      AllowedProofTypes: s.allowedProofTypes,
      // lets the manager hand back the task it gave this store if we never saved it
      Worker: { Instance: t.deps.instance, Location: t.cfg.location },
    });
  } catch (err) {
    // as AllocateSector: an RPC error here is "no task yet", kept visible in `worker list`
    t.lastError = prefixed('Venus.AllocateRebuildSector', err);
    log.warn({ thread: t.index }, t.lastError);
    return ev('Idle');
  }
  if (t.lastError?.startsWith('Venus.AllocateRebuildSector')) t.lastError = null;
  if (!info) return ev('Idle');
  const a = info.Sector;
  try {
    sealProof(a?.ProofType);
  } catch (err) {
    throw perm(`the manager handed a rebuild of a sector with ${(err as Error).message}`);
  }
  const badId = sectorIdProblem(a.ID);
  if (badId) throw perm(`the manager handed a rebuild of a sector with an invalid id: ${badId}`);
  if (s.allowedMiners && !s.allowedMiners.includes(a.ID.Miner)) {
    throw perm(`the manager handed a rebuild of a sector of miner ${a.ID.Miner}, not one of allowed_miners`);
  }
  const name = `s-t0${a.ID.Miner}-${a.ID.Number}`;
  const why = refusal(info);
  if (why) {
    // nothing local to clean: tell the manager, which ends the task (the operator sees why), and ask for the next
    await call(t, 'ReportAborted', a.ID, why);
    t.lastError = `${name}: ${why}`;
    log.error({ thread: t.index, sector: name }, `rebuild refused: ${why}`);
    return ev('Idle');
  }
  const task = info;
  const commR = cidToCommR(task.SealedCID);
  log.info({ thread: t.index, sector: name, sealedCid: task.SealedCID!['/'] }, 'rebuild task allocated');
  return ev('AllocatedRebuildSector', (d) => {
    d.plan = 'rebuild';
    d.base = { allocated: a, prover_id: toJson32(proverIdFromActorId(a.ID.Miner)) };
    d.deals = task.PiecesV2?.length ? task.PiecesV2 : null;
    d.phases.ticket = task.Ticket;
    d.rebuild = { sealed_cid: task.SealedCID!['/'], comm_r: Array.from(commR) };
  });
}

/** The rebuilt replica must be the one on chain; anything else is not persisted (it would fail every Window PoSt). */
async function checkSealed(doc: SectorDoc): Promise<Event> {
  const out = required(doc.phases.pc2out, 'pc2out', doc);
  const target = required(doc.rebuild, 'rebuild target', doc);
  if (!sameBytes(out.comm_r, target.comm_r)) {
    const got = commRToCid(Uint8Array.from(out.comm_r)).toString();
    throw abort(
      `rebuilt comm_r ${got} differs from the chain's sealed CID ${target.sealed_cid}: not persisted ` +
        '(the ticket, pieces or proof type the manager kept are not what the sector was sealed with)',
    );
  }
  return ev('CheckSealed');
}
