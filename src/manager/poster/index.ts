/**
 * Window PoSt (`daemon run --poster`), driven by ChainNotify (docs/spec/sealer-api.md §Window PoSt, lotus wdpost):
 *
 * - On each new head, every miner's current deadline (StateMinerProvingDeadline) and the next one once its
 *   challenge epoch has passed get a runner, keyed by the deadline's Open epoch.
 * - A runner starts at Challenge + ChallengeConfidence (never later than Open): it declares recoveries for the
 *   deadline two ahead (faulty sectors whose files are back), then proves the deadline's partitions in batches
 *   of at most 3 partitions: (Live − Faulty) ∪ Recovering, minus the sectors whose files fail the check (and,
 *   with StrictCheck, size checks and one vanilla proof each), which go in Skipped and so become faulty.
 * - From Open + SubmitConfidence it submits each batch as SubmitWindowedPoSt with ChainCommitEpoch =
 *   Challenge. A message that fails is sent again while the deadline is open (the original does not retry).
 * - A revert below the challenge epoch or the deadline's close ends the runner.
 * - Every step from the proof to the chain is watched on each head (failures.ts): a proof that cannot be made, a
 *   push the messager refuses, a message that waits unsigned (no wallet, a locked one) or fails, and a deadline
 *   that closes first are each an ERROR with the reason, venus_wdpost_failures_total{reason} and a post_results
 *   row. Right before a push the current deadline is read again: a proof for a closed deadline is never sent.
 */
import type { DeadlineInfo, TipSetKey } from '../../api/full.js';
import { logger } from '../../common/log.js';
import { BitField } from '../../fil/index.js';
import { drawPoStCommitRand, minerAddr } from '../chain.js';
import { buildMessage, freshMessageId, messageJson, sendSpec } from '../commit/msg.js';
import { describeOutcome, messageOutcome } from '../commit/outcome.js';
import { feeCapAtto, postMiners, postPolicy } from '../config.js';
import { LeaseLost } from '../ha/lease.js';
import { type Declaration, encodeDeclarations, encodeSubmitWindowedPoSt, MinerMethod } from '../params.js';
import { type CheckResult, checkDeadline, checkSectors, nextDeadline } from './check.js';
import { type Batch, Runner } from './deadline.js';
import { PoStFailures } from './failures.js';
import type { PosterOptions } from './options.js';
import { alreadyProven, postedPartitions, proveBatch } from './prove.js';

export { type CheckResult, nextDeadline } from './check.js';

export type { PosterOptions } from './options.js';

const log = logger('poster');

export class Poster {
  private readonly runners = new Map<string, Runner>();
  private sub: { cancel(): void } | undefined;
  private queue: Promise<void> = Promise.resolve();
  private stopped = false;
  /** one per start(): a subscription loop of an earlier start ends (the `post` duty can come and go) */
  private generation = 0;
  private readonly cc: number;
  private readonly sc: number;
  private readonly failures: PoStFailures;

  constructor(private readonly o: PosterOptions) {
    this.cc = o.challengeConfidence ?? 10;
    this.sc = o.submitConfidence ?? 4;
    this.failures = new PoStFailures({ onPoSt: o.onPoSt, metrics: o.metrics, everyMs: o.failureLogEveryMs });
  }

  /**
   * Subscribes to ChainNotify; resubscribes 10 s after the channel ends (as the original). Can start again after
   * stop() (the `post` duty taken again): deadlines are then picked up from the chain afresh.
   */
  async start(): Promise<void> {
    this.stopped = false;
    const gen = ++this.generation;
    const gone = () => this.stopped || gen !== this.generation;
    const loop = async () => {
      while (!gone()) {
        try {
          const sub = await this.o.chain.ChainNotify();
          if (gone()) {
            sub.cancel();
            return;
          }
          this.sub = sub;
          for await (const changes of sub) {
            if (gone()) break;
            let lowest: number | undefined;
            let highest: { height: number; tsk: TipSetKey } | undefined;
            for (const c of changes) {
              if (c.Type === 'revert') lowest = Math.min(lowest ?? c.Val.Height, c.Val.Height);
              else if (!highest || c.Val.Height > highest.height) highest = { height: c.Val.Height, tsk: c.Val.Cids };
            }
            if (highest) this.onHead(highest.height, highest.tsk, lowest);
          }
        } catch (err) {
          if (gone()) return;
          log.warn({ err: (err as Error).message }, 'chain notify failed');
        }
        if (gone()) return;
        log.warn('chain notify channel closed; reconnecting in 10s');
        await new Promise((r) => setTimeout(r, 10_000).unref());
      }
    };
    void loop();
  }

