/**
 * Commitments: PreCommits and ProveCommits batched per miner by the `[Commitment]` policy and sent through the
 * messager (docs/spec/sealer-api.md §Commitment batching, vc 2021 batcher semantics):
 *
 * - `Enable Batch…` false: every submitted sector is sent at once (still as a one-sector PreCommitSectorBatch2
 *   or ProveCommitSectors3; the old single-sector methods are gone from the chain);
 * - true: sectors wait until `…BatchThreshold` are pending, or until a sector is older than `…BatchMaxWait`
 *   (PreCommit age from its ticket epoch, ProveCommit age from its seed epoch), checked every
 *   `…CheckInterval` (1 min when 0).
 *
 * A batch is written to the database — the message, its id and the sectors' message ids — before it is pushed;
 * the id is damocles' NewMIdFromBytes of the message. A crash between the two makes the next start push the
 * recorded message again under the same id, which the messager recognises: a batch is never sent twice.
 *
 * The messages themselves are built in build.ts; this file batches, records and pushes them.
 *
 * Pushed messages are watched until they land (watch.ts): one stuck unsigned (no wallet, a locked one) or failing is
 * an ERROR with the reason and venus_commit_message_failures_total, as is a push the messager refuses.
 */

import { OnChainState, type SectorID, type SectorState, sectorName } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { metrics, type ServiceMetrics } from '../../common/metrics.js';
import { encodeMessage, messageCid } from '../../fil/index.js';
import { type ChainAPI, head, type MessagerAPI, type NetworkPolicy } from '../chain.js';
import { commitmentPolicy, type ManagerConfig, ms } from '../config.js';
import type { ManagerStore } from '../db.js';
import type { DealChainAPI } from '../market/manifest.js';
import type { MinerInfoCache } from '../miners.js';
import { SingleFlight } from '../single-flight.js';
import { buildPreCommit, buildProveCommit } from './build.js';
import {
  type buildMessage,
  freshMessageId,
  messageFromJson,
  messageJson,
  type OnChainResult,
  onChainState,
  type sendSpec,
} from './msg.js';
import { Throttle } from './outcome.js';
import { MessageWatch } from './watch.js';

export * from './msg.js';

const log = logger('commitmgr');

export type CommitKind = 'pre' | 'prove';

/** Aggregates seal proofs for ProveCommitSectors3 (SnarkPack); absent: proofs go one per sector. */
export interface SealAggregator {
  aggregate(sealProof: number, proofs: { sectorNumber: number; proof: Uint8Array }[]): Promise<Uint8Array>;
}

export interface CommitmentOptions {
  store: ManagerStore;
  chain: ChainAPI;
  messager: MessagerAPI;
  policy: NetworkPolicy;
  config: () => ManagerConfig;
  miners: MinerInfoCache;
  aggregator?: SealAggregator;
  /** StateGetAllocationIdForPendingDeal for builtin-market deal pieces (absent: such sectors cannot be proven) */
  dealChain?: DealChainAPI;
  /** sector lifetime in days for the PreCommit expiration (damocles LifetimeDays default 540) */
  lifetimeDays?: number;
  /** how often pushed messages are checked for being stuck (default 30 s) */
  watchEveryMs?: number;
  /** where venus_commit_message_failures_total goes (default: the process's metrics) */
  metrics?: Pick<ServiceMetrics, 'commitMessageFailed'>;
  /**
   * The `commit` duty (ha/duties.ts) when several managers share the database: absent, this manager always holds
   * it. Without it sectors are only recorded (the holder finds them NeedSend) and nothing is pushed.
   */
  lease?: CommitLease;
  /** how often the holder looks for NeedSend sectors other managers accepted (default 5 s) */
  rescanEveryMs?: number;
}

/** The `commit` duty as the CommitmentManager sees it. */
export interface CommitLease {
  /** may act now (checked right before each push) */
  holds(): boolean;
  /** inside a transaction: throws unless the lease is still ours in the database */
  fence(): void;
}

interface Batcher {
  pending: Set<number>;
  timer: NodeJS.Timeout | undefined;
  busy: Promise<void>;
}

export class CommitmentManager {
  private readonly batchers = new Map<string, Batcher>();
  private stopped = false;
  /** standby: the `commit` duty is another manager's */
  private standby = false;
  private rescanTimer: NodeJS.Timeout | undefined;
  private readonly watch: MessageWatch;
  private readonly pushErrors = new Throttle(60_000);
  private readonly messageFlight = new SingleFlight<string, Awaited<ReturnType<MessagerAPI['GetMessageByUid']>>>();

