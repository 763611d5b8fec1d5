/**
 * Generic n-ary Merkle trees as rust `merkletree` 0.23 builds and stores them (`src/merkle.rs`,
 * `src/store/{disk,level_cache}.rs`), for any node hash: SHA-256 (arity 2, TreeD) here, Poseidon
 * (arity 8 with sub/top trees, TreeC and TreeR-last) plugged in by the PC2 code.
 *
 * Rules that matter for bit-exactness:
 * - leaves are not hashed: row 0 is the 32-byte leaves as given; each node of row r+1 is
 *   `hashRow(children)` over `arity` consecutive nodes of row r;
 * - the leaf count must be a power of the arity;
 * - DiskStore file: every row, bottom-up (leaves first, root last), 32 bytes per node, no header;
 * - LevelCacheStore file (tree-r-last): the base row and the `rowsToDiscard` rows above it are dropped,
 *   the remaining rows are stored bottom-up exactly as in a DiskStore.
 *
 * Building streams: leaves are pushed in order, each row is hashed in large batches as soon as whole
 * groups of children are available, and every produced row slice is handed to a sink (which can write it
 * to the store file at its place). Memory is the chunk pushed plus less than one group per row.
 */
import type { FileHandle } from 'node:fs/promises';
import { hashPairsInto } from './sha256.js';

/** Bytes per node (rust `NODE_SIZE`). */
export const NODE_SIZE = 32;

/** A node hash for one arity: hashes each run of `arity` 32-byte children into one 32-byte parent. */
export interface NodeHasher {
  readonly arity: number;
  /**
   * `input` holds k·arity nodes (k·arity·32 bytes); writes the k parents to the first 32·k bytes of
   * `output`. `output` never overlaps `input`.
   */
  hashRow(input: Uint8Array, output: Uint8Array): void;
}

/** Filecoin's binary SHA-256 tree hash (trunc254), used for TreeD, CommD and CommP. */
export const sha256NodeHasher: NodeHasher = { arity: 2, hashRow: hashPairsInto };

// ---------------------------------------------------------------------------------------------------------
// Row math (merkletree src/merkle.rs)

