/**
 * `venus-sector-manager daemon run`: loads `<home>/sector-manager.cfg`, logs the effective config, connects to
 * the chain node and the messager, opens `<home>/manager.db`, serves `Venus.*` at `/rpc/v0` (and `/metrics`),
 * reloads the config on SIGHUP or SIGUSR1 (the original's reload signal), and runs Window PoSt with `--poster`.
 * The web dashboard is on the same port (`/`, see dashboard/): open it with `?token=` and `<home>/token`.
 * Every API call needs a token (docs/security.md): workers `<home>/worker-token` or one from `util worker token`,
 * the CLI `<home>/token`; `--insecure-no-auth` turns that off, on a loopback address only.
 */
import { join } from 'node:path';
import { FullNodeAPI } from '../api/full.js';
import { MessagerAPI } from '../api/messager.js';
import { ManagerAPI } from '../api/sealer.js';
import { UserError } from '../common/cli.js';
import { ConfigError, ConfigReadError, expandHome } from '../common/config.js';
import type { SubSpawn } from '../common/extproc/index.js';
import { logger } from '../common/log.js';
import { initMetrics, mountMetrics } from '../common/metrics.js';
import { prefixOfChainName, setDefaultNetwork } from '../fil/index.js';
import { sealProof } from '../proofs/index.js';
import { createClient, parseApiInfo, parseListenAddress, RpcServer } from '../rpc/index.js';
import { hintMissingTokens, isLoopbackHost, loadOrInitManagerAuth, workerHeaderLine } from './auth.js';
import {
  type ChainAPI,
  fetchNetworkPolicy,
  type MessagerAPI as MessagerClient,
  minerAddr,
  type NetworkPolicy,
} from './chain.js';
import { CommitmentManager } from './commit/index.js';
import {
  CONFIG_FILE,
  dealsEnabled,
  formatConfig,
  loadManagerConfig,
  type ManagerConfig,
  postMiners,
} from './config.js';
import { haSettings } from './config-ha.js';
import { Dashboard, type DashboardChain } from './dashboard/index.js';
import { ManagerStore } from './db.js';
import { ExternalWindowPoStProver, loadExtProverConfig, startWindowPoStPool } from './ext-prover.js';
import { durableApi, sqliteGroupSync } from './group-sync.js';
import { watchDatabase } from './ha/db-watch.js';
import { Duties } from './ha/duties.js';
import { applyHaSchema } from './ha/lease.js';
import { dutiesFor, wireDuties } from './ha/wire.js';
import { type MarketAPI, MarketConnection, marketEndpoint, probeMarket } from './market/client.js';
import { DealManager } from './market/deals.js';
import { MarketEvents } from './market/events.js';
import { dealChainOf } from './market/manifest.js';
import { dealMetrics } from './market/metrics.js';
import { PieceStoreProxy } from './market/piecestore.js';
import { MinerInfoCache } from './miners.js';
import { Poster } from './poster/index.js';
import { probeServices } from './probe.js';
import { CborAggregator, LocalWindowPoStProver, VanillaSealVerifier } from './proofs.js';
import { boundedCheck } from './provable.js';
import type { SealVerifier, WindowPoStProver } from './prover.js';
import { metricState } from './reports.js';
import { type SealerOptions, SealerService } from './sealer.js';
import { openManagerDb, SqliteDb } from './sql/index.js';
import { PersistStores, storesFromConfig } from './stores.js';
import { UnsealTasks } from './unseal/tasks.js';

const log = logger('sealer');
const dep = logger('dep');
const confLog = logger('confmgr');

export const DB_FILE = 'manager.db';

