/**
 * The sector-manager's web dashboard, on the API's port: `GET /` serves one self-contained page (inline CSS/JS,
 * allowed by hash in a strict Content-Security-Policy, no CDN, no build step); `GET /dashboard/api/state` the JSON
 * it draws; `GET /dashboard/events` the same JSON as Server-Sent Events whenever it changes (checked once a second,
 * sent only on change); `POST /dashboard/api/worker` pauses or resumes a worker thread through the worker's control
 * API (VenusWorker.WorkerPause/WorkerResume, see workers.ts for which addresses it calls).
 *
 * Auth: the JSON and events need a token signed with the manager's repo secret (`<home>/token`), read perm or
 * more, as `Authorization: Bearer` or `?token=` (EventSource cannot send headers); pause/resume needs admin.
 * The page itself carries no data, so it is served without a token and reads `?token=` from its own URL; it is sent
 * with `Referrer-Policy: no-referrer` and logs never carry the query string. See docs/dashboard.md.
 *
 * Everything here is bounded: sector and worker lists have a LIMIT, counts come from one SQL GROUP BY (every few
 * seconds), worker-supplied strings are cut in SQL, chain reads are cached (chainview.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sectorName } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { localAuth, type RpcServer } from '../../rpc/index.js';
import type { ManagerConfig } from '../config.js';
import type { ManagerStore, SectorEvent } from '../db.js';
import type { DutyView } from '../ha/duties.js';
import { ChainViewCache, type DashboardChain, type DeadlineRow, type MinerRow } from './chainview.js';
import { DASHBOARD_CSP, DASHBOARD_HTML } from './page.js';
import {
  type DealRow,
  listDealRows,
  listSectorRows,
  listUnsealRows,
  listWorkerRows,
  type PoStRow,
  recentPoStRows,
  type SectorListRow,
  sectorCounts,
  sectorTimeline,
  TEXT_MAX,
  type UnsealRow,
  workerDest,
} from './queries.js';
import { type ThreadView, WorkerControl } from './workers.js';

export { bitCount, bitIndexes, type DashboardChain, type DeadlineRow } from './chainview.js';
export { checkDest, peerIp } from './workers.js';

const log = logger('dashboard');

export interface DashboardOptions {
  store: ManagerStore;
  chain: DashboardChain;
  config: () => ManagerConfig;
  /** the repo's JWT secret; null: no auth (tests). Also signs the dashboard's calls to workers' control APIs. */
  secret: Uint8Array | null;
  /** how often the state is recomputed for the event stream */
  intervalMs?: number;
  /** IPs of workers' control APIs the dashboard may call wherever their pings come from (operator allow-list) */
  workerAllow?: readonly string[];
  /** how long a worker's thread list is reused (default 5 s) */
  workerListTtlMs?: number;
  /** the singleton duties and who holds them (managers sharing one database, ha/duties.ts) */
  duties?: { snapshot(): DutyView[] };
}

export interface SectorRow extends SectorListRow {
  id: string;
  /** the sector's phases as the manager recorded them (sector_events), oldest first (first step + latest ones) */
  timeline: Omit<SectorEvent, 'worker'>[];
}

/** Sectors listed with their timelines (newest first); the counts cover all of them. */
const SECTOR_ROWS = 200;
/** Workers listed (latest ping first); `workersTotal` counts them all. */
const WORKER_ROWS = 100;
/** Window PoSt submissions listed. */
const POST_ROWS = 50;
/** Deals listed (latest sectors first) and unseal tasks listed (newest first). */
const DEAL_ROWS = 200;
const UNSEAL_ROWS = 50;
/** Event-stream readers at once. */
const MAX_STREAMS = 64;
/** A reader whose unsent data grows past this is too slow: its stream is ended. */
const MAX_STREAM_BACKLOG = 8 << 20;
/** Largest POST /dashboard/api/worker body. */
const MAX_CONTROL_BODY = 4096;

/** A failed Window PoSt of a deadline that is still open: shown as a banner. */
export interface PoStAlert {
  miner: number;
  deadline: number;
  epoch: number | null;
  close: number;
  reason: string | null;
}

export interface DashboardState {
  now: number;
  head: number | null;
  miners: MinerRow[];
  sectors: SectorRow[];
  counts: Record<string, number>;
  workers: {
    name: string;
    dest: string | null;
    lastPing: number;
    summary: { Threads: number; Running: number; Paused: number; Errors: number } | null;
    threads: ThreadView[] | null;
    error?: string;
  }[];
  /** all workers that ever pinged (only the latest WORKER_ROWS are listed) */
  workersTotal: number;
  /** per miner: the current deadline, then every other one that has partitions, in proving order */
  deadlines: DeadlineRow[];
  posts: PoStRow[];
  /** failed Window PoSt submissions of deadlines still open */
  alerts: PoStAlert[];
  messages: { id: string; miner: number; kind: string; sectors: number[]; pushed: boolean; at: number }[];
  /** deal pieces in the latest sectors */
  deals: DealRow[];
  /** the latest unseal tasks, and how many there are per state */
  unseals: UnsealRow[];
  unsealCounts: Record<string, number>;
  /** each singleton duty's lease: holder, fencing token, expiry and since (database clock), and whether it is ours */
  duties: DutyView[];
}

