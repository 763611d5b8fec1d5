/**
 * The sector-manager's web dashboard, on the API's port: `GET /` serves one self-contained page (inline CSS/JS,
 * no CDN, no build step); `GET /dashboard/api/state` the JSON it draws; `GET /dashboard/events` the same JSON as
 * Server-Sent Events whenever it changes (polled once a second, sent only on change); `POST /dashboard/api/worker`
 * pauses or resumes a worker thread through the worker's control API (VenusWorker.WorkerPause/WorkerResume).
 *
 * Auth: the JSON and events need a token signed with the manager's repo secret (`<home>/token`), read perm or
 * more, as `Authorization: Bearer` or `?token=` (EventSource cannot send headers); pause/resume needs admin.
 * The page itself carries no data, so it is served without a token and reads `?token=` from its own URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FullNodeAPI } from '../../api/full.js';
import { sectorName, type WorkerPingInfo } from '../../api/sealer.js';
import { WorkerAPI, type WorkerThreadInfo } from '../../api/worker.js';
import { logger } from '../../common/log.js';
import { BitField } from '../../fil/index.js';
import { type ApiClient, createClient, localAuth, type RpcServer } from '../../rpc/index.js';
import { type ChainAPI, minerAddr } from '../chain.js';
import type { ManagerConfig } from '../config.js';
import type { ManagerStore, PoStResultRow, SectorEvent } from '../db.js';
import { DASHBOARD_HTML } from './page.js';

const log = logger('dashboard');

type Full = ApiClient<typeof FullNodeAPI>;
/** The chain calls the dashboard makes beyond the manager's: optional (test chains may lack them). */
export type DashboardChain = ChainAPI & Partial<Pick<Full, 'StateMinerPower' | 'StateMinerAvailableBalance'>>;

export interface DashboardOptions {
  store: ManagerStore;
  chain: DashboardChain;
  config: () => ManagerConfig;
  /** the repo's JWT secret; null: no auth (tests) */
  secret: Uint8Array | null;
  /** how often the state is recomputed for the event stream */
  intervalMs?: number;
}

export interface SectorRow {
  id: string;
  miner: number;
  number: number;
  state: string;
  online: boolean;
  finalized: boolean;
  abort: string | null;
  worker: string | null;
  failure: string | null;
  ticketEpoch: number | null;
  seedEpoch: number | null;
  preCommitMsg: string | null;
  proveMsg: string | null;
  /** the sector's phases as the manager recorded them (sector_events), oldest first */
  timeline: Omit<SectorEvent, 'worker'>[];
}

/** Sectors listed with their timelines (newest first); the counts cover all of them. */
const SECTOR_ROWS = 200;

export interface DashboardState {
  now: number;
  head: number | null;
  miners: { id: number; power: string | null; rawPower: string | null; available: string | null; error?: string }[];
  sectors: SectorRow[];
  counts: Record<string, number>;
  workers: {
    name: string;
    dest: string;
    lastPing: number;
    summary: WorkerPingInfo['Info']['Summary'];
    threads: WorkerThreadInfo[] | null;
    error?: string;
  }[];
  /** per miner: the current deadline, then every other one that has partitions, in proving order */
  deadlines: DeadlineRow[];
  posts: PoStResultRow[];
  messages: { id: string; miner: number; kind: string; sectors: number[]; pushed: boolean; at: number }[];
}

export interface DeadlineRow {
  miner: number;
  index: number;
  /** the deadline's next (or current) challenge window */
  open: number;
  close: number;
  current: boolean;
  /** partitions with a PoSt on chain in the current window (current deadline only) */
  proven: number[];
  /** sectors: all in the partition; active: proven at least once and not faulty */
  partitions: { index: number; sectors: number; active: number; faulty: number; recovering: number }[];
}

