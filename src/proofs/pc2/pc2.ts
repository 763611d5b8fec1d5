/**
 * PreCommit phase 2 (rust-fil-proofs `seal_pre_commit_phase2` → `StackedDrg::replicate_phase2`):
 *
 * 1. TreeC: for every node v, the column hash C[v] = Poseidon-L(label_1[v], …, label_L[v]) (arity L = layers,
 *    MerkleTree tag, as `hash_single_column`); the column hashes are the leaves of an arity-8 Poseidon tree,
 *    split into base trees by the sector's shape. Files `sc-02-data-tree-c[-i].dat`, full DiskStore.
 * 2. Encoding: replica[v] = data[v] + label_L[v] in Fr, written over the sealed file.
 * 3. TreeR-last: arity-8 Poseidon tree over the replica, same split; files `sc-02-data-tree-r-last[-i].dat`
 *    as LevelCacheStore (no base row, `rows_to_discard` rows above it dropped).
 * 4. comm_c / comm_r_last = compound roots (sub-trees: Poseidon-sub over consecutive base roots, then
 *    Poseidon-top), CommR = Poseidon-2(comm_c, comm_r_last); `p_aux` and `t_aux` persisted.
 *
 * Work is cut into independent chunks (chunks.ts) spread over worker threads; each keeps a few MiB per layer
 * in memory, so memory does not grow with the sector size.
 */

import { open as openFile, rm, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { logger } from '../../common/log.js';
import {
  baseTreeFileNames,
  compoundRoot,
  diskStoreLayout,
  levelCacheLayout,
  NODE_SIZE,
  type NodeHasher,
} from '../merkle.js';
import {
  defaultKernel,
  type KernelKind,
  kernelDescription,
  poseidonHash2,
  poseidonHashBatch,
} from '../poseidon/index.js';
import { type PoRepConfig, sealProof } from '../registry.js';
import { labelLayerPath } from '../sdr/index.js';
import { readTreeDRoot, treeDPath } from '../tree-d.js';
import { temporaryAuxFor, writePAux, writeTAux } from './aux.js';
import { type ChunkJob, type ChunkKind, FileCache, finishTop, type Pc2Plan, runChunk, TREE_ARITY } from './chunks.js';

const log = logger('pc2');

/** Chunk size: 8^5 leaves = 1 MiB per label layer read, a few seconds of hashing per job. */
export const DEFAULT_CHUNK_LEAVES = 8 ** 5;

export interface Pc2Options {
  /** The sector's cache directory: PC1 layer files in, tree files, p_aux and t_aux out. */
  cacheDir: string;
  /** The replica file (`sealed`). Sealed in place when `stagedPath` is absent (PC1 copied the data there). */
  sealedPath: string;
  /** The unsealed sector (padded data). When given, data is read from it and the replica written to `sealedPath`. */
  stagedPath?: string;
  /** Registered seal proof id or name, or a PoRepConfig (test sizes, arbitrary porep ids). */
  proof: number | string | PoRepConfig;
  /** Worker threads (default: all cores). 0 or 1 runs on the calling thread. */
  threads?: number;
  /** Field kernel (default: native when built). */
  kernel?: KernelKind | 'auto';
  /** Leaves per work chunk, a power of 8 (default 8^5, capped at the base tree size). */
  chunkLeaves?: number;
  /** TreeR-last rows_to_discard (default: rust's default for the size, FIL_PROOFS_ROWS_TO_DISCARD = 2). */
  rowsToDiscard?: number;
  /** CommD to return (default: the root of `sc-02-data-tree-d.dat` in the cache directory, if present). */
  commD?: Uint8Array;
  onProgress?: (phase: ChunkKind, chunksDone: number, chunks: number) => void;
}

export interface Pc2Result {
  /** 32-byte LE Fr commitments. */
  commC: Uint8Array;
  commRLast: Uint8Array;
  commR: Uint8Array;
  /** From `commD` or the TreeD file; undefined when neither is available. */
  commD?: Uint8Array;
  treeCPaths: string[];
  treeRLastPaths: string[];
  kernel: string;
  threads: number;
  seconds: { treeC: number; treeRLast: number; total: number };
}

/** The seal proof's configuration from an id, a name or a config. */
export function resolvePoRep(proof: number | string | PoRepConfig): PoRepConfig {
  return typeof proof === 'object' ? proof : sealProof(proof);
}

export function treeCFileNames(cfg: Pick<PoRepConfig, 'baseTreeCount'>): string[] {
  return baseTreeFileNames('tree-c', cfg.baseTreeCount);
}

export function treeRLastFileNames(cfg: Pick<PoRepConfig, 'baseTreeCount'>): string[] {
  return baseTreeFileNames('tree-r-last', cfg.baseTreeCount);
}

/** Poseidon node hasher of one arity, for merkle.ts (compound roots, in-memory reference trees). */
export function poseidonNodeHasher(arity: number, kernel?: KernelKind | 'auto'): NodeHasher {
  return {
    arity,
    hashRow: (input, output) => poseidonHashBatch(arity, input, output.subarray(0, input.length / arity), kernel),
  };
}

function isPowerOf8(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < 1) return false;
  const l = Math.log2(n);
  return Number.isInteger(l) && l % 3 === 0;
}

