/**
 * What the live view shows, read from the programs' own APIs (nothing is scraped from logs):
 *   devnet   Filecoin.ChainHead, StateMinerProvingDeadline, StateMinerSectors, StateSectorPartition,
 *            StateMinerPartitions, StateMinerDeadlines (PostSubmissions)
 *   manager  Venus.ListSectors (sectors by state), GET /metrics (venus_wdpost_* for the last PoSt; with several
 *            managers venus_sector_manager_duty_held{duty} of each, for who holds which duty)
 *   worker   VenusWorker.WorkerList (each sealing thread's sector, state, stage, elapsed, last error)
 * A program that does not answer (not started, method not there yet) leaves its part empty with the reason.
 */
import { parseExposition } from '../common/metrics.js';

export interface ProbeTargets {
  chain: { url: string; token?: string };
  manager: ManagerTarget;
  /** Several managers (--managers N): sectors from the first that answers, duties from each. */
  managers?: (ManagerTarget & { name: string })[];
  worker: { url: string; metrics?: string; token?: string };
  /** Miner actor id ("t01000"); without it only the height is read from the chain. */
  miner?: string;
}

export interface ManagerTarget {
  url: string;
  metrics?: string;
  token?: string;
}

export interface DeadlineView {
  /** The current deadline (0..WPoStPeriodDeadlines-1). */
  index: number;
  deadlines: number;
  open: number;
  close: number;
  current: number;
  challengeWindow: number;
  provingPeriod: number;
}

export interface NextPoSt {
  deadline: number;
  /** Epoch its challenge window opens (now or later). */
  open: number;
  /** true when the window is open now. */
  isOpen: boolean;
  /** Epochs until it opens (0 when open), or until it closes when open. */
  epochs: number;
}

export interface ChainPoSt {
  deadline: number;
  /** Proving period start of the submission. */
  periodStart: number;
  /** Height at which the runner first saw it on chain. */
  seenAt: number;
  partitions: number;
}

export interface ChainView {
  height: number;
  /** Sectors in the miner's sector set (proven at least once by ProveCommit). */
  onChain?: number;
  active?: number;
  faulty?: number;
  unproven?: number;
  deadline?: DeadlineView;
  /** Deadlines holding the miner's sectors. */
  sectorDeadlines?: number[];
  next?: NextPoSt;
  lastPoSt?: ChainPoSt;
}

export interface ThreadView {
  index: number;
  location: string;
  sector?: string;
  /** Idle, Running, Waiting, Paused. */
  state: string;
  /** The sector's state in the sealing plan (e.g. "PC1Done"). */
  jobState?: string;
  /** The step running now (e.g. "PC2"). */
  stage?: string;
  elapsedSec?: number;
  lastError?: string;
}

export interface ManagerPoSt {
  miner: string;
  deadline: number;
  epoch: number;
  ok: boolean;
  proven?: number;
  faulty?: number;
}

export interface Snapshot {
  at: number;
  chain?: ChainView;
  /** Manager's online sectors by latest state, plus "Finalized" and "Aborted" from the offline ones. */
  sectors?: Record<string, number>;
  threads?: ThreadView[];
  managerPoSt?: ManagerPoSt;
  /** With several managers: each one's duties ("post", "commit", "chain") or why it did not answer. */
  managers?: { name: string; duties: string[]; error?: string }[];
  /** Why a part is missing, per program. */
  errors: { chain?: string; manager?: string; worker?: string };
}

class RpcCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** One JSON-RPC call over HTTP POST with a short timeout. */
export async function rpcCall<T>(
  url: string,
  method: string,
  params: unknown[],
  token?: string,
  timeoutMs = 3000,
): Promise<T> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
      signal: ac.signal,
    });
    const body = (await res.json().catch(() => undefined)) as
      | { result?: T; error?: { code: number; message: string } }
      | undefined;
    if (body?.error) throw new RpcCallError(body.error.code, body.error.message);
    if (!body || !('result' in body)) throw new Error(`HTTP ${res.status}`);
    return body.result as T;
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new Error(`no answer within ${timeoutMs / 1000} s`);
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') throw new Error('not listening');
    throw err;
  } finally {
    clearTimeout(t);
  }
}

/** Number of set bits in go-bitfield JSON (run lengths starting with a 0-run). */
export function bitCount(runs: number[] | null | undefined): number {
  if (!runs) return 0;
  let n = 0;
  for (let i = 1; i < runs.length; i += 2) n += runs[i]!;
  return n;
}

