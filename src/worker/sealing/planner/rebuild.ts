/**
 * The rebuild plan (docs/rebuild.md; damocles `planner/rebuild.rs`): a sector whose files were lost is sealed again
 * from what the manager kept — the same ticket, the same pieces (none: committed capacity) — and the comm_r it gives
 * is checked against the chain's sealed CID before the files go back to a persist store. No message is sent: the
 * sector is already on chain. Its states are the sealer plan's names where the work is the same:
 *
 *   Empty →AllocatedRebuildSector→ Allocated →AddPiece→ PieceAdded →BuildTreeD→ TreeDBuilt →PC1→ PC1Done →PC2→
 *   PC2Done →CheckSealed→ SealedChecked →SkipSnap→ SnapDone →Persist→ Persisted →SubmitPersistance→ Finished
 *
 * An upgraded (SnapDeals) sector is the CC sector sealed again (checked against the chain's sector key), then its
 * deal pieces encoded into it in SealedChecked (→SnapEncode→ SnapDone; checked against the chain's sealed CID), and
 * the updated replica persisted as `update/` and `update-cache/` (SubmitPersistedEx with isUpgrade).
 *
 * The steps for pieces, TreeD, PC1, PC2, persisting and finishing are the sealer plan's (planner/sealer.ts), so they
 * have its crash safety: each cleans its outputs, then computes, and its result is saved before the next step.
 */
import { mkdir, rm } from 'node:fs/promises';
import { bytes32FromJson, type SectorRebuildInfo } from '../../../api/sealer.js';
import { logger } from '../../../common/log.js';
import { cidToCommR, commRToCid } from '../../../fil/index.js';
import { encodeInto, proverIdFromActorId } from '../../../proofs/index.js';
import { toJson32 } from '../../processor/index.js';
import { abort, perm } from '../failure.js';
import type { SectorDoc } from '../sector.js';
import { planTables, type State, type Transitions } from '../states.js';
import {
  allocateSpec,
  askOnce,
  call,
  checkAllocated,
  ctx,
  type Event,
  ev,
  fr32Randomness,
  limited,
  required,
  type StepHost,
  sameBytes,
} from './common.js';
import { addPieces, finish, pc1, pc2, persist, submitPersisted, treeD } from './sealer.js';
import { persistUpdate, updatePaths } from './snapup.js';

const log = logger('sealing');

/** Rebuild transitions: (state the handler ran in, event it yielded) → next state. */
const TRANSITIONS: Transitions = {
  Empty: { AllocatedRebuildSector: 'Allocated' },
  Allocated: { AddPiece: 'PieceAdded' },
  PieceAdded: { BuildTreeD: 'TreeDBuilt' },
  TreeDBuilt: { PC1: 'PC1Done' },
  PC1Done: { PC2: 'PC2Done' },
  PC2Done: { CheckSealed: 'SealedChecked' },
  SealedChecked: { SkipSnap: 'SnapDone', SnapEncode: 'SnapDone' },
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

export const { next, stage } = planTables('rebuild', TRANSITIONS, STAGE);

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
      return doc.rebuild?.upgrade ? snapEncodeAgain(t, doc) : Promise.resolve(ev('SkipSnap'));
    case 'SnapDone':
      return doc.rebuild?.upgrade ? persistUpdate(t, doc) : persist(t, doc);
    case 'Persisted':
      return doc.rebuild?.upgrade ? submitPersistedUpdate(t, doc) : submitPersisted(t, doc);
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
  if (info.IsSnapUp) {
    try {
      bytes32FromJson(info.UpgradePublic?.CommR, 'UpgradePublic.CommR');
      cidToCommR(info.UpgradePublic?.SealedCID);
    } catch (err) {
      return `an upgraded sector without its sector key's commitment: ${(err as Error).message}`;
    }
    if (!info.PiecesV2?.some((p) => p?.DealInfo)) return 'an upgraded sector without the deal pieces encoded into it';
  }
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
  const info = await askOnce(t, 'AllocateRebuildSector', () => t.deps.manager.AllocateRebuildSector(allocateSpec(t)));
  if (!info) return ev('Idle');
  const a = info.Sector;
  checkAllocated(a, s.allowedMiners, 'handed a rebuild of a sector');
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
  const pieces = task.PiecesV2?.length ? task.PiecesV2 : null;
  const upgrade = task.IsSnapUp
    ? {
        comm_r_old: Array.from(bytes32FromJson(task.UpgradePublic!.CommR, 'UpgradePublic.CommR')),
        sector_key_cid: task.UpgradePublic!.SealedCID['/'],
        pieces: pieces!,
      }
    : null;
  return ev('AllocatedRebuildSector', (d) => {
    d.plan = 'rebuild';
    d.base = { allocated: a, prover_id: toJson32(proverIdFromActorId(a.ID.Miner)) };
    // an upgraded sector: the CC sector first (no pieces), its deals encoded after
    d.deals = upgrade ? null : pieces;
    d.phases.ticket = task.Ticket;
    d.rebuild = { sealed_cid: task.SealedCID!['/'], comm_r: Array.from(commR), upgrade };
  });
}

