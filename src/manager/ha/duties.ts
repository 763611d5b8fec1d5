/**
 * The singleton duties of a sector-manager (docs/manager-ha.md): `post` (Window PoSt), `commit` (the PreCommit /
 * ProveCommit batchers and every message push) and `chain` (market events, deal releases, snapup submissions,
 * unseal re-offers, pruning). Managers sharing one database each run a Duties; a duty runs on the one holding
 * its lease (lease.ts), the others stand by and take it over once it expires.
 *
 * Every TTL/3 the holder renews and a standby tries to take each free duty. The holder's own view of its lease
 * ends earlier than the database's: at (local time before the renewal was sent) + TTL − TTL/10. So when a renewal
 * fails, the database does not answer, or the process was frozen, the duty is stopped here before anyone else
 * can take it there: a manager that cannot prove it still holds a duty does not act on it (`holds()`).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Gauge, type Registry } from 'prom-client';
import { logger } from '../../common/log.js';
import { metrics } from '../../common/metrics.js';
import { DatabaseUnavailable } from '../sql/postgres.js';
import { Heartbeat, type ManagerNameInUse, type Whereabouts } from './heartbeat.js';
import { DUTIES, type Duty, type Granted, type LeaseDb, LeaseLost, type LeaseRow, LeaseTable } from './lease.js';

export { ManagerNameInUse, processIsGone, type Whereabouts } from './heartbeat.js';
export {
  applyHaSchema,
  DUTIES,
  type Duty,
  HA_SCHEMA,
  type LeaseDb,
  LeaseLost,
  type LeaseRow,
  LeaseTable,
} from './lease.js';

const log = logger('ha');

export const DEFAULT_LEASE_TTL_MS = 30_000;

/** This manager's name in the lease table when [Common.HA] Name is not set. */
export function defaultManagerName(): string {
  return `${hostname()}-${process.pid}`;
}

/** The database itself stopped answering (down, unreachable, slower than StatementTimeout): not one statement. */
export function isDatabaseUnavailable(err: unknown): boolean {
  return err instanceof DatabaseUnavailable || (err instanceof Error && err.name === 'DatabaseUnavailable');
}

/**
 * A holder named by default (hostname-pid) on this host whose process is gone (kill -9, a crash): its leases
 * need not be waited out. Other names (set in [Common.HA] Name, another host) are never judged from here.
 */