function isPow2(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** log base `arity` of `n`, or -1 when `n` is not a power of `arity` (both powers of two). */
function logArity(n: number, arity: number): number {
  if (!isPow2(n) || !isPow2(arity) || arity < 2) return -1;
  const a = Math.round(Math.log2(arity));
  const b = Math.round(Math.log2(n));
  return b % a === 0 ? b / a : -1;
}

/** merkletree `is_merkle_tree_size_valid`: leaves is a power of the arity (arity a power of two ≥ 2). */
export function isTreeSizeValid(leaves: number, arity: number): boolean {
  return logArity(leaves, arity) >= 0;
}

function checkShape(leaves: number, arity: number): number {
  const h = logArity(leaves, arity);
  if (h < 0) throw new RangeError(`a Merkle tree of arity ${arity} cannot have ${leaves} leaves`);
  return h;
}

/** Rows including the leaves and the root (merkletree `get_merkle_tree_row_count`). */
export function treeRowCount(leaves: number, arity: number): number {
  return checkShape(leaves, arity) + 1;
}

/** Nodes per row, leaves first. */
export function treeRowWidths(leaves: number, arity: number): number[] {
  const rows = treeRowCount(leaves, arity);
  const out: number[] = [];
  for (let r = 0, w = leaves; r < rows; r++, w /= arity) out.push(w);
  return out;
}

/** All nodes of the tree, `leaves + leaves/arity + … + 1` (merkletree `get_merkle_tree_len`). */
export function treeLen(leaves: number, arity: number): number {
  return treeRowWidths(leaves, arity).reduce((a, b) => a + b, 0);
}

/**
 * Nodes a LevelCacheStore keeps (merkletree `get_merkle_tree_cache_size`): all rows above the base and
 * the `rowsToDiscard` rows over it.
 */
export function treeCacheSize(leaves: number, arity: number, rowsToDiscard: number): number {
  const widths = treeRowWidths(leaves, arity);
  if (!Number.isInteger(rowsToDiscard) || rowsToDiscard < 0 || widths.length - 1 <= rowsToDiscard) {
    throw new RangeError(`cannot discard ${rowsToDiscard} rows of a ${widths.length}-row tree`);
  }
  return widths.slice(1 + rowsToDiscard).reduce((a, b) => a + b, 0);
}

/**
 * storage-proofs-core `default_rows_to_discard` (tree-r-last): 0 when the tree has at most 2 rows, 1 with
 * 3 rows, else min(rows − 2, limit) where the limit is 7 for arity 2, 5 for arity 4 and `configured`
 * (FIL_PROOFS_ROWS_TO_DISCARD, default 2) otherwise.
 */
export function defaultRowsToDiscard(leaves: number, arity: number, configured = 2): number {
  const rows = treeRowCount(leaves, arity);
  if (rows <= 2) return 0;
  if (rows === 3) return 1;
  const max = rows - 2;
  const limit = arity === 2 ? 7 : arity === 4 ? 5 : configured;
  return Math.min(max, limit);
}

/** Where each row of a tree lives in its store file. */
export interface StoreLayout {
  readonly leaves: number;
  readonly arity: number;
  /** Rows including leaves and root. */
  readonly rows: number;
  /** Nodes per row, leaves first. */
  readonly widths: readonly number[];
  /** Lowest row the file holds (0 for a DiskStore, 1 + rowsToDiscard for a LevelCacheStore). */
  readonly firstStoredRow: number;
  /** Node index in the file where each row starts; -1 for rows the file does not hold. */
  readonly rowOffsets: readonly number[];
  /** Nodes in the file. */
  readonly storedNodes: number;
  /** Bytes in the file. */
  readonly fileSize: number;
}

function layoutFrom(leaves: number, arity: number, firstStoredRow: number): StoreLayout {
  const widths = treeRowWidths(leaves, arity);
  const rowOffsets: number[] = [];
  let at = 0;
  for (let r = 0; r < widths.length; r++) {
    if (r < firstStoredRow) rowOffsets.push(-1);
    else {
      rowOffsets.push(at);
      at += widths[r];
    }
  }
  return {
    leaves,
    arity,
    rows: widths.length,
    widths,
    firstStoredRow,
    rowOffsets,
    storedNodes: at,
    fileSize: at * NODE_SIZE,
  };
}

/** A full DiskStore (TreeD, TreeC): every row, leaves first. */
export function diskStoreLayout(leaves: number, arity: number): StoreLayout {
  return layoutFrom(leaves, arity, 0);
}

/** A LevelCacheStore (TreeR-last): rows `1 + rowsToDiscard` … root. */
export function levelCacheLayout(leaves: number, arity: number, rowsToDiscard: number): StoreLayout {
  treeCacheSize(leaves, arity, rowsToDiscard); // validates rowsToDiscard
  return layoutFrom(leaves, arity, 1 + rowsToDiscard);
}

/** merkletree `StoreConfig::data_path` with store version 2: `sc-02-data-<id>.dat`. */
export function storeFileName(id: string): string {
  return `sc-02-data-${id}.dat`;
}

/**
 * File names of a tree split into `count` base trees (storage-proofs-core `split_config`): one tree keeps
 * the plain name (`sc-02-data-tree-c.dat`); several get `-<i>` (`sc-02-data-tree-r-last-0.dat` …).
 */
export function baseTreeFileNames(id: string, count: number): string[] {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`bad base tree count ${count}`);
  return count === 1 ? [storeFileName(id)] : Array.from({ length: count }, (_, i) => storeFileName(`${id}-${i}`));
}

/**
 * Root of a compound tree from its base-tree roots (merkletree `from_trees` / `from_sub_trees`): with a
 * sub arity, each run of `sub` consecutive base roots is hashed with the sub hasher; with a top arity too,
 * the `top` sub roots are hashed with the top hasher. A single base tree is its own root.
 */
