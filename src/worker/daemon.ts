/**
 * `venus-worker daemon`: the sealing threads (one per seal store), the stage processors, the control API
 * (VenusWorker.*) and the periodic WorkerPing to the manager.
 */
import { hostname, networkInterfaces } from 'node:os';
import { SealerAPI } from '../api/sealer.js';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import { initMetrics } from '../common/metrics.js';
import { VERSION } from '../common/version.js';
import { createClient, type RpcServer } from '../rpc/index.js';
import type { WorkerConfig } from './config.js';
import { controlServer, listenControl } from './control.js';
import { loadControlAuth } from './control-auth.js';
import { ChildEnv } from './control-env.js';
import { type Sealer, StageRunner, type StageRunnerOptions } from './processor/index.js';
import { endpointOf, SealerRpcClient } from './sealer-rpc.js';
import {
  checkPersistStoresAtManager,
  checkSealStores,
  prefixed,
  type SealerClient,
  SealingThread,
  StageLimits,
} from './sealing/index.js';
import { checkPersistStore } from './store.js';

const log = logger('worker');

export interface DaemonOptions extends StageRunnerOptions {
  /** Use this sealer instead of building one from the config (tests). */
  sealer?: Sealer;
  /** Wait before resubmitting after an on-chain failure (default 30 s). */
  resubmitWaitMs?: number;
}

/** The address the manager can reach our control API at: the configured host, or a local IP. */
function destHost(listenHost: string, managerUrl: string): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  const mgrHost = new URL(managerUrl).hostname;
  if (mgrHost === '127.0.0.1' || mgrHost === 'localhost' || mgrHost === '::1') return '127.0.0.1';
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * `<manager origin>/piecestore`: the piece proxy of the manager in use (http even when the API is ws), unless
 * [piece_store] url names one.
 */
function pieceStoreUrl(cfg: WorkerConfig, managerUrl: string): string {
  if (cfg.sectorManager.pieceStoreUrl) return cfg.sectorManager.pieceStoreUrl.replace(/\/$/, '');
  const u = new URL(managerUrl);
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https:' : 'http:';
  return `${scheme}//${u.host}/piecestore`;
}

export class WorkerDaemon {
  private pingTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** Where the control API listens. */
  address = { host: '', port: 0 };
  /** "ip:port" the manager is told to reach the control API at. */
  private dest = '';

  private constructor(
    readonly cfg: WorkerConfig,
    readonly name: string,
    readonly threads: SealingThread[],
    private readonly server: RpcServer,
    private readonly sealer: Sealer,
    private readonly manager: SealerClient & { close(): Promise<void> },
  ) {}

  static async start(cfg: WorkerConfig, opts: DaemonOptions = {}): Promise<WorkerDaemon> {
    for (const s of cfg.persistStores) {
      try {
        await checkPersistStore(s.location);
      } catch (err) {
        throw new UserError(`${cfg.file}: ${(err as Error).message}`);
      }
    }
    await checkSealStores(cfg.threads.map((t) => t.location)); // before the processors start
    const name = cfg.name ?? hostname();
    const control = await loadControlAuth(cfg.rpcServer);
    // processor children get this environment: the daemon's at start, plus allow-listed WorkerSetEnv changes
    const childEnv = new ChildEnv();
    initMetrics('venus-worker'); // before any series is made: the registry's program label is set by its first user
    // one client over every [sealer_rpc] URL: calls fail over between the managers (docs/worker-failover.md)
    const rpc = new SealerRpcClient({
      urls: cfg.sectorManager.urls,
      headers: cfg.sectorManager.headers,
      timeoutMs: 60_000,
    });
    const manager = createClient(SealerAPI, rpc);
    let sealer: Sealer | undefined;
    const threads: SealingThread[] = [];
    let server: RpcServer | undefined;
    try {
      sealer = opts.sealer ?? (await StageRunner.create(cfg, { baseEnv: () => childEnv.get(), ...opts }));
      const limits = new StageLimits(cfg.limits);
      const deps = {
        manager,
        sealer,
        limits,
        persistStores: cfg.persistStores,
        instance: name,
        // read at each fetch: the pieces come from the manager in use after a failover
        get pieceStoreUrl() {
          return pieceStoreUrl(cfg, rpc.url);
        },
        pieceToken: cfg.sectorManager.pieceToken,
        managerHeaders: cfg.sectorManager.headers,
        localPiecesDirs: cfg.localPiecesDirs,
        staticTreeD: cfg.staticTreeD,
        resubmitWaitMs: opts.resubmitWaitMs,
      };
      const made = cfg.threads.map((t, i) => new SealingThread(i, t, deps));
      server = controlServer(cfg.rpcServer, { threads: made, env: childEnv, auth: control.auth });
      const daemon = new WorkerDaemon(cfg, name, made, server, sealer, manager);
      daemon.address = await listenControl(server, cfg.rpcServer);
      daemon.dest = `${destHost(cfg.rpcServer.host, cfg.sectorManager.url)}:${daemon.address.port}`;
      for (const t of made) {
        await t.start();
        threads.push(t);
      }
      daemon.startPing();
      void checkPersistStoresAtManager(manager, cfg.persistStores);
      log.info(
        {
          name,
          threads: made.length,
          rpc: daemon.dest,
          managers: cfg.sectorManager.urls.map(endpointOf),
          adminToken: control.tokenPath,
          managerTokens: control.managerTokens,
        },
        'venus-worker running',
      );
      if (cfg.threads.some((t) => t.sealing.enableDeals) && !cfg.sectorManager.pieceToken) {
        // the manager redirects pieces it does not hold to the market, which wants a token (docs/deals-worker.md)
        log.warn(
          { file: cfg.file },
          'enable_deals is on but [sector_manager] piece_token is not set: pieces the manager redirects to the market will be refused',
        );
      }
      return daemon;
    } catch (err) {
      for (const t of threads) await t.stop();
      await server?.close();
      await sealer?.stop();
      await manager.close();
      throw err;
    }
  }

  private summary() {
    const infos = this.threads.map((t) => t.info());
    const count = (s: string) => infos.filter((i) => i.thread_state.state === s).length;
    return {
      Threads: infos.length,
      Empty: infos.filter((i) => i.job_id === null).length,
      Paused: count('Paused'),
      Running: count('Running'),
      Waiting: count('Waiting'),
      Errors: infos.filter((i) => i.last_error !== null).length,
    };
  }

  private startPing(): void {
    const ping = async () => {
      try {
        await this.manager.WorkerPing({ Name: this.name, Dest: this.dest, Version: VERSION, Summary: this.summary() });
      } catch (err) {
        log.warn(prefixed('Venus.WorkerPing', err));
      }
    };
    void ping();
    this.pingTimer = setInterval(() => void ping(), this.cfg.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Stops the threads after their current step, then the processors and the API. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    await Promise.all(this.threads.map((t) => t.stop()));
    await this.server.close();
    await this.sealer.stop();
    await this.manager.close();
    log.info('venus-worker stopped');
  }
}