  stop(): void {
    this.stopped = true;
    this.sub?.cancel();
    this.sub = undefined;
    for (const r of this.runners.values()) r.aborted = true;
    this.runners.clear();
  }

  /** Handles one head change (serialised). Returns the promise of its processing (tests await it). */
  onHead(height: number, tsk: TipSetKey, revertedTo?: number): Promise<void> {
    this.queue = this.queue
      .then(() => this.handleHead(height, tsk, revertedTo))
      .catch((err) => log.error({ height, err: (err as Error).message }, 'head change handling failed'));
    return this.queue;
  }

  /** Waits for every runner's proving and submitting in flight (tests). */
  async idle(): Promise<void> {
    await this.queue;
    await Promise.all([...this.runners.values()].map((r) => r.proving));
    await Promise.all([...this.runners.values()].map((r) => r.submitted));
  }

  private async handleHead(height: number, tsk: TipSetKey, revertedTo?: number): Promise<void> {
    if (this.stopped) return;
    const cfg = this.o.config();
    for (const miner of postMiners(cfg)) {
      let dl: DeadlineInfo;
      try {
        dl = await this.o.chain.StateMinerProvingDeadline(minerAddr(miner), tsk);
      } catch (err) {
        log.warn({ miner: String(miner), err: (err as Error).message }, 'proving deadline unavailable');
        continue;
      }
      const next = nextDeadline(dl);
      for (const d of [dl, next]) {
        if (!(height >= d.Challenge && height < d.Close)) continue;
        const key = `${miner}-${d.Open}`;
        if (!this.runners.has(key)) this.runners.set(key, new Runner(miner, d));
      }
    }
    for (const [key, r] of this.runners) {
      const abort = height >= r.dl.Close || (revertedTo !== undefined && revertedTo < r.dl.Challenge);
      if (abort) {
        r.aborted = true;
        this.runners.delete(key);
        const unproven = r.batches.filter((b) => !b.landed);
        if (r.started && height >= r.dl.Close && !r.closedReported && (unproven.length > 0 || r.provingFailed)) {
          const last = unproven.find((b) => b.lastFailure)?.lastFailure ?? r.provingFailed;
          const parts = unproven.flatMap((b) => b.partitions);
          this.failures.report(
            {
              miner: r.miner,
              deadline: r.dl.Index,
              reason: 'deadline_closed',
              detail: `deadline ${r.dl.Index} closed at epoch ${r.dl.Close} with ${parts.length || 'its'} partition(s) unproven${last ? ` (last failure: ${last})` : ''}`,
              epoch: height,
              partitions: parts,
            },
            { msg: 'deadline closed before its window post landed: its sectors become faulty', throttleKey: key },
          );
        }
        continue;
      }
      this.tick(r, height, tsk);
    }
  }