async function requireFile(path: string, size: number, what: string): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) throw new Error(`${what} ${path} is missing`);
  if (st.size !== size) throw new Error(`${what} ${path} has ${st.size} bytes, expected ${size}`);
}

/** Creates (or truncates) a file of exactly `size` bytes. */
async function createSized(path: string, size: number): Promise<void> {
  await rm(path, { force: true });
  const fh = await openFile(path, 'w');
  try {
    await fh.truncate(size);
  } finally {
    await fh.close();
  }
}

async function syncFile(path: string): Promise<void> {
  const fh = await openFile(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** A worker running worker.ts; under tsx (tests, sources) the worker registers tsx first. */
function startWorker(plan: Pc2Plan): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./worker.js', import.meta.url), { workerData: plan });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData: plan });
}

/** Runs chunk jobs, on worker threads or inline; returns the roots in job order. */
class ChunkRunner {
  private workers: Worker[] = [];
  private inline: FileCache | null = null;

  constructor(
    private readonly plan: Pc2Plan,
    readonly threads: number,
  ) {
    if (threads <= 1) this.inline = new FileCache();
    else for (let i = 0; i < threads; i++) this.workers.push(startWorker(plan));
  }

  async run(jobs: ChunkJob[], onDone?: (done: number) => void): Promise<Uint8Array[]> {
    const roots: Uint8Array[] = new Array(jobs.length);
    if (this.inline) {
      for (let i = 0; i < jobs.length; i++) {
        roots[i] = runChunk(this.plan, jobs[i]!, this.inline);
        onDone?.(i + 1);
        // let timers and I/O callbacks run between chunks
        await new Promise((r) => setImmediate(r));
      }
      return roots;
    }
    let next = 0;
    let done = 0;
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const feed = (w: Worker) => {
        if (failed || next >= jobs.length) return;
        const id = next++;
        w.postMessage({ id, job: jobs[id] });
      };
      const cleanup: (() => void)[] = [];
      const finish = (err?: Error) => {
        for (const c of cleanup) c();
        if (err) reject(err);
        else resolve();
      };
      for (const w of this.workers) {
        const onMessage = (m: { id: number; root?: Uint8Array; error?: string }) => {
          if (failed) return;
          if (m.error !== undefined) {
            failed = true;
            finish(new Error(`PC2 chunk ${JSON.stringify(jobs[m.id])} failed: ${m.error}`));
            return;
          }
          roots[m.id] = m.root!;
          done++;
          onDone?.(done);
          if (done === jobs.length) finish();
          else feed(w);
        };
        const onError = (e: Error) => {
          if (failed) return;
          failed = true;
          finish(e);
        };
        const onExit = (code: number) => onError(new Error(`PC2 worker exited (code ${code}) with jobs pending`));
        w.on('message', onMessage);
        w.on('error', onError);
        w.on('exit', onExit);
        cleanup.push(() => {
          w.off('message', onMessage);
          w.off('error', onError);
          w.off('exit', onExit);
        });
      }
      if (jobs.length === 0) finish();
      // two jobs in flight per worker so none idles while the main thread handles a reply
      for (let k = 0; k < 2; k++) for (const w of this.workers) feed(w);
    });
    return roots;
  }

  /** Lets each worker close its file descriptors (they belong to the process, not the thread) and exit. */
  async close(): Promise<void> {
    this.inline?.close();
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              void w.terminate().then(() => resolve());
            }, 5000);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.postMessage({ close: true });
          }),
      ),
    );
  }
}