/** Headers on every dashboard answer: no caching, no MIME sniffing, no Referer carrying `?token=`. */
const COMMON_HEADERS = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Headers of the page: its CSP, and it may not be framed (clickjacking the pause/resume buttons). */
export const PAGE_HEADERS = {
  ...COMMON_HEADERS,
  'Content-Type': 'text/html; charset=utf-8',
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Frame-Options': 'DENY',
};

/** A request's URL for a log line: the path only (the query may hold `?token=`). */
export function logUrl(url: string | undefined): string {
  return (url ?? '/').split('?')[0]!.slice(0, 200);
}

/** The miner id of "t01000"/"f01000"/"1000", or null. */
function minerId(s: string): number | null {
  const m = /^(?:[tf]0)?(\d{1,19})$/.exec(s);
  return m ? Number(m[1]) : null;
}

/** Failed submissions of each miner's current deadline while it is open and nothing landed after them. */
export function postAlerts(head: number | null, deadlines: DeadlineRow[], posts: PoStRow[]): PoStAlert[] {
  const alerts: PoStAlert[] = [];
  for (const d of deadlines) {
    if (!d.current || (head !== null && head >= d.close)) continue;
    const mine = posts.filter(
      (p) => minerId(p.miner) === d.miner && p.deadline === d.index && p.epoch !== null && p.epoch >= d.open,
    );
    const failed = mine.find((p) => !p.ok);
    if (!failed || mine.some((p) => p.ok && p.at >= failed.at)) continue;
    alerts.push({ miner: d.miner, deadline: d.index, epoch: failed.epoch, close: d.close, reason: failed.reason });
  }
  return alerts;
}

export class Dashboard {
  private readonly clients = new Set<ServerResponse>();
  private readonly workers: WorkerControl;
  private readonly chainView: ChainViewCache;
  private last = '';
  private timer: NodeJS.Timeout | undefined;
  private counts: { at: number; value: Record<string, number> } | undefined;

  constructor(private readonly o: DashboardOptions) {
    this.workers = new WorkerControl({
      secret: o.secret,
      ...(o.workerAllow ? { allow: o.workerAllow } : {}),
      ...(o.workerListTtlMs !== undefined ? { listTtlMs: o.workerListTtlMs } : {}),
    });
    this.chainView = new ChainViewCache(o.chain, o.config);
  }

  /** A worker pinged the manager from `remote` ("ip:port"): the only address its control API is called at. */
  notePing(name: string, remote: string): void {
    this.workers.notePing(name, remote);
  }

