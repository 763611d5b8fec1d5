/**
 * Who may call the sector-manager's API (docs/security.md).
 *
 * Every call needs a JWT signed with the repo secret (`<home>/keystore`), unless the operator starts the daemon
 * with `--insecure-no-auth` on a loopback address. Two token files live in the home:
 *   <home>/token          admin: the CLI (`util …`) and the dashboard
 *   <home>/worker-token   write, no name: what `daemon init` hands to workers
 * `util worker token NAME` mints a write token carrying a worker's name. A sector allocated by a named token is
 * bound to that name: only that name (or an admin token) may report, precommit, prove, abort or finalize it.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../common/log.js';
import {
  type CallContext,
  createToken,
  loadOrInitRepoAuth,
  localAuth,
  type RepoAuth,
  RpcError,
  type RpcServer,
} from '../rpc/index.js';

export const WORKER_TOKEN_FILE = 'worker-token';

export interface ManagerAuth extends RepoAuth {
  /** A write token without a name (contents of <home>/worker-token). */
  workerToken: string;
  workerTokenPath: string;
}

/**
 * The repo secret and admin token (created if missing), and `<home>/worker-token` (mode 0600): kept while it
 * still verifies against the secret and grants write without admin, re-issued otherwise.
 */
export async function loadOrInitManagerAuth(home: string): Promise<ManagerAuth> {
  const repo = await loadOrInitRepoAuth(home);
  const workerTokenPath = join(home, WORKER_TOKEN_FILE);
  let workerToken = (
    await readFile(workerTokenPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    })
  ).trim();
  if (workerToken) {
    const ok = await localAuth(repo.secret)
      .verify(workerToken)
      .then((v) => v.perm === 'write')
      .catch(() => false);
    if (!ok) workerToken = '';
  }
  if (!workerToken) {
    workerToken = await createToken(repo.secret, 'write');
    // temp + rename: a reader never sees half a token
    const tmp = `${workerTokenPath}.tmp`;
    await writeFile(tmp, workerToken, { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, workerTokenPath);
  }
  return { ...repo, workerToken, workerTokenPath };
}

/** A write token bound to one worker (`util worker token NAME`): NAME is the worker's `[instance] name`. */
export async function mintWorkerToken(home: string, name: string): Promise<string> {
  if (!/^[A-Za-z0-9._:@-]{1,128}$/.test(name))
    throw new Error(`worker name "${name.slice(0, 64)}" must be 1-128 letters, digits or ._:@-`);
  const { secret } = await loadOrInitRepoAuth(home);
  return createToken(secret, 'write', { name });
}

/** The `[sealer_rpc]` line that carries a token (the token itself is not printed). */
export function workerHeaderLine(tokenPath: string): string {
  return `headers = { Authorization = "Bearer <contents of ${tokenPath}>" }`;
}

/** The lines a worker's venus-worker.toml needs to call this manager. */
export function workerTomlHint(tokenPath: string, url = 'ws://127.0.0.1:1789/rpc/v0'): string {
  return ['[sealer_rpc]', `url = "${url}"`, workerHeaderLine(tokenPath)].join('\n');
}

/** 127.0.0.0/8, ::1, localhost: addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (h.startsWith('::ffff:')) return isLoopbackHost(h.slice(7));
  return false;
}

/** The caller of a per-sector method: admin, or a write token with its name ('' when it carries none). */
export interface SectorCaller {
  readonly admin: boolean;
  readonly name: string;
}

/** In-process calls (tests, the CLI's own service): everything allowed. */
export const INTERNAL_CALLER: SectorCaller = { admin: true, name: '' };

export function callerOf(ctx: CallContext | undefined): SectorCaller {
  if (!ctx) return INTERNAL_CALLER;
  return { admin: ctx.perms?.includes('admin') === true, name: ctx.token?.name ?? '' };
}

/**
 * May `caller` act on a sector bound to `owner`? Admin: always. A sector without an owner (allocated by a
 * token without a name, or before names existed): any write token. Otherwise only the owner's token.
 */
export function mayActOn(owner: string | null, caller: SectorCaller): boolean {
  return caller.admin || !owner || owner === caller.name;
}

/** The error a worker gets for another worker's sector (no detail of the owner beyond its name). */
export function notYourSector(sector: string, owner: string, caller: SectorCaller): RpcError {
  return new RpcError(
    1,
    `${sector} is bound to worker "${owner}"; a token for ${caller.name ? `"${caller.name}"` : 'no worker name'} may not act on it`,
  );
}

/**
 * One clear log line when something calls the RPC paths without any token (a worker whose config lacks
 * `[sealer_rpc] headers`), at most once per peer address per `everyMs`. The refusal itself is the RPC
 * server's; this only explains the fix.
 */
export function hintMissingTokens(
  server: RpcServer,
  log: Logger,
  hint: string,
  opts: { paths?: string[]; everyMs?: number } = {},
): void {
  const paths = new Set(opts.paths ?? ['/rpc/v0', '/rpc/v1']);
  const everyMs = opts.everyMs ?? 60_000;
  const last = new Map<string, number>();
  const check = (req: {
    url?: string | undefined;
    headers: Record<string, unknown>;
    socket: { remoteAddress?: string };
  }) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!paths.has(url.pathname)) return;
    if (req.headers.authorization !== undefined || url.searchParams.has('token')) return;
    const peer = req.socket.remoteAddress ?? 'unknown';
    const now = Date.now();
    const at = last.get(peer);
    if (at !== undefined && now - at < everyMs) return;
    if (last.size >= 1000) last.clear();
    last.set(peer, now);
    log.warn({ remote: peer }, `a call without a token was refused: ${hint}`);
  };
  server.http.on('request', check);
  server.http.on('upgrade', check);
}
