/**
 * What the supervisor is asked to run (a daemon, a one-shot command), what it hands back (a running process,
 * a command's output), and the error that names a program that failed.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readiness } from './readiness.js';

export interface ProcessSpec {
  /** Short name used in messages and as the key of the process ("devnet", "wallet"…). */
  name: string;
  /** Executable and arguments. */
  command: string;
  args: string[];
  /** What an operator would type, for logs and error messages (default: command and args). */
  display?: string;
  /** Appended to; created with its folder. */
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the child's stdin, which is then closed (passwords). Default: stdin is /dev/null. */
  stdin?: string;
}

/** Restart a daemon that dies on its own (kill -9, OOM, crash), with backoff, unless it keeps dying. */
export interface RestartPolicy {
  /** More deaths than this within `windowMs` stop the cluster (default 5). */
  maxRestarts?: number;
  /** Default 60 s. */
  windowMs?: number;
  /** Delay before the first restart, doubled for each death in the window (default 1 s, at most 30 s). */
  backoffMs?: number;
}

export interface DaemonSpec extends ProcessSpec {
  ready?: Readiness;
  /** Restart it when it dies unexpectedly after it was ready (default: a death ends the cluster). */
  restart?: RestartPolicy;
  /** Default 60 s. */
  readyTimeoutMs?: number;
  /** Default SIGTERM. */
  stopSignal?: NodeJS.Signals;
  /** After this long the process group gets SIGKILL. Default 10 s. */
  stopTimeoutMs?: number;
}

export interface CommandSpec extends ProcessSpec {
  /** Default 120 s. */
  timeoutMs?: number;
}

export interface CommandResult {
  stdout: string;
  /** stdout and stderr as they came (what the log got). */
  output: string;
}

export type FailureKind = 'exited' | 'not-ready' | 'failed' | 'not-implemented' | 'spawn';

/** A program failed; the message names it, says how, and quotes the end of its log. */
export class ProcessError extends Error {
  constructor(
    readonly kind: FailureKind,
    readonly process: string,
    readonly summary: string,
    readonly logFile: string,
    readonly tail: string[],
    readonly exitCode: number | null = null,
    readonly signal: NodeJS.Signals | null = null,
  ) {
    super(formatFailure(summary, logFile, tail));
    this.name = 'ProcessError';
  }
}

function formatFailure(summary: string, logFile: string, tail: string[]): string {
  const body = tail.length ? tail.map((l) => `  | ${l}`).join('\n') : '  | (the log is empty)';
  return `${summary}\n  last lines of ${logFile}:\n${body}`;
}

export interface RunningProcess {
  readonly spec: DaemonSpec;
  readonly child: ChildProcess;
  readonly pid: number;
  /** Byte offset of this start in the log file (tails show this run only). */
  readonly logFrom: number;
  readonly startedAt: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}
