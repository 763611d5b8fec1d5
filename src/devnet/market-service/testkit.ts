/**
 * Test helpers for the market: a MarketService on its own RpcServer (loopback, free port, tokens from a fresh
 * secret) over an in-memory database and a fake chain the test steers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { setDefaultNetwork } from '../../fil/index.js';
import { createToken, generateSecret, RpcServer } from '../../rpc/index.js';
import type { ChainAllocation, ChainClaim, ChainDealState, MarketChain } from './chain.js';
import type { DealRow } from './db.js';
import { MarketService, type MarketServiceOptions } from './service.js';

export class FakeChain implements MarketChain {
  head = 100;
  deals = new Map<number, ChainDealState>();
  allocations = new Map<number, ChainAllocation>();
  claims = new Map<number, ChainClaim>();
  height(): number {
    return this.head;
  }
  async marketDeal(id: number) {
    return this.deals.get(id) ?? null;
  }
  async allocation(_client: string, id: number) {
    return this.allocations.get(id) ?? null;
  }
  async claim(_provider: string, id: number) {
    return this.claims.get(id) ?? null;
  }
  async pendingDealAllocation() {
    return 0;
  }
  async minerWorker() {
    return 't01001';
  }
  async lookupId(addr: string) {
    return addr;
  }
}

export interface MarketHarness {
  market: MarketService;
  chain: FakeChain;
  server: RpcServer;
  base: string;
  /** tokens by permission */
  read: string;
  write: string;
  dir: string;
  /** inserts a deal row (defaults: an active direct deal of t01000 in sector 5 at offset 0) */
  addDeal(o?: Partial<DealRow>): DealRow;
  close(): Promise<void>;
}

export async function startMarket(o: Partial<MarketServiceOptions> = {}): Promise<MarketHarness> {
  setDefaultNetwork('t');
  const dir = mkdtempSync(join(tmpdir(), 'market-'));
  const db = new Database(':memory:');
  const chain = new FakeChain();
  const secret = generateSecret();
  const server = new RpcServer({ auth: secret, anonymousPerm: 'read', paths: ['/rpc/v0', '/rpc/v1'] });
  const market = new MarketService({
    db,
    piecesDir: join(dir, 'market', 'pieces'),
    chain,
    maxPieceBytes: 8128,
    unsealTimeoutMs: 5000,
    ...o,
  });
  market.mount(server);
  const a = await server.listen('127.0.0.1:0');
  let n = 0;
  return {
    market,
    chain,
    server,
    dir,
    base: `http://127.0.0.1:${a.port}`,
    read: await createToken(secret, 'read', { name: 'client' }),
    write: await createToken(secret, 'write', { name: 'sealer' }),
    addDeal(d: Partial<DealRow> = {}) {
      n++;
      return market.store.insert({
        kind: 'ddo',
        deal_id: 0,
        allocation_id: 100 + n,
        proposal_cid: null,
        publish_cid: null,
        msg_id: null,
        proposal: null,
        piece_cid: 'baga6ea4seaqmissing',
        piece_size: 256,
        payload_size: 200,
        client: 't1client',
        provider: 't01000',
        provider_id: 1000,
        verified: 1,
        start_epoch: 1000,
        end_epoch: 5000,
        term_min: null,
        term_max: null,
        alloc_expiration: null,
        state: 'active',
        sector: 5,
        offset: 0,
        activation_epoch: 90,
        reason: null,
        ...d,
      });
    },
    async close() {
      await market.close();
      await server.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
