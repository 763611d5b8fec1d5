/** C2: the sector-manager's API needs a token by default; `--insecure-no-auth` only on loopback; init hands out tokens. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { ManagerAPI } from '../api/sealer.js';
import type { Logger } from '../common/log.js';
import { createClient, localAuth, RpcServer } from '../rpc/index.js';
import { hintMissingTokens, isLoopbackHost, mintWorkerToken } from './auth.js';
import { checkListenAuth } from './daemon.js';
import { managerHome } from './harness.test-util.js';

const spec = { AllowedMiners: null, AllowedProofTypes: null };

async function rawCall(port: number, method: string, params: unknown[], token?: string) {
  const r = await fetch(`http://127.0.0.1:${port}/rpc/v0`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  return { status: r.status, body: (await r.json()) as { result?: unknown; error?: { message: string } } };
}

test('C2: daemon run without any auth option refuses tokenless calls (HTTP and WebSocket); sectors stay intact', async () => {
  const { home, start } = managerHome('vsm-c2-', { insecureNoAuth: false });
  const d = await start();
  const port = d.address.port;
  const workerToken = readFileSync(join(home, 'worker-token'), 'utf8');
  const admin = readFileSync(join(home, 'token'), 'utf8');
  const worker = createClient(ManagerAPI, { url: `http://127.0.0.1:${port}/rpc/v0`, token: workerToken });
  try {
    const s = await worker.AllocateSector(spec);
    assert.deepEqual(s?.ID, { Miner: 1000, Number: 1 });
    const sid = { Miner: 1000, Number: 1 };
    // the attack: enumerate and destroy without credentials
    for (const [method, params] of [
      ['Venus.FinalizeSector', [sid]],
      ['Venus.ReportAborted', [sid, 'no token']],
      ['Venus.ListSectors', ['online', 0]],
      ['Venus.RestoreSector', [sid, true]],
    ] as const) {
      const r = await rawCall(port, method, [...params]);
      assert.equal(r.status, 401, method);
      assert.match(r.body.error?.message ?? '', /missing token/);
    }
    const upgrade = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/rpc/v0`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => {
        ws.close();
        resolve(101);
      });
      ws.on('error', () => {});
    });
    assert.equal(upgrade, 401);
    // the worker token may not use admin methods; the admin token may
    assert.match(
      (await rawCall(port, 'Venus.FinalizeSector', [sid], workerToken)).body.error?.message ?? '',
      /need 'admin'/,
    );
    const state = d.store.getSector(sid);
    assert.equal(state?.online, true);
    assert.equal(state?.state.Finalized, false);
    assert.equal(state?.state.AbortReason, '');
    assert.equal((await rawCall(port, 'Venus.Version', [], admin)).status, 200);
    // still responsive
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthcheck`)).status, 200);
  } finally {
    await worker.close();
    await d.close();
  }
});

test('C2: --insecure-no-auth is refused on every non-loopback address; --require-token=false is refused', async () => {
  for (const listen of [':1789', '0.0.0.0:1789', '/ip4/0.0.0.0/tcp/1789', '10.0.0.5:1789', '[::]:1789'])
    assert.throws(() => checkListenAuth({ listen, insecureNoAuth: true }), /--insecure-no-auth is refused on/, listen);
  for (const listen of ['127.0.0.1:0', 'localhost:1789', '[::1]:1789', '/ip4/127.0.0.1/tcp/1789'])
    assert.doesNotThrow(() => checkListenAuth({ listen, insecureNoAuth: true }), listen);
  // the guide's command line: every interface, with tokens
  assert.equal(checkListenAuth({ listen: '0.0.0.0:1789' }), '0.0.0.0:1789');
  assert.equal(checkListenAuth({ listen: ':1789', requireToken: true }), '0.0.0.0:1789');
  assert.throws(() => checkListenAuth({ listen: '127.0.0.1:1', requireToken: false }), /tokens are always required/);
  assert.throws(
    () => checkListenAuth({ listen: '127.0.0.1:1', requireToken: true, insecureNoAuth: true }),
    /contradict/,
  );
  assert.equal(isLoopbackHost('127.3.4.5'), true);
  assert.equal(isLoopbackHost('128.0.0.1'), false);
  const { start } = managerHome('vsm-c2-insecure-', { insecureNoAuth: true, listen: '0.0.0.0:0' });
  await assert.rejects(start(), /--insecure-no-auth is refused on 0\.0\.0\.0/);
});

test('C2: --insecure-no-auth on 127.0.0.1 serves without tokens and warns at start', async () => {
  const { start } = managerHome('vsm-c2-open-');
  const d = await start();
  try {
    assert.equal((await rawCall(d.address.port, 'Venus.Version', [])).status, 200);
  } finally {
    await d.close();
  }
});

test('C2: a tokenless caller gets one log line per peer per minute that says how to fix it, never a token', async () => {
  const server = new RpcServer({ auth: new Uint8Array(32).fill(7), pingIntervalMs: 0 });
  const lines: string[] = [];
  const log = { warn: (o: object, m: string) => lines.push(`${m} ${JSON.stringify(o)}`) } as unknown as Logger;
  hintMissingTokens(server, log, 'a worker needs headers = { Authorization = "Bearer <contents of /h/worker-token>" }');
  const { port } = await server.listen('127.0.0.1:0');
  try {
    for (let i = 0; i < 5; i++) assert.equal((await rawCall(port, 'Venus.Version', [])).status, 401);
    assert.equal((await rawCall(port, 'Venus.Version', [], 'not-a-jwt')).status, 401);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /without a token was refused: a worker needs headers = \{ Authorization = "Bearer <contents of \/h\/worker-token>" \}/,
    );
    assert.match(lines[0]!, /"remote":"127\.0\.0\.1"/);
    assert.doesNotMatch(lines[0]!, /not-a-jwt/);
    assert.equal(lines[0]!.split('\n').length, 1, 'one line, no stack');
  } finally {
    await server.close();
  }
});

test('C2: daemon init writes <home>/worker-token (write, 0600) and prints the [sealer_rpc] lines, not the token', async () => {
  const home = mkdtempSync(join(tmpdir(), 'vsm-init-'));
  // its own process: the test runner's reporter shares this one's stdout
  const cli = new URL('../cli/venus-sector-manager.ts', import.meta.url).pathname;
  const printed = execFileSync(process.execPath, ['--import', 'tsx', cli, '--home', home, 'daemon', 'init'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const tokenPath = join(home, 'worker-token');
  const token = readFileSync(tokenPath, 'utf8');
  assert.equal(statSync(tokenPath).mode & 0o777, 0o600);
  const { secret } = await import('../rpc/index.js').then((m) => m.loadOrInitRepoAuth(home));
  const v = await localAuth(secret).verify(token);
  assert.equal(v.perm, 'write');
  assert.match(
    printed,
    /\[sealer_rpc\]\nurl = "ws:\/\/127\.0\.0\.1:1789\/rpc\/v0"\nheaders = \{ Authorization = "Bearer <contents of [^>]*worker-token>" \}/,
  );
  assert.ok(!printed.includes(token), 'the token itself is not printed');
  // a named token for one worker
  const named = await localAuth(secret).verify(await mintWorkerToken(home, 'worker-a'));
  assert.deepEqual([named.name, named.perm], ['worker-a', 'write']);
  await assert.rejects(mintWorkerToken(home, 'bad name<script>'), /must be 1-128 letters/);
});

test("H3: a worker's token acts only on the sectors it allocated; admin on any; state intact", async () => {
  const { home, start } = managerHome('vsm-h3-', { insecureNoAuth: false });
  const d = await start();
  const url = `http://127.0.0.1:${d.address.port}/rpc/v0`;
  const tokenA = await mintWorkerToken(home, 'worker-a');
  const tokenB = await mintWorkerToken(home, 'worker-b');
  const generic = readFileSync(join(home, 'worker-token'), 'utf8');
  const admin = readFileSync(join(home, 'token'), 'utf8');
  const [a, b, g, root] = [tokenA, tokenB, generic, admin].map((token) => createClient(ManagerAPI, { url, token }));
  const report = (next: string) => ({
    Worker: { Instance: 'worker-a', Location: '/seal/1' },
    StateChange: { Prev: 'Empty', Next: next, Event: next },
    Failure: null,
  });
  try {
    const mine = await a!.AllocateSector({ ...spec, Worker: { Instance: 'worker-a', Location: '/seal/1' } });
    const sid = mine!.ID;
    await a!.ReportState(sid, report('PieceAdded'));
    const ticket = await a!.AssignTicket(sid);
    const before = d.store.getSector(sid);
    assert.equal(d.store.sectorOwner(sid), 'worker-a');
    // worker B (and a token without a name) try every per-sector write on A's sector
    for (const other of [b!, g!]) {
      const attempts: [string, () => Promise<unknown>][] = [
        ['ReportAborted', () => other.ReportAborted(sid, 'hijack')],
        ['ReportFinalized', () => other.ReportFinalized(sid)],
        ['ReportState', () => other.ReportState(sid, report('Hijacked'))],
        ['AssignTicket', () => other.AssignTicket(sid)],
        ['AcquireDeals', () => other.AcquireDeals(sid, { MaxDeals: null, MinUsedSpace: null })],
        ['WaitSeed', () => other.WaitSeed(sid, 5)],
        [
          'SubmitPreCommit',
          () =>
            other.SubmitPreCommit(
              mine!,
              { CommR: Array(32).fill(1), CommD: Array(32).fill(2), Ticket: ticket } as never,
              true,
            ),
        ],
        ['SubmitProof', () => other.SubmitProof(sid, { Proof: 'AAAA' }, true)],
        ['SubmitPersisted', () => other.SubmitPersisted(sid, 'store-1')],
        ['StoreReserveSpace', () => other.StoreReserveSpace(sid, 2048, null)],
      ];
      for (const [m, call] of attempts) await assert.rejects(call(), /s-t01000-1 is bound to worker "worker-a"/, m);
    }
    // naming A's seal store does not hand B A's sector
    const bs = await b!.AllocateSector({ ...spec, Worker: { Instance: 'worker-a', Location: '/seal/1' } });
    assert.notDeepEqual(bs?.ID, sid);
    assert.equal(d.store.sectorOwner(bs!.ID), 'worker-b');
    // nor does it replace the record of A's store: A, having lost an answer, still gets its untouched sector
    const s2 = { Instance: 'worker-a', Location: '/seal/2' };
    const lost = await a!.AllocateSector({ ...spec, Worker: s2 });
    await b!.AllocateSector({ ...spec, Worker: s2 });
    assert.deepEqual((await a!.AllocateSector({ ...spec, Worker: s2 }))?.ID, lost?.ID);
    // B may not ping as A
    await assert.rejects(
      b!.WorkerPing({
        Name: 'worker-a',
        Dest: '',
        Version: 'x',
        Summary: { Threads: 0, Empty: 0, Paused: 0, Running: 0, Waiting: 0, Errors: 0 },
      } as never),
      /token is for worker "worker-b", not "worker-a"/,
    );
    const after = d.store.getSector(sid);
    assert.deepEqual(after, before, "A's sector untouched");
    assert.deepEqual(
      d.store.sectorEvents(sid).map((e) => e.state),
      ['Allocated', 'PieceAdded'],
    );
    // A keeps working; admin may act on any sector; a generic token's sector is open to every write token
    assert.equal((await a!.ReportState(sid, report('TicketAssigned')))?.Finalized, false);
    await root!.FinalizeSector(bs!.ID);
    assert.equal(d.store.getSector(bs!.ID)?.online, false);
    const open = await g!.AllocateSector(spec);
    assert.equal(d.store.sectorOwner(open!.ID), null);
    assert.equal((await b!.ReportState(open!.ID, report('PieceAdded')))?.Finalized, false);
  } finally {
    for (const c of [a, b, g, root]) await c!.close();
    await d.close();
  }
});
