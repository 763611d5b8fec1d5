/**
 * A snapup thread's calls (docs/snapup-manager.md; damocles' AllocateSanpUpSector / SubmitSnapUpProof):
 * AllocateSanpUpSector hands a candidate to a seal store with deals acquired for it, SubmitSnapUpProof records the
 * update for the committer (commit.ts), and the worker's abort of an upgrade not yet sent gives its deals back.
 */
import {
  type AllocatedSnapUpSector,
  type AllocateSnapUpSpec,
  bytes32FromJson,
  bytes32ToJson,
  type SectorID,
  type SectorState,
  type SnapUpOnChainInfo,
  type SubmitResp,
  SubmitResult,
  sectorName,
  type WorkerIdentifier,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { bytesEqual, cidToCommP, cidToCommR, fromBase64 } from '../../fil/index.js';
import { computeCommD, isCanonicalFr, sealProof } from '../../proofs/index.js';
import { RpcError } from '../../rpc/index.js';
import type { SectorCaller } from '../auth.js';
import { minerAddr } from '../chain.js';
import { newSectorState } from '../db.js';
import { sealStoreOf } from '../sealer/allocation.js';
import { ownerName, resp, type SealerState, sealStoreName, withOwnSector, withSector } from '../sealer/common.js';
import { checkSectorFiles } from '../stores.js';
import { isZero, type SnapChainAPI } from './candidates.js';
import type { SnapMetrics } from './metrics.js';
import type { SnapCandidate, SnapSector, SnapStore } from './store.js';

const log = logger('snapup');

export interface SnapDeps {
  st: SealerState;
  snap: SnapStore;
  chain: SnapChainAPI;
  /** wakes the committer */
  kick: () => void;
  metrics: SnapMetrics;
}

function fits(d: SnapDeps, spec: AllocateSnapUpSpec, c: SnapCandidate): boolean {
  const m = d.st.o.config().SectorManager.Miners.find((x) => x.ID === c.sid.Miner);
  if (!m || m.Disabled || !m.EnableSnapUp) return false;
  const miners = spec.Sector?.AllowedMiners ?? [];
  const proofs = spec.Sector?.AllowedProofTypes ?? [];
  return (miners.length === 0 || miners.includes(c.sid.Miner)) && (proofs.length === 0 || proofs.includes(c.proofType));
}

function answerOf(t: SnapSector, s: SectorState): AllocatedSnapUpSector {
  return {
    Sector: { ID: { Miner: t.sid.Miner, Number: t.sid.Number }, ProofType: s.SectorType },
    Pieces: s.Pieces,
    Public: t.public,
    Private: { AccessInstance: t.access },
  };
}

/**
 * A candidate with deals for a snapup thread, or null (no candidate, or no deals for any: the candidates stay).
 * A seal store asking again while its upgrade is not submitted gets the same answer (it lost the first one), also
 * after a manager restart; the hand-out, the sector's owner and its pieces are committed before the answer leaves.
 */
export function allocateSnapUp(
  d: SnapDeps,
  spec: AllocateSnapUpSpec,
  caller: SectorCaller,
): Promise<AllocatedSnapUpSector | null> {
  const { st } = d;
  const w = sealStoreOf(spec?.Sector ?? {});
  return st.storeLock.run('snapup', async () => {
    if (w) {
      for (const t of d.snap.allocatedTo(w)) {
        if ((st.o.store.sectorOwner(t.sid) ?? '') !== ownerName(caller)) continue;
        const r = st.o.store.getSector(t.sid);
        if (!r?.online) continue;
        log.info(
          { sector: sectorName(t.sid), worker: sealStoreName(w) },
          'snapup sector handed again to its seal store',
        );
        return answerOf(t, r.state);
      }
    }
    if (!st.o.deals) return null;
    for (const c of d.snap.candidates()) {
      if (!fits(d, spec, c) || d.snap.get(c.sid)) continue;
      const got = await withSector(st, c.sid, () => tryCandidate(d, spec, c, w, caller));
      if (got) return got;
    }
    return null;
  });
}

async function tryCandidate(
  d: SnapDeps,
  spec: AllocateSnapUpSpec,
  c: SnapCandidate,
  w: WorkerIdentifier | undefined,
  caller: SectorCaller,
): Promise<AllocatedSnapUpSector | null> {
  const { st } = d;
  const name = sectorName(c.sid);
  const info = await d.chain.StateSectorGetInfo(minerAddr(c.sid.Miner), c.sid.Number, null);
  if (!info || info.SectorKeyCID || !isZero(info.DealWeight) || !isZero(info.VerifiedDealWeight)) {
    d.snap.removeCandidate(c.sid);
    log.info({ sector: name }, 'snapup candidate dropped: no longer an active CC sector on chain');
    return null;
  }
  const at = st.o.store.findSector('normal', c.sid);
  if (!at) {
    log.warn({ sector: name }, 'snapup candidate skipped: the sector index has no persist store for its sealed file');
    return null;
  }
  const r = st.o.store.getSector(c.sid);
  // online and not ours: sealing, rebuilding or unsealing it is under way
  if (r?.online && !r.state.Upgraded) return null;
  const s: SectorState = r ? structuredClone(r.state) : newSectorState(c.sid, info.SealProof);
  if (!r?.online) {
    s.Pieces = null;
    s.Finalized = false;
    delete s.LatestState;
  }
  s.Upgraded = true;
  // the deal path (market/deals.ts) stores the pieces with the sector online, or nothing when there are no deals
  const pieces = await st.o.deals!.acquire(s, spec.Deals ?? {}, { expiration: info.Expiration });
  if (!pieces || pieces.length === 0) return null;
  const pub = {
    CommR: bytes32ToJson(cidToCommR(info.SealedCID)),
    SealedCID: info.SealedCID,
    Activation: info.Activation,
    Expiration: info.Expiration,
  };
  const to = w ?? { Instance: '', Location: '' };
  st.o.store.tx(() => {
    d.snap.add(c.sid, to, pub, at.SealedFile);
    st.o.store.setSectorOwner(c.sid, ownerName(caller) || null);
    st.o.store.recordSectorEvent(c.sid, { state: 'SnapUpAllocated', worker: w ? sealStoreName(w) : null });
  });
  d.metrics.step('allocated');
  log.info({ sector: name, pieces: pieces.length, worker: w ? sealStoreName(w) : null }, 'snapup sector allocated');
  const t = d.snap.get(c.sid)!;
  return answerOf(t, { ...s, Pieces: pieces });
}

const sameSubmit = (a: SnapUpOnChainInfo, b: SnapUpOnChainInfo) =>
  JSON.stringify([a.CommR, a.CommD, a.AccessInstance, a.Pieces, a.Proof]) ===
  JSON.stringify([b.CommR, b.CommD, b.AccessInstance, b.Pieces, b.Proof]);

/** Why a submission cannot be sent, or undefined. */
function whyRejected(d: SnapDeps, s: SectorState, t: SnapSector, info: SnapUpOnChainInfo): string | undefined {
  let proof: Uint8Array;
  try {
    proof = fromBase64(info.Proof, 'Proof');
  } catch (err) {
    return (err as Error).message;
  }
  if (proof.length === 0) return 'empty proof is invalid';
  const pieces = s.Pieces ?? [];
  const got = info.Pieces ?? [];
  if (got.length !== pieces.length) return `pieces count not match: ${pieces.length} != ${got.length}`;
  for (let i = 0; i < got.length; i++)
    if (got[i]?.['/'] !== pieces[i]!.Piece.PieceCID['/'])
      return `#${i} piece cid not match: ${pieces[i]!.Piece.PieceCID['/']} != ${got[i]?.['/']}`;
  let commR: Uint8Array;
  let commD: Uint8Array;
  try {
    commR = bytes32FromJson(info.CommR, 'CommR');
    commD = bytes32FromJson(info.CommD, 'CommD');
  } catch (err) {
    return (err as Error).message;
  }
  // a Poseidon root: any canonical element of Fr (the top bits may be set, unlike a SHA-256-trunc254 CommD)
  if (!isCanonicalFr(commR)) return 'CommR is not a field element';
  if (bytesEqual(commR, bytes32FromJson(t.public.CommR))) return 'CommR is the sector key’s (nothing was encoded)';
  const want = computeCommD(
    sealProof(s.SectorType).sectorSize,
    pieces.map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) })),
  );
  if (!bytesEqual(commD, want)) return 'CommD does not match the sector’s pieces';
  if (!d.st.o.stores.get(info.AccessInstance)) return `unknown persist store "${info.AccessInstance}"`;
  return undefined;
}