/** A miner's deadlines as `venus-sector-manager util miner` would list them: the current one and every one in use. */
async function minerDeadlines(chain: DashboardChain, miner: number): Promise<DeadlineRow[]> {
  const addr = minerAddr(miner);
  const cur = await chain.StateMinerProvingDeadline(addr, []);
  const all = await chain.StateMinerDeadlines(addr, []);
  const n = cur.WPoStPeriodDeadlines || all.length || 1;
  const rows: DeadlineRow[] = [];
  for (let k = 0; k < n; k++) {
    const index = (cur.Index + k) % n;
    const parts = (await chain.StateMinerPartitions(addr, index, [])) ?? [];
    if (k > 0 && parts.length === 0) continue;
    const open = cur.Open + k * cur.WPoStChallengeWindow;
    rows.push({
      miner,
      index,
      open,
      close: open + cur.WPoStChallengeWindow,
      current: k === 0,
      // the actor clears PostSubmissions when a window closes: only the current one's says anything
      proven: k === 0 ? bitIndexes(all[index]?.PostSubmissions) : [],
      partitions: parts.map((p, i) => ({
        index: i,
        sectors: bitCount(p.AllSectors),
        active: bitCount(p.ActiveSectors),
        faulty: bitCount(p.FaultySectors),
        recovering: bitCount(p.RecoveringSectors),
      })),
    });
  }
  return rows;
}

/** The set bits of a Lotus-JSON bitfield (run lengths), in order; none for null. */
export function bitIndexes(runs: number[] | null | undefined): number[] {
  return runs ? BitField.fromJSON(runs).toArray() : [];
}

/** Number of set bits of a Lotus-JSON bitfield (run lengths, starting with a run of zeros). */
export function bitCount(runs: number[] | null | undefined): number {
  return runs ? BitField.fromJSON(runs).count() : 0;
}

function stateOf(s: { LatestState?: { StateChange: { Next: string } }; Finalized: boolean; AbortReason: string }) {
  if (s.AbortReason) return 'Aborted';
  if (s.Finalized) return 'Finalized';
  return s.LatestState?.StateChange.Next ?? 'Allocated';
}

export class Dashboard {
  private readonly clients = new Set<ServerResponse>();
  private readonly workerClients = new Map<string, ReturnType<typeof createClient<typeof WorkerAPI>>>();
  private last = '';
  private timer: NodeJS.Timeout | undefined;
  private slow: { at: number; value: Pick<DashboardState, 'head' | 'miners' | 'deadlines'> } | undefined;

  constructor(private readonly o: DashboardOptions) {}

