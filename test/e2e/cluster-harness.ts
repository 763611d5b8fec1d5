/**
 * The processes of an e2e test that runs the built programs (dist/cli): started with their output collected, and
 * stopped when the test file ends — Ctrl-C first, so `venus-cluster` stops the programs it started (a SIGKILL would
 * orphan them), then SIGKILL after 30 s — with the temporary home removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** A built program: `node dist/cli/<name>.js`. */
export const cli = (name: string) => join(root, 'dist', 'cli', `${name}.js`);

export interface Started {
  child: ChildProcess;
  /** stdout and stderr so far */
  output: () => string;
  exited: Promise<number | null>;
}

/** A temporary home and the processes of one test file, all cleaned up after it. */
export function e2eProcesses(prefix: string) {
  const home = mkdtempSync(join(tmpdir(), prefix));
  const children: ChildProcess[] = [];
  after(async () => {
    const live = children.filter((c) => c.exitCode === null && c.signalCode === null);
    for (const c of live) c.kill('SIGINT');
    const deadline = Date.now() + 30_000;
    while (live.some((c) => c.exitCode === null && c.signalCode === null) && Date.now() < deadline) await sleep(200);
    for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  });

  /** Starts `node …args` in the repository root. */
  function start(args: string[]): Started {
    const c = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    c.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    c.stderr?.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => c.once('close', (code) => resolve(code)));
    return { child: c, output: () => out, exited };
  }

  /** Runs `node …args` to its end (SIGINT after `timeoutMs`). */
  async function run(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
    const p = start(args);
    const t = setTimeout(() => p.child.kill('SIGINT'), timeoutMs);
    const code = await p.exited;
    clearTimeout(t);
    return { code, out: p.output() };
  }

  /** A process started otherwise, stopped with the rest. */
  const track = (c: ChildProcess) => {
    children.push(c);
  };

  return { home, start, run, track };
}
