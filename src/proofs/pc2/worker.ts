/** Worker thread for PC2: runs the chunk jobs it is sent (see chunks.ts) and answers with each chunk root. */
import { parentPort, workerData } from 'node:worker_threads';
import { type ChunkJob, FileCache, type Pc2Plan, runChunk } from './chunks.js';

const plan = workerData as Pc2Plan;
const files = new FileCache();

parentPort!.on('message', (m: { id: number; job: ChunkJob } | { close: true }) => {
  if ('close' in m) {
    files.close();
    parentPort!.close();
    return;
  }
  try {
    const root = runChunk(plan, m.job, files);
    parentPort!.postMessage({ id: m.id, root });
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
});
