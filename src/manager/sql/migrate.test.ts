import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { pgAvailable } from '../../common/pg-local.js';
import { ManagerStore, openDb } from '../db.js';
import { addSealedSector, pieceCid } from '../unseal/fixture.test-util.js';
import { UnsealStore } from '../unseal/store.js';
import { openManagerDb } from './index.js';
import { checksums, ensureStoreTables, migrateDb } from './migrate.js';
import { freshPostgresConfig, testPostgres } from './pg.test-util.js';

const run = promisify(execFile);
const noPg = pgAvailable() ? false : 'PostgreSQL not installed (initdb/pg_ctl)';

/** A home whose SQLite database holds sealed sectors with deals, timelines, messages, workers, unseal tasks. */
function sealedHome(): { home: string; store: ManagerStore } {
  const home = mkdtempSync(join(tmpdir(), 'vsm-migrate-'));
  const store = new ManagerStore(openDb(join(home, 'manager.db')));
  for (let n = 1; n <= 4; n++) {
    addSealedSector(store, n, { online: n % 2 === 0 });
    store.recordSectorEvent({ Miner: 1000, Number: n }, { state: 'Allocated' }, 1000 + n);
    store.recordSectorEvent({ Miner: 1000, Number: n }, { state: 'PC1Done', worker: 'w /seal/0' }, 2000 + n);
  }
  store.setLastNumber(1000, 4);
  store.putMessage({ id: 'msg-1', miner: 1000, kind: 'pre', sectors: [1, 2], message: { Nonce: 1 }, spec: {} });
  store.pingWorker({ Name: 'w', Dest: '', Version: 'x', Summary: null } as never, 1_700_000_000);
  store.recordPoSt({ miner: 't01000', deadline: 3, ok: false, epoch: 9, proven: 2, faulty: 1, reason: 'x: y' }, 5);
  new UnsealStore(store.db).insert({
    miner: 1000,
    number: 2,
    pieceCid: pieceCid(),
    offset: 0,
    size: 1016,
    dest: ['file:///tmp/a'],
    events: [],
    source: 'cli',
  });
  return { home, store };
}

test('util db migrate: SQLite → PostgreSQL → SQLite, every table with equal counts and checksums', {
  skip: noPg,
}, async () => {
  await testPostgres();
  const { home, store } = sealedHome();
  ensureStoreTables(store.db); // the tables of stores this home never used, empty on both sides
  const before = checksums(store.db);
  assert.ok(before.find((t) => t.table === 'sector_deals')!.rows > 0, 'deals in the home');
  assert.ok(before.find((t) => t.table === 'unseal_tasks')!.rows > 0, 'unseal tasks in the home');
  const pgCfg = freshPostgresConfig();
  const pg = openManagerDb('', pgCfg);
  const copied = migrateDb(store.db, pg);
  assert.deepEqual(copied, before);
  assert.deepEqual(checksums(pg), before);
  // what a manager reads back on PostgreSQL
  const back = new ManagerStore(pg);
  assert.equal(back.listSectors(true).length, 2);
  assert.equal(back.lastNumber(1000), 4);
  assert.deepEqual(
    back.countSectorsByState().sort((a, b) => (a.state < b.state ? -1 : 1)),
    store.countSectorsByState().sort((a, b) => (a.state < b.state ? -1 : 1)),
    'state names as SQLite generates them',
  );
  // identity columns go on after the copied rows
  back.recordPoSt({ miner: 't01000', deadline: 4, ok: true, epoch: 10, proven: 2, faulty: 0 }, 6);
  assert.equal(back.recentPoSts(1)[0]!.deadline, 4);
  assert.throws(() => migrateDb(store.db, pg), /not empty: table/);
  store.close();
  pg.close();

  // and back, into a new home, through the command
  const pgBefore = checksums(openManagerDb('', pgCfg));
  const home2 = mkdtempSync(join(tmpdir(), 'vsm-migrate-back-'));
  const cli = new URL('../../cli/venus-sector-manager.ts', import.meta.url).pathname;
  const out = await run(process.execPath, [
    '--import',
    'tsx',
    cli,
    '--home',
    home2,
    'util',
    'db',
    'migrate',
    '--to',
    'sqlite',
    '--dsn',
    pgCfg.Postgres.DSN,
  ]);
  assert.match(out.stdout, /checksums equal/);
  assert.ok(!out.stdout.includes(decodeURIComponent(new URL(pgCfg.Postgres.DSN).password)), 'no password printed');
  const again = openDb(join(home2, 'manager.db'));
  assert.deepEqual(checksums(again), pgBefore);
  again.close();
  void home;
});
