/**
 * For tests of the sealing threads only: a small in-memory sector manager serving the Venus.* methods a
 * worker calls, over the real JSON-RPC server, with failure injection. It checks what a real manager checks
 * about idempotency (identical resubmissions are DuplicateSubmit, different ones Mismatched) and counts the
 * messages it would have sent, but has no chain: states land after a configurable number of polls.
 * The real manager is src/manager/.
 */
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { SectorStateNotFoundError } from '../../api/errors.js';
import {
  type AllocatedSector,
  type AllocatedSnapUpSector,
  type AllocateSectorSpec,
  type AllocateSnapUpSpec,
  OnChainState,
  type PreCommitOnChainInfo,
  type ReportStateReq,
  SealerMethods,
  type SectorID,
  type SectorPieceV2,
  type SectorRebuildInfo,
  type SectorUnsealInfo,
  type SnapUpOnChainInfo,
  type StoreBasicInfo,
  SubmitResult,
} from '../../api/sealer.js';
import { defineApi, RpcError, RpcServer } from '../../rpc/index.js';

const M = SealerMethods;
/** The subset of SealerAPI a sealer-plan worker calls. */
export const FakeSealerAPI = defineApi('Venus', {
  AllocateSector: M.AllocateSector,
  AcquireDeals: M.AcquireDeals,
  AssignTicket: M.AssignTicket,
  SubmitPreCommit: M.SubmitPreCommit,
  PollPreCommitState: M.PollPreCommitState,
  SubmitPersistedEx: M.SubmitPersistedEx,
  WaitSeed: M.WaitSeed,
  SubmitProof: M.SubmitProof,
  PollProofState: M.PollProofState,
  ReportState: M.ReportState,
  ReportFinalized: M.ReportFinalized,
  ReportAborted: M.ReportAborted,
  StoreReserveSpace: M.StoreReserveSpace,
  StoreBasicInfo: M.StoreBasicInfo,
  WorkerPing: M.WorkerPing,
  AllocateUnsealSector: M.AllocateUnsealSector,
  AchieveUnsealSector: M.AchieveUnsealSector,
  AcquireUnsealDest: M.AcquireUnsealDest,
  AllocateRebuildSector: M.AllocateRebuildSector,
  AllocateSanpUpSector: M.AllocateSanpUpSector,
  SubmitSnapUpProof: M.SubmitSnapUpProof,
});

export interface FakeSector {
  allocated: AllocatedSector;
  /** "instance|location" of the seal store it was allocated to. */
  allocatedTo: string | null;
  ticket: { Ticket: string; Epoch: number } | null;
  pre: PreCommitOnChainInfo | null;
  prePolls: number;
  persisted: string | null;
  seed: { Seed: string; Epoch: number } | null;
  proof: string | null;
  proofPolls: number;
  finalized: boolean;
  abortReason: string | null;
  states: ReportStateReq[];
  /** The deal pieces AcquireDeals assigned (kept: the same sector asking again gets the same). */
  deals: SectorPieceV2[] | null;
  /** What SubmitSnapUpProof was accepted with (its landing is polled with PollProofState, like a ProveCommit). */
  snapup?: SnapUpOnChainInfo | null;
  /** The persist store SubmitPersistedEx(…, isUpgrade = true) indexed the update files in. */
  upgradePersisted?: string | null;
}

export class FakeManager {
  readonly sectors = new Map<number, FakeSector>();
  /** Messages the manager would have sent (a resubmission after Failed counts again). */
  readonly messages: { kind: 'precommit' | 'prove' | 'snapup'; number: number }[] = [];
  /** Sectors still to hand out; AllocateSector answers null after. */
  remaining: number;
  nextNumber = 1;
  miner = 1000;
  proofType = 5; // StackedDrg2KiBV1_1
  /** Polls before a message lands. */
  landAfter = 1;
  /** PollProofState answers Failed this many times (a ProveCommit or update message that failed on chain). */
  failProofs = 0;
  /** Name → path of the persist stores it knows. */
  stores = new Map<string, string>();
  /**
   * The manager's own persist stores (src/manager/stores.ts PersistStores), when a test wants its matching and
   * reservations instead of the name-only `stores` map.
   */
  persist: {
    reserve(sid: SectorID, size: number, candidates: string[] | null): StoreBasicInfo | null;
    find(nameOrPath: string): { name: string; path: string } | undefined;
    get(name: string): { name: string; path: string } | undefined;
  } | null = null;
  /** method → errors to throw on its next calls (RpcError: a temporary failure for the worker). */
  failures = new Map<string, (() => Error)[]>();
  calls: string[] = [];
  /** Allocate the next sector but lose the answer (a crash between allocation and the worker's save). */
  loseNextAllocation = false;
  /** Deal pieces for the next sector that asks (AcquireDeals; null: a CC sector). */
  nextDeals: SectorPieceV2[] | null = null;
  /** Unseal tasks to hand out (AllocateUnsealSector), and what the worker answered for each. */
  unsealTasks: SectorUnsealInfo[] = [];
  unsealDests: string[] = [];
  achieved: { sid: SectorID; pieceCid: string; errInfo: string }[] = [];
  /** Rebuild tasks not handed out yet, and those handed out by "instance|location" (AllocateRebuildSector). */
  rebuilds: SectorRebuildInfo[] = [];
  rebuildsHanded = new Map<string, SectorRebuildInfo>();
  /** SnapUp allocations not handed out yet, and those handed out by "instance|location" (AllocateSanpUpSector). */
  snapups: AllocatedSnapUpSector[] = [];
  snapupsHanded = new Map<string, AllocatedSnapUpSector>();
  /** Called on every ReportState, before it answers (tests snapshot the worker's files here). */
  onReport: ((sid: SectorID, req: ReportStateReq) => void) | null = null;
  private server: RpcServer | null = null;
  port = 0;

