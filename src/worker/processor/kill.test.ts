/**
 * A processor killed in the middle of a task (not idle): its task fails at once and is retried by its owner on a
 * fresh processor, and nothing the killed processor (or a process it started) writes afterwards is taken as an
 * answer. Processors here are small test programs that take `delay` ms per task, so the kill lands mid-task; one
 * of them runs under a shell wrapper (`bin = "run-c2.sh"` style) whose child outlives a kill of the wrapper alone.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SealerAPI } from '../../api/sealer.js';
import { setupLogging } from '../../common/log.js';
import { createClient } from '../../rpc/index.js';
import type { ProcessorSubConfig, SealingThreadConfig } from '../config.js';
import { SealingThread } from '../sealing/thread.js';
import { fakeManager, quickSealing, testBase, testDeps, until } from '../sealing/threads.test-util.js';
import {
  BUILTIN,
  ExternalSub,
  ProcessorExitedError,
  ProcessorTimeoutError,
  type Sealer,
  StageRunner,
} from './index.js';

setupLogging({ levelSpec: 'error,sealing=silent,processor=silent' });

const base = await testBase('proc-kill-');

/**
 * The test processor: `<script> <stage> <dir>`. Per task it writes <dir>/started-<pid>-<n> when it begins, waits
 * `task.delay` ms (or DELAY), and answers with its pid; a c2 task gets the test double's proof with the pid in it.
 */
const SCRIPT = join(base, 'proc.cjs');
await writeFile(
  SCRIPT,
  `
const { writeFileSync } = require('node:fs');
const [stage, dir] = process.argv.slice(2);
let n = 0;
process.stdout.write(stage + ' processor ready\\n');
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, task } = JSON.parse(line);
  writeFileSync(dir + '/started-' + process.pid + '-' + ++n, '');
  if (task.escape) {
    // a helper outside the processor's process group (setsid) that answers this task late, on the same stdout
    const answer = JSON.stringify({ id, err_msg: null, output: { v: task.v, pid: -1 } }) + '\\n';
    const code = 'setTimeout(() => { process.stdout.write(' + JSON.stringify(answer) + '); require("node:fs").writeFileSync(' + JSON.stringify(dir + '/late-sent') + ', ""); }, ' + task.escape + ')';
    require('node:child_process').spawn(process.execPath, ['-e', code], { detached: true, stdio: ['ignore', 'inherit', 'inherit'] }).unref();
  }
  setTimeout(() => {
    const output = stage === 'c2'
      ? { proof: Buffer.from(JSON.stringify({ c1out: task.c1out, pid: process.pid })).toString('base64') }
      : { v: task.v, pid: process.pid };
    process.stdout.write(JSON.stringify({ id, err_msg: null, output }) + '\\n');
  }, task.delay ?? Number(process.env.DELAY ?? 0));
});
`,
);

const SUB: ProcessorSubConfig = {
  stage: 'c2',
  bin: null,
  args: null,
  stableWaitMs: 10_000,
  cgroup: null,
  numaPreferred: null,
  envs: {},
  concurrent: 1,
  locks: [],
  autoRestart: true,
  inheritEnvs: true,
};

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** pids that started a task, in order, from the started-<pid>-<n> files. */
async function starters(dir: string): Promise<number[]> {
  const names = (await readdir(dir)).filter((f) => f.startsWith('started-'));
  return names.map((f) => Number(f.split('-')[1]));
}

let n = 0;
async function newDir(): Promise<string> {
  const d = join(base, `d${n++}`);
  await mkdir(d, { recursive: true });
  return d;
}

/** A sub whose program is a shell wrapper running the test processor as its child (not exec'd). */
function wrappedSub(dir: string, config: Partial<ProcessorSubConfig> = {}) {
  return new ExternalSub({
    stage: 'pc2',
    index: 0,
    spawn: { bin: '/bin/sh', args: ['-c', '"$0" "$1" pc2 "$2"; exit 0', process.execPath, SCRIPT, dir] },
    config: { ...SUB, stage: 'pc2', ...config },
    restartDelayMs: 50,
  });
}

type Out = { v: number; pid: number };