export function holderIsGone(holder: string): boolean {
  const prefix = `${hostname()}-`;
  if (!holder.startsWith(prefix)) return false;
  const rest = holder.slice(prefix.length);
  if (!/^\d{1,10}$/.test(rest)) return false;
  const pid = Number(rest);
  if (pid === process.pid || pid <= 1) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export interface DutyCallbacks {
  /** the duty is ours from now on: start it (resume from the database) */
  acquire?: () => void | Promise<void>;
  /** the duty is no longer ours (lost, expired, or stopping): stop it now */
  release?: () => void | Promise<void>;
}

export interface DutiesOptions {
  db: LeaseDb;
  /** this manager's name ([Common.HA] Name) */
  name: string;
  /** [Common.HA] LeaseTTL in ms */
  ttlMs?: number;
  /** the duties this manager may take (default all) */
  duties?: readonly Duty[];
  /** the local monotonic clock in ms (tests: a fake one) */
  clock?: () => number;
  /** whether a holder is known to be gone, so its leases are taken at once (default holderIsGone) */
  isGone?: (holder: string) => boolean;
  /** false: no timers, the caller calls tick() (tests) */
  timers?: boolean;
  /** where venus_sector_manager_duty_held goes (default: the process's registry) */
  registry?: Registry;
  /** where this manager runs, for its heartbeat row (default: this host and pid; listen given to start()) */
  where?: Partial<Whereabouts>;
  /** whether the process a heartbeat row names is gone (default: heartbeat.ts processIsGone) */
  processGone?: (host: string, pid: number) => boolean;
}

/** One duty as the dashboard shows it. */
export interface DutyView {
  duty: Duty;
  /** '' when nobody ever held it */
  holder: string;
  token: number;
  /** ms since epoch, database clock; in the past: free */
  expiresAt: number;
  /** ms since epoch, database clock: when the holder took it */
  since: number;
  /** this manager holds it */
  mine: boolean;
}

interface Held {
  token: number;
  /** local clock: until when this manager may act */
  validUntil: number;
}

const gauges = new WeakMap<Registry, Gauge<'duty'>>();

function heldGauge(registry: Registry): Gauge<'duty'> {
  let g = gauges.get(registry);
  if (!g) {
    g = new Gauge({
      name: 'venus_sector_manager_duty_held',
      help: 'Singleton duties this manager holds the lease of (1) or stands by for (0): post, commit, chain',
      labelNames: ['duty'],
      registers: [registry],
    });
    gauges.set(registry, g);
  }
  return g;
}

export class Duties {
  readonly name: string;
  readonly ttlMs: number;
  private readonly table: LeaseTable;
  private readonly clock: () => number;
  private readonly duties: readonly Duty[];
  private readonly held = new Map<Duty, Held>();
  /** the last token each duty had here, so a late renewal can take our own lease again */
  private readonly known = new Map<Duty, number>();
  private readonly callbacks = new Map<Duty, DutyCallbacks[]>();
  /** callbacks run one after another per duty (an acquire still starting when the duty is lost) */
  private readonly chains = new Map<Duty, Promise<void>>();
  private readonly gauge: Gauge<'duty'>;
  private timer: NodeJS.Timeout | undefined;
  private expiry = new Map<Duty, NodeJS.Timeout>();
  private running = false;
  private ticking: Promise<void> | undefined;
  private readonly failed = new Set<Duty>();
  /** this process's row in manager_heartbeats: one running manager per Name */
  private readonly heartbeat: Heartbeat;
  /** why this manager stands by whatever the leases say (another process beats under our Name); logged once */
  private nameConflict: string | undefined;
  /** the database stopped answering: logged once until it answers again */
  private dbDown = false;

  constructor(private readonly o: DutiesOptions) {
    if (!o.name) throw new Error('[Common.HA] Name must not be empty');
    this.name = o.name;
    this.ttlMs = o.ttlMs ?? DEFAULT_LEASE_TTL_MS;
    if (!Number.isFinite(this.ttlMs) || this.ttlMs < 300) throw new Error(`lease TTL ${this.ttlMs} ms is too short`);
    this.table = new LeaseTable(o.db);
    this.clock = o.clock ?? (() => performance.now());
    this.duties = o.duties ?? DUTIES;
    this.gauge = heldGauge(o.registry ?? metrics().registry);
    for (const d of DUTIES) this.gauge.set({ duty: d }, 0);
    this.heartbeat = new Heartbeat({
      db: o.db,
      name: this.name,
      instance: randomBytes(8).toString('hex'),
      // a row not beaten for a whole TTL: its process could not hold a lease either
      staleMs: this.ttlMs,
      where: { host: o.where?.host ?? hostname(), pid: o.where?.pid ?? process.pid, listen: o.where?.listen ?? '' },
      ...(o.processGone ? { isGone: o.processGone } : {}),
    });
  }

  /** Registers what to do when a duty is won or lost (before start()). */
  on(duty: Duty, cb: DutyCallbacks): void {
    const l = this.callbacks.get(duty) ?? [];
    l.push(cb);
    this.callbacks.set(duty, l);
  }

  /**
   * Claims this manager's Name (ManagerNameInUse when another running manager has it), takes what is free now,
   * then renews / tries again every TTL/3. `listen`: the API address, recorded with the Name.
   */
  async start(where: { listen?: string } = {}): Promise<void> {
    if (where.listen !== undefined) this.heartbeat.where.listen = where.listen;
    let conflict: ManagerNameInUse | undefined;
    try {
      conflict = this.heartbeat.beat();
    } catch (err) {
      // the rounds say so and retry; a database that does not answer now holds nothing of ours
      if (!isDatabaseUnavailable(err)) throw err;
    }
    if (conflict) throw conflict;
    this.running = true;
    await this.tick();
    // what the first round won is started before start() returns (the daemon listens after it)
    await Promise.all(this.chains.values());
    if (this.o.timers === false) return;
    const every = Math.max(100, Math.floor(this.ttlMs / 3));
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.tick().finally(() => {
          if (this.running) loop();
        });
      }, every);
      this.timer.unref();
    };
    loop();
  }

  /** Stops every duty held here, then hands the leases back so a standby takes over at once. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    for (const duty of [...this.held.keys()]) {
      const h = this.held.get(duty)!;
      await this.lose(duty, 'stopping');
      try {
        this.table.release(duty, this.name, h.token);
      } catch (err) {
        log.warn({ duty, err: (err as Error).message }, 'could not hand the lease back; it expires by itself');
      }
    }
    try {
      this.heartbeat.release();
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'could not hand the Name back; its heartbeat goes stale by itself');
    }
    await Promise.all(this.chains.values());
  }

  /**
   * The database stopped answering (a DatabaseUnavailable anywhere in this manager): every duty stops here at
   * once, since this manager can no longer prove it holds one; the rounds take them again once it answers.
   */
  databaseLost(err: unknown): Promise<void> {
    const why = `the database does not answer: ${(err as Error)?.message ?? String(err)}`;
    const held = [...this.held.keys()];
    if (!this.dbDown) {
      this.dbDown = true;
      log.error(
        {
          holder: this.name,
          stopped: held,
          err: (err as Error)?.message ?? String(err),
          fix: 'check [Common.DB] in sector-manager.cfg and that the database runs',
        },
        'database unavailable: every duty stops on this manager now; it takes them again once the database answers',
      );
    }
    return Promise.all(held.map((d) => this.lose(d, why, 'error'))).then(() => {});
  }

  /** True while this manager may act on the duty: checked right before every action only the holder may take. */
  holds(duty: Duty): boolean {
    const h = this.held.get(duty);
    if (!h) return false;
    if (this.clock() < h.validUntil) return true;
    void this.lose(duty, 'the lease ran out before it was renewed');
    return false;
  }

  /** The fencing token of a held duty (0 when not held). */
  token(duty: Duty): number {
    return this.holds(duty) ? this.held.get(duty)!.token : 0;
  }

  /**
   * Inside a database transaction that writes what only the holder may write: throws LeaseLost unless this
   * manager still holds the duty, locally and in the database, under the same token.
   */
  fence(duty: Duty): void {
    const h = this.held.get(duty);
    if (!h || !this.holds(duty)) throw new LeaseLost(duty, this.name, 'not held here');
    try {
      this.table.fence(duty, this.name, h.token);
    } catch (err) {
      if (isDatabaseUnavailable(err)) void this.databaseLost(err);
      throw err;
    }
  }

  /** Every duty's lease as stored, and whether it is ours (the dashboard). */
  snapshot(): DutyView[] {
    const rows = new Map<Duty, LeaseRow>();
    try {
      for (const r of this.table.list()) rows.set(r.duty, r);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'cannot read the leases');
    }
    return DUTIES.map((duty) => {
      const r = rows.get(duty);
      return {
        duty,
        holder: r?.holder ?? '',
        token: r?.token ?? 0,
        expiresAt: r?.expiresAt ?? 0,
        since: r?.since ?? 0,
        mine: this.holds(duty),
      };
    });
  }

  /** One round: drop what ran out, renew what is held, try to take what is free. */
  tick(): Promise<void> {
    const p = (this.ticking ?? Promise.resolve()).then(() => this.round());
    this.ticking = p;
    return p;
  }

  private async round(): Promise<void> {
    let conflict: ManagerNameInUse | undefined;
    try {
      conflict = this.heartbeat.beat();
    } catch (err) {
      if (isDatabaseUnavailable(err)) await this.databaseLost(err);
      // else: each duty below meets the same failure and says so
    }
    if (conflict) {
      // another process took our Name while we did not beat (a long pause): it acts, we stand by
      if (this.nameConflict !== conflict.message) {
        this.nameConflict = conflict.message;
        log.error({ holder: this.name }, `standing by: ${conflict.message}`);
      }
      await Promise.all([...this.held.keys()].map((d) => this.lose(d, conflict.message, 'error')));
      return;
    }
    if (this.nameConflict) log.info({ holder: this.name }, 'the Name is this manager’s again');
    this.nameConflict = undefined;
    for (const duty of this.duties) {
      if (!this.running) return;
      this.holds(duty); // a lease that ran out locally goes before anything else
      const h = this.held.get(duty);
      const before = this.clock();
      let g: Granted | undefined;
      try {
        g = h
          ? this.table.renew(duty, this.name, h.token, this.ttlMs)
          : this.table.acquire(duty, this.name, this.ttlMs, this.known.get(duty) ?? 0);
        if (!h && !g) {
          // held elsewhere: by a process of this host that died (a restart after kill -9) it is taken at once
          const other = this.table.get(duty);
          if (other && other.holder !== this.name && (this.o.isGone ?? holderIsGone)(other.holder)) {
            g = this.table.acquire(duty, this.name, this.ttlMs, 0, { holder: other.holder, token: other.token });
            if (g) log.info({ duty, holder: this.name, previous: other.holder }, 'the previous holder is gone');
          }
        }
        if (this.failed.delete(duty)) log.info({ duty, holder: this.name }, 'lease table reachable again');
        if (this.dbDown) {
          this.dbDown = false;
          log.info({ holder: this.name }, 'the database answers again: duties are taken as their leases allow');
        }
      } catch (err) {
        if (isDatabaseUnavailable(err)) {
          // nothing proves the lease is still ours: stop now, not when it would run out here
          this.failed.add(duty);
          await this.databaseLost(err);
          continue;
        }
        // the duty stays ours only until its local expiry (set by the last renewal)
        if (!this.failed.has(duty)) {
          this.failed.add(duty);
          log.error(
            {
              duty,
              holder: this.name,
              held: h !== undefined,
              err: (err as Error).message,
              fix: 'check [Common.DB] in sector-manager.cfg and that the database runs',
            },
            h
              ? 'cannot renew the lease: the duty stops here when it runs out, before another manager can take it'
              : 'cannot read the lease table: standing by',
          );
        }
        continue;
      }
      if (h && !g) {
        await this.lose(duty, 'another manager holds the lease');
        continue;
      }
      if (!g) continue;
      // the database's remaining time, counted from before the statement left: never later than the database
      const validUntil = before + Math.min(this.ttlMs, g.expiresAt - g.dbNow) - Math.floor(this.ttlMs / 10);
      if (validUntil <= this.clock()) {
        // the answer came too late to act on: a later round takes it again under a new token
        if (h) await this.lose(duty, 'the renewal answered after the lease ran out here');
        this.known.set(duty, g.token);
        continue;
      }
      this.known.set(duty, g.token);
      this.armExpiry(duty, validUntil);
      if (h) {
        h.validUntil = validUntil;
        continue;
      }
      this.held.set(duty, { token: g.token, validUntil });
      this.gauge.set({ duty }, 1);
      log.info({ duty, holder: this.name, fencingToken: g.token, ttlMs: this.ttlMs }, 'duty acquired');
      this.run(duty, 'acquire');
    }
  }

  private armExpiry(duty: Duty, validUntil: number): void {
    if (this.o.timers === false) return;
    const old = this.expiry.get(duty);
    if (old) clearTimeout(old);
    const t = setTimeout(() => this.holds(duty), Math.max(0, validUntil - this.clock()) + 1);
    t.unref();
    this.expiry.set(duty, t);
  }

  /** Stops the duty here (callbacks first), whatever the database says. */
  private lose(duty: Duty, why: string, level: 'warn' | 'error' = 'warn'): Promise<void> {
    const h = this.held.get(duty);
    if (!h) return this.chains.get(duty) ?? Promise.resolve();
    this.held.delete(duty);
    const t = this.expiry.get(duty);
    if (t) clearTimeout(t);
    this.expiry.delete(duty);
    this.gauge.set({ duty }, 0);
    const msg = why === 'stopping' ? 'duty released' : 'duty lost: stopped here';
    (why === 'stopping' ? log.info.bind(log) : level === 'error' ? log.error.bind(log) : log.warn.bind(log))(
      { duty, holder: this.name, fencingToken: h.token, why },
      msg,
    );
    return this.run(duty, 'release');
  }

  private run(duty: Duty, which: 'acquire' | 'release'): Promise<void> {
    const cbs = this.callbacks.get(duty) ?? [];
    const p = (this.chains.get(duty) ?? Promise.resolve()).then(async () => {
      // an acquire whose duty was lost before it ran is skipped; its release still runs (stops are idempotent)
      if (which === 'acquire' && !this.held.has(duty)) return;
      for (const cb of cbs) {
        try {
          await cb[which]?.();
        } catch (err) {
          log.error({ duty, holder: this.name, err: (err as Error).message }, `duty ${which} failed`);
        }
      }
    });
    this.chains.set(duty, p);
    return p;
  }
}
