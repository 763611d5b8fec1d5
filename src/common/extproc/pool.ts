/**
 * The parent side of the external processor protocol: one `ExternalSub` per configured processor (a child
 * process: the worker's `[[processors.<stage>]]`, the sector-manager's `[[WdPost]]`), and an `ExternalPool` per
 * stage that sends each task to the sub with the most free capacity (damocles-worker's WorkloadSelector), or
 * with `weights` at random among those with room, in proportion to their weight (damocles-manager's
 * ext-prover), honouring per-sub `concurrent` and named `locks`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { logger } from '../log.js';
import { metrics } from '../metrics.js';
import { pinToCpuset, removeCgroup } from './cgroup.js';
import {
  ProcessorExitedError,
  ProcessorTaskError,
  ProcessorTimeoutError,
  parseResponse,
  readyLine,
} from './protocol.js';

const log = logger('processor');

/** A counting semaphore with FIFO waiters. */
export class Semaphore {
  private waiters: (() => void)[] = [];
  constructor(private free: number) {}
  get available(): number {
    return this.free;
  }
  tryAcquire(): boolean {
    if (this.free > 0) {
      this.free--;
      return true;
    }
    return false;
  }
  async acquire(signal?: AbortSignal): Promise<void> {
    if (this.tryAcquire()) return;
    await new Promise<void>((resolve, reject) => {
      const w = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(w);
    });
  }
  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
}

function exitDetail(code: number | null, signal: NodeJS.Signals | null): string {
  return code !== null ? `exit code ${code}` : signal ? `signal ${signal}` : 'no exit status';
}

/** How a sub's process is started (resolved from the config by the caller). */
export interface SubSpawn {
  bin: string;
  args: string[];
}

/** How a sub runs (the worker's `[[processors.<stage>]]` entries resolve to this). */
export interface SubConfig {
  /** time the child has to print its ready line */
  stableWaitMs: number;
  /** added to the environment (on top of the base environment with inheritEnvs) */
  envs: Record<string, string>;
  inheritEnvs: boolean;
  /** start it again when it exits */
  autoRestart: boolean;
  /** tasks in flight at once (null: unbounded) */
  concurrent: number | null;
  /** cpuset pinning: cgroup group and CPU list */
  cgroup: { groupName: string; cpuset: string } | null;
  /** preferred NUMA node, passed to the child as VENUS_WORKER_NUMA_PREFERRED */
  numaPreferred?: number | null;
  /**
   * Longest a task may take (null or 0: no limit). At the deadline the child is killed, the task fails with
   * ProcessorTimeoutError (a temporary failure: the caller retries) and the child is restarted per autoRestart.
   */
  timeoutMs?: number | null;
}

export interface ExternalSubOptions {
  stage: string;
  index: number;
  spawn: SubSpawn;
  config: SubConfig;
  /** Wait before respawning an exited child (damocles: 3 s). */
  restartDelayMs?: number;
  /** Where cgroup v2 lives (tests). */
  cgroupRoot?: string;
  /**
   * The environment a child inherits (with inheritEnvs), asked at each spawn. Default: this process's
   * environment as it was when the sub was made, never the live `process.env`.
   */
  baseEnv?: () => NodeJS.ProcessEnv;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** The process the task was sent to: only its answer counts. */
  child: ChildProcess;
}

/** After a child exits, how long answers it wrote before dying may still be read before its tasks fail. */
const EXIT_GRACE_MS = 1000;

/**
 * Kills the child's process group (it leads one: spawned detached), so processes a wrapper script started go with
 * it and none keeps computing, or writing into the seal store, after the task was given up.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal); // no group (already gone, or not a leader)
  }
}

/** One child process speaking the protocol. */
export class ExternalSub {
  readonly stage: string;
  readonly index: number;
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private pending = new Map<number, Pending>();
  private stopping = false;
  /** The child exited and auto_restart is off: this sub is out of service. */
  private dead = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private cgroupPath: string | null = null;
  /** Requests sent and not yet answered. */
  inflight = 0;
  /** Restarts so far (for tests and `worker list`). */
  restarts = 0;

  private readonly baseEnv: () => NodeJS.ProcessEnv;

  constructor(private readonly opts: ExternalSubOptions) {
    this.stage = opts.stage;
    this.index = opts.index;
    if (opts.baseEnv) this.baseEnv = opts.baseEnv;
    else {
      const snapshot = { ...process.env };
      this.baseEnv = () => snapshot;
    }
  }

