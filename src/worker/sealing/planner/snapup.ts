/**
 * The snapup plan (damocles' planner/snapup.rs; docs/snapup-worker.md): a committed-capacity sector the manager picked
 * gets client data without sealing again. The deal pieces are fetched and placed as the sealer plan does (their CommP
 * checked before anything), the sealed CC replica and its cache are read from the persist store that holds them (the
 * "sector key"), the data is encoded into it (SnapDeals, docs/spec/snap.md), the update is proved, the new replica and
 * cache are persisted under `update/` and `update-cache/`, the proof is submitted, and the worker waits for the
 * manager to say the update landed:
 *
 *   Empty →AllocatedSnapUpSector→ Allocated →AddPiece→ PieceAdded →BuildTreeD→ TreeDBuilt →SnapEncode→ SnapEncoded
 *   →SnapProve→ SnapProved →Persist→ Persisted →SubmitProof→ ProofSubmitted →Finish→ Finished
 *   (Persisted →RePersist→ SnapProved when the manager misses the files; ProofSubmitted →ReSubmitProof→ Persisted
 *   when the message failed on chain)
 *
 * Each step cleans its outputs, then computes; the document is saved after every event, so a kill at any state redoes
 * that one step. The one message (SubmitSnapUpProof) is idempotent at the manager: the same proof again is answered
 * DuplicateSubmit.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type AllocatedSnapUpSector, bytes32FromJson, bytes32ToJson, SubmitResult } from '../../../api/sealer.js';
import { logger } from '../../../common/log.js';
import {
  encodeInto,
  generateUpdateProof,
  generateUpdateVanillaProofs,
  poseidonHash2,
  proverIdFromActorId,
  readPAux,
  sealProof,
} from '../../../proofs/index.js';
import { toJson32 } from '../../processor/index.js';
import { sectorIdProblem } from '../../store.js';
import { abort, Failure, perm, prefixed } from '../failure.js';
import type { SectorDoc, SnapUpJob } from '../sector.js';
import { planTables, type State, type Transitions } from '../states.js';
import {
  allocateSpec,
  askForTask,
  call,
  ctx,
  type Event,
  ev,
  exists,
  hex,
  limited,
  pollLanded,
  required,
  type StepHost,
  sameBytes,
} from './common.js';
import { cachedFiles, persistFiles } from './persist.js';
import { addPieces, treeD } from './sealer.js';
import { accessStore } from './unseal.js';

const log = logger('sealing');

const TRANSITIONS: Transitions = {
  Empty: { AllocatedSnapUpSector: 'Allocated' },
  Allocated: { AddPiece: 'PieceAdded' },
  PieceAdded: { BuildTreeD: 'TreeDBuilt' },
  TreeDBuilt: { SnapEncode: 'SnapEncoded' },
  SnapEncoded: { SnapProve: 'SnapProved' },
  SnapProved: { Persist: 'Persisted' },
  Persisted: { SubmitProof: 'ProofSubmitted', RePersist: 'SnapProved' },
  ProofSubmitted: { Finish: 'Finished', ReSubmitProof: 'Persisted' },
};

/** The snapup plan's main path, from allocation to finished. */
export const SNAPUP_PIPELINE: readonly State[] = [
  'Allocated',
  'PieceAdded',
  'TreeDBuilt',
  'SnapEncoded',
  'SnapProved',
  'Persisted',
  'ProofSubmitted',
  'Finished',
];

/** What `worker list` shows for a state (damocles' State::stage for the snapup planner). */
const STAGE: Partial<Record<State, string>> = {
  Allocated: 'AddPieces',
  PieceAdded: 'TreeD',
  TreeDBuilt: 'SnapEncode',
  SnapEncoded: 'SnapProve',
  SnapProved: 'PersistFiles',
  Persisted: 'SubmitSnapupProof',
  ProofSubmitted: 'WaitSnapupLanded',
};

export const { next, stage } = planTables('snapup', TRANSITIONS, STAGE);

