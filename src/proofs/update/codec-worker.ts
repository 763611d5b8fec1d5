/**
 * Worker thread for the update's field arithmetic (codec-pool.ts): runs chunk jobs (and, for encode and
 * remove-data, hashes the chunk's TreeR-last rows) and sends the results back, transferring the buffers.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { type CodecOp, runCodec } from './codec-pool.js';
import { Rhos } from './randomness.js';

const { phi, h, nodes } = workerData as { phi: Uint8Array; h: number; nodes: number };
const rhos = new Rhos(phi, h, nodes);

type Job = { id: number; op: CodecOp; a: Uint8Array; b: Uint8Array; firstNode: number; tree: boolean };

parentPort!.on('message', (m: Job | { close: true }) => {
  if ('close' in m) {
    parentPort!.close();
    return;
  }
  try {
    const r = runCodec(m.op, m.a, m.b, rhos, m.firstNode, m.tree);
    const transfer = [r.out, ...(r.rows ?? [])].map((x) => x.buffer as ArrayBuffer);
    parentPort!.postMessage({ id: m.id, out: r.out, rows: r.rows }, transfer);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
  }
});
