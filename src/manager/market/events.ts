/**
 * Market events (docs/deals-unseal.md §Market events): for each miner with deals enabled, a
 * `VENUS_MARKET.ListenMarketEvent({Miner})` subscription on the market, as damocles-manager keeps one
 * (modules/market/event.go). The market sends `InitConnect` (ignored) and `SectorsUnsealPiece` requests; each
 * request is answered exactly once with `ResponseMarketEvent`:
 * - a bad request, or one for a sector or piece this manager cannot unseal: an error, at once;
 * - otherwise it becomes (or joins) an unseal task and the answer waits for the task's outcome ("finished", or the
 *   error) for up to `answerWithinMs`; after that it is answered with the task's state of the moment (set_up,
 *   unsealing, uploading), as damocles answers, and the market asks again later (droplet re-asks until
 *   "finished") — the market's gateway drops a request left unanswered for long.
 * When the market goes away the subscription is re-opened with a growing delay (1 s → 60 s): one WARN per
 * outage, the retries at debug level.
 */
import { Counter, type Registry } from 'prom-client';
import { z } from 'zod';
import type { MarketApi, MarketRequestEvent, MarketResponseEvent } from '../../api/market.js';
import { Address, Cid, Name, Uint } from '../../api/schema.js';
import type { UnsealState } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { metrics } from '../../common/metrics.js';
import type { ApiClient, Subscription } from '../../rpc/index.js';
import { minerAddr } from '../chain.js';
import { MAX_DEST_LENGTH } from '../unseal/dest.js';
import type { UnsealTask } from '../unseal/store.js';
import type { UnsealTasks } from '../unseal/tasks.js';

const log = logger('market_event');

export type MarketEventClient = Pick<ApiClient<typeof MarketApi>, 'ListenMarketEvent' | 'ResponseMarketEvent'>;

export interface MarketEventsOptions {
  tasks: UnsealTasks;
  /** miners with deals enabled (read again every `resyncMs`, so a config reload adds or drops listeners) */
  miners: () => number[];
  /** the market client of the moment (undefined: no market configured) */
  client: () => MarketEventClient | undefined;
  /** how long a request waits for the task's outcome before it is answered with the state (default 10 min) */
  answerWithinMs?: number;
  backoff?: { minMs: number; maxMs: number };
  resyncMs?: number;
  registry?: Registry;
}

/** gateway.UnsealRequest as the market sends it (Offset and Size unpadded). */
const UnsealRequestSchema = z.object({
  PieceCid: Cid,
  Miner: Address,
  Sid: Uint,
  Offset: Uint,
  Size: Uint,
  Dest: Name(MAX_DEST_LENGTH),
});

const MAX_PAYLOAD = 64 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The JSON of a Go UnsealState, as the []byte payload of a ResponseEvent. */
const statePayload = (s: UnsealState) => Buffer.from(JSON.stringify(s)).toString('base64');

/** A valid unpadded piece size: 127 · 2^k. */
function isUnpaddedPieceSize(n: number): boolean {
  if (n < 127 || n % 127 !== 0) return false;
  return Number.isInteger(Math.log2(n / 127));
}

/** Decodes and checks a SectorsUnsealPiece payload for `miner`; throws naming what is wrong. */
export function parseUnsealRequest(payload: unknown, miner: number): z.infer<typeof UnsealRequestSchema> {
  if (typeof payload !== 'string' || payload.length > MAX_PAYLOAD || !BASE64.test(payload))
    throw new Error(`payload must be base64 JSON of at most ${MAX_PAYLOAD} characters`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(payload, 'base64').toString('utf8'));
  } catch {
    throw new Error('payload is not JSON');
  }
  const r = UnsealRequestSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`UnsealRequest.${i.path.join('.') || '(root)'} ${i.message}`);
  }
  const req = r.data;
  const m = /^[ft]0(\d{1,19})$/.exec(req.Miner);
  if (!m || Number(m[1]) !== miner)
    throw new Error(`request for miner ${req.Miner} came on the listener of ${minerAddr(miner)}`);
  if (!isUnpaddedPieceSize(req.Size)) throw new Error(`Size ${req.Size} is not an unpadded piece size (127·2^k)`);
  if (req.Offset % 127 !== 0) throw new Error(`Offset ${req.Offset} is not an unpadded offset (a multiple of 127)`);
  return req;
}

