/**
 * The `Filecoin.State*` reads of deals (src/api/full.ts, Lotus shapes) over the devnet's market (f05), verified
 * registry (f06) and datacap (f07) state at the head. Part of fullNodeImpl (api-full.ts).
 */
import type { AllocationJson, ClaimJson, DealProposalJson, FullNodeAPI, MarketDeal } from '../api/full.js';
import {
  type Address,
  cidToJSON,
  DATACAP_TOKEN_PRECISION,
  EPOCH_UNDEFINED,
  idAddress,
  paddedPieceSizeProblem,
  parseAddress,
  toBase64,
  toCid,
} from '../fil/index.js';
import { type ApiImpl, rpcError } from '../rpc/index.js';
import { escrowOf, lockedOf, marketState, type StoredDeal, TOTAL_FILECOIN } from './market/state.js';
import type { DevnetNode } from './node.js';
import { datacapBalance, type StoredAllocation, type StoredClaim, verifregState } from './verifreg/state.js';

type DealMethods = Pick<
  ApiImpl<typeof FullNodeAPI>,
  | 'StateMarketStorageDeal'
  | 'StateMarketDeals'
  | 'StateMarketBalance'
  | 'StateGetAllocationIdForPendingDeal'
  | 'StateGetAllocationForPendingDeal'
  | 'StateGetAllocation'
  | 'StateGetAllocations'
  | 'StateGetClaim'
  | 'StateGetClaims'
  | 'StateVerifiedClientStatus'
  | 'StateDealProviderCollateralBounds'
>;

export function dealProposalJson(d: StoredDeal): DealProposalJson {
  return {
    PieceCID: cidToJSON(toCid(d.pieceCid)),
    PieceSize: d.pieceSize,
    VerifiedDeal: d.verifiedDeal,
    Client: idAddress(d.client).toString(),
    Provider: idAddress(d.provider).toString(),
    Label: typeof d.label === 'string' ? d.label : toBase64(d.label),
    StartEpoch: d.startEpoch,
    EndEpoch: d.endEpoch,
    StoragePricePerEpoch: d.storagePricePerEpoch.toString(),
    ProviderCollateral: d.providerCollateral.toString(),
    ClientCollateral: d.clientCollateral.toString(),
  };
}

export const allocationJson = (a: StoredAllocation): AllocationJson => ({
  Client: a.client,
  Provider: a.provider,
  Data: cidToJSON(toCid(a.data)),
  Size: a.size,
  TermMin: a.termMin,
  TermMax: a.termMax,
  Expiration: a.expiration,
});

export const claimJson = (c: StoredClaim): ClaimJson => ({
  Provider: c.provider,
  Client: c.client,
  Data: cidToJSON(toCid(c.data)),
  Size: c.size,
  TermMin: c.termMin,
  TermMax: c.termMax,
  TermStart: c.termStart,
  Sector: c.sector,
});

function uintParam(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw rpcError(`${what} must be an unsigned integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function dealMethods(node: DevnetNode): DealMethods {
  const parse = (s: unknown): Address => {
    if (typeof s !== 'string') throw rpcError(`address must be a string, got ${typeof s}`);
    try {
      return parseAddress(s);
    } catch (e) {
      throw rpcError(`invalid address ${JSON.stringify(s)}: ${(e as Error).message}`);
    }
  };
  const idOf = (s: unknown): number => {
    const id = node.lookupId(parse(s));
    if (id === undefined) throw rpcError(`resolution lookup failed (${String(s)}): actor not found`);
    return id;
  };
  const deal = (id: number): MarketDeal | undefined => {
    const st = marketState(node.view());
    const d = st.proposals[id];
    if (!d) return undefined;
    const s = st.states[id];
    return {
      Proposal: dealProposalJson(d),
      State: s
        ? {
            SectorNumber: s.sectorNumber,
            SectorStartEpoch: s.sectorStartEpoch,
            LastUpdatedEpoch: s.lastUpdatedEpoch,
            SlashEpoch: s.slashEpoch,
          }
        : {
            SectorNumber: 0,
            SectorStartEpoch: EPOCH_UNDEFINED,
            LastUpdatedEpoch: EPOCH_UNDEFINED,
            SlashEpoch: EPOCH_UNDEFINED,
          },
    };
  };
  const pendingAllocation = (dealId: number): { client: number; id: number } | undefined => {
    const st = marketState(node.view());
    const id = st.pendingDealAllocationIds[dealId];
    const d = st.proposals[dealId];
    return id === undefined || !d ? undefined : { client: d.client, id };
  };

  return {
    StateMarketStorageDeal: (dealId) => {
      const id = uintParam(dealId, 'deal ID');
      const d = deal(id);
      if (!d) throw rpcError(`deal ${id} not found`);
      return d;
    },
    StateMarketDeals: () => {
      const out: Record<string, MarketDeal> = {};
      for (const id of Object.keys(marketState(node.view()).proposals)) out[id] = deal(Number(id))!;
      return out;
    },
    StateMarketBalance: (a) => {
      const id = idOf(a);
      const st = marketState(node.view());
      return { Escrow: escrowOf(st, id).toString(), Locked: lockedOf(st, id).toString() };
    },
    StateGetAllocationIdForPendingDeal: (dealId) => pendingAllocation(uintParam(dealId, 'deal ID'))?.id ?? 0,
    StateGetAllocationForPendingDeal: (dealId) => {
      const p = pendingAllocation(uintParam(dealId, 'deal ID'));
      const a = p && verifregState(node.view()).allocations[p.client]?.[p.id];
      return a ? allocationJson(a) : null;
    },
    StateGetAllocation: (client, allocationId) => {
      const a = verifregState(node.view()).allocations[idOf(client)]?.[uintParam(allocationId, 'allocation ID')];
      return a ? allocationJson(a) : null;
    },
    StateGetAllocations: (client) => {
      const all = verifregState(node.view()).allocations[idOf(client)] ?? {};
      return Object.fromEntries(Object.entries(all).map(([k, a]) => [k, allocationJson(a)]));
    },
    StateGetClaim: (provider, claimId) => {
      const c = verifregState(node.view()).claims[idOf(provider)]?.[uintParam(claimId, 'claim ID')];
      return c ? claimJson(c) : null;
    },
    StateGetClaims: (provider) => {
      const all = verifregState(node.view()).claims[idOf(provider)] ?? {};
      return Object.fromEntries(Object.entries(all).map(([k, c]) => [k, claimJson(c)]));
    },
    StateVerifiedClientStatus: (a) => {
      const id = node.lookupId(parse(a));
      if (id === undefined) return null;
      const bal = datacapBalance(node.view(), id) / DATACAP_TOKEN_PRECISION;
      return bal > 0n ? bal.toString() : null;
    },
    StateDealProviderCollateralBounds: (size, verified) => {
      const problem = paddedPieceSizeProblem(size as number);
      if (problem) throw rpcError(`invalid piece size: ${problem}`);
      if (typeof verified !== 'boolean') throw rpcError('verified must be a boolean');
      // the devnet has no provider-collateral minimum (builtin-actors' no-provider-deal-collateral build)
      return { Min: '0', Max: TOTAL_FILECOIN.toString() };
    },
  };
}
