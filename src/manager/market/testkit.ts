/**
 * A fake market for the manager's deal tests: a real RpcServer (127.0.0.1, port 0, a token secret) serving
 * VENUS_MARKET v1 with droplet's assignment rule — the same sector asking again gets the same deals — and
 * recording every call (with its namespace header) so tests can count them. `down()` / `up()` stop and
 * restart it on the same port (market unreachable).
 */
import { MARKET_API_NAMESPACE_HEADER, MarketApi, type MarketDealInfoV2 } from '../../api/market.js';
import { createToken, RpcServer } from '../../rpc/index.js';

export interface FakeMarketCall {
  method: string;
  params: unknown[];
  namespace: string | undefined;
}

export class FakeMarket {
  readonly secret = new Uint8Array(32).fill(7);
  calls: FakeMarketCall[] = [];
  /** deals handed out by the next AssignDeals of a sector not yet assigned */
  queue: MarketDealInfoV2[] = [];
  /** sector "miner-number" → its deals (droplet's stored assignment) */
  readonly assigned = new Map<string, MarketDealInfoV2[]>();
  released: number[] = [];
  releasedDirect: number[] = [];
  server: RpcServer | undefined;
  port = 0;

  async start(): Promise<this> {
    const server = new RpcServer({ auth: this.secret });
    const note = (method: string, params: unknown[], headers: Record<string, unknown>) => {
      const ns = headers[MARKET_API_NAMESPACE_HEADER.toLowerCase()];
      this.calls.push({ method, params, namespace: typeof ns === 'string' ? ns : undefined });
    };
    server.register(MarketApi, {
      AssignDeals: async (sid, size, spec, ctx) => {
        note('AssignDeals', [sid, size, spec], ctx.headers);
        const key = `${sid.Miner}-${sid.Number}`;
        const had = this.assigned.get(key);
        if (had) return had;
        const max = spec.MaxPiece > 0 ? spec.MaxPiece : this.queue.length;
        const picked = this.queue.splice(0, max);
        if (picked.length > 0) this.assigned.set(key, picked);
        return picked;
      },
      ReleaseDeals: async (miner, deals, ctx) => {
        note('ReleaseDeals', [miner, deals], ctx.headers);
        this.released.push(...deals);
      },
      ReleaseDirectDeals: async (miner, ids, ctx) => {
        note('ReleaseDirectDeals', [miner, ids], ctx.headers);
        this.releasedDirect.push(...ids);
      },
      ListenMarketEvent: async () => {
        throw new Error('not in this fake');
      },
      ResponseMarketEvent: async () => undefined,
    });
    const a = await server.listen({ host: '127.0.0.1', port: this.port });
    this.port = a.port;
    this.server = server;
    return this;
  }

  token(perm: 'read' | 'write' | 'admin' = 'write'): Promise<string> {
    return createToken(this.secret, perm, { name: 'sealer' });
  }

  /** `[DealManagerConfig.MarketAPI] Api` for this fake. */
  get api(): string {
    return `/ip4/127.0.0.1/tcp/${this.port}/http`;
  }

  async down(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }

  async up(): Promise<void> {
    if (!this.server) await this.start();
  }

  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }
}
