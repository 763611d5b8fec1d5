/**
 * What the `Venus.*` service's calls share (docs/spec/sealer-api.md §Manager behaviour per call): its options and
 * state, argument checks, answers, and the per-sector lock and ownership check every sector call runs under.
 */
import { SectorStateNotFoundError } from '../../api/errors.js';
import {
  type SectorID,
  type SectorState,
  type SubmitResp,
  type SubmitResult,
  sectorName,
  type WorkerIdentifier,
} from '../../api/sealer.js';
import { RpcError } from '../../rpc/index.js';
import { mayActOn, notYourSector, type SectorCaller } from '../auth.js';
import type { ChainAPI, NetworkPolicy } from '../chain.js';
import type { CommitmentManager } from '../commit/index.js';
import type { ManagerConfig } from '../config.js';
import type { ManagerStore, SectorNumberExhausted } from '../db.js';
import type { DealManager } from '../market/deals.js';
import type { MinerInfoCache } from '../miners.js';
import type { KeyedMutex } from '../mutex.js';
import type { SealVerifier } from '../prover.js';
import type { SnapUpManager, SnapUpOptions } from '../snapup/index.js';
import type { PersistStores } from '../stores.js';
import type { AllocatedOnChain } from './allocation.js';
import type { RebuildTasks } from './rebuild-tasks.js';

export interface SealerOptions {
  store: ManagerStore;
  chain: ChainAPI;
  policy: NetworkPolicy;
  config: () => ManagerConfig;
  miners: MinerInfoCache;
  commit: CommitmentManager;
  stores: PersistStores;
  verifier: SealVerifier;
  /** Window PoSt side (CheckProvable, a checked and deduplicated list); set by the daemon when it has a checker */
  checkProvable?: (miner: number, numbers: number[], strict: boolean) => Promise<Record<string, string>>;
  /** deals from the market ([DealManagerConfig.MarketAPI]): AcquireDeals, releases on abort; absent: CC only */
  deals?: DealManager;
  /** told where each accepted WorkerPing came from ("ip:port"): the dashboard calls a worker's control API only there */
  onWorkerPing?: (name: string, remoteAddress: string) => void;
  /** snapup (AllocateSanpUpSector & co., docs/snapup-manager.md); absent: snapup threads get no sector */
  snapup?: SnapUpOptions;
}

/** What the service's calls share: its options, the locks that order them, and what allocation remembers. */
export interface SealerState {
  readonly o: SealerOptions;
  /** Per sector: every call that reads and writes a sector's state runs alone on it. */
  readonly sectorLock: KeyedMutex;
  /** Per miner: sector numbers are handed out one at a time. */
  readonly numberLock: KeyedMutex;
  /** Per seal store: its previous sector is offered again, or a new one allocated, not both at once. */
  readonly storeLock: KeyedMutex;
  /** Sector numbers' on-chain allocation at the current head, asked a few numbers ahead (allocation.ts). */
  readonly allocatedOnChain: AllocatedOnChain;
  /**
   * Miners out of sector numbers, with the MaxNumber they ran into: warned once (not at every worker poll);
   * a raised MaxNumber or a number handed out again clears the entry.
   */
  readonly exhausted: Map<number, SectorNumberExhausted>;
  /** Sectors set for rebuild and the seal stores they were handed to (sealer/rebuild.ts). */
  readonly rebuilds: RebuildTasks;
  /** Upgrades of CC sectors (snapup/): set when SealerOptions.snapup is */
  snap?: SnapUpManager;
}

/** A caller's value for an error message: at most a short prefix of what was sent. */
export function shortJson(v: unknown, max = 64): string {
  let text: string;
  try {
    text = JSON.stringify(v) ?? String(v);
  } catch {
    text = String(v);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function notFound(sid: SectorID): RpcError {
  return new SectorStateNotFoundError(`sector state not found: ${sectorName(sid)}`);
}

export function resp(res: SubmitResult, desc: string | null = null): SubmitResp {
  return { Res: res, Desc: desc };
}

export function checkSid(sid: unknown): SectorID {
  const s = sid as SectorID;
  if (
    !s ||
    typeof s !== 'object' ||
    !Number.isSafeInteger(s.Miner) ||
    !Number.isSafeInteger(s.Number) ||
    s.Miner < 0 ||
    s.Number < 0
  )
    throw new RpcError(1, `invalid sector id ${shortJson(sid)} (expected {"Miner":1000,"Number":1})`);
  return s;
}

/** A seal store as the timeline names it: "<worker instance> <location>". */
export const sealStoreName = (w: WorkerIdentifier): string => `${w.Instance} ${w.Location}`;

/** The worker name a caller binds the sectors it allocates to: none for admin or a token without a name. */
export function ownerName(caller: SectorCaller): string {
  return caller.admin ? '' : caller.name;
}

export function online(st: SealerState, sid: SectorID): SectorState {
  const r = st.o.store.getSector(sid);
  if (!r?.online) throw notFound(sid);
  return r.state;
}

export function save(st: SealerState, s: SectorState): void {
  st.o.store.putSector(s, true);
}

export function withSector<T>(st: SealerState, sid: SectorID, fn: () => Promise<T>): Promise<T> {
  return st.sectorLock.run(`${sid.Miner}-${sid.Number}`, fn);
}

/** A sector bound to a worker (the name in the token that allocated it) answers only that worker, or admin. */
export function checkOwner(st: SealerState, sid: SectorID, caller: SectorCaller): void {
  if (caller.admin) return;
  const owner = st.o.store.sectorOwner(sid);
  if (!mayActOn(owner, caller)) throw notYourSector(sectorName(sid), owner ?? '', caller);
}

/** withSector, for a caller that must own the sector (checked under the sector's lock). */
export function withOwnSector<T>(
  st: SealerState,
  sid: SectorID,
  caller: SectorCaller,
  fn: () => Promise<T>,
): Promise<T> {
  return withSector(st, sid, async () => {
    checkOwner(st, sid, caller);
    return fn();
  });
}
