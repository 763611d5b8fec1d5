/**
 * The config files the runner writes for the programs, in the deployment guide's layout and words, so an
 * operator can read them, compare them with the guide and copy them to a real deployment.
 */

/** TOML basic string. */
function q(s: string): string {
  return JSON.stringify(s);
}

/** "t01000" → 1000 (the manager's config keys miners by number). */
export function minerNumber(miner: string): number {
  const m = /^[tf]0(\d+)$/.exec(miner.trim());
  if (!m) throw new Error(`not a miner actor id: "${miner}" (expected t0NNNN)`);
  return Number(m[1]);
}

export interface WalletConfigInput {
  /** Port of the wallet's own API. */
  port: number;
  /** The devnet's gateway, as a multiaddr. */
  gateway: string;
  /** Token of the account the wallet signs for. */
  token: string;
  accounts: string[];
}

/** venus-wallet's config.toml: the keys the guide has the operator edit ([APIRegisterHub]) plus the API port. */
export function walletConfigToml(c: WalletConfigInput): string {
  return `# venus-wallet config.toml, written by venus-cluster before the wallet's first start.
# The wallet fills in the rest ([DB], [JWT], …) on start.

[API]
  ListenAddress = ${q(`/ip4/127.0.0.1/tcp/${c.port}/http`)}

# The devnet's gateway (deployment guide: "Change [APIRegisterHub] section of ~/.venus_wallet/config.toml").
[APIRegisterHub]
  RegisterAPI = [${q(c.gateway)}]
  Token = ${q(c.token)}
  SupportAccounts = [${c.accounts.map(q).join(', ')}]
`;
}

export interface ManagerConfigInput {
  /** The devnet: chain node and messager on one endpoint (multiaddr). */
  chainApi: string;
  token: string;
  /** Miner actor id ("t01000"); absent before `util miner create`. */
  miner?: string;
  /** Address that sends PreCommit, ProveCommit and Window PoSt messages. */
  sender?: string;
  /** Persist store shared with the worker. */
  storeName: string;
  storePath: string;
  /** Cap on sector numbers (InitNumber + sectors); absent: the guide's 10000. */
  maxNumber?: number;
  /** The market (droplet, here the devnet's): EnableDeals for the miner and [DealManagerConfig.MarketAPI]. */
  market?: { api: string; token: string };
  /** A shared PostgreSQL ([Common.DB]); absent: the home's own SQLite file (no [Common.DB] section). */
  postgresDsn?: string;
  /** This manager's name among several ([Common.HA] Name: the holder named in the duty leases). */
  haName?: string;
  /** [Common.HA] LeaseTTL (with haName): a dead holder's duties move within about this long. */
  leaseTtl?: string;
}

/**
 * sector-manager.cfg with the sections the guide fills in: [[SectorManager.Miners]], [Commitment.Miners.<id>],
 * [Chain], [Messager], [[PersistedStore.Stores]], [PoSt.Actors.<id>]. Message checks are tightened for the
 * devnet's fast clock (the guide's 1m check interval would hold a Window PoSt for a minute).
 */
