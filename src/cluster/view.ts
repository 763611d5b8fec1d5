/**
 * The live terminal view of `npm start`: chain height, each sealing thread's sector / state / stage / elapsed
 * time and progress, sectors by state, the next Window PoSt deadline and the last PoSt result, the processes and
 * the latest events. On a terminal it redraws in place with plain ANSI sequences; elsewhere (a pipe, CI) it
 * prints one line per change, which reads well in a log.
 */

import { STATES } from '../worker/sealing/states.js';
import type { Snapshot, ThreadView } from './probe.js';
import type { RunningProcess } from './process-spec.js';

export type ViewMode = 'auto' | 'tty' | 'lines' | 'none';

export interface ViewMeta {
  home: string;
  sectorSize: string;
  sectors?: number;
  miner?: string;
}

export interface View {
  update(snap: Snapshot, procs: readonly RunningProcess[]): void;
  event(message: string): void;
  /** The last state, printed plainly (after Ctrl-C or when the run is done). */
  final(snap: Snapshot): void;
  stop(): void;
}

/** The sealer plan's states in order (docs/spec/sealer-api.md §States and events), for a progress figure: the
 * worker's own list, less the states off the main path. */
export const SEALER_STATES: readonly string[] = STATES.filter(
  (s) => s !== 'SyntheticPoRepNeeded' && s !== 'Aborted' && s !== 'Unsealed',
);

/** "7/16" style progress of a sector through the sealer plan, or undefined for an unknown state. */
export function progressOf(jobState: string | undefined): { step: number; of: number } | undefined {
  if (!jobState || jobState === 'Empty') return undefined;
  const i = (SEALER_STATES as readonly string[]).indexOf(jobState);
  if (i < 0) return undefined;
  return { step: i, of: SEALER_STATES.length - 1 };
}

