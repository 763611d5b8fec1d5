/**
 * The external processor protocol (docs/spec/processor-protocol.md, vc-processors core/ext): a child process per sub,
 * stdin and stdout piped, stderr for logs.
 *
 * - The child's first stdout line is exactly "<stage> processor ready".
 * - Then newline-delimited JSON both ways: requests {"id": n, "task": …} (ids from 1, increasing), responses
 *   {"id": n, "err_msg": string|null, "output": …|null}. The child may answer out of order; ids match them.
 * - When the child's stdout ends, every request in flight fails with "child process exited: <stage>".
 */

export interface ProcessorRequest<T = unknown> {
  id: number;
  task: T;
}

export interface ProcessorResponse<O = unknown> {
  id: number;
  err_msg: string | null;
  output: O | null;
}

export function readyLine(stage: string): string {
  return `${stage} processor ready`;
}

/** A request that failed because its child died; the sealing thread retries it (a temporary failure). */
export class ProcessorExitedError extends Error {
  constructor(
    readonly stage: string,
    detail = '',
  ) {
    super(`child process exited: ${stage}${detail ? ` (${detail})` : ''}`);
    this.name = 'ProcessorExitedError';
  }
}

/** `1h 30m`, `90s`, `250ms`: a timeout for messages. */
function showMs(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return [h && `${h}h`, m && `${m}m`, s % 60 && `${s % 60}s`].filter(Boolean).join(' ');
}

/** A task ran past its stage's timeout; its child was killed. Temporary, like a crash: the caller retries. */
export class ProcessorTimeoutError extends ProcessorExitedError {
  constructor(
    stage: string,
    readonly timeoutMs: number,
  ) {
    super(stage, `killed: the task ran past its ${showMs(timeoutMs)} timeout`);
    this.name = 'ProcessorTimeoutError';
  }
}

/** The child answered with err_msg: the task itself failed. */
export class ProcessorTaskError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(`${stage} processor: ${message}`);
    this.name = 'ProcessorTaskError';
  }
}

/** Parses one response line; null (with the reason) when it is not a response. */
export function parseResponse(line: string): { ok: true; resp: ProcessorResponse } | { ok: false; why: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { ok: false, why: 'not JSON' };
  }
  if (typeof v !== 'object' || v === null) return { ok: false, why: 'not an object' };
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'number' || !Number.isSafeInteger(o.id)) return { ok: false, why: 'no numeric "id"' };
  if (o.err_msg !== undefined && o.err_msg !== null && typeof o.err_msg !== 'string') {
    return { ok: false, why: '"err_msg" is not a string' };
  }
  return { ok: true, resp: { id: o.id, err_msg: (o.err_msg as string | null) ?? null, output: o.output ?? null } };
}
