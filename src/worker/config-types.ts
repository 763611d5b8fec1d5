/**
 * venus-worker's configuration once resolved: one `WorkerConfig` whichever spelling the file used (config.ts
 * reads and checks it), and the defaults it falls back to (damocles-worker's).
 */
import type { LimitStage, PlanName, ProcessorStage } from './config.js';
import type { ControlServerConfig } from './control-config.js';

export interface SealingConfig {
  allowedMiners: number[] | null;
  /** Sector sizes in bytes (null = any). */
  allowedSizes: number[] | null;
  /** Registered seal proofs derived from allowedSizes (V1_1; null = any). */
  allowedProofTypes: number[] | null;
  enableDeals: boolean;
  disableCC: boolean;
  maxDeals: number | null;
  minDealSpace: number | null;
  maxRetries: number;
  sealIntervalMs: number;
  recoverIntervalMs: number;
  rpcPollingIntervalMs: number;
  ignoreProofCheck: boolean;
  requestTaskMaxRetries: number;
  verifyAfterPc2: boolean;
}

/** docs/spec/sealer-api.md §Worker configuration defaults (damocles-worker `Sealing::default`). */
export const SEALING_DEFAULTS: Readonly<SealingConfig> = Object.freeze({
  allowedMiners: null,
  allowedSizes: null,
  allowedProofTypes: null,
  enableDeals: false,
  disableCC: false,
  maxDeals: null,
  minDealSpace: null,
  maxRetries: 5,
  sealIntervalMs: 30_000,
  recoverIntervalMs: 60_000,
  rpcPollingIntervalMs: 180_000,
  ignoreProofCheck: false,
  requestTaskMaxRetries: 3,
  verifyAfterPc2: false,
});

export interface SealingThreadConfig {
  /** Absolute path of the seal store. */
  location: string;
  plan: PlanName;
  sealing: SealingConfig;
}

export interface PersistStoreConfig {
  /** The name the manager knows it by (its PersistStores Name); defaults to the path. */
  name: string;
  location: string;
  readonly: boolean;
}

export interface ProcessorSubConfig {
  stage: ProcessorStage;
  /** Default: this program (`<node> <venus-worker> processor <stage>`). */
  bin: string | null;
  args: string[] | null;
  stableWaitMs: number;
  cgroup: { groupName: string; cpuset: string } | null;
  numaPreferred: number | null;
  envs: Record<string, string>;
  concurrent: number | null;
  locks: string[];
  autoRestart: boolean;
  inheritEnvs: boolean;
  /** Longest one task may run before the child is killed (null or absent: no limit). */
  timeoutMs?: number | null;
}

/** Batch PC1 (`[processors.pc1] batch`, `gather_timeout`; docs/pc1-batch.md). */
export interface Pc1BatchConfig {
  /** Sectors labeled together, 2…64. */
  batch: number;
  /** How long the first sector of a batch waits for the others, ms. */
  gatherMs: number;
}

/** `gather_timeout` when none is given: small beside any PC1, long enough for sibling threads to arrive. */
export const DEFAULT_PC1_GATHER_MS = 60_000;
export const MAX_PC1_GATHER_MS = 3_600_000;

export interface WorkerConfig {
  /** The file it came from (for messages). */
  file: string;
  /** Instance name reported to the manager (default: the host name, decided by the daemon). */
  name: string | null;
  /** The control API (VenusWorker.*): address, tokens, /metrics. */
  rpcServer: ControlServerConfig;
  pingIntervalMs: number;
  localPiecesDirs: string[];
  sectorManager: {
    /** The first manager (where the piece store and the control API's reachable address are derived from). */
    url: string;
    /** Every manager, in the configured order (`url` alone gives one); calls fail over between them. */
    urls: string[];
    headers: Record<string, string>;
    pieceToken: string | null;
    pieceStoreUrl: string | null;
  };
  sealing: SealingConfig;
  threads: SealingThreadConfig[];
  persistStores: PersistStoreConfig[];
  limits: { concurrent: Partial<Record<LimitStage, number>>; staggeredMs: Partial<Record<LimitStage, number>> };
  extLocks: Record<string, number>;
  /** Sector size (bytes) → static CC tree_d file. */
  staticTreeD: Record<number, string>;
  /** External processors per stage; a stage that is absent runs in-process. */
  processors: Partial<Record<ProcessorStage, ProcessorSubConfig[]>>;
  /** Batch PC1 in the worker process (null: each thread labels its own sector). */
  pc1Batch: Pc1BatchConfig | null;
}

export const DEFAULT_STABLE_WAIT_MS = 5000;
/**
 * Per-stage task timeouts when none is configured: far above a 64GiB sector's normal time, so they catch a hung
 * processor, never a slow one (docs/security-worker.md).
 */
export const DEFAULT_PROCESSOR_TIMEOUT_MS: Record<ProcessorStage, number> = {
  add_pieces: 6 * 3_600_000,
  tree_d: 2 * 3_600_000,
  pc1: 24 * 3_600_000,
  pc2: 12 * 3_600_000,
  c1: 2 * 3_600_000,
  c2: 12 * 3_600_000,
  transfer: 6 * 3_600_000,
};
export const DEFAULT_CGROUP_NAME = 'vc-worker';
