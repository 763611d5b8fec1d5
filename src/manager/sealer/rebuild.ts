/**
 * Sector rebuild (docs/rebuild.md; damocles `SectorSetForRebuild` / `AllocateRebuildSector`): a sector this manager
 * sealed, still on chain, whose files were lost, is sealed again by a `plan = "rebuild"` thread from what the manager
 * kept — its ticket, its pieces, its proof type — and checked against the chain's sealed CID before it is persisted.
 *
 * SectorSetForRebuild brings the sector's state back online (NeedRebuild) and records a task; AllocateRebuildSector
 * hands a task to a rebuild thread (again to the same seal store if it asks again: it lost the answer); the worker's
 * usual StoreReserveSpace / SubmitPersistedEx / ReportFinalized then end the task (reports.ts calls endRebuild).
 * Once the files are back in a persist store the poster's file check passes and its recovery declaration returns the
 * sector to proving.
 */
import { SectorStateNotFoundError } from '../../api/errors.js';
import type { SectorOnChainInfo } from '../../api/full.js';
import {
  type AllocateSectorSpec,
  bytes32FromJson,
  type SectorID,
  type SectorPieceV2,
  type SectorPublicInfo,
  type SectorRebuildInfo,
  type SectorState,
  sectorName,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { commRToCid } from '../../fil/index.js';
import { RpcError } from '../../rpc/index.js';
import type { SectorCaller } from '../auth.js';
import { minerAddr } from '../chain.js';
import { sealStoreOf } from './allocation.js';
import { checkSid, ownerName, type SealerState, sealStoreName, withSector } from './common.js';

const log = logger('sealing');

/** A piece with a deal or an allocation behind it (not filler). */
function isDealPiece(p: SectorPieceV2): boolean {
  return !!p.DealInfo && (p.DealInfo.DealID !== 0 || p.DealInfo.AllocationID !== 0);
}

function refuse(sid: SectorID, why: string): RpcError {
  return new RpcError(1, `cannot rebuild ${sectorName(sid)}: ${why}`);
}

/**
 * `util sealer sectors rebuild MINER NUMBER [--pieces-available]`: only a sector this manager sealed (finalized, not
 * aborted) that the chain still has (active or faulty) — upgraded or not; a sector with deal pieces needs
 * --pieces-available (the rebuild thread fetches them from its local_pieces_dirs or the piece store, which the
 * manager cannot see).
 */
export function sectorSetForRebuild(
  st: SealerState,
  sid: SectorID,
  opt: { PiecesAvailable: boolean },
): Promise<boolean> {
  checkSid(sid);
  if (typeof opt?.PiecesAvailable !== 'boolean')
    throw new RpcError(1, 'SectorSetForRebuild: PiecesAvailable must be true or false');
  return withSector(st, sid, async () => {
    const r = st.o.store.getSector(sid);
    if (!r)
      throw new SectorStateNotFoundError(
        `cannot rebuild ${sectorName(sid)}: this sector-manager has no state for it (only sectors it sealed can be rebuilt)`,
      );
    const s = r.state;
    const task = st.rebuilds.get(sid);
    if (task) {
      const where = task.handedTo ? `handed to ${sealStoreName(task.handedTo)}` : 'waiting for a rebuild thread';
      throw refuse(sid, `a rebuild is already under way (${where}); \`util sealer sectors abort\` ends it`);
    }
    if (s.AbortReason) throw refuse(sid, `its sealing was aborted (${s.AbortReason}): it was never proven`);
    if (r.online || !s.Finalized) throw refuse(sid, 'it is still being sealed (not finalized)');
    const ticket = s.Pre?.Ticket ?? s.Ticket;
    if (!ticket || !s.Pre) throw refuse(sid, 'its state has no PreCommit and ticket: the manager did not seal it');
    const onChain = await st.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, null);
    if (!onChain) throw refuse(sid, 'the chain has no such sector (never proven, expired or terminated)');
    const upgrade = s.Upgraded || onChain.SectorKeyCID ? upgradeOf(st, s, onChain) : null;
    if (onChain.SealProof !== s.SectorType)
      throw refuse(sid, `the chain says seal proof ${onChain.SealProof}, the sector state ${s.SectorType}`);
    const pieces = s.Pieces?.length ? s.Pieces : null;
    if (pieces?.some(isDealPiece) && !opt.PiecesAvailable)
      throw refuse(
        sid,
        'it holds deal pieces: the rebuild thread fetches them from its local_pieces_dirs or the piece store; ' +
          'make them available there and pass --pieces-available',
      );
    const info: SectorRebuildInfo = {
      Sector: { ID: { Miner: sid.Miner, Number: sid.Number }, ProofType: s.SectorType },
      Ticket: ticket,
      Pieces: null,
      PiecesV2: pieces,
      IsSnapUp: upgrade !== null,
      UpgradePublic: upgrade,
      SealedCID: onChain.SealedCID,
    };
    // online again so the rebuild thread's calls (ReportState, StoreReserveSpace, SubmitPersistedEx) find it
    s.NeedRebuild = true;
    s.Finalized = false;
    delete s.LatestState;
    st.o.store.tx(() => {
      st.o.store.putSector(s, true);
      st.rebuilds.add(info);
      st.o.store.recordSectorEvent(sid, { state: 'RebuildSet' });
    });
    log.info(
      {
        sector: sectorName(sid),
        sealedCid: onChain.SealedCID['/'],
        pieces: pieces?.length ?? 0,
        ...(upgrade ? { sectorKeyCid: upgrade.SealedCID['/'] } : {}),
      },
      'sector set for rebuild',
    );
    return true;
  });
}

