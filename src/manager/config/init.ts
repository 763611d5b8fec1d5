/** `daemon init`: the commented default file and its writing. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logger } from '../../common/log.js';
import { HA_CONFIG_TEXT } from '../config-ha.js';

const log = logger('confmgr');

export const CONFIG_FILE = 'sector-manager.cfg';

/**
 * What `daemon init` writes: the guide's commented default, byte for byte, then the deal keys (commented too;
 * docs/deals-manager.md §Configuration), then [Common]: the database (docs/manager-db.md) and the lease settings
 * of several managers on it (docs/manager-ha.md), commented as well.
 */
export const DEFAULT_CONFIG_TEXT = `# Default config:
[SectorManager]
#  PreFetch = true
#
#  [[SectorManager.Miners]]
#    ID = 10000
#    InitNumber = 0
#    MaxNumber = 10000
#    Disabled = false
#    EnableDeals = false
#    EnableSnapUp = false
#    CleanupCCData = true
#
[Commitment]
#  [Commitment.DefaultPolicy]
#    CommitBatchThreshold = 0
#    CommitBatchMaxWait = "0s"
#    CommitCheckInterval = "0s"
#    EnableBatchProCommit = false
#    PreCommitBatchThreshold = 0
#    PreCommitBatchMaxWait = "0s"
#    PreCommitCheckInterval = "0s"
#    EnableBatchPreCommit = false
#    PreCommitGasOverEstimation = 0.0
#    ProCommitGasOverEstimation = 0.0
#    BatchPreCommitGasOverEstimation = 0.0
#    BatchProCommitGasOverEstimation = 0.0
#    MaxPreCommitFeeCap = ""
#    MaxProCommitFeeCap = ""
#    MaxBatchPreCommitFeeCap = ""
#    MaxBatchProCommitFeeCap = ""
#    MsgConfidence = 0
#  [Commitment.Miners]
#    [Commitment.Miners.example]
#      [Commitment.Miners.example.Controls]
#        PreCommit = ""
#        ProveCommit = ""
#
[Chain]
#  Api = ""
#  Token = ""
#
[Messager]
#  Api = ""
#  Token = ""
#
[PersistedStore]
#  Includes = ["unavailable"]
#
#  [[PersistedStore.Stores]]
#    Name = "storage name,like \`100.100.10.1\`"
#    Path = "/path/to/storage/"
#    Strict = false
#    ReadOnly = true
#
[PoSt]
#  [PoSt.Default]
#    StrictCheck = false
#    GasOverEstimation = 0.0
#    MaxFeeCap = ""
#    MsgCheckInteval = "1m0s"
#    MsgConfidence = 5
#  [PoSt.Actors]
#    [PoSt.Actors.10000]
#      Sender = "t1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"
#      StrictCheck = false
#      GasOverEstimation = 0.0
#      MaxFeeCap = ""
#      MsgCheckInteval = "1m0s"
#      MsgConfidence = 5
#
[DealManagerConfig]
#  [DealManagerConfig.MarketAPI]
#    Api = "/ip4/127.0.0.1/tcp/41235/http"
#    Token = ""
#
#  [[DealManagerConfig.LocalPieceStores]]
#    Name = "piece storage name"
#    Path = "/path/to/piece/storage"
#    Strict = false
#    ReadOnly = true
#
#[Common]
#  # where the manager keeps its state: "sqlite" (<home>/manager.db) or "postgres"; docs/manager-db.md
#  [Common.DB]
#    Driver = "sqlite"
#    [Common.DB.Postgres]
#      # postgres://user:password@host:5432/db (never logged)
#      DSN = ""
#      PoolSize = 4
#      StatementTimeout = "30s"
${HA_CONFIG_TEXT}`;

/**
 * `daemon init`: creates the home and writes sector-manager.cfg unless it exists (as the original's
 * confmgr.SetDefault). Returns whether a file was written.
 */
export function initHome(home: string): { file: string; written: boolean } {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, CONFIG_FILE);
  if (existsSync(file)) {
    log.info({ file }, 'config file exists, left unchanged');
    return { file, written: false };
  }
  writeFileSync(file, DEFAULT_CONFIG_TEXT, { mode: 0o600, flag: 'wx' });
  log.info({ file }, 'config file written');
  return { file, written: true };
}