  private tick(r: Runner, height: number, tsk: TipSetKey): void {
    const startAt = Math.min(r.dl.Challenge + this.cc, r.dl.Open);
    if (!r.started && height >= startAt) {
      r.started = true;
      r.proving = this.runDeadline(r, tsk).catch((err) => {
        r.provingFailed = `proving: ${(err as Error).message}`;
        this.failures.report(
          { miner: r.miner, deadline: r.dl.Index, reason: 'proving', detail: (err as Error).message, epoch: height },
          { msg: 'window post proving failed', throttleKey: `${r.miner}-${r.dl.Open}-proving` },
        );
      });
    }
    if (r.started && height >= r.dl.Open + this.sc && !r.submitting) {
      r.submitting = true;
      r.submitted = (async () => {
        try {
          await r.proving;
          await this.submit(r, height, tsk);
        } catch (err) {
          log.error(
            { miner: String(r.miner), deadline: r.dl.Index, err: (err as Error).message },
            'window post submit failed',
          );
        } finally {
          r.submitting = false;
        }
      })();
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // checking sectors

  /** Locates sectors' files through the sector index and checks them (StrictCheck: sizes and a vanilla proof). */
  checkSectors(miner: number, numbers: number[], strict: boolean, tsk: TipSetKey = null): Promise<CheckResult> {
    return checkSectors(this.o, miner, numbers, strict, tsk);
  }

  // ------------------------------------------------------------------------------------------------------------
  // recoveries

  private async declareRecoveries(r: Runner, tsk: TipSetKey): Promise<void> {
    const maddr = minerAddr(r.miner);
    const declIdx = (r.dl.Index + 2) % r.dl.WPoStPeriodDeadlines;
    const parts = (await this.o.chain.StateMinerPartitions(maddr, declIdx, tsk)) ?? [];
    const strict = postPolicy(this.o.config(), r.miner).StrictCheck;
    const decls: Declaration[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      const faulty = BitField.fromJSON(p.FaultySectors).toArray();
      const recovering = new Set(BitField.fromJSON(p.RecoveringSectors).toArray());
      const candidates = faulty.filter((n) => !recovering.has(n));
      if (candidates.length === 0) continue;
      const { good } = await this.checkSectors(r.miner, candidates, strict, tsk);
      if (good.size === 0) continue;
      decls.push({ deadline: declIdx, partition: i, sectors: BitField.fromNumbers(good) });
    }
    if (decls.length === 0) return;
    // one message per DeclarationsMax partitions
    for (let i = 0; i < decls.length; i += this.o.policy.declarationsMax) {
      const chunk = decls.slice(i, i + this.o.policy.declarationsMax);
      const id = await this.send(r, MinerMethod.DeclareFaultsRecovered, encodeDeclarations(chunk), 'recover');
      if (id === undefined) return;
      log.info(
        { miner: String(r.miner), deadline: declIdx, sectors: chunk.flatMap((d) => d.sectors.toArray()), id },
        'declared faults recovered',
      );
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // proving

  private async runDeadline(r: Runner, tsk: TipSetKey): Promise<void> {
    try {
      await this.declareRecoveries(r, tsk);
    } catch (err) {
      log.warn({ miner: String(r.miner), err: (err as Error).message }, 'declaring recoveries failed');
    }
    const maddr = minerAddr(r.miner);
    const parts = (await this.o.chain.StateMinerPartitions(maddr, r.dl.Index, tsk)) ?? [];
    if (parts.length === 0) return;
    // partitions the chain already has a PoSt for in this window (sent before a restart): done, not proven again
    // (the actor refuses a second PoSt of a partition, so sending it would only fail until the window closes)
    const posted = await postedPartitions(this.o, r, tsk);
    const todo = parts.map((_, k) => k).filter((k) => !posted.has(k));
    if (posted.size > 0) alreadyProven(this.o, r, parts, posted);
    const per = Math.max(1, this.o.policy.maxPartitionsPerPoStMessage);
    for (let i = 0; i < todo.length; i += per) {
      const idx = todo.slice(i, i + per);
      const b: Batch = { partitions: idx, attempts: 0 };
      r.batches.push(b);
      await proveBatch(
        this.o,
        r,
        b,
        idx.map((k) => parts[k]!),
        tsk,
      );
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // submitting

  private async submit(r: Runner, height: number, tsk: TipSetKey): Promise<void> {
    for (const b of r.batches) {
      const proof = b.proof;
      if (b.landed || !proof || r.aborted) continue;
      if (b.msgId && !(await this.follow(r, b, height, tsk))) continue;
      const commitEpoch = r.dl.Challenge;
      const commitRand = await drawPoStCommitRand(this.o.chain, tsk, commitEpoch);
      const params = encodeSubmitWindowedPoSt({
        deadline: r.dl.Index,
        partitions: proof.partitions.map((p) => ({ index: p.index, skipped: BitField.fromNumbers(p.skipped) })),
        proofs: [{ postProof: proof.postProof, proofBytes: proof.proofBytes }],
        chainCommitEpoch: commitEpoch,
        chainCommitRand: commitRand,
      });
      b.attempts++;
      try {
        // right before the push: a proof for a deadline that has closed is never sent
        const id = await this.send(r, MinerMethod.SubmitWindowedPoSt, params, 'post', () =>
          this.deadlineStillOpen(r, height),
        );
        if (id === undefined) return;
        b.msgId = id;
      } catch (err) {
        const detail = (err as Error).message;
        b.lastFailure = `push: ${detail}`;
        this.failures.report(
          {
            ...this.failureOf(r, b, height),
            reason: 'push',
            detail,
            fix: 'check [Messager] Api and Token in sector-manager.cfg and that the messager runs',
          },
          {
            msg: 'window post could not be pushed to the messager; trying again on the next head while the deadline is open',
            throttleKey: `${r.miner}-push`,
          },
        );
        continue;
      }
      b.submittedAt = height;
      b.signed = false;
      log.info(
        { miner: String(r.miner), deadline: r.dl.Index, partitions: b.partitions, id: b.msgId, attempt: b.attempts },
        'window post submitted',
      );
    }
  }

  /** The fields every failure of a batch carries. */
  private failureOf(r: Runner, b: Batch, height: number) {
    const skipped = b.proof?.partitions.reduce((a, p) => a + p.skipped.length, 0) ?? 0;
    return {
      miner: r.miner,
      deadline: r.dl.Index,
      epoch: height,
      partitions: b.partitions,
      closesIn: r.dl.Close - height,
      proven: (b.proof?.sectorCount ?? 0) - skipped,
      faulty: skipped,
      ...(b.msgId ? { id: b.msgId } : {}),
    };
  }

  /**
   * Follows a pushed message on each head: landed (reported), still waiting (a messager error on an unsigned
   * message is reported: no wallet, a locked one, gas), or failed (reported; true: send a new one).
   */
  private async follow(r: Runner, b: Batch, height: number, tsk: TipSetKey): Promise<boolean> {
    const where = { miner: String(r.miner), deadline: r.dl.Index, partitions: b.partitions, id: b.msgId };
    let rec: Awaited<ReturnType<PosterOptions['messager']['GetMessageByUid']>>;
    try {
      rec = await this.o.messager.GetMessageByUid(b.msgId!);
    } catch (err) {
      this.failures.report(
        { ...this.failureOf(r, b, height), reason: 'messager', detail: (err as Error).message },
        {
          msg: 'cannot read the window post message from the messager; asking again',
          throttleKey: `${r.miner}-messager`,
        },
      );
      return false;
    }
    const o = messageOutcome(rec);
    if (o.status === 'landed') {
      // a replaced message (NonceConflictMsg with its replacement's receipt) is followed like an on-chain one
      log.info({ ...where, height: rec.Height }, 'window post landed');
      this.report(r, b, true, rec.Height || height);
      b.landed = true;
      for (const k of ['signing', 'gas', 'push', 'messager']) this.failures.clear(`${r.miner}-${k}`);
      return false;
    }
    if (o.status === 'pending') {
      if (o.reason) {
        b.lastFailure = describeOutcome({ reason: o.reason, detail: o.detail });
        this.failures.report(
          {
            ...this.failureOf(r, b, height),
            reason: o.reason,
            detail: o.detail ?? '',
            ...(o.fix ? { fix: o.fix } : {}),
          },
          {
            msg: 'window post message waits unsigned in the messager: it cannot land until this is fixed',
            throttleKey: `${r.miner}-${o.reason}`,
            countKey: `${b.msgId}-${o.reason}`,
          },
        );
      } else if (!b.signed && rec.SignedCid) {
        b.signed = true;
        for (const k of ['signing', 'gas']) this.failures.clear(`${r.miner}-${k}`);
        log.info({ ...where, cid: rec.SignedCid['/'] }, 'window post signed and in the message pool');
      }
      return false;
    }
    // failed: a PoSt of these partitions may have landed meanwhile from elsewhere (an earlier run of this manager
    // whose message was still in the pool at its restart): the chain says they are proven, so they are
    const posted = await postedPartitions(this.o, r, tsk);
    if (b.partitions.every((k) => posted.has(k))) {
      log.info({ ...where }, 'window post submission failed, but the chain has these partitions proven in this window');
      this.report(r, b, true, rec.Height || height);
      b.landed = true;
      return false;
    }
    b.lastFailure = describeOutcome({ reason: o.reason, detail: o.detail });
    this.failures.report(
      {
        ...this.failureOf(r, b, height),
        epoch: rec.Height || height,
        reason: o.reason ?? 'landing',
        detail: o.detail ?? '',
        ...(o.fix ? { fix: o.fix } : {}),
      },
      {
        msg: 'window post message failed; sending it again while the deadline is open',
        throttleKey: `${r.miner}-${r.dl.Open}-${b.msgId}`,
        countKey: b.msgId!,
      },
    );
    return true;
  }

  /**
   * Reads the miner's current deadline from the chain: false (reported) when the runner's one has closed, or
   * closes before a message pushed now could land (the next epoch); false (tried on the next head) when the chain
   * cannot say: a manager that was frozen or cut off does not push on what it knew before.
   */
  private async deadlineStillOpen(r: Runner, height: number): Promise<boolean> {
    let now: number;
    try {
      now = Math.max(height, (await this.o.chain.StateMinerProvingDeadline(minerAddr(r.miner), null)).CurrentEpoch);
    } catch (err) {
      log.warn(
        { miner: String(r.miner), deadline: r.dl.Index, err: (err as Error).message },
        'current deadline unavailable right before a push: not sent now, tried again on the next head',
      );
      return false;
    }
    // included at the next epoch at the earliest
    if (now + 1 < r.dl.Close) return true;
    r.aborted = true;
    r.closedReported = true;
    const unproven = r.batches.filter((b) => !b.landed);
    const b = unproven[0]!;
    this.failures.report(
      {
        ...this.failureOf(r, b, now),
        partitions: unproven.flatMap((x) => x.partitions),
        reason: 'deadline_closed',
        detail: `not sent: deadline ${r.dl.Index} ${now < r.dl.Close ? 'closes' : 'closed'} at epoch ${r.dl.Close} before the proof could be sent (head ${now})${b.lastFailure ? `; last failure: ${b.lastFailure}` : ''}`,
      },
      {
        msg: 'deadline closed before the window post could be sent: not sending it, its sectors become faulty',
        throttleKey: `${r.miner}-${r.dl.Open}-closed`,
      },
    );
    return false;
  }

  private report(r: Runner, b: Batch, ok: boolean, epoch: number): void {
    const skipped = b.proof?.partitions.reduce((a, p) => a + p.skipped.length, 0) ?? 0;
    const proven = (b.proof?.sectorCount ?? 0) - skipped;
    try {
      this.o.onPoSt?.({ miner: minerAddr(r.miner), deadline: r.dl.Index, ok, epoch, proven, faulty: skipped });
    } catch {
      // metrics never break proving
    }
  }

  /**
   * Pushes a message from the miner's PoSt sender (or worker) with the PoSt fee policy; returns its id, or
   * undefined when `ready` (checked right before the push) says no. Only the holder of the `post` duty pushes.
   */
  private async send(
    r: Runner,
    method: number,
    params: Uint8Array,
    kind: 'post' | 'recover',
    ready?: () => Promise<boolean>,
  ): Promise<string | undefined> {
    const pol = postPolicy(this.o.config(), r.miner);
    const from = pol.Sender || (await this.o.miners.get(r.miner)).worker;
    const cap = feeCapAtto(pol.MaxFeeCap);
    const msg = buildMessage({
      from,
      to: minerAddr(r.miner),
      method,
      params,
      ...(cap !== undefined ? { gasFeeCap: cap } : {}),
    });
    const id = await freshMessageId(this.o.messager, msg, (x) => this.o.store.getMessage(x) !== undefined);
    const json = messageJson(msg);
    // a PoSt the messager could only send from the deadline's last epoch on would be included after the close,
    // where the chain runs it and fails it ("invalid deadline"): the messager drops it instead (venus-messager's
    // ExpireEpoch: not sent from a head at that epoch on)
    const spec = {
      ...sendSpec(pol.GasOverEstimation, cap),
      ...(kind === 'post' ? { expireEpoch: r.dl.Close - 1 } : {}),
    };
    if (ready && !(await ready())) return undefined;
    let lost = false;
    try {
      this.o.store.tx(() => {
        this.o.lease?.fence();
        this.o.store.putMessage({ id, miner: r.miner, kind, sectors: [], message: json, spec });
      });
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      lost = true;
    }
    if (!lost) await this.o.store.durable();
    if (lost || r.aborted || (this.o.lease && !this.o.lease.holds())) {
      log.info(
        { miner: String(r.miner), deadline: r.dl.Index, kind },
        'the post duty moved to another manager: not sent from here',
      );
      return undefined;
    }
    await this.o.messager.PushMessageWithId(id, json, spec);
    this.o.store.markPushed(id);
    return id;
  }

  /** `util sealer proving check`: the check a deadline's sectors get before proving. */
  checkDeadline(miner: number, deadline: number, strict: boolean) {
    return checkDeadline(this.o, miner, deadline, strict);
  }
}
