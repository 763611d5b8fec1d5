/**
 * Market events (venus-gateway's market side, which droplet uses to reach its sealers): a sealer opens
 * `ListenMarketEvent({Miner})`, gets "InitConnect", then requests such as "SectorsUnsealPiece" (Payload: the JSON
 * of an UnsealRequest, base64), and answers each with `ResponseMarketEvent`. A request made while no sealer of
 * that miner listens waits for one; a request whose sealer drops goes to the next one that connects.
 */
import { randomUUID } from 'node:crypto';
import type { MarketRegisterPolicy, MarketRequestEvent, MarketResponseEvent, UnsealRequest } from '../../api/market.js';
import { logger } from '../../common/log.js';
import { fromBase64, parseAddress, toBase64 } from '../../fil/index.js';
import { type CallContext, PushChannel, rpcError } from '../../rpc/index.js';

const log = logger('devnet.market.events');

interface Listener {
  id: string;
  miner: string;
  channel: PushChannel<MarketRequestEvent>;
}

interface Pending {
  event: MarketRequestEvent;
  miner: string;
  /** the listener it went to (undefined: waiting for one) */
  sentTo?: string;
  resolve: (payload: Uint8Array | null) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export const SECTORS_UNSEAL_PIECE = 'SectorsUnsealPiece';

export class MarketEvents {
  private readonly listeners = new Map<string, Listener>();
  private readonly pending = new Map<string, Pending>();

  /** ListenMarketEvent: a channel of requests for `policy.Miner`. */
  listen(policy: MarketRegisterPolicy, ctx: CallContext): PushChannel<MarketRequestEvent> {
    let miner: string;
    try {
      miner = parseAddress(policy.Miner).toString();
    } catch (e) {
      throw rpcError(`ListenMarketEvent: Miner ${JSON.stringify(policy.Miner)}: ${(e as Error).message}`);
    }
    const l: Listener = { id: randomUUID(), miner, channel: new PushChannel<MarketRequestEvent>() };
    this.listeners.set(l.id, l);
    l.channel.onReturn(() => this.drop(l, 'channel closed'));
    ctx.connection?.onClose(() => this.drop(l, 'socket closed'));
    ctx.signal.addEventListener('abort', () => this.drop(l, 'call cancelled'), { once: true });
    l.channel.push({
      ID: randomUUID(),
      Method: 'InitConnect',
      Payload: toBase64(new TextEncoder().encode(JSON.stringify({ ChannelId: l.id }))),
    });
    log.info({ miner, channel: l.id }, 'sealer listening for market events');
    // requests that waited for a sealer of this miner go out now
    for (const p of this.pending.values()) if (p.miner === miner && !p.sentTo) this.send(p);
    return l.channel;
  }

  private drop(l: Listener, why: string): void {
    if (!this.listeners.delete(l.id)) return;
    l.channel.end();
    log.info({ miner: l.miner, channel: l.id, why }, 'market event listener gone');
    for (const p of this.pending.values()) {
      if (p.sentTo !== l.id) continue;
      p.sentTo = undefined;
      this.send(p); // another sealer of the miner, or the next to connect
    }
  }

  /** Sealers listening for `miner` now. */
  listening(miner: string): number {
    const m = parseAddress(miner).toString();
    return [...this.listeners.values()].filter((l) => l.miner === m).length;
  }

  private send(p: Pending): void {
    const l = [...this.listeners.values()].find((x) => x.miner === p.miner);
    if (!l) return;
    if (l.channel.push(p.event)) p.sentTo = l.id;
  }

  /**
   * Sends a request to a sealer of `miner` and waits for its response (payload bytes, or null). Fails after
   * `timeoutMs` with the reason: no sealer listening, or no answer.
   */
  request(miner: string, method: string, payload: unknown, timeoutMs: number): Promise<Uint8Array | null> {
    const m = parseAddress(miner).toString();
    const event: MarketRequestEvent = {
      ID: randomUUID(),
      Method: method,
      Payload: toBase64(new TextEncoder().encode(JSON.stringify(payload))),
    };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(event.ID);
        this.pending.delete(event.ID);
        reject(
          new Error(
            p?.sentTo
              ? `the sealer of ${m} did not answer ${method} within ${Math.round(timeoutMs / 1000)}s`
              : `no sealer of ${m} listened for market events within ${Math.round(timeoutMs / 1000)}s`,
          ),
        );
      }, timeoutMs);
      const p: Pending = { event, miner: m, resolve, reject, timer };
      this.pending.set(event.ID, p);
      this.send(p);
      log.info({ miner: m, method, id: event.ID, sent: !!p.sentTo }, 'market event requested');
    });
  }

  /** SectorsUnsealPiece: asks the provider's sealer to unseal a piece to `req.Dest`. */
  unseal(req: UnsealRequest, timeoutMs: number): Promise<Uint8Array | null> {
    return this.request(req.Miner, SECTORS_UNSEAL_PIECE, req, timeoutMs);
  }

  /** ResponseMarketEvent. */
  respond(resp: MarketResponseEvent): void {
    const p = this.pending.get(resp.ID);
    if (!p) throw rpcError(`no pending market event ${resp.ID}`);
    this.pending.delete(resp.ID);
    clearTimeout(p.timer);
    if (resp.Error) {
      log.warn({ miner: p.miner, method: p.event.Method, id: resp.ID, err: resp.Error }, 'market event failed');
      p.reject(new Error(resp.Error));
    } else {
      log.info({ miner: p.miner, method: p.event.Method, id: resp.ID }, 'market event answered');
      p.resolve(resp.Payload ? fromBase64(resp.Payload, 'Payload') : null);
    }
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('market shutting down'));
    }
    this.pending.clear();
    for (const l of [...this.listeners.values()]) this.drop(l, 'market shutting down');
  }
}