export function compoundRoot(
  baseRoots: readonly Uint8Array[],
  shape: { sub: number; top: number },
  subHasher?: NodeHasher,
  topHasher?: NodeHasher,
): Uint8Array {
  const hashGroup = (nodes: readonly Uint8Array[], h: NodeHasher | undefined, arity: number): Uint8Array => {
    if (!h || h.arity !== arity) throw new RangeError(`a hasher of arity ${arity} is needed`);
    const input = new Uint8Array(arity * NODE_SIZE);
    for (let i = 0; i < nodes.length; i++) input.set(nodes[i], i * NODE_SIZE);
    const out = new Uint8Array(NODE_SIZE);
    h.hashRow(input, out);
    return out;
  };
  const expected = shape.sub === 0 ? 1 : shape.top === 0 ? shape.sub : shape.sub * shape.top;
  if (baseRoots.length !== expected) throw new RangeError(`expected ${expected} base roots, got ${baseRoots.length}`);
  if (shape.sub === 0) return Uint8Array.from(baseRoots[0]);
  const subRoots: Uint8Array[] = [];
  for (let i = 0; i < baseRoots.length; i += shape.sub) {
    subRoots.push(hashGroup(baseRoots.slice(i, i + shape.sub), subHasher, shape.sub));
  }
  if (shape.top === 0) return subRoots[0];
  return hashGroup(subRoots, topHasher, shape.top);
}

// ---------------------------------------------------------------------------------------------------------
// Streaming builder

/**
 * Receives every row slice the builder produces, in order per row: `nodes` (32·k bytes) are nodes
 * `index … index+k−1` of `row`. The buffer is only valid during the call; copy what you keep.
 */
export type RowSink = (row: number, index: number, nodes: Uint8Array) => void;

export interface TreeBuilderOptions {
  /** Leaves the tree will have; when set, `finish()` checks the count and the shape up front. */
  leaves?: number;
  /** Called with every row slice, leaves (row 0) included. */
  onRow?: RowSink;
}

/**
 * Builds a tree bottom-up from leaves pushed in order. Each row keeps under one group (`arity` nodes) of
 * unhashed nodes between pushes; pushes that are a multiple of arity^k nodes hash k rows in one batch each.
 */
export class MerkleTreeBuilder {
  readonly arity: number;
  private readonly hasher: NodeHasher;
  private readonly onRow: RowSink | undefined;
  private readonly expected: number | undefined;
  private readonly groupBytes: number;
  /** Nodes produced so far per row. */
  private readonly counts: number[] = [];
  /** Unhashed tail per row (fewer than `arity` nodes). */
  private readonly pending: Uint8Array[] = [];
  private readonly pendingLen: number[] = [];
  private readonly scratch: Uint8Array[] = [];
  private readonly one: Uint8Array[] = [];
  private done = false;

  constructor(hasher: NodeHasher, options: TreeBuilderOptions = {}) {
    if (!isPow2(hasher.arity) || hasher.arity < 2) throw new RangeError(`arity must be a power of two ≥ 2`);
    this.hasher = hasher;
    this.arity = hasher.arity;
    this.groupBytes = hasher.arity * NODE_SIZE;
    this.onRow = options.onRow;
    if (options.leaves !== undefined) {
      checkShape(options.leaves, hasher.arity);
      this.expected = options.leaves;
    }
  }

  /** Leaves pushed so far. */
  get leavesPushed(): number {
    return this.counts[0] ?? 0;
  }

  /** Pushes leaves (32·k bytes). The buffer may be reused by the caller after the call returns. */
  push(leaves: Uint8Array): void {
    if (this.done) throw new Error('tree already finished');
    if (leaves.length % NODE_SIZE !== 0) throw new RangeError('leaves must be a multiple of 32 bytes');
    if (leaves.length === 0) return;
    if (this.expected !== undefined && this.leavesPushed + leaves.length / NODE_SIZE > this.expected) {
      throw new RangeError(`more than ${this.expected} leaves pushed`);
    }
    this.feed(0, leaves);
  }

  private ensureRow(r: number): void {
    while (this.counts.length <= r) {
      this.counts.push(0);
      this.pending.push(new Uint8Array(this.groupBytes));
      this.pendingLen.push(0);
      this.scratch.push(new Uint8Array(0));
      this.one.push(new Uint8Array(NODE_SIZE));
    }
  }