export interface DaemonOptions {
  home: string;
  /** "host:port", ":port" (every interface), a multiaddr or a URL */
  listen: string;
  poster: boolean;
  /** --net: only a hint for the address prefix until the chain answers */
  net?: string;
  /** test hooks: plug in other chain/messager/prover implementations */
  chain?: ChainAPI;
  messager?: MessagerClient;
  /** test hook: the market (default: a client of [DealManagerConfig.MarketAPI]) */
  market?: MarketAPI;
  verifier?: SealVerifier;
  prover?: WindowPoStProver;
  /** --ext-prover: Window PoSt by the processors of <home>/ext-prover.cfg (ignored when `prover` is given) */
  extProver?: boolean;
  /** how an ext-prover processor without Bin is started (default: venus-worker next to this program) */
  extProverSpawn?: (stage: string) => SubSpawn;
  /**
   * --require-token: kept for old command lines. Tokens are required by default: every API call needs a JWT signed
   * with the repo secret (`<home>/token` is an admin one, `<home>/worker-token` a write one). `false` is refused.
   */
  requireToken?: boolean;
  /** --insecure-no-auth: serve the API without tokens (refused unless `listen` is a loopback address) */
  insecureNoAuth?: boolean;
  /** test hook: this manager's [Common.HA] Name and LeaseTTL in ms, over the config's */
  ha?: { name?: string; ttlMs?: number };
  /** poster confidences (defaults 10 / 4) */
  challengeConfidence?: number;
  submitConfidence?: number;
}

export interface Daemon {
  address: { host: string; port: number };
  config(): ManagerConfig;
  reload(): boolean;
  sealer: SealerService;
  commit: CommitmentManager;
  poster?: Poster;
  store: ManagerStore;
  policy: NetworkPolicy;
  /** the singleton duties this manager holds or stands by for (ha/duties.ts) */
  duties: Duties;
  close(): Promise<void>;
}

/** Which address prefix a network name means (mainnet: f, everything else: t). */
export function networkPrefix(net: string | undefined): 'f' | 't' {
  return prefixOfChainName(net);
}

export function configPath(home: string): string {
  return join(expandHome(home), CONFIG_FILE);
}

/** Chain and messager clients from [Chain] / [Messager] (multiaddr, URL, or TOKEN:multiaddr). */
export function connectServices(cfg: ManagerConfig): {
  chain: ChainAPI & { close(): Promise<void> };
  messager: MessagerClient & { close(): Promise<void> };
} {
  if (!cfg.Chain.Api) throw new UserError('[Chain] Api is not set in sector-manager.cfg (the chain node address)');
  if (!cfg.Messager.Api) throw new UserError('[Messager] Api is not set in sector-manager.cfg (the messager address)');
  const ci = parseApiInfo(cfg.Chain.Api, { version: 'v1' });
  const mi = parseApiInfo(cfg.Messager.Api, { version: 'v0' });
  const m = initMetrics('venus-sector-manager');
  const chainToken = cfg.Chain.Token || ci.token;
  const msgToken = cfg.Messager.Token || mi.token;
  const chain = createClient(FullNodeAPI, {
    url: ci.url,
    ...(chainToken ? { token: chainToken } : {}),
    hooks: m.rpcClientHooks(),
  });
  const messager = createClient(MessagerAPI, {
    url: mi.url,
    ...(msgToken ? { token: msgToken } : {}),
    hooks: m.rpcClientHooks(),
  });
  return { chain: chain as never, messager: messager as never };
}