  /** In-flight requests this sub accepts (unbounded when `concurrent` is not set). */
  get capacity(): number {
    return this.opts.config.concurrent ?? Number.POSITIVE_INFINITY;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private describe(): string {
    return `${this.stage} processor (sub ${this.index}, ${this.opts.spawn.bin})`;
  }

  /** Spawns the child and waits for its ready line. */
  start(): Promise<void> {
    if (!this.ready) {
      this.ready = this.spawnOnce();
      // a failed start is retried on the next call or restart, not cached forever
      this.ready.catch(() => {
        this.ready = null;
      });
    }
    return this.ready;
  }

  private spawnOnce(): Promise<void> {
    const { config } = this.opts;
    const env: NodeJS.ProcessEnv = config.inheritEnvs ? { ...this.baseEnv() } : {};
    Object.assign(env, config.envs);
    // the original's hint for the child's NUMA memory policy (applied by processors that support it)
    if (config.numaPreferred != null) env.VENUS_WORKER_NUMA_PREFERRED = String(config.numaPreferred);
    // its own process group: a kill reaches the processes a wrapper (bin = "run-c2.sh") started too
    const child = spawn(this.opts.spawn.bin, this.opts.spawn.args, {
      stdio: ['pipe', 'pipe', 'inherit'],
      env,
      detached: true,
    });
    this.child = child;
    const stdout = child.stdout!;
    const lines = createInterface({ input: stdout, crlfDelay: Number.POSITIVE_INFINITY });
    let isReady = false;
    return new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        if (isReady) return;
        isReady = true; // settle once
        clearTimeout(timer);
        killGroup(child, 'SIGKILL');
        reject(new Error(`${this.describe()} ${why}`));
      };
      const timer = setTimeout(
        () => fail(`did not print "${readyLine(this.stage)}" within ${config.stableWaitMs} ms`),
        config.stableWaitMs,
      );
      child.once('error', (err) => fail(`could not start: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      if (config.cgroup && child.pid !== undefined) {
        void pinToCpuset({
          groupName: config.cgroup.groupName,
          name: `sub-${this.stage}-${process.pid}-${this.index}`,
          cpuset: config.cgroup.cpuset,
          pid: child.pid,
          root: this.opts.cgroupRoot,
        }).then((r) => {
          if (r.ok) {
            this.cgroupPath = r.path;
            log.info(
              { stage: this.stage, sub: this.index, cgroup: r.path, cpuset: config.cgroup?.cpuset },
              'sub pinned',
            );
          } else {
            log.warn(
              { stage: this.stage, sub: this.index, cpuset: config.cgroup?.cpuset },
              `cpuset not applied, the sub runs unpinned: ${r.reason}`,
            );
          }
        });
      }
      lines.on('line', (line) => {
        if (!isReady) {
          if (line === readyLine(this.stage)) {
            isReady = true;
            clearTimeout(timer);
            log.info({ stage: this.stage, sub: this.index, pid: child.pid }, 'processor ready');
            resolve();
          } else {
            fail(`printed ${JSON.stringify(line.slice(0, 100))} instead of "${readyLine(this.stage)}"`);
          }
          return;
        }
        this.onLine(child, line);
      });
      // On 'exit' the child takes no more tasks and its group is killed (a wrapper's children would keep its
      // stdout open, and keep answering, for as long as they run); its tasks fail once its stdout is drained
      // ('close'), or after a grace period if something outside the group still holds it.
      let detail = 'no exit status';
      let grace: NodeJS.Timeout | undefined;
      child.once('exit', (code, signal) => {
        detail = exitDetail(code, signal);
        fail(`exited before it was ready (${detail})`);
        killGroup(child, 'SIGKILL');
        this.onExit(child, detail);
        grace = setTimeout(() => this.failTasks(child, detail), EXIT_GRACE_MS);
        grace.unref();
      });
      child.once('close', () => {
        clearTimeout(grace);
        this.failTasks(child, detail);
      });
    });
  }

  private onLine(child: ChildProcess, line: string): void {
    const r = parseResponse(line);
    if (!r.ok) {
      log.warn({ stage: this.stage, sub: this.index, line: line.slice(0, 100) }, `undecodable response: ${r.why}`);
      return;
    }
    const p = this.pending.get(r.resp.id);
    if (!p || p.child !== child) {
      // a late answer: its task timed out or failed with its processor, and was (or will be) retried
      log.warn(
        { stage: this.stage, sub: this.index, id: r.resp.id, pid: child.pid },
        'response to no request in flight: discarded',
      );
      return;
    }
    this.pending.delete(r.resp.id);
    if (r.resp.err_msg !== null) p.reject(new ProcessorTaskError(this.stage, r.resp.err_msg));
    else p.resolve(r.resp.output);
  }

  /** Stops sending tasks to `child` and kills its group; its tasks fail when it has exited (failTasks). */
  private retire(child: ChildProcess): void {
    if (this.child === child) {
      this.child = null;
      this.ready = null;
    }
    killGroup(child, 'SIGKILL');
  }

  private onExit(child: ChildProcess, detail: string): void {
    const current = this.child === child;
    this.retire(child);
    if (this.stopping) return;
    log.warn({ stage: this.stage, sub: this.index, pid: child.pid, detail }, 'processor exited');
    if (!this.opts.config.autoRestart) this.dead = true;
    // retired by a timeout, a new child may run already (started by the next task): no restart needed then
    else if (current || this.child === null) this.scheduleRestart();
  }

  /** The tasks sent to `child` fail with its exit (each once: a late answer finds nothing to resolve). */
  private failTasks(child: ChildProcess, detail: string): void {
    for (const [id, p] of this.pending) {
      if (p.child !== child) continue;
      this.pending.delete(id);
      p.reject(new ProcessorExitedError(this.stage, detail));
    }
    if (this.cgroupPath && this.child === null) {
      void removeCgroup(this.cgroupPath);
      this.cgroupPath = null;
    }
  }

  private scheduleRestart(): void {
    if (this.restartTimer || this.stopping) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (this.stopping) return;
      this.restarts++;
      metrics().processorRestarted(this.stage);
      this.start().catch((err: Error) => {
        log.error({ stage: this.stage, sub: this.index }, `restart failed: ${err.message}`);
        this.scheduleRestart();
      });
    }, this.opts.restartDelayMs ?? 3000);
    this.restartTimer.unref();
  }

  /** Sends one task and waits for its answer. */
  async call(task: unknown): Promise<unknown> {
    if (this.stopping) throw new Error(`${this.describe()} is stopped`);
    if (this.dead) throw new ProcessorExitedError(this.stage, 'auto_restart is off');
    // counted from the first moment, so the pool's choice sees it before any await
    this.inflight++;
    try {
      await this.start();
      const child = this.child;
      if (!child?.stdin) throw new ProcessorExitedError(this.stage);
      const id = this.nextId++;
      const limit = this.opts.config.timeoutMs ?? 0;
      let timer: NodeJS.Timeout | undefined;
      try {
        return await new Promise<unknown>((resolve, reject) => {
          this.pending.set(id, { resolve, reject, child });
          child.stdin!.write(`${JSON.stringify({ id, task })}\n`, (err) => {
            if (err && this.pending.delete(id)) reject(new ProcessorExitedError(this.stage, err.message));
          });
          if (limit > 0) timer = setTimeout(() => this.timedOut(child, id, limit), limit);
        });
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.inflight--;
    }
  }

  /**
   * A task ran past its deadline: the protocol cannot cancel one task, so the child is killed (its other tasks
   * fail as "child process exited" and are retried by their callers) and restarted per auto_restart.
   */
  private timedOut(child: ChildProcess, id: number, limitMs: number): void {
    const p = this.pending.get(id);
    if (!p || p.child !== child) return;
    this.pending.delete(id);
    log.error(
      { stage: this.stage, sub: this.index, pid: child.pid, timeoutMs: limitMs },
      `task ${id} ran past its timeout: killing the processor`,
    );
    // retired before the caller hears of it: its retry goes to a fresh child, never to this one
    this.retire(child);
    p.reject(new ProcessorTimeoutError(this.stage, limitMs));
  }

  /** Stops the child (stdin closed, then SIGTERM, then SIGKILL) and cancels restarts. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.stdin?.end();
    const t1 = setTimeout(() => killGroup(child, 'SIGTERM'), 2000);
    const t2 = setTimeout(() => killGroup(child, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(t1);
    clearTimeout(t2);
  }
}

/** All subs of one stage. */
export class ExternalPool {
  private changed: (() => void)[] = [];

  constructor(
    readonly stage: string,
    readonly subs: ExternalSub[],
    private readonly locks: Map<string, Semaphore> = new Map(),
    private readonly subLocks: string[][] = subs.map(() => []),
    /** per sub: pick at random among those with room, in proportion to these (default: the least loaded) */
    private readonly weights?: number[],
  ) {
    if (!subs.length) throw new Error(`no sub for the ${stage} processor`);
    if (weights && (weights.length !== subs.length || weights.some((w) => !(w > 0))))
      throw new Error(`${stage}: one positive weight per sub expected`);
  }

  /** Starts every sub (each must print its ready line). */
  async start(): Promise<void> {
    await Promise.all(this.subs.map((s) => s.start()));
  }

  private pick(): number {
    const room = this.subs
      .map((s, i) => ({ i, free: s.capacity - s.inflight }))
      .filter(({ i, free }) => free > 0 && this.subLocks[i]!.every((l) => (this.locks.get(l)?.available ?? 0) > 0));
    if (room.length === 0) return -1;
    if (this.weights) {
      const w = this.weights;
      let r = Math.random() * room.reduce((a, x) => a + w[x.i]!, 0);
      for (const x of room) {
        r -= w[x.i]!;
        if (r < 0) return x.i;
      }
      return room[room.length - 1]!.i;
    }
    return room.reduce((best, x) => (x.free > best.free ? x : best)).i;
  }

  /** Runs a task on the least loaded sub, waiting for capacity when all are busy. */
  async run(task: unknown, signal?: AbortSignal): Promise<unknown> {
    for (;;) {
      signal?.throwIfAborted();
      const i = this.pick();
      if (i >= 0) {
        const held = this.subLocks[i]!.filter((l) => this.locks.get(l)!.tryAcquire());
        try {
          return await this.subs[i]!.call(task);
        } finally {
          for (const l of held) this.locks.get(l)!.release();
          this.notify();
        }
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          resolve();
        };
        this.changed.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
  }

  private notify(): void {
    const w = this.changed;
    this.changed = [];
    for (const f of w) f();
  }

  async stop(): Promise<void> {
    await Promise.all(this.subs.map((s) => s.stop()));
  }
}
