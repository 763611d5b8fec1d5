/**
 * Failure levels (docs/spec/sealer-api.md §Failure levels):
 * - temporary: retried in place up to max_retries, every recover_interval (RPC transport/server errors, a
 *   processor that died mid-task, an empty WaitSeed);
 * - permanent: pauses the thread until `worker resume` (processor task errors, mismatched submissions,
 *   NotFound/PermFailed on chain, persisted files unavailable, operator pause);
 * - abort: the sector is given up (RPC 11001, Rejected, ShouldAbort, state Aborted set by the operator);
 * - critical: pauses the thread (local I/O errors, a damaged sector document, a bad transition).
 */
import { SectorStateNotFoundError } from '../../api/errors.js';
import { RpcError } from '../../rpc/index.js';
import { ProcessorExitedError, ProcessorTaskError, StageNotAvailableError } from '../processor/index.js';

export type FailureLevel = 'temporary' | 'permanent' | 'abort' | 'critical';

/** As ReportState's Failure.Level spells them. */
export const LEVEL_WIRE: Record<FailureLevel, 'Temporary' | 'Permanent' | 'Abort' | 'Critical'> = {
  temporary: 'Temporary',
  permanent: 'Permanent',
  abort: 'Abort',
  critical: 'Critical',
};

export class Failure extends Error {
  constructor(
    readonly level: FailureLevel,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'Failure';
  }
}

export const temp = (msg: string, cause?: unknown) => new Failure('temporary', msg, { cause });
export const perm = (msg: string, cause?: unknown) => new Failure('permanent', msg, { cause });
export const abort = (msg: string, cause?: unknown) => new Failure('abort', msg, { cause });
export const crit = (msg: string, cause?: unknown) => new Failure('critical', msg, { cause });

/** The thread was paused or is stopping: permanent, but not recorded as its last error. */
export class Interrupted extends Failure {
  constructor(why: string) {
    super('permanent', why);
    this.name = 'Interrupted';
  }
}

/**
 * "<what>: <message>", unless the message already starts with `what` (the RPC client names the method in
 * its connection and timeout errors, so a second prefix would read "Venus.WorkerPing: Venus.WorkerPing: …").
 */
export function prefixed(what: string, err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.startsWith(`${what}:`) || msg.startsWith(`${what} `) ? msg : `${what}: ${msg}`;
}

/** Classifies anything a step threw; `what` says which step ("PC2", "Venus.AllocateSector"…). */
export function classify(err: unknown, what: string): Failure {
  if (err instanceof Failure) return err;
  const m = prefixed(what, err);
  if (err instanceof RpcError) {
    // the manager has no state for the sector: nothing to continue (damocles call_rpc! maps 11001 to abort)
    if (err instanceof SectorStateNotFoundError) return abort(m, err);
    return temp(m, err);
  }
  if (err instanceof ProcessorExitedError) return temp(m, err);
  if (err instanceof ProcessorTaskError || err instanceof StageNotAvailableError) return perm(m, err);
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return crit(m, err);
  return perm(m, err);
}
