/**
 * The SDR parent cache file (storage-proofs-porep `stacked/vanilla/cache.rs`): for every node, its 14 parents
 * as u32 little-endian ([drg 6][exp 8], 56 bytes per node), so labeling never recomputes the graph.
 *
 * Name: `v28-sdr-parent-<hex SHA256(X)>.cache` in $FIL_PROOFS_PARENT_CACHE (default /var/tmp/filecoin-parents),
 * X = "poseidon_hasher" ‖ graph.identifier() ‖ k0..k3 (u64 LE each) ‖ nodes (u32 LE).
 * rust-fil-proofs checks the SHA-256 of the whole file against `parent_cache.json` (PARENT_CACHE_MANIFEST).
 *
 * Generation streams: chunks of nodes are computed (in worker threads when asked), hashed and appended in
 * order, so memory stays at a few chunks whatever the sector size. The file is written under a temporary
 * name and renamed, so a reader never sees a half-written cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { cpus, endianness } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { logger } from '../../common/log.js';
import { DEGREE } from './constants.js';
import type { SdrBackend, SdrGraph } from './graph.js';

const log = logger('sdr');

/** The cache stores u32 little-endian; on a big-endian host the in-memory u32s need a byte swap. */
const HOST_LE = endianness() === 'LE';

function swap32InPlace(b: Uint8Array): void {
  for (let i = 0; i + 3 < b.length; i += 4) {
    const a = b[i]!;
    const c = b[i + 1]!;
    b[i] = b[i + 3]!;
    b[i + 1] = b[i + 2]!;
    b[i + 2] = c;
    b[i + 3] = a;
  }
}

/** `parameter_cache.rs: VERSION`. */
export const PARENT_CACHE_VERSION = 28;
export const PARENT_BYTES_PER_NODE = DEGREE * 4;

/** `storage-proofs-porep/parent_cache.json`: file stem → sector size and SHA-256 of the file. */
export const PARENT_CACHE_MANIFEST: Readonly<Record<string, { sectorSize: number; digest: string }>> = {
  'v28-sdr-parent-21981246c370f9d76c7a77ab273d94bde0ceb4e938292334960bce05585dc117': {
    sectorSize: 34359738368,
    digest: '93deeac5e3052b6927467d4b2641bb782f05491de18d510147c93eeedd8672da',
  },
  'v28-sdr-parent-2aa9c77c3e58259481351cc4be2079cc71e1c9af39700866545c043bfa30fb42': {
    sectorSize: 536870912,
    digest: '3adcc092423aa76d6a7184016893406da44dd974b219a89cd3ece25e4e3018f5',
  },
  'v28-sdr-parent-3f0eef38bb48af1f48ad65e14eb85b4ebfc167cec18cd81764f6d998836c9899': {
    sectorSize: 2048,
    digest: '3da49221e2ed55371b86d0bf3d6526fcf128af61bed904f966428db1b531750d',
  },
  'v28-sdr-parent-4905486b7af19558ac3649bc6261411858b6add534438878c4ee3b29d8b9de0b': {
    sectorSize: 68719476736,
    digest: '2698b74eb2606b55b98d8b095e18b6320b47f46e00075956d48640ccd1641b03',
  },
  'v28-sdr-parent-494d91dc80f2df5272c4b9e129bc7ade9405225993af9fe34e6542a39a47554b': {
    sectorSize: 2048,
    digest: '840057702eea7652cf97e04306c30fe57174714d90de156a25eddd6075c25b97',
  },
  'v28-sdr-parent-5eed212119fd91aa6220a27f31a8966444a9381842bceb3a1ea61525bd47a5b5': {
    sectorSize: 8388608,
    digest: '03cd13565ded97c240a5f52e54295ad127bd0461b57904cb3a4d79b097bbecab',
  },
  'v28-sdr-parent-7ba215a1d2345774ab90b8cb1158d296e409d6068819d7b8c7baf0b25d63dc34': {
    sectorSize: 536870912,
    digest: 'b5877d1963793efebc261fd8fde4dd6bc59e6b5c7abf52617a4ee023b8dc173a',
  },
  'v28-sdr-parent-8a99e8d6b6be7ab87a56b632e6739ff201c23ea14e99737c74690f0e265574d6': {
    sectorSize: 68719476736,
    digest: '2778a732ad46a7dc18e0564dfdf59fd321dcde74ab476fd6d3c4e6735d7cd89c',
  },
  'v28-sdr-parent-dcdabb0fbe4364bf0ac28b6a18c66de246409fa1a9020a00f33fb3e3053da6dc': {
    sectorSize: 8388608,
    digest: 'a76604f2f59f2744c7151653bbb1d8596b6b57d295e6fa6c1f0c41d725b502ce',
  },
  'v28-sdr-parent-e1fa5d5b811ddbd118be3412c4a8c329156b8b8acc72632bca459455b5a05a13': {
    sectorSize: 34359738368,
    digest: '3c4f9841fcc75aed8c695800e58d08480629f25af3a2aefd81904181d75cc0b6',
  },
};

