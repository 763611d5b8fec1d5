/** Sealing threads: the sealer plan's persisted state machine, failure levels, stage limits. */
export { abort, classify, crit, Failure, type FailureLevel, Interrupted, perm, prefixed, temp } from './failure.js';
export { StageLimits, type StageToken } from './limits.js';
export { checkPersistStoresAtManager } from './persist-stores.js';
export { checkSealStores, lockSealStore, SEAL_LOCK_FILE } from './seal-lock.js';
export { newSectorDoc, SECTOR_FILE, type SectorDoc, SectorDocStore } from './sector.js';
export { type EventName, isState, plan, STAGE_OF, STATES, type State } from './states.js';
export {
  type SealerClient,
  SealingThread,
  type ThreadDeps,
  type ThreadInfo,
  type ThreadStateName,
} from './thread.js';
