import assert from 'node:assert/strict';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { type WebSocket, WebSocketServer } from 'ws';
import { ActorNotFoundError } from '../api/errors.js';
import { FullNodeAPI } from '../api/full.js';
import { createClient, RpcConnectionError, RpcError, RpcTimeoutError } from '../rpc/index.js';
import { preCommitInfo } from './chain.js';

const chainAnswering = (answer: () => unknown) => ({
  StateSectorPreCommitInfo: async () => answer() as never,
});

test("preCommitInfo: null for the node's not-found answer; a failed call is a failure whatever its text", async () => {
  const info = { Info: { SectorNumber: 1 }, PreCommitEpoch: 10 };
  assert.deepEqual(
    await preCommitInfo(
      chainAnswering(() => info),
      1000,
      1,
      [],
    ),
    info,
  );
  assert.equal(
    await preCommitInfo(
      chainAnswering(() => null),
      1000,
      1,
      [],
    ),
    null,
  );
  // Venus v1.6.1: an application error (code 1) saying so
  const venus = () => {
    throw new RpcError(1, 'precommit info does not exist');
  };
  assert.equal(await preCommitInfo(chainAnswering(venus), 1000, 1, []), null);
  // the same words in a failed call: never "no pre-commit" (the sector would be pre-committed again)
  for (const err of [
    new RpcConnectionError('Filecoin.StateSectorPreCommitInfo: cannot reach http://node: HTTP 404 Not Found'),
    new RpcTimeoutError('Filecoin.StateSectorPreCommitInfo', 1000),
    new ActorNotFoundError('actor not found'),
    new Error('lookup node: not found'),
  ]) {
    const failing = () => {
      throw err;
    };
    await assert.rejects(preCommitInfo(chainAnswering(failing), 1000, 1, []), (e: unknown) => e === err);
  }
});

// A chain node (Lotus JSON-RPC over WebSocket) that drops the manager's connection: calls in flight fail at once
// with an error naming the call and the reason, and the client dials again at once (not after its backoff).
async function chainServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const conns: WebSocket[] = [];
  let answering = true;
  wss.on('connection', (ws) => {
    conns.push(ws);
    ws.on('message', (d) => {
      const f = JSON.parse(String(d)) as { id: number; method: string };
      if (!answering) return; // a call the node is still working on
      ws.send(JSON.stringify({ jsonrpc: '2.0', id: f.id, result: 21 }));
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}/rpc/v1`,
    conns,
    hold: (v: boolean) => {
      answering = !v;
    },
    close: () => new Promise((r) => wss.close(r)),
  };
}

for (const how of ['close frame, TCP left open', 'socket destroyed'] as const) {
  test(`chain connection dropped by the node (${how}): pending calls fail at once, the client dials again at once`, async () => {
    const node = await chainServer();
    let connects = 0;
    const chain = createClient(FullNodeAPI, {
      url: node.url,
      // a backoff far longer than the test: only a prompt redial passes
      reconnect: { initialDelayMs: 20_000, maxDelayMs: 20_000 },
      onConnect: () => {
        connects++;
      },
    });
    try {
      assert.equal(await chain.StateNetworkVersion([]), 21);
      node.hold(true);
      const pending = chain.StateNetworkVersion([]);
      pending.catch(() => {});
      await new Promise((r) => setTimeout(r, 50));
      const t0 = Date.now();
      const ws = node.conns[0]!;
      if (how === 'socket destroyed') ws.terminate();
      else {
        // a close frame (1008), then the node neither reads nor ends its side of the TCP connection
        const sock = (ws as unknown as { _socket: Socket })._socket;
        sock.write(Buffer.from([0x88, 0x02, 0x03, 0xf0]));
        sock.pause();
      }
      await assert.rejects(pending, (e: unknown) => {
        assert.ok(e instanceof RpcConnectionError, String(e));
        assert.match(e.message, /^Filecoin\.StateNetworkVersion: connection to ws:\/\/127\.0\.0\.1:\d+\/rpc\/v1 lost/);
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `the pending call failed after ${Date.now() - t0} ms`);
      // dialled again by itself, well before the 20 s backoff
      const end = Date.now() + 5000;
      while (connects < 2) {
        assert.ok(Date.now() < end, 'no redial within 5 s of the drop');
        await new Promise((r) => setTimeout(r, 20));
      }
      node.hold(false);
      assert.equal(await chain.StateNetworkVersion([]), 21);
    } finally {
      await chain.close();
      for (const c of node.conns) c.terminate();
      await node.close();
    }
  });
}
