/** Typed access to the SDR functions of the native addon (native/src/sdr.c); null when not built. */
import { nativeAddon } from '../../common/native.js';

/** A read-only memory mapping of a file, owned by the addon (released by sdrUnmap or garbage collection). */
export type SdrMapping = { readonly __sdrMapping: unique symbol };

export interface SdrNative {
  /** Parents of nodes [start, start+count): 14 u32 per node into `out`. */
  sdrParents(
    drgSeed: Uint8Array,
    feistelKeys: Uint8Array,
    nodes: number,
    legacy: boolean,
    start: number,
    count: number,
    out: Uint32Array,
  ): void;
  /**
   * Labels nodes [firstNode, firstNode+count) of `layer`. parents: 14 u32 per node, DRG entries index `cur`
   * (in 32-byte slots), expander entries index `prev`. Labels go to cur[(outSlot+i)·32].
   */
  sdrLabelChunk(
    replicaId: Uint8Array,
    layer: number,
    firstNode: number,
    count: number,
    parents: Uint32Array,
    cur: Uint8Array,
    outSlot: number,
    prev: Uint8Array | null,
  ): void;
  /**
   * Bounded-memory labeling: parents hold absolute node indices; `window` holds nodes [wBase, …) of the current
   * layer and receives the labels; older DRG parents come from curSource, expander parents from prevSegments
   * (nodes [0, resident), segNodes per segment) or prevSource. A source is a file descriptor (pread) or a mapping.
   */
  sdrLabelChunkWindowed(
    replicaId: Uint8Array,
    layer: number,
    firstNode: number,
    count: number,
    parents: Uint32Array,
    window: Uint8Array,
    wBase: number,
    curSource: number | SdrMapping,
    prevSegments: Uint8Array[],
    segNodes: number,
    resident: number,
    prevSource: number | SdrMapping,
  ): void;
  /** Maps `length` bytes of the open file `fd` read-only; `random` disables read-ahead (MADV_RANDOM). */
  sdrMapFile(fd: number, length: number, random: boolean): SdrMapping;
  sdrUnmap(mapping: SdrMapping): void;
  /**
   * A zeroed ArrayBuffer in 2 MiB-aligned memory advised for huge pages (parent reads are random over a whole
   * layer: with 4 KiB pages they miss the TLB too), or null where that is not possible. Absent from older addons.
   */
  sdrAllocLayer?(bytes: number): ArrayBuffer | null;
  /**
   * Whether sdrLabelChunk copies one sector's parents ahead in a second thread (rust-fil-proofs' multicore SDR
   * producer): on by default where the process may use two CPUs (VENUS_SDR_FILL=0: off); `on` sets it for this
   * process. False where it cannot run (one CPU allowed, not Linux). Absent from older addons.
   */
  sdrFill?(on?: boolean): boolean;
  /**
   * sdrLabelChunk for K sectors of one graph at once (K ≤ 64): the same parents (absolute node indices) index each
   * sector's own buffers; label i of sector k goes to curs[k][(outSlot+i)·32]. Hashes 2 (up to 4) sectors'
   * labels interleaved per SHA-NI call (8 lanes with AVX2 when SHA-NI is off). Absent from an addon built before it.
   */
  sdrLabelChunkBatch?(
    replicaIds: Uint8Array[],
    layer: number,
    firstNode: number,
    count: number,
    parents: Uint32Array,
    curs: Uint8Array[],
    outSlot: number,
    prevs: Uint8Array[] | null,
  ): void;
  /**
   * sdrLabelChunkWindowed for K sectors at once, nothing of the previous layers resident (each sector's older
   * labels come from its own sources). Returns per sector null or the error that left it out of the chunk.
   */
  sdrLabelChunkWindowedBatch?(
    replicaIds: Uint8Array[],
    layer: number,
    firstNode: number,
    count: number,
    parents: Uint32Array,
    windows: Uint8Array[],
    wBase: number,
    curSources: (number | SdrMapping)[],
    prevSources: (number | SdrMapping)[],
  ): (string | null)[];
  /** How several label streams are hashed at once ("sha-ni x4, avx512 sched", "sha-ni x2", "avx2 x8", "portable");
   * `want` picks the path used while SHA-NI is off, and whether SHA-NI batches take their message schedules from
   * AVX-512 ("avx512", where the CPU has it; the default). */
  sdrLanesBackend?(want?: 'avx512' | 'avx2' | 'portable'): string;
  /** Nanoseconds per sha256rnds2 in one dependent chain and in 4 interleaved chains (thread CPU time, best of 3
   * tries of `rounds` each), or null while SHA-NI is off: one stream is bound by the first, a batch by the
   * second (how much interleaving can gain on this core at most: 4 × first ÷ second). */
  sdrShaniStreams?(rounds: number): [number, number] | null;
  /** The SHA-256 block function in use ("sha-ni" or "portable"); switches first when `want` is given. */
  sdrShaBackend(want?: 'sha-ni' | 'portable'): string;
  /** The BLAKE2b used by the Feistel permutation ("avx512", "avx2" or "scalar"); switches first when asked. */
  sdrBlake2bBackend(want?: 'auto' | 'avx512' | 'avx2' | 'scalar'): string;
}

let cached: SdrNative | null | undefined;

export function sdrNative(): SdrNative | null {
  if (cached !== undefined) return cached;
  const addon = nativeAddon();
  cached =
    addon &&
    typeof addon.sdrParents === 'function' &&
    typeof addon.sdrLabelChunk === 'function' &&
    typeof addon.sdrLabelChunkWindowed === 'function' &&
    typeof addon.sdrMapFile === 'function' &&
    typeof addon.sdrShaBackend === 'function' &&
    typeof addon.sdrBlake2bBackend === 'function'
      ? (addon as unknown as SdrNative)
      : null;
  return cached;
}

/** Below this a layer buffer is not worth a mapping of its own (fewer pages than the TLB holds). */
const HUGE_MIN_BYTES = 2 << 20;

/**
 * A buffer for labels: in huge pages from the native addon when it can (sdrAllocLayer), else allocUnsafeSlow.
 * Callers write every label before reading it, so the contents do not matter.
 */
export function layerBuffer(bytes: number): Buffer {
  const ab = bytes >= HUGE_MIN_BYTES ? sdrNative()?.sdrAllocLayer?.(bytes) : null;
  return ab ? Buffer.from(ab) : Buffer.allocUnsafeSlow(bytes);
}