  private isTop(r: number): boolean {
    return this.expected !== undefined && this.expected / this.arity ** r === 1;
  }

  private feed(r: number, data: Uint8Array): void {
    this.ensureRow(r);
    this.onRow?.(r, this.counts[r], data);
    this.counts[r] += data.length / NODE_SIZE;
    if (this.isTop(r)) {
      this.pending[r].set(data, 0);
      this.pendingLen[r] = NODE_SIZE;
      return;
    }
    const g = this.groupBytes;
    let off = 0;
    const pend = this.pending[r];
    if (this.pendingLen[r] > 0) {
      const take = Math.min(g - this.pendingLen[r], data.length);
      pend.set(data.subarray(0, take), this.pendingLen[r]);
      this.pendingLen[r] += take;
      off = take;
      if (this.pendingLen[r] < g) return;
      this.pendingLen[r] = 0;
      const out = this.one[r];
      this.hasher.hashRow(pend, out);
      this.feed(r + 1, out);
    }
    const groups = Math.floor((data.length - off) / g);
    if (groups > 0) {
      const outLen = groups * NODE_SIZE;
      if (this.scratch[r].length < outLen) this.scratch[r] = new Uint8Array(outLen);
      const out = this.scratch[r].subarray(0, outLen);
      this.hasher.hashRow(data.subarray(off, off + groups * g), out);
      off += groups * g;
      this.feed(r + 1, out);
    }
    if (off < data.length) {
      pend.set(data.subarray(off), 0);
      this.pendingLen[r] = data.length - off;
    }
  }

  /** The root of a complete tree (all `leaves` pushed, or a power-of-arity count when no size was given). */
  finish(): Uint8Array {
    const n = this.leavesPushed;
    const h = logArity(n, this.arity);
    if (h < 0 || (this.expected !== undefined && n !== this.expected)) {
      throw new Error(`tree incomplete: ${n} leaves pushed${this.expected ? ` of ${this.expected}` : ''}`);
    }
    this.done = true;
    return this.pending[h].slice(0, NODE_SIZE);
  }

