// End-to-end tests of the RPC layer over real sockets on 127.0.0.1: HTTP and auth (WebSocket: rpc-ws.test.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SignJWT } from 'jose';
import {
  createClient,
  createToken,
  ErrorCode,
  generateSecret,
  MissingPermissionError,
  RpcConnectionError,
  RpcError,
  RpcServer,
} from './index.js';
import { base, freePort, impl, post, secret, TestAPI, tokens, useTestServer } from './rpc.test-util.js';

useTestServer();

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
