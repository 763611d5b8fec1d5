/**
 * A sealing thread talking to two sector-managers over one state (two managers sharing a database), through the
 * worker's failover client (sealer-rpc.ts): the first is closed mid-sector and the sector finishes through the
 * second, nothing sent twice; with both down the thread shows which managers it waits for, and goes on when one
 * is back. Stages are the real 2KiB ones except C1/C2 (test doubles, threads.test-util.ts).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { SealerAPI } from '../../api/sealer.js';
import { setupLogging } from '../../common/log.js';
import { createClient, type RpcServer } from '../../rpc/index.js';
import type { SealingThreadConfig } from '../config.js';
import { SealerRpcClient } from '../sealer-rpc.js';
import { SealingThread } from './thread.js';
import { fakeManager, quickSealing, testBase, testDeps, until } from './threads.test-util.js';

setupLogging({ levelSpec: 'warn,rpc=silent,sealer_rpc=silent,sealing=silent' });

const base = await testBase('failover-');

let n = 0;
async function setup() {
  const dir = join(base, `t${n++}`);
  const location = join(dir, 'store');
  const { mgr, remote } = await fakeManager(dir, [location]);
  await mgr.listen();
  const second = await mgr.serveAlso();
  const urls = [mgr.url, second.url].map((u) => u.replace(/^http:/, 'ws:'));
  const registry = new Registry();
  const rpc = new SealerRpcClient({ urls, timeoutMs: 5000, initialBackoffMs: 20, maxBackoffMs: 100, registry });
  const cfg: SealingThreadConfig = { location, plan: 'sealer', sealing: quickSealing({ maxRetries: 1 }) };
  const deps = testDeps(createClient(SealerAPI, rpc), remote);
  const servers: RpcServer[] = [second.server];
  const t = new SealingThread(0, cfg, deps);
  const cleanup = async () => {
    await t.stop();
    await rpc.close();
    await mgr.down();
    for (const s of servers) await s.close();
  };
  return { mgr, second, servers, rpc, t, cleanup, port2: Number(new URL(second.url).port) };
}

describe('sealing thread with two sector-managers', () => {
  it('the first manager goes away mid-sector: the sector finishes through the second, nothing sent twice', async () => {
    const s = await setup();
    try {
      let closed = false;
      s.mgr.onReport = (_sid, req) => {
        if (req.StateChange.Next === 'PC1Done' && !closed) {
          closed = true;
          setImmediate(() => void s.mgr.down());
        }
      };
      await s.t.start();
      await until('the sector finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      assert.ok(closed);
      assert.equal(s.rpc.failovers, 1);
      assert.equal(s.rpc.active, `127.0.0.1:${s.port2}`);
      assert.deepEqual(s.mgr.messages, [
        { kind: 'precommit', number: 1 },
        { kind: 'prove', number: 1 },
      ]);
      const sector = s.mgr.sectors.get(1)!;
      assert.equal(sector.abortReason, null);
      assert.equal(sector.persisted, 'remote');
      assert.equal(s.t.info().last_error, null, 'the failover is not a failure of the sector');
      assert.ok(!sector.states.some((r) => r.Failure !== null), 'no step failed');
    } finally {
      await s.cleanup();
    }
  });

  it('both managers down: the thread waits for them (worker list says which), then goes on', async () => {
    const s = await setup();
    try {
      s.mgr.landAfter = 1_000_000; // the PreCommit does not land while the managers go away
      await s.t.start();
      await until('the PreCommit sent', () => s.mgr.sectors.get(1)?.pre != null);
      await s.mgr.down();
      await s.second.server.close();
      await until('waiting for the managers', () =>
        (s.t.info().thread_state.proc ?? '').startsWith('sealer_rpc: waiting for'),
      );
      const info = s.t.info();
      assert.equal(info.thread_state.state, 'Waiting');
      assert.match(
        info.thread_state.proc!,
        new RegExp(
          `^sealer_rpc: waiting for 127\\.0\\.0\\.1:${s.mgr.port}, 127\\.0\\.0\\.1:${s.port2}, next try \\d\\d:\\d\\d:\\d\\d$`,
        ),
      );
      // the second comes back on its address; the PreCommit lands
      s.mgr.landAfter = 0;
      s.servers.push((await s.mgr.serveAlso(s.port2)).server);
      await until('the sector finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      assert.deepEqual(s.mgr.messages, [
        { kind: 'precommit', number: 1 },
        { kind: 'prove', number: 1 },
      ]);
      assert.equal(s.t.info().last_error, null);
    } finally {
      await s.cleanup();
    }
  });
});