describe('a processor killed mid-task', () => {
  it('past its timeout under a wrapper: the whole processor goes, the retry runs on a fresh one, the late answer is dropped', async () => {
    const dir = await newDir();
    const sub = wrappedSub(dir, { timeoutMs: 400 });
    try {
      const first = (await sub.call({ v: 0 })) as Out;
      const wrapper = sub.pid!;
      await assert.rejects(sub.call({ v: 1, delay: 1200 }), ProcessorTimeoutError);
      // the owner retries at once: the task must not reach the process of the killed one
      const retried = (await sub.call({ v: 1, delay: 0 })) as Out;
      assert.equal(retried.v, 1);
      assert.notEqual(retried.pid, first.pid, 'the retry ran on the processor that was killed');
      assert.notEqual(sub.pid, wrapper);
      await until('the killed processor gone', () => !alive(first.pid), 3000);
      // past the moment the killed one would have answered: nothing more arrives, the sub still works
      await new Promise((r) => setTimeout(r, 1000));
      assert.equal(((await sub.call({ v: 2 })) as Out).pid, retried.pid);
    } finally {
      await sub.stop();
    }
  });

  it('SIGKILLed from outside under a wrapper: its task fails at once and is retried on a fresh processor', async () => {
    const dir = await newDir();
    const sub = wrappedSub(dir);
    try {
      const task = sub.call({ v: 1, delay: 3000 });
      await until('the task started', async () => (await starters(dir)).length === 1, 20_000);
      const [busy] = await starters(dir);
      const t0 = Date.now();
      process.kill(sub.pid!, 'SIGKILL'); // the OOM killer or an operator: the processor's own pid
      await assert.rejects(task, ProcessorExitedError);
      assert.ok(Date.now() - t0 < 2000, `the task failed ${Date.now() - t0} ms after the kill, not at once`);
      const retried = (await sub.call({ v: 1, delay: 0 })) as Out;
      assert.notEqual(retried.pid, busy);
      await until('the killed processor gone', () => !alive(busy!), 3000);
    } finally {
      await sub.stop();
    }
  });

  it('a late answer from a replaced processor, for a task already retried, is discarded', async () => {
    const dir = await newDir();
    const sub = wrappedSub(dir, { timeoutMs: 400 });
    try {
      const first = (await sub.call({ v: 0 })) as Out;
      // the task hangs; a process that escaped the group answers it 1.5 s later, after its retry is done
      await assert.rejects(sub.call({ v: 1, delay: 60_000, escape: 1500 }), ProcessorTimeoutError);
      const retried = (await sub.call({ v: 1 })) as Out;
      assert.equal(retried.v, 1);
      assert.notEqual(retried.pid, first.pid);
      assert.notEqual(retried.pid, -1);
      // the late answer arrives (its writer says so) and resolves nothing: the next task gets its own answer
      await until('the late answer written', () => existsSync(join(dir, 'late-sent')), 5000);
      await new Promise((r) => setTimeout(r, 100));
      const next = sub.call({ v: 2, delay: 200 });
      assert.deepEqual(await next, { v: 2, pid: retried.pid });
    } finally {
      await sub.stop();
    }
  });

  it("a sealing thread's C2 processor SIGKILLed mid-task: the thread retries it, one proof from the fresh processor reaches the manager", async () => {
    const dir = await newDir();
    const location = join(dir, 'store');
    const { mgr, remote } = await fakeManager(dir, [location]);
    await mgr.listen();
    const runner = await StageRunner.create(
      {
        processors: {
          c2: [{ ...SUB, bin: process.execPath, args: [SCRIPT, 'c2', dir], envs: { DELAY: '1500' } }],
        },
        extLocks: {},
      },
      { restartDelayMs: 50 },
    );
    const sealer: Sealer = {
      run: (stage, task, signal) =>
        stage === 'c2'
          ? runner.run(stage, task, signal)
          : stage === 'c1'
            ? (Promise.resolve({ test_double: 'c1', ...(task as object) }) as never)
            : (BUILTIN[stage] as (t: unknown) => Promise<never>)(task),
      where: (stage) => runner.where(stage),
      stop: () => runner.stop(),
    };
    const cfg: SealingThreadConfig = { location, plan: 'sealer', sealing: quickSealing() };
    const deps = testDeps(createClient(SealerAPI, { url: mgr.url, timeoutMs: 5000 }), remote, { sealer });
    const t = new SealingThread(0, cfg, deps);
    try {
      await t.start();
      await until('C2 in flight', async () => (await starters(dir)).length === 1, 60_000);
      const [killed] = await starters(dir);
      process.kill(killed!, 'SIGKILL');
      await until('the sector finalized', () => mgr.sectors.get(1)?.finalized === true, 60_000);
      const proof = JSON.parse(Buffer.from(mgr.sectors.get(1)!.proof!, 'base64').toString()) as { pid: number };
      const all = await starters(dir);
      assert.equal(all.length, 2, 'C2 ran twice: the killed run and its retry');
      assert.notEqual(proof.pid, killed);
      assert.equal(proof.pid, all[1]);
      assert.deepEqual(
        mgr.messages.filter((m) => m.kind === 'prove'),
        [{ kind: 'prove', number: 1 }],
      );
      const failures = mgr.sectors.get(1)!.states.filter((r) => r.Failure !== null);
      assert.equal(failures.length, 1, 'one temporary failure reported: the killed C2');
      assert.match(failures[0]!.Failure!.Desc, /child process exited/);
      assert.equal(failures[0]!.Failure!.Level, 'Temporary');
    } finally {
      await t.stop();
      await sealer.stop();
      await mgr.down();
    }
  });
});