/** $FIL_PROOFS_PARENT_CACHE or rust-fil-proofs' default, /var/tmp/filecoin-parents. */
export function parentCacheDir(): string {
  return process.env.FIL_PROOFS_PARENT_CACHE || '/var/tmp/filecoin-parents';
}

/** The file stem, e.g. `v28-sdr-parent-494d…554b` (`cache.rs: cache_path`). */
export function parentCacheId(graph: SdrGraph): string {
  const h = createHash('sha256');
  h.update('poseidon_hasher');
  h.update(graph.identifier());
  h.update(graph.feistelKeys); // k0..k3 as u64 LE: exactly the derived bytes
  const n = Buffer.alloc(4);
  n.writeUInt32LE(graph.nodes);
  h.update(n);
  return `v${PARENT_CACHE_VERSION}-sdr-parent-${h.digest('hex')}`;
}

export function parentCacheFileName(graph: SdrGraph): string {
  return `${parentCacheId(graph)}.cache`;
}

/** The published digest of this graph's cache, when parent_cache.json lists it. */
export function expectedParentCacheDigest(graph: SdrGraph): string | undefined {
  return PARENT_CACHE_MANIFEST[parentCacheId(graph)]?.digest;
}

export interface ParentChunkOptions {
  /** Nodes per chunk (default 65536: 3.5 MiB of parents). */
  chunkNodes?: number;
  /** Worker threads computing chunks; 0 or 1 computes on the calling thread. Default: 1 for graphs up to
   * 2^20 nodes, else the number of CPUs. */
  threads?: number;
  backend?: SdrBackend;
}

function defaultThreads(graph: SdrGraph): number {
  return graph.nodes <= 1 << 20 ? 1 : Math.max(1, cpus().length);
}

/** A worker running parent-cache-worker; under tsx (tests, sources) the worker registers tsx first. */
function startWorker(workerData: unknown): Worker {
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./parent-cache-worker.js', import.meta.url), { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const entry = new URL('./parent-cache-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(boot, { eval: true, workerData });
}

/**
 * Yields the parent cache content in node order, one chunk (14 u32 per node) at a time.
 * Chunks come from worker threads when `threads` > 1; at most 2 per thread wait in memory.
 */
