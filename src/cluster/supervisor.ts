/**
 * A small process supervisor for the one-command cluster: each program runs as its own process with its own
 * log file, readiness is waited for by probing (an RPC port, a log line), and a failure is always reported with
 * the tail of the failing program's log — never a silent hang.
 *
 * Daemons get their own process group (so the terminal's Ctrl-C reaches only the runner, which then stops them
 * in reverse start order) and write straight into their log file (so they outlive nothing but also lose nothing
 * if the runner dies). One-shot commands (init, setpwd, import, miner create) are piped: their stdout is
 * returned and copied into the program's log.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { closeSync, openSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { appendLine, fileSize, LogFollower, logTail, stamp } from './process-log.js';
import {
  type CommandResult,
  type CommandSpec,
  type DaemonSpec,
  type FailureKind,
  ProcessError,
  type ProcessSpec,
  type RunningProcess,
} from './process-spec.js';

/** The marker the CLIs print for a command whose implementation has not landed (common/cli.ts pending()). */
const NOT_IMPLEMENTED = /is not implemented yet/;

/** "0.3 s", "12 s", "2 min". */
function secs(ms: number): string {
  if (ms < 10_000) return `${Number((ms / 1000).toFixed(1))} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Number((ms / 60_000).toFixed(1))} min`;
}

function displayOf(spec: ProcessSpec): string {
  return spec.display ?? [spec.command, ...spec.args].join(' ');
}

export interface SupervisorEvents {
  /** A daemon exited while it was expected to run (and was not, or can no longer be, restarted). */
  failure: [ProcessError];
  /** A daemon that died was started again and is ready: the new process. */
  restarted: [RunningProcess];
  /** Progress for the operator (start, ready, stop). */
  info: [string];
}

/**
 * Starts daemons and one-shot commands, waits for readiness, reports failures, stops everything in reverse.
 * Listen to 'failure' (or await failed()) to learn that a running daemon died.
 */
export class Supervisor extends EventEmitter<SupervisorEvents> {
  private readonly running: RunningProcess[] = [];
  private stopping = false;
  private stopAllPromise: Promise<void> | undefined;
  private firstFailure: ProcessError | undefined;
  private readonly failureWaiters: ((e: ProcessError) => void)[] = [];
  /** Children of one-shot commands in flight, so stopAll() can end them too. */
  private readonly oneShots = new Set<ChildProcess>();
  /** Deaths per daemon name (ms timestamps), for the restart window. */
  private readonly deaths = new Map<string, number[]>();
  /** Pending restart delays, cancelled by stopAll(). */
  private readonly restartDelay = new AbortController();

  /** Daemons started and not yet stopped, in start order. */
  processes(): readonly RunningProcess[] {
    return this.running;
  }

