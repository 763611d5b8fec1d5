/**
 * The worker's control server: VenusWorker.* (WorkerList and WorkerVersion need a read token; pause, resume and
 * the environment an admin token) and GET /metrics (open only when `open_metrics`, by default on a loopback
 * address). Tokens are checked by control-auth.ts; docs/security-worker.md has the whole picture.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WorkerAPI, type WorkerThreadInfo } from '../api/worker.js';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import { initMetrics, metricsHandler } from '../common/metrics.js';
import { VERSION } from '../common/version.js';
import { type Authenticator, hasPerm, ListenError, RpcError, RpcServer, rpcError } from '../rpc/index.js';
import type { ControlServerConfig } from './control-config.js';
import type { ChildEnv } from './control-env.js';
import type { SealingThread } from './sealing/index.js';

const log = logger('worker');

export interface ControlDeps {
  threads: SealingThread[];
  env: ChildEnv;
  auth: Authenticator;
}

function controlApi(d: ControlDeps) {
  const thread = (index: number): SealingThread => {
    const t = Number.isSafeInteger(index) ? d.threads[index] : undefined;
    if (!t) throw rpcError(`no sealing thread #${String(index).slice(0, 20)} (this worker has ${d.threads.length})`);
    return t;
  };
  const envCall = (what: string, fn: () => void): null => {
    try {
      fn();
    } catch (err) {
      throw rpcError(`${what}: ${(err as Error).message}`);
    }
    return null;
  };
  return {
    WorkerList: (): WorkerThreadInfo[] => d.threads.map((t) => t.info()),
    WorkerPause: (index: number) => thread(index).pause(),
    WorkerResume: (index: number, setTo: string | null) => {
      const t = thread(index);
      try {
        return t.resume(setTo);
      } catch (err) {
        throw rpcError((err as Error).message);
      }
    },
    WorkerSetEnv: (key: string, value: string) => {
      const r = envCall('WorkerSetEnv', () => d.env.set(key, value));
      log.info({ name: key }, 'processor environment changed (children started from now on)');
      return r;
    },
    WorkerRemoveEnv: (key: string) => {
      const r = envCall('WorkerRemoveEnv', () => d.env.remove(key));
      log.info({ name: key }, 'processor environment variable removed (children started from now on)');
      return r;
    },
    WorkerVersion: () => VERSION,
  };
}

/** The control server, not yet listening. */
export function controlServer(cfg: ControlServerConfig, d: ControlDeps): RpcServer {
  const metrics = initMetrics('venus-worker');
  const server = new RpcServer({ auth: d.auth, paths: ['/', '/rpc/v0'], hooks: metrics.rpcHooks() });
  server.register(WorkerAPI, controlApi(d));
  // thread states are counted at each scrape so they are never stale
  const serveMetrics = metricsHandler(metrics);
  server.route('GET', '/metrics', async (req: IncomingMessage, res: ServerResponse) => {
    if (!cfg.openMetrics) {
      try {
        const caller = await server.authenticate(req);
        if (!hasPerm(caller.perms, 'read')) throw new RpcError(401, 'the token has no read permission');
      } catch (err) {
        res.writeHead(401, { 'Content-Type': 'text/plain' });
        res.end(`${err instanceof RpcError ? err.message : 'unauthorized'}\n`);
        return;
      }
    }
    const counts: Record<string, number> = {};
    for (const t of d.threads) {
      const s = t.info().thread_state.state;
      counts[s] = (counts[s] ?? 0) + 1;
    }
    metrics.setThreadStates(counts);
    await serveMetrics(req, res);
  });
  return server;
}

/** Listens where the config says; a taken or unusable address is one line naming the config key. */
export async function listenControl(
  server: RpcServer,
  cfg: ControlServerConfig,
): Promise<{ host: string; port: number }> {
  try {
    return await server.listen({ host: cfg.host, port: cfg.port });
  } catch (err) {
    const msg = (err as Error).message;
    const where = `${cfg.host}:${cfg.port}`;
    const code = err instanceof ListenError ? err.code : undefined;
    if (code === 'EADDRINUSE') {
      throw new UserError(
        `[${cfg.section}] port: ${where} is already in use (another venus-worker?): stop it or set another port`,
      );
    }
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
      throw new UserError(`[${cfg.section}] host: cannot listen on ${where}: no such local address`);
    }
    if (code === 'EACCES') {
      throw new UserError(`[${cfg.section}] port: no permission to listen on ${where} (ports below 1024 need root)`);
    }
    throw new UserError(`[${cfg.section}]: cannot listen on ${where}: ${msg}`);
  }
}
