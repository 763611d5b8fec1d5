/**
 * The `Venus.*` service workers call (docs/spec/sealer-api.md §Manager behaviour per call). Every call is idempotent
 * per sector: the state it decides is committed to the database before the answer leaves, and a repeated call answers
 * from it — a repeated SubmitPreCommit/SubmitProof with the same content is Accepted again, different content is
 * MismatchedSubmission (unless `reset`), a repeated AssignTicket/WaitSeed returns the same ticket/seed.
 * Unknown sectors answer RPC error 11001, which makes a worker abort the sector.
 */

import {
  type AcquireDealsSpec,
  type AllocatedSector,
  type AllocateSectorSpec,
  bytes32FromJson,
  type ManagerAPI,
  type Meta,
  OnChainState,
  type PollStateResp,
  type PreCommitOnChainInfo,
  type ProofOnChainInfo,
  type ReportStateReq,
  SECTOR_STATE_NOT_FOUND,
  type SectorID,
  type SectorPieces,
  type SectorState,
  type SectorStateResp,
  type SectorWorkerState,
  type StoreBasicInfo,
  type SubmitResp,
  SubmitResult,
  sectorName,
  type Ticket,
  type WaitSeedResp,
  type WorkerIdentifier,
  type WorkerInfo,
} from '../api/sealer.js';
import { logger } from '../common/log.js';
import { VERSION } from '../common/version.js';
import {
  bytesEqual,
  cidToCommD,
  cidToCommP,
  cidToCommR,
  cidToJSON,
  commDToCid,
  commRToCid,
  fromBase64,
  toBase64,
} from '../fil/index.js';
import { computeCommD, type PieceInfo } from '../proofs/index.js';
import type { ApiImpl } from '../rpc/index.js';
import { ErrorCode, RpcError } from '../rpc/index.js';
import { callerOf, INTERNAL_CALLER, mayActOn, notYourSector, type SectorCaller } from './auth.js';
import { type ChainAPI, drawSeed, drawTicket, head, minerAddr, type NetworkPolicy, preCommitInfo } from './chain.js';
import type { CommitmentManager } from './commit/index.js';
import type { ManagerConfig } from './config.js';
import { type ManagerStore, newSectorState, SectorNumberExhausted } from './db.js';
import type { MinerInfoCache } from './miners.js';
import { KeyedMutex } from './mutex.js';
import { provableNumbers } from './provable.js';
import type { SealVerifier } from './prover.js';
import { checkReason, checkReport, checkWorkerInfo } from './reports.js';
import { basicInfo, checkSectorFiles, type PersistStores } from './stores.js';

const log = logger('sealing');

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
  /** told where each accepted WorkerPing came from ("ip:port"): the dashboard calls a worker's control API only there */
  onWorkerPing?: (name: string, remoteAddress: string) => void;
}

/** Most sectors one AllocateSectorsBatch call hands out. */
export const MAX_BATCH_ALLOCATION = 64;

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
  return new RpcError(SECTOR_STATE_NOT_FOUND, `sector state not found: ${sectorName(sid)}`);
}

function resp(res: SubmitResult, desc: string | null = null): SubmitResp {
  return { Res: res, Desc: desc };
}

function checkSid(sid: unknown): SectorID {
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

/** The pieces of a sector as the proofs module reads them; a CC sector has none. */
function piecesOf(pieces: SectorPieces): PieceInfo[] {
  return (pieces ?? []).map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) }));
}

/** A seal store as the timeline names it: "<worker instance> <location>". */
const sealStoreName = (w: WorkerIdentifier): string => `${w.Instance} ${w.Location}`;

