/**
 * SnapUp in the sector-manager (docs/snapup-manager.md): committed-capacity sectors upgraded with deals in place.
 * candidates.ts finds them on chain, sector.ts hands them to snapup threads and takes their proofs, commit.ts sends
 * ProveReplicaUpdates3, waits for it and cleans up; store.ts keeps it all in the manager's database.
 */
import {
  type AllocatedSnapUpSector,
  type AllocateSnapUpSpec,
  OnChainState,
  type PollStateResp,
  type SectorID,
  type SectorState,
  type SnapUpCandidateInfo,
  type SnapUpFetchResult,
  type SnapUpOnChainInfo,
  type SubmitResp,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { RpcError } from '../../rpc/index.js';
import type { SectorCaller } from '../auth.js';
import type { MessagerAPI } from '../chain.js';
import type { DealChainAPI } from '../market/manifest.js';
import type { SealerState } from '../sealer/common.js';
import { fetchCandidates, type SnapChainAPI } from './candidates.js';
import { type CommitterDeps, commitPass } from './commit.js';
import { type SnapMetrics, snapMetrics } from './metrics.js';
import { abortSnapUp, allocateSnapUp, submitSnapUp } from './sector.js';
import { SnapStore } from './store.js';

export type { SnapChainAPI } from './candidates.js';

const log = logger('snapup');

export interface SnapUpOptions {
  messager: Pick<MessagerAPI, 'HasMessageByUid' | 'GetMessageByUid'>;
  dealChain?: DealChainAPI;
  /** how often the committer looks at upgrades under way (default 30 s; a submission or a persist wakes it) */
  everyMs?: number;
  /** default: the process registry's */
  metrics?: SnapMetrics;
}

export class SnapUpManager {
  readonly snap: SnapStore;
  private readonly d: CommitterDeps;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  /** another manager holds the `chain` duty: submissions are recorded, its committer sends them */
  private standby = false;

  constructor(
    st: SealerState,
    private readonly o: SnapUpOptions,
  ) {
    this.snap = new SnapStore(st.o.store.db);
    this.d = {
      st,
      snap: this.snap,
      chain: st.o.chain as SnapChainAPI,
      messager: o.messager,
      ...(o.dealChain ? { dealChain: o.dealChain } : {}),
      kick: () => this.kick(),
      metrics: o.metrics ?? snapMetrics(),
    };
  }

  private chainHas(method: 'StateMinerActiveSectors' | 'StateSectorPartition'): void {
    if (typeof (this.d.chain as unknown as Record<string, unknown>)[method] !== 'function')
      throw new RpcError(1, `snapup needs Filecoin.${method}, which this chain client lacks`);
  }

  preFetch(miner: number, deadline: number | null): Promise<SnapUpFetchResult> {
    this.chainHas('StateMinerActiveSectors');
    this.chainHas('StateSectorPartition');
    const st = this.d.st;
    return fetchCandidates(
      { chain: this.d.chain, policy: st.o.policy, config: st.o.config, snap: this.snap },
      miner,
      deadline,
    );
  }

  candidates(miner: number): SnapUpCandidateInfo[] {
    if (!Number.isSafeInteger(miner) || miner <= 0) throw new RpcError(1, `invalid miner ${miner}`);
    return this.snap.listed(miner);
  }

  allocate(spec: AllocateSnapUpSpec, caller: SectorCaller): Promise<AllocatedSnapUpSector | null> {
    return allocateSnapUp(this.d, spec, caller);
  }

  submit(sid: SectorID, info: SnapUpOnChainInfo, caller: SectorCaller): Promise<SubmitResp> {
    return submitSnapUp(this.d, sid, info, caller);
  }

  /** PollProofState of a sector with an upgrade (undefined: none, the sealing answer applies). */
  pollState(sid: SectorID): PollStateResp | undefined {
    const t = this.snap.get(sid);
    if (!t) return undefined;
    switch (t.phase) {
      case 'allocated':
        return { State: OnChainState.NotFound, Desc: 'no snapup proof submitted' };
      case 'submitted':
      case 'sent':
        // out of gas or funds is sent again by the committer itself: the worker keeps polling
        return { State: OnChainState.Pending, Desc: t.error };
      case 'landed':
      case 'done':
        return { State: OnChainState.Landed, Desc: null };
      case 'failed':
        return { State: OnChainState.PermFailed, Desc: t.error };
    }
  }

  /** ReportAborted of an upgrading sector (lock held): true when snapup handled it. */
  aborted(s: SectorState, reason: string): boolean {
    return abortSnapUp(this.d, s, reason);
  }

  /** One committer pass now (after the one running, if any). */
  kick(): Promise<void> {
    if (this.standby) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await commitPass(this.d);
        } while (this.again);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'snapup committer pass failed');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  start(): void {
    this.standby = false;
    if (this.timer) return;
    this.timer = setInterval(() => void this.kick(), this.o.everyMs ?? 30_000);
    this.timer.unref();
    void this.kick();
  }

  /** The committer's passes are another manager's until start() (ha/duties.ts). */
  async pause(): Promise<void> {
    this.standby = true;
    await this.stop();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
