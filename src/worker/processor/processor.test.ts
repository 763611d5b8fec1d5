import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { metrics, parseExposition } from '../../common/metrics.js';
import { zeroCommitment } from '../../proofs/index.js';
import type { ProcessorSubConfig } from '../config.js';
import {
  BUILTIN,
  ExternalPool,
  ExternalSub,
  ProcessorExitedError,
  ProcessorTaskError,
  pinToCpuset,
  StageRunner,
  serveProcessor,
} from './index.js';

const root = new URL('../../../', import.meta.url).pathname;
const base = await mkdtemp(join(tmpdir(), 'processor-'));
after(() => rm(base, { recursive: true, force: true }));

const CONFIG: ProcessorSubConfig = {
  stage: 'pc2',
  bin: null,
  args: null,
  stableWaitMs: 5000,
  cgroup: null,
  numaPreferred: null,
  envs: {},
  concurrent: null,
  locks: [],
  autoRestart: true,
  inheritEnvs: true,
};

/**
 * A child written for the tests: answers {v, delay} with {v, env, running} after `delay` ms, reports the most
 * tasks it ever ran at once, exits with code 3 on {crash: true}.
 */
const ECHO = `
const rl = require('node:readline').createInterface({ input: process.stdin });
let running = 0, maxRunning = 0;
process.stdout.write(process.env.READY ?? 'pc2 processor ready\\n');
rl.on('line', (line) => {
  const { id, task } = JSON.parse(line);
  if (task.crash) process.exit(3);
  running++; maxRunning = Math.max(maxRunning, running);
  setTimeout(() => {
    running--;
    if (task.fail) process.stdout.write(JSON.stringify({ id, err_msg: 'bad task', output: null }) + '\\n');
    else process.stdout.write(JSON.stringify({ id, err_msg: null, output: { v: task.v, env: process.env.FOO ?? null, maxRunning, pid: process.pid } }) + '\\n');
  }, task.delay ?? 0);
});
`;

function echoSub(index = 0, config: Partial<ProcessorSubConfig> = {}, env: Record<string, string> = {}) {
  return new ExternalSub({
    stage: 'pc2',
    index,
    spawn: { bin: process.execPath, args: ['-e', ECHO] },
    config: { ...CONFIG, ...config, envs: { ...env, ...config.envs } },
    restartDelayMs: 50,
  });
}

type EchoOut = { v: number; env: string | null; maxRunning: number; pid: number };