  /**
   * Completes a partial tree with zero subtrees: the leaf count is rounded up to a power of the arity (at
   * least `minLeaves`), and every missing node of row r is `zero(r)`, the root of an all-zero subtree of
   * height r. Returns the root and the padded leaf count. Padding nodes are passed to the sink too.
   */
  finishPadded(zero: (row: number) => Uint8Array, minLeaves = 1): { root: Uint8Array; leaves: number } {
    let target = 1;
    while (target < Math.max(this.leavesPushed, minLeaves)) target *= this.arity;
    if (this.expected !== undefined && target !== this.expected) {
      throw new Error(`padded tree would have ${target} leaves, expected ${this.expected}`);
    }
    const height = logArity(target, this.arity);
    if (this.leavesPushed === 0) {
      this.done = true;
      return { root: zero(height).slice(0, NODE_SIZE), leaves: target };
    }
    for (let r = 0; r < height; r++) {
      // Lower rows were completed first, so row r holds at least one node; a partial group is completed
      // with zero subtrees (whole missing groups become missing nodes of row r+1, padded there).
      this.ensureRow(r);
      const zr = zero(r).subarray(0, NODE_SIZE);
      while (this.pendingLen[r] > 0) this.feed(r, zr);
    }
    this.ensureRow(height);
    this.done = true;
    return { root: this.pending[height].slice(0, NODE_SIZE), leaves: target };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing rows to a store file

/**
 * Buffers the rows a builder produces and writes them at their places in a store file (DiskStore or
 * LevelCacheStore layout); rows the layout does not hold are dropped. Call `flush()` after each push to
 * write what is buffered (bounded memory), and `close()` at the end.
 */
export class StoreWriter {
  private readonly bufs: Uint8Array[] = [];
  private readonly bufLen: number[] = [];
  /** Node index (within its row) of the first buffered node. */
  private readonly bufStart: number[] = [];
  private queue: { pos: number; data: Uint8Array }[] = [];
  private written = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private inFlightBytes = 0;
  private failure: Error | undefined;

  constructor(
    private readonly fh: FileHandle,
    readonly layout: StoreLayout,
    private readonly bufferBytes = 1 << 20,
    /** Byte offset of the store inside the file (0 for a file of its own). */
    private readonly baseOffset = 0,
    /** Bytes of writes allowed in flight before `flush()` waits. */
    private readonly maxInFlight = 32 << 20,
  ) {}

  /** Bytes written so far. */
  get bytesWritten(): number {
    return this.written;
  }

  /** The sink to give to `MerkleTreeBuilder`. */
  readonly sink: RowSink = (row, index, nodes) => {
    const at = this.layout.rowOffsets[row];
    if (at === undefined || at < 0) return;
    while (this.bufs.length <= row) {
      this.bufs.push(new Uint8Array(0));
      this.bufLen.push(0);
      this.bufStart.push(0);
    }
    if (this.bufLen[row] > 0 && this.bufStart[row] + this.bufLen[row] / NODE_SIZE !== index) {
      throw new Error(`row ${row} written out of order`);
    }
    if (this.bufLen[row] === 0) this.bufStart[row] = index;
    if (this.bufLen[row] + nodes.length > this.bufferBytes) {
      this.queueRow(row);
      this.bufStart[row] = index;
      if (nodes.length >= this.bufferBytes) {
        this.queue.push({ pos: this.pos(row, index), data: nodes.slice() });
        return;
      }
    }
    if (this.bufs[row].length === 0) {
      this.bufs[row] = new Uint8Array(Math.min(this.bufferBytes, this.layout.widths[row] * NODE_SIZE));
    }
    this.bufs[row].set(nodes, this.bufLen[row]);
    this.bufLen[row] += nodes.length;
  };

  private pos(row: number, index: number): number {
    return this.baseOffset + (this.layout.rowOffsets[row] + index) * NODE_SIZE;
  }

  private queueRow(row: number): void {
    if (this.bufLen[row] === 0) return;
    this.queue.push({ pos: this.pos(row, this.bufStart[row]), data: this.bufs[row].slice(0, this.bufLen[row]) });
    this.bufStart[row] += this.bufLen[row] / NODE_SIZE;
    this.bufLen[row] = 0;
  }

  /**
   * Starts writing the row buffers that filled up, and waits only while more than `maxInFlight` bytes
   * are being written: hashing the next chunk overlaps the writes of the previous ones.
   */
  async flush(): Promise<void> {
    const q = this.queue;
    this.queue = [];
    for (const { pos, data } of q) {
      this.inFlightBytes += data.length;
      const p: Promise<void> = writeFully(this.fh, data, pos).then(
        () => {
          this.inFlightBytes -= data.length;
          this.written += data.length;
          this.inFlight.delete(p);
        },
        (err: unknown) => {
          this.failure ??= err instanceof Error ? err : new Error(String(err));
          this.inFlightBytes -= data.length;
          this.inFlight.delete(p);
        },
      );
      this.inFlight.add(p);
    }
    while (this.inFlightBytes > this.maxInFlight && this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  /** Writes everything buffered and waits for all writes. */
  async close(): Promise<void> {
    for (let r = 0; r < this.bufs.length; r++) this.queueRow(r);
    await this.flush();
    while (this.inFlight.size > 0) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }
}

async function writeFully(fh: FileHandle, data: Uint8Array, pos: number): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off, pos + off);
    if (bytesWritten <= 0) throw new Error('short write');
    off += bytesWritten;
  }
}

// ---------------------------------------------------------------------------------------------------------
// In-memory trees and inclusion proofs

/** Builds a whole tree in memory; returns the DiskStore bytes (all rows, leaves first). For small trees. */
export function buildTreeInMemory(leaves: Uint8Array, hasher: NodeHasher): Uint8Array {
  const n = leaves.length / NODE_SIZE;
  const layout = diskStoreLayout(n, hasher.arity);
  const out = new Uint8Array(layout.fileSize);
  const b = new MerkleTreeBuilder(hasher, {
    leaves: n,
    onRow: (row, index, nodes) => out.set(nodes, (layout.rowOffsets[row] + index) * NODE_SIZE),
  });
  b.push(leaves);
  b.finish();
  return out;
}

/** The root over `leaves` (32·arity^k bytes). */
export function treeRoot(leaves: Uint8Array, hasher: NodeHasher): Uint8Array {
  const b = new MerkleTreeBuilder(hasher, { leaves: leaves.length / NODE_SIZE });
  b.push(leaves);
  return b.finish();
}

/** One level of an inclusion path: the other children of the group and where the path node sits in it. */
export interface ProofLevel {
  /** The arity − 1 siblings, in child order without the path node. */
  siblings: Uint8Array[];
  /** Position (0 … arity−1) of the path node among its group. */
  index: number;
}

/** An inclusion proof of one leaf: the leaf, one level per row below the root, and the root. */
export interface MerkleProof {
  leafIndex: number;
  leaf: Uint8Array;
  path: ProofLevel[];
  root: Uint8Array;
}

/** Reads `count` nodes of `row` starting at node `index` (from a store file, or rebuilt for discarded rows). */
export type RowReader = (row: number, index: number, count: number) => Promise<Uint8Array>;

/** Extracts the inclusion proof of `leafIndex` by reading each row's group around the path. */
export async function merkleProof(
  read: RowReader,
  leaves: number,
  arity: number,
  leafIndex: number,
): Promise<MerkleProof> {
  const rows = treeRowCount(leaves, arity);
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= leaves) {
    throw new RangeError(`leaf ${leafIndex} is outside a tree of ${leaves} leaves`);
  }
  const path: ProofLevel[] = [];
  let leaf: Uint8Array | undefined;
  let idx = leafIndex;
  for (let r = 0; r < rows - 1; r++) {
    const start = idx - (idx % arity);
    const group = await read(r, start, arity);
    const pos = idx - start;
    const siblings: Uint8Array[] = [];
    for (let k = 0; k < arity; k++) {
      const node = group.slice(k * NODE_SIZE, (k + 1) * NODE_SIZE);
      if (k === pos) {
        if (r === 0) leaf = node;
      } else siblings.push(node);
    }
    path.push({ siblings, index: pos });
    idx = Math.floor(idx / arity);
  }
  const root = (await read(rows - 1, 0, 1)).slice(0, NODE_SIZE);
  if (!leaf) leaf = (await read(0, leafIndex, 1)).slice(0, NODE_SIZE);
  return { leafIndex, leaf, path, root };
}