export async function* parentChunks(
  graph: SdrGraph,
  opts: ParentChunkOptions = {},
): AsyncGenerator<{ start: number; parents: Uint32Array }> {
  const chunk = opts.chunkNodes ?? 65536;
  const threads = opts.threads ?? defaultThreads(graph);
  const backend = opts.backend ?? 'auto';
  const total = Math.ceil(graph.nodes / chunk);
  if (threads <= 1) {
    for (let c = 0; c < total; c++) {
      const start = c * chunk;
      const count = Math.min(chunk, graph.nodes - start);
      const parents = new Uint32Array(count * DEGREE);
      graph.fillParents(start, count, parents, backend);
      yield { start, parents };
      // let I/O callbacks run between chunks
      await new Promise<void>((r) => setImmediate(r));
    }
    return;
  }
  const workers: Worker[] = [];
  const done = new Map<number, Uint32Array>();
  let waiting: { index: number; resolve: () => void; reject: (e: Error) => void } | null = null;
  let failure: Error | null = null;
  let next = 0;
  const dispatch = (w: Worker) => {
    if (next >= total) return;
    const index = next++;
    const start = index * chunk;
    w.postMessage({ index, start, count: Math.min(chunk, graph.nodes - start) });
  };
  try {
    for (let i = 0; i < threads; i++) {
      const w = startWorker({ nodes: graph.nodes, porepId: graph.porepId, apiVersion: graph.apiVersion, backend });
      w.on('message', (m: { index: number; parents: Uint32Array }) => {
        done.set(m.index, m.parents);
        if (waiting && done.has(waiting.index)) waiting.resolve();
      });
      w.on('error', (e) => {
        failure = e;
        waiting?.reject(e);
      });
      workers.push(w);
    }
    // two chunks in flight per worker
    for (let k = 0; k < 2; k++) for (const w of workers) dispatch(w);
    for (let c = 0; c < total; c++) {
      if (failure) throw failure;
      if (!done.has(c)) {
        await new Promise<void>((resolve, reject) => {
          waiting = { index: c, resolve, reject };
        });
        waiting = null;
      }
      const parents = done.get(c)!;
      done.delete(c);
      dispatch(workers[c % workers.length]!);
      yield { start: c * chunk, parents };
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export interface ParentCacheResult {
  /** Full path of the cache file (or of where it would be, when not written). */
  path: string;
  fileName: string;
  /** SHA-256 of the file content, lower-case hex. */
  digest: string;
  bytes: number;
  /** The digest parent_cache.json publishes for this graph, if any. */
  expected?: string;
  /** digest === expected, or undefined when the manifest has no entry. */
  matches?: boolean;
  seconds: number;
}

export interface WriteParentCacheOptions extends ParentChunkOptions {
  /** Directory for the file (default parentCacheDir()). */
  dir?: string;
  /** false: compute the digest without writing a file (e.g. the 56 GiB of a 32GiB cache). Default true. */
  write?: boolean;
  /** Called after each chunk with the number of nodes done. */
  onProgress?: (nodesDone: number, nodes: number) => void;
  /**
   * Refuse a digest that differs from parent_cache.json (default true, as rust-fil-proofs does). The manifest
   * is keyed by a name that ignores the API version, so a test graph with a registered porep_id under another
   * API version (e.g. porep_id 0 with API 1.2) gets a listed name but other content: pass false for those.
   */
  checkManifest?: boolean;
}

/**
 * Generates the parent cache of `graph`, streaming, and returns its name and SHA-256. When the manifest has
 * an entry and the digest differs, the file is removed and an error thrown: a wrong cache would seal
 * sectors no verifier accepts.
 */
export async function writeParentCache(
  graph: SdrGraph,
  opts: WriteParentCacheOptions = {},
): Promise<ParentCacheResult> {
  const t0 = performance.now();
  const dir = opts.dir ?? parentCacheDir();
  const fileName = parentCacheFileName(graph);
  const path = join(dir, fileName);
  const write = opts.write ?? true;
  const expected = expectedParentCacheDigest(graph);
  const h = createHash('sha256');
  let fh: FileHandle | null = null;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  if (write) {
    await mkdir(dir, { recursive: true });
    fh = await open(tmp, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o644);
  }
  let bytes = 0;
  let lastLog = performance.now();
  try {
    let pending: Promise<unknown> = Promise.resolve();
    for await (const { start, parents } of parentChunks(graph, opts)) {
      const buf = Buffer.from(parents.buffer, parents.byteOffset, parents.byteLength);
      if (!HOST_LE) swap32InPlace(buf);
      h.update(buf);
      bytes += buf.length;
      if (fh) {
        // overlap the write of this chunk with the computation of the next one
        await pending;
        const f = fh;
        pending = f.write(buf, 0, buf.length, start * PARENT_BYTES_PER_NODE);
      }
      const doneNodes = start + parents.length / DEGREE;
      opts.onProgress?.(doneNodes, graph.nodes);
      if (performance.now() - lastLog > 30_000) {
        lastLog = performance.now();
        log.info({ done: doneNodes, nodes: graph.nodes }, 'generating parent cache');
      }
    }
    await pending;
    if (fh) {
      await fh.sync();
      await fh.close();
      fh = null;
    }
    const digest = h.digest('hex');
    const matches = expected === undefined ? undefined : digest === expected;
    if (write) {
      if (matches === false && (opts.checkManifest ?? true)) {
        await rm(tmp, { force: true });
        throw new Error(`parent cache ${fileName}: digest ${digest} differs from the published ${expected}`);
      }
      await rename(tmp, path);
    }
    const seconds = (performance.now() - t0) / 1000;
    log.info(
      { path: write ? path : undefined, fileName, digest, matches, seconds: Math.round(seconds * 10) / 10 },
      write ? 'parent cache generated' : 'parent cache digest computed',
    );
    return { path, fileName, digest, bytes, expected, matches, seconds };
  } catch (e) {
    if (fh) await fh.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw e;
  }
}

/** SHA-256 of a parent cache file on disk, streaming. */
export async function digestParentCacheFile(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 << 20);
    for (let pos = 0; ; ) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

export interface EnsureParentCacheOptions extends ParentChunkOptions {
  dir?: string;
  /** Hash an existing file and compare with the manifest (FIL_PROOFS_VERIFY_CACHE does the same in rust). */
  verify?: boolean;
}

/**
 * The path of `graph`'s parent cache, generating it when missing or of the wrong size (or, with `verify`,
 * when its digest differs from the published one).
 */
export async function ensureParentCache(graph: SdrGraph, opts: EnsureParentCacheOptions = {}): Promise<string> {
  const path = join(opts.dir ?? parentCacheDir(), parentCacheFileName(graph));
  // sealing threads starting PC1 together on one graph share a single generation
  let p = ensuring.get(path);
  if (!p) {
    p = ensureParentCacheOnce(graph, path, opts).finally(() => ensuring.delete(path));
    ensuring.set(path, p);
  }
  return p;
}

const ensuring = new Map<string, Promise<string>>();

async function ensureParentCacheOnce(graph: SdrGraph, path: string, opts: EnsureParentCacheOptions): Promise<string> {
  const dir = opts.dir ?? parentCacheDir();
  const size = graph.nodes * PARENT_BYTES_PER_NODE;
  const st = await stat(path).catch(() => null);
  if (st?.isFile() && st.size === size) {
    const verify = opts.verify ?? process.env.FIL_PROOFS_VERIFY_CACHE === '1';
    const expected = expectedParentCacheDigest(graph);
    if (!verify || expected === undefined) return path;
    const digest = await digestParentCacheFile(path);
    if (digest === expected) return path;
    log.warn({ path, digest, expected }, 'parent cache digest mismatch, regenerating');
  } else if (st) {
    log.warn({ path, size: st.size, expected: size }, 'parent cache has the wrong size, regenerating');
  }
  return (await writeParentCache(graph, { ...opts, dir })).path;
}

/** Positional reads of a parent cache file (14 u32 LE per node). */
export class ParentCacheReader {
  private constructor(
    private readonly fh: FileHandle,
    readonly nodes: number,
    readonly path: string,
  ) {}

  static async open(path: string, nodes: number): Promise<ParentCacheReader> {
    const fh = await open(path, 'r');
    const st = await fh.stat();
    if (st.size !== nodes * PARENT_BYTES_PER_NODE) {
      await fh.close();
      throw new Error(`parent cache ${path} has ${st.size} bytes, expected ${nodes * PARENT_BYTES_PER_NODE}`);
    }
    return new ParentCacheReader(fh, nodes, path);
  }

  /** Parents of nodes [start, start+count) into out. */
  async read(start: number, count: number, out: Uint32Array): Promise<void> {
    if (start < 0 || start + count > this.nodes) throw new RangeError('parent cache read outside the graph');
    const len = count * PARENT_BYTES_PER_NODE;
    const view = new Uint8Array(out.buffer, out.byteOffset, len);
    let done = 0;
    while (done < len) {
      const { bytesRead } = await this.fh.read(view, done, len - done, start * PARENT_BYTES_PER_NODE + done);
      if (bytesRead === 0) throw new Error(`parent cache ${this.path} ended early`);
      done += bytesRead;
    }
    if (!HOST_LE) swap32InPlace(view);
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}
