/**
 * `DevnetMarket.*`: what `venus-devnet client …` asks the devnet's market (droplet's client side speaks libp2p;
 * the devnet keeps it on its one port). Deals reach the market already paid for on chain (a datacap allocation)
 * or as a client-signed proposal the market publishes; pieces come and go through the piece store (/resource).
 */
import { z } from 'zod';
import type { AddressString, ChainEpoch, CidJson } from '../../api/full.js';
import { Address, BigIntString, Bool, Cid, Int, Name, Str, Uint } from '../../api/schema.js';
import { defineApi, method } from '../../rpc/index.js';

/** A direct (DDO) deal the client made with a datacap allocation for the provider. */
export interface DirectDealImport {
  AllocationID: number;
  Client: AddressString;
  Provider: AddressString;
  PieceCID: CidJson;
  PieceSize: number;
  PayloadSize: number;
  StartEpoch: ChainEpoch;
  EndEpoch: ChainEpoch;
}

/** Lotus market.DealProposal (JSON). Token amounts are decimal attoFIL strings. */
export interface DealProposalJson {
  PieceCID: CidJson;
  PieceSize: number;
  VerifiedDeal: boolean;
  Client: AddressString;
  Provider: AddressString;
  Label: string;
  StartEpoch: ChainEpoch;
  EndEpoch: ChainEpoch;
  StoragePricePerEpoch: string;
  ProviderCollateral: string;
  ClientCollateral: string;
}

/** A builtin-market deal: the proposal and the client's signature over its CBOR. */
export interface StorageDealProposal {
  Proposal: DealProposalJson;
  ClientSignature: { Type: number; Data: string };
  PayloadSize: number;
}

/** One deal as `client list` shows it. */
export interface ClientDeal {
  Kind: 'ddo' | 'market';
  DealID: number;
  AllocationID: number;
  ProposalCid: string | null;
  PieceCID: string;
  PieceSize: number;
  PayloadSize: number;
  Client: AddressString;
  Provider: AddressString;
  Verified: boolean;
  State: string;
  Sector: number | null;
  Offset: number | null;
  StartEpoch: ChainEpoch;
  EndEpoch: ChainEpoch;
  ActivationEpoch: ChainEpoch | null;
  /** why a deal failed or expired */
  Reason: string | null;
}

/** Where a retrieval stands: ready (GET /resource now), unsealing (ask again), failed (Error says why). */
export interface RetrievalStatus {
  PieceCID: string;
  State: 'ready' | 'unsealing' | 'failed';
  PayloadSize: number;
  Error: string;
}

const BigIntStr = BigIntString;
const DealProposalSchema = z.object({
  PieceCID: Cid,
  PieceSize: Uint,
  VerifiedDeal: Bool,
  Client: Address,
  Provider: Address,
  Label: Str(256),
  StartEpoch: Int,
  EndEpoch: Int,
  StoragePricePerEpoch: BigIntStr,
  ProviderCollateral: BigIntStr,
  ClientCollateral: BigIntStr,
});

export const DevnetMarketAPI = defineApi('DevnetMarket', {
  ImportDirectDeal: method<[deal: DirectDealImport], ClientDeal>('write', 1, {
    params: {
      deal: z.object({
        AllocationID: Uint,
        Client: Address,
        Provider: Address,
        PieceCID: Cid,
        PieceSize: Uint,
        PayloadSize: Uint,
        StartEpoch: Int,
        EndEpoch: Int,
      }),
    },
  }),
  ProposeStorageDeal: method<[deal: StorageDealProposal], ClientDeal>('write', 1, {
    params: {
      deal: z.object({
        Proposal: DealProposalSchema,
        ClientSignature: z.object({ Type: Uint, Data: Str(1024) }),
        PayloadSize: Uint,
      }),
    },
  }),
  ListDeals: method<[], ClientDeal[]>('read'),
  /** Starts (or reports) getting a piece's payload into the piece store; `unseal` always asks the sealer. */
  RetrievePiece: method<[pieceCid: string, unseal: boolean], RetrievalStatus>('write', 2, {
    params: { pieceCid: Name(128), unseal: Bool },
  }),
});
