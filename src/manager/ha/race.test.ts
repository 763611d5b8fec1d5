// Three manager processes on one PostgreSQL database (SERIALIZABLE) racing for the duties for a few seconds, each
// freezing past the TTL now and then: every act recorded under a duty, in commit order, comes from one holder per
// fencing token and the tokens never go back, so no two managers acted on a duty at once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pgAvailable } from '../../common/pg-local.js';
import { ddl, openManagerDb } from '../sql/index.js';
import { freshPostgresConfig, testPostgres } from '../sql/pg.test-util.js';
import { applyHaSchema } from './lease.js';

const run = promisify(execFile);
const noPg = pgAvailable() ? false : 'PostgreSQL (initdb, pg_ctl) is not installed';

test('three managers racing on PostgreSQL: one holder per duty at a time, fencing tokens only go up', {
  skip: noPg,
}, async () => {
  await testPostgres();
  const cfg = freshPostgresConfig();
  const db = openManagerDb('', cfg);
  applyHaSchema(db);
  db.exec(
    ddl(
      'CREATE TABLE ha_acts (seq INTEGER PRIMARY KEY AUTOINCREMENT, duty TEXT NOT NULL, holder TEXT NOT NULL, token INTEGER NOT NULL)',
    ).postgres,
  );
  const child = new URL('./race-child.test-util.ts', import.meta.url).pathname;
  const outs = await Promise.all(
    ['m1', 'm2', 'm3'].map((name) =>
      run(process.execPath, ['--import', 'tsx', child, cfg.Postgres.DSN, name, '600', '6000'], { maxBuffer: 1 << 22 }),
    ),
  );
  const stats = outs.map((o) => JSON.parse(o.stdout.trim().split('\n').at(-1)!) as { name: string; acts: number });
  const rows = db.prepare('SELECT duty, holder, token FROM ha_acts ORDER BY seq').all() as {
    duty: string;
    holder: string;
    token: number;
  }[];
  db.close();
  assert.ok(rows.length > 30, `acts recorded: ${rows.length}`);
  let takeovers = 0;
  for (const duty of ['post', 'commit', 'chain']) {
    const byToken = new Map<number, string>();
    let last = 0;
    for (const r of rows.filter((x) => x.duty === duty)) {
      assert.ok(r.token >= last, `${duty}: token ${r.token} after ${last}`);
      if (r.token > last) takeovers++;
      last = r.token;
      const h = byToken.get(r.token);
      assert.ok(h === undefined || h === r.holder, `${duty} token ${r.token}: ${h} and ${r.holder}`);
      byToken.set(r.token, r.holder);
    }
  }
  assert.ok(takeovers > 3, `the duties moved (${takeovers} tokens), stats ${JSON.stringify(stats)}`);
});