/** The next challenge window among `deadlines` at `current`: open now, or the earliest to open. */
export function nextPoSt(d: DeadlineView, deadlines: number[]): NextPoSt | undefined {
  let best: NextPoSt | undefined;
  const w = d.challengeWindow;
  const periodStart = d.open - d.index * w;
  for (const dl of deadlines) {
    let open = periodStart + dl * w;
    while (open + w <= d.current) open += d.provingPeriod;
    const isOpen = open <= d.current;
    const cand: NextPoSt = { deadline: dl, open, isOpen, epochs: isOpen ? open + w - d.current : open - d.current };
    if (!best || (cand.isOpen && !best.isOpen) || (cand.isOpen === best.isOpen && cand.open < best.open)) best = cand;
  }
  return best;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Elapsed time as damocles serialises it: seconds, {secs, nanos}, or a string such as "12s". */
function elapsedSeconds(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && 'secs' in v) return Number((v as { secs: number }).secs);
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)\s*s$/.exec(v);
    if (m) return Number(m[1]);
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  if (v === null || v === undefined || v === '') return undefined;
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** VenusWorker.WorkerList rows (snake_case, docs/spec/sealer-api.md §Worker control API) to the view's shape. */
export function threadsFrom(rows: unknown[]): ThreadView[] {
  return rows.map((raw, i) => {
    const r = raw as Record<string, unknown>;
    const ts = r.thread_state as Record<string, unknown> | string | undefined;
    const state = typeof ts === 'string' ? ts : (str(ts?.state) ?? 'unknown');
    const sector = str(r.sector_id) ?? str(r.job_id);
    return {
      index: typeof r.index === 'number' ? r.index : i,
      location: str(r.location) ?? '',
      ...(sector ? { sector } : {}),
      state,
      ...(str(r.job_state) ? { jobState: str(r.job_state) } : {}),
      ...(str(r.job_stage) ? { stage: str(r.job_stage) } : {}),
      ...(typeof ts === 'object' && ts && elapsedSeconds(ts.elapsed) !== undefined
        ? { elapsedSec: elapsedSeconds(ts.elapsed) }
        : {}),
      ...(str(r.last_error) ? { lastError: str(r.last_error) } : {}),
    };
  });
}

interface SectorStateRow {
  ID?: { Miner: number; Number: number };
  LatestState?: { StateChange?: { Next?: string } } | null;
  Finalized?: boolean;
  AbortReason?: string;
}

/** GET a metrics page (3 s at most); a non-2xx status is an error. */
async function fetchText(url: string): Promise<string> {
  const ac = new AbortController();
  const t = setTimeout(() => ac.abort(), 3000);
  try {
    const res = await fetch(url, { signal: ac.signal });
    if (!res.ok) {
      await res.arrayBuffer().catch(() => undefined);
      throw new Error(`HTTP ${res.status}`);
    }
    return await res.text();
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new Error('no answer within 3 s');
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') throw new Error('not listening');
    throw err;
  } finally {
    clearTimeout(t);
  }
}

/** The duties a manager holds now: venus_sector_manager_duty_held{duty} at 1, in a fixed order. */
export function dutiesHeld(metricsText: string): string[] {
  const order = ['post', 'commit', 'chain'];
  return parseExposition(metricsText)
    .filter((x) => x.name === 'venus_sector_manager_duty_held' && x.value === 1 && x.labels.duty)
    .map((x) => x.labels.duty!)
    .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
}

export class Prober {
  /** Sector number → deadline (a sector never moves between deadlines). */
  private readonly sectorDeadline = new Map<number, number>();
  private lastPoSt: ChainPoSt | undefined;

  constructor(readonly t: ProbeTargets) {}

  async poll(): Promise<Snapshot> {
    const snap: Snapshot = { at: Date.now(), errors: {} };
    await Promise.all([
      this.pollChain(snap).catch((err) => {
        snap.errors.chain = message(err);
      }),
      this.pollManager(snap).catch((err) => {
        snap.errors.manager = message(err);
      }),
      this.pollWorker(snap).catch((err) => {
        snap.errors.worker = message(err);
      }),
    ]);
    return snap;
  }

  private chain<T>(method: string, params: unknown[]): Promise<T> {
    return rpcCall<T>(this.t.chain.url, `Filecoin.${method}`, params, this.t.chain.token);
  }