  /** Resolves with the first unexpected exit of a daemon (never resolves if none happens). */
  failed(): Promise<ProcessError> {
    if (this.firstFailure) return Promise.resolve(this.firstFailure);
    return new Promise((resolve) => this.failureWaiters.push(resolve));
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Run a command to completion; resolves with its stdout. A non-zero exit, a timeout or a "not implemented
   * yet" answer rejects with a ProcessError quoting the command's output.
   */
  async run(spec: CommandSpec): Promise<CommandResult> {
    if (this.stopping) throw new Error(`not running ${spec.name}: shutting down`);
    appendLine(spec.logFile, `=== ${stamp()} $ ${displayOf(spec)}`);
    const logFrom = fileSize(spec.logFile);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: [spec.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    this.oneShots.add(child);
    const out: Buffer[] = [];
    const all: Buffer[] = [];
    const fd = openSync(spec.logFile, 'a');
    const copy = (b: Buffer) => {
      try {
        writeSync(fd, b);
      } catch {
        // a full disk must not hide the command's own result
      }
    };
    child.stdout?.on('data', (b: Buffer) => {
      out.push(b);
      all.push(b);
      copy(b);
    });
    child.stderr?.on('data', (b: Buffer) => {
      all.push(b);
      copy(b);
    });
    if (spec.stdin !== undefined) {
      child.stdin?.on('error', () => {}); // the command may exit before reading it all
      child.stdin?.end(spec.stdin);
    }
    const timeoutMs = spec.timeoutMs ?? 120_000;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const result = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; err?: Error }>((resolve) => {
      child.once('error', (err) => resolve({ code: null, signal: null, err }));
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
    clearTimeout(timer);
    this.oneShots.delete(child);
    closeSync(fd);
    const tail = logTail(spec.logFile, logFrom);
    if (result.err) {
      throw new ProcessError(
        'spawn',
        spec.name,
        `cannot start ${displayOf(spec)}: ${result.err.message}`,
        spec.logFile,
        tail,
      );
    }
    if (timedOut) {
      throw new ProcessError(
        'failed',
        spec.name,
        `${displayOf(spec)} did not finish within ${secs(timeoutMs)}`,
        spec.logFile,
        tail,
        result.code,
        result.signal,
      );
    }
    if (result.code !== 0) {
      const pending = tail.find((l) => NOT_IMPLEMENTED.test(l));
      if (pending) {
        throw new ProcessError(
          'not-implemented',
          spec.name,
          `cannot go on: ${displayOf(spec)} answers "${pending.replace(/^Error:\s*/, '')}"`,
          spec.logFile,
          tail,
          result.code,
        );
      }
      const how = result.signal ? `was killed by ${result.signal}` : `failed with exit code ${result.code}`;
      throw new ProcessError(
        'failed',
        spec.name,
        `${displayOf(spec)} ${how}`,
        spec.logFile,
        tail,
        result.code,
        result.signal,
      );
    }
    return { stdout: Buffer.concat(out).toString('utf8'), output: Buffer.concat(all).toString('utf8') };
  }

  /**
   * Start a daemon and wait until it is ready. Rejects with a ProcessError if it exits first or is not ready
   * in time (then it is stopped). After that, an exit that stopAll() did not ask for emits 'failure'.
   */
  async start(spec: DaemonSpec): Promise<RunningProcess> {
    return this.launch(spec, -1);
  }

  /** Spawn, wait for readiness, watch; `slot` ≥ 0 puts a restarted daemon back at its place in the stop order. */
  private async launch(spec: DaemonSpec, slot: number): Promise<RunningProcess> {
    if (this.stopping) throw new Error(`not starting ${spec.name}: shutting down`);
    appendLine(spec.logFile, `=== ${stamp()} $ ${displayOf(spec)}`);
    const logFrom = fileSize(spec.logFile);
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: spec.env ?? process.env,
        stdio: [spec.stdin !== undefined ? 'pipe' : 'ignore', fd, fd],
        detached: true,
      });
    } finally {
      closeSync(fd);
    }
    if (spec.stdin !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(spec.stdin);
    }
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let spawnError: Error | undefined;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('error', (err) => {
        spawnError = err;
        exitInfo = { code: null, signal: null };
        resolve(exitInfo);
      });
      child.once('exit', (code, signal) => {
        exitInfo = { code, signal };
        resolve(exitInfo);
      });
    });
    const proc: RunningProcess = {
      spec,
      child,
      pid: child.pid ?? -1,
      logFrom,
      startedAt: Date.now(),
      exited,
    };
    if (slot >= 0 && slot <= this.running.length) this.running.splice(slot, 0, proc);
    else this.running.push(proc);
    this.emit('info', `${spec.name}: started (pid ${proc.pid}), log ${spec.logFile}`);

    const failNow = (kind: FailureKind, summary: string): ProcessError => {
      const tail = logTail(spec.logFile, logFrom);
      const pending = tail.find((l) => NOT_IMPLEMENTED.test(l));
      if (pending) {
        return new ProcessError(
          'not-implemented',
          spec.name,
          `cannot go on: ${displayOf(spec)} answers "${pending.replace(/^Error:\s*/, '')}"`,
          spec.logFile,
          tail,
          exitInfo?.code ?? null,
        );
      }
      return new ProcessError(
        kind,
        spec.name,
        summary,
        spec.logFile,
        tail,
        exitInfo?.code ?? null,
        exitInfo?.signal ?? null,
      );
    };
    const exitSummary = (when: string) => {
      if (spawnError) return `cannot start ${displayOf(spec)}: ${spawnError.message}`;
      const e = exitInfo!;
      return `${spec.name} (${displayOf(spec)}) ${e.signal ? `was killed by ${e.signal}` : `exited with code ${e.code}`} ${when}`;
    };

    // readiness
    const timeoutMs = spec.readyTimeoutMs ?? 60_000;
    const deadline = Date.now() + timeoutMs;
    const follower = spec.ready && 'log' in spec.ready ? new LogFollower(spec.logFile, logFrom) : undefined;
    let ready = spec.ready === undefined;
    while (!ready) {
      if (exitInfo) {
        this.forget(proc);
        throw failNow('exited', exitSummary('before it was ready'));
      }
      if (this.stopping) throw new Error(`${spec.name}: start interrupted by shutdown`);
      const r = spec.ready!;
      if ('log' in r) {
        ready = follower!.read().some((l) => r.log.test(l));
      } else {
        ready = await r.probe().catch(() => false);
      }
      if (ready) break;
      if (Date.now() >= deadline) {
        const what = 'log' in r ? `a log line matching ${r.log}` : r.what;
        const err = failNow(
          'not-ready',
          `${spec.name} (${displayOf(spec)}) was not ready within ${secs(timeoutMs)} (waited for ${what})`,
        );
        await this.stopOne(proc);
        throw err;
      }
      await Promise.race([sleep(150), exited]);
    }
    if (exitInfo) {
      this.forget(proc);
      throw failNow('exited', exitSummary('just after it was ready'));
    }
    this.emit('info', `${spec.name}: ready`);

    void exited.then(() => {
      if (this.stopping || !this.running.includes(proc)) return;
      const at = this.running.indexOf(proc);
      this.forget(proc);
      // what it left in its process group (external processors) must not keep writing
      killGroup(proc.pid, 'SIGKILL');
      const err = failNow('exited', exitSummary('unexpectedly'));
      if (spec.restart) void this.restartAfterDeath(spec, at, err);
      else this.fail(err);
    });
    return proc;
  }

  /**
   * A daemon with a restart policy died: start it again after a backoff, at the same place in the stop order,
   * unless it died too often in the window (then the cluster stops, naming it, with its log tail).
   */
  private async restartAfterDeath(spec: DaemonSpec, slot: number, err: ProcessError): Promise<void> {
    const policy = spec.restart!;
    const max = policy.maxRestarts ?? 5;
    const windowMs = policy.windowMs ?? 60_000;
    for (;;) {
      const now = Date.now();
      const recent = (this.deaths.get(spec.name) ?? []).filter((t) => now - t < windowMs);
      recent.push(now);
      this.deaths.set(spec.name, recent);
      if (recent.length > max) {
        this.fail(
          new ProcessError(
            err.kind,
            err.process,
            `${err.summary}; it died ${recent.length} times within ${secs(windowMs)}, so the cluster stops`,
            err.logFile,
            err.tail,
            err.exitCode,
            err.signal,
          ),
        );
        return;
      }
      const delay = Math.min((policy.backoffMs ?? 1000) * 2 ** (recent.length - 1), 30_000);
      const note = `${err.summary}; restarting it in ${secs(delay)} (${recent.length} of ${max} in ${secs(windowMs)})`;
      appendLine(spec.logFile, `=== ${stamp()} ${note}`);
      this.emit('info', note);
      try {
        await sleep(delay, undefined, { signal: this.restartDelay.signal });
      } catch {
        return; // stopping
      }
      if (this.stopping) return;
      try {
        const proc = await this.launch(spec, slot);
        this.emit('info', `${spec.name}: restarted (pid ${proc.pid})`);
        this.emit('restarted', proc);
        return;
      } catch (e) {
        if (this.stopping) return;
        if (!(e instanceof ProcessError)) {
          this.fail(
            new ProcessError(
              'failed',
              spec.name,
              `${spec.name}: restart failed: ${(e as Error).message}`,
              spec.logFile,
              [],
            ),
          );
          return;
        }
        err = e; // died again before it was ready: another death in the window
      }
    }
  }

  /** Change how a running daemon is started again after a death (e.g. the wallet once it has a password). */
  amend(proc: RunningProcess, patch: Partial<Pick<DaemonSpec, 'args' | 'stdin' | 'display' | 'env'>>): void {
    Object.assign(proc.spec, patch);
  }

  /**
   * Wait for a line matching `re` in a running daemon's log (written since it started), e.g. the wallet's
   * "connect to server" once it registered with the gateway. Resolves with the line.
   */
  async waitForLog(proc: RunningProcess, re: RegExp, timeoutMs: number, what: string): Promise<string> {
    const follower = new LogFollower(proc.spec.logFile, proc.logFrom);
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void proc.exited.then(() => {
      exited = true;
    });
    for (;;) {
      const hit = follower.read().find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (exited) {
        throw new ProcessError(
          'exited',
          proc.spec.name,
          `${proc.spec.name} exited while waiting for ${what}`,
          proc.spec.logFile,
          logTail(proc.spec.logFile, proc.logFrom),
        );
      }
      if (this.stopping) throw new Error(`${proc.spec.name}: wait for ${what} interrupted by shutdown`);
      if (Date.now() >= deadline) {
        throw new ProcessError(
          'not-ready',
          proc.spec.name,
          `${proc.spec.name}: no ${what} within ${secs(timeoutMs)} (waited for a log line matching ${re})`,
          proc.spec.logFile,
          logTail(proc.spec.logFile, proc.logFrom),
        );
      }
      await Promise.race([sleep(150), proc.exited]);
    }
  }

  private fail(err: ProcessError): void {
    if (!this.firstFailure) this.firstFailure = err;
    this.emit('failure', err);
    for (const w of this.failureWaiters.splice(0)) w(err);
  }

  private forget(proc: RunningProcess): void {
    const i = this.running.indexOf(proc);
    if (i >= 0) this.running.splice(i, 1);
  }

  /** Stop one daemon: its stop signal, then SIGKILL to its whole process group after the timeout. */
  async stopOne(proc: RunningProcess): Promise<void> {
    const wasRunning = this.running.includes(proc);
    this.forget(proc);
    const { spec, child } = proc;
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      child.kill(spec.stopSignal ?? 'SIGTERM');
    } catch {
      return;
    }
    const t = spec.stopTimeoutMs ?? 10_000;
    // the timer is cancelled once the process exits, so nothing keeps the runner alive after the stop
    const timer = new AbortController();
    const done = await Promise.race([
      proc.exited.then(() => true),
      sleep(t, false, { signal: timer.signal }).catch(() => false),
    ]);
    timer.abort();
    if (!done) {
      this.emit('info', `${spec.name}: did not stop within ${secs(t)}; killing it`);
      killGroup(proc.pid, 'SIGKILL');
      await proc.exited;
    } else {
      // what the program left behind in its group (external processors) goes too
      killGroup(proc.pid, 'SIGKILL');
    }
    if (wasRunning) appendLine(spec.logFile, `=== ${stamp()} stopped by the cluster runner`);
    if (wasRunning) this.emit('info', `${spec.name}: stopped`);
  }

  /** Stop every daemon, last started first, and end one-shot commands in flight. Idempotent. */
  stopAll(): Promise<void> {
    this.stopping = true;
    this.restartDelay.abort();
    // one stop sequence at a time: a second caller waits for the same, so the order stays reverse
    this.stopAllPromise ??= (async () => {
      for (const c of this.oneShots) c.kill('SIGTERM');
      while (this.running.length) {
        const proc = this.running[this.running.length - 1]!;
        await this.stopOne(proc);
      }
      this.stopAllPromise = undefined;
    })();
    return this.stopAllPromise;
  }

  /** Second Ctrl-C: SIGKILL every process group now. */
  killAll(): void {
    this.stopping = true;
    this.restartDelay.abort();
    for (const c of this.oneShots) c.kill('SIGKILL');
    for (const p of this.running) killGroup(p.pid, 'SIGKILL');
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone already
  }
}

/**
 * Ctrl-C / SIGTERM: the first stops every child cleanly (reverse order), a second kills them all. Signals within
 * a second of the first count as one: `npm start` in a terminal delivers Ctrl-C twice (to npm, which forwards
 * it, and to the runner in the same process group), and that must not turn a clean stop into SIGKILL.
 * Returns a function that removes the handlers.
 */
export function handleSignals(sup: Supervisor, onFirst: (signal: NodeJS.Signals) => void, graceMs = 1000): () => void {
  let first: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    const now = Date.now();
    if (first === undefined) {
      first = now;
      onFirst(signal);
    } else if (now - first >= graceMs) {
      sup.killAll();
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
    process.off('SIGHUP', handler);
    // the stop may end within the grace period (fast daemons): the forwarded duplicate of the same Ctrl-C can
    // still arrive, and without a listener it would kill the runner by signal instead of letting it exit 0
    const left = first === undefined ? 0 : graceMs - (Date.now() - first);
    if (left > 0) {
      const late = () => {};
      for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, late);
      setTimeout(() => {
        for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, late);
      }, left).unref();
    }
  };
}
