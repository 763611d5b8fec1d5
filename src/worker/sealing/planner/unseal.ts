/**
 * The unseal plan (damocles' planner/unseal.rs; docs/deals-worker.md, "Unseal"): a piece's bytes decoded from
 * the sealed replica in the persist store — for an upgraded (SnapDeals) sector, from the updated replica and the
 * sector key (docs/deals-unseal.md) — checked against the piece CID, uploaded to every destination, and reported. States: Empty →AllocatedUnsealSector→ Allocated →Unsealed→ Unsealed →UploadPieceDone→ Finished.
 * Each handler is "clean outputs, then compute", so a restart redoes the step in flight.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bytes32FromJson, type SectorUnsealInfo } from '../../../api/sealer.js';
import { logger } from '../../../common/log.js';
import { cidToCommP } from '../../../fil/index.js';
import {
  commPOfFile,
  labelLayerPath,
  labelSectorLayers,
  pieceSizeForPayload,
  proverIdFromActorId,
  sealProof,
  unseal as unsealRange,
  unsealUpdatedRange,
  zeroCommitment,
} from '../../../proofs/index.js';
import { RpcConnectionError, RpcError, RpcTimeoutError } from '../../../rpc/index.js';
import { safeDest, uploadPiece } from '../../pieces/index.js';
import { fromJson32, toJson32 } from '../../processor/index.js';
import { persistedPaths, sectorIdProblem } from '../../store.js';
import { abort, Failure, perm, prefixed } from '../failure.js';
import { attachedStore } from '../persist-stores.js';
import type { SectorDoc, UnsealJob, UnsealUpgrade } from '../sector.js';
import { planTables, type State, type Transitions } from '../states.js';
import {
  askForTask,
  call,
  ctx,
  type Event,
  ev,
  exists,
  fr32Randomness,
  hex,
  limited,
  required,
  type StepHost,
} from './common.js';

const log = logger('sealing');
/** Destinations one unseal uploads to, at most (damocles' requests carry one). */
const MAX_DESTS = 16;

const TRANSITIONS: Transitions = {
  Empty: { AllocatedUnsealSector: 'Allocated' },
  Allocated: { Unsealed: 'Unsealed' },
  Unsealed: { UploadPieceDone: 'Finished' },
};

/** The work that runs in a state (damocles' State::stage for the unseal plan). */
const STAGE: Partial<Record<State, string>> = { Allocated: 'Unseal', Unsealed: 'UploadPiece' };

export const { next, stage } = planTables('unseal', TRANSITIONS, STAGE);

export function exec(t: StepHost, doc: SectorDoc): Promise<Event | null> {
  switch (doc.state) {
    case 'Empty':
      return allocate(t, doc);
    case 'Allocated':
      return unsealPiece(t, doc);
    case 'Unsealed':
      return upload(t, doc);
    case 'Finished':
      return finish(t, doc);
    case 'Aborted':
      return Promise.reject(abort('unseal task aborted by the operator'));
    default:
      return Promise.reject(abort(`state ${doc.state} is not part of the unseal plan`));
  }
}

/** Where the unsealed piece is written in the seal store (wiped with the task). */
function pieceOut(t: StepHost, cid: string): string {
  return join(t.store.dataDir, 'pieces', cid);
}

function cidOf(job: UnsealJob): string {
  return job.piece_cid['/'];
}

