/**
 * State reports and worker pings: the sector timeline, finalized and aborted sectors, and the workers the
 * dashboard lists (docs/spec/sealer-api.md §Manager behaviour per call).
 */
import {
  type Meta,
  type ReportStateReq,
  type SectorID,
  type SectorStateResp,
  sectorName,
  type WorkerInfo,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { RpcError } from '../../rpc/index.js';
import type { SectorCaller } from '../auth.js';
import { checkReason, checkReport, checkWorkerInfo } from '../reports.js';
import { checkSid, notFound, type SealerState, save, sealStoreName, withOwnSector } from './common.js';
import { endRebuild, logRebuildEnd } from './rebuild.js';

const log = logger('sealing');

export function reportState(
  st: SealerState,
  sid: SectorID,
  raw: ReportStateReq,
  caller: SectorCaller,
): Promise<SectorStateResp> {
  checkSid(sid);
  const req = checkReport(raw);
  return withOwnSector(st, sid, caller, async () => {
    const r = st.o.store.getSector(sid);
    if (!r) throw notFound(sid);
    if (!r.online) return { Id: sid, Finalized: true, AbortReason: r.state.AbortReason || null };
    r.state.LatestState = req;
    st.o.store.tx(() => {
      save(st, r.state);
      st.o.store.recordSectorEvent(sid, {
        state: req.StateChange.Next,
        event: req.StateChange.Event || null,
        worker: sealStoreName(req.Worker),
        failure: req.Failure ? `${req.Failure.Level}: ${req.Failure.Desc}` : null,
      });
    });
    return { Id: sid, Finalized: false, AbortReason: null };
  });
}

export function reportFinalized(st: SealerState, sid: SectorID, caller: SectorCaller): Promise<Meta> {
  checkSid(sid);
  return withOwnSector(st, sid, caller, async () => {
    const r = st.o.store.getSector(sid);
    if (!r) throw notFound(sid);
    if (r.online && r.state.NeedRebuild) {
      st.o.store.tx(() => endRebuild(st, r.state, null));
      logRebuildEnd(sid, null);
    } else if (r.online && r.state.Upgraded) {
      // an upgrading sector is finalized by the snapup committer once the update landed and is persisted (damocles)
    } else if (r.online) {
      r.state.Finalized = true;
      st.o.store.tx(() => {
        st.o.store.putSector(r.state, false);
        st.o.stores.release(sid);
        st.o.store.recordSectorEvent(sid, { state: 'Finalized' });
      });
      log.info({ sector: sectorName(sid) }, 'sector finalized');
    }
    return {};
  });
}

export function reportAborted(st: SealerState, sid: SectorID, raw: string, caller: SectorCaller): Promise<Meta> {
  checkSid(sid);
  const reason = checkReason(raw);
  return withOwnSector(st, sid, caller, async () => {
    const r = st.o.store.getSector(sid);
    if (!r) throw notFound(sid);
    if (r.online && r.state.NeedRebuild) {
      st.o.store.tx(() => endRebuild(st, r.state, reason || 'aborted'));
      logRebuildEnd(sid, reason || 'aborted');
    } else if (r.online && r.state.Upgraded && st.snap?.aborted(r.state, reason)) {
      // the upgrade ended (or goes on: its message was sent); the sector itself stays as the chain has it
    } else if (r.online) {
      r.state.AbortReason = reason || 'aborted';
      r.state.Finalized = true;
      r.state.MessageInfo.NeedSend = false;
      st.o.commit.cancel(sid);
      let deals = 0;
      st.o.store.tx(() => {
        st.o.store.putSector(r.state, false);
        st.o.stores.release(sid);
        st.o.store.recordSectorEvent(sid, { state: 'Aborted', failure: r.state.AbortReason });
        // written with the abort, sent after it (and retried while the market is down)
        deals = st.o.deals?.abortSector(sid) ?? 0;
      });
      log.warn({ sector: sectorName(sid), reason, ...(deals ? { dealsReleased: deals } : {}) }, 'sector aborted');
      if (deals) st.o.deals?.kick();
    }
    return {};
  });
}

export function workerPing(st: SealerState, raw: WorkerInfo, caller: SectorCaller): Meta {
  const info = checkWorkerInfo(raw);
  // a worker's token names it: it may not ping (and so show on the dashboard) as another worker
  if (!caller.admin && caller.name && info.Name !== caller.name)
    throw new RpcError(
      1,
      `WorkerPing: the token is for worker "${caller.name}", not "${info.Name.slice(0, 64)}" (set [instance] name = "${caller.name}")`,
    );
  st.o.store.pingWorker(info);
  return {};
}
