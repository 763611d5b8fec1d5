/**
 * One worker per seal store: the sealing thread of a store holds `<store>/worker.lock` (the holder's pid, host
 * and process start time) while it runs. A second worker on the same store is refused with the path and the
 * other pid, since two threads driving one sector document would each finish and wipe the other's work. A lock
 * left by a worker that died (kill -9, a crash) is taken over: its pid is gone, or now belongs to a process
 * that started later than the one that wrote the lock.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../../common/cli.js';
import { logger } from '../../common/log.js';
import { SealStore } from '../store.js';

const log = logger('store');

export const SEAL_LOCK_FILE = 'worker.lock';

interface LockInfo {
  pid: number;
  host: string;
  /** The holder's start time in clock ticks since boot (Linux /proc/<pid>/stat field 22), when known. */
  started: string | null;
}

/** Stores this process holds: a lock with our pid is ours only if it is listed here (else a stale one). */
const held = new Set<string>();

/** Fields 3… of /proc/<pid>/stat (Linux), or null where there is no /proc entry. */
function procStat(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: count fields after its closing ")"
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** A process's start time (Linux), to tell a live holder from a later process that reused its pid. */
function processStart(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a killed worker whose parent has not reaped it yet is a zombie: gone, though kill(pid, 0) still succeeds
  return procStat(pid)?.[0] !== 'Z';
}

function readLock(file: string): LockInfo | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (Number.isSafeInteger(v.pid) && (v.pid as number) > 0 && typeof v.host === 'string') {
      return { pid: v.pid as number, host: v.host, started: typeof v.started === 'string' ? v.started : null };
    }
  } catch {
    // a lock cut short by a crash while it was written: nobody holds it
  }
  return { pid: 0, host: hostname(), started: null };
}

/** Why the lock in `location` is held by a live worker (the refusal), or null when it is free or stale. */
function holder(location: string, lock: LockInfo | null): string | null {
  if (!lock || lock.pid === 0) return null;
  const file = join(location, SEAL_LOCK_FILE);
  if (lock.host !== hostname()) {
    return (
      `seal store ${location} is in use by another venus-worker (pid ${lock.pid} on host ${lock.host}); ` +
      `one worker per seal store (if that worker is gone, remove ${file})`
    );
  }
  if (lock.pid === process.pid) {
    return held.has(location) ? `seal store ${location} is already used by a sealing thread of this worker` : null;
  }
  if (!pidAlive(lock.pid)) return null;
  const started = processStart(lock.pid);
  if (lock.started && started && started !== lock.started) return null; // the pid was reused
  return `seal store ${location} is in use by another venus-worker (pid ${lock.pid}): one worker per seal store`;
}

/**
 * Checks seal stores before anything is started: each is formatted (.holder, data/, meta/) and not held by a
 * live worker. Throws a UserError naming the path (and the other pid).
 */
export async function checkSealStores(locations: readonly string[]): Promise<void> {
  for (const l of locations) {
    const s = await SealStore.open(l);
    const why = holder(s.location, readLock(join(s.location, SEAL_LOCK_FILE)));
    if (why) throw new UserError(why);
  }
}

/** Takes a seal store's lock for this process, or throws the refusal. Returns the release function. */
export function lockSealStore(location: string): () => void {
  const loc = resolve(location);
  const file = join(loc, SEAL_LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), started: processStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${JSON.stringify(mine)}\n`, { flag: 'wx', mode: 0o644 });
      held.add(loc);
      return () => {
        held.delete(loc);
        try {
          if (readLock(file)?.pid === process.pid) rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const lock = readLock(file);
      const why = holder(loc, lock);
      if (why) throw new UserError(why);
      if (lock) {
        log.warn({ location: loc, pid: lock.pid || null }, `taking over the lock of a worker that is gone (${file})`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new UserError(`cannot lock seal store ${loc} (${file} keeps coming back: another worker starting?)`);
}
