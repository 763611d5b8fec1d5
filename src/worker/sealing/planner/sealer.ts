/**
 * The sealer plan's steps (docs/spec/sealer-api.md §States and events): one handler per state, each "clean
 * outputs, then compute", yielding the event that moves the sector on (null once it is finished and wiped).
 */
import { copyFile, mkdir, open, readdir, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { bytes32ToJson } from '../../../api/sealer.js';
import { logger } from '../../../common/log.js';
import { metrics } from '../../../common/metrics.js';
import { cidToCommP } from '../../../fil/index.js';
import {
  bytesFromOutput,
  computeCommD,
  P_AUX_FILE,
  proverIdFromActorId,
  T_AUX_FILE,
  unpaddedPieceSize,
  zeroCommitment,
} from '../../../proofs/index.js';
import { fsyncPath } from '../../fsync.js';
import { type DealPiece, LayoutError, type Placed, placePieces, stagePiece } from '../../pieces/index.js';
import { fromJson32, type TaskOf, toJson32 } from '../../processor/index.js';
import { persistedPaths } from '../../store.js';
import { abort, Failure, perm, temp } from '../failure.js';
import type { SectorDoc } from '../sector.js';
import { bound } from '../waits.js';
import {
  allocateSpec,
  askOnce,
  call,
  checkAllocated,
  ctx,
  type Event,
  ev,
  exists,
  fr32Randomness,
  hex,
  pollLanded,
  required,
  run,
  type StepHost,
  sameBytes,
  submitted,
} from './common.js';
import { cachedFiles, persistFiles } from './persist.js';

const log = logger('sealing');

/** Runs the handler of the sector's state. */
export function exec(t: StepHost, doc: SectorDoc): Promise<Event | null> {
  switch (doc.state) {
    case 'Empty':
      return allocate(t);
    case 'Allocated':
      return acquireDeals(t, doc);
    case 'DealsAcquired':
      return addPieces(t, doc);
    case 'PieceAdded':
      return treeD(t, doc);
    case 'TreeDBuilt':
      return Promise.resolve(ev('AssignTicket'));
    case 'TicketAssigned':
      return pc1(t, doc);
    case 'PC1Done':
      return pc2(t, doc);
    case 'PC2Done':
      return submitPreCommit(t, doc);
    case 'PCSubmitted':
      return waitPreCommit(t, doc);
    case 'PCLanded':
      return persist(t, doc);
    case 'Persisted':
      return submitPersisted(t, doc);
    case 'PersistanceSubmitted':
      return waitSeed(t, doc);
    case 'SeedAssigned':
      return c1(t, doc);
    case 'C1Done':
      return c2(t, doc);
    case 'C2Done':
      return submitProof(t, doc);
    case 'ProofSubmitted':
      return waitProof(t, doc);
    case 'Finished':
      return finish(t, doc);
    case 'Aborted':
      return Promise.reject(abort('sector aborted by the operator'));
    default:
      return Promise.reject(perm(`state ${doc.state} is not handled by the sealer plan`));
  }
}

async function allocate(t: StepHost): Promise<Event> {
  const s = t.cfg.sealing;
  const a = await askOnce(t, 'AllocateSector', () => t.deps.manager.AllocateSector(allocateSpec(t)));
  if (!a) return ev('Idle');
  checkAllocated(a, s.allowedMiners, 'allocated a sector');
  const alloc = a;
  log.info({ thread: t.index, miner: a.ID.Miner, number: a.ID.Number, proof: a.ProofType }, 'sector allocated');
  return ev('Allocate', (d) => {
    d.base = { allocated: alloc, prover_id: toJson32(proverIdFromActorId(alloc.ID.Miner)) };
  });
}

async function acquireDeals(t: StepHost, doc: SectorDoc): Promise<Event> {
  const s = t.cfg.sealing;
  const { sid } = ctx(t, doc);
  if (!s.enableDeals) {
    if (s.disableCC) return ev('Idle');
    return ev('AcquireDeals', (d) => {
      d.deals = null;
    });
  }
  const pieces = await call(t, 'AcquireDeals', sid, { MaxDeals: s.maxDeals, MinUsedSpace: s.minDealSpace });
  if ((!pieces || pieces.length === 0) && s.disableCC) return ev('Idle');
  return ev('AcquireDeals', (d) => {
    d.deals = pieces?.length ? pieces : null;
  });
}

/**
 * AddPieces for CC and deal sectors alike: the pieces placed at their offsets with zero pieces around them
 * (pieces/layout.ts), every deal piece fetched into the store and its CommP checked against the deal before
 * anything is written (pieces/fetch.ts), then the add_pieces stage writes the staged file from that list.
 */
export async function addPieces(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  let placed: Placed[];
  try {
    placed = placePieces(proof.sectorSize, doc.deals);
  } catch (err) {
    if (err instanceof LayoutError) throw abort(`the deals assigned to ${paths.name} cannot be placed: ${err.message}`);
    throw err;
  }
  const dir = piecesDir(t);
  const files = new Map<Placed, string>();
  const deals = placed.filter((p): p is DealPiece => p.kind === 'deal');
  if (deals.length) {
    t.setState('Running', 'fetch_pieces');
    const done = metrics().phaseTimer('fetch_pieces', proof.sectorSize);
    try {
      for (const d of deals) {
        const got = await stagePiece(d, dir, {
          localPiecesDirs: t.deps.localPiecesDirs,
          pieceStoreUrl: t.deps.pieceStoreUrl,
          managerHeaders: t.deps.managerHeaders ?? {},
          pieceToken: t.deps.pieceToken,
          signal: t.signal,
        });
        log.info(
          { thread: t.index, sector: paths.name, piece: d.cid, bytes: d.payloadSize, reused: got.reused },
          `piece ${d.cid} ${got.reused ? 'found again' : `fetched from ${got.from}`}, CommP checked`,
        );
        files.set(d, got.path);
      }
      done();
    } catch (err) {
      done(err instanceof Failure ? err.level : 'critical');
      throw err;
    }
  }
  const task: TaskOf<'add_pieces'> = {
    seal_proof_type: proof.id,
    staged_filepath: paths.staged,
    pieces: placed.map((p) => {
      const size = unpaddedPieceSize(p.size);
      return p.kind === 'zero'
        ? { piece_file: 'pledge' as const, payload_size: size, piece_size: size }
        : { piece_file: { local: files.get(p)! }, payload_size: p.payloadSize, piece_size: size };
    }),
  };
  // clean outputs, then compute
  await rm(paths.staged, { force: true });
  const out = await run(t, 'add_pieces', task);
  if (out.length !== placed.length) {
    throw perm(`add_pieces returned ${out.length} pieces for ${placed.length} placed`);
  }
  placed.forEach((p, i) => {
    const want = p.kind === 'deal' ? cidToCommP(p.cid) : zeroCommitment(p.size);
    if (out[i]!.size !== p.size || !sameBytes(out[i]!.commitment, want)) {
      const what = p.kind === 'deal' ? `piece ${p.cid}` : `zero piece at ${p.offset}`;
      throw perm(`add_pieces: ${what} was written with a different commitment or size than checked`);
    }
  });
  return ev('AddPiece', (d) => {
    d.phases.pieces = out;
  });
}

/** Where deal pieces are fetched to: the seal store's data/pieces/ (wiped with the sector). */
function piecesDir(t: StepHost): string {
  return join(t.store.dataDir, 'pieces');
}

export async function treeD(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  const pieces = required(doc.phases.pieces, 'pieces', doc);
  // the fetched pieces are in the staged file now
  await rm(piecesDir(t), { recursive: true, force: true });
  const commD = computeCommD(
    proof.sectorSize,
    pieces.map((p) => ({ size: p.size, commitment: fromJson32(p.commitment, 'piece commitment') })),
  );
  await rm(paths.prepared, { recursive: true, force: true });
  await mkdir(paths.prepared, { recursive: true });
  const staticTreeD = !doc.deals ? t.deps.staticTreeD[proof.sectorSize] : undefined;
  if (staticTreeD) {
    await symlink(staticTreeD, paths.treeD);
  } else {
    const out = await run(t, 'tree_d', {
      registered_proof: proof.id,
      staged_file: paths.staged,
      cache_dir: paths.prepared,
    });
    if (!sameBytes(out.comm_d, commD)) {
      throw perm(`tree_d: CommD ${hex(out.comm_d)} of the staged file differs from the pieces' ${hex(commD)}`);
    }
  }
  return ev('BuildTreeD', (d) => {
    d.phases.comm_d = bytes32ToJson(commD);
  });
}

export async function pc1(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, proof, paths, proverId } = ctx(t, doc);
  const ticket = doc.phases.ticket ?? (await call(t, 'AssignTicket', sid));
  // clean outputs: a fresh cache dir with tree_d linked in, an empty sealed file
  await rm(paths.cache, { recursive: true, force: true });
  await mkdir(paths.cache, { recursive: true });
  await mkdir(join(paths.sealed, '..'), { recursive: true });
  await (await open(paths.sealed, 'w')).close();
  await symlink(paths.treeD, join(paths.cache, basename(paths.treeD)));
  const out = await run(t, 'pc1', {
    registered_proof: proof.id,
    cache_path: paths.cache,
    in_path: paths.staged,
    out_path: paths.sealed,
    prover_id: proverId,
    sector_id: sid.Number,
    ticket: fr32Randomness(ticket.Ticket),
    piece_infos: required(doc.phases.pieces, 'pieces', doc),
  });
  return ev('PC1', (d) => {
    d.phases.ticket = ticket;
    d.phases.pc1out = out;
  });
}

