/**
 * What the market reads from the chain and how it publishes: the devnet plugs in its node (service.ts), tests
 * plug in fakes. Shapes follow Lotus' State* answers (MarketDeal state, verifreg Allocation and Claim).
 */
import type { CidJson } from '../../api/full.js';

/** market.DealState: -1 epochs mean "not yet". */
export interface ChainDealState {
  SectorStartEpoch: number;
  LastUpdatedEpoch: number;
  SlashEpoch: number;
}

/** verifreg.Allocation (Client and Provider are actor ids). */
export interface ChainAllocation {
  Client: number;
  Provider: number;
  Data: CidJson;
  Size: number;
  TermMin: number;
  TermMax: number;
  Expiration: number;
}

/** verifreg.Claim. */
export interface ChainClaim {
  Provider: number;
  Client: number;
  Data: CidJson;
  Size: number;
  TermMin: number;
  TermMax: number;
  TermStart: number;
  Sector: number;
}

export interface MarketChain {
  /** The head's height. */
  height(): number;
  /** The deal's on-chain state, or null when the chain has no such deal (never published, or removed). */
  marketDeal(dealId: number): Promise<ChainDealState | null>;
  /** The allocation, or null when the client has none by that id (claimed or removed). */
  allocation(client: string, allocationId: number): Promise<ChainAllocation | null>;
  /** The provider's claim, or null. */
  claim(provider: string, claimId: number): Promise<ChainClaim | null>;
  /** The allocation a verified builtin deal made (0 when none). */
  pendingDealAllocation(dealId: number): Promise<number>;
  /** The miner's worker address (ID form is fine). */
  minerWorker(miner: string): Promise<string>;
  /** The ID address of an account (t0…), or throws when the chain has no such actor. */
  lookupId(addr: string): Promise<string>;
}

/**
 * How a builtin deal gets published: the CBOR of the proposal (what the client signed), PublishStorageDeals'
 * params, and the deal ids its return gives. The chain's actor codecs (src/fil/actors/market.ts) implement it.
 */
export interface PublishCodec {
  proposalBytes(proposal: import('./client-api.js').DealProposalJson): Uint8Array;
  publishParams(deals: import('./client-api.js').StorageDealProposal[]): Uint8Array;
  publishReturn(ret: Uint8Array): number[];
}

/** Where the market sends PublishStorageDeals: the devnet's messager (as droplet sends through venus-messager). */
export interface MarketMessager {
  /** Pushes a message under `id` (idempotent); returns the id. */
  push(id: string, from: string, to: string, method: number, params: Uint8Array): string;
  /** The message's state: pending, on chain (signed CID, exit code, return bytes), or failed (reason). */
  status(
    id: string,
  ):
    | { state: 'pending' }
    | { state: 'onchain'; cid: string; exitCode: number; ret: Uint8Array }
    | { state: 'failed'; reason: string };
}