/** The address `listen` names (":port" means every interface), with the auth choice checked against it. */
export function checkListenAuth(o: Pick<DaemonOptions, 'listen' | 'requireToken' | 'insecureNoAuth'>): string {
  const listen = o.listen.startsWith(':') ? `0.0.0.0${o.listen}` : o.listen;
  if (o.requireToken === false && !o.insecureNoAuth)
    throw new UserError('--require-token=false: tokens are always required; --insecure-no-auth turns them off');
  if (!o.insecureNoAuth) return listen;
  if (o.requireToken) throw new UserError('--insecure-no-auth and --require-token contradict each other');
  let host: string;
  try {
    host = parseListenAddress(listen).host;
  } catch (err) {
    throw new UserError(`--listen: ${(err as Error).message}`);
  }
  if (!isLoopbackHost(host))
    throw new UserError(
      `--insecure-no-auth is refused on ${host}: anyone who reaches it could abort sectors; ` +
        'listen on 127.0.0.1, or drop --insecure-no-auth and give workers a token',
    );
  return listen;
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const listen = checkListenAuth(o);
  const home = expandHome(o.home);
  const file = configPath(home);
  let cfg: ManagerConfig;
  try {
    cfg = loadManagerConfig(file);
  } catch (err) {
    if (err instanceof ConfigReadError && err.code === 'ENOENT')
      throw new UserError(`${file} not found: run \`venus-sector-manager --home ${o.home} daemon init\` first`);
    throw err;
  }
  setDefaultNetwork(networkPrefix(o.net));
  dep.info(`Sector-manager initial cfg: ${formatConfig(cfg)}`);

  const closers: (() => Promise<void> | void)[] = [];
  let chain = o.chain;
  let messager = o.messager;
  if (!chain || !messager) {
    const c = connectServices(cfg);
    chain ??= c.chain;
    messager ??= c.messager;
    closers.push(
      () => c.chain.close(),
      () => c.messager.close(),
    );
  }
  await probeServices(cfg, chain, messager, closers);
  let policy: NetworkPolicy;
  try {
    policy = await fetchNetworkPolicy(chain);
  } catch (err) {
    for (const c of closers) await c();
    throw new UserError(`cannot reach the chain node at ${cfg.Chain.Api}: ${(err as Error).message}`);
  }
  setDefaultNetwork(networkPrefix(policy.networkName));
  log.info({ network: policy.networkName, blockDelay: policy.blockDelaySecs }, 'network parameters');

  // PostgreSQL: a database that stops answering stops this manager's duties at once, wherever it shows first
  let dbLost: (err: unknown) => void = () => {};
  const opened = openManagerDb(home, cfg.Common.DB);
  const db = opened instanceof SqliteDb ? opened : watchDatabase(opened, (err) => dbLost(err));
  const store = new ManagerStore(db);
  closers.push(() => store.close());
  // SQLite: answers wait for one shared fsync of the WAL instead of one per transaction (group-sync.ts);
  // PostgreSQL: a commit that returned is durable already
  const groupSync = db instanceof SqliteDb ? sqliteGroupSync(db.raw, join(home, DB_FILE)) : undefined;
  if (groupSync) {
    closers.push(() => groupSync.close());
    store.durable = () => groupSync.flush();
  }
  // every worker's reported states, timed from the sector timelines: one histogram for the whole cluster
  store.onStateLeft = (sid, state, seconds) => {
    const type = store.getSector(sid)?.state.SectorType;
    if (type !== undefined)
      initMetrics('venus-sector-manager').observeState(metricState(state), sealProof(type).sectorSize, seconds);
  };
  const current = { cfg };
  const config = () => current.cfg;
  // singleton duties under a lease in the database: every manager sharing it serves workers, one acts (ha/)
  const leaseDb = store.db;
  applyHaSchema(leaseDb);
  const ha = { ...haSettings(cfg.Common.HA), ...o.ha };
  const duties = new Duties({
    db: leaseDb,
    name: ha.name,
    ttlMs: ha.ttlMs,
    duties: dutiesFor(o.poster),
    registry: initMetrics('venus-sector-manager').registry,
  });
  dbLost = (err) => void duties.databaseLost(err);
  const leaseOf = (duty: 'post' | 'commit') => ({
    holds: () => duties.holds(duty),
    fence: () => duties.fence(duty),
  });
  // the market ([DealManagerConfig.MarketAPI]): probed like [Chain] when a miner takes deals
  const market = new MarketConnection(config, o.market ? { fixed: o.market } : {});
  closers.push(() => market.close());
  const dealMiner = cfg.SectorManager.Miners.find((m) => m.EnableDeals && !m.Disabled);
  const marketClient = market.get();
  if (dealMiner && marketClient) {
    try {
      await probeMarket(cfg, marketClient, minerAddr(dealMiner.ID));
    } catch (err) {
      for (const c of closers) await c();
      throw err;
    }
  }
  const deals = new DealManager({
    store,
    chain,
    policy,
    config,
    market,
    metrics: dealMetrics(initMetrics('venus-sector-manager').registry),
  });
  closers.unshift(() => deals.stop());
  const miners = new MinerInfoCache(chain);
  if (cfg.SectorManager.PreFetch) await miners.prefetch(cfg.SectorManager.Miners.map((m) => m.ID));
  const commit = new CommitmentManager({
    store,
    chain,
    messager,
    policy,
    config,
    miners,
    aggregator: new CborAggregator(),
    ...(dealChainOf(chain) ? { dealChain: dealChainOf(chain) } : {}),
    lease: leaseOf('commit'),
  });
  closers.unshift(() => commit.stop());
  const stores = new PersistStores(storesFromConfig(cfg), store);
  let poster: Poster | undefined;
  let prover = o.prover;
  if (!prover && o.extProver) {
    let ext: ExternalWindowPoStProver;
    try {
      const pool = await startWindowPoStPool(loadExtProverConfig(home), o.extProverSpawn);
      ext = new ExternalWindowPoStProver(pool);
    } catch (err) {
      for (const c of closers) await c();
      if (err instanceof ConfigError) throw err;
      throw new UserError(`--ext-prover: ${(err as Error).message}`);
    }
    closers.unshift(() => ext.stop());
    prover = ext;
  }
  prover ??= new LocalWindowPoStProver();
  const checker = new Poster({
    chain,
    messager,
    store,
    stores,
    prover,
    miners,
    policy,
    config,
    ...(o.challengeConfidence !== undefined ? { challengeConfidence: o.challengeConfidence } : {}),
    ...(o.submitConfidence !== undefined ? { submitConfidence: o.submitConfidence } : {}),
    lease: leaseOf('post'),
    onPoSt: (r) => {
      initMetrics('venus-sector-manager').recordPoSt(r);
      store.recordPoSt({
        miner: r.miner,
        deadline: r.deadline,
        ok: r.ok,
        epoch: r.epoch ?? null,
        proven: r.proven ?? null,
        faulty: r.faulty ?? null,
        reason: r.reason ?? null,
      });
    },
  });
  // unseal tasks (docs/deals-unseal.md): market:// destinations go to the market's piece store with its token
  const unseal = new UnsealTasks({
    store,
    market: () => {
      const ep = marketEndpoint(config());
      return ep ? { url: ep.base, token: ep.token ?? '' } : undefined;
    },
  });
  closers.unshift(() => unseal.stop());
  const sealerOptions: SealerOptions = {
    store,
    chain,
    policy,
    config,
    miners,
    commit,
    stores,
    deals,
    verifier: o.verifier ?? new VanillaSealVerifier(),
    // a few sectors at a time, one call at a time, within a time budget: Window PoSt shares this event loop
    checkProvable: boundedCheck(
      async (miner, numbers, strict) => (await checker.checkSectors(miner, numbers, strict)).bad,
    ),
    // pings arrive only once the server listens, after the dashboard exists
    onWorkerPing: (name, remote) => dashboard.notePing(name, remote),
    // snapup (docs/snapup-manager.md): serves only miners with EnableSnapUp
    snapup: { messager, ...(dealChainOf(chain) ? { dealChain: dealChainOf(chain) } : {}) },
  };
  const sealer = new SealerService(sealerOptions, unseal);
  // SectorsUnsealPiece requests of the market, one subscription per miner with deals (a WebSocket of its own)
  const eventsMarket = new MarketConnection(config, o.market ? { fixed: o.market } : { transport: 'ws' });
  closers.push(() => eventsMarket.close());
  const marketEvents = new MarketEvents({
    tasks: unseal,
    miners: () =>
      config()
        .SectorManager.Miners.filter((m) => dealsEnabled(config(), m.ID))
        .map((m) => m.ID),
    client: () => eventsMarket.get(),
  });
  closers.unshift(async () => sealer.snapup?.stop());
  // retention of what workers add rows to (db.ts RETENTION): one manager prunes (the `chain` duty)
  const prune = () => {
    try {
      const r = store.prune();
      if (r.workers || r.allocations || r.events) log.info(r, 'old rows pruned');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'pruning old rows failed');
    }
  };
  // every part a duty starts waits in standby until this manager holds the duty
  await wireDuties(duties, {
    commit,
    ...(o.poster ? { poster: checker } : {}),
    deals,
    marketEvents,
    unseal,
    ...(sealer.snapup ? { snapup: sealer.snapup } : {}),
    prune,
  });

  const metrics = initMetrics('venus-sector-manager');
  // the repo's JWT secret (<home>/keystore), admin token (<home>/token) and workers' token (<home>/worker-token)
  const repoAuth = await loadOrInitManagerAuth(home);
  const server = new RpcServer({ auth: o.insecureNoAuth ? null : repoAuth.secret, hooks: metrics.rpcHooks() });
  if (o.insecureNoAuth)
    log.warn(
      { listen },
      '--insecure-no-auth: the API answers calls without a token; every local user and program can abort sectors',
    );
  else {
    log.info(
      { admin: repoAuth.tokenPath, worker: repoAuth.workerTokenPath },
      'the API requires a token (workers: the worker token or `util worker token NAME`; the CLI: the admin token)',
    );
    hintMissingTokens(
      server,
      log,
      `a worker needs ${workerHeaderLine(repoAuth.workerTokenPath)} under [sealer_rpc] in its venus-worker.toml ` +
        '(or a token of its own: venus-sector-manager util worker token NAME)',
    );
  }
  server.register(ManagerAPI, groupSync ? durableApi(ManagerAPI, sealer.api(), () => groupSync.flush()) : sealer.api());
  mountMetrics(server, metrics);
  server.route('GET', '/healthcheck', (_req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok\n');
  });
  // the dashboard (GET /): its JSON needs a token from the repo secret (<home>/token is an admin one)
  const dashboard = new Dashboard({
    store,
    chain: chain as DashboardChain,
    config,
    secret: repoAuth.secret,
    duties,
  });
  dashboard.mount(server);
  // deal data for workers: GET /piecestore/<cid> from [[DealManagerConfig.LocalPieceStores]], else the market
  new PieceStoreProxy(config).mount(server);
  closers.unshift(() => dashboard.close());
  log.info(`trying to listen on ${o.listen}`);
  const address = await server.listen(listen);
  closers.unshift(() => server.close());

  closers.unshift(() => marketEvents.stop());

  if (o.poster) {
    poster = checker;
    closers.unshift(() => poster?.stop());
    log.info({ miners: postMiners(cfg) }, 'window post enabled (runs while this manager holds the post duty)');
  }
  // first on close: the duties stop here and their leases go back, so a standby takes over at once
  try {
    // refused (ManagerNameInUse) while another running manager has this [Common.HA] Name
    await duties.start({ listen: `${address.host}:${address.port}` });
  } catch (err) {
    for (const c of closers)
      await Promise.resolve()
        .then(c)
        .catch(() => {});
    throw err;
  }
  closers.unshift(() => duties.stop());
  log.info(
    {
      name: duties.name,
      ttlMs: duties.ttlMs,
      holds: duties
        .snapshot()
        .filter((d) => d.mine)
        .map((d) => d.duty),
    },
    'duties',
  );

  // sectors per state for /metrics: counted by SQL from an index, unknown state names as "other"
  const gauge = setInterval(() => {
    const counts: Record<string, number> = {};
    for (const { state, count } of store.countSectorsByState()) {
      const k = metricState(state);
      counts[k] = (counts[k] ?? 0) + count;
    }
    metrics.setSectorStates(counts);
  }, 5_000);
  gauge.unref();
  closers.unshift(() => clearInterval(gauge));

  const reload = (): boolean => {
    try {
      const next = loadManagerConfig(file);
      current.cfg = next;
      stores.reload(storesFromConfig(next));
      confLog.info({ file }, 'config reloaded');
      dep.info(`Sector-manager reloaded cfg: ${formatConfig(next)}`);
      return true;
    } catch (err) {
      confLog.error({ file, err: (err as Error).message }, 'config reload failed; keeping the previous config');
      return false;
    }
  };
  const onSignal = () => {
    reload();
  };
  process.on('SIGHUP', onSignal);
  process.on('SIGUSR1', onSignal);
  closers.unshift(() => {
    process.off('SIGHUP', onSignal);
    process.off('SIGUSR1', onSignal);
  });
  confLog.info(`will reload sector-manager(${file}) once receive reload sig`);
  log.info({ listen: `${address.host}:${address.port}`, poster: o.poster }, 'daemon running');
  log.info(`dashboard: http://${address.host}:${address.port}/?token=<contents of ${repoAuth.tokenPath}>`);

  return {
    address,
    config,
    reload,
    sealer,
    commit,
    ...(poster ? { poster } : {}),
    store,
    policy,
    duties,
    async close() {
      for (const c of closers) {
        try {
          await c();
        } catch (err) {
          log.warn({ err: (err as Error).message }, 'close step failed');
        }
      }
    },
  };
}