  private async pollChain(snap: Snapshot): Promise<void> {
    const head = await this.chain<{ Height: number }>('ChainHead', []);
    const view: ChainView = { height: head.Height };
    snap.chain = view;
    const miner = this.t.miner;
    if (!miner) return;
    const info = await this.chain<{
      CurrentEpoch: number;
      Index: number;
      Open: number;
      Close: number;
      WPoStPeriodDeadlines: number;
      WPoStChallengeWindow: number;
      WPoStProvingPeriod: number;
      PeriodStart: number;
    }>('StateMinerProvingDeadline', [miner, []]);
    const dl: DeadlineView = {
      index: info.Index,
      deadlines: info.WPoStPeriodDeadlines,
      open: info.Open,
      close: info.Close,
      current: info.CurrentEpoch,
      challengeWindow: info.WPoStChallengeWindow,
      provingPeriod: info.WPoStProvingPeriod,
    };
    view.deadline = dl;
    const sectors = (await this.chain<{ SectorNumber: number }[] | null>('StateMinerSectors', [miner, null, []])) ?? [];
    view.onChain = sectors.length;
    for (const s of sectors) {
      if (this.sectorDeadline.has(s.SectorNumber)) continue;
      const loc = await this.chain<{ Deadline: number } | null>('StateSectorPartition', [miner, s.SectorNumber, []]);
      if (loc) this.sectorDeadline.set(s.SectorNumber, loc.Deadline);
    }
    const dls = [...new Set(this.sectorDeadline.values())].sort((a, b) => a - b);
    view.sectorDeadlines = dls;
    if (!dls.length) return;
    let active = 0;
    let faulty = 0;
    let live = 0;
    for (const d of dls) {
      const parts =
        (await this.chain<{ LiveSectors: number[]; ActiveSectors: number[]; FaultySectors: number[] }[] | null>(
          'StateMinerPartitions',
          [miner, d, []],
        )) ?? [];
      for (const p of parts) {
        active += bitCount(p.ActiveSectors);
        faulty += bitCount(p.FaultySectors);
        live += bitCount(p.LiveSectors);
      }
    }
    view.active = active;
    view.faulty = faulty;
    view.unproven = Math.max(0, live - active - faulty);
    view.next = nextPoSt(dl, dls);
    const deadlines = (await this.chain<{ PostSubmissions: number[] }[]>('StateMinerDeadlines', [miner, []])) ?? [];
    const periodStart = dl.open - dl.index * dl.challengeWindow;
    for (const d of dls) {
      const posted = bitCount(deadlines[d]?.PostSubmissions);
      if (!posted) continue;
      // a deadline later than the current one was posted in the previous period
      const ps = d <= dl.index ? periodStart : periodStart - dl.provingPeriod;
      const prev = this.lastPoSt;
      const isNew = !prev || prev.periodStart + prev.deadline * dl.challengeWindow < ps + d * dl.challengeWindow;
      if (isNew) this.lastPoSt = { deadline: d, periodStart: ps, seenAt: head.Height, partitions: posted };
    }
    if (this.lastPoSt) view.lastPoSt = this.lastPoSt;
  }

  private async pollManager(snap: Snapshot): Promise<void> {
    const all = this.t.managers?.length ? this.t.managers : [{ name: 'manager', ...this.t.manager }];
    if (all.length > 1) {
      snap.managers = await Promise.all(
        all.map(async (m) => {
          try {
            return { name: m.name, duties: m.metrics ? dutiesHeld(await fetchText(m.metrics)) : [] };
          } catch (err) {
            return { name: m.name, duties: [], error: message(err) };
          }
        }),
      );
    }
    // sectors and the last PoSt from the first manager that answers (they share one database)
    let last: unknown;
    for (const m of all) {
      if (snap.managers?.find((x) => x.name === m.name)?.error) continue;
      try {
        await this.pollOneManager(snap, m);
        return;
      } catch (err) {
        last = err;
      }
    }
    throw last ?? new Error('no manager answers');
  }

  private async pollOneManager(snap: Snapshot, m: ManagerTarget): Promise<void> {
    const url = m.url;
    const tok = m.token;
    const online = (await rpcCall<SectorStateRow[] | null>(url, 'Venus.ListSectors', ['online', 0], tok)) ?? [];
    const counts: Record<string, number> = {};
    for (const s of online) {
      const st = s.LatestState?.StateChange?.Next || 'Allocated';
      counts[st] = (counts[st] ?? 0) + 1;
    }
    const offline = await rpcCall<SectorStateRow[] | null>(url, 'Venus.ListSectors', ['offline', 0], tok).catch(
      () => null,
    );
    for (const s of offline ?? []) {
      const st = s.AbortReason ? 'Aborted' : 'Finalized';
      counts[st] = (counts[st] ?? 0) + 1;
    }
    snap.sectors = counts;
    if (m.metrics) {
      const post = await this.managerPoSt(m.metrics).catch(() => undefined);
      if (post) snap.managerPoSt = post;
    }
  }

  /** The manager's most recent Window PoSt from its venus_wdpost_* series. */
  private async managerPoSt(url: string): Promise<ManagerPoSt | undefined> {
    const text = await fetchText(url);
    const samples = parseExposition(text);
    const key = (l: Record<string, string>) => `${l.miner}/${l.deadline}`;
    let best: ManagerPoSt | undefined;
    for (const s of samples) {
      if (s.name !== 'venus_wdpost_last_epoch') continue;
      if (best && s.value <= best.epoch) continue;
      const k = key(s.labels);
      const pick = (name: string) => samples.find((x) => x.name === name && key(x.labels) === k)?.value;
      const ok = pick('venus_wdpost_last_ok');
      best = {
        miner: s.labels.miner ?? '',
        deadline: Number(s.labels.deadline),
        epoch: s.value,
        ok: ok === undefined ? true : ok === 1,
        ...(pick('venus_wdpost_proven_sectors') !== undefined ? { proven: pick('venus_wdpost_proven_sectors') } : {}),
        ...(pick('venus_wdpost_faulty_sectors') !== undefined ? { faulty: pick('venus_wdpost_faulty_sectors') } : {}),
      };
    }
    return best;
  }

  private async pollWorker(snap: Snapshot): Promise<void> {
    const rows =
      (await rpcCall<unknown[] | null>(this.t.worker.url, 'VenusWorker.WorkerList', [], this.t.worker.token)) ?? [];
    snap.threads = threadsFrom(rows);
  }
}
