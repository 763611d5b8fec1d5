/**
 * venus-sector-manager: the chain-facing daemon of the sealing cluster. Import from here.
 *
 * - startDaemon(opts) — what `daemon run` runs: config, chain/messager clients, SQLite state, Venus.* at
 *   /rpc/v0, /metrics, the web dashboard at / (dashboard/), reload on SIGHUP/SIGUSR1, Window PoSt with `poster: true`.
 * - registerManagerCommands(program) — the CLI (daemon init/run, util …).
 * - Config: parseManagerConfig/loadManagerConfig, DEFAULT_CONFIG_TEXT (what `daemon init` writes), formatConfig.
 * - Services, for embedding and tests: SealerService (Venus.*), CommitmentManager (batching and sending),
 *   Poster (Window PoSt), ManagerStore (SQLite), PersistStores.
 * - Interfaces the daemon plugs implementations into: ChainAPI, MessagerAPI (chain.ts), SealVerifier,
 *   WindowPoStProver (prover.ts), SealAggregator (commit/).
 * - testkit.ts: an in-process chain + messager (FakeChain) and fake proofs for unit tests.
 */
export { type ChainAPI, fetchNetworkPolicy, MAINNET_POLICY, type MessagerAPI, type NetworkPolicy } from './chain.js';
export { registerManagerCommands } from './cli.js';
export {
  CommitmentManager,
  type CommitmentOptions,
  messageId,
  onChainState,
  type SealAggregator,
} from './commit/index.js';
export {
  CONFIG_FILE,
  commitmentControls,
  commitmentPolicy,
  DEFAULT_CONFIG_TEXT,
  formatConfig,
  initHome,
  loadManagerConfig,
  type ManagerConfig,
  parseManagerConfig,
  postPolicy,
} from './config.js';
export { type Daemon, type DaemonOptions, startDaemon } from './daemon.js';
export { Dashboard, type DashboardOptions, type DashboardState } from './dashboard/index.js';
export { ManagerStore, openDb, SectorNumberExhausted } from './db.js';
export { Poster, type PosterOptions } from './poster/index.js';
export {
  CborAggregator,
  checkSealProof,
  checkWindowPoStProof,
  encodeWindowPoStProof,
  LocalWindowPoStProver,
  type LocalWindowPoStProverOptions,
  VanillaSealVerifier,
} from './proofs.js';
export type {
  PoStSector,
  SealVerifier,
  SealVerifyInput,
  WindowPoStInput,
  WindowPoStOutput,
  WindowPoStProver,
} from './prover.js';
export { type SealerOptions, SealerService } from './sealer.js';
export { type PersistStore, PersistStores, storesFromConfig } from './stores.js';