/** SubmitSnapUpProof: checked, recorded (the committer sends it), answered. */
export function submitSnapUp(
  d: SnapDeps,
  sid: SectorID,
  info: SnapUpOnChainInfo,
  caller: SectorCaller,
): Promise<SubmitResp> {
  const { st } = d;
  return withOwnSector(st, sid, caller, async () => {
    const r = st.o.store.getSector(sid);
    const t = d.snap.get(sid);
    if (!r?.online || !r.state.Upgraded || !t)
      throw new RpcError(11001, `sector state not found: ${sectorName(sid)} is not being upgraded`);
    if (t.submitted) {
      if (sameSubmit(t.submitted, info)) return resp(SubmitResult.Accepted);
      return resp(SubmitResult.MismatchedSubmission, 'a different update was submitted for this sector already');
    }
    const why = whyRejected(d, r.state, t, info);
    if (why) {
      d.metrics.failed('rejected');
      log.warn({ sector: sectorName(sid), why }, 'SubmitSnapUpProof rejected');
      return resp(SubmitResult.Rejected, why);
    }
    // the worker persists the new replica before it submits (damocles): checked and indexed as the upgrade's
    // location now, FilesMissed makes it persist again
    const store = st.o.stores.get(info.AccessInstance)!;
    const size = sealProof(r.state.SectorType).sectorSize;
    const missing = await checkSectorFiles(store.path, store.path, sid, size, store.strict, 'upgrade');
    if (missing) {
      log.warn(
        { sector: sectorName(sid), instance: info.AccessInstance, why: missing },
        'SubmitSnapUpProof: files missed',
      );
      return resp(SubmitResult.FilesMissed, `not all files persisted: ${missing}`);
    }
    st.o.store.tx(() => {
      st.o.store.indexSector('upgrade', sid, { SealedFile: info.AccessInstance, CacheDir: info.AccessInstance });
      d.snap.submitted(sid, info);
      st.o.store.recordSectorEvent(sid, { state: 'SnapUpSubmitted', event: `replica in ${info.AccessInstance}` });
    });
    d.metrics.step('submitted');
    log.info({ sector: sectorName(sid), instance: info.AccessInstance }, 'snapup proof accepted');
    d.kick();
    return resp(SubmitResult.Accepted);
  });
}

