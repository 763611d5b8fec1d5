/**
 * The market (droplet / venus-market) API as a sealer uses it: `VENUS_MARKET.*` on `/rpc/v1`, Bearer token, header
 * `X-VENUS-API-NAMESPACE: v1.IMarket` (venus-shared api/market/v1; docs/deals-market.md). The devnet serves it;
 * the sector-manager is a client. Shapes are droplet's, so a real droplet can stand in.
 */
import { channel, defineApi, method } from '../rpc/index.js';
import type { AddressString, ChainEpoch, CidJson } from './full.js';

/** The namespace header droplet's clients send (venus-shared request_header.go). */
export const MARKET_API_NAMESPACE = 'v1.IMarket';
export const MARKET_API_NAMESPACE_HEADER = 'X-VENUS-API-NAMESPACE';

/** abi.SectorID */
export interface MarketSectorID {
  Miner: number;
  Number: number;
}

/** market.GetDealSpec: limits on what AssignDeals may pick for one sector (null/0 = no limit). */
export interface GetDealSpec {
  MaxPiece: number;
  MaxPieceSize: number;
  MinPiece: number;
  MinPieceSize: number;
  MinUsedSpace: number;
  StartEpoch: ChainEpoch;
  EndEpoch: ChainEpoch;
  SectorExpiration: ChainEpoch | null;
}

/**
 * market.DealInfoV2: one deal placed in a sector. A builtin-market deal has PublishCid set and DealID > 0;
 * a direct (DDO) deal has PublishCid null and AllocationID > 0. PieceSize, Offset and Length are padded sizes;
 * PayloadSize is the number of bytes the piece store serves (the worker zero-fills to the unpadded piece size).
 */
export interface MarketDealInfoV2 {
  DealID: number;
  PublishCid: CidJson | null;
  AllocationID: number;
  PieceCID: CidJson;
  PieceSize: number;
  Client: AddressString;
  Provider: AddressString;
  Offset: number;
  Length: number;
  PayloadSize: number;
  StartEpoch: ChainEpoch;
  EndEpoch: ChainEpoch;
}

/** gateway.MarketRegisterPolicy */
export interface MarketRegisterPolicy {
  Miner: AddressString;
}

/** gateway.RequestEvent: Method is "InitConnect" or "SectorsUnsealPiece"; Payload is the JSON of the request (base64). */
export interface MarketRequestEvent {
  ID: string;
  Method: string;
  Payload: string;
}

/** gateway.ResponseEvent: Error empty on success. */
export interface MarketResponseEvent {
  ID: string;
  Payload: string | null;
  Error: string;
}

/** gateway.UnsealRequest: the payload of a SectorsUnsealPiece event (Offset and Size unpadded). */
export interface UnsealRequest {
  PieceCid: CidJson;
  Miner: AddressString;
  Sid: number;
  Offset: number;
  Size: number;
  /** where the unsealed bytes go: market://…, file://…, http(s)://… */
  Dest: string;
}

export const MarketMethods = {
  AssignDeals: method<[sid: MarketSectorID, sectorSize: number, spec: GetDealSpec], MarketDealInfoV2[] | null>(
    'write',
    3,
  ),
  ReleaseDeals: method<[miner: AddressString, deals: number[]], void>('write', 2),
  ReleaseDirectDeals: method<[miner: AddressString, allocationIds: number[]], void>('write', 2),
  ListenMarketEvent: channel<[policy: MarketRegisterPolicy], MarketRequestEvent>('read', 1),
  ResponseMarketEvent: method<[resp: MarketResponseEvent], void>('read', 1),
} as const;

export const MarketApi = defineApi('VENUS_MARKET', MarketMethods);
