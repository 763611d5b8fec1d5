/**
 * One manager of the lease race (race.test.ts): opens the shared PostgreSQL database and, for RUN_MS, renews or
 * takes duties every TTL/6 and, while it holds one, records acts under its fencing token (each in a transaction
 * fenced by the lease). Now and then it freezes past the TTL (no renewals), so the duties move between managers.
 *   node --import tsx race-child.test-util.ts DSN NAME TTL_MS RUN_MS
 */
import { Registry } from 'prom-client';
import { openManagerDb } from '../sql/index.js';
import { DUTIES, Duties } from './duties.js';

const [dsn, name, ttl, runMs] = process.argv.slice(2);
const ttlMs = Number(ttl);
const db = openManagerDb('', { Driver: 'postgres', Postgres: { DSN: dsn!, PoolSize: 2, StatementTimeout: '60s' } });
const duties = new Duties({ db, name: name!, ttlMs, timers: false, registry: new Registry() });
const act = db.prepare('INSERT INTO ha_acts (duty, holder, token) VALUES (?, ?, ?)');
const freeze = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
let refused = 0;
let acts = 0;
await duties.start();
const end = Date.now() + Number(runMs);
while (Date.now() < end) {
  await duties.tick();
  for (const d of DUTIES) {
    if (!duties.holds(d)) continue;
    const token = duties.token(d);
    try {
      db.tx(() => {
        duties.fence(d);
        act.run(d, name, token);
      });
      acts++;
    } catch {
      refused++;
    }
  }
  if (Math.random() < 0.08) freeze(ttlMs + Math.floor(Math.random() * ttlMs));
  await new Promise((r) => setTimeout(r, Math.floor(ttlMs / 6)));
}
await duties.stop();
process.stdout.write(`${JSON.stringify({ name, acts, refused })}\n`);
db.close();
