/** A market that sends market events (ListenMarketEvent channels per miner) and records the answers. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  MARKET_API_NAMESPACE_HEADER,
  MarketApi,
  type MarketRequestEvent,
  type MarketResponseEvent,
} from '../../api/market.js';
import { generateSecret, PushChannel, RpcServer } from '../../rpc/index.js';

/** A market as the sector-manager sees it: ListenMarketEvent channels per miner, answers recorded. */
export class EventMarket {
  readonly secret = generateSecret();
  server!: RpcServer;
  port = 0;
  subs: { miner: string; ch: PushChannel<MarketRequestEvent> }[] = [];
  responses: MarketResponseEvent[] = [];
  namespaces: (string | undefined)[] = [];

  async start(port = 0): Promise<void> {
    this.server = new RpcServer({ auth: this.secret });
    this.server.register(MarketApi, {
      AssignDeals: () => null,
      ReleaseDeals: () => undefined,
      ReleaseDirectDeals: () => undefined,
      ListenMarketEvent: (policy, ctx) => {
        this.namespaces.push(ctx.headers?.[MARKET_API_NAMESPACE_HEADER.toLowerCase()] as string | undefined);
        const ch = new PushChannel<MarketRequestEvent>();
        this.subs.push({ miner: policy.Miner, ch });
        ch.push({ ID: 'init', Method: 'InitConnect', Payload: Buffer.from('{"ChannelId":"c1"}').toString('base64') });
        return ch;
      },
      ResponseMarketEvent: (resp) => {
        this.responses.push(resp);
      },
    });
    this.port = (await this.server.listen(`127.0.0.1:${port}`)).port;
  }

  /** Sends an event on the newest live channel. */
  send(ev: MarketRequestEvent): void {
    const live = this.subs.filter((s) => !s.ch.closed);
    assert.ok(live.length > 0, 'no live subscription');
    live[live.length - 1]!.ch.push(ev);
  }

  async response(id: string, timeoutMs = 5000): Promise<MarketResponseEvent> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const r = this.responses.find((x) => x.ID === id);
      if (r) return r;
      await sleep(10);
    }
    throw new Error(`no response to ${id}`);
  }
}

export const unsealEvent = (id: string, req: Record<string, unknown>): MarketRequestEvent => ({
  ID: id,
  Method: 'SectorsUnsealPiece',
  Payload: Buffer.from(JSON.stringify(req)).toString('base64'),
});
export const state = (r: MarketResponseEvent) => JSON.parse(Buffer.from(r.Payload ?? '', 'base64').toString());
export const worker = { admin: false, name: 'w1' };

export async function until(what: string, ok: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
