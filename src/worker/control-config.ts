/**
 * The control API's section of the worker config: `[worker_server]` (the deployment guide's spelling) or
 * `[worker] rpc_server` (damocles'). Besides host and port:
 *
 *   auth_dir = "…"              the worker's own JWT secret and admin token (default: "venus-worker-auth"
 *                               next to the config file; created at first start, mode 0600)
 *   manager_secret_path = "…"   the sector-manager's JWT secret file (its keystore/MF2XI2BNNJ3XILLQOJUXMYLUMU):
 *                               tokens the manager issues (its dashboard's) are accepted too
 *   open_metrics = true|false   GET /metrics without a token (default: only when host is a loopback address)
 *
 * docs/security-worker.md explains the choices.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { expandHome } from '../common/config.js';

export const DEFAULT_RPC_PORT = 17890;
/** Loopback unless the operator names another address. */
export const DEFAULT_RPC_HOST = '127.0.0.1';
export const DEFAULT_AUTH_DIR = 'venus-worker-auth';

export const RpcServerSchema = z
  .object({
    host: z.string().min(1).optional(),
    port: z.number().int().min(0).max(65535).optional(),
    auth_dir: z.string().min(1).optional(),
    manager_secret_path: z.string().min(1).optional(),
    open_metrics: z.boolean().optional(),
  })
  .strict();
export type RawRpcServer = z.output<typeof RpcServerSchema>;

export interface ControlServerConfig {
  host: string;
  port: number;
  /** The section it came from, for messages ("worker_server" or "worker.rpc_server"). */
  section: string;
  /** Absolute directory of the worker's own secret (keystore/) and admin token (token). */
  authDir: string;
  /** Absolute path of the sector-manager's secret, or null (only the worker's own tokens are accepted). */
  managerSecretPath: string | null;
  /** /metrics needs no token. */
  openMetrics: boolean;
}

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Resolves the section. `configFile` is the config's own path: the auth dir defaults to its directory, so two
 * workers on one box (two configs) keep two secrets.
 */
export function resolveControlServer(
  raw: RawRpcServer | undefined,
  section: string,
  configFile: string,
  baseDir: string,
): ControlServerConfig {
  const r = raw ?? {};
  const abs = (p: string) => {
    const e = expandHome(p);
    return isAbsolute(e) ? e : resolve(baseDir, e);
  };
  const host = r.host ?? DEFAULT_RPC_HOST;
  return {
    host,
    port: r.port ?? DEFAULT_RPC_PORT,
    section,
    authDir: r.auth_dir ? abs(r.auth_dir) : resolve(dirname(abs(configFile)), DEFAULT_AUTH_DIR),
    managerSecretPath: r.manager_secret_path ? abs(r.manager_secret_path) : null,
    openMetrics: r.open_metrics ?? isLoopbackHost(host),
  };
}
