/**
 * Sector allocation, deals, ticket and seed: the calls that give a sealing thread its sector and its chain
 * randomness (docs/spec/sealer-api.md §Manager behaviour per call).
 */
import type { TipSetKey } from '../../api/full.js';
import {
  type AcquireDealsSpec,
  type AllocatedSector,
  type AllocateSectorSpec,
  type SectorID,
  type SectorPieces,
  type SectorState,
  sectorName,
  type Ticket,
  type WaitSeedResp,
  type WorkerIdentifier,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { toBase64 } from '../../fil/index.js';
import { ErrorCode, RpcError } from '../../rpc/index.js';
import type { SectorCaller } from '../auth.js';
import { drawSeed, drawTicket, head, minerAddr, preCommitInfo } from '../chain.js';
import { newSectorState, SectorNumberExhausted } from '../db.js';
import type { MinerInfoCache } from '../miners.js';
import {
  checkSid,
  online,
  ownerName,
  type SealerState,
  save,
  sealStoreName,
  shortJson,
  withOwnSector,
  withSector,
} from './common.js';

const log = logger('sealing');

/** Most sectors one AllocateSectorsBatch call hands out. */
export const MAX_BATCH_ALLOCATION = 64;

/** AllocateSectorSpec.Worker checked: absent (or both fields empty) → undefined. */
export function sealStoreOf(spec: AllocateSectorSpec): WorkerIdentifier | undefined {
  const w = spec?.Worker as unknown;
  if (w === undefined || w === null) return undefined;
  const { Instance, Location } = w as Partial<WorkerIdentifier>;
  if (typeof w !== 'object' || typeof Instance !== 'string' || typeof Location !== 'string')
    throw new RpcError(
      1,
      `invalid AllocateSectorSpec.Worker ${JSON.stringify(w)} (expected {"Instance":…,"Location":…})`,
    );
  if (Instance === '' && Location === '') return undefined;
  return { Instance, Location };
}

/** Nothing happened to the sector since AllocateSector created it. */
function untouched(s: SectorState): boolean {
  return (
    !s.Finalized &&
    !s.Removed &&
    !s.AbortReason &&
    !s.LatestState &&
    !s.Pieces &&
    !s.Deals &&
    !s.Ticket &&
    !s.Pre &&
    !s.Seed &&
    !s.Proof &&
    !s.MessageInfo.NeedSend &&
    s.MessageInfo.PreCommitCid === null &&
    s.MessageInfo.CommitCid === null
  );
}

/**
 * A sector for a sealing thread. With `spec.Worker` (the seal store asking; our extension, see
 * src/api/sealer.ts), the store's previous sector is answered again while nothing happened to it since its
 * allocation — no ReportState, ticket, deals, reservation, PreCommit, and not finalized or aborted: the worker
 * died before it saved the answer, and a new number would leave that one skipped for good. The store → sector
 * record is written in the allocation's transaction, so this holds across manager restarts too.
 */
export async function allocateSector(
  st: SealerState,
  spec: AllocateSectorSpec,
  caller: SectorCaller,
): Promise<AllocatedSector | null> {
  const w = sealStoreOf(spec);
  if (!w) return allocateNew(st, spec, undefined, caller);
  return st.storeLock.run(`${w.Instance}\u0000${w.Location}`, async () => {
    const again = await untouchedAllocation(st, spec, w, caller);
    if (again) return again;
    return allocateNew(st, spec, w, caller);
  });
}

/** The seal store's last sector if it is still as AllocateSector left it and still allowed by `spec`. */
async function untouchedAllocation(
  st: SealerState,
  spec: AllocateSectorSpec,
  w: WorkerIdentifier,
  caller: SectorCaller,
): Promise<AllocatedSector | undefined> {
  // the store's sector and its owner in one read: naming another worker's seal store does not hand over its
  // sector (an owner changes only with a sector that is no longer untouched, checked below under its lock)
  const prev = st.o.store.allocationWithOwner(w);
  if (!prev || (prev.owner ?? '') !== ownerName(caller)) return undefined;
  const sid = prev.sid;
  return withSector(st, sid, async () => {
    const r = st.o.store.getSector(sid);
    if (!r?.online || !untouched(r.state) || st.o.store.getReservation(sid)) return undefined;
    const m = st.o.config().SectorManager.Miners.find((x) => x.ID === sid.Miner);
    const allowedMiners = spec.AllowedMiners ?? [];
    const allowedProofs = spec.AllowedProofTypes ?? [];
    if (!m || m.Disabled) return undefined;
    if (allowedMiners.length > 0 && !allowedMiners.includes(sid.Miner)) return undefined;
    if (allowedProofs.length > 0 && !allowedProofs.includes(r.state.SectorType)) return undefined;
    log.info(
      { sector: sectorName(sid), instance: w.Instance, location: w.Location },
      'sector allocated again to its seal store (never reported: the worker lost the answer)',
    );
    return { ID: { Miner: sid.Miner, Number: sid.Number }, ProofType: r.state.SectorType };
  });
}

async function allocateNew(
  st: SealerState,
  spec: AllocateSectorSpec,
  w: WorkerIdentifier | undefined,
  caller: SectorCaller,
): Promise<AllocatedSector | null> {
  const cfg = st.o.config();
  const allowedMiners = spec?.AllowedMiners ?? null;
  const allowedProofs = spec?.AllowedProofTypes ?? null;
  const candidates = [];
  for (const m of cfg.SectorManager.Miners) {
    if (m.Disabled) continue;
    if (allowedMiners && allowedMiners.length > 0 && !allowedMiners.includes(m.ID)) continue;
    let facts: Awaited<ReturnType<MinerInfoCache['get']>>;
    try {
      facts = await st.o.miners.get(m.ID);
    } catch (err) {
      log.warn({ miner: String(m.ID), err: (err as Error).message }, 'miner info unavailable, skipped');
      continue;
    }
    if (allowedProofs && allowedProofs.length > 0 && !allowedProofs.includes(facts.sealProof)) continue;
    candidates.push({ m, facts });
  }
  if (candidates.length === 0) return null;
  // random among the candidates, as the original; an exhausted miner falls through to the next one
  const order = candidates.map((c) => ({ c, r: Math.random() })).sort((a, b) => a.r - b.r);
  for (const { c } of order) {
    try {
      const n = await allocateNumber(st, c.m.ID, c.m.InitNumber, c.m.MaxNumber, c.facts.sealProof, w, caller);
      st.exhausted.delete(c.m.ID);
      const sector = { ID: { Miner: c.m.ID, Number: n }, ProofType: c.facts.sealProof };
      log.info(
        { sector: sectorName(sector.ID), proof: sector.ProofType, instance: w?.Instance, location: w?.Location },
        'sector allocated',
      );
      return sector;
    } catch (err) {
      if (err instanceof SectorNumberExhausted) {
        // as damocles: no allocation (the worker tries again later), and the reason said once per miner
        if (st.exhausted.get(c.m.ID)?.maxNumber !== err.maxNumber) {
          log.warn({ miner: String(c.m.ID) }, err.message);
        }
        st.exhausted.set(c.m.ID, err);
        continue;
      }
      throw err;
    }
  }
  return null;
}

/** Why miners get no new sectors: one "miner X: no sector number left (MaxNumber = N reached; …)" each. */
export function numberExhausted(st: SealerState): string[] {
  return [...st.exhausted.values()].map((e) => e.message);
}

/** How many numbers AllocatedOnChain asks about at once. */
export const ALLOCATED_LOOKAHEAD = 16;

/**
 * "Is number n allocated on chain" at one tipset, asked for the next ALLOCATED_LOOKAHEAD numbers at once: the
 * allocations that follow within the same tipset need no round trip while they hold the miner's number lock. An
 * answer at a tipset never changes, so this is exact (several managers included); a new head starts afresh, and a
 * failed lookup is forgotten.
 */
export class AllocatedOnChain {
  private tsk = '';
  private readonly answers = new Map<string, Promise<boolean>>();
  private head: { tsk: TipSetKey; height: number; at: number } | undefined;

  /**
   * The newer of `h` (read before the miner's lock was taken) and the head the allocation before used, so
   * allocations that queued for the lock never go back to an older head (and its lookups). A head older than
   * 10 s is not preferred: a chain that went back (a reset devnet) is followed.
   */
  newest(h: { tsk: TipSetKey; height: number }): { tsk: TipSetKey; height: number } {
    const now = Date.now();
    if (this.head && this.head.height > h.height && now - this.head.at < 10_000) return this.head;
    this.head = { ...h, at: now };
    return h;
  }

  check(
    chain: Pick<SealerState['o']['chain'], 'StateMinerSectorAllocated'>,
    miner: number,
    n: number,
    tsk: TipSetKey,
  ): Promise<boolean> {
    const at = JSON.stringify(tsk);
    if (at !== this.tsk) {
      this.tsk = at;
      this.answers.clear();
    }
    for (let i = 0; i < ALLOCATED_LOOKAHEAD; i++) {
      const key = `${miner}:${n + i}`;
      if (this.answers.has(key)) continue;
      const p = chain.StateMinerSectorAllocated(minerAddr(miner), n + i, tsk);
      this.answers.set(key, p);
      p.catch(() => {
        if (this.answers.get(key) === p) this.answers.delete(key);
      });
    }
    return this.answers.get(`${miner}:${n}`)!;
  }
}

/**
 * The next number of a miner: above the last one handed out (and above InitNumber), at most MaxNumber, and
 * not allocated on chain; numbers found allocated on chain are skipped for good. The number and the new
 * sector state (and the seal store it went to) are committed in one transaction.
 */
function allocateNumber(
  st: SealerState,
  miner: number,
  init: number,
  max: number | undefined,
  proof: number,
  w: WorkerIdentifier | undefined,
  caller: SectorCaller,
): Promise<number> {
  // the head is read before the lock is taken: allocations queued for it share one read (sharedChainHead)
  // instead of each making a chain round trip while every other allocation of the miner waits
  const early = head(st.o.chain);
  early.catch(() => {}); // awaited under the lock
  return st.numberLock.run(String(miner), async () => {
    const { tsk } = st.allocatedOnChain.newest(await early);
    let after: number | undefined;
    for (;;) {
      const n = st.o.store.nextNumberCandidate(miner, init, max, after);
      const onChain = await st.allocatedOnChain.check(st.o.chain, miner, n, tsk);
      if (onChain) {
        log.warn({ miner: String(miner), number: n }, 'sector number already allocated on chain, skipped');
        st.o.store.tx(() => st.o.store.setLastNumber(miner, n));
        after = n;
        continue;
      }
      st.o.store.tx(() => {
        st.o.store.setLastNumber(miner, n);
        const owner = ownerName(caller);
        st.o.store.putOwnedSector(newSectorState({ Miner: miner, Number: n }, proof), true, owner || null);
        // a seal store's record is its owner's: another worker naming the store does not replace it
        const prev = w && st.o.store.allocationWithOwner(w);
        if (w && (!prev || (prev.owner ?? '') === owner)) st.o.store.recordAllocation(w, { Miner: miner, Number: n });
        // a number never handed out before: its timeline starts here
        st.o.store.startSectorTimeline(
          { Miner: miner, Number: n },
          { state: 'Allocated', worker: w ? sealStoreName(w) : null },
        );
      });
      return n;
    }
  });
}

export async function allocateSectorsBatch(
  st: SealerState,
  spec: AllocateSectorSpec,
  count: number,
  caller: SectorCaller,
): Promise<AllocatedSector[]> {
  // each number is a chain query and a transaction, and is gone for good once handed out: a bounded count
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_BATCH_ALLOCATION)
    throw new RpcError(
      ErrorCode.InvalidParams,
      `AllocateSectorsBatch: count must be an integer from 1 to ${MAX_BATCH_ALLOCATION}, got ${shortJson(count)}`,
    );
  // several sectors for one caller: the one-sector-per-seal-store re-offer does not apply
  const plain = { AllowedMiners: spec?.AllowedMiners ?? null, AllowedProofTypes: spec?.AllowedProofTypes ?? null };
  const out: AllocatedSector[] = [];
  for (let i = 0; i < count; i++) {
    const s = await allocateSector(st, plain, caller);
    if (!s) break;
    out.push(s);
  }
  return out;
}

