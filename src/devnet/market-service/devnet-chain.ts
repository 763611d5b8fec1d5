/**
 * The market's view of the devnet's own chain and messager, in process: the actors' state at the head (what
 * Lotus' StateMarketStorageDeal, StateGetAllocation, StateGetClaim, StateMinerInfo answer from) and the
 * messager's records.
 */
import type { Message } from '../../fil/index.js';
import { fromBase64, newMessage, parseAddress } from '../../fil/index.js';
import { DEVNET_ACCOUNT } from '../home.js';
import { marketState } from '../market/state.js';
import type { Messager } from '../messager.js';
import type { MinerState } from '../miner.js';
import type { DevnetNode } from '../node.js';
import type { StateTree } from '../state.js';
import { verifregState } from '../verifreg/state.js';
import type { ChainAllocation, ChainClaim, ChainDealState, MarketChain, MarketMessager } from './chain.js';

export class DevnetMarketChain implements MarketChain {
  constructor(private readonly node: DevnetNode) {}

  private idOf(tree: StateTree, addr: string, what: string): number {
    const id = tree.resolve(parseAddress(addr));
    if (id === undefined) throw new Error(`${what} ${addr} is not on chain`);
    return id;
  }

  height(): number {
    return this.node.head.height;
  }

  async marketDeal(dealId: number): Promise<ChainDealState | null> {
    const st = marketState(this.node.view());
    if (!st.proposals[dealId]) return null;
    const s = st.states[dealId];
    return {
      SectorStartEpoch: s?.sectorStartEpoch ?? -1,
      LastUpdatedEpoch: s?.lastUpdatedEpoch ?? -1,
      SlashEpoch: s?.slashEpoch ?? -1,
    };
  }

  async allocation(client: string, allocationId: number): Promise<ChainAllocation | null> {
    const tree = this.node.view();
    const a = verifregState(tree).allocations[this.idOf(tree, client, 'client')]?.[allocationId];
    if (!a) return null;
    return {
      Client: a.client,
      Provider: a.provider,
      Data: { '/': a.data },
      Size: a.size,
      TermMin: a.termMin,
      TermMax: a.termMax,
      Expiration: a.expiration,
    };
  }

  async claim(provider: string, claimId: number): Promise<ChainClaim | null> {
    const tree = this.node.view();
    const c = verifregState(tree).claims[this.idOf(tree, provider, 'provider')]?.[claimId];
    if (!c) return null;
    return {
      Provider: c.provider,
      Client: c.client,
      Data: { '/': c.data },
      Size: c.size,
      TermMin: c.termMin,
      TermMax: c.termMax,
      TermStart: c.termStart,
      Sector: c.sector,
    };
  }

  async pendingDealAllocation(dealId: number): Promise<number> {
    return marketState(this.node.view()).pendingDealAllocationIds[dealId] ?? 0;
  }

  async minerWorker(miner: string): Promise<string> {
    const tree = this.node.view();
    const rec = tree.get(this.idOf(tree, miner, 'miner'));
    if (rec?.kind !== 'miner') throw new Error(`${miner} is not a miner`);
    return `t0${(rec.state as MinerState).info.worker}`;
  }

  async lookupId(addr: string): Promise<string> {
    const tree = this.node.view();
    return `t0${this.idOf(tree, addr, 'address')}`;
  }
}

/** PublishStorageDeals through the devnet's messager, signed by the wallet registered with the devnet account. */
export class DevnetMarketMessager implements MarketMessager {
  constructor(private readonly messager: Messager) {}

  push(id: string, from: string, to: string, method: number, params: Uint8Array): string {
    const msg: Message = newMessage({ from: parseAddress(from), to: parseAddress(to), method, params });
    return this.messager.push(id, msg, null, DEVNET_ACCOUNT);
  }

  status(id: string): ReturnType<MarketMessager['status']> {
    let r: ReturnType<Messager['get']>;
    try {
      r = this.messager.get(id);
    } catch (e) {
      return { state: 'failed', reason: (e as Error).message };
    }
    // 3 OnChainMsg, 5 NonceConflictMsg (replaced, landed under another CID), 4 FailedMsg
    if (r.State === 4) return { state: 'failed', reason: r.ErrorMsg || 'failed' };
    if ((r.State === 3 || r.State === 5) && r.Receipt) {
      return {
        state: 'onchain',
        cid: r.SignedCid?.['/'] ?? '',
        exitCode: r.Receipt.ExitCode,
        ret: r.Receipt.Return ? fromBase64(r.Receipt.Return, 'Return') : new Uint8Array(),
      };
    }
    return { state: 'pending' };
  }
}