  constructor(private readonly o: CommitmentOptions) {
    this.watch = new MessageWatch({
      messager: o.messager,
      ...(o.watchEveryMs !== undefined ? { everyMs: o.watchEveryMs } : {}),
      ...(o.metrics ? { metrics: o.metrics } : {}),
    });
  }

  /** Reads every pushed message not yet landed once (the watch's timer does it every 30 s; tests call it). */
  checkMessages(): Promise<void> {
    return this.watch.check();
  }

  /**
   * On start: push messages recorded but never acknowledged by the messager, then re-queue sectors that were
   * accepted but not yet put in a message (NeedSend).
   */
  async resume(): Promise<void> {
    for (const m of this.o.store.unpushedMessages()) {
      // a Window PoSt or recovery is only good within its deadline: the poster proves a deadline again itself,
      // and one recorded before a restart (or by a manager that died) may be for a deadline long closed
      if (m.kind === 'post' || m.kind === 'recover') continue;
      log.info(
        { id: m.id, miner: m.miner, kind: m.kind, sectors: m.sectors },
        'pushing message recorded before restart',
      );
      await this.push(m.id, m.message, m.spec);
    }
    // every online sector, not only the flagged rows: a sector an older build wrote may carry a stale flag
    for (const s of this.o.store.listSectors(true)) {
      if (!s.MessageInfo.NeedSend || s.Finalized) continue;
      this.enqueue(s.MessageInfo.PreCommitCid === null ? 'pre' : 'prove', s.ID);
    }
  }

  /** May this manager send now: running and holding the `commit` duty. */
  private active(): boolean {
    return !this.stopped && !this.standby && (this.o.lease?.holds() ?? true);
  }

