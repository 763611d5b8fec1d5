// End-to-end tests of the RPC layer over WebSocket on 127.0.0.1: calls, channels, cancellation, reconnection.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { connect, createClient, RpcConnectionError, RpcServer, RpcTimeoutError } from './index.js';
import {
  base,
  collect,
  deferred,
  freePort,
  impl,
  secret,
  seen,
  TestAPI,
  tokens,
  useTestServer,
} from './rpc.test-util.js';

useTestServer();

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
    pending.catch(() => {}); // it fails while s1.close() is still under way (asserted below)
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
