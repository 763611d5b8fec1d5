/**
 * Runs the update's field arithmetic (codec.ts) on worker threads: BigInt work is single-threaded in a
 * JavaScript thread, and at about a microsecond a node it dominates encoding a large sector. Chunks are
 * handed out in order and their results consumed in order, a few in flight per thread, so files are read and
 * written sequentially by the calling thread while the workers compute. With one thread it runs inline.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { decodeChunk, encodeChunk, removeChunk } from './codec.js';
import { Rhos } from './randomness.js';
import { chunkRows } from './tree-r.js';

/** encode: a = key, b = data → a = key + data·rho; decode: a = replica, b = key → a = data;
 *  remove: a = replica, b = data → a = key. */
export type CodecOp = 'encode' | 'decode' | 'remove';

/** The result of a chunk: `a` transformed, and with `tree` the TreeR-last rows over it (tree-r.ts `chunkRows`). */
export interface CodecResult {
  out: Uint8Array;
  rows?: Uint8Array[];
}

export function runCodec(
  op: CodecOp,
  a: Uint8Array,
  b: Uint8Array,
  rhos: Rhos,
  firstNode: number,
  tree: boolean,
): CodecResult {
  if (op === 'encode') encodeChunk(a, b, a, rhos, firstNode);
  else if (op === 'decode') decodeChunk(a, b, a, rhos, firstNode);
  else removeChunk(a, b, a, rhos, firstNode);
  return tree ? { out: a, rows: chunkRows(a) } : { out: a };
}

function startWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./codec-worker.js', import.meta.url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./codec-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

type Pending = { resolve: (r: CodecResult) => void; reject: (e: Error) => void };

export class CodecPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, Pending>();
  private readonly rhos: Rhos | null;
  private next = 0;
  private failure: Error | null = null;

  /** `threads` defaults to the machine's cores; small sectors run inline. */
  constructor(phi: Uint8Array, h: number, nodes: number, threads = availableParallelism()) {
    const n = Math.max(1, Math.floor(threads));
    if (n <= 1) {
      this.rhos = new Rhos(phi, h, nodes);
      return;
    }
    this.rhos = null;
    for (let i = 0; i < n; i++) {
      const w = startWorker({ phi, h, nodes });
      w.on('message', (m: { id: number; out?: Uint8Array; rows?: Uint8Array[]; error?: string }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.error !== undefined) p.reject(new Error(`snap codec worker: ${m.error}`));
        else p.resolve({ out: m.out!, ...(m.rows ? { rows: m.rows } : {}) });
      });
      const fail = (e: Error) => {
        this.failure ??= e;
        for (const p of this.pending.values()) p.reject(e);
        this.pending.clear();
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (this.pending.size) fail(new Error(`snap codec worker exited (code ${code}) with jobs pending`));
      });
      this.workers.push(w);
    }
  }

  /** Threads that compute (1 when inline). */
  get threads(): number {
    return Math.max(1, this.workers.length);
  }

  /**
   * Runs `op` on the chunk (and hashes its TreeR-last rows with `tree`); `a` and `b` are transferred to the
   * worker and the result comes back in new views.
   */
  run(op: CodecOp, a: Uint8Array, b: Uint8Array, firstNode: number, tree = false): Promise<CodecResult> {
    if (this.rhos) {
      try {
        return Promise.resolve(runCodec(op, a, b, this.rhos, firstNode, tree));
      } catch (e) {
        return Promise.reject(e);
      }
    }
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    const w = this.workers[id % this.workers.length]!;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ id, op, a, b, firstNode, tree }, [a.buffer as ArrayBuffer, b.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void w.terminate().then(() => resolve()), 5000);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.postMessage({ close: true });
          }),
      ),
    );
    this.workers.length = 0;
  }
}

/**
 * Streams a sector range through the pool: `read(node)` gives the chunk's two inputs (fresh buffers),
 * `consume(node, out, rows)` gets the results in order (rows with `tree`). At most 2 chunks per thread are
 * in flight.
 */
export async function pipeChunks(
  pool: CodecPool,
  op: CodecOp,
  first: number,
  count: number,
  chunkNodes: number,
  read: (node: number, nodes: number) => [Uint8Array, Uint8Array],
  consume: (node: number, out: Uint8Array, rows?: Uint8Array[]) => void,
  signal?: AbortSignal,
  tree = false,
): Promise<void> {
  const queue: { node: number; out: Promise<CodecResult> }[] = [];
  const depth = 2 * pool.threads;
  const drainOne = async () => {
    const j = queue.shift()!;
    const r = await j.out;
    consume(j.node, r.out, r.rows);
  };
  try {
    for (let node = first; node < first + count; node += chunkNodes) {
      signal?.throwIfAborted();
      const n = Math.min(chunkNodes, first + count - node);
      const [a, b] = read(node, n);
      const out = pool.run(op, a, b, node, tree);
      out.catch(() => {}); // awaited in order below; avoid an unhandled rejection meanwhile
      queue.push({ node, out });
      if (queue.length >= depth) await drainOne();
      else if (pool.threads === 1) await new Promise<void>((r) => setImmediate(r));
    }
    while (queue.length) await drainOne();
  } finally {
    await Promise.allSettled(queue.map((j) => j.out));
  }
}
