/**
 * The dashboard's calls to the workers' control APIs (VenusWorker.WorkerList / WorkerPause / WorkerResume).
 *
 * A worker names its control address itself (`WorkerPing.Dest`), so the dashboard only calls an address it can tie
 * to the worker: `Dest` must be `<IP>:<port>` and the IP must be the one the worker's pings come from (any loopback
 * address matches any other), or listed in the operator's allow-list. Anything else (host names, paths, another
 * machine's address, a loopback address named by a remote worker) is refused without a request. See
 * docs/dashboard.md.
 *
 * Polling is bounded: a worker's thread list is fetched on demand and kept for `listTtlMs`, only for workers that
 * pinged within `staleAfterS`, one request per worker at a time; answers are size-capped, redirects are not
 * followed, and what a worker answers is validated field by field; errors are shown as short fixed phrases,
 * never the worker's text.
 */
import { isIP } from 'node:net';
import type { WorkerThreadInfo, WorkerThreadState } from '../../api/worker.js';
import { logger } from '../../common/log.js';
import { createToken } from '../../rpc/index.js';
import { TEXT_MAX } from './queries.js';

const log = logger('dashboard');

/** Largest answer read from a worker's control API. */
const MAX_ANSWER_BYTES = 1 << 20;
/** Threads shown per worker. */
const MAX_THREADS = 256;
/** Workers whose ping source is remembered (most recent first). */
const MAX_PEERS = 1024;

/** The IP of an "ip:port" peer address (IPv4-mapped IPv6 as IPv4), or undefined. */
export function peerIp(remote: string): string | undefined {
  let host = remote;
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(remote);
  if (m) host = m[1]!;
  if (host.startsWith('::ffff:') && isIP(host.slice(7)) === 4) host = host.slice(7);
  return isIP(host) ? host.toLowerCase() : undefined;
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || (isIP(ip) === 4 && ip.startsWith('127.'));
}

/** Why a control address is refused, or null when the dashboard may call it. */
export function checkDest(
  dest: string | null,
  pingFrom: string | undefined,
  allow: readonly string[] = [],
): string | null {
  if (!dest) return 'no control address';
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):(\d{1,5})$/.exec(dest);
  const port = m ? Number(m[3]) : 0;
  const ip = m ? (m[1] ?? m[2])!.toLowerCase() : '';
  if (!m || !isIP(ip) || port < 1 || port > 65535) return 'control address is not <IP>:<port>';
  if (allow.includes(ip)) return null;
  if (!pingFrom) return 'waiting for the worker’s next ping to confirm its address';
  if (ip === pingFrom || (isLoopback(ip) && isLoopback(pingFrom))) return null;
  return `control address ${ip} is not where the worker pings from (${pingFrom}); not called`;
}

/** The control URL of a checked `<IP>:<port>` address. */
function controlUrl(dest: string): string {
  return `http://${dest}/rpc/v0`;
}

/** A worker thread as the dashboard shows it (an unknown thread state is shown as "?"). */
export type ThreadView = Omit<WorkerThreadInfo, 'thread_state'> & {
  thread_state: { state: WorkerThreadState | '?'; elapsed: number; proc: string | null };
};

const THREAD_STATES: ReadonlySet<string> = new Set<WorkerThreadState>(['Idle', 'Running', 'Waiting', 'Paused']);

function str(v: unknown, max = TEXT_MAX): string | null {
  return typeof v === 'string' ? v.slice(0, max) : null;
}

