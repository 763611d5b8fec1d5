/**
 * The `Venus.*` service workers call (docs/spec/sealer-api.md §Manager behaviour per call). Every call is idempotent
 * per sector: the state it decides is committed to the database before the answer leaves, and a repeated call answers
 * from it — a repeated SubmitPreCommit/SubmitProof with the same content is Accepted again, different content is
 * MismatchedSubmission (unless `reset`), a repeated AssignTicket/WaitSeed returns the same ticket/seed.
 * Unknown sectors answer RPC error 11001, which makes a worker abort the sector.
 *
 * This file holds the service and its RPC table; the calls themselves are in sealer/, one file per concern.
 */

import type {
  AcquireDealsSpec,
  AllocatedSector,
  AllocateSectorSpec,
  ManagerAPI,
  Meta,
  PollStateResp,
  PreCommitOnChainInfo,
  ProofOnChainInfo,
  ReportStateReq,
  SectorID,
  SectorPieces,
  SectorRebuildInfo,
  SectorState,
  SectorStateResp,
  SectorWorkerState,
  StoreBasicInfo,
  SubmitResp,
  Ticket,
  WaitSeedResp,
  WorkerInfo,
} from '../api/sealer.js';
import { SectorWorkerJob, SubmitResult, sectorName } from '../api/sealer.js';
import { logger } from '../common/log.js';
import { VERSION } from '../common/version.js';
import type { ApiImpl } from '../rpc/index.js';
import { ErrorCode, RpcError } from '../rpc/index.js';
import { callerOf, INTERNAL_CALLER, type SectorCaller } from './auth.js';
import { minerAddr } from './chain.js';
import { KeyedMutex } from './mutex.js';
import { provableNumbers } from './provable.js';
import * as allocation from './sealer/allocation.js';
import { checkSid, notFound, resp, type SealerOptions, type SealerState, withSector } from './sealer/common.js';
import * as persist from './sealer/persist.js';
import * as rebuild from './sealer/rebuild.js';
import { RebuildTasks } from './sealer/rebuild-tasks.js';
import * as reports from './sealer/reports.js';
import * as submission from './sealer/submission.js';
import { sharedChainHead } from './single-flight.js';
import { SnapUpManager } from './snapup/index.js';
import { unsealCliApi } from './unseal/api.js';
import type { UnsealTasks } from './unseal/tasks.js';

export { MAX_BATCH_ALLOCATION } from './sealer/allocation.js';
export { notFound, type SealerOptions, shortJson } from './sealer/common.js';

const log = logger('sealing');

export class SealerService {
  private readonly st: SealerState;

  constructor(
    private readonly o: SealerOptions,
    /** unseal tasks (AllocateUnsealSector & co.; none: workers with plan "unseal" get no task) */
    private readonly unseal?: UnsealTasks,
  ) {
    this.st = {
      // every poll asks for the chain head: concurrent ones share a request
      o: { ...o, chain: sharedChainHead(o.chain) },
      sectorLock: new KeyedMutex(),
      numberLock: new KeyedMutex(),
      storeLock: new KeyedMutex(),
      allocatedOnChain: new allocation.AllocatedOnChain(),
      exhausted: new Map(),
      rebuilds: new RebuildTasks(o.store.db),
    };
    if (o.snapup) this.st.snap = new SnapUpManager(this.st, o.snapup);
  }

  /** Snapup (undefined without SealerOptions.snapup). */
  get snapup(): SnapUpManager | undefined {
    return this.st.snap;
  }

  private needSnap(): SnapUpManager {
    if (!this.st.snap) throw new RpcError(1, 'snapup is not enabled in this sector-manager');
    return this.st.snap;
  }

  // ----------------------------------------------------------------------------------------------------------
  // allocation, deals, ticket, seed: sealer/allocation.ts

  allocateSector(spec: AllocateSectorSpec, caller: SectorCaller = INTERNAL_CALLER): Promise<AllocatedSector | null> {
    return allocation.allocateSector(this.st, spec, caller);
  }

  /** Why miners get no new sectors: one "miner X: no sector number left (MaxNumber = N reached; …)" each. */
  numberExhausted(): string[] {
    return allocation.numberExhausted(this.st);
  }

