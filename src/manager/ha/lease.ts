/**
 * Leases in the manager database (docs/manager-ha.md): one row per duty in `manager_leases`, saying which manager
 * holds it, its fencing token (one more on every takeover) and until when, in the DATABASE's clock (`db.now()`),
 * so managers on hosts whose clocks disagree still agree on who holds what.
 *
 * Every change is one conditional statement in a transaction (`db.tx`): two managers racing for a free lease on
 * PostgreSQL SERIALIZABLE get one winner (the loser's transaction is retried and then finds the row taken), on
 * SQLite the write lock serialises them. Portable SQL only: no advisory locks, no LISTEN/NOTIFY.
 */

import { applySchema, ddl } from '../sql/schema.js';
import type { Db, SchemaStep } from '../sql/types.js';

/** The duties that run on exactly one manager at a time. */
export const DUTIES = ['post', 'commit', 'chain'] as const;
export type Duty = (typeof DUTIES)[number];

/** What the lease needs of the manager database. */
export type LeaseDb = Pick<Db, 'dialect' | 'prepare' | 'exec' | 'tx' | 'now'>;

/** The "ha" component's schema steps (applySchema: each applied once, in order). */
export const HA_SCHEMA: SchemaStep[] = [
  ddl(`CREATE TABLE IF NOT EXISTS manager_leases (
  duty TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  token INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  acquired_at INTEGER NOT NULL DEFAULT 0
)`),
];

/** Creates or upgrades the lease table (schema component "ha"). */
export function applyHaSchema(db: Db): void {
  applySchema(db, 'ha', HA_SCHEMA);
}

/** One lease as stored. Times are ms since epoch in the database's clock. */
export interface LeaseRow {
  duty: Duty;
  holder: string;
  token: number;
  expiresAt: number;
  /** when the holder took it */
  since: number;
}

/** A lease won or kept: its token, its expiry and the database's clock when the statement ran. */
export interface Granted {
  token: number;
  expiresAt: number;
  dbNow: number;
}

/** The lease is not (or no longer) this manager's: whatever it was about to write is refused. */
export class LeaseLost extends Error {
  constructor(
    readonly duty: Duty,
    readonly holder: string,
    why: string,
  ) {
    super(`duty ${duty}: ${holder} does not hold the lease (${why})`);
    this.name = 'LeaseLost';
  }
}

interface StoredLease {
  duty: Duty;
  holder: string;
  token: number | string;
  expires_at: number | string;
  acquired_at: number | string;
}

function row(r: StoredLease): LeaseRow {
  return {
    duty: r.duty,
    holder: r.holder,
    token: Number(r.token),
    expiresAt: Number(r.expires_at),
    since: Number(r.acquired_at),
  };
}

/** The lease statements; each method is one transaction (fence: a check inside the caller's). */
export class LeaseTable {
  private readonly st;

  constructor(private readonly db: LeaseDb) {
    this.st = {
      // free (never taken, released, expired) — or ours under the token we know (a renewal that came too late
      // locally: nobody else can have taken it meanwhile, so it is taken again under the next token)
      acquire: db.prepare(
        `INSERT INTO manager_leases (duty, holder, token, expires_at, acquired_at)
         VALUES (@duty, @holder, 1, @expires, @now)
         ON CONFLICT (duty) DO UPDATE SET holder = excluded.holder, token = manager_leases.token + 1,
           expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
         WHERE manager_leases.expires_at <= @now
            OR (manager_leases.holder = excluded.holder AND manager_leases.token = @known)
            OR (manager_leases.holder = @dead AND manager_leases.token = @deadToken)
         RETURNING token, expires_at`,
      ),
      renew: db.prepare(
        `UPDATE manager_leases SET expires_at = @expires
         WHERE duty = @duty AND holder = @holder AND token = @token AND expires_at > @now`,
      ),
      release: db.prepare(
        `UPDATE manager_leases SET expires_at = @now
         WHERE duty = @duty AND holder = @holder AND token = @token AND expires_at > @now`,
      ),
      get: db.prepare('SELECT duty, holder, token, expires_at, acquired_at FROM manager_leases WHERE duty = ?'),
      list: db.prepare('SELECT duty, holder, token, expires_at, acquired_at FROM manager_leases ORDER BY duty'),
    };
  }

  /**
   * Takes the lease if it is free or expired (or ours under `known`, or `dead`'s under exactly that token: a
   * holder known to be gone); undefined when someone else holds it.
   */
  acquire(
    duty: Duty,
    holder: string,
    ttlMs: number,
    known = 0,
    dead?: { holder: string; token: number },
  ): Granted | undefined {
    return this.db.tx(() => {
      const now = this.db.now();
      const r = this.st.acquire.get({
        duty,
        holder,
        expires: now + ttlMs,
        now,
        known,
        dead: dead?.holder ?? '',
        deadToken: dead?.token ?? -1,
      });
      if (!r) return undefined;
      return { token: Number(r.token), expiresAt: Number(r.expires_at), dbNow: now };
    });
  }

  /** Extends our lease; undefined when it is no longer ours (taken over after it expired). */
  renew(duty: Duty, holder: string, token: number, ttlMs: number): Granted | undefined {
    return this.db.tx(() => {
      const now = this.db.now();
      const { changes } = this.st.renew.run({ duty, holder, token, expires: now + ttlMs, now });
      return changes === 1 ? { token, expiresAt: now + ttlMs, dbNow: now } : undefined;
    });
  }

  /** Gives the lease up at once (graceful stop), so a standby need not wait for it to expire. */
  release(duty: Duty, holder: string, token: number): boolean {
    return this.db.tx(() => {
      const now = this.db.now();
      return this.st.release.run({ duty, holder, token, now }).changes === 1;
    });
  }

  /**
   * Inside the caller's transaction, before it writes what only the holder may write: throws LeaseLost unless
   * the lease is still ours under `token` and unexpired. The write then commits only if the lease did not move.
   */
  fence(duty: Duty, holder: string, token: number): void {
    const r = this.st.get.get(duty);
    if (!r) throw new LeaseLost(duty, holder, 'no lease recorded');
    const l = row(r);
    if (l.holder !== holder || l.token !== token)
      throw new LeaseLost(duty, holder, `held by ${l.holder} under token ${l.token}`);
    if (l.expiresAt <= this.db.now()) throw new LeaseLost(duty, holder, 'expired');
  }

  get(duty: Duty): LeaseRow | undefined {
    const r = this.st.get.get(duty);
    return r ? row(r) : undefined;
  }

  list(): LeaseRow[] {
    return this.st.list.all().map(row);
  }
}
