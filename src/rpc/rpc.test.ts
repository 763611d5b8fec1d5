// End-to-end tests of the RPC layer over real sockets on 127.0.0.1 (HTTP and WebSocket).
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { setupLogging } from '../common/log.js';
import {
  type ApiImpl,
  type CallContext,
  channel,
  connect,
  createClient,
  createToken,
  defineApi,
  ErrorCode,
  generateSecret,
  MissingPermissionError,
  method,
  PushChannel,
  RpcConnectionError,
  RpcError,
  RpcServer,
  RpcTimeoutError,
} from './index.js';

setupLogging({ levelSpec: 'warn,rpc=silent' });

const TestAPI = defineApi('Test', {
  Add: method<[a: number, b: number], number>('read', 2),
  Echo: method<[v: unknown], unknown>('read', 1),
  Write: method<[s: string], void>('write', 1),
  Sign: method<[s: string], string>('sign', 1),
  Admin: method<[], string>('admin'),
  WhoAmI: method<[], { name: string; perm: string; transport: string }>('read'),
  Fail: method<[code: number, message: string], never>('read', 2),
  FailCoded: method<[], never>('read'),
  FailPlain: method<[], never>('read'),
  Bug: method<[], never>('read'),
  Slow: method<[ms: number], string>('read', 1),
  Native: method<[], { n: string; b: string }>('read'),
  Count: channel<[n: number], number>('read', 1),
  Forever: channel<[], number>('read'),
  Feed: channel<[], string>('read'),
});