  mount(server: RpcServer): void {
    this.ensureTimer();
    // the page passes its `?token=` on (EventSource cannot send a header); RPC paths never accept one
    server.allowQueryToken('/', '/dashboard/api/state', '/dashboard/events', '/dashboard/api/worker');
    server.route('GET', '/', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(DASHBOARD_HTML);
    });
    server.route('GET', '/dashboard/api/state', (req, res) =>
      this.guard(req, res, 'read', async () => {
        const body = JSON.stringify(await this.state());
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(body);
      }),
    );
    server.route('GET', '/dashboard/events', (req, res) =>
      this.guard(req, res, 'read', async () => {
        res.writeHead(200, {
          'Content-Type': 'text/event-stream',
          'Cache-Control': 'no-store',
          Connection: 'keep-alive',
        });
        this.clients.add(res);
        req.on('close', () => this.clients.delete(res));
        res.write(`data: ${JSON.stringify(await this.state())}\n\n`);
        this.ensureTimer();
      }),
    );
    server.route('POST', '/dashboard/api/worker', (req, res) =>
      this.guard(req, res, 'admin', async () => {
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
          worker?: string;
          index?: number;
          action?: string;
        };
        if (
          typeof body.worker !== 'string' ||
          typeof body.index !== 'number' ||
          !['pause', 'resume'].includes(body.action ?? '')
        )
          return sendJson(res, 400, { error: 'body must be {"worker": name, "index": n, "action": "pause"|"resume"}' });
        const w = this.o.store.getWorker(body.worker);
        if (!w) return sendJson(res, 404, { error: `unknown worker ${body.worker}` });
        const api = this.workerApi(w.Info.Dest);
        const ok =
          body.action === 'pause' ? await api.WorkerPause(body.index) : await api.WorkerResume(body.index, null);
        log.info({ worker: body.worker, index: body.index, action: body.action, ok }, 'worker thread control');
        sendJson(res, 200, { ok });
      }),
    );
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    for (const c of this.clients) c.end();
    this.clients.clear();
    for (const c of this.workerClients.values()) void c.close();
  }

  private workerApi(dest: string) {
    let c = this.workerClients.get(dest);
    if (!c) {
      c = createClient(WorkerAPI, { url: `http://${dest}/rpc/v0`, timeoutMs: 3_000 });
      this.workerClients.set(dest, c);
    }
    return c;
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
      for (const c of this.clients) c.write(line);
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
      log.warn({ err: (err as Error).message, url: req.url }, 'dashboard request failed');
      if (!res.headersSent) sendJson(res, 500, { error: (err as Error).message });
      else res.end();
    }
  }

  /** Sectors as the store has them (the latest SECTOR_ROWS), each with its recorded timeline. */
  private sectorRows(): { sectors: SectorRow[]; counts: Record<string, number> } {
    const { store } = this.o;
    const all = [
      ...store.listSectors(true).map((s) => ({ s, online: true })),
      ...store.listSectors(false).map((s) => ({ s, online: false })),
    ];
    const counts: Record<string, number> = {};
    for (const { s } of all) counts[stateOf(s)] = (counts[stateOf(s)] ?? 0) + 1;
    all.sort((a, b) => a.s.ID.Miner - b.s.ID.Miner || b.s.ID.Number - a.s.ID.Number);
    const sectors: SectorRow[] = all.slice(0, SECTOR_ROWS).map(({ s, online }) => ({
      id: sectorName(s.ID),
      miner: s.ID.Miner,
      number: s.ID.Number,
      state: stateOf(s),
      online,
      finalized: s.Finalized,
      abort: s.AbortReason || null,
      worker: s.LatestState?.Worker.Location ?? null,
      failure: s.LatestState?.Failure?.Desc ?? null,
      ticketEpoch: s.Ticket?.Epoch ?? null,
      seedEpoch: s.Seed?.Epoch ?? null,
      preCommitMsg: s.MessageInfo?.PreCommitCid?.['/'] ?? null,
      proveMsg: s.MessageInfo?.CommitCid?.['/'] ?? null,
      timeline: store.sectorEvents(s.ID).map(({ state, event, failure, at }) => ({ state, event, failure, at })),
    }));
    return { sectors, counts };
  }

  /** Everything the page shows. Chain look-ups are refreshed at most every 5 s. */
  async state(): Promise<DashboardState> {
    const now = Date.now();
    const { store } = this.o;
    const { sectors, counts } = this.sectorRows();

    const workers = await Promise.all(
      store.listWorkers().map(async (w) => {
        const base = { name: w.Info.Name, dest: w.Info.Dest, lastPing: w.LastPing, summary: w.Info.Summary };
        if (!w.Info.Dest) return { ...base, threads: null, error: 'no control address' };
        try {
          return { ...base, threads: await this.workerApi(w.Info.Dest).WorkerList() };
        } catch (err) {
          return { ...base, threads: null, error: (err as Error).message };
        }
      }),
    );

    const messages = (
      store.db
        .prepare('SELECT id, miner, kind, sectors, pushed, created_at FROM messages ORDER BY created_at DESC LIMIT 20')
        .all() as { id: string; miner: number; kind: string; sectors: string; pushed: number; created_at: number }[]
    ).map((m) => ({
      id: m.id,
      miner: m.miner,
      kind: m.kind,
      sectors: JSON.parse(m.sectors) as number[],
      pushed: !!m.pushed,
      at: m.created_at,
    }));

    if (!this.slow || now - this.slow.at > 5_000) this.slow = { at: now, value: await this.chainView() };
    return { now, ...this.slow.value, sectors, counts, workers, posts: store.recentPoSts(50), messages };
  }

  private async chainView(): Promise<Pick<DashboardState, 'head' | 'miners' | 'deadlines'>> {
    const { chain } = this.o;
    let head: number | null = null;
    try {
      head = (await chain.ChainHead()).Height;
    } catch {
      /* shown as unknown */
    }
    const miners: DashboardState['miners'] = [];
    const deadlines: DashboardState['deadlines'] = [];
    for (const m of this.o.config().SectorManager.Miners) {
      const addr = minerAddr(m.ID);
      const row: DashboardState['miners'][number] = { id: m.ID, power: null, rawPower: null, available: null };
      try {
        if (chain.StateMinerPower) {
          const p = await chain.StateMinerPower(addr, []);
          row.power = p ? String(p.MinerPower.QualityAdjPower) : null;
          row.rawPower = p ? String(p.MinerPower.RawBytePower) : null;
        }
        if (chain.StateMinerAvailableBalance) row.available = String(await chain.StateMinerAvailableBalance(addr, []));
        deadlines.push(...(await minerDeadlines(chain, m.ID)));
      } catch (err) {
        row.error = (err as Error).message;
      }
      miners.push(row);
    }
    return { head, miners, deadlines };
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