  /**
   * The `commit` duty is ours: push what was recorded but not pushed (by us or a manager that died), queue every
   * NeedSend sector, and look for new ones every few seconds (a standby manager accepts and only records them).
   */
  async activate(): Promise<void> {
    this.standby = false;
    await this.resume();
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = setInterval(() => {
      try {
        this.rescan();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'looking for sectors to send failed');
      }
    }, this.o.rescanEveryMs ?? 5_000);
    this.rescanTimer.unref();
  }

  /** The `commit` duty is another manager's now: nothing more is batched or pushed here. */
  deactivate(): void {
    this.standby = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.rescanTimer = undefined;
    for (const b of this.batchers.values()) b.pending.clear();
  }

  /** Queues NeedSend sectors not queued yet (accepted by a standby manager, or put back after a failure). */
  rescan(): void {
    if (!this.active()) return;
    // the flagged rows only (an indexed column): every 5 s, the other online sectors' JSON stays unread
    for (const s of this.o.store.listNeedSend()) {
      if (!s.MessageInfo.NeedSend || s.Finalized) continue;
      const kind = s.MessageInfo.PreCommitCid === null ? 'pre' : 'prove';
      if (this.batchers.get(`${kind}-${s.ID.Miner}`)?.pending.has(s.ID.Number)) continue;
      this.enqueue(kind, s.ID);
    }
  }

  /** Adds an accepted sector to its miner's batch and sends what the policy says is due. */
  enqueue(kind: CommitKind, sid: SectorID): void {
    // a standby only records (the sector is NeedSend in the database): the holder's rescan finds it
    if (!this.active()) return;
    const b = this.batcher(kind, sid.Miner);
    b.pending.add(sid.Number);
    log.debug({ sector: sectorName(sid), kind, pending: b.pending.size }, 'sector queued');
    this.evaluate(kind, sid.Miner, false);
  }

  /** Drops a sector from any pending batch (aborted sectors). */
  cancel(sid: SectorID): void {
    for (const kind of ['pre', 'prove'] as const) this.batchers.get(`${kind}-${sid.Miner}`)?.pending.delete(sid.Number);
  }

  /** Sends every pending sector now (tests, CLI). */
  async flush(): Promise<void> {
    for (const [key] of this.batchers) {
      const [kind, miner] = key.split('-') as [CommitKind, string];
      this.evaluate(kind, Number(miner), true);
    }
    await Promise.all([...this.batchers.values()].map((b) => b.busy));
  }

  /** Waits for batches in flight (tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.busy));
  }

  stop(): void {
    this.stopped = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    this.watch.stop();
    for (const b of this.batchers.values()) if (b.timer) clearTimeout(b.timer);
  }

  /** What PollPreCommitState / PollProofState answer for a message id. */
  async messageState(id: string, index?: number): Promise<OnChainResult> {
    const rec = this.o.store.getMessage(id);
    if (rec && !rec.pushed)
      return { state: OnChainState.Pending, desc: 'message recorded, not yet accepted by the messager' };
    // the sectors of one batch are polled by as many workers: concurrent polls share one messager call
    const m = await this.messageFlight.run(id, () => this.o.messager.GetMessageByUid(id));
    if (rec) this.watch.observe(id, m, { miner: rec.miner, kind: rec.kind });
    const policy = commitmentPolicy(this.o.config(), rec?.miner ?? 0);
    return onChainState(m, policy.MsgConfidence, index);
  }

  // ---------------------------------------------------------------------------------------------------------

  private batcher(kind: CommitKind, miner: number): Batcher {
    const key = `${kind}-${miner}`;
    let b = this.batchers.get(key);
    if (!b) {
      b = { pending: new Set(), timer: undefined, busy: Promise.resolve() };
      this.batchers.set(key, b);
      this.arm(kind, miner, b);
    }
    return b;
  }

  private arm(kind: CommitKind, miner: number, b: Batcher): void {
    if (this.stopped) return;
    const p = commitmentPolicy(this.o.config(), miner);
    const every = ms(kind === 'pre' ? p.PreCommitCheckInterval : p.CommitCheckInterval) || 60_000;
    b.timer = setTimeout(() => {
      this.evaluate(kind, miner, false, true);
      this.arm(kind, miner, b);
    }, every);
    b.timer.unref();
  }

  private evaluate(kind: CommitKind, miner: number, force: boolean, tick = false): void {
    const b = this.batchers.get(`${kind}-${miner}`);
    if (!b || b.pending.size === 0) return;
    const p = commitmentPolicy(this.o.config(), miner);
    const enabled = kind === 'pre' ? p.EnableBatchPreCommit : p.EnableBatchProCommit;
    const threshold = kind === 'pre' ? p.PreCommitBatchThreshold : p.CommitBatchThreshold;
    const maxWaitMs = ms(kind === 'pre' ? p.PreCommitBatchMaxWait : p.CommitBatchMaxWait);
    if (force || !enabled || b.pending.size >= threshold) {
      const all = [...b.pending].sort((x, y) => x - y);
      b.pending.clear();
      this.schedule(b, kind, miner, all);
      return;
    }
    if (!tick) return;
    // on a tick: send the sectors that waited longer than MaxWait (in epochs of the chain's block time)
    const numbers = [...b.pending];
    b.busy = b.busy
      .then(async () => {
        const { height } = await head(this.o.chain);
        const maxWaitEpochs = Math.floor(maxWaitMs / 1000 / this.o.policy.blockDelaySecs);
        const due = numbers.filter((n) => {
          const s = this.o.store.getSector({ Miner: miner, Number: n })?.state;
          const epoch = kind === 'pre' ? s?.Ticket?.Epoch : s?.Seed?.Epoch;
          return epoch === undefined || height - epoch >= maxWaitEpochs;
        });
        if (due.length === 0) return;
        for (const n of due) b.pending.delete(n);
        await this.process(
          kind,
          miner,
          due.sort((x, y) => x - y),
        );
      })
      .catch((err) => log.error({ miner: String(miner), kind, err: (err as Error).message }, 'batch check failed'));
  }

  private schedule(b: Batcher, kind: CommitKind, miner: number, numbers: number[]): void {
    b.busy = b.busy
      .then(() => this.process(kind, miner, numbers))
      .catch((err) => {
        log.error(
          { miner: String(miner), kind, sectors: numbers, err: (err as Error).message },
          'batch failed; sectors re-queued',
        );
        // keep them for the next tick: the worker keeps polling Pending meanwhile (a standby leaves them to the holder)
        if (!this.active()) return;
        for (const n of numbers)
          if (this.o.store.getSector({ Miner: miner, Number: n })?.state.MessageInfo.NeedSend) b.pending.add(n);
      });
  }

  /** Marks a sector as not sendable: PollPreCommitState/PollProofState then answer Failed with `why`. */
  private dropSector(s: SectorState, why: string): void {
    log.warn({ sector: sectorName(s.ID), why }, 'sector dropped from batch');
    s.MessageInfo.NeedSend = false;
    s.SendError = why;
    this.o.store.tx(() => {
      this.o.store.putSector(s, true);
      this.o.store.recordSectorEvent(s.ID, { state: 'SendDropped', failure: why });
    });
  }

  private async process(kind: CommitKind, miner: number, numbers: number[]): Promise<void> {
    if (numbers.length === 0) return;
    const sectors: SectorState[] = [];
    for (const n of numbers) {
      const rec = this.o.store.getSector({ Miner: miner, Number: n });
      if (!rec?.online || !rec.state.MessageInfo.NeedSend) continue;
      sectors.push(rec.state);
    }
    if (sectors.length === 0) return;
    const drop = (s: SectorState, why: string) => this.dropSector(s, why);
    const built =
      kind === 'pre'
        ? await buildPreCommit(this.o, miner, sectors, drop)
        : await buildProveCommit(this.o, miner, sectors, drop);
    if (built) await this.record(kind, miner, built.included, built.msg, built.spec, built.extra);
  }

  /** Write-ahead: the message and the sectors' message ids in one transaction, then the push. */
  private async record(
    kind: CommitKind,
    miner: number,
    sectors: SectorState[],
    msg: ReturnType<typeof buildMessage>,
    spec: ReturnType<typeof sendSpec>,
    extra: Record<string, unknown>,
  ): Promise<void> {
    const id = await freshMessageId(this.o.messager, msg, (x) => this.o.store.getMessage(x) !== undefined);
    const json = messageJson(msg);
    this.o.store.tx(() => {
      // only the holder of the `commit` duty records a message: a manager that lost it meanwhile writes nothing
      this.o.lease?.fence();
      this.o.store.putMessage({ id, miner, kind, sectors: sectors.map((s) => s.ID.Number), message: json, spec });
      for (const s of sectors) {
        const cur = this.o.store.getSector(s.ID);
        if (!cur) continue;
        const st = cur.state;
        if (kind === 'pre') st.MessageInfo.PreCommitCid = { '/': id };
        else st.MessageInfo.CommitCid = { '/': id };
        st.MessageInfo.NeedSend = false;
        delete st.SendError;
        this.o.store.putSector(st, cur.online);
        this.o.store.recordSectorEvent(s.ID, {
          state: kind === 'pre' ? 'PreCommitSent' : 'ProveCommitSent',
          event: `message ${id} (${sectors.length} sector${sectors.length === 1 ? '' : 's'})`,
        });
      }
    });
    log.info(
      {
        miner: String(miner),
        kind,
        id,
        sectors: sectors.map((s) => s.ID.Number),
        mcid: messageCid(msg).toString(),
        ...extra,
      },
      kind === 'pre' ? 'PreCommitSectorBatch2 recorded' : 'ProveCommitSectors3 recorded',
    );
    await this.push(id, json, spec);
  }

  /**
   * Pushes a recorded message; failures leave it unpushed for the next attempt (resume or retry). Without the
   * `commit` duty nothing is pushed: true only when the messager has it already (the holder pushed it).
   */
  async push(id: string, message: unknown, spec: unknown): Promise<boolean> {
    try {
      // the recorded message reaches the disk before the messager hears of it
      await this.o.store.durable();
      const has = await this.o.messager.HasMessageByUid(id);
      if (!has && !this.active()) {
        log.debug({ id }, 'message left for the manager holding the commit duty');
        return false;
      }
      if (!has) {
        // decode + re-encode checks the recorded JSON is still a valid message
        const msg = messageFromJson(message);
        await this.o.messager.PushMessageWithId(id, messageJson(msg), spec as ReturnType<typeof sendSpec>);
        log.info({ id, bytes: encodeMessage(msg).length }, 'message pushed');
      }
      this.o.store.markPushed(id);
      const rec = this.o.store.getMessage(id);
      if (rec) this.watch.track(id, rec.miner, rec.kind, rec.sectors);
      return true;
    } catch (err) {
      const rec = this.o.store.getMessage(id);
      try {
        (this.o.metrics ?? metrics()).commitMessageFailed(rec?.miner ?? 0, rec?.kind ?? 'other', 'push');
      } catch {
        // metrics never break commitments
      }
      // retried every 10 s; said once a minute
      if (this.pushErrors.ready(`${rec?.miner}-${rec?.kind}`))
        log.error(
          {
            id,
            miner: String(rec?.miner),
            kind: rec?.kind,
            reason: 'push',
            err: (err as Error).message,
            fix: 'check [Messager] Api and Token in sector-manager.cfg and that the messager runs',
          },
          'push message failed; will retry every 10s',
        );
      const t = setTimeout(() => {
        if (this.stopped) return; // stopped: its store may be closed
        const m = this.o.store.getMessage(id);
        if (m && !m.pushed && this.active()) void this.push(id, m.message, m.spec);
      }, 10_000);
      t.unref();
      return false;
    }
  }
}
