import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createClient, defineApi, method, RpcError, RpcServer } from '../rpc/index.js';
import { setupLogging } from './log.js';
import { mountMetrics, parseExposition, type Sample, ServiceMetrics, sectorSizeLabel } from './metrics.js';

setupLogging({ levelSpec: 'silent' });

const PingAPI = defineApi('Test', {
  Ping: method<[n: number], number>('read', 1),
  Broken: method<[], never>('read'),
});

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const hit = find(samples, name, labels);
  assert.ok(hit.length <= 1, `${name} ${JSON.stringify(labels)} matches ${hit.length} samples`);
  return hit[0]?.value;
}

describe('metrics', () => {
  test('GET /metrics on an RpcServer reports calls, errors and latency per method, and process metrics', async () => {
    const m = new ServiceMetrics({ program: 'venus-test' });
    const server = new RpcServer({ hooks: m.rpcHooks() });
    server.register(PingAPI, {
      Ping: (n: number) => n + 1,
      Broken: () => {
        throw new RpcError(11001, 'sector state not found');
      },
    });
    mountMetrics(server, m);
    const { port } = await server.listen();
    try {
      const c = createClient(PingAPI, { url: `http://127.0.0.1:${port}/rpc/v0`, hooks: m.rpcClientHooks() });
      assert.equal(await c.Ping(1), 2);
      assert.equal(await c.Ping(2), 3);
      await assert.rejects(c.Broken(), /sector state not found/);

      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      assert.match(text, /# TYPE venus_rpc_calls_total counter/);
      assert.match(text, /# HELP venus_rpc_duration_seconds /);
      const s = parseExposition(text);

      assert.equal(value(s, 'venus_rpc_calls_total', { method: 'Test.Ping', transport: 'http' }), 2);
      assert.equal(value(s, 'venus_rpc_calls_total', { method: 'Test.Broken', transport: 'http' }), 1);
      assert.equal(value(s, 'venus_rpc_errors_total', { method: 'Test.Broken', code: '11001' }), 1);
      assert.equal(find(s, 'venus_rpc_errors_total', { method: 'Test.Ping' }).length, 0);
      assert.equal(value(s, 'venus_rpc_duration_seconds_count', { method: 'Test.Ping' }), 2);
      assert.equal(value(s, 'venus_rpc_duration_seconds_bucket', { method: 'Test.Ping', le: '+Inf' }), 2);
      assert.equal(value(s, 'venus_rpc_in_flight', { method: 'Test.Ping' }), 0);
      // the client side of the same calls
      assert.equal(value(s, 'venus_rpc_client_calls_total', { method: 'Test.Ping' }), 2);
      assert.equal(value(s, 'venus_rpc_client_errors_total', { method: 'Test.Broken', code: '11001' }), 1);
      // every series carries the program; default metrics are there
      assert.ok(s.every((x) => x.labels.program === 'venus-test'));
      assert.ok(find(s, 'process_cpu_user_seconds_total').length === 1);
      assert.ok(find(s, 'nodejs_heap_size_used_bytes').length === 1);
    } finally {
      await server.close();
    }
  });

  test('sectors per state are replaced, not accumulated', async () => {
    const m = new ServiceMetrics({ defaults: false });
    m.setSectorStates({ PC1Done: 2, Finalized: 1 });
    m.setSectorStates(new Map([['Finalized', 3]]));
    const s = parseExposition(await m.text());
    assert.equal(value(s, 'venus_sectors', { state: 'Finalized' }), 3);
    assert.equal(find(s, 'venus_sectors', { state: 'PC1Done' }).length, 0);
    m.setThreadStates({ Running: 1, Idle: 1 });
    const t = parseExposition(await m.text());
    assert.equal(value(t, 'venus_sealing_threads', { state: 'Running' }), 1);
  });

  test('phase histograms are per phase and sector size; failed phases count apart', async () => {
    const m = new ServiceMetrics({ defaults: false });
    m.observePhase('pc1', 2048, 0.02);
    m.observePhase('pc1', 2048, 7);
    m.observePhase('pc1', 8 << 20, 40);
    const done = m.phaseTimer('c2', '8MiB');
    assert.ok(done() >= 0);
    done(); // a second call does not count twice
    const failed = m.phaseTimer('pc2', 2048);
    failed('temporary');
    const s = parseExposition(await m.text());
    const pc1 = { phase: 'pc1', sector_size: '2KiB' };
    assert.equal(value(s, 'venus_sector_phase_duration_seconds_count', pc1), 2);
    assert.equal(value(s, 'venus_sector_phase_duration_seconds_sum', pc1), 7.02);
    assert.equal(value(s, 'venus_sector_phase_duration_seconds_bucket', { ...pc1, le: '0.025' }), 1);
    assert.equal(value(s, 'venus_sector_phase_duration_seconds_bucket', { ...pc1, le: '10' }), 2);
    assert.equal(value(s, 'venus_sector_phase_duration_seconds_count', { phase: 'pc1', sector_size: '8MiB' }), 1);
    assert.equal(value(s, 'venus_sector_phase_duration_seconds_count', { phase: 'c2', sector_size: '8MiB' }), 1);
    assert.equal(find(s, 'venus_sector_phase_duration_seconds_count', { phase: 'pc2' }).length, 0);
    assert.equal(
      value(s, 'venus_sector_phase_errors_total', { phase: 'pc2', sector_size: '2KiB', kind: 'temporary' }),
      1,
    );
  });

  test('Window PoSt proofs and faults per deadline; processor restarts per stage', async () => {
    const m = new ServiceMetrics({ defaults: false });
    m.recordPoSt({ miner: 't01000', deadline: 3, ok: true, epoch: 250, proven: 2, faulty: 0 });
    m.recordPoSt({ miner: 1000, deadline: 3, ok: false, epoch: 3130, faulty: 1 });
    m.recordPoSt({ miner: 'f01000', deadline: 4, ok: true, epoch: 3190, proven: 1, faulty: 0 });
    m.processorRestarted('pc2');
    m.processorRestarted('pc2');
    const s = parseExposition(await m.text());
    const d3 = { miner: '1000', deadline: '3' };
    assert.equal(value(s, 'venus_wdpost_proofs_total', { ...d3, result: 'ok' }), 1);
    assert.equal(value(s, 'venus_wdpost_proofs_total', { ...d3, result: 'failed' }), 1);
    assert.equal(value(s, 'venus_wdpost_last_epoch', d3), 3130);
    assert.equal(value(s, 'venus_wdpost_last_ok', d3), 0);
    assert.equal(value(s, 'venus_wdpost_last_ok', { miner: '1000', deadline: '4' }), 1);
    assert.equal(value(s, 'venus_wdpost_faulty_sectors', d3), 1);
    assert.equal(value(s, 'venus_wdpost_proven_sectors', d3), 2); // a failure keeps the last good count
    assert.equal(value(s, 'venus_wdpost_proven_sectors', { miner: '1000', deadline: '4' }), 1);
    assert.equal(value(s, 'venus_processor_restarts_total', { stage: 'pc2' }), 2);
  });

  test('sector size labels and exposition parsing', () => {
    assert.equal(sectorSizeLabel(2048), '2KiB');
    assert.equal(sectorSizeLabel(8 << 20), '8MiB');
    assert.equal(sectorSizeLabel(32 * 2 ** 30), '32GiB');
    assert.equal(sectorSizeLabel(1000), '1000B');
    assert.deepEqual(parseExposition('# HELP x y\nx{a="q\\"z",b="2"} 1.5\ny +Inf\nbad line here\n'), [
      { name: 'x', labels: { a: 'q"z', b: '2' }, value: 1.5 },
      { name: 'y', labels: {}, value: Number.POSITIVE_INFINITY },
    ]);
  });
});
