// One running manager per [Common.HA] Name on a database: a second one under the same Name refuses to start with
// a ManagerNameInUse naming the Name and where the first runs (host, pid, listen address from its heartbeat row),
// unless that heartbeat is stale, handed back by a graceful stop, or left by a process of this host that is gone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { managerHome } from '../harness.test-util.js';
import { Duties, ManagerNameInUse } from './duties.js';
import { openTestLeaseDb } from './sqlite.test-util.js';

const TTL = 3000;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-ha-names-'));
  dirs.push(dir);
  const time = { t: 1_000_000 };
  const clock = () => time.t;
  const dbs: ReturnType<typeof openTestLeaseDb>[] = [];
  const gone = new Set<number>();
  const manager = (name: string, pid: number, listen: string) => {
    const db = openTestLeaseDb(join(dir, 'manager.db'), clock);
    dbs.push(db);
    return new Duties({
      db,
      name,
      ttlMs: TTL,
      clock,
      timers: false,
      registry: new Registry(),
      where: { host: 'host-a', pid, listen },
      processGone: (_host, p) => gone.has(p),
    });
  };
  return {
    time,
    gone,
    manager,
    close: () => {
      for (const d of dbs) d.close();
    },
  };
}

const inUse = (pid: number, listen: string) => (e: unknown) =>
  e instanceof ManagerNameInUse &&
  e.managerName === 'manager-a' &&
  e.other.pid === pid &&
  e.message.includes('Name "manager-a" is in use') &&
  e.message.includes(`host host-a, pid ${pid}, listening on ${listen}`);

test('a second manager under a running one’s Name refuses to start, naming where the first runs', async () => {
  const { time, manager, close } = setup();
  const first = manager('manager-a', 101, '10.0.0.1:1789');
  await first.start();
  assert.ok(first.holds('commit'));
  const second = manager('manager-a', 202, '10.0.0.2:1789');
  await assert.rejects(second.start(), inUse(101, '10.0.0.1:1789'));
  assert.ok(!second.holds('commit'));
  // the first keeps beating: still refused a whole TTL later
  time.t += TTL / 3;
  await first.tick();
  time.t += TTL / 3;
  await first.tick();
  await assert.rejects(manager('manager-a', 303, '10.0.0.3:1789').start(), ManagerNameInUse);
  assert.ok(first.holds('commit'), 'the first is not disturbed');
  // another Name is fine
  const other = manager('manager-b', 404, '10.0.0.4:1789');
  await other.start();
  assert.ok(!other.holds('commit'));
  close();
});

test('a stale heartbeat does not hold the Name; the old process, back, stands by and says why', async () => {
  const { time, manager, close } = setup();
  const first = manager('manager-a', 101, '10.0.0.1:1789');
  await first.start();
  time.t += TTL; // the first freezes: no heartbeat for a whole TTL (its leases ran out too)
  const second = manager('manager-a', 202, '10.0.0.2:1789');
  await second.start();
  assert.ok(second.holds('commit'));
  // the first wakes up: its heartbeat row is the second's now; it stops everything and stands by
  await first.tick();
  for (const d of ['post', 'commit', 'chain'] as const) assert.ok(!first.holds(d), d);
  time.t += TTL / 3;
  await second.tick();
  await first.tick();
  assert.ok(second.holds('commit') && !first.holds('commit'));
  close();
});

test('a graceful stop hands the Name back; a gone process of this host does not hold it', async () => {
  const { gone, manager, close } = setup();
  const first = manager('manager-a', 101, '10.0.0.1:1789');
  await first.start();
  await first.stop();
  const second = manager('manager-a', 202, '10.0.0.2:1789');
  await second.start();
  assert.ok(second.holds('commit'));
  gone.add(202); // kill -9, then the runner starts it again under the same Name
  const third = manager('manager-a', 303, '10.0.0.2:1789');
  await third.start();
  close();
});

test('daemon run: a second manager with the same [Common.HA] Name on one database refuses to start', async () => {
  const { home, start } = managerHome('vsm-ha-names-daemon-', {
    insecureNoAuth: false,
    ha: { name: 'manager-a', ttlMs: 1500 },
  });
  dirs.push(home);
  const a = await start();
  try {
    await assert.rejects(
      start(),
      (e: unknown) =>
        e instanceof ManagerNameInUse &&
        e.message.includes('"manager-a"') &&
        e.message.includes(`pid ${process.pid}`) &&
        e.message.includes(`listening on 127.0.0.1:${a.address.port}`),
    );
    assert.ok(a.duties.holds('commit'), 'the running one keeps its duties');
  } finally {
    await a.close();
  }
  // stopped: the Name is free at once
  const b = await start();
  await b.close();
});
