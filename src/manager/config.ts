/**
 * `<home>/sector-manager.cfg`, the schema of the deployment guide (venus-cluster 2021-09 modules/config.go):
 *
 *   [SectorManager] PreFetch, [[SectorManager.Miners]] ID InitNumber MaxNumber Disabled
 *   [Commitment.DefaultPolicy] batch thresholds, max waits, check intervals, gas over-estimations, fee caps,
 *     MsgConfidence; [Commitment.Miners.<id>] the same keys as overrides, [Commitment.Miners.<id>.Controls]
 *   [Chain] Api Token, [Messager] Api Token        (multiaddrs "/ip4/…/tcp/…" or URLs)
 *   [PersistedStore] Includes, [[PersistedStore.Stores]] Name Path Strict ReadOnly
 *   [PoSt.Default] StrictCheck GasOverEstimation MaxFeeCap MsgCheckInteval MsgConfidence,
 *     [PoSt.Actors.<id>] Sender and the same keys as overrides
 *   [DealManagerConfig.MarketAPI] Api Token, [[DealManagerConfig.LocalPieceStores]] Name Path Strict ReadOnly
 *     (the market, venus-cluster 2022-02 "integrate venus-market"), and EnableDeals per [[SectorManager.Miners]]
 *     entry (damocles' [Miners.Sector] EnableDeals): docs/deals-manager.md §Configuration
 *
 * Unknown keys, wrong types, bad addresses, durations, amounts and endpoints are refused when the file is
 * loaded, each as "FILE: Key.Path: reason". `daemon init` writes DEFAULT_CONFIG_TEXT (every key commented, as
 * the guide shows); `formatConfig` prints the effective config in the layout of the guide's first-run log.
 *
 * The parts live under config/: fields (value types), one file per section with its defaults and resolved view
 * (commitment, post, deals), schema (the whole file), parse, init (the default file), format.
 */
export { type CommitmentPolicy, commitmentControls, commitmentPolicy } from './config/commitment.js';
export { dealsEnabled } from './config/deals.js';
export { feeCapAtto, ms } from './config/fields.js';
export { formatConfig, redactApiInfo, redactToken } from './config/format.js';
export { CONFIG_FILE, DEFAULT_CONFIG_TEXT, initHome } from './config/init.js';
export { loadManagerConfig, parseManagerConfig } from './config/parse.js';
export { type PoStPolicy, postMiners, postPolicy } from './config/post.js';
export { type ManagerConfig, ManagerConfigSchema, type MinerConfig, type StoreConfig } from './config/schema.js';
