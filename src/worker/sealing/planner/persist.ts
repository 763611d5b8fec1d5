/**
 * A sector's files to a persist store (the sealer plan's sealed replica and cache, the snapup plan's update and its
 * cache; docs/spec/sealer-api.md §States and events): the manager reserves room in one of the stores this worker
 * attaches, the files are transferred, and what landed is checked before the manager is told the store's name.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SectorID, StoreBasicInfo } from '../../../api/sealer.js';
import { logger } from '../../../common/log.js';
import { P_AUX_FILE, type SealProofInfo, T_AUX_FILE, treeRLastFileNames } from '../../../proofs/index.js';
import type { PersistStoreConfig } from '../../config.js';
import { checkPersistStore } from '../../store.js';
import { classify, Failure, perm } from '../failure.js';
import { attachedStore, isStoreRefusal, refusalLine } from '../persist-stores.js';
import type { SectorDoc } from '../sector.js';
import { Backoff, bound } from '../waits.js';
import { ctx, type Event, ev, limited, type StepHost, type ThreadDeps } from './common.js';

const log = logger('sealing');

/** Manager refusals already logged at ERROR, per daemon (its deps): said once, then retried quietly. */
const refusalsSaid = new WeakMap<ThreadDeps, Set<string>>();

/** The files of a sector's cache that a persist store keeps (damocles' cached_filenames_for_sector). */
export function cachedFiles(proof: SealProofInfo): string[] {
  return [P_AUX_FILE, T_AUX_FILE, ...treeRLastFileNames(proof)];
}

/** A file of the seal store (`from`) and where it goes in the persist store (`to`, relative to its location). */
export interface PersistedFile {
  from: string;
  to: string;
}

/**
 * Persists `files` to a writable store the manager reserves room in, then checks each landed with its size, whoever
 * copied it. `what` starts the error a failed transfer gives ("persist", "persist the update"); a temporary failure
 * stays temporary, anything else is permanent. The event records the manager's name for the store: SubmitPersisted,
 * SubmitSnapUpProof and Window PoSt find the files by it.
 */
export async function persistFiles(t: StepHost, doc: SectorDoc, what: string, files: PersistedFile[]): Promise<Event> {
  const { sid, proof } = ctx(t, doc);
  const GiB = 1 << 30;
  const required = proof.sectorSize < 32 * GiB ? 2 * proof.sectorSize : Math.ceil(1.02 * proof.sectorSize);
  const candidates = t.deps.persistStores.filter((s) => !s.readonly);
  if (!candidates.length) throw perm('no writable persist store: configure [remote] path or [[attached]]');
  const info = await reserveSpace(t, doc, sid, required, candidates);
  const store = attachedStore(candidates, info);
  if (!store) {
    throw perm(`the manager reserved space in "${info.Name}" (${info.Path}), which this worker does not attach`);
  }
  try {
    await checkPersistStore(store.location);
  } catch (err) {
    throw perm(`persist to "${store.name}": ${(err as Error).message}`);
  }
  const routes = files.map((f) => ({
    src: { store_name: null, uri: f.from },
    dest: { store_name: store.name, uri: join(store.location, f.to) },
    opt: null,
  }));
  const want = await Promise.all(routes.map(async (r) => (await stat(r.src.uri)).size));
  try {
    await limited(t, 'transfer', () =>
      t.deps.sealer.run('transfer', { stores: { [store.name]: { name: store.name, meta: null } }, routes }, t.signal),
    );
    // verify what landed, whoever copied it
    for (const [i, r] of routes.entries()) {
      const got = (await stat(r.dest.uri)).size;
      if (got !== want[i]) throw new Error(`${r.dest.uri} has ${got} bytes, ${want[i]} expected`);
    }
  } catch (err) {
    if (err instanceof Failure && err.level === 'temporary') throw err;
    throw perm(`${what} to "${store.name}" (${store.location}): ${(err as Error).message}`, err);
  }
  return ev('Persist', (d) => {
    d.phases.persist_instance = info.Name;
  });
}

/**
 * StoreReserveSpace until a store has room. No room is a wait (logged once); a refusal of the stores this
 * worker offers is a config mismatch, logged once at ERROR with the keys to set, then retried quietly (an
 * operator may fix either side without restarting this worker).
 */
export async function reserveSpace(
  t: StepHost,
  doc: SectorDoc,
  sid: SectorID,
  required: number,
  candidates: PersistStoreConfig[],
): Promise<StoreBasicInfo> {
  const max = t.cfg.sealing.rpcPollingIntervalMs;
  const backoff = new Backoff(max);
  let said: string | null = null;
  for (;;) {
    let info: StoreBasicInfo | null;
    try {
      info = await t.deps.manager.StoreReserveSpace(
        sid,
        required,
        candidates.map((s) => s.name),
      );
    } catch (err) {
      if (!isStoreRefusal(err)) throw classify(err, 'Venus.StoreReserveSpace');
      const line = refusalLine(err);
      let seen = refusalsSaid.get(t.deps);
      if (!seen) refusalsSaid.set(t.deps, (seen = new Set()));
      if (!seen.has(line)) {
        seen.add(line);
        log.error({ thread: t.index, sector: t.sectorName(doc) }, line);
      }
      t.lastError = line;
      await t.waitFor(doc, {
        what: 'the manager refuses the persist stores offered; asking again',
        label: 'persist store refused',
        ms: backoff.next(),
        first: false,
        why: '',
      });
      said = 'refused';
      continue;
    }
    if (info) {
      if (said === 'refused') t.lastError = null;
      return info;
    }
    await t.waitFor(doc, {
      what: `no persist store has room for ${required} bytes yet; waiting`,
      label: 'persist store room',
      ms: backoff.next(),
      first: said !== 'room',
      why: `checks back off up to ${bound('rpc_polling_interval', max)}`,
    });
    said = 'room';
  }
}