describe('external processor protocol', () => {
  it('matches out-of-order responses to their requests by id', async () => {
    const sub = echoSub();
    try {
      await sub.start();
      const order: number[] = [];
      const calls = [300, 10, 120].map((delay, v) =>
        sub.call({ v, delay }).then((o) => {
          order.push((o as EchoOut).v);
          return (o as EchoOut).v;
        }),
      );
      assert.deepEqual(await Promise.all(calls), [0, 1, 2]);
      assert.deepEqual(order, [1, 2, 0]); // answered in completion order, each to its caller
      await assert.rejects(
        sub.call({ fail: true }),
        (e: Error) => e instanceof ProcessorTaskError && /bad task/.test(e.message),
      );
    } finally {
      await sub.stop();
    }
  });

  it('a child that crashes mid-request fails that request, is restarted, and the retry succeeds', async () => {
    const sub = echoSub();
    try {
      await sub.start();
      const pid1 = ((await sub.call({ v: 1 })) as EchoOut).pid;
      const slow = assert.rejects(sub.call({ v: 2, delay: 2000 }), ProcessorExitedError);
      await assert.rejects(
        sub.call({ crash: true }),
        (e: Error) => e instanceof ProcessorExitedError && e.message === 'child process exited: pc2 (exit code 3)',
      );
      await slow; // everything in flight fails with it
      const again = (await sub.call({ v: 3 })) as EchoOut;
      assert.equal(again.v, 3);
      assert.notEqual(again.pid, pid1);
      const restarts = parseExposition(await metrics().text()).find(
        (x) => x.name === 'venus_processor_restarts_total' && x.labels.stage === 'pc2',
      );
      assert.equal(restarts?.value, sub.restarts);
    } finally {
      await sub.stop();
    }
  });

  it('with auto_restart off, a dead child stays out of service', async () => {
    const sub = echoSub(0, { autoRestart: false });
    try {
      await assert.rejects(sub.call({ crash: true }), ProcessorExitedError);
      await assert.rejects(sub.call({ v: 1 }), /auto_restart is off/);
    } finally {
      await sub.stop();
    }
  });

  it('a child that never prints its ready line (or prints another) is refused', async () => {
    const silent = echoSub(0, { stableWaitMs: 300 }, { READY: '' });
    await assert.rejects(
      silent.start(),
      /pc2 processor \(sub 0, .*\) did not print "pc2 processor ready" within 300 ms/,
    );
    await silent.stop();
    const wrong = echoSub(0, {}, { READY: 'c2 processor ready\n' });
    await assert.rejects(wrong.start(), /printed "c2 processor ready" instead of "pc2 processor ready"/);
    await wrong.stop();
    const missing = new ExternalSub({
      stage: 'pc2',
      index: 0,
      spawn: { bin: join(base, 'no-such-bin'), args: [] },
      config: CONFIG,
    });
    await assert.rejects(missing.start(), /could not start: ENOENT|exited before it was ready/);
    await missing.stop();
  });

  it('envs reach the child; per-sub concurrency holds; tasks spread over subs', async () => {
    const subs = [
      echoSub(0, { concurrent: 1, envs: { FOO: 'bar' } }),
      echoSub(1, { concurrent: 1, envs: { FOO: 'bar' } }),
    ];
    const pool = new ExternalPool('pc2', subs);
    try {
      await pool.start();
      const outs = (await Promise.all([0, 1, 2, 3, 4, 5].map((v) => pool.run({ v, delay: 40 })))) as EchoOut[];
      assert.deepEqual(
        outs.map((o) => o.v),
        [0, 1, 2, 3, 4, 5],
      );
      assert.ok(outs.every((o) => o.env === 'bar'));
      assert.ok(
        outs.every((o) => o.maxRunning === 1),
        'a sub with concurrent = 1 never runs two tasks',
      );
      assert.equal(new Set(outs.map((o) => o.pid)).size, 2, 'both subs worked');
    } finally {
      await pool.stop();
    }
  });

  it('serveProcessor answers concurrently and reports task errors as err_msg', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const lines: string[] = [];
    output.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
    const done = serveProcessor(
      'tree_d',
      async (t) => {
        const { ms, fail } = t as { ms: number; fail?: boolean };
        await new Promise((r) => setTimeout(r, ms));
        if (fail) throw new Error('no such file');
        return ms;
      },
      { input, output },
    );
    input.write(
      '{"id":1,"task":{"ms":80}}\n{"id":2,"task":{"ms":5}}\nnot json\n{"id":3,"task":{"ms":1,"fail":true}}\n',
    );
    input.end();
    await done;
    assert.equal(lines[0], 'tree_d processor ready');
    const resp = lines.slice(1).map((l) => JSON.parse(l));
    assert.deepEqual(resp.map((r) => r.id).sort(), [1, 2, 3]);
    assert.equal(resp.at(-1).id, 1); // the slow one last
    assert.deepEqual(
      resp.find((r) => r.id === 3),
      { id: 3, err_msg: 'no such file', output: null },
    );
  });

  it('`venus-worker processor tree_d` computes what the in-process stage computes', async () => {
    const staged = join(base, 'staged');
    await writeFile(staged, new Uint8Array(2048));
    const runner = await StageRunner.create(
      {
        processors: {
          tree_d: [{ ...CONFIG, stage: 'tree_d', stableWaitMs: 60_000 }],
          pc2: [{ ...CONFIG, stableWaitMs: 60_000 }],
        },
        extLocks: {},
      },
      {
        defaultSpawn: (stage) => ({
          bin: process.execPath,
          args: ['--import', 'tsx', join(root, 'src/cli/venus-worker.ts'), 'processor', stage],
        }),
      },
    );
    try {
      assert.equal(runner.where('tree_d'), 'external');
      assert.equal(runner.where('add_pieces'), 'builtin');
      const ext = await runner.run('tree_d', { registered_proof: 5, staged_file: staged, cache_dir: join(base, 'c1') });
      const local = await BUILTIN.tree_d({ registered_proof: 5, staged_file: staged, cache_dir: join(base, 'c2') });
      assert.deepEqual(ext, local);
      assert.deepEqual(ext.comm_d, Array.from(zeroCommitment(2048)));
      assert.deepEqual(
        await readFile(join(base, 'c1', 'sc-02-data-tree-d.dat')),
        await readFile(join(base, 'c2', 'sc-02-data-tree-d.dat')),
      );
      // a task error travels back as err_msg (here: PC2 without PC1's layers)
      await assert.rejects(
        runner.run('pc2', { registered_proof: 5, pc1out: null, cache_dir: join(base, 'c1'), sealed_file: staged }),
        /^ProcessorTaskError: pc2 processor: .*label layer 1/,
      );
    } finally {
      await runner.stop();
    }
  });

  it('cgroup v2: pins into <group>/sub-… when prepared, gives a clear reason otherwise', async () => {
    const cg = join(base, 'cgroup');
    const none = await pinToCpuset({ groupName: 'vc-worker', name: 's', cpuset: '0-1', pid: 1, root: cg });
    assert.ok(!none.ok && /neither cgroup v2 nor a v1 cpuset hierarchy is mounted/.test(none.reason));
    await mkdir(join(cg, 'vc-worker'), { recursive: true });
    await writeFile(join(cg, 'cgroup.controllers'), 'cpuset cpu io memory\n');
    await writeFile(join(cg, 'vc-worker', 'cgroup.subtree_control'), '\n');
    let r = await pinToCpuset({ groupName: 'vc-worker', name: 's', cpuset: '0-1', pid: 1, root: cg });
    assert.ok(!r.ok && /cpuset controller is not enabled .*create-cgroup\.sh/.test(r.reason));
    await writeFile(join(cg, 'vc-worker', 'cgroup.subtree_control'), 'cpuset cpu\n');
    r = await pinToCpuset({ groupName: 'vc-worker', name: 'sub-pc2-1-0', cpuset: '24-27', pid: 4242, root: cg });
    assert.ok(r.ok);
    assert.equal(await readFile(join(cg, 'vc-worker', 'sub-pc2-1-0', 'cpuset.cpus'), 'utf8'), '24-27\n');
    assert.equal(await readFile(join(cg, 'vc-worker', 'sub-pc2-1-0', 'cgroup.procs'), 'utf8'), '4242\n');
    // a sub whose cgroup cannot be used still runs (unpinned, with a warning)
    const sub = new ExternalSub({
      stage: 'pc2',
      index: 0,
      spawn: { bin: process.execPath, args: ['-e', ECHO] },
      config: { ...CONFIG, cgroup: { groupName: 'missing', cpuset: '0' } },
      cgroupRoot: cg,
    });
    try {
      assert.equal(((await sub.call({ v: 7 })) as EchoOut).v, 7);
    } finally {
      await sub.stop();
    }
  });
});