interface Listener {
  stopped: boolean;
  sub?: Subscription<MarketRequestEvent>;
  wake?: () => void;
}

export class MarketEvents {
  private readonly listeners = new Map<number, Listener>();
  /** requests waiting for an outcome: event id → task and the timer that answers with the state */
  private readonly held = new Map<string, { taskId: number; timer: NodeJS.Timeout }>();
  private readonly answerWithinMs: number;
  private readonly backoff: { minMs: number; maxMs: number };
  private readonly events: Counter<'method' | 'result'>;
  private readonly outages: Counter<'miner'>;
  private resync: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: MarketEventsOptions) {
    this.answerWithinMs = o.answerWithinMs ?? 600_000;
    this.backoff = o.backoff ?? { minMs: 1000, maxMs: 60_000 };
    const registry = o.registry ?? metrics().registry;
    registry.removeSingleMetric('venus_market_events_total');
    registry.removeSingleMetric('venus_market_events_outages_total');
    this.outages = new Counter({
      name: 'venus_market_events_outages_total',
      help: 'Times the market-event subscription of a miner with deals was lost or could not be opened (one per outage, not per retry)',
      labelNames: ['miner'],
      registers: [registry],
    });
    this.events = new Counter({
      name: 'venus_market_events_total',
      help: 'Market events received, per method (InitConnect, SectorsUnsealPiece, other) and result (ok, error)',
      labelNames: ['method', 'result'],
      registers: [registry],
    });
    o.tasks.onOutcome((task, ids) => this.answerOutcome(task, ids));
  }

  /** Starts (again, after stop(): the `chain` duty came back) listening for every enabled miner. */
  start(): void {
    this.stopped = false;
    this.sync();
    this.resync = setInterval(() => this.sync(), this.o.resyncMs ?? 10_000);
    this.resync.unref();
  }

  /** Starts listeners for newly enabled miners and stops those of miners no longer listed. */
  sync(): void {
    if (this.stopped) return;
    const want = new Set(this.o.miners());
    for (const [miner, l] of this.listeners)
      if (!want.has(miner)) {
        this.stopListener(l);
        this.listeners.delete(miner);
        log.info({ miner: minerAddr(miner) }, 'market events: stopped listening (deals no longer enabled)');
      }
    for (const miner of want)
      if (!this.listeners.has(miner)) {
        const l: Listener = { stopped: false };
        this.listeners.set(miner, l);
        void this.listen(miner, l);
      }
  }

  stop(): void {
    this.stopped = true;
    if (this.resync) clearInterval(this.resync);
    for (const l of this.listeners.values()) this.stopListener(l);
    this.listeners.clear();
    for (const h of this.held.values()) clearTimeout(h.timer);
    this.held.clear();
  }

  /** Miners with a live subscription (the dashboard and tests). */
  connected(): number[] {
    return [...this.listeners].filter(([, l]) => l.sub).map(([m]) => m);
  }

  private stopListener(l: Listener): void {
    l.stopped = true;
    l.sub?.cancel();
    l.wake?.();
  }

  private async listen(miner: number, l: Listener): Promise<void> {
    const addr = minerAddr(miner);
    let delay = this.backoff.minMs;
    let warned = false;
    log.info({ miner: addr }, 'market events: listening');
    while (!l.stopped) {
      let why: string;
      try {
        const client = this.o.client();
        if (!client) throw new Error('no market endpoint configured');
        const sub = await client.ListenMarketEvent({ Miner: addr });
        if (l.stopped) {
          sub.cancel();
          break;
        }
        l.sub = sub;
        if (warned) log.info({ miner: addr }, 'market events: connected again');
        warned = false;
        delay = this.backoff.minMs;
        for await (const ev of sub) this.handle(miner, client, ev);
        l.sub = undefined;
        why = `the market ended the subscription (${await sub.ended})`;
      } catch (err) {
        l.sub = undefined;
        why = (err as Error).message;
      }
      if (l.stopped) break;
      if (!warned) {
        this.outages.inc({ miner: addr });
        log.warn({ miner: addr, err: why }, 'market events unavailable; retrying quietly until the market answers');
        warned = true;
      } else log.debug({ miner: addr, err: why, retryMs: delay }, 'market events still unavailable');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        t.unref();
        l.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      l.wake = undefined;
      delay = Math.min(delay * 2, this.backoff.maxMs);
    }
  }

  /** One event from the market (never throws: a bad event is answered with the error). */
  handle(miner: number, client: MarketEventClient, ev: MarketRequestEvent): void {
    const id = typeof ev?.ID === 'string' && ev.ID.length > 0 && ev.ID.length <= 128 ? ev.ID : undefined;
    const method = typeof ev?.Method === 'string' ? ev.Method : '';
    if (method === 'InitConnect') {
      this.events.inc({ method, result: 'ok' });
      log.debug({ miner: minerAddr(miner) }, 'market events: connection confirmed');
      return;
    }
    if (!id) {
      this.events.inc({ method: 'other', result: 'error' });
      log.warn({ miner: minerAddr(miner), method: method.slice(0, 64) }, 'market event without a usable ID ignored');
      return;
    }
    if (method !== 'SectorsUnsealPiece') {
      this.events.inc({ method: 'other', result: 'error' });
      log.warn({ miner: minerAddr(miner), method: method.slice(0, 64) }, 'unknown market event answered with an error');
      this.respond(client, { ID: id, Payload: null, Error: `unknown market event method "${method.slice(0, 64)}"` });
      return;
    }
    let out: ReturnType<UnsealTasks['request']>;
    try {
      const req = parseUnsealRequest(ev.Payload, miner);
      out = this.o.tasks.request({
        sid: { Miner: miner, Number: req.Sid },
        pieceCid: req.PieceCid,
        offset: req.Offset,
        size: req.Size,
        dest: req.Dest,
        source: 'market',
        eventId: id,
      });
    } catch (err) {
      const reason = (err as Error).message;
      this.events.inc({ method, result: 'error' });
      log.error({ miner: minerAddr(miner), event: id, reason }, 'unseal request from the market refused');
      this.respond(client, { ID: id, Payload: statePayload('failed'), Error: reason });
      return;
    }
    this.events.inc({ method, result: 'ok' });
    if (out.answer) {
      this.respond(client, this.outcomeResponse(id, out.task));
      return;
    }
    if (this.held.has(id)) return;
    const taskId = out.task.id;
    const timer = setTimeout(() => {
      if (!this.held.delete(id)) return;
      const cur = this.o.tasks.get(taskId);
      this.o.tasks.dropEvent(taskId, id);
      this.respond(client, { ID: id, Payload: statePayload(cur?.state ?? 'set_up'), Error: '' });
    }, this.answerWithinMs);
    timer.unref();
    this.held.set(id, { taskId, timer });
  }

  private outcomeResponse(id: string, t: UnsealTask): MarketResponseEvent {
    return t.state === 'failed'
      ? { ID: id, Payload: statePayload('failed'), Error: t.error || 'unseal failed' }
      : { ID: id, Payload: statePayload(t.state), Error: '' };
  }

  /** A task ended: every market request still waiting for it gets the outcome. */
  private answerOutcome(task: UnsealTask, ids: string[]): void {
    if (ids.length === 0) return;
    const client = this.o.client();
    if (!client) return;
    for (const id of ids) {
      const h = this.held.get(id);
      if (h) {
        clearTimeout(h.timer);
        this.held.delete(id);
      }
      this.respond(client, this.outcomeResponse(id, task), task);
    }
  }

  private respond(client: MarketEventClient, resp: MarketResponseEvent, task?: UnsealTask): void {
    client.ResponseMarketEvent(resp).catch((err: Error) => {
      // the market forgot the request (restart, gateway timeout): it asks again, and the outcome is kept for it
      if (task) this.o.tasks.unreport(task.id);
      log.warn({ event: resp.ID, err: err.message }, 'answering the market event failed');
    });
  }
}
