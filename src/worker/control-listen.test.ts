import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ListenError, RpcServer } from '../rpc/index.js';
import { listenControl } from './control.js';
import type { ControlServerConfig } from './control-config.js';

const cfg = (host: string, port: number): ControlServerConfig => ({
  host,
  port,
  section: 'worker_server',
  authDir: '/nonexistent',
  managerSecretPath: null,
  openMetrics: false,
});

test('a control address that cannot be bound is one line naming the config key, chosen by the system code', async () => {
  const first = new RpcServer({ auth: null });
  const { port } = await first.listen({ host: '127.0.0.1', port: 0 });
  try {
    // the RPC layer keeps the system's code
    const second = new RpcServer({ auth: null });
    await assert.rejects(
      second.listen({ host: '127.0.0.1', port }),
      (e: unknown) => e instanceof ListenError && e.code === 'EADDRINUSE',
    );
    await assert.rejects(
      listenControl(new RpcServer({ auth: null }), cfg('127.0.0.1', port)),
      new RegExp(`^UserError: \\[worker_server\\] port: 127\\.0\\.0\\.1:${port} is already in use`),
    );
  } finally {
    await first.close();
  }
  // TEST-NET-1 (RFC 5737) is no local address
  await assert.rejects(
    listenControl(new RpcServer({ auth: null }), cfg('192.0.2.1', 0)),
    /^UserError: \[worker_server\] host: cannot listen on 192\.0\.2\.1:0: no such local address$/,
  );
});