export function exec(t: StepHost, doc: SectorDoc): Promise<Event | null> {
  switch (doc.state) {
    case 'Empty':
      return allocate(t, doc);
    case 'Allocated':
      return addPieces(t, doc);
    case 'PieceAdded':
      return treeD(t, doc);
    case 'TreeDBuilt':
      return snapEncode(t, doc);
    case 'SnapEncoded':
      return snapProve(t, doc);
    case 'SnapProved':
      return persistUpdate(t, doc);
    case 'Persisted':
      return submitSnapUp(t, doc);
    case 'ProofSubmitted':
      return waitLanded(t, doc);
    case 'Finished':
      return finish(t, doc);
    case 'Aborted':
      return Promise.reject(abort('snapup aborted by the operator'));
    default:
      return Promise.reject(abort(`state ${doc.state} is not part of the snapup plan`));
  }
}

/** The update files of a sector, relative to a persist store (damocles' paths.rs update_file, update_cache_dir). */
export function persistedUpdatePaths(name: string): { update: string; cache: string } {
  return { update: join('update', name), cache: join('update-cache', name) };
}

/** Where the update's files are in the seal store (damocles' update_file / update_cache_dir). */
export function updatePaths(t: StepHost, name: string) {
  return { file: join(t.store.dataDir, 'update', name), cache: join(t.store.dataDir, 'update-cache', name) };
}

/** Why a snapup allocation cannot be run as given, or null. */
export function snapUpProblem(a: AllocatedSnapUpSector, allowedMiners: number[] | null): string | null {
  const bad = sectorIdProblem(a?.Sector?.ID);
  if (bad) return `invalid sector id: ${bad}`;
  try {
    sealProof(a.Sector.ProofType);
  } catch (err) {
    return (err as Error).message;
  }
  if (allowedMiners && !allowedMiners.includes(a.Sector.ID.Miner)) {
    return `miner ${a.Sector.ID.Miner} is not in allowed_miners`;
  }
  if (!Array.isArray(a.Pieces) || a.Pieces.length === 0) return 'no deal pieces (a snapup needs at least one)';
  if (a.Pieces.some((p) => !p?.DealInfo)) return 'a piece without DealInfo (pledge pieces are filled by the worker)';
  try {
    bytes32FromJson(a.Public?.CommR, 'Public.CommR');
  } catch (err) {
    return (err as Error).message;
  }
  if (typeof a.Private?.AccessInstance !== 'string' || !a.Private.AccessInstance) {
    return 'Private.AccessInstance (the persist store of the CC replica) is empty';
  }
  return null;
}

/** Asks for a snapup sector until the manager has one; the wait is logged once and shown in `worker list`. */
function allocate(t: StepHost, doc: SectorDoc): Promise<Event> {
  const s = t.cfg.sealing;
  return askForTask(t, doc, {
    method: 'AllocateSanpUpSector',
    task: 'snapup sector',
    ask: () =>
      t.deps.manager.AllocateSanpUpSector({
        Sector: allocateSpec(t),
        Deals: { MaxDeals: s.maxDeals, MinUsedSpace: s.minDealSpace },
      }),
    take: async (got: AllocatedSnapUpSector) => {
      const bad = snapUpProblem(got, s.allowedMiners);
      if (!bad) {
        log.info(
          { thread: t.index, miner: got.Sector.ID.Miner, number: got.Sector.ID.Number, pieces: got.Pieces!.length },
          'snapup sector allocated',
        );
        return ev('AllocatedSnapUpSector', (d) => {
          d.plan = 'snapup';
          d.base = { allocated: got.Sector, prover_id: toJson32(proverIdFromActorId(got.Sector.ID.Miner)) };
          d.deals = got.Pieces;
          d.snapup = {
            comm_r_old: Array.from(bytes32FromJson(got.Public.CommR, 'Public.CommR')),
            sealed_cid: got.Public.SealedCID?.['/'] ?? null,
            access_instance: got.Private.AccessInstance,
            comm_r_new: null,
            comm_d_new: null,
            proof: null,
          };
        });
      }
      // the manager holds the deals for this sector: tell it, so it releases them, and ask for another
      log.error({ thread: t.index }, `the manager allocated a snapup sector this worker cannot run: ${bad}`);
      if (!sectorIdProblem(got.Sector?.ID)) {
        await t.deps.manager
          .ReportAborted(got.Sector.ID, `refused by the worker: ${bad}`)
          .catch((err) => log.warn({ thread: t.index }, prefixed('Venus.ReportAborted', err)));
      }
      return null;
    },
  });
}