export async function pc2(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  const pc1out = required(doc.phases.pc1out, 'pc1out', doc);
  const commD = required(doc.phases.comm_d, 'comm_d', doc);
  // clean outputs of an earlier attempt
  for (const f of await readdir(paths.cache)) {
    if (f === P_AUX_FILE || f === T_AUX_FILE || f.includes('tree-c') || f.includes('tree-r-last')) {
      await rm(join(paths.cache, f), { force: true });
    }
  }
  // PC2 may write the sealed file in place: a marker left by an interrupted run means it is dirty (issue #837)
  const marker = join(paths.cache, '.pc2_running');
  if (await exists(marker)) {
    log.warn(
      { sector: paths.name },
      'an interrupted PC2 left the sealed file dirty: restoring it from the staged file',
    );
    await rm(paths.sealed, { force: true });
    await copyFile(paths.staged, paths.sealed);
  }
  await (await open(marker, 'w')).close();
  await fsyncPath(paths.cache);
  const out = await run(t, 'pc2', {
    registered_proof: proof.id,
    pc1out,
    cache_dir: paths.cache,
    sealed_file: paths.sealed,
    staged_file: paths.staged,
  });
  if (!sameBytes(out.comm_d, commD)) {
    throw perm(`pc2: CommD ${hex(out.comm_d)} differs from tree_d's ${hex(commD)}`);
  }
  await rm(marker, { force: true });
  return ev('PC2', (d) => {
    d.phases.pc2out = out;
  });
}

