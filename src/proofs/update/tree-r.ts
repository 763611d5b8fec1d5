/**
 * TreeR-last over a replica that is produced chunk by chunk (the update's new replica, or the sector key
 * rebuilt by remove-data): the same tree, files and layout as PC2 writes (`pc2/chunks.ts`, rust
 * `StackedDrg::generate_tree_r_last`): arity-8 Poseidon base trees split by the sector's shape, each a
 * LevelCacheStore `sc-02-data-tree-r-last[-i].dat` holding the rows above `rows_to_discard`, and the compound
 * root (comm_r_last).
 *
 * Leaves must be pushed in order, in chunks of `chunkLeaves` (a power of 8 dividing the base tree).
 */
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { compoundRoot, levelCacheLayout, NODE_SIZE, type StoreLayout } from '../merkle.js';
import { hashSubtree } from '../pc2/chunks.js';
import { poseidonNodeHasher, treeRLastFileNames } from '../pc2/pc2.js';
import type { KernelKind } from '../poseidon/index.js';
import type { TreeShape } from '../registry.js';

const ARITY = 8;

export interface TreeRGeometry {
  readonly nodes: number;
  readonly shape: TreeShape;
  readonly baseTreeCount: number;
  readonly baseTreeLeaves: number;
}

/** Leaves per chunk: 8^5 (1 MiB of replica) or the whole base tree when smaller. */
export function treeRChunkLeaves(g: TreeRGeometry): number {
  return Math.min(g.baseTreeLeaves, 8 ** 5);
}

function writeFully(fd: number, buf: Uint8Array, pos: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, pos + off);
}

/** The rows of a chunk's arity-8 sub-tree above its leaves, lowest first (the last is the chunk root). */
export function chunkRows(leaves: Uint8Array, kernel: KernelKind | 'auto' = 'auto'): Uint8Array[] {
  const rows: Uint8Array[] = [];
  hashSubtree(leaves, kernel, (r, nodes) => {
    if (r > 0) rows.push(nodes);
  });
  return rows;
}

export class TreeRLastWriter {
  readonly paths: string[];
  readonly chunkLeaves: number;
  private readonly layout: StoreLayout;
  private readonly fds: number[] = [];
  private readonly baseRoots: Uint8Array[] = [];
  private chunkRoots: Uint8Array[] = [];
  private pushed = 0;

  private constructor(
    private readonly g: TreeRGeometry,
    cacheDir: string,
    rowsToDiscard: number,
    private readonly kernel: KernelKind | 'auto',
  ) {
    this.layout = levelCacheLayout(g.baseTreeLeaves, ARITY, rowsToDiscard);
    this.paths = treeRLastFileNames(g).map((f) => join(cacheDir, f));
    this.chunkLeaves = treeRChunkLeaves(g);
  }

  /** Creates (truncates) the tree files in `cacheDir`. */
  static async create(
    g: TreeRGeometry,
    cacheDir: string,
    rowsToDiscard: number,
    kernel: KernelKind | 'auto' = 'auto',
  ): Promise<TreeRLastWriter> {
    if (g.shape.base !== ARITY) throw new Error(`unsupported TreeR base arity ${g.shape.base}`);
    const w = new TreeRLastWriter(g, cacheDir, rowsToDiscard, kernel);
    for (const p of w.paths) {
      await rm(p, { force: true });
      const fd = openSync(p, 'w+');
      w.fds.push(fd);
    }
    return w;
  }

  private writeRow(fd: number, r: number, index: number, nodes: Uint8Array): void {
    const at = this.layout.rowOffsets[r];
    if (at === undefined || at < 0) return; // a row the LevelCacheStore drops
    writeFully(fd, nodes, (at + index) * NODE_SIZE);
  }

  /** Adds the next `chunkLeaves` replica nodes. */
  push(leaves: Uint8Array): void {
    this.pushHashed(leaves, chunkRows(leaves, this.kernel));
  }

  /**
   * Adds the next chunk with its sub-tree rows already hashed (`chunkRows`, e.g. on a worker thread):
   * `rows[i]` is row i + 1 above the leaves, the last one the chunk root.
   */
  pushHashed(leaves: Uint8Array, rows: readonly Uint8Array[]): void {
    const K = this.chunkLeaves;
    if (leaves.length !== K * NODE_SIZE) throw new RangeError(`TreeR-last: push ${K} leaves at a time`);
    if (rows.length !== Math.round(Math.log2(K) / 3) || rows[rows.length - 1]?.length !== NODE_SIZE)
      throw new RangeError('TreeR-last: the chunk rows do not match the chunk');
    const tree = Math.floor(this.pushed / this.g.baseTreeLeaves);
    if (tree >= this.g.baseTreeCount) throw new RangeError('TreeR-last: more leaves than the sector has');
    const chunk = (this.pushed % this.g.baseTreeLeaves) / K;
    const fd = this.fds[tree]!;
    rows.forEach((nodes, i) => {
      this.writeRow(fd, i + 1, (chunk * K) / ARITY ** (i + 1), nodes);
    });
    const root = rows[rows.length - 1]!;
    this.chunkRoots.push(root);
    this.pushed += K;
    if (this.pushed % this.g.baseTreeLeaves === 0) {
      // rows above the chunk roots of this base tree
      const chunkRow = Math.round(Math.log2(K) / 3);
      const row = new Uint8Array(this.chunkRoots.length * NODE_SIZE);
      this.chunkRoots.forEach((r, i) => {
        row.set(r, i * NODE_SIZE);
      });
      const baseRoot = hashSubtree(row, this.kernel, (r, nodes) => {
        if (r > 0) this.writeRow(fd, chunkRow + r, 0, nodes);
      });
      this.baseRoots.push(baseRoot);
      this.chunkRoots = [];
    }
  }

  /** Closes the files and returns comm_r_last (the compound root). */
  finish(): Uint8Array {
    if (this.pushed !== this.g.nodes) throw new Error(`TreeR-last: ${this.pushed} of ${this.g.nodes} leaves pushed`);
    for (const fd of this.fds) fsyncSync(fd);
    this.close();
    const { shape } = this.g;
    return compoundRoot(
      this.baseRoots,
      shape,
      shape.sub ? poseidonNodeHasher(shape.sub, this.kernel) : undefined,
      shape.top ? poseidonNodeHasher(shape.top, this.kernel) : undefined,
    );
  }

  close(): void {
    for (const fd of this.fds.splice(0)) closeSync(fd);
  }
}
