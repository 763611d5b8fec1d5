/**
 * Processor lifetimes (security review M6): a task that runs past its timeout fails with
 * ProcessorTimeoutError, the hung child is killed and started again, and later tasks run.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { ExternalPool, ExternalSub, type SubConfig } from './pool.js';
import { ProcessorExitedError, ProcessorTimeoutError } from './protocol.js';

/** Answers {v} with {v, pid}; never answers {hang: true}. */
const CHILD = `
const rl = require('node:readline').createInterface({ input: process.stdin });
process.stdout.write('pc1 processor ready\\n');
rl.on('line', (line) => {
  const { id, task } = JSON.parse(line);
  if (task.hang) return;
  setTimeout(() => process.stdout.write(JSON.stringify({ id, err_msg: null, output: { v: task.v, pid: process.pid } }) + '\\n'), task.delay ?? 0);
});
`;

const CONFIG: SubConfig = {
  stableWaitMs: 10_000,
  envs: {},
  inheritEnvs: true,
  autoRestart: true,
  concurrent: 1,
  cgroup: null,
};

function sub(config: Partial<SubConfig> = {}) {
  return new ExternalSub({
    stage: 'pc1',
    index: 0,
    spawn: { bin: process.execPath, args: ['-e', CHILD] },
    config: { ...CONFIG, ...config },
    restartDelayMs: 50,
  });
}

describe('processor task timeouts (M6)', () => {
  it('a hung task fails at its timeout, the child is killed and restarted, the pool has room again', async () => {
    const s = sub({ timeoutMs: 300, concurrent: 2 });
    const pool = new ExternalPool('pc1', [s]);
    try {
      await pool.start();
      const pid = s.pid!;
      const t0 = Date.now();
      const hung = pool.run({ hang: true });
      await new Promise((r) => setTimeout(r, 100));
      // the other task on that child dies with it (a temporary failure its caller retries)
      const other = assert.rejects(pool.run({ v: 1, delay: 5000 }), ProcessorExitedError);
      await assert.rejects(hung, (e: Error) => {
        assert.ok(e instanceof ProcessorTimeoutError && e instanceof ProcessorExitedError);
        assert.equal(e.message, 'child process exited: pc1 (killed: the task ran past its 300ms timeout)');
        return true;
      });
      assert.ok(Date.now() - t0 < 5000, `failed after ${Date.now() - t0} ms`);
      await other;
      assert.throws(() => process.kill(pid, 0), /ESRCH/);
      const again = (await pool.run({ v: 2 })) as { v: number; pid: number };
      assert.equal(again.v, 2);
      assert.notEqual(again.pid, pid);
      assert.equal(s.inflight, 0);
    } finally {
      await pool.stop();
    }
  });

  it('without a timeout a slow task is waited for', async () => {
    const s = sub({ timeoutMs: null });
    try {
      assert.deepEqual(((await s.call({ v: 3, delay: 400 })) as { v: number }).v, 3);
    } finally {
      await s.stop();
    }
  });

  it('a waiting run() leaves no abort listener behind', async () => {
    const s = sub({ concurrent: 1 });
    const pool = new ExternalPool('pc1', [s]);
    const ac = new AbortController();
    try {
      await pool.start();
      const first = pool.run({ v: 1, delay: 200 });
      const queued = [1, 2, 3].map((v) => pool.run({ v }, ac.signal));
      await Promise.all([first, ...queued]);
      assert.equal(EventEmitter.getEventListeners(ac.signal, 'abort').length, 0);
    } finally {
      await pool.stop();
    }
  });
});
