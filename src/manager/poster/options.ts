/** What the Window PoSt poster works with: the chain, the messager, the stores, the prover, its confidences. */
import type { ServiceMetrics } from '../../common/metrics.js';
import type { ChainAPI, MessagerAPI, NetworkPolicy } from '../chain.js';
import type { ManagerConfig } from '../config.js';
import type { ManagerStore } from '../db.js';
import type { MinerInfoCache } from '../miners.js';
import type { WindowPoStProver } from '../prover.js';
import type { PersistStores } from '../stores.js';
import type { PoStReport } from './failures.js';

export interface PosterOptions {
  chain: ChainAPI;
  messager: MessagerAPI;
  store: ManagerStore;
  stores: PersistStores;
  prover: WindowPoStProver;
  miners: MinerInfoCache;
  policy: NetworkPolicy;
  config: () => ManagerConfig;
  /** epochs after the challenge before proving starts (default 10, as the original) */
  challengeConfidence?: number;
  /** epochs after Open before submitting (default 4) */
  submitConfidence?: number;
  /** told about every submission outcome, failures with their reason (metrics, post_results) */
  onPoSt?: (r: PoStReport) => void;
  /** where venus_wdpost_failures_total goes (default: the process's metrics) */
  metrics?: Pick<ServiceMetrics, 'postFailed'>;
  /** a failure with the same cause logs at most once per this many ms (default 60 000) */
  failureLogEveryMs?: number;
  /** the `post` duty (ha/duties.ts) when managers share the database: absent, this poster always holds it */
  lease?: {
    /** may push now (checked right before each push) */
    holds(): boolean;
    /** inside a transaction: throws unless the lease is still ours in the database */
    fence(): void;
  };
}
