/**
 * Watches the PreCommit and ProveCommit messages this manager pushed until they land or fail, so a message stuck
 * unsigned in the messager (no wallet, a locked one, gas estimation failing) is an ERROR with the reason and the
 * fix (once a minute per miner and cause) and venus_commit_message_failures_total{miner,kind,reason}, not silence
 * until a worker's next poll. The workers' polls (messageState) feed the same watch.
 */
import type { MessageRecord } from '../../api/messager.js';
import { logger } from '../../common/log.js';
import { metrics, type ServiceMetrics } from '../../common/metrics.js';
import type { MessagerAPI } from '../chain.js';
import { messageOutcome, Throttle } from './outcome.js';

const log = logger('commitmgr');

export interface WatchOptions {
  messager: Pick<MessagerAPI, 'GetMessageByUid'>;
  /** how often the pushed messages are read (default 30 s) */
  everyMs?: number;
  /** the same cause logs at most once per this many ms (default 60 s) */
  logEveryMs?: number;
  metrics?: Pick<ServiceMetrics, 'commitMessageFailed'>;
  now?: () => number;
}

interface Watched {
  miner: number;
  kind: string;
  sectors: number[];
  signed: boolean;
}

export class MessageWatch {
  private readonly watched = new Map<string, Watched>();
  private readonly counted = new Set<string>();
  private readonly throttle: Throttle;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly o: WatchOptions) {
    this.throttle = new Throttle(o.logEveryMs ?? 60_000, o.now ?? Date.now);
  }

  /** Follows a pushed message until it lands or fails. */
  track(id: string, miner: number, kind: string, sectors: number[] = []): void {
    if (!this.watched.has(id)) this.watched.set(id, { miner, kind, sectors, signed: false });
    if (!this.timer) {
      this.timer = setInterval(() => void this.check(), this.o.everyMs ?? 30_000);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads every watched message once (the timer's work; tests call it). */
  check(): Promise<void> {
    this.running ??= (async () => {
      for (const id of [...this.watched.keys()]) {
        try {
          this.observe(id, await this.o.messager.GetMessageByUid(id));
        } catch (err) {
          const w = this.watched.get(id);
          if (w && this.throttle.ready(`${w.miner}-${w.kind}-messager`))
            log.warn(
              { miner: String(w.miner), kind: w.kind, id, err: (err as Error).message },
              'cannot read a commitment message from the messager',
            );
        }
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** What the messager says about a message (from the watch or from a worker's poll). */
  observe(id: string, rec: MessageRecord, who?: { miner: number; kind: string }): void {
    let w = this.watched.get(id);
    if (!w && who) {
      w = { miner: who.miner, kind: who.kind, sectors: [], signed: false };
      this.watched.set(id, w);
    }
    if (!w) return;
    const o = messageOutcome(rec);
    const label = w.kind === 'pre' ? 'PreCommit' : w.kind === 'prove' ? 'ProveCommit' : w.kind;
    const fields = {
      miner: String(w.miner),
      kind: w.kind,
      id,
      ...(w.sectors.length ? { sectors: w.sectors } : {}),
    };
    if (o.status === 'landed') {
      this.watched.delete(id);
      return;
    }
    if (o.status === 'pending' && !o.reason) {
      if (rec.SignedCid && !w.signed) {
        w.signed = true;
        this.throttle.forget(`${w.miner}-${w.kind}-signing`);
      }
      return;
    }
    const reason = o.reason ?? 'landing';
    const countKey = `${id}-${reason}`;
    if (!this.counted.has(countKey)) {
      this.counted.add(countKey);
      if (this.counted.size > 10_000) this.counted.clear();
      try {
        (this.o.metrics ?? metrics()).commitMessageFailed(w.miner, w.kind, reason);
      } catch {
        // metrics never break commitments
      }
    }
    if (o.status === 'failed') {
      this.watched.delete(id);
      log.error(
        { ...fields, reason, err: o.detail, ...(o.fix ? { fix: o.fix } : {}) },
        `${label} message failed (the worker sends it again)`,
      );
      return;
    }
    if (!this.throttle.ready(`${w.miner}-${w.kind}-${reason}`)) return;
    log.error(
      { ...fields, reason, err: o.detail, ...(o.fix ? { fix: o.fix } : {}) },
      `${label} message waits unsigned in the messager: it cannot land until this is fixed`,
    );
  }
}
