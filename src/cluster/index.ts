/**
 * The one-command cluster (`npm start`, src/cli/venus-cluster.ts): a process supervisor, the per-program steps
 * of the deployment guide, the live view and what feeds it.
 */
export { managerConfigToml, minerNumber, walletConfigToml, workerConfigToml } from './configs.js';
export {
  type ClusterPaths,
  type ClusterPorts,
  type ClusterState,
  clusterPaths,
  DEFAULT_PORTS,
  loadState,
  managerHome,
  managerName,
  type Step,
} from './home.js';
export {
  type ClusterDb,
  type ClusterOptions,
  type ClusterSectorSize,
  checkManagers,
  FAST_POLICY,
  SECTOR_SIZES,
  type UntilCondition,
} from './options.js';
export { parseMinerId, readDevnetHome, tokenAccount } from './outputs.js';
export {
  bitCount,
  type ChainView,
  nextPoSt,
  Prober,
  type ProbeTargets,
  rpcCall,
  type Snapshot,
  type ThreadView,
  threadsFrom,
} from './probe.js';
export { logTail } from './process-log.js';
export {
  type CommandResult,
  type CommandSpec,
  type DaemonSpec,
  type FailureKind,
  ProcessError,
  type ProcessSpec,
  type RunningProcess,
} from './process-spec.js';
export { defaultPrograms, PROGRAMS, type ProgramName, type ProgramTable } from './programs.js';
export { httpReady, type Readiness, rpcReady } from './readiness.js';
export { ClusterRunner, runCluster } from './runner.js';
export { handleSignals, Supervisor } from './supervisor.js';
export { createView, formatElapsed, progressOf, renderLines, type View, type ViewMode } from './view.js';