/** The rebuilt replica must be the one on chain; anything else is not persisted (it would fail every Window PoSt). */
async function checkSealed(doc: SectorDoc): Promise<Event> {
  const out = required(doc.phases.pc2out, 'pc2out', doc);
  const target = required(doc.rebuild, 'rebuild target', doc);
  // an upgraded sector: the CC replica sealed again is the sector key
  const [want, wantCid, what] = target.upgrade
    ? [target.upgrade.comm_r_old, target.upgrade.sector_key_cid, 'sector key']
    : [target.comm_r, target.sealed_cid, 'sealed CID'];
  if (!sameBytes(out.comm_r, want)) {
    const got = commRToCid(Uint8Array.from(out.comm_r)).toString();
    throw abort(
      `rebuilt comm_r ${got} differs from the chain's ${what} ${wantCid}: not persisted ` +
        '(the ticket, pieces or proof type the manager kept are not what the sector was sealed with)',
    );
  }
  return ev('CheckSealed');
}

/**
 * An upgraded sector's deal pieces placed again (fetched and CommP-checked as the snapup plan does, into the staged
 * file PC2 no longer needs) and encoded into the CC replica just checked; the new comm_r must be the chain's sealed
 * CID before anything is persisted. Outputs are cleaned first, so a kill here redoes this step alone.
 */
async function snapEncodeAgain(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  const target = required(doc.rebuild, 'rebuild target', doc);
  const up = required(target.upgrade, 'upgrade', doc);
  const out = updatePaths(t, paths.name);
  for (const p of [out.file, out.cache]) await rm(p, { recursive: true, force: true });
  await mkdir(out.cache, { recursive: true });
  const placed = await addPieces(t, { ...doc, deals: up.pieces });
  const scratch = structuredClone(doc);
  placed.apply?.(scratch);
  const pieces = required(scratch.phases.pieces, 'pieces', doc);
  const r = await limited(t, 'snap_encode', () =>
    encodeInto({
      sectorSize: proof.sectorSize,
      sectorKeyPath: paths.sealed,
      sectorKeyCacheDir: paths.cache,
      stagedDataPath: paths.staged,
      newReplicaPath: out.file,
      newCacheDir: out.cache,
      pieces: pieces.map((p) => ({ size: p.size, commitment: Uint8Array.from(p.commitment) })),
      signal: t.signal,
    }),
  );
  if (!sameBytes(r.commRNew, target.comm_r)) {
    await rm(out.file, { force: true });
    throw abort(
      `re-encoded comm_r ${commRToCid(r.commRNew).toString()} differs from the chain's sealed CID ` +
        `${target.sealed_cid}: not persisted (the deal pieces the manager kept are not the ones encoded)`,
    );
  }
  log.info({ thread: t.index, sector: paths.name, sealedCid: target.sealed_cid }, 'deal pieces encoded again');
  return ev('SnapEncode');
}

/** The update files are the sector's again: SubmitPersistedEx with isUpgrade. */
async function submitPersistedUpdate(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid } = ctx(t, doc);
  const instance = required(doc.phases.persist_instance, 'persist_instance', doc);
  const ok = await call(t, 'SubmitPersistedEx', sid, instance, true);
  if (!ok) throw perm(`the manager cannot use the update files persisted in "${instance}"`);
  return ev('SubmitPersistance');
}
