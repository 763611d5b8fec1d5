/**
 * venus-worker: sealing threads (one per seal store) taking sectors from allocation to persisted and proven,
 * stage processors (in-process or external sub-processes), the control API, seal and persist stores.
 */
export {
  loadWorkerConfig,
  type PersistStoreConfig,
  type ProcessorSubConfig,
  parseHumanDuration,
  parseWorkerConfig,
  SEALING_DEFAULTS,
  type SealingConfig,
  type SealingThreadConfig,
  type WorkerConfig,
  WorkerConfigSchema,
} from './config.js';
export { type DaemonOptions, WorkerDaemon } from './daemon.js';
export { type Sealer, StageNotAvailableError, StageRunner, serveProcessor } from './processor/index.js';
export { Failure, SealingThread, STATES, StageLimits, type State, type ThreadInfo } from './sealing/index.js';
export { checkPersistStore, fileInit, SealStore, sealInit, sectorFileName } from './store.js';