export function managerConfigToml(c: ManagerConfigInput): string {
  const id = c.miner ? minerNumber(c.miner) : undefined;
  const sender = c.sender ?? '';
  const miners =
    id === undefined
      ? '# (no miner yet: venus-cluster fills this in after `util miner create`)\n'
      : `  [[SectorManager.Miners]]
    ID = ${id} # miner id, ex, ${c.miner} -> ${id}
    InitNumber = 0 # min sid
    MaxNumber = ${c.maxNumber ?? 10000} # max sid
    Disabled = false # false: allow sealing; true: maintenance only (windowPost)
${c.market ? '    EnableDeals = true # AcquireDeals asks the market for deals (docs/deals-manager.md)\n    EnableSnapUp = true # candidates (util sealer snap fetch) get deals in place (docs/snapup-manager.md)\n' : ''}`;
  const commitMiners =
    id === undefined
      ? ''
      : `  [Commitment.Miners]
    [Commitment.Miners.${id}]
      [Commitment.Miners.${id}.Controls]
        PreCommit = ${q(sender)}
        ProveCommit = ${q(sender)}
`;
  const postActors =
    id === undefined
      ? ''
      : `  [PoSt.Actors]
    [PoSt.Actors.${id}]
      Sender = ${q(sender)}
`;
  const common =
    c.postgresDsn === undefined && c.haName === undefined
      ? ''
      : `[Common]
${
  c.postgresDsn !== undefined
    ? `  # every manager of this cluster on one database (several managers need a shared one)
  [Common.DB]
    Driver = "postgres"
    [Common.DB.Postgres]
      DSN = ${q(c.postgresDsn)}
`
    : ''
}${
  c.haName !== undefined
    ? `  # the name this manager holds its duties (post, commit, chain) under
  [Common.HA]
    Name = ${q(c.haName)}
${c.leaseTtl !== undefined ? `    LeaseTTL = ${q(c.leaseTtl)} # a killed manager's duties move to another within about this long\n` : ''}`
    : ''
}
`;
  return `# venus-sector-manager config, written by venus-cluster (deployment guide, "Run venus-sector-manager").

${common}[SectorManager]
  PreFetch = true

${miners}
[Commitment]
  [Commitment.DefaultPolicy]
    CommitBatchThreshold = 0
    CommitBatchMaxWait = "0s"
    CommitCheckInterval = "0s"
    EnableBatchProCommit = false
    PreCommitBatchThreshold = 0
    PreCommitBatchMaxWait = "0s"
    PreCommitCheckInterval = "0s"
    EnableBatchPreCommit = false
    MsgConfidence = 1
${commitMiners}
[Chain]
  Api = ${q(c.chainApi)}
  Token = ${q(c.token)}

[Messager]
  Api = ${q(c.chainApi)}
  Token = ${q(c.token)}

${
  c.market
    ? `[DealManagerConfig]
  [DealManagerConfig.MarketAPI]
    Api = ${q(c.market.api)}
    Token = ${q(c.market.token)}

`
    : ''
}[PersistedStore]
  Includes = []

  [[PersistedStore.Stores]]
    Name = ${q(c.storeName)}
    Path = ${q(c.storePath)}
    Strict = false
    ReadOnly = false

[PoSt]
  [PoSt.Default]
    StrictCheck = false
    MsgCheckInteval = "2s"
    MsgConfidence = 1
${postActors}`;
}

export interface WorkerConfigInput {
  name: string;
  /** Control API (VenusWorker.*). */
  port: number;
  /** One sector-manager (`url`), or several (`urls`: the worker fails over between them). */
  managerPorts: number[];
  sealStores: string[];
  /** the seal store of one more thread, with plan = "rebuild": idle until a sector is set for rebuild */
  rebuildStore?: string;
  remoteName: string;
  remotePath: string;
  /** a write token for the sector-manager (it requires one), bound to this worker's name */
  managerToken?: string;
  /** the sector-manager's JWT secret file: the worker's control API accepts the manager's tokens (dashboard) */
  managerSecretPath?: string;
  /** deals: enable_deals, the market's token for piece downloads, and a thread with plan = "unseal" */
  deals?: { pieceToken: string; unsealStore: string; snapupStore?: string };
}

/**
 * venus-worker.toml as in the guide ("Configurations"): [sealer_rpc], [sealing], one [[store]] per seal store,
 * [limit], [remote], and external pc2/c2 processors. Polling and retry intervals are shortened for the devnet's
 * fast clock.
 */
