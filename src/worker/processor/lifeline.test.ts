/**
 * Security review M5: a processor must not outlive its worker. A real parent (ExternalSub, as the worker runs
 * it) starts a real processor (serveProcessor) and gives it a task that writes a marker when done; the parent is
 * SIGKILLed mid-task. The processor must be gone within a few seconds and the marker must never appear: once
 * through its stdin ending, once while the task holds the processor's main thread (the parent-pid watchdog).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const root = new URL('../../../', import.meta.url).pathname;
const base = await mkdtemp(join(tmpdir(), 'lifeline-'));
after(() => rm(base, { recursive: true, force: true }));

const CHILD = `
import { writeFileSync } from 'node:fs';
import { serveProcessor } from ${JSON.stringify(join(root, 'src/worker/processor/serve.js'))};
await serveProcessor('pc1', async (t) => {
  writeFileSync(t.started, String(process.pid));
  if (t.busy) {
    const end = Date.now() + t.ms;
    while (Date.now() < end) {} // a stage that keeps the main thread busy
  } else {
    await new Promise((r) => setTimeout(r, t.ms));
  }
  writeFileSync(t.marker, 'written after the worker died');
  return null;
});
`;

const PARENT = `
import { ExternalSub } from ${JSON.stringify(join(root, 'src/common/extproc/pool.js'))};
const sub = new ExternalSub({
  stage: 'pc1',
  index: 0,
  spawn: { bin: process.execPath, args: ['--import', 'tsx', process.argv[2]] },
  config: { stableWaitMs: 120000, envs: {}, inheritEnvs: true, autoRestart: false, concurrent: null, cgroup: null },
});
await sub.start();
await sub.call(JSON.parse(process.argv[3]));
`;

/** Alive and not a zombie (an orphan's reaper may be slow to collect it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** What /proc says of a process (state, parent, threads), for a failure's message. */
function procState(pid: number): string {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const keep = status.split('\n').filter((l) => /^(State|PPid|Threads):/.test(l));
    return keep.join(', ').replace(/\t/g, ' ');
  } catch (err) {
    return `no /proc entry (${(err as Error).message})`;
  }
}

async function until(what: string, fn: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let n = 0;
async function killParentMidTask(busy: boolean): Promise<void> {
  const dir = join(base, `t${n++}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  const child = join(dir, 'child.mts');
  const parentFile = join(dir, 'parent.mts');
  await writeFile(child, CHILD);
  await writeFile(parentFile, PARENT);
  const task = { started: join(dir, 'started'), marker: join(dir, 'marker'), ms: 6000, busy };
  let stderr = '';
  const parent = spawn(process.execPath, ['--import', 'tsx', parentFile, child, JSON.stringify(task)], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  parent.stderr!.on('data', (c: Buffer) => {
    stderr += c;
  });
  const parentGone = new Promise<void>((r) => parent.once('exit', () => r()));
  let pid = 0;
  try {
    await until('the processor started the task', () => existsSync(task.started) || parent.exitCode !== null, 60_000);
    assert.equal(parent.exitCode, null, 'the parent exited early');
    pid = Number(readFileSync(task.started, 'utf8'));
    assert.ok(alive(pid));
    parent.kill('SIGKILL');
    await parentGone;
    const t0 = Date.now();
    await until(`processor ${pid} to exit after its parent's SIGKILL`, () => !alive(pid), 5000);
    const took = Date.now() - t0;
    // the task would have finished ~6 s after it started: give it that time, then look for its output
    await new Promise((r) => setTimeout(r, 6500));
    assert.equal(existsSync(task.marker), false, 'the orphaned processor kept working');
    assert.ok(took < 5000, `exited ${took} ms after the parent`);
  } catch (err) {
    (err as Error).message += `\nprocessor ${pid}: ${procState(pid)}\nparent stderr:\n${stderr.slice(-2000)}`;
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    throw err;
  } finally {
    if (parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
  }
}

describe('processors die with their worker (M5)', () => {
  it('stdin ends when the worker is SIGKILLed: the processor exits mid-task, writing nothing more', () =>
    killParentMidTask(false));
  it('with its main thread busy in a stage, the parent-pid watchdog still ends it', () => killParentMidTask(true));
});
