/**
 * The daemon with `[sealer_rpc] urls` listing two managers over one state (the fake manager of the sealing tests
 * served twice): the first goes away mid-sector, the sector finishes through the second; /metrics says which
 * manager is in use; `worker list` shows the wait while neither answers.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseExposition } from '../common/metrics.js';
import type { RpcServer } from '../rpc/index.js';
import { loadWorkerConfig } from './config.js';
import { WorkerDaemon } from './daemon.js';
import { FakeManager } from './sealing/testkit.js';
import { testBase, until as waitUntil } from './sealing/threads.test-util.js';
import { fileInit, sealInit } from './store.js';

const base = await testBase('worker-failover-');

const until = (what: string, fn: () => boolean | Promise<boolean>, ms = 60_000) => waitUntil(what, fn, ms);

describe('venus-worker daemon with two sector-managers', () => {
  it('fails over to the second manager when the first goes away; /metrics and worker list say so', async () => {
    const store = join(base, 's1');
    const remote = join(base, 'remote');
    await sealInit([store]);
    await fileInit([remote]);
    const mgr = new FakeManager({ sectors: 1 });
    mgr.stores.set(remote, remote);
    mgr.landAfter = 1_000_000; // the PreCommit waits to land until the test lets it
    await mgr.listen();
    const servers: RpcServer[] = [];
    const second = await mgr.serveAlso();
    servers.push(second.server);
    const port2 = Number(new URL(second.url).port);
    const ws = (u: string) => u.replace(/^http:/, 'ws:');
    const file = join(base, 'venus-worker.toml');
    await writeFile(
      file,
      `[sealer_rpc]
urls = ["${ws(mgr.url)}", "${ws(second.url)}"]
[sealing]
recover_interval = "50ms"
seal_interval = "50ms"
rpc_polling_interval = "20ms"
[[store]]
location = "${store}"
[remote]
path = "${remote}"
[worker_server]
host = "127.0.0.1"
port = 0
`,
    );
    const daemon = await WorkerDaemon.start(loadWorkerConfig(file, base));
    const active = async () => {
      const text = await fetch(`http://127.0.0.1:${daemon.address.port}/metrics`).then((r) => r.text());
      const m = parseExposition(text).filter((x) => x.name === 'venus_worker_sealer_rpc_active');
      return Object.fromEntries(m.map((x) => [x.labels.url, x.value]));
    };
    try {
      const thread = daemon.threads[0]!;
      await until('the PreCommit sent', () => mgr.sectors.get(1)?.pre != null);
      assert.deepEqual(await active(), { [`127.0.0.1:${mgr.port}`]: 1, [`127.0.0.1:${port2}`]: 0 });

      // both managers away: the thread says which ones it waits for
      await mgr.down();
      await second.server.close();
      await until('the thread waiting for the managers', () =>
        (thread.info().thread_state.proc ?? '').startsWith('sealer_rpc: waiting for'),
      );
      assert.match(
        thread.info().thread_state.proc!,
        new RegExp(`^sealer_rpc: waiting for 127\\.0\\.0\\.1:${mgr.port}, 127\\.0\\.0\\.1:${port2}, next try `),
      );

      // the second comes back: the sector finishes through it
      mgr.landAfter = 0;
      servers.push((await mgr.serveAlso(port2)).server);
      await until('the sector finalized', () => mgr.sectors.get(1)?.finalized === true);
      assert.deepEqual(await active(), { [`127.0.0.1:${mgr.port}`]: 0, [`127.0.0.1:${port2}`]: 1 });
      assert.deepEqual(
        mgr.messages.map((m) => m.kind),
        ['precommit', 'prove'],
      );
      assert.equal(thread.info().last_error, null);
    } finally {
      await daemon.stop();
      for (const s of servers) await s.close();
    }
  });
});