/** Why an unseal task cannot be run as given, or null. */
export function unsealInfoProblem(
  info: SectorUnsealInfo,
  allowedMiners: number[] | null,
  allowedProofTypes: number[] | null = null,
): string | null {
  const bad = sectorIdProblem(info?.Sector?.ID);
  if (bad) return `invalid sector id: ${bad}`;
  let capacity: number;
  try {
    capacity = (sealProof(info.Sector.ProofType).sectorSize / 128) * 127;
  } catch (err) {
    return (err as Error).message;
  }
  if (allowedMiners && !allowedMiners.includes(info.Sector.ID.Miner))
    return `miner ${info.Sector.ID.Miner} is not in allowed_miners`;
  if (allowedProofTypes && !allowedProofTypes.includes(info.Sector.ProofType)) {
    return `seal proof ${info.Sector.ProofType} is not one of allowed_sizes`;
  }
  const cid = info.PieceCid?.['/'];
  if (typeof cid !== 'string' || !/^[A-Za-z0-9]{1,200}$/.test(cid)) return 'PieceCid is not a CID string';
  try {
    cidToCommP(cid);
  } catch (err) {
    return `PieceCid: ${(err as Error).message}`;
  }
  const { Offset, Size } = info;
  if (
    !Number.isSafeInteger(Offset) ||
    !Number.isSafeInteger(Size) ||
    Offset < 0 ||
    Size < 1 ||
    Offset + Size > capacity
  ) {
    return `range Offset ${Offset} + Size ${Size} is outside the sector's ${capacity} unpadded bytes`;
  }
  try {
    bytes32FromJson(info.CommD, 'CommD');
    if (Buffer.from(info.Ticket?.Ticket ?? '', 'base64').length !== 32) return 'Ticket is not 32 bytes of base64';
  } catch (err) {
    return (err as Error).message;
  }
  if (typeof info.PrivateInfo?.AccessInstance !== 'string' || !info.PrivateInfo.AccessInstance) {
    return 'PrivateInfo.AccessInstance (the persist store of the replica) is empty';
  }
  if (info.Upgrade !== undefined && info.Upgrade !== null) {
    try {
      bytes32FromJson(info.Upgrade.CommROld, 'Upgrade.CommROld');
    } catch (err) {
      return (err as Error).message;
    }
    const k = info.Upgrade.SectorKeyInstance;
    if (typeof k !== 'string' || k.length > 256) return 'Upgrade.SectorKeyInstance is not a store name';
  }
  return null;
}

/** Asks for an unseal task until the manager has one; the wait is logged once and shown in `worker list`. */
function allocate(t: StepHost, doc: SectorDoc): Promise<Event> {
  const s = t.cfg.sealing;
  return askForTask(t, doc, {
    method: 'AllocateUnsealSector',
    task: 'unseal task',
    ask: () =>
      t.deps.manager.AllocateUnsealSector({
        AllowedMiners: s.allowedMiners,
        AllowedProofTypes: s.allowedProofTypes,
        // a manager that knows it hands back the task this store took if our answer got lost
        Worker: { Instance: t.deps.instance, Location: t.cfg.location },
      }),
    take: async (a: SectorUnsealInfo) => {
      const bad = unsealInfoProblem(a, s.allowedMiners, s.allowedProofTypes);
      if (!bad) {
        log.info(
          { thread: t.index, miner: a.Sector.ID.Miner, number: a.Sector.ID.Number, piece: a.PieceCid['/'] },
          'unseal task allocated',
        );
        return ev('AllocatedUnsealSector', (d) => {
          d.base = { allocated: a.Sector, prover_id: toJson32(proverIdFromActorId(a.Sector.ID.Miner)) };
          d.phases.ticket = a.Ticket;
          d.unseal = {
            piece_cid: a.PieceCid,
            offset: a.Offset,
            size: a.Size,
            comm_d: Array.from(bytes32FromJson(a.CommD, 'CommD')),
            access_instance: a.PrivateInfo.AccessInstance,
            written: null,
            upgrade: a.Upgrade
              ? {
                  comm_r_old: Array.from(bytes32FromJson(a.Upgrade.CommROld, 'Upgrade.CommROld')),
                  sector_key_instance: a.Upgrade.SectorKeyInstance,
                }
              : null,
          };
        });
      }
      // answer the task so the manager (and the market behind it) hear why, then ask for another
      log.error({ thread: t.index }, `the manager allocated an unseal task this worker cannot run: ${bad}`);
      if (!sectorIdProblem(a.Sector?.ID) && a.PieceCid) {
        await t.deps.manager
          .AchieveUnsealSector(a.Sector.ID, a.PieceCid, `refused by the worker: ${bad}`)
          .catch((err) => log.warn({ thread: t.index }, prefixed('Venus.AchieveUnsealSector', err)));
      }
      return null;
    },
  });
}

/** The persist store named by the task: this worker's [[attached]] of that name, else of the manager's path. */
export async function accessStore(t: StepHost, name: string) {
  const byName = t.deps.persistStores.find((s) => s.name === name);
  if (byName) return byName;
  const info = await call(t, 'StoreBasicInfo', name);
  const s = info ? attachedStore(t.deps.persistStores, info) : undefined;
  if (!s) {
    throw perm(
      `the replica is in persist store "${name}", which this worker does not attach ([[attached]] or [remote] ` +
        'with that name or path)',
    );
  }
  return s;
}