  mount(server: RpcServer): void {
    this.ensureTimer();
    // the page passes its `?token=` on (EventSource cannot send a header); RPC paths never accept one
    server.allowQueryToken('/', '/dashboard/api/state', '/dashboard/events', '/dashboard/api/worker');
    server.route('GET', '/', (_req, res) => {
      res.writeHead(200, PAGE_HEADERS);
      res.end(DASHBOARD_HTML);
    });
    server.route('GET', '/dashboard/api/state', (req, res) =>
      this.guard(req, res, 'read', async () => {
        const body = JSON.stringify(await this.state());
        res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
        res.end(body);
      }),
    );
    server.route('GET', '/dashboard/events', (req, res) =>
      this.guard(req, res, 'read', async () => {
        if (this.clients.size >= MAX_STREAMS)
          return sendJson(res, 503, { error: `too many dashboard streams open (${MAX_STREAMS})` });
        res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
        this.clients.add(res);
        req.on('close', () => this.clients.delete(res));
        res.write(`data: ${JSON.stringify(await this.state())}\n\n`);
        this.ensureTimer();
      }),
    );
    server.route('POST', '/dashboard/api/worker', (req, res) =>
      this.guard(req, res, 'admin', async () => {
        // a cross-site page cannot drive the buttons even with a token it somehow has
        const origin = req.headers.origin;
        if (origin && originHost(origin) !== req.headers.host)
          return sendJson(res, 403, { error: 'cross-origin request refused' });
        const raw = await readBody(req, MAX_CONTROL_BODY);
        if (raw === null) return sendJson(res, 413, { error: `body larger than ${MAX_CONTROL_BODY} bytes` });
        let body: { worker?: unknown; index?: unknown; action?: unknown };
        try {
          body = JSON.parse(raw || '{}') as typeof body;
        } catch {
          body = {};
        }
        const { worker, index, action } = body ?? {};
        if (
          typeof worker !== 'string' ||
          worker.length > TEXT_MAX ||
          typeof index !== 'number' ||
          !Number.isSafeInteger(index) ||
          index < 0 ||
          (action !== 'pause' && action !== 'resume')
        )
          return sendJson(res, 400, { error: 'body must be {"worker": name, "index": n, "action": "pause"|"resume"}' });
        const w = workerDest(this.o.store.db, worker);
        if (!w) return sendJson(res, 404, { error: `unknown worker ${worker}` });
        const refused = this.workers.refusal(worker, w.dest);
        if (refused) return sendJson(res, 409, { error: refused });
        let ok: boolean;
        try {
          ok = await this.workers.control(worker, w.dest, index, action);
        } catch (err) {
          log.warn({ worker, index, action, err: (err as Error).message }, 'worker thread control failed');
          return sendJson(res, 502, { ok: false, error: (err as Error).message });
        }
        log.info({ worker, index, action, ok }, 'worker thread control');
        sendJson(res, 200, { ok });
      }),
    );
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private ensureTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.push(), this.o.intervalMs ?? 1_000);
    this.timer.unref();
  }

  private busy = false;

  private async push(): Promise<void> {
    if (this.busy) return; // a slow worker or chain call: skip this tick rather than pile up
    this.busy = true;
    try {
      if (this.clients.size === 0) return;
      const s = await this.state();
      const key = JSON.stringify({ ...s, now: 0 });
      if (key === this.last) return;
      this.last = key;
      const line = `data: ${JSON.stringify(s)}\n\n`;
      for (const c of this.clients) {
        if (c.writableLength > MAX_STREAM_BACKLOG) {
          log.warn({ backlog: c.writableLength }, 'dashboard stream reader too slow; closing its stream');
          this.clients.delete(c);
          c.end();
          continue;
        }
        c.write(line);
      }
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'dashboard refresh failed');
    } finally {
      this.busy = false;
    }
  }

  private async guard(
    req: IncomingMessage,
    res: ServerResponse,
    need: 'read' | 'admin',
    f: () => Promise<void>,
  ): Promise<void> {
    try {
      if (this.o.secret) {
        const q = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
        const h = req.headers.authorization;
        const token = h?.startsWith('Bearer ') ? h.slice(7).trim() : q;
        if (!token) return sendJson(res, 401, { error: 'missing token: use ?token=<token> or Authorization: Bearer' });
        let perms: string[];
        try {
          const v = await localAuth(this.o.secret).verify(token);
          perms = v.perms as string[];
        } catch (err) {
          return sendJson(res, 401, { error: (err as Error).message });
        }
        if (!perms.includes(need)) return sendJson(res, 403, { error: `missing permission '${need}'` });
      }
      await f();
    } catch (err) {
      log.warn({ err: (err as Error).message.slice(0, TEXT_MAX), path: logUrl(req.url) }, 'dashboard request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'dashboard request failed; see the manager log' });
      else res.end();
    }
  }

  /** The latest SECTOR_ROWS sectors, each with its recorded timeline; counts by state for all of them. */
  private sectorRows(now: number): { sectors: SectorRow[]; counts: Record<string, number> } {
    const { db } = this.o.store;
    if (!this.counts || now - this.counts.at > 5_000) this.counts = { at: now, value: sectorCounts(this.o.store) };
    const sectors = listSectorRows(db, SECTOR_ROWS).map((s) => ({
      ...s,
      id: sectorName({ Miner: s.miner, Number: s.number }),
      timeline: sectorTimeline(db, s.miner, s.number),
    }));
    return { sectors, counts: this.counts.value };
  }

  /** Everything the page shows. Chain look-ups are refreshed at most every 5 s, worker lists every few. */
  async state(): Promise<DashboardState> {
    const now = Date.now();
    const { db } = this.o.store;
    const { sectors, counts } = this.sectorRows(now);

    const { workers: rows, total } = listWorkerRows(db, WORKER_ROWS);
    const workers = await Promise.all(
      rows.map(async (w) => ({ ...w, ...(await this.workers.threads(w.name, w.dest, w.lastPing, now)) })),
    );

    const messages = (
      db
        .prepare('SELECT id, miner, kind, sectors, pushed, created_at FROM messages ORDER BY created_at DESC LIMIT 20')
        .all() as { id: string; miner: number; kind: string; sectors: string; pushed: number; created_at: number }[]
    ).map((m) => ({
      id: m.id,
      miner: m.miner,
      kind: m.kind,
      sectors: (JSON.parse(m.sectors) as number[]).slice(0, 100),
      pushed: !!m.pushed,
      at: m.created_at,
    }));

    const chain = await this.chainView.get(now);
    const posts = recentPoStRows(db, POST_ROWS);
    const alerts = postAlerts(chain.head, chain.deadlines, posts);
    const deals = listDealRows(db, DEAL_ROWS);
    const { tasks: unseals, counts: unsealCounts } = listUnsealRows(db, UNSEAL_ROWS);
    return {
      now,
      ...chain,
      sectors,
      counts,
      workers,
      workersTotal: total,
      posts,
      alerts,
      messages,
      deals,
      unseals,
      unsealCounts,
      duties: this.o.duties?.snapshot() ?? [],
    };
  }
}

function originHost(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

/** The body as text, or null when it is larger than `max` bytes (reading stops there). */
async function readBody(req: IncomingMessage, max: number): Promise<string | null> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).length;
    if (n > max) return null;
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
