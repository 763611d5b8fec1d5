/**
 * PC1: SDR layer labeling (storage-proofs-porep `stacked/vanilla/create_label/`), bit-exact with rust-fil-proofs.
 *
 * Label of node v on layer L (1-based):
 *   header = replica_id[32] ‖ L u32 BE ‖ v u64 BE ‖ 0^20                                   (64 bytes)
 *   v = 0:  trunc254(SHA256(header))
 *   else:   P = labels of the 6 DRG parents on layer L (+ the 8 expander parents on layer L−1 when L > 1)
 *           trunc254(SHA256(header ‖ S0 … S36)), S = P repeated cyclically to 37 entries   (1248 bytes)
 * Layers go to `<cacheDir>/sc-02-data-layer-<L>.dat`, nodes × 32 bytes each.
 *
 * Memory. Labeling node v reads up to 6 labels of the current layer (all < v; the predecessor always,
 * the others at log-uniformly spread distances) and 8 labels of the previous layer at uniformly random places.
 * Two plans:
 * - "memory": both layers in RAM (2 × sector size, plus a parents chunk); rust-fil-proofs does the same.
 *   2KiB: 4 KiB, 8MiB: 16 MiB, 512MiB: 1 GiB.
 * - "windowed" (when 2 × sector size exceeds the memory budget, e.g. 32GiB on a 24 GiB box): the current
 *   layer keeps a sliding window of its most recent nodes in RAM (default 1 GiB); DRG parents older than the
 *   window (about 1 in 8 at 32GiB) are read back from the layer file being written. The previous layer keeps as
 *   much of its beginning in RAM as the budget allows; expander parents beyond it are positional reads of its
 *   file, served by the page cache. Memory = window + resident part + a few MiB, whatever the sector size.
 *
 * Both plans drive the same kernel: per chunk of nodes, a parents array whose entries index a "current" buffer
 * (DRG) and a "previous" buffer (expander); in windowed mode the indices are remapped onto the window and onto
 * gathered copies. The kernel is native (SHA-NI when the CPU has it) or TypeScript over node:crypto; both give
 * identical bytes (labels.test.ts).
 */
import { hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { logger } from '../../common/log.js';
import { BASE_DEGREE, DEGREE, EXP_DEGREE, NODE_SIZE } from './constants.js';
import type { SdrBackend, SdrGraph } from './graph.js';
import { openLayerFile, readFully, withLayerFile, writeFully } from './layer-files.js';
import { layerBuffer, type SdrMapping, type SdrNative, sdrNative } from './native.js';
import { ensureParentCache, ParentCacheReader } from './parent-cache.js';

const log = logger('sdr');

/** rust-fil-proofs' name of layer L's labels in the sector cache directory (`CacheKey::label_layer`). */
export function labelLayerFileName(layer: number): string {
  return `sc-02-data-layer-${layer}.dat`;
}

export function labelLayerPath(cacheDir: string, layer: number): string {
  return join(cacheDir, labelLayerFileName(layer));
}

// ------------------------------------------------------------------------------------------- kernels

const MSG = Buffer.alloc(64 + 37 * NODE_SIZE);
const MSG32 = new Int32Array(MSG.buffer, MSG.byteOffset, MSG.length / 4);

/** A 4-byte-aligned Int32Array view of `b`, or null (then labels are copied with subarray/set). */
function words(b: Uint8Array | null): Int32Array | null {
  if (!b || b.byteOffset % 4 !== 0) return null;
  return new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
}

/** Copies label `s` of `src` into MSG slot `slot` (8 words; subarray+set costs ~10× more per call). */
function putLabel(src: Uint8Array, src32: Int32Array | null, s: number, slot: number): void {
  if (src32) {
    const a = s * 8;
    const d = 16 + slot * 8;
    MSG32[d] = src32[a]!;
    MSG32[d + 1] = src32[a + 1]!;
    MSG32[d + 2] = src32[a + 2]!;
    MSG32[d + 3] = src32[a + 3]!;
    MSG32[d + 4] = src32[a + 4]!;
    MSG32[d + 5] = src32[a + 5]!;
    MSG32[d + 6] = src32[a + 6]!;
    MSG32[d + 7] = src32[a + 7]!;
  } else {
    MSG.set(src.subarray(s * 32, s * 32 + 32), 64 + 32 * slot);
  }
}

/**
 * TypeScript labeling kernel, same contract as native `sdrLabelChunk`: labels nodes [first, first+count) of
 * `layer`; parents holds 14 u32 per node, DRG entries index 32-byte slots of `cur`, expander entries slots of
 * `prev`; label i goes to slot outSlot+i of `cur`.
 */
export function labelChunkTs(
  replicaId: Uint8Array,
  layer: number,
  first: number,
  count: number,
  parents: Uint32Array,
  cur: Uint8Array,
  outSlot: number,
  prev: Uint8Array | null,
): void {
  if (layer > 1 && !prev) throw new Error('layers after the first need the previous layer');
  const m = MSG;
  m.set(replicaId, 0);
  m.writeUInt32BE(layer, 32);
  m.fill(0, 44, 64);
  const distinct = layer === 1 ? BASE_DEGREE : DEGREE;
  const curNodes = Math.floor(cur.length / NODE_SIZE);
  const prevNodes = prev ? Math.floor(prev.length / NODE_SIZE) : 0;
  const cur32 = words(cur);
  const prev32 = words(prev);
  for (let i = 0; i < count; i++) {
    const node = first + i;
    m.writeUInt32BE(Math.floor(node / 4294967296), 36);
    m.writeUInt32BE(node >>> 0, 40);
    let h: Buffer;
    if (node === 0) {
      h = hash('sha256', m.subarray(0, 64), 'buffer') as unknown as Buffer;
    } else {
      const p = i * DEGREE;
      for (let k = 0; k < BASE_DEGREE; k++) {
        const s = parents[p + k]!;
        if (s >= curNodes) throw new RangeError('DRG parent outside the current-layer buffer');
        putLabel(cur, cur32, s, k);
      }
      if (layer > 1) {
        for (let k = BASE_DEGREE; k < DEGREE; k++) {
          const s = parents[p + k]!;
          if (s >= prevNodes) throw new RangeError('expander parent outside the previous-layer buffer');
          putLabel(prev!, prev32, s, k);
        }
      }
      // repeat the distinct parents cyclically up to 37 slots
      for (let filled = distinct; filled < 37; ) {
        const n = Math.min(filled, 37 - filled);
        m.copyWithin(64 + 32 * filled, 64, 64 + 32 * n);
        filled += n;
      }
      h = hash('sha256', m, 'buffer') as unknown as Buffer;
    }
    h[31]! &= 0x3f;
    cur.set(h, (outSlot + i) * 32);
  }
}

export type LabelKernel = typeof labelChunkTs;

/** The kernel for a backend: native when built (and not refused), else TypeScript. */
export function labelKernel(backend: SdrBackend = 'auto'): { name: 'native' | 'ts'; run: LabelKernel } {
  const native = backend === 'ts' ? null : sdrNative();
  if (native) return { name: 'native', run: native.sdrLabelChunk.bind(native) };
  if (backend === 'native') throw new Error('the native SDR kernel is not available');
  return { name: 'ts', run: labelChunkTs };
}

// ------------------------------------------------------------------------------------------- planning

export interface LabelMemoryPlan {
  mode: 'memory' | 'windowed';
  /** windowed: nodes of the current layer kept in RAM */
  windowNodes: number;
  /** windowed: leading nodes of the previous layer kept in RAM */
  residentPrevNodes: number;
  chunkNodes: number;
  /** RAM for label buffers and parents, bytes (the page cache comes on top). */
  bytes: number;
}

/** The largest single buffer we allocate (Node 20's limit is 4 GiB). */
const MAX_SEGMENT = 1 << 30;

/**
 * How labeling a graph of `nodes` nodes uses `budget` bytes of RAM. Memory mode when both layers fit
 * (and each fits in one Buffer); else a window of the current layer plus as much of the previous one as fits.
 */
export function planLabelMemory(
  nodes: number,
  budget: number,
  opts: { chunkNodes?: number; windowNodes?: number; residentPrevNodes?: number } = {},
): LabelMemoryPlan {
  const chunkNodes = Math.min(opts.chunkNodes ?? 65536, nodes);
  const chunkBytes = chunkNodes * (DEGREE * 4 * 2 + EXP_DEGREE * 32 + BASE_DEGREE * 32);
  const layerBytes = nodes * NODE_SIZE;
  if (opts.windowNodes === undefined && 2 * layerBytes + chunkBytes <= budget && layerBytes <= 2 * MAX_SEGMENT) {
    return {
      mode: 'memory',
      windowNodes: nodes,
      residentPrevNodes: nodes,
      chunkNodes,
      bytes: 2 * layerBytes + chunkBytes,
    };
  }
  const windowNodes = Math.max(
    2 * chunkNodes,
    Math.min(opts.windowNodes ?? Math.min(MAX_SEGMENT / NODE_SIZE, Math.floor(budget / 4 / NODE_SIZE)), nodes),
  );
  const windowBytes = (windowNodes + chunkNodes * BASE_DEGREE) * NODE_SIZE;
  const left = Math.max(0, budget - windowBytes - chunkBytes);
  const residentPrevNodes = Math.min(nodes, opts.residentPrevNodes ?? Math.floor(left / NODE_SIZE));
  return {
    mode: 'windowed',
    windowNodes,
    residentPrevNodes,
    chunkNodes,
    bytes: windowBytes + residentPrevNodes * NODE_SIZE + chunkBytes,
  };
}

/** Default RAM budget for labels: 60% of the machine's memory. */
export function defaultLabelBudget(): number {
  return Math.floor(totalmem() * 0.6);
}

// ------------------------------------------------------------------------------------------- sources

/** Random access to a finished layer: its leading nodes from RAM, the rest by positional reads. */
class LayerSource {
  readonly segments: Buffer[] = [];
  fd: number | null = null;
  private constructor(
    readonly path: string,
    readonly resident: number,
    readonly segNodes: number,
  ) {}

  /** Loads the first `resident` nodes of the layer file into RAM segments. */
  static async open(path: string, resident: number): Promise<LayerSource> {
    const segNodes = MAX_SEGMENT / NODE_SIZE;
    const src = new LayerSource(path, resident, segNodes);
    const fh = await open(path, 'r');
    try {
      for (let s = 0; s < resident; s += segNodes) {
        const n = Math.min(segNodes, resident - s);
        const seg = Buffer.allocUnsafe(n * NODE_SIZE);
        await readFully(fh, seg, s * NODE_SIZE);
        src.segments.push(seg);
      }
    } finally {
      await fh.close();
    }
    src.fd = openSync(path, 'r');
    return src;
  }

  /** Copies the label of `node` to out[off..off+32]. */
  copyLabel(node: number, out: Buffer, off: number): void {
    if (node < this.resident) {
      const seg = this.segments[Math.floor(node / this.segNodes)]!;
      const o = (node % this.segNodes) * NODE_SIZE;
      seg.copy(out, off, o, o + NODE_SIZE);
      return;
    }
    readExactSync(this.fd!, out, off, node * NODE_SIZE, this.path);
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.segments.length = 0;
  }
}

function readExactSync(fd: number, out: Buffer, off: number, pos: number, path: string): void {
  let done = 0;
  while (done < NODE_SIZE) {
    const n = readSync(fd, out, off + done, NODE_SIZE - done, pos + done);
    if (n === 0) throw new Error(`${path} ended early`);
    done += n;
  }
}

// ------------------------------------------------------------------------------------------- labeling

export interface LabelSectorOptions {
  graph: SdrGraph;
  replicaId: Uint8Array;
  layers: number;
  /** The sector's cache directory; layer files go there. */
  cacheDir: string;
  /** The parent cache file; default: ensureParentCache(graph) (generated when missing). */
  parentCachePath?: string;
  backend?: SdrBackend;
  /** RAM budget for labels in bytes (default 60% of total memory). */
  memoryBudget?: number;
  /** Force the windowed plan with this window (tests, low-memory boxes). */
  windowNodes?: number;
  /** Windowed plan: leading nodes of the previous layer to keep in RAM (default: what the budget allows). */
  residentPrevNodes?: number;
  /** Nodes per kernel call (default 65536). */
  chunkNodes?: number;
  /** Keep layer files that already exist complete (resume after a crash), as rust-fil-proofs does. Default true. */
  resume?: boolean;
  onProgress?: (layer: number, nodesDone: number, nodes: number) => void;
}

export interface LabelSectorResult {
  layerPaths: string[];
  plan: LabelMemoryPlan;
  kernel: 'native' | 'ts';
  /** Labels computed (layers × nodes, minus resumed layers) and the time spent. */
  labels: number;
  seconds: number;
  /** Of `seconds`, the time spent inside the labeling kernel (the rest is I/O, gathering and setup). */
  kernelSeconds: number;
}

/** Labels every layer of a sector into `cacheDir` and returns the layer file paths (1..layers). */
export async function labelSector(opts: LabelSectorOptions): Promise<LabelSectorResult> {
  const { graph, replicaId, layers, cacheDir } = opts;
  if (replicaId.length !== 32) throw new RangeError('replica_id must be 32 bytes');
  if (!Number.isInteger(layers) || layers < 1) throw new RangeError(`bad layer count ${layers}`);
  const t0 = performance.now();
  const nodes = graph.nodes;
  const kernel = labelKernel(opts.backend);
  let kernelMs = 0;
  const timed: LabelKernel = (...args) => {
    const t = performance.now();
    kernel.run(...args);
    kernelMs += performance.now() - t;
  };
  // The native windowed kernel reads older labels itself, through read-only mappings of the layer files
  // (the page cache holds them, evictable); the TS path gathers them first, from RAM segments or by pread.
  const native = kernel.name === 'native' && process.platform !== 'win32' ? sdrNative() : null;
  const windowedNative: WindowedNative | null = native
    ? {
        run: (...args) => {
          const t = performance.now();
          native.sdrLabelChunkWindowed(...args);
          kernelMs += performance.now() - t;
        },
        map: native.sdrMapFile.bind(native),
        unmap: native.sdrUnmap.bind(native),
      }
    : null;
  let plan = planLabelMemory(nodes, opts.memoryBudget ?? defaultLabelBudget(), {
    chunkNodes: opts.chunkNodes,
    windowNodes: opts.windowNodes,
    residentPrevNodes: opts.residentPrevNodes,
  });
  if (plan.mode === 'windowed' && windowedNative && opts.residentPrevNodes === undefined) {
    // mapped: nothing of the previous layer is copied into this process
    plan = { ...plan, bytes: plan.bytes - plan.residentPrevNodes * NODE_SIZE, residentPrevNodes: 0 };
  }
  await mkdir(cacheDir, { recursive: true });
  const parentPath = opts.parentCachePath ?? (await ensureParentCache(graph, { backend: opts.backend }));
  const parents = await ParentCacheReader.open(parentPath, nodes);
  const layerPaths = Array.from({ length: layers }, (_, i) => labelLayerPath(cacheDir, i + 1));
  log.info(
    { nodes, layers, plan: plan.mode, ramMiB: Math.round(plan.bytes / 2 ** 20), kernel: kernel.name },
    'labeling sector',
  );

  // Resume: skip leading layers whose files are complete (written under a temporary name, then renamed).
  let firstLayer = 1;
  if (opts.resume ?? true) {
    while (firstLayer <= layers) {
      const st = await stat(layerPaths[firstLayer - 1]!).catch(() => null);
      if (!st || st.size !== nodes * NODE_SIZE) break;
      firstLayer++;
    }
    if (firstLayer > 1) log.info({ layers: firstLayer - 1 }, 'layers already labeled, resuming');
  }

  let labels = 0;
  try {
    if (plan.mode === 'memory') {
      // no zeroing: every label is written before it is read (a node's parents precede it)
      const cur = layerBuffer(nodes * NODE_SIZE);
      let prev = layerBuffer(firstLayer > 1 ? nodes * NODE_SIZE : 0);
      if (firstLayer > 1) {
        const fh = await open(layerPaths[firstLayer - 2]!, 'r');
        await readFully(fh, prev, 0).finally(() => fh.close());
      }
      let curBuf = cur;
      // a layer's fsync and rename run while the next layer is labeled (its labels are in RAM already)
      let finishing: Promise<void> = Promise.resolve();
      try {
        for (let layer = firstLayer; layer <= layers; layer++) {
          const fh = await openLayerFile(layerPaths[layer - 1]!);
          await labelLayerInMemory(opts, timed, parents, plan.chunkNodes, layer, curBuf, prev, fh.fh).catch(
            async (e) => {
              await fh.abort();
              throw e;
            },
          );
          const prevFinish = finishing;
          finishing = Promise.all([prevFinish, fh.finish()]).then(() => {});
          labels += nodes;
          // this layer becomes the previous one; reuse the old previous buffer for the next layer
          const next = prev.length === curBuf.length ? prev : layerBuffer(nodes * NODE_SIZE);
          prev = curBuf;
          curBuf = next;
        }
      } finally {
        await finishing;
      }
    } else {
      for (let layer = firstLayer; layer <= layers; layer++) {
        const prevSrc = layer > 1 ? await LayerSource.open(layerPaths[layer - 2]!, plan.residentPrevNodes) : null;
        try {
          await labelLayerWindowed(opts, timed, windowedNative, parents, plan, layer, prevSrc, layerPaths[layer - 1]!);
        } finally {
          prevSrc?.close();
        }
        labels += nodes;
      }
    }
  } finally {
    await parents.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  log.info({ labels, seconds: Math.round(seconds * 10) / 10, perSecond: Math.round(labels / seconds) }, 'labeled');
  return { layerPaths, plan, kernel: kernel.name, labels, seconds, kernelSeconds: kernelMs / 1000 };
}

async function labelLayerInMemory(
  opts: LabelSectorOptions,
  run: LabelKernel,
  parents: ParentCacheReader,
  chunk: number,
  layer: number,
  cur: Buffer,
  prev: Buffer,
  fh: FileHandle,
): Promise<void> {
  const nodes = opts.graph.nodes;
  const bufs = [new Uint32Array(chunk * DEGREE), new Uint32Array(chunk * DEGREE)];
  let reading: Promise<void> = parents.read(0, Math.min(chunk, nodes), bufs[0]!);
  let writing: Promise<void> = Promise.resolve();
  for (let start = 0, c = 0; start < nodes; start += chunk, c++) {
    const count = Math.min(chunk, nodes - start);
    await reading;
    const par = bufs[c & 1]!;
    const next = start + chunk;
    // read the next chunk of parents while this one is hashed
    reading = next < nodes ? parents.read(next, Math.min(chunk, nodes - next), bufs[(c + 1) & 1]!) : Promise.resolve();
    run(opts.replicaId, layer, start, count, par, cur, start, layer > 1 ? prev : null);
    await writing;
    writing = writeFully(fh, cur.subarray(start * NODE_SIZE, (start + count) * NODE_SIZE), start * NODE_SIZE);
    opts.onProgress?.(layer, start + count, nodes);
  }
  await reading;
  await writing;
}

interface WindowedNative {
  run: SdrNative['sdrLabelChunkWindowed'];
  map: SdrNative['sdrMapFile'];
  unmap: SdrNative['sdrUnmap'];
}

async function labelLayerWindowed(
  opts: LabelSectorOptions,
  run: LabelKernel,
  windowedNative: WindowedNative | null,
  parents: ParentCacheReader,
  plan: LabelMemoryPlan,
  layer: number,
  prevSrc: LayerSource | null,
  path: string,
): Promise<void> {
  const nodes = opts.graph.nodes;
  const chunk = plan.chunkNodes;
  const W = plan.windowNodes;
  const farSlots = chunk * BASE_DEGREE;
  // [far slots: DRG parents older than the window, gathered per chunk][window: nodes wBase .. wBase+W)
  const cur = layerBuffer((farSlots + W) * NODE_SIZE).fill(0);
  const exp = layer > 1 ? Buffer.alloc(chunk * EXP_DEGREE * NODE_SIZE) : null;
  const raw = [new Uint32Array(chunk * DEGREE), new Uint32Array(chunk * DEGREE)];
  const mapped = new Uint32Array(chunk * DEGREE);
  let wBase = 0;
  const tmp = `${path}.tmp`;
  await withLayerFile(path, async (fh) => {
    // a second descriptor for synchronous far reads of this layer's already-written nodes
    let readFd: number | null = null;
    let curMap: SdrMapping | null = null;
    let prevMap: SdrMapping | null = null;
    try {
      if (windowedNative) {
        // full size up front (sparse), so the mapping covers every node; writes land in the same page cache
        await fh.truncate(nodes * NODE_SIZE);
        readFd = openSync(tmp, 'r');
        curMap = windowedNative.map(readFd, nodes * NODE_SIZE, true);
        if (prevSrc) prevMap = windowedNative.map(prevSrc.fd!, nodes * NODE_SIZE, true);
      }
      let reading: Promise<void> = parents.read(0, Math.min(chunk, nodes), raw[0]!);
      let writing: Promise<void> = Promise.resolve();
      for (let start = 0, c = 0; start < nodes; start += chunk, c++) {
        const count = Math.min(chunk, nodes - start);
        await reading;
        const par = raw[c & 1]!;
        const next = start + chunk;
        reading =
          next < nodes ? parents.read(next, Math.min(chunk, nodes - next), raw[(c + 1) & 1]!) : Promise.resolve();
        if (start + count > wBase + W) {
          // slide: keep the most recent half window
          const keep = Math.floor(W / 2);
          const newBase = start - keep;
          cur.copyWithin(
            farSlots * NODE_SIZE,
            (farSlots + newBase - wBase) * NODE_SIZE,
            (farSlots + start - wBase) * NODE_SIZE,
          );
          wBase = newBase;
        }
        // every node before the window is on disk: the writes of older chunks were awaited
        await writing;
        const outSlot = farSlots + start - wBase;
        if (windowedNative) {
          const window = cur.subarray(farSlots * NODE_SIZE);
          const segs = prevSrc?.segments ?? [];
          windowedNative.run(
            opts.replicaId,
            layer,
            start,
            count,
            par,
            window,
            wBase,
            curMap!,
            segs,
            prevSrc?.segNodes ?? 1,
            prevSrc?.resident ?? 0,
            prevMap ?? -1,
          );
          const out = Buffer.from(cur.subarray(outSlot * NODE_SIZE, (outSlot + count) * NODE_SIZE));
          writing = writeFully(fh, out, start * NODE_SIZE);
          opts.onProgress?.(layer, start + count, nodes);
          continue;
        }
        let far = 0;
        for (let i = 0; i < count; i++) {
          const o = i * DEGREE;
          for (let k = 0; k < BASE_DEGREE; k++) {
            const p = par[o + k]!;
            if (p >= wBase) {
              mapped[o + k] = farSlots + p - wBase;
            } else {
              readFd ??= openSync(tmp, 'r');
              readExactSync(readFd, cur, far * NODE_SIZE, p * NODE_SIZE, tmp);
              mapped[o + k] = far++;
            }
          }
          if (exp) {
            for (let k = 0; k < EXP_DEGREE; k++) {
              const slot = i * EXP_DEGREE + k;
              prevSrc!.copyLabel(par[o + BASE_DEGREE + k]!, exp, slot * NODE_SIZE);
              mapped[o + BASE_DEGREE + k] = slot;
            }
          }
        }
        run(opts.replicaId, layer, start, count, mapped, cur, outSlot, exp);
        // copy out: the window region is overwritten by later slides while the write may be in flight
        const out = Buffer.from(cur.subarray(outSlot * NODE_SIZE, (outSlot + count) * NODE_SIZE));
        writing = writeFully(fh, out, start * NODE_SIZE);
        opts.onProgress?.(layer, start + count, nodes);
      }
      await reading;
      await writing;
    } finally {
      if (curMap) windowedNative!.unmap(curMap);
      if (prevMap) windowedNative!.unmap(prevMap);
      if (readFd !== null) closeSync(readFd);
    }
  });
}
