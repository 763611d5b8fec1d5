/**
 * The devnet's market (droplet stand-in): see service.ts and docs/deals-market.md.
 */

export { DevnetMarketAPI } from './client-api.js';
export { actorPublishCodec } from './codec.js';
export { DevnetMarketChain, DevnetMarketMessager } from './devnet-chain.js';
export { CheckedMarketApi, MarketService, type MarketServiceOptions } from './service.js';