/**
 * The sector key of an upgraded sector: the CC replica where it was persisted when it is still there
 * (CleanupCCData = false), else sealed again from the sector's ticket into the seal store's cache dir. A CC
 * replica is zero data encoded with the last SDR layer, so that layer is the sector key itself: PC1 is enough,
 * as rust-fil-proofs' unseal regenerates the layers and no more.
 */
async function sectorKey(t: StepHost, doc: SectorDoc, up: UnsealUpgrade): Promise<{ path: string; kept: boolean }> {
  const { sid, proof, paths, proverId } = ctx(t, doc);
  if (up.sector_key_instance) {
    const store = await accessStore(t, up.sector_key_instance).catch(() => undefined);
    const kept = store ? join(store.location, persistedPaths(paths.name).sealed) : undefined;
    const size = kept
      ? await stat(kept).then(
          (s) => (s.isFile() ? s.size : -1),
          () => -1,
        )
      : -1;
    if (kept && size === proof.sectorSize) return { path: kept, kept: true };
  }
  const ticket = required(doc.phases.ticket, 'ticket', doc);
  await labelSectorLayers({
    proof,
    cacheDir: paths.cache,
    proverId: fromJson32(proverId, 'prover_id'),
    sectorId: sid.Number,
    ticket: Uint8Array.from(fr32Randomness(ticket.Ticket)),
    commD: zeroCommitment(proof.sectorSize),
  });
  return { path: labelLayerPath(paths.cache, proof.layers), kept: false };
}

/** Decodes the piece's range of an upgraded sector's replica (`update/` in the store the task names). */
async function unsealUpdated(t: StepHost, doc: SectorDoc, job: UnsealJob, out: string): Promise<number> {
  const { proof, paths } = ctx(t, doc);
  const up = required(job.upgrade, 'upgrade', doc);
  const store = await accessStore(t, job.access_instance);
  // damocles' layout: the updated replica of s-t0M-N is update/s-t0M-N
  const replica = join(store.location, 'update', paths.name);
  if (!(await exists(replica))) throw perm(`the updated replica ${replica} is not in persist store "${store.name}"`);
  const r = await limited(t, 'unseal', async () => {
    const key = await sectorKey(t, doc, up);
    log.info(
      { thread: t.index, sector: paths.name, sectorKey: key.kept ? 'kept' : 'sealed again' },
      'decoding the updated replica',
    );
    return unsealUpdatedRange({
      sectorSize: proof.sectorSize,
      replicaPath: replica,
      sectorKeyPath: key.path,
      commROld: Uint8Array.from(up.comm_r_old),
      commDNew: Uint8Array.from(job.comm_d),
      outputPath: out,
      offset: job.offset,
      numBytes: job.size,
    });
  });
  return r.bytesWritten;
}

async function unsealPiece(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, proof, paths, proverId } = ctx(t, doc);
  const job = required(doc.unseal, 'unseal', doc);
  const ticket = required(doc.phases.ticket, 'ticket', doc);
  const cid = cidOf(job);
  const store = await accessStore(t, job.access_instance);
  const sealed = join(store.location, persistedPaths(paths.name).sealed);
  if (!job.upgrade && !(await exists(sealed)))
    throw perm(`the sealed replica ${sealed} is not in persist store "${store.name}"`);
  const out = pieceOut(t, cid);
  // clean outputs, then compute (the regenerated layers go to the seal store's cache dir, never the persist store)
  await rm(out, { force: true });
  await rm(paths.cache, { recursive: true, force: true });
  await mkdir(dirname(out), { recursive: true });
  await mkdir(paths.cache, { recursive: true });
  let written: number;
  try {
    if (job.upgrade) {
      written = await unsealUpdated(t, doc, job, out);
    } else {
      const r = await limited(t, 'unseal', () =>
        unsealRange({
          proof: proof.id,
          cacheDir: paths.cache,
          sealedPath: sealed,
          outputPath: out,
          proverId: fromJson32(proverId, 'prover_id'),
          sectorId: sid.Number,
          ticket: Uint8Array.from(fr32Randomness(ticket.Ticket)),
          commD: Uint8Array.from(job.comm_d),
          offset: job.offset,
          numBytes: job.size,
        }),
      );
      written = r.bytesWritten;
    }
  } catch (err) {
    if (err instanceof Failure || (err as NodeJS.ErrnoException).code) throw err;
    // the replica does not decode with this ticket and CommD: no retry can change that
    throw abort(`unseal ${paths.name} for piece ${cid}: ${(err as Error).message}`, err);
  }
  await rm(paths.cache, { recursive: true, force: true });
  const want = cidToCommP(cid);
  const { commP } = await commPOfFile(out, pieceSizeForPayload(job.size));
  if (!Buffer.from(commP).equals(Buffer.from(want))) {
    await rm(out, { force: true });
    throw abort(
      `the bytes unsealed from ${paths.name} at offset ${job.offset} (${job.size} bytes) have CommP ${hex(commP)}, ` +
        `not the piece CID's ${hex(want)}`,
    );
  }
  log.info({ thread: t.index, sector: paths.name, piece: cid, bytes: written }, 'piece unsealed, CommP checked');
  return ev('Unsealed', (d) => {
    d.unseal!.written = written;
  });
}