async function submitPreCommit(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { allocated } = ctx(t, doc);
  const out = required(doc.phases.pc2out, 'pc2out', doc);
  const r = await call(
    t,
    'SubmitPreCommit',
    allocated,
    { CommR: out.comm_r, CommD: out.comm_d, Ticket: required(doc.phases.ticket, 'ticket', doc) },
    doc.phases.pc2_re_submit,
  );
  submitted('pre-commit', r);
  return ev('SubmitPC', (d) => {
    d.phases.pc2_re_submit = false;
  });
}

function waitPreCommit(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid } = ctx(t, doc);
  return pollLanded(
    t,
    doc,
    'PreCommit',
    () => call(t, 'PollPreCommitState', sid),
    ev('CheckPC'),
    ev('ReSubmitPC', (d) => {
      d.phases.pc2_re_submit = true;
    }),
  );
}

export async function persist(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { proof, paths } = ctx(t, doc);
  const rel = persistedPaths(paths.name);
  return persistFiles(t, doc, 'persist', [
    { from: paths.sealed, to: rel.sealed },
    ...cachedFiles(proof).map((f) => ({ from: join(paths.cache, f), to: join(rel.cache, f) })),
  ]);
}

export async function submitPersisted(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid } = ctx(t, doc);
  const instance = required(doc.phases.persist_instance, 'persist_instance', doc);
  const ok = await call(t, 'SubmitPersistedEx', sid, instance, false);
  if (!ok) throw perm(`the manager cannot use the files persisted in "${instance}"`);
  return ev('SubmitPersistance');
}

