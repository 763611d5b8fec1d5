/**
 * Every bound of docs/spec/rpc.md, reproduced against a running RpcServer: the attack is refused with a clear
 * JSON-RPC error, and the server still answers the next caller at once.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { request } from 'node:http';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { MinerMethods } from '../api/sealer.js';
import { SectorIDSchema } from '../api/sealer-schema.js';
import { setupLogging } from '../common/log.js';
import { bigIntFromJSON } from '../fil/token.js';
import {
  createClient,
  createToken,
  defineApi,
  ErrorCode,
  generateSecret,
  InvalidParamsError,
  LimitExceededError,
  method,
  RpcServer,
  type RpcServerOptions,
} from './index.js';
import { CallScope, LogLimiter } from './limits.js';

// capture the server's log lines (json) to count them
const lines: string[] = [];
setupLogging({
  levelSpec: 'warn',
  format: 'json',
  dest: new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  }),
});

const calls: unknown[] = [];
const TestAPI = defineApi('Test', {
  Add: method<[a: number, b: number], number>('read', 2),
  Slow: method<[ms: number], string>('read', 1),
  Fail: method<[], null>('read'),
  Write: method<[sid: { Miner: number; Number: number }], null>('write', 1, { params: { sid: SectorIDSchema } }),
  Named: method<[name: string, n: number], null>('read', 2, { params: { name: z.string().max(10), n: z.number() } }),
  GetInfo: MinerMethods.GetInfo,
});
const impl = {
  Add: (a: number, b: number) => a + b,
  Slow: async (ms: number) => {
    await sleep(ms);
    return 'done';
  },
  Fail: () => {
    throw new Error('always fails');
  },
  Write: (sid: unknown) => {
    calls.push(sid);
    return null;
  },
  Named: () => null,
  GetInfo: (mid: number) => {
    calls.push(mid);
    return null;
  },
};

const servers: RpcServer[] = [];
async function start(opts: RpcServerOptions = {}) {
  const s = new RpcServer(opts);
  s.register(TestAPI, impl);
  servers.push(s);
  const { port } = await s.listen();
  return { s, port, url: `http://127.0.0.1:${port}/rpc/v0` };
}
after(async () => {
  for (const s of servers) await s.close();
});

async function post(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

/** A raw request with headers fetch() will not let us set (Host). */
function rawPost(
  port: number,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/rpc/v0', method: 'POST', headers }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function wsOpen(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ ws?: WebSocket; status?: number; body?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('error', () => resolve({ status: -1 }));
  });
}

const ADD = '{"jsonrpc":"2.0","id":1,"method":"Test.Add","params":[1,2]}';

async function responsive(url: string) {
  const t = performance.now();
  const r = await post(url, ADD);
  assert.equal(r.json.result, 3, 'the server still answers');
  return performance.now() - t;
}

describe('batches', () => {
  test('a 100k-call batch is refused at once (limit 100), the server stays responsive', async () => {
    const { url } = await start();
    const body = `[${Array(100_000).fill('{"jsonrpc":"2.0","method":"Test.Add","params":[1,2]}').join(',')}]`;
    const t = performance.now();
    const r = await post(url, body);
    const ms = performance.now() - t;
    assert.equal(r.status, 429);
    assert.equal(r.json.error.code, ErrorCode.LimitExceeded);
    assert.match(r.json.error.message, /batch of 100000 calls refused: the limit is 100 calls per batch/);
    // (parsing 5 MB is the cost; a shared CI box is slow, so the bound is loose: this used to take ~85 s)
    assert.ok(ms < 10_000, `refused in ${ms} ms`);
    assert.ok((await responsive(url)) < 1000);
  });

  test('a batch costs linear time: one abort listener per request, not one per call', async () => {
    const ac = new AbortController();
    const scope = new CallScope(ac.signal);
    const open = Array.from({ length: 10_000 }, () => scope.open());
    assert.equal(getEventListeners(ac.signal, 'abort').length, 1);
    ac.abort(new Error('gone'));
    assert.ok(open.every((c) => c.signal.aborted));
    assert.equal(scope.size, 0);

    // 40k calls took ~15 s when each call added a listener to the request's signal (n² steps). Linear: 4× the
    // calls cost about 4× the time, quadratic 16×; the best of two runs keeps a busy machine's noise out.
    const { url } = await start({ maxBatch: 16_000, maxInFlightPerConnection: 16_000 });
    const time = async (n: number) => {
      const body = `[${Array(n).fill('{"jsonrpc":"2.0","method":"Test.Add","params":[1,2]}').join(',')}]`;
      let best = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 2; i++) {
        const t = performance.now();
        const r = await post(url, body);
        best = Math.min(best, performance.now() - t);
        assert.equal(r.status, 204);
      }
      return best;
    };
    const small = await time(4_000);
    const large = await time(16_000);
    assert.ok(large < 9 * small + 200, `4k calls ${small} ms, 16k calls ${large} ms`);
  });
});