/**
 * An upgraded (SnapDeals) sector is rebuilt in two steps: the CC sector sealed again from its ticket (it must give
 * the sector key, the chain's SectorKeyCID), then the deal pieces encoded into it (they must give the chain's
 * SealedCID). UpgradePublic carries the sector key's commitment; only an update this manager saw land qualifies.
 */
function upgradeOf(st: SealerState, s: SectorState, onChain: SectorOnChainInfo): SectorPublicInfo {
  const sid = s.ID;
  if (!s.Upgraded || !onChain.SectorKeyCID)
    throw refuse(sid, 'the chain and the sector state disagree on whether it was upgraded (SnapDeals)');
  const up = st.snap?.snap.landedUpdate(sid);
  if (!up) throw refuse(sid, 'this sector-manager has no record of its update landing (SnapUp disabled or not done)');
  let keyCid: string;
  try {
    keyCid = commRToCid(bytes32FromJson(up.commROld, 'CommROld')).toString();
  } catch (err) {
    throw refuse(sid, `its update record is damaged: ${(err as Error).message}`);
  }
  if (keyCid !== onChain.SectorKeyCID['/'])
    throw refuse(
      sid,
      `the chain's sector key ${onChain.SectorKeyCID['/']} is not the one it was upgraded from (${keyCid})`,
    );
  if (!s.Pieces?.some(isDealPiece)) throw refuse(sid, 'its state holds no deal pieces to encode again');
  return {
    CommR: up.commROld,
    SealedCID: onChain.SectorKeyCID,
    Activation: onChain.Activation,
    Expiration: onChain.Expiration,
  };
}

/** Does a task fit the thread's allowed miners and proof types, and is its miner still configured? */
function fits(st: SealerState, spec: AllocateSectorSpec, info: SectorRebuildInfo): boolean {
  const id = info.Sector.ID;
  const m = st.o.config().SectorManager.Miners.find((x) => x.ID === id.Miner);
  if (!m || m.Disabled) return false;
  const miners = spec?.AllowedMiners ?? [];
  const proofs = spec?.AllowedProofTypes ?? [];
  return (
    (miners.length === 0 || miners.includes(id.Miner)) &&
    (proofs.length === 0 || proofs.includes(info.Sector.ProofType))
  );
}

/**
 * A rebuild task for a `plan = "rebuild"` thread. With spec.Worker (the seal store asking), a task already handed
 * to that store is answered again — the worker died before saving it, or its store was wiped — so a crash at that
 * instant strands no task. The hand-out and the sector's new owner (the asking worker: its calls on the sector are
 * checked against it) are committed in one transaction.
 */
export function allocateRebuildSector(
  st: SealerState,
  spec: AllocateSectorSpec,
  caller: SectorCaller,
): Promise<SectorRebuildInfo | null> {
  const w = sealStoreOf(spec);
  return st.storeLock.run('rebuild', async () => {
    if (w) {
      for (const t of st.rebuilds.handedTo(w)) {
        const sid = t.info.Sector.ID;
        if ((st.o.store.sectorOwner(sid) ?? '') !== ownerName(caller)) continue;
        log.info(
          { sector: sectorName(sid), instance: w.Instance, location: w.Location },
          'rebuild task handed again to its seal store',
        );
        return t.info;
      }
    }
    for (const t of st.rebuilds.waiting()) {
      if (!fits(st, spec, t.info)) continue;
      const sid = t.info.Sector.ID;
      const to = w ?? { Instance: '', Location: '' };
      const handed = await withSector(st, sid, async () => {
        const r = st.o.store.getSector(sid);
        if (!r?.online || !r.state.NeedRebuild) return false;
        st.o.store.tx(() => {
          st.rebuilds.hand(sid, to);
          st.o.store.setSectorOwner(sid, ownerName(caller) || null);
          st.o.store.recordSectorEvent(sid, { state: 'RebuildAllocated', worker: w ? sealStoreName(w) : null });
        });
        return true;
      });
      if (!handed) continue;
      log.info({ sector: sectorName(sid), instance: w?.Instance, location: w?.Location }, 'rebuild task handed out');
      return t.info;
    }
    return null;
  });
}

/**
 * Ends a rebuild (inside the caller's transaction, with the sector's lock held): ReportFinalized after the files
 * were persisted ("Rebuilt"), or ReportAborted (the sector stays as it was on chain, without its files: an operator
 * may set it for rebuild again). Either way the state goes offline, finalized, without an abort reason — the sector
 * itself was sealed and proven; only this rebuild ended.
 */
export function endRebuild(st: SealerState, s: SectorState, abortReason: string | null): void {
  const sid = s.ID;
  s.NeedRebuild = false;
  s.Finalized = true;
  st.rebuilds.remove(sid);
  st.o.store.putSector(s, false);
  st.o.stores.release(sid);
  if (abortReason === null) {
    st.o.store.recordSectorEvent(sid, { state: 'Rebuilt' });
  } else {
    st.o.store.recordSectorEvent(sid, { state: 'RebuildAborted', failure: abortReason });
  }
}

/** Logs the end of a rebuild (after endRebuild's transaction committed). */
export function logRebuildEnd(sid: SectorID, abortReason: string | null): void {
  if (abortReason === null) log.info({ sector: sectorName(sid) }, 'sector rebuilt: its files are persisted again');
  else
    log.warn(
      { sector: sectorName(sid), reason: abortReason },
      'rebuild aborted: the sector still has no files; `util sealer sectors rebuild` sets it again',
    );
}