function nat(v: unknown): number | null {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** A worker's thread list as the dashboard shows it: only well-typed fields, strings cut; null if not a list. */
export function sanitizeThreads(v: unknown): ThreadView[] | null {
  if (!Array.isArray(v)) return null;
  const out: ThreadView[] = [];
  for (const t of v.slice(0, MAX_THREADS)) {
    if (!t || typeof t !== 'object') continue;
    const o = t as Record<string, unknown>;
    const index = nat(o.index);
    if (index === null) continue;
    const ts = (o.thread_state && typeof o.thread_state === 'object' ? o.thread_state : {}) as Record<string, unknown>;
    const state = typeof ts.state === 'string' && THREAD_STATES.has(ts.state) ? (ts.state as WorkerThreadState) : '?';
    out.push({
      index,
      location: str(o.location) ?? '',
      plan: str(o.plan, 32) ?? '',
      job_id: str(o.job_id, 64),
      job_state: str(o.job_state, 64) ?? '',
      job_stage: str(o.job_stage, 64),
      thread_state: {
        state,
        elapsed: nat(ts.elapsed) ?? 0,
        proc: str(ts.proc, 64),
      },
      last_error: str(o.last_error),
    });
  }
  return out;
}

/** A failed control call, as the dashboard words it (never the worker's own text). */
class ControlError extends Error {}

export interface WorkerControlOptions {
  /** the manager's JWT secret: calls carry a short-lived token signed with it (null: none) */
  secret: Uint8Array | null;
  /** IPs the dashboard may call whatever the ping source (operator allow-list) */
  allow?: readonly string[];
  /** how long a thread list is reused (default 5 s) */
  listTtlMs?: number;
  /** workers whose last ping is older are not polled (default 10 min) */
  staleAfterS?: number;
  /** per call (default 3 s) */
  timeoutMs?: number;
}

interface Cached {
  at: number;
  threads: ThreadView[] | null;
  error?: string;
  pending?: Promise<void>;
}

export class WorkerControl {
  private readonly peers = new Map<string, string>();
  private readonly cache = new Map<string, Cached>();
  private tokens = new Map<'read' | 'admin', { token: string; until: number }>();

  constructor(private readonly o: WorkerControlOptions) {}

  /** A worker pinged from `remote` ("ip:port"): its control address may be that IP. */
  notePing(name: string, remote: string): void {
    const ip = peerIp(remote);
    if (!ip) return;
    this.peers.delete(name);
    this.peers.set(name, ip);
    if (this.peers.size > MAX_PEERS) this.peers.delete(this.peers.keys().next().value as string);
  }

  /** Why `dest` of worker `name` is not called, or null. */
  refusal(name: string, dest: string | null): string | null {
    return checkDest(dest, this.peers.get(name), this.o.allow);
  }

  /**
   * A worker's threads: the cached list while fresh, else fetched now (one fetch per worker at a time).
   * Stale or refused workers are not called.
   */
  async threads(
    name: string,
    dest: string | null,
    lastPing: number,
    now = Date.now(),
  ): Promise<{ threads: ThreadView[] | null; error?: string }> {
    const refused = this.refusal(name, dest);
    if (refused) return { threads: null, error: refused };
    if (now / 1000 - lastPing > (this.o.staleAfterS ?? 600))
      return { threads: null, error: 'no recent ping; not polled' };
    const key = `${name}\n${dest}`;
    let c = this.cache.get(key);
    if (!c || (now - c.at > (this.o.listTtlMs ?? 5_000) && !c.pending)) {
      const entry: Cached = c ?? { at: 0, threads: null };
      entry.pending = this.call(dest!, 'VenusWorker.WorkerList', [], 'read')
        .then((v) => {
          const threads = sanitizeThreads(v);
          entry.threads = threads;
          if (threads) delete entry.error;
          else entry.error = 'the worker’s answer is not a thread list';
        })
        .catch((err: Error) => {
          entry.threads = null;
          entry.error = err instanceof ControlError ? err.message : 'control API call failed';
        })
        .finally(() => {
          entry.at = Date.now();
          delete entry.pending;
        });
      this.cache.set(key, entry);
      c = entry;
    }
    if (c.pending && c.at === 0) await c.pending; // first fetch: wait for it
    this.trim();
    return { threads: c.threads, ...(c.error ? { error: c.error } : {}) };
  }

  /** Pause or resume thread `index` of a worker; the next listing is fetched fresh. */
  async control(name: string, dest: string | null, index: number, action: 'pause' | 'resume'): Promise<boolean> {
    const refused = this.refusal(name, dest);
    if (refused) throw new ControlError(refused);
    this.cache.delete(`${name}\n${dest}`);
    const v =
      action === 'pause'
        ? await this.call(dest!, 'VenusWorker.WorkerPause', [index], 'admin')
        : await this.call(dest!, 'VenusWorker.WorkerResume', [index, null], 'admin');
    this.cache.delete(`${name}\n${dest}`);
    if (typeof v !== 'boolean') throw new ControlError('the worker’s answer is not true/false');
    return v;
  }

  /** Forget cached lists of workers no longer asked about (bounded by the listed workers). */
  private trim(): void {
    if (this.cache.size <= MAX_PEERS) return;
    for (const k of [...this.cache.keys()].slice(0, this.cache.size - MAX_PEERS)) this.cache.delete(k);
  }

  /** A short-lived token signed with the manager's secret: the worker accepts the manager's tokens. */
  private async token(perm: 'read' | 'admin'): Promise<string | null> {
    if (!this.o.secret) return null;
    const now = Date.now();
    const t = this.tokens.get(perm);
    if (t && t.until > now) return t.token;
    const token = await createToken(this.o.secret, perm, { name: 'dashboard', expiresInSeconds: 600 });
    this.tokens.set(perm, { token, until: now + 300_000 });
    return token;
  }

  /** One JSON-RPC call over HTTP: no redirects, bounded answer, fixed-phrase errors. */
  private async call(dest: string, method: string, params: unknown[], perm: 'read' | 'admin'): Promise<unknown> {
    const token = await this.token(perm);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(controlUrl(dest), {
        method: 'POST',
        headers,
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs ?? 3_000),
      });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const why =
        e.name === 'TimeoutError'
          ? 'timed out'
          : e.cause?.code === 'ECONNREFUSED'
            ? 'connection refused'
            : 'unreachable';
      throw new ControlError(`control API ${why}`);
    }
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel();
      throw new ControlError(`control API refused the dashboard's token (HTTP ${res.status})`);
    }
    const text = await readCapped(res);
    if (text === null) throw new ControlError('control API answer too large');
    let body: { result?: unknown; error?: { code?: unknown } };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new ControlError(`control API answered HTTP ${res.status} without JSON-RPC`);
    }
    if (body?.error) {
      const code = typeof body.error.code === 'number' ? body.error.code : '?';
      log.debug({ method, dest, code }, 'worker control call failed');
      throw new ControlError(`control API error (code ${code})`);
    }
    if (!body || !('result' in body)) throw new ControlError('control API answer has no result');
    return body.result;
  }
}

/** The body as text, or null if it is larger than MAX_ANSWER_BYTES (reading stops there). */
async function readCapped(res: Response): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.byteLength;
    if (n > MAX_ANSWER_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