async function waitSeed(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, allocated } = ctx(t, doc);
  let first = true;
  for (;;) {
    const r = await call(t, 'WaitSeed', sid, allocated.ProofType);
    if (r.Seed) {
      const seed = r.Seed;
      return ev('AssignSeed', (d) => {
        d.phases.seed = seed;
      });
    }
    if (!r.ShouldWait) throw temp('Venus.WaitSeed: no seed and no reason to wait');
    const ms = r.Delay > 0 ? r.Delay * 1000 : t.cfg.sealing.rpcPollingIntervalMs;
    await t.waitFor(doc, {
      what: 'waiting for the seed (the PreCommit challenge delay)',
      label: 'seed',
      ms,
      first,
      why: r.Delay > 0 ? "the manager's estimate" : bound('rpc_polling_interval', ms),
    });
    first = false;
  }
}

async function c1(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, proof, paths, proverId } = ctx(t, doc);
  const pc2out = required(doc.phases.pc2out, 'pc2out', doc);
  const out = await run(t, 'c1', {
    registered_proof: proof.id,
    cache_path: paths.cache,
    replica_path: paths.sealed,
    prover_id: proverId,
    sector_id: sid.Number,
    ticket: fr32Randomness(required(doc.phases.ticket, 'ticket', doc).Ticket),
    seed: fr32Randomness(required(doc.phases.seed, 'seed', doc).Seed),
    piece_infos: required(doc.phases.pieces, 'pieces', doc),
    comm_r: pc2out.comm_r,
    comm_d: pc2out.comm_d,
  });
  return ev('C1', (d) => {
    d.phases.c1out = out;
  });
}

async function c2(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, proof, proverId } = ctx(t, doc);
  const out = await run(t, 'c2', {
    registered_proof: proof.id,
    c1out: required(doc.phases.c1out, 'c1out', doc),
    prover_id: proverId,
    sector_id: sid.Number,
    miner_id: sid.Miner,
  });
  // kept as base64, what SubmitProof carries, whichever form the processor answered in
  const bytes = bytesFromOutput(out?.proof, 'c2 output.proof');
  if (bytes.length === 0) throw new Error('c2 returned an empty proof');
  return ev('C2', (d) => {
    d.phases.c2out = { proof: Buffer.from(bytes).toString('base64') };
  });
}

async function submitProof(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid } = ctx(t, doc);
  const out = required(doc.phases.c2out, 'c2out', doc);
  const proof = Buffer.from(bytesFromOutput(out.proof, 'c2 output.proof')).toString('base64');
  const r = await call(t, 'SubmitProof', sid, { Proof: proof }, doc.phases.c2_re_submit);
  submitted('proof', r);
  return ev('SubmitProof', (d) => {
    d.phases.c2_re_submit = false;
  });
}

async function waitProof(t: StepHost, doc: SectorDoc): Promise<Event> {
  const { sid, paths } = ctx(t, doc);
  if (!t.cfg.sealing.ignoreProofCheck) {
    const e = await pollLanded(
      t,
      doc,
      'ProveCommit',
      () => call(t, 'PollProofState', sid),
      ev('Finish'),
      ev('ReSubmitProof', (d) => {
        d.phases.c2_re_submit = true;
      }),
    );
    if (e.name !== 'Finish') return e;
  }
  // clear_cache: the layers, tree-c and tree-d are not needed any more
  try {
    for (const f of await readdir(paths.cache)) {
      if (f.includes('layer') || f.includes('tree-c') || f.includes('tree-d')) await rm(join(paths.cache, f));
    }
  } catch (err) {
    throw temp(`clear cache ${paths.cache}: ${(err as Error).message}`, err);
  }
  return ev('Finish');
}

export async function finish(t: StepHost, doc: SectorDoc): Promise<null> {
  const { sid, paths } = ctx(t, doc);
  await call(t, 'ReportFinalized', sid);
  await t.finalize();
  log.info({ thread: t.index, sector: paths.name }, 'sector finished');
  return null;
}