function job(doc: SectorDoc): SnapUpJob {
  return required(doc.snapup, 'snapup', doc);
}

/**
 * The sector key (the CC replica and its cache) copied from the persist store into the seal store, checked against
 * the sector's CommR on chain, then the data encoded into it: the new replica, its TreeD and TreeR-last.
 */
async function snapEncode(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  const j = job(doc);
  const up = updatePaths(t, paths.name);
  const store = await accessStore(t, j.access_instance);
  const srcSealed = join(store.location, 'sealed', paths.name);
  const srcCache = join(store.location, 'cache', paths.name);
  if (!(await exists(srcSealed))) {
    throw perm(`the CC replica ${srcSealed} is not in persist store "${store.name}"`);
  }
  // clean outputs, then compute
  for (const p of [paths.sealed, paths.cache, up.file, up.cache]) await rm(p, { recursive: true, force: true });
  await mkdir(dirname(paths.sealed), { recursive: true });
  await mkdir(paths.cache, { recursive: true });
  await mkdir(up.cache, { recursive: true });
  const files = cachedFiles(proof);
  // only read from here on: a transfer processor may link instead of copying, as damocles allows
  const opt = { is_dir: false, allow_link: true };
  const routes = [
    { src: { store_name: null, uri: srcSealed }, dest: { store_name: null, uri: paths.sealed }, opt },
    ...files.map((f) => ({
      src: { store_name: null, uri: join(srcCache, f) },
      dest: { store_name: null, uri: join(paths.cache, f) },
      opt,
    })),
  ];
  try {
    await limited(t, 'transfer', () => t.deps.sealer.run('transfer', { stores: {}, routes }, t.signal));
  } catch (err) {
    if (err instanceof Failure) throw err;
    throw perm(`read the sector key of ${paths.name} from "${store.name}": ${(err as Error).message}`, err);
  }
  // the replica must be the sector the manager means before anything is encoded into it
  const aux = await readPAux(paths.cache);
  const commROld = poseidonHash2(aux.commC, aux.commRLast);
  if (!sameBytes(commROld, j.comm_r_old)) {
    throw abort(
      `the CC replica of ${paths.name} in "${store.name}" has comm_r ${hex(commROld)}, the sector's on chain is ` +
        `${hex(j.comm_r_old)}: not encoded`,
    );
  }
  const commD = required(doc.phases.comm_d, 'comm_d', doc);
  const pieces = required(doc.phases.pieces, 'pieces', doc);
  const out = await limited(t, 'snap_encode', () =>
    encodeInto({
      sectorSize: proof.sectorSize,
      sectorKeyPath: paths.sealed,
      sectorKeyCacheDir: paths.cache,
      stagedDataPath: paths.staged,
      newReplicaPath: up.file,
      newCacheDir: up.cache,
      pieces: pieces.map((p) => ({ size: p.size, commitment: Uint8Array.from(p.commitment) })),
      signal: t.signal,
    }),
  );
  if (!sameBytes(out.commDNew, commD)) {
    throw perm(`snap encode: comm_d_new ${hex(out.commDNew)} differs from the pieces' ${hex(commD)}`);
  }
  if (!sameBytes(out.commROld, j.comm_r_old)) throw perm('snap encode: comm_r_old changed while encoding');
  log.info(
    { thread: t.index, sector: paths.name, commRNew: hex(out.commRNew), seconds: out.seconds.total },
    'snap encoded',
  );
  return ev('SnapEncode', (d) => {
    d.snapup!.comm_r_new = bytes32ToJson(out.commRNew);
    d.snapup!.comm_d_new = bytes32ToJson(out.commDNew);
  });
}

