/** Worker thread for the update's field arithmetic (codec-pool.ts): runs chunk jobs and sends the result back. */
import { parentPort, workerData } from 'node:worker_threads';
import { type CodecOp, runCodec } from './codec-pool.js';
import { Rhos } from './randomness.js';

const { phi, h, nodes } = workerData as { phi: Uint8Array; h: number; nodes: number };
const rhos = new Rhos(phi, h, nodes);

parentPort!.on(
  'message',
  (m: { id: number; op: CodecOp; a: Uint8Array; b: Uint8Array; firstNode: number } | { close: true }) => {
    if ('close' in m) {
      parentPort!.close();
      return;
    }
    try {
      runCodec(m.op, m.a, m.b, rhos, m.firstNode);
      parentPort!.postMessage({ id: m.id, out: m.a }, [m.a.buffer as ArrayBuffer]);
    } catch (e) {
      parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) });
    }
  },
);
