/**
 * Persist stores as workers see them: space reserved for a sector's files, and the files checked once a worker
 * says they are persisted (docs/spec/sealer-api.md §Manager behaviour per call).
 */
import { type SectorID, type StoreBasicInfo, sectorName } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { RpcError } from '../../rpc/index.js';
import type { SectorCaller } from '../auth.js';
import { basicInfo, checkSectorFiles } from '../stores.js';
import { checkOwner, checkSid, online, type SealerState, withOwnSector } from './common.js';

const log = logger('sealing');

export function submitPersisted(
  st: SealerState,
  sid: SectorID,
  instance: string,
  caller: SectorCaller,
): Promise<boolean> {
  return submitPersistedEx(st, sid, instance, false, caller);
}

export function submitPersistedEx(
  st: SealerState,
  sid: SectorID,
  instance: string,
  isUpgrade: boolean,
  caller: SectorCaller,
): Promise<boolean> {
  checkSid(sid);
  return withOwnSector(st, sid, caller, async () => {
    // an upgraded sector may already be finalized by the snapup committer when its worker reports the update files
    const r = st.o.store.getSector(sid);
    if (!(isUpgrade && r?.state.Upgraded)) online(st, sid);
    const store = st.o.stores.get(instance);
    if (!store) {
      log.warn({ sector: sectorName(sid), instance }, 'SubmitPersisted: unknown persist store');
      return false;
    }
    const facts = await st.o.miners.get(sid.Miner);
    const kind = isUpgrade ? 'upgrade' : 'normal';
    const why = await checkSectorFiles(store.path, store.path, sid, facts.sectorSize, store.strict, kind);
    if (why) {
      log.warn({ sector: sectorName(sid), instance, why }, 'SubmitPersisted: files not usable');
      return false;
    }
    st.o.store.indexSector(kind, sid, { SealedFile: instance, CacheDir: instance });
    log.info({ sector: sectorName(sid), instance, ...(isUpgrade ? { upgrade: true } : {}) }, 'sector persisted');
    // an upgrade that landed waits for this to finish (snapup/commit.ts)
    if (isUpgrade) void st.snap?.kick();
    return true;
  });
}

export function storeReserveSpace(
  st: SealerState,
  sid: SectorID,
  size: number,
  candidates: string[] | null,
  caller: SectorCaller,
): StoreBasicInfo | null {
  checkSid(sid);
  online(st, sid);
  checkOwner(st, sid, caller);
  if (!Number.isSafeInteger(size) || size <= 0) throw new RpcError(1, `invalid size ${size}`);
  return st.o.stores.reserve(sid, size, candidates);
}

/** The store a worker names, by Name or else by Path (the name a worker's store has when none is set). */
export function storeBasicInfo(st: SealerState, name: string): StoreBasicInfo | null {
  const s = st.o.stores.find(name);
  return s ? basicInfo(s) : null;
}