/** AllocateSectorSpec.Worker checked: absent (or both fields empty) → undefined. */
function sealStoreOf(spec: AllocateSectorSpec): WorkerIdentifier | undefined {
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

/** The worker name a caller binds the sectors it allocates to: none for admin or a token without a name. */
function ownerName(caller: SectorCaller): string {
  return caller.admin ? '' : caller.name;
}

function sameTicket(a: Ticket, b: Ticket): boolean {
  return a.Epoch === b.Epoch && a.Ticket === b.Ticket;
}

export class SealerService {
  private readonly sectorLock = new KeyedMutex();
  private readonly numberLock = new KeyedMutex();
  private readonly storeLock = new KeyedMutex();
  /**
   * Miners out of sector numbers, with the MaxNumber they ran into: warned once (not at every worker poll);
   * a raised MaxNumber or a number handed out again clears the entry.
   */
  private readonly exhausted = new Map<number, SectorNumberExhausted>();

  constructor(private readonly o: SealerOptions) {}

  // ----------------------------------------------------------------------------------------------------------
  // helpers

  private online(sid: SectorID): SectorState {
    const r = this.o.store.getSector(sid);
    if (!r?.online) throw notFound(sid);
    return r.state;
  }

  private save(s: SectorState): void {
    this.o.store.putSector(s, true);
  }

  private withSector<T>(sid: SectorID, fn: () => Promise<T>): Promise<T> {
    return this.sectorLock.run(`${sid.Miner}-${sid.Number}`, fn);
  }

  /** A sector bound to a worker (the name in the token that allocated it) answers only that worker, or admin. */
  private checkOwner(sid: SectorID, caller: SectorCaller): void {
    if (caller.admin) return;
    const owner = this.o.store.sectorOwner(sid);
    if (!mayActOn(owner, caller)) throw notYourSector(sectorName(sid), owner ?? '', caller);
  }

  /** withSector, for a caller that must own the sector (checked under the sector's lock). */
  private withOwnSector<T>(sid: SectorID, caller: SectorCaller, fn: () => Promise<T>): Promise<T> {
    return this.withSector(sid, async () => {
      this.checkOwner(sid, caller);
      return fn();
    });
  }

  // ----------------------------------------------------------------------------------------------------------
  // allocation

  /**
   * A sector for a sealing thread. With `spec.Worker` (the seal store asking; our extension, see
   * src/api/sealer.ts), the store's previous sector is answered again while nothing happened to it since its
   * allocation — no ReportState, ticket, deals, reservation, PreCommit, and not finalized or aborted: the worker
   * died before it saved the answer, and a new number would leave that one skipped for good. The store → sector
   * record is written in the allocation's transaction, so this holds across manager restarts too.
   */
  async allocateSector(
    spec: AllocateSectorSpec,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<AllocatedSector | null> {
    const w = sealStoreOf(spec);
    if (!w) return this.allocateNew(spec, undefined, caller);
    return this.storeLock.run(`${w.Instance}\u0000${w.Location}`, async () => {
      const again = await this.untouchedAllocation(spec, w, caller);
      if (again) return again;
      return this.allocateNew(spec, w, caller);
    });
  }

  /** The seal store's last sector if it is still as AllocateSector left it and still allowed by `spec`. */
  private async untouchedAllocation(
    spec: AllocateSectorSpec,
    w: WorkerIdentifier,
    caller: SectorCaller,
  ): Promise<AllocatedSector | undefined> {
    const sid = this.o.store.allocationOf(w);
    if (!sid) return undefined;
    return this.withSector(sid, async () => {
      // naming another worker's seal store does not hand over its sector
      if ((this.o.store.sectorOwner(sid) ?? '') !== ownerName(caller)) return undefined;
      const r = this.o.store.getSector(sid);
      if (!r?.online || !untouched(r.state) || this.o.store.getReservation(sid)) return undefined;
      const m = this.o.config().SectorManager.Miners.find((x) => x.ID === sid.Miner);
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

  private async allocateNew(
    spec: AllocateSectorSpec,
    w: WorkerIdentifier | undefined,
    caller: SectorCaller,
  ): Promise<AllocatedSector | null> {
    const cfg = this.o.config();
    const allowedMiners = spec?.AllowedMiners ?? null;
    const allowedProofs = spec?.AllowedProofTypes ?? null;
    const candidates = [];
    for (const m of cfg.SectorManager.Miners) {
      if (m.Disabled) continue;
      if (allowedMiners && allowedMiners.length > 0 && !allowedMiners.includes(m.ID)) continue;
      let facts: Awaited<ReturnType<MinerInfoCache['get']>>;
      try {
        facts = await this.o.miners.get(m.ID);
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
        const n = await this.allocateNumber(c.m.ID, c.m.InitNumber, c.m.MaxNumber, c.facts.sealProof, w, caller);
        this.exhausted.delete(c.m.ID);
        const sector = { ID: { Miner: c.m.ID, Number: n }, ProofType: c.facts.sealProof };
        log.info(
          { sector: sectorName(sector.ID), proof: sector.ProofType, instance: w?.Instance, location: w?.Location },
          'sector allocated',
        );
        return sector;
      } catch (err) {
        if (err instanceof SectorNumberExhausted) {
          // as damocles: no allocation (the worker tries again later), and the reason said once per miner
          if (this.exhausted.get(c.m.ID)?.maxNumber !== err.maxNumber) {
            log.warn({ miner: String(c.m.ID) }, err.message);
          }
          this.exhausted.set(c.m.ID, err);
          continue;
        }
        throw err;
      }
    }
    return null;
  }

  /** Why miners get no new sectors: one "miner X: no sector number left (MaxNumber = N reached; …)" each. */
  numberExhausted(): string[] {
    return [...this.exhausted.values()].map((e) => e.message);
  }

  /**
   * The next number of a miner: above the last one handed out (and above InitNumber), at most MaxNumber, and
   * not allocated on chain; numbers found allocated on chain are skipped for good. The number and the new
   * sector state (and the seal store it went to) are committed in one transaction.
   */
  private allocateNumber(
    miner: number,
    init: number,
    max: number | undefined,
    proof: number,
    w: WorkerIdentifier | undefined,
    caller: SectorCaller,
  ): Promise<number> {
    return this.numberLock.run(String(miner), async () => {
      const { tsk } = await head(this.o.chain);
      let after: number | undefined;
      for (;;) {
        const n = this.o.store.nextNumberCandidate(miner, init, max, after);
        const onChain = await this.o.chain.StateMinerSectorAllocated(minerAddr(miner), n, tsk);
        if (onChain) {
          log.warn({ miner: String(miner), number: n }, 'sector number already allocated on chain, skipped');
          this.o.store.tx(() => this.o.store.setLastNumber(miner, n));
          after = n;
          continue;
        }
        this.o.store.tx(() => {
          this.o.store.setLastNumber(miner, n);
          this.o.store.putSector(newSectorState({ Miner: miner, Number: n }, proof), true);
          const owner = ownerName(caller);
          if (owner) this.o.store.setSectorOwner({ Miner: miner, Number: n }, owner);
          // a seal store's record is its owner's: another worker naming the store does not replace it
          const prev = w && this.o.store.allocationOf(w);
          if (w && (!prev || (this.o.store.sectorOwner(prev) ?? '') === owner))
            this.o.store.recordAllocation(w, { Miner: miner, Number: n });
          this.o.store.recordSectorEvent(
            { Miner: miner, Number: n },
            { state: 'Allocated', worker: w ? sealStoreName(w) : null },
          );
        });
        return n;
      }
    });
  }

  async allocateSectorsBatch(
    spec: AllocateSectorSpec,
    count: number,
    caller: SectorCaller = INTERNAL_CALLER,
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
      const s = await this.allocateSector(plain, caller);
      if (!s) break;
      out.push(s);
    }
    return out;
  }

  /** No market in this cluster: every sector is committed capacity (null pieces), unless pieces were stored. */
  acquireDeals(sid: SectorID, _spec: AcquireDealsSpec, caller: SectorCaller = INTERNAL_CALLER): Promise<SectorPieces> {
    checkSid(sid);
    return this.withOwnSector(sid, caller, async () => this.online(sid).Pieces ?? null);
  }

  // ----------------------------------------------------------------------------------------------------------
  // ticket, seed

  assignTicket(sid: SectorID, caller: SectorCaller = INTERNAL_CALLER): Promise<Ticket> {
    checkSid(sid);
    return this.withOwnSector(sid, caller, async () => {
      const s = this.online(sid);
      if (s.Ticket) return s.Ticket;
      const { tsk, height } = await head(this.o.chain);
      const epoch = height - this.o.policy.sealRandomnessLookback;
      const rand = await drawTicket(this.o.chain, tsk, epoch, sid.Miner);
      s.Ticket = { Ticket: toBase64(rand), Epoch: epoch };
      this.save(s);
      log.info({ sector: sectorName(sid), epoch }, 'ticket assigned');
      return s.Ticket;
    });
  }

  waitSeed(sid: SectorID, _proofType: number, caller: SectorCaller = INTERNAL_CALLER): Promise<WaitSeedResp> {
    checkSid(sid);
    return this.withOwnSector(sid, caller, async () => {
      const s = this.online(sid);
      if (s.Seed) return { ShouldWait: false, Delay: 0, Seed: s.Seed };
      const { tsk, height } = await head(this.o.chain);
      const pci = await preCommitInfo(this.o.chain, sid.Miner, sid.Number, tsk);
      if (!pci) throw new RpcError(1, `${sectorName(sid)}: PreCommit not found on chain`);
      const seedEpoch = pci.PreCommitEpoch + this.o.policy.preCommitChallengeDelay;
      const ready = seedEpoch + this.o.policy.interactivePoRepConfidence;
      if (height < ready)
        return { ShouldWait: true, Delay: (ready - height) * this.o.policy.blockDelaySecs, Seed: null };
      const rand = await drawSeed(this.o.chain, tsk, seedEpoch, sid.Miner);
      s.Seed = { Seed: toBase64(rand), Epoch: seedEpoch };
      this.save(s);
      log.info({ sector: sectorName(sid), epoch: seedEpoch }, 'seed assigned');
      return { ShouldWait: false, Delay: 0, Seed: s.Seed };
    });
  }

  // ----------------------------------------------------------------------------------------------------------
  // PreCommit

  submitPreCommit(
    sector: AllocatedSector,
    info: PreCommitOnChainInfo,
    reset: boolean,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<SubmitResp> {
    const sid = checkSid(sector?.ID);
    return this.withOwnSector(sid, caller, async () => {
      const s = this.online(sid);
      const commR = bytes32FromJson(info?.CommR, 'CommR');
      const commD = bytes32FromJson(info?.CommD, 'CommD');
      const ticket = info.Ticket;
      const pre = { CommR: cidToJSON(commRToCid(commR)), CommD: cidToJSON(commDToCid(commD)), Ticket: ticket };
      if (s.Pre && !reset) {
        const same =
          s.Pre.CommR['/'] === pre.CommR['/'] &&
          s.Pre.CommD['/'] === pre.CommD['/'] &&
          sameTicket(s.Pre.Ticket, ticket);
        if (!same) {
          log.warn({ sector: sectorName(sid) }, 'PreCommit resubmitted with different content');
          return resp(SubmitResult.MismatchedSubmission, 'a different PreCommit was submitted for this sector before');
        }
        return resp(SubmitResult.Accepted);
      }
      if (s.Pre && reset) {
        // a reset may replace a PreCommit that failed, never one on its way to the chain or on it: its CommR is
        // what the ProveCommit will be checked against, and the deposit is at stake
        const busy = await this.preCommitInFlight(s);
        if (busy && s.Pre.CommR['/'] !== pre.CommR['/']) {
          log.warn({ sector: sectorName(sid), why: busy }, 'PreCommit reset refused');
          return resp(SubmitResult.MismatchedSubmission, `cannot reset the PreCommit: ${busy}`);
        }
      }
      const problem = await this.checkPreCommit(s, commR, commD, ticket);
      if (problem) {
        if (problem.res !== SubmitResult.Accepted)
          log.warn({ sector: sectorName(sid), res: problem.res, why: problem.desc }, 'PreCommit refused');
        if (problem.res === SubmitResult.Accepted) {
          // already on chain: record it, nothing to send
          s.Pre = pre;
          s.MessageInfo.NeedSend = false;
          this.save(s);
        }
        return resp(problem.res, problem.desc);
      }
      s.Pre = pre;
      s.MessageInfo = { ...s.MessageInfo, PreCommitCid: null, NeedSend: true };
      delete s.SendError;
      this.save(s);
      this.o.commit.enqueue('pre', sid);
      log.info({ sector: sectorName(sid), commR: pre.CommR['/'] }, 'PreCommit accepted');
      return resp(SubmitResult.Accepted);
    });
  }

  /** Why the sector's recorded PreCommit may not be replaced now (queued, pending or on chain), or undefined. */
  private async preCommitInFlight(s: SectorState): Promise<string | undefined> {
    const sid = s.ID;
    if (s.MessageInfo.NeedSend && !s.MessageInfo.PreCommitCid) return 'its PreCommit is queued to be sent';
    const { tsk } = await head(this.o.chain);
    const pci = await preCommitInfo(this.o.chain, sid.Miner, sid.Number, tsk);
    if (pci) return `a PreCommit with SealedCID ${pci.Info.SealedCID['/']} is on chain`;
    const id = s.MessageInfo.PreCommitCid?.['/'];
    if (id) {
      const r = await this.o.commit.messageState(id);
      if (r.state === OnChainState.Pending || r.state === OnChainState.Packed || r.state === OnChainState.Landed)
        return `its PreCommit message ${id} is ${r.state === OnChainState.Pending ? 'pending' : 'on chain'}`;
    }
    return undefined;
  }

  /** checkPrecommit: CommD vs pieces, ticket value and age, the number on chain (and its SealedCID). */
  private async checkPreCommit(
    s: SectorState,
    commR: Uint8Array,
    commD: Uint8Array,
    ticket: Ticket,
  ): Promise<{ res: SubmitResult; desc: string } | undefined> {
    const sid = s.ID;
    const facts = await this.o.miners.get(sid.Miner);
    const expectD = computeCommD(facts.sectorSize, piecesOf(s.Pieces));
    if (!bytesEqual(expectD, commD)) {
      // damocles answers Mismatched (the worker pauses for a human) rather than Rejected (abort)
      return {
        res: SubmitResult.MismatchedSubmission,
        desc: `CommD ${commDToCid(commD)} differs from the pieces' ${commDToCid(expectD)}`,
      };
    }
    const { tsk, height } = await head(this.o.chain);
    if (!Number.isSafeInteger(ticket?.Epoch)) return { res: SubmitResult.Rejected, desc: 'ticket epoch missing' };
    if (ticket.Epoch > height)
      return { res: SubmitResult.Rejected, desc: `ticket epoch ${ticket.Epoch} is in the future` };
    if (ticket.Epoch < height - this.o.policy.maxPreCommitRandomnessLookback)
      return {
        res: SubmitResult.Rejected,
        desc: `ticket expired: epoch ${ticket.Epoch}, head ${height}, oldest allowed ${height - this.o.policy.maxPreCommitRandomnessLookback}`,
      };
    const expected = await drawTicket(this.o.chain, tsk, ticket.Epoch, sid.Miner);
    let given: Uint8Array;
    try {
      given = fromBase64(ticket.Ticket, 'ticket');
    } catch (err) {
      return { res: SubmitResult.Rejected, desc: (err as Error).message };
    }
    if (!bytesEqual(expected, given))
      return { res: SubmitResult.Rejected, desc: `ticket does not match the chain's randomness at ${ticket.Epoch}` };
    const pci = await preCommitInfo(this.o.chain, sid.Miner, sid.Number, tsk);
    if (pci) {
      if (pci.Info.SealRandEpoch !== ticket.Epoch)
        return {
          res: SubmitResult.Rejected,
          desc: `a PreCommit with ticket epoch ${pci.Info.SealRandEpoch} is on chain`,
        };
      const sealed = commRToCid(commR).toString();
      if (pci.Info.SealedCID['/'] !== sealed)
        return {
          res: SubmitResult.Rejected,
          desc: `the PreCommit on chain has SealedCID ${pci.Info.SealedCID['/']}, not ${sealed}`,
        };
      return { res: SubmitResult.Accepted, desc: 'PreCommit already on chain' };
    }
    if (await this.o.chain.StateMinerSectorAllocated(minerAddr(sid.Miner), sid.Number, tsk))
      return { res: SubmitResult.Rejected, desc: `sector number ${sid.Number} is already allocated on chain` };
    return undefined;
  }

  pollPreCommitState(sid: SectorID): Promise<PollStateResp> {
    checkSid(sid);
    return this.withSector(sid, async () => {
      const s = this.online(sid);
      if (!s.Pre) return { State: OnChainState.NotFound, Desc: 'no PreCommit submitted' };
      const id = s.MessageInfo.PreCommitCid?.['/'];
      if (!id) {
        if (s.MessageInfo.NeedSend) return { State: OnChainState.Pending, Desc: null };
        const { tsk } = await head(this.o.chain);
        if (await preCommitInfo(this.o.chain, sid.Miner, sid.Number, tsk))
          return { State: OnChainState.Landed, Desc: null };
        return { State: OnChainState.Failed, Desc: s.SendError ?? 'attempt to publish message but failed' };
      }
      const r = await this.o.commit.messageState(id);
      if (r.state === OnChainState.Landed) {
        const { tsk } = await head(this.o.chain);
        const pci = await preCommitInfo(this.o.chain, sid.Miner, sid.Number, tsk);
        if (!pci) {
          // the message landed but the PreCommit is gone: expired, or proven meanwhile
          const active = await this.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk);
          if (!active) return { State: OnChainState.ShouldAbort, Desc: 'PreCommit landed but is no longer on chain' };
        }
      }
      return { State: r.state, Desc: r.desc };
    });
  }

  // ----------------------------------------------------------------------------------------------------------
  // persist

  submitPersisted(sid: SectorID, instance: string, caller: SectorCaller = INTERNAL_CALLER): Promise<boolean> {
    return this.submitPersistedEx(sid, instance, false, caller);
  }

  submitPersistedEx(
    sid: SectorID,
    instance: string,
    isUpgrade: boolean,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<boolean> {
    checkSid(sid);
    return this.withOwnSector(sid, caller, async () => {
      this.online(sid);
      const store = this.o.stores.get(instance);
      if (!store) {
        log.warn({ sector: sectorName(sid), instance }, 'SubmitPersisted: unknown persist store');
        return false;
      }
      const facts = await this.o.miners.get(sid.Miner);
      const why = await checkSectorFiles(store.path, store.path, sid, facts.sectorSize, store.strict);
      if (why) {
        log.warn({ sector: sectorName(sid), instance, why }, 'SubmitPersisted: files not usable');
        return false;
      }
      this.o.store.indexSector(isUpgrade ? 'upgrade' : 'normal', sid, { SealedFile: instance, CacheDir: instance });
      log.info({ sector: sectorName(sid), instance }, 'sector persisted');
      return true;
    });
  }

  // ----------------------------------------------------------------------------------------------------------
  // ProveCommit

  submitProof(
    sid: SectorID,
    info: ProofOnChainInfo,
    reset: boolean,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<SubmitResp> {
    checkSid(sid);
    return this.withOwnSector(sid, caller, async () => {
      const s = this.online(sid);
      if (!s.Pre) return resp(SubmitResult.Rejected, 'PreCommit info not found');
      let proof: Uint8Array;
      try {
        proof = fromBase64(info?.Proof ?? '', 'Proof');
      } catch (err) {
        return resp(SubmitResult.Rejected, (err as Error).message);
      }
      if (proof.length === 0) return resp(SubmitResult.Rejected, 'empty proof');
      if (s.Proof && !reset) {
        if (s.Proof.Proof !== info.Proof) {
          log.warn({ sector: sectorName(sid) }, 'proof resubmitted with different content');
          return resp(SubmitResult.MismatchedSubmission, 'a different proof was submitted for this sector before');
        }
        return resp(SubmitResult.Accepted);
      }
      const problem = await this.checkCommit(s, proof);
      if (problem) {
        if (problem.res === SubmitResult.Accepted) {
          s.Proof = { Proof: toBase64(proof) };
          s.MessageInfo.NeedSend = false;
          this.save(s);
        } else log.warn({ sector: sectorName(sid), res: problem.res, why: problem.desc }, 'proof refused');
        return resp(problem.res, problem.desc);
      }
      s.Proof = { Proof: toBase64(proof) };
      s.MessageInfo = { ...s.MessageInfo, CommitCid: null, NeedSend: true };
      delete s.SendError;
      this.save(s);
      this.o.commit.enqueue('prove', sid);
      log.info({ sector: sectorName(sid) }, 'proof accepted');
      return resp(SubmitResult.Accepted);
    });
  }

  /** checkCommit: PreCommit on chain, seed epoch reached and seed value right, proof verified locally. */
  private async checkCommit(
    s: SectorState,
    proof: Uint8Array,
  ): Promise<{ res: SubmitResult; desc: string } | undefined> {
    const sid = s.ID;
    const { tsk, height } = await head(this.o.chain);
    if (await this.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk))
      return { res: SubmitResult.Accepted, desc: 'sector already proven on chain' };
    const pci = await preCommitInfo(this.o.chain, sid.Miner, sid.Number, tsk);
    if (!pci) return { res: SubmitResult.Rejected, desc: 'no PreCommit on chain for this sector' };
    if (!s.Seed) return { res: SubmitResult.Rejected, desc: 'no seed assigned (call WaitSeed first)' };
    const seedEpoch = pci.PreCommitEpoch + this.o.policy.preCommitChallengeDelay;
    if (s.Seed.Epoch !== seedEpoch)
      return { res: SubmitResult.Rejected, desc: `seed epoch ${s.Seed.Epoch} is not the PreCommit's ${seedEpoch}` };
    if (height < seedEpoch)
      return { res: SubmitResult.Rejected, desc: `seed epoch ${seedEpoch} not reached (head ${height})` };
    const seed = await drawSeed(this.o.chain, tsk, seedEpoch, sid.Miner);
    if (!bytesEqual(seed, fromBase64(s.Seed.Seed, 'seed')))
      return { res: SubmitResult.Rejected, desc: 'seed differs from the chain (reorg?)' };
    const pre = s.Pre!;
    const ok = await this.o.verifier.verifySeal({
      sealProof: s.SectorType,
      minerId: sid.Miner,
      sectorNumber: sid.Number,
      ticket: fromBase64(pre.Ticket.Ticket, 'ticket'),
      seed,
      commR: bytes32OfCid(pre.CommR, 'R'),
      commD: bytes32OfCid(pre.CommD, 'D'),
      proof,
    });
    if (!ok) return { res: SubmitResult.Rejected, desc: 'invalid proof (local verification failed)' };
    return undefined;
  }

  pollProofState(sid: SectorID): Promise<PollStateResp> {
    checkSid(sid);
    return this.withSector(sid, async () => {
      const s = this.online(sid);
      if (!s.Proof) return { State: OnChainState.NotFound, Desc: 'no proof submitted' };
      const id = s.MessageInfo.CommitCid?.['/'];
      const { tsk } = await head(this.o.chain);
      if (!id) {
        if (s.MessageInfo.NeedSend) return { State: OnChainState.Pending, Desc: null };
        if (await this.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk))
          return { State: OnChainState.Landed, Desc: null };
        return { State: OnChainState.Failed, Desc: s.SendError ?? 'attempt to publish message but failed' };
      }
      const rec = this.o.store.getMessage(id);
      const index = rec ? rec.sectors.indexOf(sid.Number) : undefined;
      const r = await this.o.commit.messageState(id, index !== undefined && index >= 0 ? index : undefined);
      if (r.state === OnChainState.Landed) {
        const active = await this.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk);
        if (!active)
          return { State: OnChainState.PermFailed, Desc: 'ProveCommit landed but the sector is not on chain' };
      }
      return { State: r.state, Desc: r.desc };
    });
  }

  // ----------------------------------------------------------------------------------------------------------
  // reports

  reportState(sid: SectorID, raw: ReportStateReq, caller: SectorCaller = INTERNAL_CALLER): Promise<SectorStateResp> {
    checkSid(sid);
    const req = checkReport(raw);
    return this.withOwnSector(sid, caller, async () => {
      const r = this.o.store.getSector(sid);
      if (!r) throw notFound(sid);
      if (!r.online) return { Id: sid, Finalized: true, AbortReason: r.state.AbortReason || null };
      r.state.LatestState = req;
      this.o.store.tx(() => {
        this.save(r.state);
        this.o.store.recordSectorEvent(sid, {
          state: req.StateChange.Next,
          event: req.StateChange.Event || null,
          worker: sealStoreName(req.Worker),
          failure: req.Failure ? `${req.Failure.Level}: ${req.Failure.Desc}` : null,
        });
      });
      return { Id: sid, Finalized: false, AbortReason: null };
    });
  }

  reportFinalized(sid: SectorID, caller: SectorCaller = INTERNAL_CALLER): Promise<Meta> {
    checkSid(sid);
    return this.withOwnSector(sid, caller, async () => {
      const r = this.o.store.getSector(sid);
      if (!r) throw notFound(sid);
      if (r.online) {
        r.state.Finalized = true;
        this.o.store.tx(() => {
          this.o.store.putSector(r.state, false);
          this.o.stores.release(sid);
          this.o.store.recordSectorEvent(sid, { state: 'Finalized' });
        });
        log.info({ sector: sectorName(sid) }, 'sector finalized');
      }
      return {};
    });
  }

  reportAborted(sid: SectorID, raw: string, caller: SectorCaller = INTERNAL_CALLER): Promise<Meta> {
    checkSid(sid);
    const reason = checkReason(raw);
    return this.withOwnSector(sid, caller, async () => {
      const r = this.o.store.getSector(sid);
      if (!r) throw notFound(sid);
      if (r.online) {
        r.state.AbortReason = reason || 'aborted';
        r.state.Finalized = true;
        r.state.MessageInfo.NeedSend = false;
        this.o.commit.cancel(sid);
        this.o.store.tx(() => {
          this.o.store.putSector(r.state, false);
          this.o.stores.release(sid);
          this.o.store.recordSectorEvent(sid, { state: 'Aborted', failure: r.state.AbortReason });
        });
        log.warn({ sector: sectorName(sid), reason }, 'sector aborted');
      }
      return {};
    });
  }

  // ----------------------------------------------------------------------------------------------------------
  // workers and stores

  workerPing(raw: WorkerInfo, caller: SectorCaller = INTERNAL_CALLER): Meta {
    const info = checkWorkerInfo(raw);
    // a worker's token names it: it may not ping (and so show on the dashboard) as another worker
    if (!caller.admin && caller.name && info.Name !== caller.name)
      throw new RpcError(
        1,
        `WorkerPing: the token is for worker "${caller.name}", not "${info.Name.slice(0, 64)}" (set [instance] name = "${caller.name}")`,
      );
    this.o.store.pingWorker(info);
    return {};
  }

  storeReserveSpace(
    sid: SectorID,
    size: number,
    candidates: string[] | null,
    caller: SectorCaller = INTERNAL_CALLER,
  ): StoreBasicInfo | null {
    checkSid(sid);
    this.online(sid);
    this.checkOwner(sid, caller);
    if (!Number.isSafeInteger(size) || size <= 0) throw new RpcError(1, `invalid size ${size}`);
    return this.o.stores.reserve(sid, size, candidates);
  }

  /** The store a worker names, by Name or else by Path (the name a worker's store has when none is set). */
  storeBasicInfo(name: string): StoreBasicInfo | null {
    const s = this.o.stores.find(name);
    return s ? basicInfo(s) : null;
  }

  // ----------------------------------------------------------------------------------------------------------
  // CLI

  listSectors(state: SectorWorkerState, _job: number): SectorState[] {
    return this.o.store.listSectors(state !== 'offline');
  }

  findSector(state: SectorWorkerState, sid: SectorID): SectorState | null {
    const r = this.o.store.getSector(checkSid(sid));
    if (!r || r.online !== (state !== 'offline')) return null;
    return r.state;
  }

  findSectorInAllStates(sid: SectorID): SectorState | null {
    return this.o.store.getSector(checkSid(sid))?.state ?? null;
  }

  restoreSector(sid: SectorID, forced: boolean): Promise<Meta> {
    checkSid(sid);
    return this.withSector(sid, async () => {
      const r = this.o.store.getSector(sid);
      if (!r) throw notFound(sid);
      if (r.online) return {};
      if (r.state.AbortReason && !forced)
        throw new RpcError(1, `${sectorName(sid)} was aborted (${r.state.AbortReason}); use --force to restore it`);
      r.state.Finalized = false;
      r.state.AbortReason = '';
      this.o.store.tx(() => {
        this.o.store.putSector(r.state, true);
        this.o.store.recordSectorEvent(sid, { state: 'Restored' });
      });
      log.info({ sector: sectorName(sid) }, 'sector restored online');
      return {};
    });
  }

  /** The ApiImpl of everything under `Venus` the manager serves. */
  api(): ApiImpl<typeof ManagerAPI> {
    const unsupported = (what: string) => () => {
      throw new RpcError(1, `${what} is not supported by this sector-manager`);
    };
    return {
      AllocateSector: (spec, ctx) => this.allocateSector(spec, callerOf(ctx)),
      AllocateSectorsBatch: (spec, count, ctx) => this.allocateSectorsBatch(spec, count, callerOf(ctx)),
      AcquireDeals: (sid, spec, ctx) => this.acquireDeals(sid, spec, callerOf(ctx)),
      AssignTicket: (sid, ctx) => this.assignTicket(sid, callerOf(ctx)),
      SubmitPreCommit: (sector, info, reset, ctx) => this.submitPreCommit(sector, info, reset, callerOf(ctx)),
      PollPreCommitState: (sid) => this.pollPreCommitState(sid),
      SubmitPersisted: (sid, instance, ctx) => this.submitPersisted(sid, instance, callerOf(ctx)),
      SubmitPersistedEx: (sid, instance, up, ctx) => this.submitPersistedEx(sid, instance, up, callerOf(ctx)),
      WaitSeed: (sid, proofType, ctx) => this.waitSeed(sid, proofType, callerOf(ctx)),
      SubmitProof: (sid, info, reset, ctx) => this.submitProof(sid, info, reset, callerOf(ctx)),
      PollProofState: (sid) => this.pollProofState(sid),
      ReportState: (sid, req, ctx) => this.reportState(sid, req, callerOf(ctx)),
      ReportFinalized: (sid, ctx) => this.reportFinalized(sid, callerOf(ctx)),
      ReportAborted: (sid, reason, ctx) => this.reportAborted(sid, reason, callerOf(ctx)),
      AllocateSanpUpSector: () => null,
      SubmitSnapUpProof: () => resp(SubmitResult.Rejected, 'snapup is not supported by this sector-manager'),
      AllocateRebuildSector: () => null,
      WorkerPing: async (info, ctx) => {
        const r = await this.workerPing(info, callerOf(ctx));
        this.o.onWorkerPing?.(info.Name, ctx.remoteAddress);
        return r;
      },
      StoreReserveSpace: (sid, size, candidates, ctx) => this.storeReserveSpace(sid, size, candidates, callerOf(ctx)),
      StoreBasicInfo: (name) => this.storeBasicInfo(name),
      AllocateUnsealSector: () => null,
      AchieveUnsealSector: () => ({}),
      AcquireUnsealDest: () => [],
      // worker-prover mode (--worker-prover) is not offered: workers with plan "wdpost" get no jobs
      WdPoStAllocateJobs: () => [],
      WdPoStHeartbeatJobs: () => ({}),
      WdPoStFinishJob: unsupported('WdPoStFinishJob (worker-prover mode)'),
      WdPoStResetJob: unsupported('WdPoStResetJob (worker-prover mode)'),
      WdPoStRemoveJob: unsupported('WdPoStRemoveJob (worker-prover mode)'),
      WdPoStAllJobs: () => [],
      ListSectors: (state, job) => this.listSectors(state, job),
      FindSector: (state, sid) => this.findSector(state, sid),
      FindSectorInAllStates: (sid) => this.findSectorInAllStates(sid),
      FindSectorsWithDeal: () => [],
      FindSectorWithPiece: () => null,
      ImportSector: unsupported('ImportSector'),
      RestoreSector: (sid, forced) => this.restoreSector(sid, forced),
      CheckProvable: async (mid, _postProof, sectors, strict) => {
        const numbers = provableNumbers(mid, sectors);
        if (typeof strict !== 'boolean')
          throw new RpcError(ErrorCode.InvalidParams, 'CheckProvable: strict must be true or false');
        if (!this.o.checkProvable) throw new RpcError(1, 'CheckProvable needs the daemon');
        return this.o.checkProvable(mid, numbers, strict);
      },
      SimulateWdPoSt: unsupported('SimulateWdPoSt'),
      ProvingSectorInfo: unsupported('ProvingSectorInfo'),
      WorkerGetPingInfo: (name) => this.o.store.getWorker(name) ?? null,
      WorkerPingInfoList: () => this.o.store.listWorkers(),
      WorkerPingInfoRemove: (name) => {
        this.o.store.removeWorker(name);
        return null;
      },
      SectorIndexerFind: (kind, sid) => {
        const at = this.o.store.findSector(kind, checkSid(sid));
        return { Found: at !== undefined, Instance: at ?? { SealedFile: '', CacheDir: '' } };
      },
      TerminateSector: () => resp(SubmitResult.Rejected, 'TerminateSector is not supported by this sector-manager'),
      PollTerminateSectorState: unsupported('PollTerminateSectorState'),
      RemoveSector: unsupported('RemoveSector'),
      FinalizeSector: async (sid) => {
        await this.reportFinalized(sid);
        return null;
      },
      StoreReleaseReserved: (sid) => this.o.stores.release(checkSid(sid)),
      StoreList: () => this.o.stores.detailed(),
      SectorSetForRebuild: unsupported('SectorSetForRebuild'),
      UnsealPiece: unsupported('UnsealPiece'),
      Version: () => VERSION,
      GetTicket: unsupported('GetTicket'),
      GetSeed: unsupported('GetSeed'),
      GetWindowPoStChanlleengeRand: unsupported('GetWindowPoStChanlleengeRand'),
      GetWindowPoStCommitRand: unsupported('GetWindowPoStCommitRand'),
      GetInfo: async (mid) => {
        const f = await this.o.miners.get(mid);
        return {
          ID: mid,
          Addr: minerAddr(mid),
          SectorSize: f.sectorSize,
          WindowPoStProofType: f.windowPoStProof,
          SealProofType: f.sealProof,
        };
      },
      GetMinerConfig: unsupported('GetMinerConfig'),
    };
  }
}

function bytes32OfCid(c: { '/': string }, kind: 'R' | 'D'): Uint8Array {
  return kind === 'R' ? cidToCommR(c) : cidToCommD(c);
}
