/**
 * The market's view of the devnet's own chain and messager, in process: the chain's Lotus State* answers
 * (called on the node's FullNode implementation, as droplet calls its chain node) and the messager's records.
 */
import type { Message } from '../../fil/index.js';
import { fromBase64, newMessage, parseAddress } from '../../fil/index.js';
import type { CallContext } from '../../rpc/index.js';
import { fullNodeImpl } from '../api-full.js';
import { DEVNET_ACCOUNT } from '../home.js';
import type { Messager } from '../messager.js';
import type { DevnetNode } from '../node.js';
import type { ChainAllocation, ChainClaim, ChainDealState, MarketChain, MarketMessager } from './chain.js';

type Fn = (...args: unknown[]) => unknown;

/** The FullNode methods the market reads, by Lotus name. */
const NONE = null;

export class DevnetMarketChain implements MarketChain {
  private readonly impl: Record<string, Fn>;

  constructor(private readonly node: DevnetNode) {
    this.impl = fullNodeImpl(node) as unknown as Record<string, Fn>;
  }

  private async call<T>(method: string, ...params: unknown[]): Promise<T> {
    const fn = this.impl[method];
    if (typeof fn !== 'function') throw new Error(`the devnet chain does not serve Filecoin.${method}`);
    return (await fn(...params, { signal: new AbortController().signal } as unknown as CallContext)) as T;
  }

  height(): number {
    return this.node.head.height;
  }

  async marketDeal(dealId: number): Promise<ChainDealState | null> {
    try {
      const d = await this.call<{ State: ChainDealState } | null>('StateMarketStorageDeal', dealId, NONE);
      return d?.State ?? null;
    } catch (e) {
      if (/not found/i.test((e as Error).message)) return null;
      throw e;
    }
  }

  allocation(client: string, allocationId: number): Promise<ChainAllocation | null> {
    return this.call<ChainAllocation | null>('StateGetAllocation', client, allocationId, NONE);
  }

  claim(provider: string, claimId: number): Promise<ChainClaim | null> {
    return this.call<ChainClaim | null>('StateGetClaim', provider, claimId, NONE);
  }

  async pendingDealAllocation(dealId: number): Promise<number> {
    try {
      return Number(await this.call<number>('StateGetAllocationIdForPendingDeal', dealId, NONE)) || 0;
    } catch {
      return 0; // the deal is not pending (activated or gone): nothing to show
    }
  }

  async minerWorker(miner: string): Promise<string> {
    const info = await this.call<{ Worker: string }>('StateMinerInfo', miner, NONE);
    return info.Worker;
  }

  lookupId(addr: string): Promise<string> {
    return this.call<string>('StateLookupID', addr, NONE);
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