export function workerConfigToml(c: WorkerConfigInput): string {
  // [[store]] is the guide's spelling; a thread with a plan needs [[sealing_thread]] (the two do not mix)
  const stores =
    c.rebuildStore || c.deals
      ? [
          ...c.sealStores.map((s) => `[[sealing_thread]]\nlocation = ${q(s)}\n`),
          ...(c.rebuildStore
            ? [
                `[[sealing_thread]]\nlocation = ${q(c.rebuildStore)}\n# seals a sector whose files were lost again (util sealer sectors rebuild)\nplan = "rebuild"\n`,
              ]
            : []),
          ...(c.deals
            ? [
                `[[sealing_thread]]\nlocation = ${q(c.deals.unsealStore)}\n# unseals pieces for retrieval (the market's SectorsUnsealPiece, util sealer sectors unseal)\nplan = "unseal"\n`,
                ...(c.deals.snapupStore
                  ? [
                      `[[sealing_thread]]\nlocation = ${q(c.deals.snapupStore)}\n# puts deals into committed-capacity sectors in place (SnapDeals; util sealer snap fetch)\nplan = "snapup"\n`,
                    ]
                  : []),
              ]
            : []),
        ].join('\n')
      : c.sealStores.map((s) => `[[store]]\nlocation = ${q(s)}\n`).join('\n');
  return `# venus-worker config, written by venus-cluster (deployment guide, "Run venus-worker").

[instance]
name = ${q(c.name)}

# control API (venus-worker worker list|pause|resume): tokens from venus-worker-auth/ next to this file
[worker_server]
host = "127.0.0.1"
port = ${c.port}
${c.managerSecretPath ? `# the sector-manager's tokens are accepted too (its dashboard pauses and resumes threads)\nmanager_secret_path = ${q(c.managerSecretPath)}\n` : ''}
# venus-sector-manager API${c.managerPorts.length > 1 ? ': every manager; calls go to the next one when one does not answer' : ''}
[sealer_rpc]
${
  c.managerPorts.length > 1
    ? `urls = [${c.managerPorts.map((p) => q(`ws://127.0.0.1:${p}/rpc/v0`)).join(', ')}]`
    : `url = ${q(`ws://127.0.0.1:${c.managerPorts[0]}/rpc/v0`)}`
}
${c.managerToken ? `# the sector-manager requires a token (this one is bound to this worker's sectors)\nheaders = { Authorization = ${q(`Bearer ${c.managerToken}`)} }\n` : ''}
# sealing related config
[sealing]
# allow deals?
enable_deals = ${c.deals ? 'true' : 'false'}
# when sealing fails, how many times to retry before giving up
max_retries = 3
# the devnet's clock is fast: poll and retry often
seal_interval = "2s"
recover_interval = "5s"
rpc_polling_interval = "1s"

# path to local storage: one sealing thread per store
${stores}
# number of parallel tasks for each phase
[limit]
pc2 = 1
c2 = 1

${c.deals ? `# pieces: the sector-manager's /piecestore redirects to the market, which wants its own token\n[piece_store]\ntoken = ${q(c.deals.pieceToken)}\n\n` : ''}# path to remote permanent storage (the manager's [[PersistedStore.Stores]] of the same name)
[remote]
path = ${q(c.remotePath)}
name = ${q(c.remoteName)}

# PC2 sub processes (a child on a busy 2-core box can take more than the default 5 s to say it is ready)
[processors.pc2]
external = true
[[processors.pc2.subs]]
stable_wait = "60s"

# C2 sub processes
[processors.c2]
external = true
[[processors.c2.subs]]
stable_wait = "60s"
`;
}

/** ext-prover.cfg for `daemon run --ext-prover`: one window_post processor, the default Bin (venus-worker). */
export function extProverConfigToml(): string {
  return `# written by venus-cluster at every start
# Window PoSt runs in \`venus-worker processor window_post\` (no Bin: the venus-worker next to the sector-manager)
[[WdPost]]
Concurrent = 1
# a Node program starting on a busy machine
ReadyTimeoutSecs = 60
`;
}
