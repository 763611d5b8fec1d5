/**
 * Batch PC1: labels K sectors of one graph (same proof type) together, bit-exact with labelSector.
 *
 * One walk of the parent cache serves all K sectors: each chunk of parents is read once and every sector's labels
 * for those nodes are computed from it, each sector from its own replica id and its own layer buffers. The native
 * kernel hashes the K labels of a node as independent SHA-256 streams interleaved on one core (SHA-NI 2 at a
 * time by default, AVX2 8 lanes without it), which keeps the SHA unit busy where one sector leaves it waiting on the
 * latency of each round. The TypeScript kernel labels the sectors one after the other (same bytes).
 *
 * Memory: K × the single-sector memory plan (both layers of every sector in RAM). When that exceeds the budget
 * the sectors are labeled one after the other with labelSector's own plan (windowed for large sectors), so a
 * batch never needs more RAM than one sector would. docs/pc1-batch.md has the figures.
 *
 * Failures are per sector: a bad replica id, an unwritable cache directory or a failed write fails that sector
 * only; the others go on and each gets its own result.
 */
import { closeSync, openSync } from 'node:fs';
import { access, constants, type FileHandle, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { logger } from '../../common/log.js';
import { DEGREE, NODE_SIZE } from './constants.js';
import type { SdrBackend, SdrGraph } from './graph.js';
import {
  defaultLabelBudget,
  type LabelMemoryPlan,
  labelChunkTs,
  labelLayerPath,
  labelSector,
  planLabelMemory,
} from './labels.js';
import { readFully, writeFully } from './layer-files.js';
import { layerBuffer as allocLayer, type SdrMapping, type SdrNative, sdrNative } from './native.js';
import { ensureParentCache, ParentCacheReader } from './parent-cache.js';

const log = logger('sdr');

/** The most sectors one batch takes (the native kernel's bound). */
export const MAX_BATCH_SECTORS = 64;

export interface BatchSector {
  replicaId: Uint8Array;
  /** This sector's cache directory; its layer files go there. */
  cacheDir: string;
}

export interface LabelBatchOptions {
  graph: SdrGraph;
  sectors: BatchSector[];
  layers: number;
  /** The parent cache file; default: ensureParentCache(graph). */
  parentCachePath?: string;
  backend?: SdrBackend;
  /** RAM budget for labels of the whole batch, bytes (default 60% of total memory). */
  memoryBudget?: number;
  /** Nodes per kernel call (default 65536). */
  chunkNodes?: number;
  /** Force the windowed plan with this window per sector (tests, low-memory boxes). */
  windowNodes?: number;
  /** Keep layer files that already exist complete (resume after a crash). Default true. */
  resume?: boolean;
  onProgress?: (layer: number, nodesDone: number, nodes: number) => void;
}

export type BatchSectorResult =
  | { ok: true; layerPaths: string[]; labels: number }
  | { ok: false; error: Error; layerPaths: string[] };

export interface LabelBatchResult {
  /** One per input sector, in input order. */
  sectors: BatchSectorResult[];
  /** "batch": labeled together (both layers of each sector in RAM, or a window each: plan); "sequential": no
   * native windowed kernel and K × the memory plan did not fit, one sector after the other. */
  mode: 'batch' | 'sequential';
  plan: 'memory' | 'windowed';
  kernel: 'native' | 'ts';
  /** How the native kernel hashed several streams ("sha-ni x2", …), or "ts". */
  lanes: string;
  /** Labels computed over all sectors, and the wall and kernel time. */
  labels: number;
  seconds: number;
  kernelSeconds: number;
}

interface Live {
  index: number;
  replicaId: Uint8Array;
  cacheDir: string;
  layerPaths: string[];
  firstLayer: number;
  labels: number;
  error: Error | null;
  cur: Buffer;
  prev: Buffer;
  fh: FileHandle | null;
  writing: Promise<void>;
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** Labels every layer of K sectors of `graph`; never rejects for one sector's inputs (see each result). */
export async function labelSectorsBatch(opts: LabelBatchOptions): Promise<LabelBatchResult> {
  const { graph, sectors, layers } = opts;
  if (!Array.isArray(sectors) || sectors.length < 1 || sectors.length > MAX_BATCH_SECTORS)
    throw new RangeError(`a batch takes 1 to ${MAX_BATCH_SECTORS} sectors, got ${sectors?.length}`);
  if (!Number.isInteger(layers) || layers < 1) throw new RangeError(`bad layer count ${layers}`);
  const t0 = performance.now();
  const nodes = graph.nodes;
  const budget = opts.memoryBudget ?? defaultLabelBudget();
  const resume = opts.resume ?? true;
  const native = opts.backend === 'ts' ? null : sdrNative();
  const batchNative = native?.sdrLabelChunkBatch ? native : null;
  if (opts.backend === 'native' && !batchNative) throw new Error('the native batch SDR kernel is not available');
  const kernel = batchNative ? 'native' : 'ts';
  const lanes = batchNative?.sdrLanesBackend?.() ?? 'ts';

  // Each sector's own inputs: a failure here fails that sector only.
  const live: Live[] = [];
  const results: BatchSectorResult[] = await Promise.all(
    sectors.map(async (s, index): Promise<BatchSectorResult> => {
      const layerPaths = Array.from({ length: layers }, (_, i) => labelLayerPath(s.cacheDir, i + 1));
      try {
        if (!(s.replicaId instanceof Uint8Array) || s.replicaId.length !== 32)
          throw new RangeError('replica_id must be 32 bytes');
        if (typeof s.cacheDir !== 'string' || !s.cacheDir) throw new TypeError('cacheDir must be a path');
        await mkdir(s.cacheDir, { recursive: true });
        await access(s.cacheDir, constants.W_OK);
        let firstLayer = 1;
        while (resume && firstLayer <= layers) {
          const st = await stat(layerPaths[firstLayer - 1]!).catch(() => null);
          if (!st || st.size !== nodes * NODE_SIZE) break;
          firstLayer++;
        }
        const e = Buffer.alloc(0);
        live.push({
          index,
          ...s,
          layerPaths,
          firstLayer,
          labels: 0,
          error: null,
          cur: e,
          prev: e,
          fh: null,
          writing: Promise.resolve(),
        });
        return { ok: true, layerPaths, labels: 0 };
      } catch (e) {
        log.warn({ sector: index, cacheDir: s.cacheDir, err: asError(e).message }, 'batch PC1: sector not labeled');
        return { ok: false, error: asError(e), layerPaths };
      }
    }),
  );
  live.sort((a, b) => a.index - b.index);

  const plan = planLabelMemory(nodes, Math.floor(budget / Math.max(1, live.length)), {
    chunkNodes: opts.chunkNodes,
    windowNodes: opts.windowNodes,
  });
  let labels = 0;
  let kernelMs = 0;
  let mode: LabelBatchResult['mode'] = 'batch';
  // K windows (the previous layers through the page cache) where the native windowed kernel exists
  const windowed = plan.mode === 'windowed' && !!native?.sdrLabelChunkWindowedBatch && process.platform !== 'win32';
  if (live.length && plan.mode !== 'memory' && !windowed) {
    // K × the in-memory plan does not fit: one sector after the other, each with labelSector's own plan
    mode = 'sequential';
    for (const s of live) {
      try {
        const r = await labelSector({ ...opts, replicaId: s.replicaId, cacheDir: s.cacheDir, memoryBudget: budget });
        s.labels = r.labels;
        labels += r.labels;
        kernelMs += r.kernelSeconds * 1000;
      } catch (e) {
        s.error = asError(e);
      }
    }
  } else if (live.length) {
    const parentPath = opts.parentCachePath ?? (await ensureParentCache(graph, { backend: opts.backend }));
    const parents = await ParentCacheReader.open(parentPath, nodes);
    log.info(
      { sectors: live.length, nodes, layers, ramMiB: Math.round((live.length * plan.bytes) / 2 ** 20), kernel, lanes },
      'batch labeling sectors',
    );
    try {
      for (let layer = windowed ? Math.min(...live.map((s) => s.firstLayer)) : layers + 1; layer <= layers; layer++) {
        const r = await labelBatchLayerWindowed(opts, native!, parents, plan, layer, live);
        labels += r.labels;
        kernelMs += r.kernelMs;
      }
      for (const s of windowed ? [] : live) {
        if (s.firstLayer > layers) continue; // every layer already complete
        s.cur = layerBuffer(nodes);
        // resumed: the last complete layer is the previous one of the first to label
        s.prev = layerBuffer(s.firstLayer > 1 ? nodes : 0);
        if (s.firstLayer > 1) await readLayer(s.layerPaths[s.firstLayer - 2]!, s.prev).catch((e) => fail(s, e));
      }
      const first = windowed ? layers + 1 : Math.min(...live.map((s) => s.firstLayer));
      for (let layer = first; layer <= layers; layer++) {
        const r = await labelBatchLayer(opts, batchNative, parents, plan.chunkNodes, layer, live);
        labels += r.labels;
        kernelMs += r.kernelMs;
      }
    } finally {
      await parents.close();
      for (const s of live) s.cur = s.prev = Buffer.alloc(0);
    }
  }
  for (const s of live) {
    results[s.index] = s.error
      ? { ok: false, error: s.error, layerPaths: s.layerPaths }
      : { ok: true, layerPaths: s.layerPaths, labels: s.labels };
  }
  const seconds = (performance.now() - t0) / 1000;
  log.info(
    {
      sectors: sectors.length,
      failed: results.filter((r) => !r.ok).length,
      labels,
      seconds: Math.round(seconds * 10) / 10,
      mode,
    },
    'batch labeled',
  );
  return { sectors: results, mode, plan: plan.mode, kernel, lanes, labels, seconds, kernelSeconds: kernelMs / 1000 };
}

/** A layer buffer: every label is written before it is read (parents precede their node), so no zeroing. */
function layerBuffer(nodes: number): Buffer {
  return allocLayer(nodes * NODE_SIZE);
}

async function readLayer(path: string, into: Buffer): Promise<void> {
  const fh = await open(path, 'r');
  await readFully(fh, into, 0).finally(() => fh.close());
}

function fail(s: Live, e: unknown): void {
  if (s.error) return;
  s.error = asError(e);
  log.warn({ cacheDir: s.cacheDir, err: s.error.message }, 'batch PC1: sector failed, the others go on');
}

/** Labels `layer` for every live sector that needs it; a sector whose file is complete loads it instead. */
async function labelBatchLayer(
  opts: LabelBatchOptions,
  native: ReturnType<typeof sdrNative>,
  parents: ParentCacheReader,
  chunk: number,
  layer: number,
  live: Live[],
): Promise<{ labels: number; kernelMs: number }> {
  const nodes = opts.graph.nodes;
  const todo = live.filter((s) => !s.error && s.firstLayer <= layer);
  await Promise.all(
    todo.map(async (s) => {
      const tmp = `${s.layerPaths[layer - 1]!}.tmp`;
      s.fh = await open(tmp, 'w').catch((e) => {
        fail(s, e);
        return null;
      });
      s.writing = Promise.resolve();
    }),
  );
  let kernelMs = 0;
  const bufs = [new Uint32Array(chunk * DEGREE), new Uint32Array(chunk * DEGREE)];
  let reading: Promise<void> = parents.read(0, Math.min(chunk, nodes), bufs[0]!);
  for (let start = 0, c = 0; start < nodes; start += chunk, c++) {
    const count = Math.min(chunk, nodes - start);
    await reading;
    const par = bufs[c & 1]!;
    const next = start + chunk;
    reading = next < nodes ? parents.read(next, Math.min(chunk, nodes - next), bufs[(c + 1) & 1]!) : Promise.resolve();
    const run = todo.filter((s) => !s.error);
    if (!run.length) break;
    const t = performance.now();
    if (native?.sdrLabelChunkBatch) {
      native.sdrLabelChunkBatch(
        run.map((s) => s.replicaId),
        layer,
        start,
        count,
        par,
        run.map((s) => s.cur),
        start,
        layer > 1 ? run.map((s) => s.prev) : null,
      );
    } else {
      for (const s of run) labelChunkTs(s.replicaId, layer, start, count, par, s.cur, start, layer > 1 ? s.prev : null);
    }
    kernelMs += performance.now() - t;
    // the previous chunk's writes ran while this one hashed; one chunk in flight per sector at most
    await Promise.all(run.map((s) => s.writing));
    for (const s of run) {
      if (s.error) continue;
      const data = s.cur.subarray(start * NODE_SIZE, (start + count) * NODE_SIZE);
      s.writing = writeFully(s.fh!, data, start * NODE_SIZE).catch((e) => fail(s, e));
    }
    opts.onProgress?.(layer, start + count, nodes);
  }
  await reading;
  let labels = 0;
  await Promise.all(
    todo.map(async (s) => {
      const path = s.layerPaths[layer - 1]!;
      const tmp = `${path}.tmp`;
      try {
        await s.writing;
        if (s.error) throw s.error;
        await s.fh!.sync();
        await s.fh!.close();
        s.fh = null;
        await rename(tmp, path);
        s.labels += nodes;
        labels += nodes;
      } catch (e) {
        fail(s, e);
        await s.fh?.close().catch(() => {});
        s.fh = null;
        await rm(tmp, { force: true }).catch(() => {});
      }
    }),
  );
  // this layer becomes the previous one
  for (const s of live) {
    if (s.error) continue;
    if (s.firstLayer <= layer) {
      const old = s.prev.length === s.cur.length ? s.prev : layerBuffer(nodes);
      s.prev = s.cur;
      s.cur = old;
    }
  }
  return { labels, kernelMs };
}

interface WindowedSector {
  s: Live;
  tmp: string;
  fh: FileHandle | null;
  fds: number[];
  maps: SdrMapping[];
  curMap: SdrMapping | null;
  prevSource: SdrMapping | number;
  window: Buffer;
  writing: Promise<void>;
}

/**
 * Windowed plan for K sectors (large sectors): each keeps a window of its current layer in RAM; older DRG parents
 * and every expander parent come from read-only mappings of its own layer files (the page cache). One parent
 * read per chunk serves all K; a sector whose file fails drops out alone.
 */
async function labelBatchLayerWindowed(
  opts: LabelBatchOptions,
  native: SdrNative,
  parents: ParentCacheReader,
  plan: LabelMemoryPlan,
  layer: number,
  live: Live[],
): Promise<{ labels: number; kernelMs: number }> {
  const nodes = opts.graph.nodes;
  const chunk = plan.chunkNodes;
  const W = plan.windowNodes;
  const bytes = nodes * NODE_SIZE;
  const secs: WindowedSector[] = [];
  for (const s of live.filter((x) => !x.error && x.firstLayer <= layer)) {
    const w: WindowedSector = {
      s,
      tmp: `${s.layerPaths[layer - 1]!}.tmp`,
      fh: null,
      fds: [],
      maps: [],
      curMap: null,
      prevSource: -1,
      window: Buffer.alloc(0),
      writing: Promise.resolve(),
    };
    secs.push(w);
    try {
      w.fh = await open(w.tmp, 'w');
      // full size up front (sparse), so the mapping covers every node; writes land in the same page cache
      await w.fh.truncate(bytes);
      w.fds.push(openSync(w.tmp, 'r'));
      w.curMap = native.sdrMapFile(w.fds[0]!, bytes, true);
      w.maps.push(w.curMap);
      if (layer > 1) {
        w.fds.push(openSync(s.layerPaths[layer - 2]!, 'r'));
        w.prevSource = native.sdrMapFile(w.fds[1]!, bytes, true);
        w.maps.push(w.prevSource);
      }
      w.window = allocLayer(W * NODE_SIZE);
    } catch (e) {
      fail(s, e);
    }
  }
  let kernelMs = 0;
  let wBase = 0;
  const raw = [new Uint32Array(chunk * DEGREE), new Uint32Array(chunk * DEGREE)];
  let reading: Promise<void> = parents.read(0, Math.min(chunk, nodes), raw[0]!);
  try {
    for (let start = 0, c = 0; start < nodes; start += chunk, c++) {
      const count = Math.min(chunk, nodes - start);
      await reading;
      const par = raw[c & 1]!;
      const next = start + chunk;
      reading = next < nodes ? parents.read(next, Math.min(chunk, nodes - next), raw[(c + 1) & 1]!) : Promise.resolve();
      // every node before this chunk is in the file (older DRG parents are read there) and the window may slide
      await Promise.all(secs.map((w) => w.writing));
      const run = secs.filter((w) => !w.s.error);
      if (!run.length) break;
      if (start + count > wBase + W) {
        const newBase = start - Math.floor(W / 2);
        for (const w of run) w.window.copyWithin(0, (newBase - wBase) * NODE_SIZE, (start - wBase) * NODE_SIZE);
        wBase = newBase;
      }
      const t = performance.now();
      const errs = native.sdrLabelChunkWindowedBatch!(
        run.map((w) => w.s.replicaId),
        layer,
        start,
        count,
        par,
        run.map((w) => w.window),
        wBase,
        run.map((w) => w.curMap!),
        run.map((w) => w.prevSource),
      );
      kernelMs += performance.now() - t;
      run.forEach((w, i) => {
        if (errs[i]) fail(w.s, new Error(errs[i]!));
        if (w.s.error) return;
        const data = w.window.subarray((start - wBase) * NODE_SIZE, (start - wBase + count) * NODE_SIZE);
        w.writing = writeFully(w.fh!, data, start * NODE_SIZE).catch((e) => fail(w.s, e));
      });
      opts.onProgress?.(layer, start + count, nodes);
    }
    await reading;
  } finally {
    await reading.catch(() => {});
    for (const w of secs) {
      await w.writing;
      for (const m of w.maps) native.sdrUnmap(m);
      for (const fd of w.fds) closeSync(fd);
    }
  }
  const done = await Promise.all(secs.map((w) => finishLayerFile(w.s, w.fh, w.tmp, w.s.layerPaths[layer - 1]!, nodes)));
  return { labels: done.filter(Boolean).length * nodes, kernelMs };
}

/** fsync, close and rename a sector's layer file, or drop it when the sector failed. True when kept. */
async function finishLayerFile(
  s: Live,
  fh: FileHandle | null,
  tmp: string,
  path: string,
  nodes: number,
): Promise<boolean> {
  try {
    if (s.error) throw s.error;
    await fh!.sync();
    await fh!.close();
    await rename(tmp, path);
    s.labels += nodes;
    return true;
  } catch (e) {
    fail(s, e);
    await fh?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    return false;
  }
}
