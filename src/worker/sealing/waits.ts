/**
 * How a sealing thread waits for the chain and the manager (docs/worker-waits.md): the first checks come
 * quickly and the interval doubles up to `rpc_polling_interval`, which stays the longest a thread sleeps
 * between two checks. A 2KiB sector on a devnet with 1 s blocks then waits seconds, not the 180 s default,
 * while a mainnet sector still settles at one check per interval.
 */
import { formatDuration } from '../../common/config.js';

/** The first check after a submission. */
export const FIRST_POLL_MS = 1000;

/** Intervals of one wait: FIRST_POLL_MS, doubling, capped at `maxMs` (rpc_polling_interval). */
export class Backoff {
  private nextMs: number;

  constructor(
    private readonly maxMs: number,
    firstMs = FIRST_POLL_MS,
  ) {
    this.nextMs = Math.min(firstMs, maxMs);
  }

  next(): number {
    const ms = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.maxMs);
    return ms;
  }
}

const pad2 = (n: number) => String(n).padStart(2, '0');

/** The local time of day, as the log lines print it (12:03:04). */
export function clock(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** "(rpc_polling_interval 3m0s)": the key that bounds a wait, for the log line that announces it. */
export function bound(key: string, ms: number): string {
  return `${key} ${formatDuration(ms)}`;
}
