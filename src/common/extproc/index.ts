/**
 * External processors (damocles' `extproc`): child processes speaking the processor protocol, used by the
 * worker for its sealing stages and by the sector-manager's `--ext-prover` for Window PoSt.
 */
export { cgroupRoot, isCpuList, type PinResult, pinToCpuset, removeCgroup } from './cgroup.js';
export { watchParent } from './lifeline.js';
export {
  ExternalPool,
  ExternalSub,
  type ExternalSubOptions,
  Semaphore,
  type SubConfig,
  type SubSpawn,
} from './pool.js';
export {
  ProcessorExitedError,
  type ProcessorRequest,
  type ProcessorResponse,
  ProcessorTaskError,
  ProcessorTimeoutError,
  parseResponse,
  readyLine,
} from './protocol.js';
