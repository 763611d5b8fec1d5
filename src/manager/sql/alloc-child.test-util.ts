/**
 * One "manager" of the two-manager tests (postgres.test.ts): opens the shared database and allocates sector
 * numbers (the sealer's transaction: next candidate, record it, store the sector) or records messages by id
 * (check, then insert), printing what it got, one per line.
 *   node --import tsx alloc-child.test-util.ts DSN numbers|messages COUNT
 */
import { ManagerStore, newSectorState } from '../db.js';
import { openManagerDb } from './index.js';

const [dsn, mode, count] = process.argv.slice(2);
const db = new ManagerStore(
  openManagerDb('', { Driver: 'postgres', Postgres: { DSN: dsn!, PoolSize: 2, StatementTimeout: '60s' } }),
);
const out: string[] = [];
for (let i = 0; i < Number(count); i++) {
  if (mode === 'numbers') {
    const n = db.tx(() => {
      const next = db.nextNumberCandidate(1000, 0, undefined);
      db.setLastNumber(1000, next);
      db.putSector(newSectorState({ Miner: 1000, Number: next }, 5), true);
      return next;
    });
    out.push(String(n));
  } else {
    const id = `m${i}`;
    const inserted = db.tx(() => {
      if (db.getMessage(id)) return false;
      db.putMessage({ id, miner: 1000, kind: 'pre', sectors: [i], message: {}, spec: {} });
      return true;
    });
    if (inserted) out.push(id);
  }
}
process.stdout.write(`${out.join('\n')}\n`);
db.close();