/**
 * ReportAborted of an upgrading sector (called with its lock held, inside no transaction): before the message is
 * recorded the upgrade ends — deals released, the sector back as it was (offline, finalized, a CC sector). After
 * it, the message may land: the abort is refused and logged; the committer goes on.
 */
export function abortSnapUp(d: SnapDeps, s: SectorState, reason: string): boolean {
  const t = d.snap.get(s.ID);
  if (!t) return false;
  if (t.phase !== 'allocated' && t.phase !== 'submitted' && t.phase !== 'failed') {
    log.warn(
      { sector: sectorName(s.ID), phase: t.phase, reason },
      'abort of an upgrade whose message was sent: ignored, the update may still land',
    );
    return true;
  }
  const { st } = d;
  let deals = 0;
  st.o.store.tx(() => {
    deals = st.o.deals?.abortSector(s.ID) ?? 0;
    s.Upgraded = false;
    s.Pieces = null;
    s.Finalized = true;
    delete s.LatestState;
    st.o.store.putSector(s, false);
    st.o.stores.release(s.ID);
    d.snap.remove(s.ID);
    st.o.store.recordSectorEvent(s.ID, { state: 'SnapUpAborted', failure: reason || 'aborted' });
  });
  d.metrics.step('aborted');
  log.warn({ sector: sectorName(s.ID), reason, dealsReleased: deals }, 'snapup aborted; the sector stays CC');
  if (deals) st.o.deals?.kick();
  return true;
}