/**
 * The sector's pieces: those stored (a retried call asks nobody), else the market's deals for a miner with
 * EnableDeals (market/deals.ts), else null (committed capacity).
 */
export function acquireDeals(
  st: SealerState,
  sid: SectorID,
  spec: AcquireDealsSpec,
  caller: SectorCaller,
): Promise<SectorPieces> {
  checkSid(sid);
  return withOwnSector(st, sid, caller, async () => {
    const s = online(st, sid);
    if (!st.o.deals) return s.Pieces ?? null;
    return st.o.deals.acquire(s, spec);
  });
}

export function assignTicket(st: SealerState, sid: SectorID, caller: SectorCaller): Promise<Ticket> {
  checkSid(sid);
  return withOwnSector(st, sid, caller, async () => {
    const s = online(st, sid);
    if (s.Ticket) return s.Ticket;
    const { tsk, height } = await head(st.o.chain);
    const epoch = height - st.o.policy.sealRandomnessLookback;
    const rand = await drawTicket(st.o.chain, tsk, epoch, sid.Miner);
    s.Ticket = { Ticket: toBase64(rand), Epoch: epoch };
    save(st, s);
    log.info({ sector: sectorName(sid), epoch }, 'ticket assigned');
    return s.Ticket;
  });
}

export function waitSeed(
  st: SealerState,
  sid: SectorID,
  _proofType: number,
  caller: SectorCaller,
): Promise<WaitSeedResp> {
  checkSid(sid);
  return withOwnSector(st, sid, caller, async () => {
    const s = online(st, sid);
    if (s.Seed) return { ShouldWait: false, Delay: 0, Seed: s.Seed };
    const { tsk, height } = await head(st.o.chain);
    const pci = await preCommitInfo(st.o.chain, sid.Miner, sid.Number, tsk);
    if (!pci) throw new RpcError(1, `${sectorName(sid)}: PreCommit not found on chain`);
    const seedEpoch = pci.PreCommitEpoch + st.o.policy.preCommitChallengeDelay;
    const ready = seedEpoch + st.o.policy.interactivePoRepConfidence;
    if (height < ready) return { ShouldWait: true, Delay: (ready - height) * st.o.policy.blockDelaySecs, Seed: null };
    const rand = await drawSeed(st.o.chain, tsk, seedEpoch, sid.Miner);
    s.Seed = { Seed: toBase64(rand), Epoch: seedEpoch };
    save(st, s);
    log.info({ sector: sectorName(sid), epoch: seedEpoch }, 'seed assigned');
    return { ShouldWait: false, Delay: 0, Seed: s.Seed };
  });
}