/** Runs PC2 for a sector whose PC1 layers are in `cacheDir`. */
export async function pc2(opts: Pc2Options): Promise<Pc2Result> {
  const t0 = performance.now();
  const cfg = resolvePoRep(opts.proof);
  const { cacheDir, sealedPath } = opts;
  const sectorSize = cfg.nodes * NODE_SIZE;
  const n = cfg.baseTreeLeaves;
  const rowsToDiscard = opts.rowsToDiscard ?? cfg.treeRLastRowsToDiscard;
  const chunkLeaves = opts.chunkLeaves ?? Math.min(n, DEFAULT_CHUNK_LEAVES);
  if (!isPowerOf8(chunkLeaves) || chunkLeaves > n || chunkLeaves < TREE_ARITY)
    throw new RangeError(`chunkLeaves ${chunkLeaves} must be a power of 8 between 8 and ${n}`);
  if (cfg.shape.base !== TREE_ARITY) throw new Error(`unsupported base arity ${cfg.shape.base}`);

  const layerPaths = Array.from({ length: cfg.layers }, (_, i) => labelLayerPath(cacheDir, i + 1));
  for (const [i, p] of layerPaths.entries()) await requireFile(p, sectorSize, `PC1 label layer ${i + 1}`);
  let dataPath = sealedPath;
  if (opts.stagedPath !== undefined && opts.stagedPath !== sealedPath) {
    await requireFile(opts.stagedPath, sectorSize, 'staged (unsealed) sector file');
    dataPath = opts.stagedPath;
    await createSized(sealedPath, sectorSize);
  } else {
    await requireFile(sealedPath, sectorSize, 'sealed file (a copy of the unsealed data, made by PC1)');
  }

  const treeCPaths = treeCFileNames(cfg).map((f) => join(cacheDir, f));
  const treeRLastPaths = treeRLastFileNames(cfg).map((f) => join(cacheDir, f));
  const treeCLayout = diskStoreLayout(n, TREE_ARITY);
  const treeRLastLayout = levelCacheLayout(n, TREE_ARITY, rowsToDiscard);
  for (const p of treeCPaths) await createSized(p, treeCLayout.fileSize);
  for (const p of treeRLastPaths) await createSized(p, treeRLastLayout.fileSize);

  const kernel = opts.kernel ?? 'auto';
  const plan: Pc2Plan = {
    baseTreeLeaves: n,
    baseTreeCount: cfg.baseTreeCount,
    chunkLeaves,
    layerPaths,
    treeCPaths,
    treeRLastPaths,
    treeCLayout,
    treeRLastLayout,
    dataPath,
    sealedPath,
    kernel,
  };
  const chunksPerTree = n / chunkLeaves;
  const totalChunks = chunksPerTree * cfg.baseTreeCount;
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), totalChunks));
  const kernelName =
    kernel === 'ts' || (kernel === 'auto' && defaultKernel() === 'ts') ? 'TypeScript bigint' : kernelDescription();
  log.info(
    { sectorSize, layers: cfg.layers, baseTrees: cfg.baseTreeCount, chunks: totalChunks, threads, kernel: kernelName },
    'PC2 start',
  );

  const runner = new ChunkRunner(plan, threads);
  const files = new FileCache();
  try {
    const buildTrees = async (kind: ChunkKind): Promise<Uint8Array[]> => {
      const jobs: ChunkJob[] = [];
      for (let tree = 0; tree < cfg.baseTreeCount; tree++)
        for (let chunk = 0; chunk < chunksPerTree; chunk++) jobs.push({ kind, tree, chunk });
      let lastLog = performance.now();
      const roots = await runner.run(jobs, (done) => {
        opts.onProgress?.(kind, done, jobs.length);
        if (performance.now() - lastLog > 30_000) {
          lastLog = performance.now();
          log.info({ tree: kind, done, chunks: jobs.length }, 'PC2 progress');
        }
      });
      const baseRoots: Uint8Array[] = [];
      for (let tree = 0; tree < cfg.baseTreeCount; tree++) {
        const chunkRoots = roots.slice(tree * chunksPerTree, (tree + 1) * chunksPerTree);
        baseRoots.push(chunksPerTree === 1 ? chunkRoots[0]! : finishTop(plan, kind, tree, chunkRoots, files));
      }
      return baseRoots;
    };
    const compound = (baseRoots: Uint8Array[]) =>
      compoundRoot(
        baseRoots,
        cfg.shape,
        cfg.shape.sub ? poseidonNodeHasher(cfg.shape.sub, kernel) : undefined,
        cfg.shape.top ? poseidonNodeHasher(cfg.shape.top, kernel) : undefined,
      );

    const tC = performance.now();
    const commC = compound(await buildTrees('tree-c'));
    const tR = performance.now();
    const commRLast = compound(await buildTrees('tree-r-last'));
    const tEnd = performance.now();
    files.close();
    for (const p of [...treeCPaths, ...treeRLastPaths, sealedPath]) await syncFile(p);

    const commR = poseidonHash2(commC, commRLast, kernel);
    await writePAux(cacheDir, { commC, commRLast });
    await writeTAux(cacheDir, temporaryAuxFor(cfg, cacheDir, rowsToDiscard));
    let commD = opts.commD;
    if (!commD) {
      const dPath = treeDPath(cacheDir);
      if (await stat(dPath).catch(() => null)) commD = await readTreeDRoot(dPath, sectorSize);
    }
    const seconds = {
      treeC: (tR - tC) / 1000,
      treeRLast: (tEnd - tR) / 1000,
      total: (performance.now() - t0) / 1000,
    };
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    log.info({ commC: hex(commC), commRLast: hex(commRLast), commR: hex(commR), ...seconds }, 'PC2 done');
    return { commC, commRLast, commR, commD, treeCPaths, treeRLastPaths, kernel: kernelName, threads, seconds };
  } finally {
    files.close();
    await runner.close();
  }
}