  allocateSectorsBatch(
    spec: AllocateSectorSpec,
    count: number,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<AllocatedSector[]> {
    return allocation.allocateSectorsBatch(this.st, spec, count, caller);
  }

  acquireDeals(sid: SectorID, _spec: AcquireDealsSpec, caller: SectorCaller = INTERNAL_CALLER): Promise<SectorPieces> {
    return allocation.acquireDeals(this.st, sid, _spec, caller);
  }

  assignTicket(sid: SectorID, caller: SectorCaller = INTERNAL_CALLER): Promise<Ticket> {
    return allocation.assignTicket(this.st, sid, caller);
  }

  waitSeed(sid: SectorID, _proofType: number, caller: SectorCaller = INTERNAL_CALLER): Promise<WaitSeedResp> {
    return allocation.waitSeed(this.st, sid, _proofType, caller);
  }

  // ----------------------------------------------------------------------------------------------------------
  // PreCommit and ProveCommit: sealer/submission.ts

  submitPreCommit(
    sector: AllocatedSector,
    info: PreCommitOnChainInfo,
    reset: boolean,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<SubmitResp> {
    return submission.submitPreCommit(this.st, sector, info, reset, caller);
  }

  pollPreCommitState(sid: SectorID): Promise<PollStateResp> {
    return submission.pollPreCommitState(this.st, sid);
  }

  submitProof(
    sid: SectorID,
    info: ProofOnChainInfo,
    reset: boolean,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<SubmitResp> {
    return submission.submitProof(this.st, sid, info, reset, caller);
  }

  pollProofState(sid: SectorID): Promise<PollStateResp> {
    return submission.pollProofState(this.st, sid);
  }

  // ----------------------------------------------------------------------------------------------------------
  // persist stores: sealer/persist.ts

  submitPersisted(sid: SectorID, instance: string, caller: SectorCaller = INTERNAL_CALLER): Promise<boolean> {
    return persist.submitPersisted(this.st, sid, instance, caller);
  }

  submitPersistedEx(
    sid: SectorID,
    instance: string,
    isUpgrade: boolean,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<boolean> {
    return persist.submitPersistedEx(this.st, sid, instance, isUpgrade, caller);
  }

  storeReserveSpace(
    sid: SectorID,
    size: number,
    candidates: string[] | null,
    caller: SectorCaller = INTERNAL_CALLER,
  ): StoreBasicInfo | null {
    return persist.storeReserveSpace(this.st, sid, size, candidates, caller);
  }

  storeBasicInfo(name: string): StoreBasicInfo | null {
    return persist.storeBasicInfo(this.st, name);
  }

  // ----------------------------------------------------------------------------------------------------------
  // reports and worker pings: sealer/reports.ts

  reportState(sid: SectorID, raw: ReportStateReq, caller: SectorCaller = INTERNAL_CALLER): Promise<SectorStateResp> {
    return reports.reportState(this.st, sid, raw, caller);
  }

  reportFinalized(sid: SectorID, caller: SectorCaller = INTERNAL_CALLER): Promise<Meta> {
    return reports.reportFinalized(this.st, sid, caller);
  }

  reportAborted(sid: SectorID, raw: string, caller: SectorCaller = INTERNAL_CALLER): Promise<Meta> {
    return reports.reportAborted(this.st, sid, raw, caller);
  }

  workerPing(raw: WorkerInfo, caller: SectorCaller = INTERNAL_CALLER): Meta {
    return reports.workerPing(this.st, raw, caller);
  }

  // ----------------------------------------------------------------------------------------------------------
  // rebuild: sealer/rebuild.ts

  sectorSetForRebuild(sid: SectorID, opt: { PiecesAvailable: boolean }): Promise<boolean> {
    return rebuild.sectorSetForRebuild(this.st, sid, opt);
  }

  allocateRebuildSector(
    spec: AllocateSectorSpec,
    caller: SectorCaller = INTERNAL_CALLER,
  ): Promise<SectorRebuildInfo | null> {
    return rebuild.allocateRebuildSector(this.st, spec, caller);
  }

  // ----------------------------------------------------------------------------------------------------------
  // CLI

  /** job 3 (SectorWorkerJob.Rebuild): only the sectors being rebuilt; job 2 (SnapUp) the upgraded ones; others all. */
  listSectors(state: SectorWorkerState, job: number): SectorState[] {
    const all = this.o.store.listSectors(state !== 'offline');
    if (job === SectorWorkerJob.SnapUp) return all.filter((s) => s.Upgraded);
    return job === SectorWorkerJob.Rebuild ? all.filter((s) => s.NeedRebuild) : all;
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
    return withSector(this.st, sid, async () => {
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
    const unsealCli = unsealCliApi(this.o.store, this.unseal);
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
      // a worker giving up an unseal fails the unseal task, never the proven sector
      ReportAborted: (sid, reason, ctx) =>
        this.unseal?.workerAborted(checkSid(sid), reason) ? {} : this.reportAborted(sid, reason, callerOf(ctx)),
      AllocateSanpUpSector: (spec, ctx) => this.st.snap?.allocate(spec, callerOf(ctx)) ?? null,
      SubmitSnapUpProof: (sid, info, ctx) =>
        this.st.snap
          ? this.st.snap.submit(checkSid(sid), info, callerOf(ctx))
          : resp(SubmitResult.Rejected, 'snapup is not enabled in this sector-manager'),
      AllocateRebuildSector: (spec, ctx) => this.allocateRebuildSector(spec, callerOf(ctx)),
      WorkerPing: async (info, ctx) => {
        const r = await this.workerPing(info, callerOf(ctx));
        this.o.onWorkerPing?.(info.Name, ctx.remoteAddress);
        return r;
      },
      StoreReserveSpace: (sid, size, candidates, ctx) => this.storeReserveSpace(sid, size, candidates, callerOf(ctx)),
      StoreBasicInfo: (name) => this.storeBasicInfo(name),
      AllocateUnsealSector: (spec, ctx) => this.unseal?.allocate(spec, callerOf(ctx)) ?? null,
      AchieveUnsealSector: (sid, cid, err, ctx) => unsealCli.need().achieve(checkSid(sid), cid, err, callerOf(ctx)),
      AcquireUnsealDest: (sid, cid, ctx) => unsealCli.need().acquireDest(checkSid(sid), cid, callerOf(ctx)),
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
      FindSectorWithPiece: unsealCli.FindSectorWithPiece,
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
      SectorSetForRebuild: (sid, opt) => this.sectorSetForRebuild(sid, opt),
      SnapUpPreFetch: (mid, dl) => this.needSnap().preFetch(mid, dl),
      SnapUpCandidates: (mid) => this.needSnap().candidates(mid),
      UnsealPiece: unsealCli.UnsealPiece,
      UnsealTaskAdd: unsealCli.UnsealTaskAdd,
      UnsealTaskGet: unsealCli.UnsealTaskGet,
      UnsealTaskList: unsealCli.UnsealTaskList,
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
