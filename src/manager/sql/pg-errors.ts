/**
 * Whether a failed statement lost the database (docs/manager-db.md): decided from what pg and Node give, never
 * from message text. pg's own connection errors ("Connection terminated unexpectedly", the pool's "timeout
 * exceeded when trying to connect", "Client has encountered a connection error…") carry no code, so the worker
 * thread (pg-worker.ts) records where the error came from instead:
 *
 * - getting a connection from the pool failed (refused, unreachable, login refused, no free connection within
 *   StatementTimeout): the database is unavailable;
 * - the connection the statement ran on ended or failed (the client's 'end' / 'error' events): unavailable;
 * - a Node system error (errno and syscall: ECONNRESET, ETIMEDOUT, EPIPE, ENOTFOUND, EAI_AGAIN…): unavailable;
 * - an error the server sent (pg.DatabaseError): its SQLSTATE decides (LOST_SQLSTATE);
 * - anything else (a value pg cannot serialise, a number past 2^53): the statement's own error.
 */
import pg from 'pg';

/** What a failed statement's reply carries besides the message. */
export interface FailureInfo {
  /** SQLSTATE of a server error, or a Node system error's code (ECONNREFUSED…) */
  code: string | undefined;
  /** the database (not this statement) failed: the connection could not be had, or it died under the statement */
  lost: boolean;
}

/** Where the error arose, as the worker thread knows it. */
export interface FailureContext {
  /** the error came from taking a connection from the pool (or opening one) */
  connecting: boolean;
  /** the connection the statement used emitted 'end' or 'error' */
  connectionLost: boolean;
}

/**
 * SQLSTATEs that mean the database itself is gone, not one statement: class 08 (connection exception),
 * 57P01–57P03 (admin / crash shutdown, cannot connect now), 53300 (too many connections), class 28 (login
 * refused), 3D000 (no such database).
 */
const LOST_SQLSTATE = /^(08...|57P0[1-3]|53300|28...|3D000)$/;

/** A Node system error (net, dns): it has a numeric errno and the syscall that failed. */
function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  const x = e as { errno?: unknown; syscall?: unknown; code?: unknown } | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.code === 'string' &&
    (typeof x.errno === 'number' || typeof x.syscall === 'string')
  );
}

export function classifyPgError(e: unknown, at: FailureContext): FailureInfo {
  if (e instanceof pg.DatabaseError) {
    return { code: e.code, lost: at.connecting || at.connectionLost || LOST_SQLSTATE.test(e.code ?? '') };
  }
  if (isSystemError(e)) return { code: e.code, lost: true };
  const code = typeof (e as { code?: unknown })?.code === 'string' ? (e as { code: string }).code : undefined;
  return { code, lost: at.connecting || at.connectionLost };
}
