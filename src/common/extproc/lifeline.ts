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
 * Starts the parent-pid watchdog (once per process). It does not keep the process alive. Returns a function
 * that stops it.
 */
export function watchParent(intervalMs = 500): () => void {
  const w = new Worker(WATCHDOG, { eval: true, workerData: { ppid: process.ppid, intervalMs } });
  w.unref();
  return () => void w.terminate();
}