  constructor(opts: { sectors?: number } = {}) {
    this.remaining = opts.sectors ?? 1;
  }

  failNext(method: string, err: () => Error = () => new RpcError(1, `${method}: injected failure`), times = 1) {
    const q = this.failures.get(method) ?? [];
    for (let i = 0; i < times; i++) q.push(err);
    this.failures.set(method, q);
  }

  private hit(method: string): void {
    this.calls.push(method);
    const e = this.failures.get(method)?.shift();
    if (e) throw e();
  }

  private sector(sid: SectorID): FakeSector {
    const s = this.sectors.get(sid.Number);
    if (!s || sid.Miner !== this.miner) throw new SectorStateNotFoundError('sector state not found');
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/rpc/v0`;
  }

  /** Serves on `port` (0: a free one, remembered for later restarts). */
  async listen(port = this.port): Promise<void> {
    const server = new RpcServer({ auth: null });
    server.register(FakeSealerAPI, this.impl());
    this.port = (await server.listen({ host: '127.0.0.1', port })).port;
    this.server = server;
  }

  /**
   * One more server over the same state (a second manager sharing the first one's database, for failover
   * tests); closed by the caller.
   */
  async serveAlso(port = 0): Promise<{ url: string; server: RpcServer }> {
    const server = new RpcServer({ auth: null });
    server.register(FakeSealerAPI, this.impl());
    ({ port } = await server.listen({ host: '127.0.0.1', port }));
    return { url: `http://127.0.0.1:${port}/rpc/v0`, server };
  }

  /** Stops serving (the worker sees the manager unreachable). */
  async down(): Promise<void> {
    await this.server?.close();
    this.server = null;
  }

  /** As SectorSetForRebuild: the (finalized) sector is active again and a rebuild task waits for a thread. */
  setForRebuild(number: number, task: Partial<SectorRebuildInfo> = {}): SectorRebuildInfo {
    const s = this.sectors.get(number);
    if (!s?.ticket) throw new Error(`fake manager: sector ${number} was not sealed here`);
    s.finalized = false;
    s.abortReason = null;
    s.persisted = null;
    const info: SectorRebuildInfo = {
      Sector: s.allocated,
      Ticket: s.ticket,
      Pieces: null,
      PiecesV2: null,
      IsSnapUp: false,
      UpgradePublic: null,
      ...task,
    };
    this.rebuilds.push(info);
    return info;
  }

  private newSector(allocated: AllocatedSector, w: AllocateSectorSpec['Worker']): FakeSector {
    return {
      allocated,
      allocatedTo: w ? `${w.Instance}|${w.Location}` : null,
      ticket: null,
      pre: null,
      prePolls: 0,
      persisted: null,
      seed: null,
      proof: null,
      proofPolls: 0,
      finalized: false,
      abortReason: null,
      states: [],
      deals: null,
    };
  }

  /** Whether a persist store holds a sector's files: sealed/ and cache/, or update/ and update-cache/. */
  private async hasFiles(sid: SectorID, instance: string, upgrade: boolean): Promise<boolean> {
    const root = this.persist ? this.persist.get(instance)?.path : this.stores.get(instance);
    if (!root) return false;
    const name = `s-t0${sid.Miner}-${sid.Number}`;
    try {
      await access(join(root, upgrade ? 'update' : 'sealed', name));
      await access(join(root, upgrade ? 'update-cache' : 'cache', name, 'p_aux'));
    } catch {
      return false;
    }
    return true;
  }