/** The vanilla partition proofs of the update, then the snap_prove step (in-process: the vanilla prover). */
async function snapProve(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  const j = job(doc);
  const up = updatePaths(t, paths.name);
  const pub = {
    commROld: Uint8Array.from(j.comm_r_old),
    commRNew: Uint8Array.from(required(j.comm_r_new, 'comm_r_new', doc)),
    commDNew: Uint8Array.from(required(j.comm_d_new, 'comm_d_new', doc)),
  };
  const bytes = await limited(t, 'snap_prove', async () => {
    const vanillaProofs = await generateUpdateVanillaProofs({
      sectorSize: proof.sectorSize,
      ...pub,
      sectorKeyPath: paths.sealed,
      sectorKeyCacheDir: paths.cache,
      replicaPath: up.file,
      replicaCacheDir: up.cache,
    });
    return generateUpdateProof({ sectorSize: proof.sectorSize, vanillaProofs, ...pub, signal: t.signal });
  });
  if (bytes.length === 0) throw perm('snap_prove returned an empty proof');
  return ev('SnapProve', (d) => {
    d.snapup!.proof = Buffer.from(bytes).toString('base64');
  });
}

/** The new replica and its cache to a persist store, as `update/s-t0M-N` and `update-cache/s-t0M-N/…`. */
export async function persistUpdate(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  const up = updatePaths(t, paths.name);
  const rel = persistedUpdatePaths(paths.name);
  return persistFiles(t, doc, 'persist the update', [
    { from: up.file, to: rel.update },
    ...cachedFiles(proof).map((f) => ({ from: join(up.cache, f), to: join(rel.cache, f) })),
  ]);
}

/** SubmitSnapUpProof: the new commitments, the persist store of the new files, the pieces and the proof. */
async function submitSnapUp(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, paths } = ctx(t, doc);
  const j = job(doc);
  const instance = required(doc.phases.persist_instance, 'persist_instance', doc);
  const r = await call(t, 'SubmitSnapUpProof', sid, {
    CommR: required(j.comm_r_new, 'comm_r_new', doc),
    CommD: required(j.comm_d_new, 'comm_d_new', doc),
    AccessInstance: instance,
    Pieces: (doc.deals ?? []).map((p) => p.Piece.PieceCID),
    Proof: required(j.proof, 'proof', doc),
  });
  const desc = r.Desc ? `: ${r.Desc}` : '';
  switch (r.Res) {
    case SubmitResult.Accepted:
    case SubmitResult.DuplicateSubmit:
      log.info({ thread: t.index, sector: paths.name }, 'snapup proof submitted');
      return ev('SubmitProof');
    case SubmitResult.FilesMissed:
      log.warn({ thread: t.index, sector: paths.name }, `the manager misses the update files${desc}; persisting again`);
      return ev('RePersist', (d) => {
        d.phases.persist_instance = null;
      });
    case SubmitResult.MismatchedSubmission:
      throw abort(`snapup proof of ${paths.name} mismatched an earlier submission${desc}`);
    case SubmitResult.Rejected:
      throw abort(`snapup proof of ${paths.name} rejected${desc}`);
    default:
      throw perm(`snapup proof of ${paths.name}: unexpected result ${r.Res}${desc}`);
  }
}

/**
 * Polls the update message (PollProofState answers it for a sector in snapup) until it lands, then tells the manager
 * the persisted update files are the sector's (SubmitPersistedEx with isUpgrade), so Window PoSt and unseal find them.
 */
async function waitLanded(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid } = ctx(t, doc);
  const e = await pollLanded(
    t,
    doc,
    'ProveReplicaUpdates',
    () => call(t, 'PollProofState', sid),
    ev('Finish'),
    ev('ReSubmitProof'),
  );
  if (e.name !== 'Finish') return e;
  const instance = required(doc.phases.persist_instance, 'persist_instance', doc);
  const ok = await call(t, 'SubmitPersistedEx', sid, instance, true);
  if (!ok) throw perm(`the manager cannot use the update files persisted in "${instance}"`);
  return e;
}

async function finish(t: StepHost, doc: SectorDoc): Promise<null> {
  const { sid, paths } = ctx(t, doc);
  try {
    await call(t, 'ReportFinalized', sid);
  } catch (err) {
    // the update landed and its files are indexed: a manager that keeps no online state for the sector any more
    // (it finalized it itself, as damocles' snapup committer does) has nothing for us to clear
    const cause = err instanceof Failure ? err.cause : err;
    if (!(err instanceof Failure) || err.level !== 'abort') throw err;
    log.info({ thread: t.index, sector: paths.name }, `${prefixed('Venus.ReportFinalized', cause)} (update landed)`);
  }
  await t.finalize();
  log.info({ thread: t.index, sector: paths.name }, 'snapup finished');
  return null;
}
