/**
 * The worker's control API: `VenusWorker.*`, served by `venus-worker daemon` on `[worker] rpc_server`
 * (default 0.0.0.0:17890, paths `/` and `/rpc/v0`, no auth, as the original), called by
 * `venus-worker worker list|pause|resume` and by the manager (at the `Dest` a worker pings with).
 * Keys are snake_case: the original is a Rust serde struct (docs/spec/sealer-api.md §Worker control API).
 */
import { defineApi, method } from '../rpc/index.js';
import { Name, Str, Uint } from './schema.js';

export type WorkerThreadState = 'Idle' | 'Running' | 'Waiting' | 'Paused';

export interface WorkerThreadInfo {
  index: number;
  /** The seal store. */
  location: string;
  plan: string;
  /** The sector being sealed, "s-t0<miner>-<number>", or null. */
  job_id: string | null;
  /** The sector's state (Empty, Allocated, …, Finished, Aborted). */
  job_state: string;
  /** The work of that state (AddPieces, PC1, WaitSeed…). */
  job_stage: string | null;
  /** elapsed: seconds in this thread state; proc: the limited stage it runs or waits for. */
  thread_state: { state: WorkerThreadState; elapsed: number; proc: string | null };
  last_error: string | null;
}

export const WorkerAPI = defineApi('VenusWorker', {
  WorkerList: method<[], WorkerThreadInfo[]>('read'),
  WorkerPause: method<[index: number], boolean>('admin', 1, { params: { index: Uint } }),
  /** setTo: a state name to move the sector to first (e.g. "Aborted" drops it), or null. */
  WorkerResume: method<[index: number, setTo: string | null], boolean>('admin', 2, {
    params: { index: Uint, setTo: Name(64).nullable() },
  }),
  WorkerSetEnv: method<[name: string, value: string], null>('admin', 2, {
    params: { name: Name(256), value: Str(64 * 1024) },
  }),
  WorkerRemoveEnv: method<[name: string], null>('admin', 1, { params: { name: Name(256) } }),
  WorkerVersion: method<[], string>('read'),
});

/** The control API's default port. */
export const WORKER_RPC_PORT = 17890;