  private impl() {
    return {
      AllocateSector: (spec: AllocateSectorSpec) => {
        this.hit('AllocateSector');
        // re-offer what this seal store was given and never reported (the AllocateSectorSpec.Worker extension)
        const w = spec.Worker;
        if (w) {
          for (const s of this.sectors.values()) {
            if (s.allocatedTo === `${w.Instance}|${w.Location}` && s.states.length === 0 && !s.finalized) {
              return s.allocated;
            }
          }
        }
        if (this.loseNextAllocation) {
          // the answer is lost on the way (as if the worker died before saving it)
          this.loseNextAllocation = false;
          this.remaining--;
          const allocated = { ID: { Miner: this.miner, Number: this.nextNumber++ }, ProofType: this.proofType };
          this.sectors.set(allocated.ID.Number, this.newSector(allocated, w));
          throw new RpcError(1, 'connection reset while answering');
        }
        if (this.remaining <= 0) return null;
        this.remaining--;
        const allocated = { ID: { Miner: this.miner, Number: this.nextNumber++ }, ProofType: this.proofType };
        this.sectors.set(allocated.ID.Number, this.newSector(allocated, w));
        return allocated;
      },
      AcquireDeals: (sid: SectorID) => {
        this.hit('AcquireDeals');
        const s = this.sector(sid);
        if (!s.deals && this.nextDeals) {
          s.deals = this.nextDeals;
          this.nextDeals = null;
        }
        return s.deals;
      },
      AssignTicket: (sid: SectorID) => {
        this.hit('AssignTicket');
        const s = this.sector(sid);
        s.ticket = { Ticket: randomBytes(32).toString('base64'), Epoch: 100 };
        return s.ticket;
      },
      SubmitPreCommit: (a: AllocatedSector, info: PreCommitOnChainInfo, reset: boolean) => {
        this.hit('SubmitPreCommit');
        const s = this.sector(a.ID);
        if (s.pre && !reset) {
          const same = JSON.stringify(s.pre) === JSON.stringify(info);
          return { Res: same ? SubmitResult.DuplicateSubmit : SubmitResult.MismatchedSubmission, Desc: null };
        }
        s.pre = info;
        s.prePolls = 0;
        this.messages.push({ kind: 'precommit', number: a.ID.Number });
        return { Res: SubmitResult.Accepted, Desc: null };
      },
      PollPreCommitState: (sid: SectorID) => {
        this.hit('PollPreCommitState');
        const s = this.sector(sid);
        if (!s.pre) return { State: OnChainState.NotFound, Desc: null };
        s.prePolls++;
        return { State: s.prePolls > this.landAfter ? OnChainState.Landed : OnChainState.Pending, Desc: null };
      },
      StoreReserveSpace: (sid: SectorID, size: number, candidates: string[] | null) => {
        this.hit('StoreReserveSpace');
        if (this.persist) return this.persist.reserve(sid, size, candidates);
        const name = (candidates ?? []).find((c) => this.stores.has(c));
        if (!name) return null;
        return { Name: name, Path: this.stores.get(name)!, Strict: false, ReadOnly: false, Weight: 1, Meta: null };
      },
      StoreBasicInfo: (name: string) => {
        this.hit('StoreBasicInfo');
        if (this.persist) {
          const s = this.persist.find(name);
          return s ? { Name: s.name, Path: s.path, Strict: false, ReadOnly: false, Weight: 1, Meta: null } : null;
        }
        const p = this.stores.get(name);
        return p ? { Name: name, Path: p, Strict: false, ReadOnly: false, Weight: 1, Meta: null } : null;
      },
      SubmitPersistedEx: async (sid: SectorID, instance: string, isUpgrade: boolean) => {
        this.hit('SubmitPersistedEx');
        const s = this.sector(sid);
        if (!(await this.hasFiles(sid, instance, isUpgrade))) return false;
        if (isUpgrade) s.upgradePersisted = instance;
        else s.persisted = instance;
        return true;
      },
      WaitSeed: (sid: SectorID) => {
        this.hit('WaitSeed');
        const s = this.sector(sid);
        if (!s.seed) s.seed = { Seed: randomBytes(32).toString('base64'), Epoch: 300 };
        return { ShouldWait: false, Delay: 0, Seed: s.seed };
      },
      SubmitProof: (sid: SectorID, info: { Proof: string }, reset: boolean) => {
        this.hit('SubmitProof');
        const s = this.sector(sid);
        if (s.proof && !reset) {
          return {
            Res: s.proof === info.Proof ? SubmitResult.DuplicateSubmit : SubmitResult.MismatchedSubmission,
            Desc: null,
          };
        }
        s.proof = info.Proof;
        s.proofPolls = 0;
        this.messages.push({ kind: 'prove', number: sid.Number });
        return { Res: SubmitResult.Accepted, Desc: null };
      },
      PollProofState: (sid: SectorID) => {
        this.hit('PollProofState');
        const s = this.sector(sid);
        if (!s.proof) return { State: OnChainState.NotFound, Desc: null };
        if (this.failProofs > 0) {
          // the message failed on chain: the submission is forgotten, a resubmission sends a new one
          this.failProofs--;
          s.proof = null;
          s.snapup = null;
          return { State: OnChainState.Failed, Desc: 'injected: message failed' };
        }
        s.proofPolls++;
        return { State: s.proofPolls > this.landAfter ? OnChainState.Landed : OnChainState.Pending, Desc: null };
      },
      ReportState: (sid: SectorID, req: ReportStateReq) => {
        this.hit('ReportState');
        const s = this.sector(sid);
        s.states.push(req);
        this.onReport?.(sid, req);
        return { Id: sid, Finalized: s.finalized, AbortReason: s.abortReason };
      },
      ReportFinalized: (sid: SectorID) => {
        this.hit('ReportFinalized');
        this.sector(sid).finalized = true;
        return {};
      },
      ReportAborted: (sid: SectorID, reason: string) => {
        this.hit('ReportAborted');
        const s = this.sector(sid);
        s.finalized = true;
        s.abortReason = reason;
        return {};
      },
      WorkerPing: () => {
        this.hit('WorkerPing');
        return {};
      },
      AllocateUnsealSector: () => {
        this.hit('AllocateUnsealSector');
        const info = this.unsealTasks.shift();
        if (!info) return null;
        // an unseal runs on a sector finalized long ago: ReportState answers Finalized for it
        if (!this.sectors.has(info.Sector.ID.Number)) {
          const s = this.newSector(info.Sector, undefined);
          s.finalized = true;
          this.sectors.set(info.Sector.ID.Number, s);
        }
        return info;
      },
      AchieveUnsealSector: (sid: SectorID, pieceCid: { '/': string }, errInfo: string) => {
        this.hit('AchieveUnsealSector');
        this.achieved.push({ sid, pieceCid: pieceCid['/'], errInfo });
        return {};
      },
      AcquireUnsealDest: () => {
        this.hit('AcquireUnsealDest');
        return this.unsealDests;
      },
      AllocateSanpUpSector: (spec: AllocateSnapUpSpec) => {
        this.hit('AllocateSanpUpSector');
        const w = spec.Sector?.Worker ? `${spec.Sector.Worker.Instance}|${spec.Sector.Worker.Location}` : '';
        const again = this.snapupsHanded.get(w);
        if (again && !this.sector(again.Sector.ID).finalized) return again;
        const a = this.snapups.shift();
        if (!a) return null;
        // as damocles' Restore: the finalized CC sector is online again, with the deals and without a submission
        const s = this.sector(a.Sector.ID);
        s.finalized = false;
        s.abortReason = null;
        s.deals = a.Pieces;
        s.snapup = null;
        s.proof = null;
        this.snapupsHanded.set(w, a);
        return a;
      },
      SubmitSnapUpProof: async (sid: SectorID, info: SnapUpOnChainInfo) => {
        this.hit('SubmitSnapUpProof');
        const s = this.sector(sid);
        if (!info.Proof) return { Res: SubmitResult.Rejected, Desc: 'empty proof is invalid' };
        const want = (s.deals ?? []).map((p) => p.Piece.PieceCID['/']);
        const got = (info.Pieces ?? []).map((c) => c['/']);
        if (JSON.stringify(want) !== JSON.stringify(got)) {
          return { Res: SubmitResult.Rejected, Desc: `pieces ${got.join(',')} are not the sector's` };
        }
        if (!(await this.hasFiles(sid, info.AccessInstance, true))) {
          return { Res: SubmitResult.FilesMissed, Desc: 'not all files persisted' };
        }
        if (s.snapup) {
          const same = JSON.stringify(s.snapup) === JSON.stringify(info);
          return { Res: same ? SubmitResult.DuplicateSubmit : SubmitResult.MismatchedSubmission, Desc: null };
        }
        s.snapup = info;
        s.proof = info.Proof;
        s.proofPolls = 0;
        this.messages.push({ kind: 'snapup', number: sid.Number });
        return { Res: SubmitResult.Accepted, Desc: null };
      },
      AllocateRebuildSector: (spec: AllocateSectorSpec) => {
        this.hit('AllocateRebuildSector');
        const w = spec.Worker ? `${spec.Worker.Instance}|${spec.Worker.Location}` : '';
        const again = this.rebuildsHanded.get(w);
        if (again && !this.sector(again.Sector.ID).finalized) return again;
        const info = this.rebuilds.shift();
        if (!info) return null;
        this.rebuildsHanded.set(w, info);
        return info;
      },
    };
  }
}