async function upload(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, paths } = ctx(t, doc);
  const job = required(doc.unseal, 'unseal', doc);
  const cid = cidOf(job);
  const file = pieceOut(t, cid);
  const size = await stat(file).then(
    (s) => s.size,
    () => -1,
  );
  if (size !== job.size) {
    throw perm(
      `the unsealed piece ${file} has ${size} bytes, ${job.size} expected: resume with -s Allocated to unseal again`,
    );
  }
  const dests = (await call(t, 'AcquireUnsealDest', sid, job.piece_cid)) ?? [];
  if (
    !Array.isArray(dests) ||
    dests.length > MAX_DESTS ||
    dests.some((d) => typeof d !== 'string' || d.length > 4096)
  ) {
    throw perm(`Venus.AcquireUnsealDest: expected at most ${MAX_DESTS} destination URLs`);
  }
  if (!dests.length)
    log.warn(
      { thread: t.index, sector: paths.name, piece: cid },
      'the manager gave no destination for the unsealed piece',
    );
  await limited(t, 'transfer', async () => {
    for (const d of dests) {
      const where = await uploadPiece(d, file, { cid, pieceToken: t.deps.pieceToken, signal: t.signal });
      log.info(
        { thread: t.index, sector: paths.name, piece: cid, dest: safeDest(d) },
        `unsealed piece uploaded to ${where}`,
      );
    }
  });
  await call(t, 'AchieveUnsealSector', sid, job.piece_cid, '');
  return ev('UploadPieceDone');
}

async function finish(t: StepHost, doc: SectorDoc): Promise<null> {
  const { sid, paths } = ctx(t, doc);
  try {
    await call(t, 'ReportFinalized', sid);
  } catch (err) {
    // The task is answered already (AchieveUnsealSector). A manager that cannot be reached is asked again; one
    // that refuses (no online state for the sector, or another worker sealed it) has nothing for us to clear.
    const cause = err instanceof Failure ? err.cause : err;
    if (!(cause instanceof RpcError) || cause instanceof RpcConnectionError || cause instanceof RpcTimeoutError) {
      throw err;
    }
    log.info(
      { thread: t.index, sector: paths.name },
      `${prefixed('Venus.ReportFinalized', cause)} (the unseal is answered; nothing left to clear)`,
    );
  }
  await t.finalize();
  log.info({ thread: t.index, sector: paths.name }, 'unseal task finished');
  return null;
}

/** An aborted task is answered with its reason, so the manager can tell the market (damocles leaves it unanswered). */
export async function abandon(t: StepHost, doc: SectorDoc, reason: string): Promise<void> {
  // Finished: AchieveUnsealSector already said it worked; a later failure must not contradict it
  if (!doc.base || !doc.unseal || doc.state === 'Finished') return;
  try {
    await t.deps.manager.AchieveUnsealSector(doc.base.allocated.ID, doc.unseal.piece_cid, reason);
  } catch (err) {
    log.warn({ thread: t.index }, prefixed('Venus.AchieveUnsealSector', err));
  }
}
