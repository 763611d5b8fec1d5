/**
 * The worker's client of several sector-managers (sealer-rpc.ts) against real RPC servers: failover on a closed
 * server, a lost socket and a timeout; application errors answered as they are; the wait while none answers.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { setupLogging } from '../common/log.js';
import { createClient, defineApi, method, RpcConnectionError, RpcError, RpcServer } from '../rpc/index.js';
import { endpointOf, type ManagerWaitHost, managerWaits, SealerRpcClient } from './sealer-rpc.js';

// the client's log lines, as JSON, to check what a failover says (and that no header ever shows)
const logged: string[] = [];
const dest = new PassThrough();
dest.on('data', (d: Buffer) => logged.push(...d.toString().split('\n').filter(Boolean)));
setupLogging({ levelSpec: 'silent,sealer_rpc=info', format: 'json', dest });
const SECRET = 'Bearer s3cr3t-t0ken';

const API = defineApi('Venus', {
  Who: method<[], string>('read'),
  Refuse: method<[], never>('read'),
  Slow: method<[ms: number], string>('read', 1),
});

interface Mgr {
  name: string;
  server: RpcServer;
  port: number;
  calls: string[];
}

const started: RpcServer[] = [];
after(async () => {
  for (const s of started) await s.close();
});

async function manager(name: string, port = 0): Promise<Mgr> {
  const calls: string[] = [];
  const server = new RpcServer({ auth: null });
  server.register(API, {
    Who: () => {
      calls.push('Who');
      return name;
    },
    Refuse: () => {
      calls.push('Refuse');
      throw new RpcError(1, `${name} refuses`);
    },
    Slow: async (ms) => {
      calls.push('Slow');
      // only "a" is slow: the hung manager of the timeout test
      if (name === 'a') await new Promise((r) => setTimeout(r, ms));
      return name;
    },
  });
  const addr = await server.listen({ host: '127.0.0.1', port });
  started.push(server);
  return { name, server, port: addr.port, calls };
}

function client(urls: string[], timeoutMs = 2000) {
  const registry = new Registry();
  const rpc = new SealerRpcClient({
    urls,
    headers: { Authorization: SECRET },
    timeoutMs,
    initialBackoffMs: 20,
    maxBackoffMs: 50,
    registry,
  });
  return { rpc, api: createClient(API, rpc), registry };
}

async function active(registry: Registry): Promise<Record<string, number>> {
  const m = await registry.getSingleMetric('venus_worker_sealer_rpc_active')!.get();
  return Object.fromEntries(m.values.map((v) => [String(v.labels.url), v.value]));
}

describe('sealer_rpc failover', () => {
  for (const scheme of ['ws', 'http'] as const) {
    it(`${scheme}: the first manager closed mid-run, calls go on at the second`, async () => {
      const a = await manager('a');
      const b = await manager('b');
      const urls = [a, b].map((m) => `${scheme}://127.0.0.1:${m.port}/rpc/v0`);
      const { rpc, api, registry } = client(urls);
      try {
        assert.equal(await api.Who(), 'a');
        assert.equal(await api.Who(), 'a');
        assert.deepEqual(await active(registry), { [`127.0.0.1:${a.port}`]: 1, [`127.0.0.1:${b.port}`]: 0 });
        // a call in flight when the first manager goes away (ws: its socket is closed under it)
        const inflight = api.Slow(300);
        await new Promise((r) => setTimeout(r, 50));
        await a.server.close();
        // its connection is closed under it: the call is sent again to the second manager
        assert.equal(await inflight, 'b');
        for (let i = 0; i < 5; i++) assert.equal(await api.Who(), 'b');
        assert.equal(rpc.failovers, 1);
        assert.equal(rpc.active, `127.0.0.1:${b.port}`);
        assert.deepEqual(await active(registry), { [`127.0.0.1:${a.port}`]: 0, [`127.0.0.1:${b.port}`]: 1 });
        assert.equal(a.calls.filter((c) => c === 'Who').length, 2);
        const line = logged.map((l) => JSON.parse(l)).find((l) => /failover/.test(l.msg) && l.to === rpc.active);
        assert.ok(line, logged.join('\n'));
        assert.equal(line.level, 'info');
        assert.equal(line.from, `127.0.0.1:${a.port}`);
        assert.equal(line.method, 'Venus.Slow');
      } finally {
        await rpc.close();
      }
    });
  }

  it('an error answer is not retried on another manager', async () => {
    const a = await manager('a');
    const b = await manager('b');
    const { rpc, api } = client([a, b].map((m) => `ws://127.0.0.1:${m.port}/rpc/v0`));
    try {
      await assert.rejects(api.Refuse(), (e) => e instanceof RpcError && /a refuses/.test(e.message));
      assert.deepEqual(b.calls, []);
      assert.equal(rpc.failovers, 0);
      assert.equal(await api.Who(), 'a');
    } finally {
      await rpc.close();
    }
  });

  it('a timeout fails over (the hung manager is left)', async () => {
    const a = await manager('a');
    const b = await manager('b');
    const { rpc, api } = client(
      [a, b].map((m) => `ws://127.0.0.1:${m.port}/rpc/v0`),
      200,
    );
    try {
      // a does not answer within 200 ms: the same call goes to b, which stays in use
      assert.equal(await api.Slow(500), 'b');
      assert.equal(await api.Who(), 'b');
      assert.equal(rpc.failovers, 1);
      assert.deepEqual(a.calls, ['Slow']);
    } finally {
      await rpc.close();
    }
  });

  it('none answers: other callers get an error naming every manager; a sealing thread waits, then goes on', async () => {
    const a = await manager('a');
    const b = await manager('b');
    const urls = [a, b].map((m) => `ws://127.0.0.1:${m.port}/rpc/v0`);
    const { rpc, api } = client(urls);
    try {
      assert.equal(await api.Who(), 'a');
      await a.server.close();
      await b.server.close();
      await assert.rejects(api.Who(), (e) => {
        assert.ok(e instanceof RpcConnectionError, String(e));
        assert.match(e.message, /no sector-manager answered/);
        assert.match(e.message, new RegExp(`127\\.0\\.0\\.1:${a.port}: .*127\\.0\\.0\\.1:${b.port}: `));
        return true;
      });
      const waits: ({ targets: string[]; first: boolean } | null)[] = [];
      const ctl = new AbortController();
      const host: ManagerWaitHost = {
        signal: ctl.signal,
        waiting: (w) => waits.push(w && { targets: w.targets, first: w.first }),
      };
      const call = managerWaits.run(host, () => api.Who());
      // the thread waits for both; b comes back on its port
      for (let i = 0; i < 200 && waits.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(waits[0], { targets: urls.map(endpointOf), first: true });
      assert.equal(waits[1]?.first, false);
      await manager('b2', b.port);
      assert.equal(await call, 'b2');
      assert.equal(waits.at(-1), null);
      // a pause ends a wait at once
      await started.at(-1)!.close();
      const paused = managerWaits.run(host, () => api.Who());
      await new Promise((r) => setTimeout(r, 50));
      ctl.abort(new Error('paused by the operator'));
      await assert.rejects(paused, /paused by the operator/);
    } finally {
      await rpc.close();
    }
  });

  it('host:port only in the gauge and logs; headers never in a log', () => {
    assert.ok(logged.length > 0);
    assert.ok(!logged.some((l) => l.includes('s3cr3t')));
    assert.equal(endpointOf('wss://user:secret@m1.example:1789/rpc/v0?token=abc'), 'm1.example:1789');
    assert.equal(endpointOf('http://[::1]:1789/rpc/v0'), '[::1]:1789');
  });
});