export function formatElapsed(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec)) return '';
  const s = Math.max(0, Math.floor(sec));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${String(r).padStart(2, '0')}`;
}

function bar(p: { step: number; of: number } | undefined, width = 10): string {
  if (!p) return ''.padEnd(width + 6);
  const filled = Math.round((p.step / p.of) * width);
  return `${'█'.repeat(filled)}${'░'.repeat(width - filled)} ${`${p.step}/${p.of}`.padStart(5)}`;
}

function clock(ms: number): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

function basename(p: string): string {
  return p.split('/').filter(Boolean).pop() ?? p;
}

/** Sectors by state in the sealer plan's order, the rest after. */
export function formatStates(counts: Record<string, number> | undefined): string {
  if (!counts) return '';
  const order = [...SEALER_STATES, 'Finalized', 'Aborted'] as readonly string[];
  const keys = Object.keys(counts).sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
  });
  return keys.length ? keys.map((k) => `${k} ${counts[k]}`).join(' · ') : 'none yet';
}

/** The lines describing one snapshot (shared by both modes). */
export function renderLines(meta: ViewMeta, snap: Snapshot, elapsedOf: (t: ThreadView) => number | undefined) {
  const lines: string[] = [];
  const c = snap.chain;
  if (c) {
    let l = `chain     height ${c.height}`;
    if (c.deadline) {
      const d = c.deadline;
      l += `   deadline ${d.index}/${d.deadlines} (epochs ${d.open}–${d.close})`;
    }
    lines.push(l);
    if (c.onChain !== undefined) {
      lines.push(
        `on chain  ${c.onChain} sector(s): active ${c.active ?? 0}, unproven ${c.unproven ?? 0}, faulty ${c.faulty ?? 0}` +
          (c.sectorDeadlines?.length ? `   in deadline(s) ${c.sectorDeadlines.join(', ')}` : ''),
      );
    }
    if (c.next) {
      const n = c.next;
      lines.push(
        n.isOpen
          ? `Window PoSt  deadline ${n.deadline} is open now (closes in ${n.epochs} epochs)`
          : `Window PoSt  next: deadline ${n.deadline} opens at epoch ${n.open} (in ${n.epochs} epochs)`,
      );
    } else if (meta.miner) {
      lines.push('Window PoSt  no sectors on chain yet');
    }
  } else {
    lines.push(`chain     ${snap.errors.chain ? `unavailable: ${snap.errors.chain}` : '…'}`);
  }
  const post: string[] = [];
  if (snap.managerPoSt) {
    const p = snap.managerPoSt;
    post.push(
      `manager: deadline ${p.deadline} at epoch ${p.epoch} ${p.ok ? 'ok' : 'FAILED'}` +
        (p.proven !== undefined ? `, ${p.proven} proven` : '') +
        (p.faulty !== undefined ? `, ${p.faulty} faulty` : ''),
    );
  }
  if (c?.lastPoSt) {
    const p = c.lastPoSt;
    post.push(`chain: deadline ${p.deadline} submitted (${p.partitions} partition(s)), seen at ${p.seenAt}`);
  }
  lines.push(`last PoSt ${post.length ? post.join('   ') : 'none yet'}`);
  if (snap.managers?.length) {
    // who holds which duty under the leases (post: Window PoSt; commit: messages; chain: market and snap)
    lines.push(
      `managers  ${snap.managers
        .map((m) => `${m.name}: ${m.error ? `down (${m.error})` : m.duties.length ? m.duties.join(', ') : 'standby'}`)
        .join(' · ')}`,
    );
  }
  lines.push(
    `sectors   ${snap.sectors ? formatStates(snap.sectors) : snap.errors.manager ? `manager unavailable: ${snap.errors.manager}` : '…'}`,
  );
  if (snap.threads?.length) {
    lines.push(
      'threads',
      `  ${'#'.padStart(2)} ${'store'.padEnd(8)} ${'sector'.padEnd(14)} ${'thread'.padEnd(8)} ${'stage'.padEnd(18)} ` +
        `${'progress'.padEnd(16)} ${'elapsed'.padStart(7)}`,
    );
    for (const t of snap.threads) {
      const p = progressOf(t.jobState);
      lines.push(
        `  ${String(t.index).padStart(2)} ${basename(t.location).padEnd(8)} ${(t.sector ?? '-').padEnd(14)} ` +
          `${t.state.padEnd(8)} ${(t.stage ?? '').padEnd(18)} ${bar(p)} ${formatElapsed(elapsedOf(t)).padStart(7)}` +
          (t.lastError ? `  ! ${t.lastError}` : ''),
      );
    }
  } else {
    lines.push('threads');
    lines.push(
      `  ${snap.errors.worker ? `worker unavailable: ${snap.errors.worker}` : snap.threads ? 'no threads' : '…'}`,
    );
  }
  return lines;
}

/** Elapsed per thread: the worker's figure, else time since the runner first saw the thread in this step. */
class ElapsedTracker {
  private readonly since = new Map<number, { key: string; at: number }>();
  observe(snap: Snapshot): void {
    for (const t of snap.threads ?? []) {
      const key = `${t.sector}|${t.stage}|${t.state}`;
      const prev = this.since.get(t.index);
      if (!prev || prev.key !== key) this.since.set(t.index, { key, at: snap.at });
    }
  }
  elapsed(t: ThreadView, now: number): number | undefined {
    if (t.elapsedSec !== undefined) return t.elapsedSec;
    if (t.state === 'Idle') return undefined;
    const s = this.since.get(t.index);
    return s ? (now - s.at) / 1000 : undefined;
  }
}

const ESC = '\x1b[';

class TtyView implements View {
  private readonly events: string[] = [];
  private readonly tracker = new ElapsedTracker();
  private last: { snap: Snapshot; procs: readonly RunningProcess[] } | undefined;
  private readonly started = Date.now();
  private stopped = false;
  private readonly onResize = () => this.draw();

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly meta: ViewMeta,
  ) {
    out.write(`${ESC}?25l`); // hide the cursor while redrawing
    out.on('resize', this.onResize);
  }

  update(snap: Snapshot, procs: readonly RunningProcess[]): void {
    this.tracker.observe(snap);
    this.last = { snap, procs };
    this.draw();
  }

  event(message: string): void {
    this.events.push(`${clock(Date.now())} ${message}`);
    if (this.events.length > 50) this.events.shift();
    this.draw();
  }

  private draw(): void {
    if (this.stopped) return;
    const width = this.out.columns || 120;
    const height = this.out.rows || 40;
    const m = this.meta;
    const up = formatElapsed((Date.now() - this.started) / 1000);
    const lines = [
      `${ESC}1mvenus-cluster${ESC}0m  ${m.sectorSize} sectors${m.sectors !== undefined ? ` (cap ${m.sectors})` : ''}` +
        `${m.miner ? `  miner ${m.miner}` : ''}  home ${m.home}   up ${up}   Ctrl-C stops`,
      '',
    ];
    if (this.last) {
      const now = Date.now();
      lines.push(...renderLines(m, this.last.snap, (t) => this.tracker.elapsed(t, now)));
      lines.push(
        `processes ${this.last.procs.map((p) => `${p.spec.name} ● pid ${p.pid}`).join('   ')}`,
        `logs      ${m.home}/logs/<program>.log`,
      );
    }
    lines.push('', 'events');
    const room = Math.max(3, height - lines.length - 1);
    lines.push(...this.events.slice(-room).map((e) => `  ${e}`));
    const text = lines
      .slice(0, height - 1)
      .map((l) => `${truncate(l, width)}${ESC}K`)
      .join('\n');
    this.out.write(`${ESC}H${text}\n${ESC}J`);
  }

  final(snap: Snapshot): void {
    this.update(snap, this.last?.procs ?? []);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.out.off('resize', this.onResize);
    this.out.write(`${ESC}?25h\n`);
  }
}

/** Cut to the terminal width, counting characters, not the ANSI sequences. */
function truncate(line: string, width: number): string {
  const plain = line.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  if (plain.length <= width) return line;
  return `${plain.slice(0, Math.max(0, width - 1))}…`;
}

function stripCounts(l: string | undefined): string | undefined {
  return l?.replace(/\((?:in|closes in) \d+ epochs\)/g, '');
}

/** One line per change: for logs, pipes and CI. */
class LineView implements View {
  private readonly tracker = new ElapsedTracker();
  private prev = new Map<string, string>();
  private lastBeat = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly meta: ViewMeta,
  ) {}

  private print(line: string): void {
    this.out.write(`${clock(Date.now())} ${line}\n`);
  }

  update(snap: Snapshot): void {
    this.tracker.observe(snap);
    const lines = renderLines(this.meta, snap, () => undefined);
    const now = Date.now();
    // what changed, keyed by the line's first word (threads by index)
    const next = new Map<string, string>();
    for (const l of lines) {
      if (l === 'threads' || /^\s+# /.test(l)) continue;
      const threadMatch = /^\s+(\d+) /.exec(l);
      const key = threadMatch ? `thread ${threadMatch[1]}` : (l.split(/\s+/)[0] ?? l);
      // the height changes every epoch: report it with the heartbeat only
      next.set(key, key === 'chain' ? l.replace(/height \d+\s+/, '') : l.replace(/\s+$/, ''));
    }
    for (const [k, v] of next) {
      // countdowns move every epoch: a line is news when something other than a count changed
      if (stripCounts(this.prev.get(k)) !== stripCounts(v))
        this.print(k.startsWith('thread') ? `thread ${v.trim()}` : v);
    }
    if (now - this.lastBeat >= 30_000) {
      this.lastBeat = now;
      const c = snap.chain;
      if (c) this.print(`height ${c.height}${c.onChain !== undefined ? `, ${c.onChain} sector(s) on chain` : ''}`);
    }
    this.prev = next;
  }

  event(message: string): void {
    this.print(message);
  }

  final(snap: Snapshot): void {
    for (const l of renderLines(this.meta, snap, () => undefined)) this.out.write(`${l}\n`);
  }

  stop(): void {}
}

class NoView implements View {
  update(): void {}
  event(): void {}
  final(): void {}
  stop(): void {}
}

/** 'auto': the redrawing view on a terminal, lines otherwise. */
export function createView(mode: ViewMode, out: NodeJS.WriteStream, meta: ViewMeta): View {
  const m = mode === 'auto' ? (out.isTTY ? 'tty' : 'lines') : mode;
  if (m === 'tty') return new TtyView(out, meta);
  if (m === 'lines') return new LineView(out, meta);
  return new NoView();
}