/** A port nobody listens on (bound, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

class SectorStateNotFound extends Error {
  readonly code = 11001;
}

// What the server saw, for the cancellation tests.
const seen = {
  slowAborted: deferred<string>(),
  foreverEnded: deferred(),
  feedReturned: deferred(),
};

const impl: ApiImpl<typeof TestAPI> = {
  Add: (a, b) => a + b,
  Echo: async (v) => v,
  Write: () => {},
  Sign: (s) => `signed:${s}`,
  Admin: () => 'admin ok',
  WhoAmI: (ctx) => ({ name: ctx.token?.name ?? '', perm: ctx.token?.perm ?? '', transport: ctx.transport }),
  Fail: (code, message) => {
    throw new RpcError(code, message);
  },
  FailCoded: () => {
    throw new SectorStateNotFound('sector state not found');
  },
  FailPlain: () => {
    throw new Error('wallet locked');
  },
  Bug: () => {
    const o = undefined as unknown as { x: { y: number } };
    return o.x.y as never;
  },
  Slow: async (ms, ctx) => {
    try {
      await sleep(ms, undefined, { signal: ctx.signal });
      return 'done';
    } catch (err) {
      seen.slowAborted.resolve(String((ctx.signal.reason as Error)?.message ?? err));
      throw err;
    }
  },
  Native: () => ({ n: 12345678901234567890n, b: new Uint8Array([1, 2, 3]) }) as unknown as { n: string; b: string },
  async *Count(n: number) {
    for (let i = 1; i <= n; i++) yield i;
  },
  async *Forever(ctx: CallContext) {
    try {
      for (let i = 0; ; i++) {
        yield i;
        await sleep(2, undefined, { signal: ctx.signal });
      }
    } finally {
      seen.foreverEnded.resolve();
    }
  },
  Feed: () => {
    const ch = new PushChannel<string>();
    ch.onReturn(() => seen.feedReturned.resolve());
    ch.push('a');
    ch.push('b');
    return ch;
  },
};

// Compile-time checks: these lines must not type-check (tsc runs over test files too).
function typeChecks(server: RpcServer) {
  // @ts-expect-error Add takes numbers
  server.register(TestAPI, { ...impl, Add: (a: string, b: string) => a + b });
  // @ts-expect-error Sign must return a string
  server.register(TestAPI, { ...impl, Sign: () => 42 });
  // @ts-expect-error a method is missing
  server.register(TestAPI, { Add: impl.Add });
  const c = createClient(TestAPI, { url: 'http://127.0.0.1:1/rpc/v0' });
  // @ts-expect-error wrong param type
  void c.Add('1', 2);
  // @ts-expect-error wrong param count
  void c.Add(1);
  const n: Promise<number> = c.Add(1, 2);
  // @ts-expect-error the param count must match the tuple
  method<[string, string], void>('read', 1);
  void n;
}
void typeChecks;

const secret = generateSecret();
let server: RpcServer;
let base: string;
const tokens: Record<string, string> = {};

async function post(body: string, headers: Record<string, string> = {}, path = '/rpc/v0') {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.read}`, ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

before(async () => {
  server = new RpcServer({ auth: secret, maxBodyBytes: 64 * 1024 });
  server.register(TestAPI, impl);
  server.route('GET', '/healthcheck', (_req, res) => {
    res.end('ok');
  });
  const { port } = await server.listen();
  base = `http://127.0.0.1:${port}`;
  for (const p of ['read', 'write', 'sign', 'admin'] as const) {
    tokens[p] = await createToken(secret, p, { name: `user-${p}` });
  }
});

after(async () => {
  await server.close();
});

describe('HTTP', () => {
  test('typed client calls with positional params; void results are null', async () => {
    const c = createClient(TestAPI, { url: `${base}/rpc/v1`, token: tokens.admin });
    assert.equal(await c.Add(2, 3), 5);
    assert.deepEqual(await c.Echo({ a: [1, 'x', null] }), { a: [1, 'x', null] });
    assert.equal(await c.Write('x'), null);
    assert.deepEqual(await c.WhoAmI(), { name: 'user-admin', perm: 'admin', transport: 'http' });
    assert.deepEqual(await c.Native(), { n: '12345678901234567890', b: 'AQID' }, 'bigint → string, bytes → base64');
    await c.close();
  });

  test('wire shape: jsonrpc 2.0 envelope with the request id', async () => {
    const r = await post('{"jsonrpc":"2.0","method":"Test.Add","params":[1,2],"id":"abc"}');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { jsonrpc: '2.0', id: 'abc', result: 3 });
  });

  test('malformed JSON → -32700', async () => {
    const r = await post('{"jsonrpc":"2.0","method":');
    assert.equal(r.status, 400);
    assert.equal(r.json.error.code, -32700);
    assert.equal(r.json.id, null);
  });

  test('invalid requests → -32600', async () => {
    for (const body of ['42', '{"method":"Test.Add","params":[1,2],"id":1}', '{"jsonrpc":"2.0","id":1}', '[]']) {
      const r = await post(body);
      assert.equal(r.json.error.code, -32600, body);
      assert.equal(r.status, 400, body);
    }
  });

  test('unknown method → -32601, wrong param count → -32602, named params → -32602', async () => {
    let r = await post('{"jsonrpc":"2.0","method":"Test.Nope","params":[],"id":1}');
    assert.equal(r.json.error.code, -32601);
    assert.match(r.json.error.message, /method 'Test.Nope' not found/);
    r = await post('{"jsonrpc":"2.0","method":"Test.Add","params":[1],"id":2}');
    assert.equal(r.json.error.code, -32602);
    assert.match(r.json.error.message, /wrong param count \(method 'Test.Add'\): 1 != 2/);
    r = await post('{"jsonrpc":"2.0","method":"Test.Add","params":{"a":1,"b":2},"id":3}');
    assert.equal(r.json.error.code, -32602);
  });

  test('oversize body → HTTP 413 with a JSON-RPC error', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', method: 'Test.Echo', params: ['x'.repeat(200 * 1024)], id: 1 });
    const r = await post(big);
    assert.equal(r.status, 413);
    assert.equal(r.json.error.code, ErrorCode.InvalidRequest);
    assert.match(r.json.error.message, /larger than the 65536-byte limit/);
    // the server still answers afterwards
    assert.equal((await post('{"jsonrpc":"2.0","method":"Test.Add","params":[1,1],"id":1}')).json.result, 2);
  });

  test('batch requests answer each member; notifications get no answer', async () => {
    const r = await post(
      JSON.stringify([
        { jsonrpc: '2.0', method: 'Test.Add', params: [1, 2], id: 1 },
        { jsonrpc: '2.0', method: 'Test.Nope', params: [], id: 2 },
        { jsonrpc: '2.0', method: 'Test.Add', params: [5, 5] },
      ]),
    );
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, [
      { jsonrpc: '2.0', id: 1, result: 3 },
      { jsonrpc: '2.0', id: 2, error: { code: -32601, message: "method 'Test.Nope' not found" } },
    ]);
    const n = await post('{"jsonrpc":"2.0","method":"Test.Add","params":[1,2]}');
    assert.equal(n.status, 204);
  });

  test('error codes and messages reach the caller; internal errors stay in the log', async () => {
    const c = createClient(TestAPI, { url: `${base}/rpc/v0`, token: tokens.read });
    await assert.rejects(c.Fail(11001, 'sector state not found'), { code: 11001, message: 'sector state not found' });
    await assert.rejects(c.FailCoded(), { code: 11001, message: 'sector state not found' });
    await assert.rejects(c.FailPlain(), { code: 1, message: 'wallet locked' });
    const err = await c.Bug().catch((e: RpcError) => e);
    assert.ok(err instanceof RpcError);
    assert.equal(err.code, ErrorCode.Internal);
    assert.equal(err.message, 'internal error while handling Test.Bug; see the server log');
    const raw = await post('{"jsonrpc":"2.0","method":"Test.Bug","params":[],"id":1}');
    assert.doesNotMatch(raw.text, /TypeError|at |\.ts/);
    await c.close();
  });

  test('channel methods need a WebSocket', async () => {
    const r = await post('{"jsonrpc":"2.0","method":"Test.Count","params":[1],"id":1}');
    assert.equal(r.json.error.code, -32601);
    assert.match(r.json.error.message, /not supported in this mode \(no out channel support\)/);
    const c = createClient(TestAPI, { url: `${base}/rpc/v0`, token: tokens.read });
    await assert.rejects(c.Count(1), /needs a WebSocket connection/);
  });

  test('extra routes share the server; unknown paths are 404; GET on the RPC path is 405', async () => {
    assert.equal(await (await fetch(`${base}/healthcheck`)).text(), 'ok');
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/rpc/v0`)).status, 405);
  });

  test('hooks see every call with its duration and error code (server and client side)', async () => {
    const serverEvents: string[] = [];
    const s = new RpcServer({
      hooks: {
        onCall: (e) => serverEvents.push(`call ${e.method} ${e.transport}`),
        onDone: (e) => serverEvents.push(`done ${e.method} ${e.error?.code ?? 'ok'} ${e.durationMs >= 0}`),
      },
    });
    s.register(TestAPI, impl);
    const { port } = await s.listen();
    const clientEvents: string[] = [];
    const c = createClient(TestAPI, {
      url: `http://127.0.0.1:${port}/rpc/v0`,
      hooks: {
        onCall: (e) => clientEvents.push(`call ${e.method}`),
        onDone: (e) => clientEvents.push(`done ${e.method} ${e.error?.code ?? 'ok'}`),
      },
    });
    await c.Add(1, 2);
    await c.Fail(7, 'x').catch(() => {});
    await s.close();
    assert.deepEqual(serverEvents, [
      'call Test.Add http',
      'done Test.Add ok true',
      'call Test.Fail http',
      'done Test.Fail 7 true',
    ]);
    assert.deepEqual(clientEvents, ['call Test.Add', 'done Test.Add ok', 'call Test.Fail', 'done Test.Fail 7']);
  });

  test('routes can require a permission with server.authenticate', async () => {
    const s = new RpcServer({ auth: secret });
    s.route('GET', '/admin/*', async (req, res) => {
      try {
        const caller = await s.authenticate(req);
        if (!caller.perms.includes('admin')) throw new RpcError(403, 'admin only');
        res.end(`hello ${caller.token?.name} at ${req.url}`);
      } catch (e) {
        res.writeHead((e as RpcError).code === 403 ? 403 : 401);
        res.end((e as Error).message);
      }
    });
    const { port } = await s.listen();
    const get = (t: string) => fetch(`http://127.0.0.1:${port}/admin/x`, { headers: { Authorization: `Bearer ${t}` } });
    assert.equal(await (await get(tokens.admin!)).text(), 'hello user-admin at /admin/x');
    assert.equal((await get(tokens.read!)).status, 403);
    assert.equal((await get('bad')).status, 401);
    await s.close();
  });

  test('client: connection refused is a clear RpcConnectionError', async () => {
    const port = await freePort();
    const c = createClient(TestAPI, { url: `http://127.0.0.1:${port}/rpc/v0` });
    await assert.rejects(c.Add(1, 2), (e: unknown) => {
      assert.ok(e instanceof RpcConnectionError);
      assert.match(e.message, /Test.Add: cannot reach http:\/\/127.0.0.1:\d+\/rpc\/v0: ECONNREFUSED/);
      return true;
    });
  });
});

describe('auth', () => {
  const call = (token: string | undefined, m = 'Test.Add', params: unknown[] = [1, 2]) =>
    post(JSON.stringify({ jsonrpc: '2.0', method: m, params, id: 1 }), token ? { Authorization: token } : {});

  async function refused(token: string | undefined, why: RegExp) {
    const r = await fetch(`${base}/rpc/v0`, {
      method: 'POST',
      headers: token ? { Authorization: token } : {},
      body: '{"jsonrpc":"2.0","method":"Test.Add","params":[1,2],"id":1}',
    });
    assert.equal(r.status, 401);
    const body = (await r.json()) as { error: { code: number; message: string } };
    assert.equal(body.error.code, 401);
    assert.match(body.error.message, why);
    assert.doesNotMatch(body.error.message, /at |\.ts|\.js/);
  }

  test('missing token', () => refused(undefined, /missing token/));
  test('not a Bearer header', () => refused(`Basic ${tokens.read}`, /must be "Bearer <token>"/));
  test('malformed token', () => refused('Bearer abc.def', /malformed token/));
  test('expired token', async () => {
    const t = await createToken(secret, 'admin', { expiresInSeconds: -60 });
    await refused(`Bearer ${t}`, /token expired/);
  });
  test('token signed with another secret', async () => {
    const t = await createToken(generateSecret(), 'admin');
    await refused(`Bearer ${t}`, /signed with another secret/);
  });
  test('algorithm other than HS256', async () => {
    const t = await new SignJWT({ perm: 'admin' }).setProtectedHeader({ alg: 'HS512' }).sign(secret);
    await refused(`Bearer ${t}`, /only HS256/);
  });
  test('token with no permission claim', async () => {
    const t = await new SignJWT({ name: 'x' }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    await refused(`Bearer ${t}`, /grants no permission/);
  });

  test('under-privileged callers get code 1 "missing permission", as Lotus answers', async () => {
    const r = await call(`Bearer ${tokens.read}`, 'Test.Write', ['x']);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.error, {
      code: ErrorCode.MissingPermission,
      message: "missing permission to invoke 'Test.Write' (need 'write')",
    });
    const c = createClient(TestAPI, { url: `${base}/rpc/v0`, token: tokens.write });
    assert.equal(await c.Write('x'), null);
    await assert.rejects(c.Sign('x'), (e: unknown) => {
      // typed: callers branch on the class, not on the text
      assert.ok(e instanceof MissingPermissionError);
      assert.equal(e.message, "missing permission to invoke 'Test.Sign' (need 'sign')");
      return true;
    });
    await assert.rejects(c.Admin(), /need 'admin'/);
  });

  test('permissions inherit: sign ⇒ read, write, sign', async () => {
    const c = createClient(TestAPI, { url: `${base}/rpc/v0`, token: tokens.sign });
    assert.equal(await c.Add(1, 1), 2);
    assert.equal(await c.Write('x'), null);
    assert.equal(await c.Sign('m'), 'signed:m');
    await assert.rejects(c.Admin(), /need 'admin'/);
  });

  test('Lotus {"Allow": [...]} tokens are accepted', async () => {
    const lotusWrite = await createToken(secret, 'write', { style: 'lotus' });
    const payload = JSON.parse(Buffer.from(lotusWrite.split('.')[1]!, 'base64url').toString());
    assert.deepEqual(payload, { Allow: ['read', 'write'] });
    const c = createClient(TestAPI, { url: `${base}/rpc/v0`, token: lotusWrite });
    assert.equal(await c.Write('x'), null);
    await assert.rejects(c.Sign('x'), /need 'sign'/);
    // {"Allow":["admin"]} alone also grants the lower permissions
    const adminOnly = await new SignJWT({ Allow: ['admin'] }).setProtectedHeader({ alg: 'HS256' }).sign(secret);
    const a = createClient(TestAPI, { url: `${base}/rpc/v0`, token: adminOnly });
    assert.equal(await a.Add(2, 2), 4);
    assert.deepEqual(await a.WhoAmI(), { name: '', perm: 'admin', transport: 'http' });
  });

  test('venus-auth {name, perm, ext} claims reach the method', async () => {
    const t = await createToken(secret, 'sign', { style: 'venus', name: 'miner-account', ext: 'x' });
    const c = createClient(TestAPI, { url: `${base}/rpc/v0`, token: t });
    assert.deepEqual(await c.WhoAmI(), { name: 'miner-account', perm: 'sign', transport: 'http' });
  });

  test('WebSocket: refused upgrade gives a clear error; ?token= is refused on RPC paths', async () => {
    const ws = base.replace('http', 'ws');
    const bad = createClient(TestAPI, { url: `${ws}/rpc/v0`, token: 'abc.def.ghi', reconnect: false });
    await assert.rejects(bad.Add(1, 2), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.code, 401);
      assert.match(e.message, /malformed token/);
      return true;
    });
    await bad.close();
    const none = createClient(TestAPI, { url: `${ws}/rpc/v0`, reconnect: false });
    await assert.rejects(none.Add(1, 2), /missing token/);
    await none.close();
    // a token in the URL ends up in proxy and access logs: refused, and the error does not repeat it
    const q = createClient(TestAPI, { url: `${ws}/rpc/v0?token=${tokens.read}`, reconnect: false });
    await assert.rejects(q.Add(1, 2), (e: unknown) => {
      assert.ok(e instanceof RpcError);
      assert.equal(e.code, 401);
      assert.match(e.message, /tokens in the URL are not accepted/);
      assert.ok(!e.message.includes(tokens.read!), 'the token is not in the error');
      return true;
    });
    await q.close();
  });

  test('servers without auth allow everything; anonymousPerm grants a floor', async () => {
    const open = new RpcServer();
    open.register(TestAPI, impl);
    const { port } = await open.listen();
    const c = createClient(TestAPI, { url: `http://127.0.0.1:${port}/rpc/v0` });
    assert.equal(await c.Admin(), 'admin ok');
    await open.close();

    const lotusLike = new RpcServer({ auth: secret, anonymousPerm: 'read' });
    lotusLike.register(TestAPI, impl);
    const l = await lotusLike.listen();
    const a = createClient(TestAPI, { url: `http://127.0.0.1:${l.port}/rpc/v0` });
    assert.equal(await a.Add(1, 2), 3);
    await assert.rejects(a.Write('x'), {
      code: ErrorCode.MissingPermission,
      message: "missing permission to invoke 'Test.Write' (need 'write')",
    });
    await lotusLike.close();
  });
});

describe('WebSocket', () => {
  const wsUrl = () => `${base.replace('http', 'ws')}/rpc/v0`;

  test('calls, concurrent calls, errors, call context', async () => {
    const c = createClient(TestAPI, { url: wsUrl(), token: tokens.admin });
    const sums = await Promise.all(Array.from({ length: 50 }, (_, i) => c.Add(i, i)));
    assert.deepEqual(
      sums,
      Array.from({ length: 50 }, (_, i) => 2 * i),
    );
    assert.deepEqual(await c.WhoAmI(), { name: 'user-admin', perm: 'admin', transport: 'ws' });
    await assert.rejects(c.Fail(11001, 'gone'), { code: 11001, message: 'gone' });
    await assert.rejects(c.rpc.call('Test.Add', [1]), { code: -32602 });
    await assert.rejects(c.rpc.call('Test.Nope', []), { code: -32601 });
    await c.close();
  });

  test('channel wire format: result is the channel id, then xrpc.ch.val and xrpc.ch.close', async () => {
    const ws = new WebSocket(wsUrl(), { headers: { Authorization: `Bearer ${tokens.read}` } });
    const frames: unknown[] = [];
    const closed = deferred();
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString());
      frames.push(f);
      if (f.method === 'xrpc.ch.close') closed.resolve();
    });
    await new Promise((r) => ws.once('open', r));
    ws.send('{"jsonrpc":"2.0","method":');
    ws.send('{"jsonrpc":"2.0","method":"Test.Count","params":[2],"id":7}');
    await closed.promise;
    const parseError = frames.shift() as { id: null; error: { code: number } };
    assert.equal(parseError.id, null);
    assert.equal(parseError.error.code, -32700, 'malformed JSON over WebSocket');
    assert.deepEqual(frames, [
      { jsonrpc: '2.0', id: 7, result: 1 },
      { jsonrpc: '2.0', method: 'xrpc.ch.val', params: [1, 1] },
      { jsonrpc: '2.0', method: 'xrpc.ch.val', params: [1, 2] },
      { jsonrpc: '2.0', method: 'xrpc.ch.close', params: [1] },
    ]);
    ws.close();
  });

  test('subscription: values then close', async () => {
    const c = createClient(TestAPI, { url: wsUrl(), token: tokens.read });
    const sub = await c.Count(5);
    const got: number[] = [];
    for await (const v of sub) got.push(v);
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.equal(await sub.ended, 'closed');
    // a second subscription on the same connection gets its own id
    const again = await c.Count(1);
    assert.notEqual(again.id, sub.id);
    assert.deepEqual(await collect(again), [1]);
    await c.close();
  });

  test('client cancel ends a subscription on both sides', async () => {
    const c = createClient(TestAPI, { url: wsUrl(), token: tokens.read });
    const sub = await c.Forever();
    const got: number[] = [];
    for await (const v of sub) {
      got.push(v);
      if (got.length === 3) break; // → xrpc.cancel
    }
    assert.deepEqual(got, [0, 1, 2]);
    assert.equal(await sub.ended, 'cancelled');
    await seen.foreverEnded.promise; // the server's generator ran its finally

    const feed = await c.Feed();
    assert.equal((await feed.next()).value, 'a');
    feed.cancel();
    await seen.feedReturned.promise; // the server's PushChannel saw the consumer go
    assert.equal((await feed.next()).done, true);
    await c.close();
  });

  test('client cancel of an in-flight call reaches the server (xrpc.cancel)', async () => {
    const c = createClient(TestAPI, { url: wsUrl(), token: tokens.read });
    await c.Add(0, 0); // connected: the call below reaches the server before the cancel (a busy machine dials slowly)
    const ac = new AbortController();
    const p = c.rpc.call('Test.Slow', [30_000], { signal: ac.signal });
    await sleep(20);
    ac.abort();
    await assert.rejects(p, /Test.Slow: cancelled/);
    assert.equal(await seen.slowAborted.promise, 'cancelled by client');
    seen.slowAborted = deferred();
    await c.close();
  });

  test('request timeout fails the call and cancels it on the server', async () => {
    const c = createClient(TestAPI, { url: wsUrl(), token: tokens.read, timeoutMs: 50 });
    await c.rpc.call('Test.Add', [0, 0], { timeoutMs: 30_000 }); // connected first: a slow dial is not the timeout
    await assert.rejects(c.Slow(30_000), (e: unknown) => {
      assert.ok(e instanceof RpcTimeoutError);
      assert.match(e.message, /Test.Slow: no answer within 50 ms/);
      return true;
    });
    assert.equal(await seen.slowAborted.promise, 'cancelled by client');
    seen.slowAborted = deferred();
    assert.equal(await c.Add(1, 2), 3, 'the connection survives a timeout');
    await c.close();
  });

  test('oversize message closes the connection; pending calls fail clearly', async () => {
    const c = createClient(TestAPI, { url: wsUrl(), token: tokens.read, reconnect: false });
    await assert.rejects(c.Echo('x'.repeat(100 * 1024)), (e: unknown) => {
      assert.ok(e instanceof RpcConnectionError);
      assert.match(e.message, /Test.Echo: connection to .* lost \(code 1009/);
      return true;
    });
    // the next call dials again
    assert.equal(await c.Add(1, 1), 2);
    await c.close();
  });

  test('reconnects after the server restarts; pending calls fail, subscriptions end', async () => {
    const s1 = new RpcServer({ auth: secret });
    s1.register(TestAPI, impl);
    const { port } = await s1.listen();
    let connects = 0;
    const disconnected = deferred<Error>();
    let reconnected = deferred();
    const c = createClient(TestAPI, {
      url: `ws://127.0.0.1:${port}/rpc/v0`,
      token: tokens.read,
      reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
      onConnect: () => {
        connects++;
        if (connects > 1) reconnected.resolve();
      },
      onDisconnect: (e) => disconnected.resolve(e),
    });
    assert.equal(await c.Add(1, 2), 3);
    const sub = await c.Forever();
    assert.equal((await sub.next()).value, 0);
    const pending = c.Slow(30_000);
    await sleep(10);
    await s1.close();
    await assert.rejects(pending, (e: unknown) => e instanceof RpcConnectionError && /lost/.test(e.message));
    assert.equal(await sub.ended, 'disconnected');
    assert.match((await disconnected.promise).message, /connection to ws:\/\/127.0.0.1:\d+\/rpc\/v0 lost/);
    // while the server is down, the client keeps trying with backoff
    await sleep(60);
    const s2 = new RpcServer({ auth: secret });
    s2.register(TestAPI, impl);
    await s2.listen(port);
    await reconnected.promise;
    assert.equal(await c.Add(2, 3), 5);
    const sub2 = await c.Count(2);
    assert.deepEqual(await collect(sub2), [1, 2]);
    await c.close();
    reconnected = deferred();
    await s2.close();
  });

  test('calls while the server is down fail fast with the cause', async () => {
    const c = connect({ url: `ws://127.0.0.1:${await freePort()}/rpc/v0`, reconnect: false });
    await assert.rejects(c.call('Test.Add', [1, 2]), (e: unknown) => {
      assert.ok(e instanceof RpcConnectionError);
      assert.match(e.message, /Test.Add: cannot connect to ws:\/\/127.0.0.1:\d+\/rpc\/v0: ECONNREFUSED/);
      return true;
    });
    await c.close();
  });

  test('server close ends open subscriptions', async () => {
    const s = new RpcServer();
    s.register(TestAPI, impl);
    const { port } = await s.listen();
    const c = createClient(TestAPI, { url: `ws://127.0.0.1:${port}/rpc/v0`, reconnect: false });
    const sub = await c.Forever();
    await sub.next();
    await s.close();
    assert.equal(await sub.ended, 'disconnected');
    await c.close();
  });
});