describe('browsers', () => {
  let port: number;
  let url: string;
  before(async () => {
    ({ port, url } = await start({ allowedHosts: ['manager.lan'] }));
  });

  test('Content-Type text/plain is refused (415) and nothing runs', async () => {
    const r = await post(url, '{"jsonrpc":"2.0","id":1,"method":"Test.Write","params":[{"Miner":1,"Number":1}]}', {
      'Content-Type': 'text/plain',
    });
    assert.equal(r.status, 415);
    assert.match(r.json.error.message, /Content-Type must be application\/json \(got "text\/plain"\)/);
    assert.equal(calls.length, 0);
    const ok = await post(url, ADD, { 'Content-Type': 'application/json; charset=utf-8' });
    assert.equal(ok.json.result, 3);
  });

  test('a cross-site Origin is refused on POST and WebSocket; same-origin and no Origin pass', async () => {
    const r = await post(url, ADD, { Origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    assert.match(r.json.error.message, /cross-site request refused: Origin "https:\/\/evil.example"/);
    assert.equal((await post(url, ADD, { Origin: `http://127.0.0.1:${port}` })).json.result, 3);
    assert.equal((await post(url, ADD)).json.result, 3);

    const bad = await wsOpen(`ws://127.0.0.1:${port}/rpc/v0`, { Origin: 'https://evil.example' });
    assert.equal(bad.status, 403);
    assert.match(bad.body ?? '', /cross-site request refused/);
    const good = await wsOpen(`ws://127.0.0.1:${port}/rpc/v0`);
    assert.ok(good.ws);
    good.ws.close();
    assert.ok((await responsive(url)) < 1000);
  });

  test('a Host that is not this server (DNS rebinding) is refused; IPs, localhost and configured names pass', async () => {
    const evil = await rawPost(port, { Host: `evil.example:${port}`, 'Content-Type': 'application/json' }, ADD);
    assert.equal(evil.status, 403);
    assert.match(evil.text, /Host \\"evil.example\\" is not a name of this server/);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`, `manager.lan:${port}`]) {
      const r = await rawPost(port, { Host: host, 'Content-Type': 'application/json' }, ADD);
      assert.equal(r.status, 200, host);
    }
    const ws = await wsOpen(`ws://127.0.0.1:${port}/rpc/v0`, { Host: 'rebound.example' });
    assert.equal(ws.status, 403);
  });

  test('?token= is refused on RPC paths (HTTP and WebSocket); routes opt in', async () => {
    const secret = generateSecret();
    const token = await createToken(secret, 'read');
    const { s, port: p } = await start({ auth: secret });
    s.route(
      'GET',
      '/page',
      async (req, res) => {
        const c = await s.authenticate(req, { queryToken: true });
        res.end(c.perms.join(','));
      },
      { queryToken: true },
    );
    s.route('GET', '/plain', (_req, res) => {
      res.end('ok');
    });
    const r = await post(`http://127.0.0.1:${p}/rpc/v0?token=${token}`, ADD);
    assert.equal(r.status, 401);
    assert.match(r.json.error.message, /tokens in the URL are not accepted here/);
    assert.ok(!r.text.includes(token));
    const ws = await wsOpen(`ws://127.0.0.1:${p}/rpc/v0?token=${token}`);
    assert.equal(ws.status, 401);
    assert.equal(await (await fetch(`http://127.0.0.1:${p}/page?token=${token}`)).text(), 'read');
    assert.equal((await fetch(`http://127.0.0.1:${p}/plain?token=${token}`)).status, 401);
    assert.equal(
      (await post(`http://127.0.0.1:${p}/rpc/v0`, ADD, { Authorization: `Bearer ${token}` })).json.result,
      3,
    );
    assert.ok(!lines.some((l) => l.includes(token)), 'no log line carries the token');
  });
});

describe('arguments and errors', () => {
  let url: string;
  before(async () => {
    ({ url } = await start());
  });

  test('types are validated, never coerced: the param is named, the method never runs', async () => {
    const c = createClient(TestAPI, { url });
    calls.length = 0;
    const bad = [
      [{ Miner: 1, Number: '1' }, 'sid.Number must be a non-negative safe integer'],
      [{ Miner: 1.5, Number: 1 }, 'sid.Miner must be a non-negative safe integer'],
      [{ Miner: 1 }, 'sid.Number is missing'],
      ['1', 'sid must be an object, not a string of 1 characters'],
      [null, 'sid must be an object, not null'],
    ] as const;
    for (const [sid, why] of bad) {
      await assert.rejects(c.Write(sid as never), (e: unknown) => {
        assert.ok(e instanceof InvalidParamsError, String(e));
        assert.equal(e.code, ErrorCode.InvalidParams);
        assert.equal(e.message, `invalid params: ${why} (method 'Test.Write')`);
        return true;
      });
    }
    await assert.rejects(c.GetInfo(true as never), /invalid params: mid must be a non-negative safe integer/);
    await assert.rejects(c.GetInfo('1' as never), InvalidParamsError);
    assert.deepEqual(calls, [], 'no implementation ran');
    assert.equal(await c.Write({ Miner: 1000, Number: 1 }), null);
    assert.equal(await c.GetInfo(1000), null);
    assert.deepEqual(calls, [{ Miner: 1000, Number: 1 }, 1000]);
    await assert.rejects(c.Named('x'.repeat(1_000_000), 1), (e: unknown) => {
      assert.ok(e instanceof InvalidParamsError);
      assert.ok(e.message.length < 200, `a short message: ${e.message.length} chars`);
      return true;
    });
    await c.close();
  });

  test('errors quote at most a short prefix of what was sent', async () => {
    const name = 'M'.repeat(16 << 20);
    const r = await post(url, `{"jsonrpc":"2.0","id":1,"method":"${name}"}`);
    assert.equal(r.status, 413, 'over the default 8 MiB body limit');
    const { url: big } = await start({ maxBodyBytes: 32 << 20 });
    const r2 = await post(big, `{"jsonrpc":"2.0","id":1,"method":"${name}"}`);
    assert.equal(r2.json.error.code, ErrorCode.MethodNotFound);
    assert.ok(r2.text.length < 300, `answer of ${r2.text.length} bytes`);
    const parse = await post(url, '{"Type":"bls","PrivateKey":QUJDREVGR0');
    assert.equal(parse.json.error.code, ErrorCode.ParseError);
    assert.ok(!parse.text.includes('QUJDREVGR0'), parse.text);
    const longId = await post(
      url,
      `{"jsonrpc":"2.0","id":"${'i'.repeat(1 << 20)}","method":"Test.Add","params":[1,2]}`,
    );
    assert.ok(longId.text.length < 300);
    assert.throws(
      () => bigIntFromJSON(`x${'9'.repeat(1 << 20)}`),
      (e: Error) => e.message.length < 200,
    );
    assert.throws(
      () => bigIntFromJSON('12345678901234567890123456789012345678901234567890x'),
      (e: Error) => {
        assert.ok(e.message.length < 120, e.message);
        return true;
      },
    );
  });
});

describe('connections', () => {
  test('calls in flight per connection are capped; the refused call gets a clear error', async () => {
    const { port, url } = await start({ maxInFlightPerConnection: 2 });
    const c = createClient(TestAPI, { url: `ws://127.0.0.1:${port}/rpc/v0` });
    const slow = [c.Slow(300), c.Slow(300)];
    await sleep(50);
    await assert.rejects(c.Add(1, 2), (e: unknown) => {
      assert.ok(e instanceof LimitExceededError);
      assert.match(e.message, /too many calls in flight on this connection \(limit 2\)/);
      return true;
    });
    assert.deepEqual(await Promise.all(slow), ['done', 'done']);
    assert.equal(await c.Add(1, 2), 3, 'slots come back');
    await c.close();
    assert.ok((await responsive(url)) < 1000);
  });

  test('connections are capped: the next one is told why', async () => {
    const { s, port, url } = await start({ maxConnections: 2 });
    const a = await wsOpen(`ws://127.0.0.1:${port}/rpc/v0`);
    const b = await wsOpen(`ws://127.0.0.1:${port}/rpc/v0`);
    assert.ok(a.ws && b.ws);
    const c = await wsOpen(`ws://127.0.0.1:${port}/rpc/v0`);
    assert.equal(c.status, 503);
    assert.match(c.body ?? '', /too many connections \(limit 2\)/);
    a.ws.close();
    b.ws.close();
    for (let i = 0; i < 50 && s.connectionCount > 0; i++) await sleep(20);
    assert.ok((await responsive(url)) < 1000);
  });

  test('WebSocket messages are rate-bounded; a peer that keeps flooding is dropped', async () => {
    const { port, url } = await start({ wsMessagesPerSecond: 50 });
    const { ws } = await wsOpen(`ws://127.0.0.1:${port}/rpc/v0`);
    assert.ok(ws);
    const answers: { id: unknown; error?: { code: number; message: string } }[] = [];
    ws.on('message', (d) => answers.push(JSON.parse(String(d))));
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    for (let i = 0; i < 200; i++) ws.send(JSON.stringify({ ...JSON.parse(ADD), id: 1000 + i }));
    assert.equal(await closed, 1008);
    const refused = answers.filter((a) => a.error?.code === ErrorCode.LimitExceeded);
    assert.ok(refused.length > 0);
    assert.match(refused[0]!.error!.message, /more than 50 messages per second/);
    // each refusal names the call it refuses: a caller is not left waiting for an answer that never comes
    for (const a of refused) assert.equal(typeof a.id, 'number', 'a refusal carries its call id');
    const ids = answers.map((a) => a.id);
    assert.equal(new Set(ids).size, ids.length, 'every call answered once, under its own id');
    assert.ok((await responsive(url)) < 1000);
  });
});

describe('logs', () => {
  test('failed and refused calls are logged once per peer per minute, not per call', async () => {
    const { url } = await start();
    const before = lines.length;
    const batch = `[${Array(100).fill('{"jsonrpc":"2.0","id":1,"method":"Test.Fail","params":[]}').join(',')}]`;
    for (let i = 0; i < 10; i++) await post(url, batch);
    for (let i = 0; i < 10; i++) await post(url, ADD, { 'Content-Type': 'text/plain' });
    const logged = lines.slice(before);
    assert.equal(logged.filter((l) => l.includes('error in rpc call')).length, 1, '1000 failures, one line');
    assert.equal(logged.filter((l) => l.includes('http request refused')).length, 1, '10 refusals, one line');

    let now = 0;
    const limiter = new LogLimiter(60_000, 10, () => now);
    assert.deepEqual(limiter.hit('a'), { log: true, suppressed: 0 });
    assert.deepEqual(limiter.hit('a'), { log: false, suppressed: 1 });
    assert.deepEqual(limiter.hit('b'), { log: true, suppressed: 0 });
    now = 60_000;
    assert.deepEqual(limiter.hit('a'), { log: true, suppressed: 1 }, 'the next minute reports what was held back');
  });
});
