/**
 * The child side of "processors die with their worker". Linux' PR_SET_PDEATHSIG is out of Node's reach, so a
 * processor watches two things and exits at once, abandoning any task in flight, when either says its parent is
 * gone (a `kill -9`'d worker must not leave a child writing into a seal store the restarted worker redoes):
 *
 * - its stdin (the task pipe) ends: only the parent holds the other end (the caller handles this one);
 * - its parent pid changes (the parent died and the child was re-parented): checked from a worker thread, so
 *   it works even while a stage keeps the main thread busy.
 */
import { Worker } from 'node:worker_threads';

const WATCHDOG = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid !== workerData.ppid) {
    process.stderr.write('processor: parent process ' + workerData.ppid + ' is gone: exiting\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, workerData.intervalMs);
`;

/**
 * Starts the parent-pid watchdog (once per process) and resolves once its thread runs, so that no task starts
 * unwatched. The thread gets no `--import` hooks of ours (its code is plain CommonJS: nothing to load, nothing
 * that could hold its start up) and does not keep the process alive. Resolves to a function that stops it; a
 * thread that does not come up within `onlineTimeoutMs` is an error naming the wait.
 */
export async function watchParent(intervalMs = 500, onlineTimeoutMs = 30_000): Promise<() => void> {
  const w = new Worker(WATCHDOG, { eval: true, execArgv: [], workerData: { ppid: process.ppid, intervalMs } });
  w.unref();
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the parent-pid watchdog thread did not start within ${onlineTimeoutMs} ms`)),
      onlineTimeoutMs,
    );
    w.once('online', () => {
      clearTimeout(timer);
      resolve();
    });
    w.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`the parent-pid watchdog thread failed: ${err.message}`));
    });
  });
  return () => void w.terminate();
}
