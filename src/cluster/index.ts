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
  type Step,
} from './home.js';
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
export { defaultPrograms, PROGRAMS, type ProgramName, type ProgramTable } from './programs.js';
export {
  type ClusterOptions,
  ClusterRunner,
  type ClusterSectorSize,
  FAST_POLICY,
  parseMinerId,
  readDevnetHome,
  runCluster,
  SECTOR_SIZES,
  tokenAccount,
  type UntilCondition,
} from './runner.js';
export {
  type CommandResult,
  type CommandSpec,
  type DaemonSpec,
  type FailureKind,
  handleSignals,
  httpReady,
  logTail,
  ProcessError,
  type ProcessSpec,
  type Readiness,
  type RunningProcess,
  rpcReady,
  Supervisor,
} from './supervisor.js';
export { createView, formatElapsed, progressOf, renderLines, type View, type ViewMode } from './view.js';
