/**
 * The CLI side of unsealing (SealerCliAPI): FindSectorWithPiece, damocles' UnsealPiece stream, and the task
 * methods `util sealer sectors unseal` uses (UnsealTaskAdd / UnsealTaskGet / UnsealTaskList).
 */
import type { Base64, SectorID, SectorState, SectorWorkerState, UnsealTaskInfo } from '../../api/sealer.js';
import { RpcError } from '../../rpc/index.js';
import type { ManagerStore } from '../db.js';
import { checkSid } from '../sealer/common.js';
import { redactDest } from './dest.js';
import { findSectorWithPiece } from './pieces.js';
import type { UnsealTask } from './store.js';
import type { UnsealTasks } from './tasks.js';

export function taskInfo(t: UnsealTask): UnsealTaskInfo {
  return {
    ID: t.id,
    Sector: { Miner: t.miner, Number: t.number },
    PieceCid: { '/': t.pieceCid },
    Offset: t.offset,
    Size: t.size,
    Dest: t.dest.map(redactDest),
    State: t.state,
    Error: t.error,
    Source: t.source,
    Worker: t.worker,
    Attempts: t.attempts,
    CreatedAt: t.createdAt,
    UpdatedAt: t.updatedAt,
  };
}

function need(tasks: UnsealTasks | undefined): UnsealTasks {
  if (!tasks) throw new RpcError(1, 'unsealing is not set up in this sector-manager');
  return tasks;
}

/** The SealerCliAPI methods about unsealing, for the manager's ApiImpl. */
export function unsealCliApi(store: ManagerStore, tasks: UnsealTasks | undefined) {
  return {
    /** the tasks, or the error saying unsealing is not set up */
    need: () => need(tasks),
    FindSectorWithPiece: (state: SectorWorkerState, pieceCid: unknown): SectorState | null =>
      findSectorWithPiece(store, state !== 'offline', pieceCid),
    UnsealTaskAdd: (sid: SectorID, pieceCid: unknown, dest: string): UnsealTaskInfo =>
      taskInfo(need(tasks).request({ sid: checkSid(sid), pieceCid, dest, source: 'cli' }).task),
    UnsealTaskGet: (id: number): UnsealTaskInfo | null => {
      const t = need(tasks).get(id);
      return t ? taskInfo(t) : null;
    },
    UnsealTaskList: (limit: number): UnsealTaskInfo[] => need(tasks).recent(limit).map(taskInfo),
    /**
     * damocles' UnsealPiece: schedules the task; the stream sends one empty chunk when the bytes reached dest (the
     * damocles CLI reads that as success) and fails with the task's error otherwise. Streaming the bytes themselves
     * (an empty dest) needs a piece store in the manager, which this one does not keep.
     */
    UnsealPiece: (
      sid: SectorID,
      pieceCid: unknown,
      offset: number,
      size: number,
      dest: string,
      ctx: { signal: AbortSignal },
    ): AsyncIterable<Base64> => {
      const t = need(tasks);
      if (!dest) throw new RpcError(1, 'UnsealPiece: give a destination (file:///…, http(s)://…, market://…)');
      const { task } = t.request({ sid: checkSid(sid), pieceCid, offset, size, dest, source: 'cli' });
      return (async function* () {
        const end = await t.outcome(task.id, ctx.signal);
        if (end.state === 'failed') throw new RpcError(1, `unseal failed: ${end.error}`);
        yield '';
      })();
    },
  };
}