/** Recomputes the root from a proof; true when it equals `proof.root` and the path matches the leaf index. */
export function verifyMerkleProof(proof: MerkleProof, hasher: NodeHasher): boolean {
  const arity = hasher.arity;
  let node = proof.leaf;
  let idx = proof.leafIndex;
  const group = new Uint8Array(arity * NODE_SIZE);
  const out = new Uint8Array(NODE_SIZE);
  for (const level of proof.path) {
    if (level.siblings.length !== arity - 1 || level.index !== idx % arity) return false;
    let s = 0;
    for (let k = 0; k < arity; k++) group.set(k === level.index ? node : level.siblings[s++], k * NODE_SIZE);
    hasher.hashRow(group, out);
    node = out.slice();
    idx = Math.floor(idx / arity);
  }
  return idx === 0 && Buffer.from(node).equals(Buffer.from(proof.root));
}

/** A RowReader over a store file with the given layout (rows the file lacks throw). */
export function storeFileReader(fh: FileHandle, layout: StoreLayout, baseOffset = 0): RowReader {
  return async (row, index, count) => {
    const at = layout.rowOffsets[row];
    if (at === undefined || at < 0) throw new Error(`row ${row} is not in this store`);
    if (index + count > layout.widths[row]) throw new RangeError(`row ${row} has ${layout.widths[row]} nodes`);
    const buf = new Uint8Array(count * NODE_SIZE);
    const pos = baseOffset + (at + index) * NODE_SIZE;
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, pos + off);
      if (bytesRead <= 0) throw new Error(`store file too short (row ${row}, node ${index})`);
      off += bytesRead;
    }
    return buf;
  };
}
