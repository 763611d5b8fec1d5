/**
 * Inclusion proofs read from a sector's tree files, in rust-fil-proofs' layouts:
 * - TreeD: `sc-02-data-tree-d.dat`, one binary SHA-256 DiskStore (every row);
 * - TreeC: `sc-02-data-tree-c[-i].dat`, one arity-8 Poseidon DiskStore per base tree;
 * - TreeR-last: `sc-02-data-tree-r-last[-i].dat`, one LevelCacheStore per base tree holding only the rows
 *   above `rows_to_discard`; the leaves are the replica (the sealed file) and the discarded rows are rebuilt
 *   on the fly from the replica segment under the path (merkletree `gen_cached_proof`): arity^(1+discard)
 *   leaves, 512 for the default 2 rows.
 *
 * Base tree i covers leaves [i·n/c, (i+1)·n/c) of the compound tree; the sub element of a proof holds the
 * other base-tree roots of its group, the top element the other sub-tree roots.
 */
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import {
  baseTreeFileNames,
  diskStoreLayout,
  levelCacheLayout,
  merkleProof,
  type RowReader,
  type StoreLayout,
  storeFileReader,
} from '../merkle.js';
import { poseidonHashBatch } from '../poseidon/index.js';
import type { TreeShape } from '../registry.js';
import { TREE_D_FILE, treeDLayout } from '../tree-d.js';
import { BINARY_SHAPE, hashGroup, type InclusionProof, NODE, type PathElement, type TreeHash } from './proof.js';

/** What opening a sector's trees needs to know (a subset of PoRepConfig). */
export interface TreeGeometry {
  readonly sectorSize: number;
  readonly nodes: number;
  readonly shape: TreeShape;
  readonly baseTreeCount: number;
  readonly baseTreeLeaves: number;
  readonly treeRLastRowsToDiscard: number;
}

/** Reads exactly `len` bytes at `pos` or throws naming the file. */
export async function readExact(fh: FileHandle, pos: number, len: number, name: string): Promise<Uint8Array> {
  const buf = new Uint8Array(len);
  let off = 0;
  while (off < len) {
    const { bytesRead } = await fh.read(buf, off, len - off, pos + off);
    if (bytesRead <= 0) throw new Error(`${name}: file ends before byte ${pos + len}`);
    off += bytesRead;
  }
  return buf;
}

async function openSized(path: string, size: number, exact: boolean): Promise<FileHandle> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    if (exact ? st.size !== size : st.size < size) {
      throw new Error(`${path}: ${st.size} bytes, expected ${exact ? '' : 'at least '}${size}`);
    }
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

function toElements(levels: { siblings: Uint8Array[]; index: number }[]): PathElement[] {
  return levels.map((l) => ({ hashes: l.siblings, index: l.index }));
}

/** One base tree: a row reader and its root. */
interface BaseTree {
  read: RowReader;
  root: Uint8Array;
}

/**
 * A compound tree over its base trees (one base tree for the small shapes). Every base file is opened and
 * size-checked up front, so a missing or short file fails the `open…` call (PoSt reports it as a fault).
 */
export class TreeReader {
  /** The compound root (comm_d, comm_c or comm_r_last). */
  readonly root: Uint8Array;
  private readonly subRoots: Uint8Array[];

  private constructor(
    readonly hash: TreeHash,
    readonly shape: TreeShape,
    readonly baseLeaves: number,
    private readonly bases: BaseTree[],
    private readonly handles: FileHandle[],
  ) {
    const roots = bases.map((b) => b.root);
    this.subRoots = [];
    if (shape.sub === 0) {
      this.root = roots[0];
    } else {
      for (let g = 0; g < roots.length; g += shape.sub)
        this.subRoots.push(hashGroup(hash, roots.slice(g, g + shape.sub)));
      this.root = shape.top === 0 ? this.subRoots[0] : hashGroup(hash, this.subRoots);
    }
  }

  /** Leaves of the whole tree. */
  get leaves(): number {
    return this.baseLeaves * this.bases.length;
  }

  /** The inclusion proof of leaf `c` in rust's shape. */
  async prove(c: number): Promise<InclusionProof> {
    if (!Number.isSafeInteger(c) || c < 0 || c >= this.leaves) {
      throw new RangeError(`leaf ${c} is outside a tree of ${this.leaves} leaves`);
    }
    const i = Math.floor(c / this.baseLeaves);
    const p = await merkleProof(this.bases[i].read, this.baseLeaves, this.shape.base, c % this.baseLeaves);
    const proof: InclusionProof = { leaf: p.leaf, root: this.root, base: toElements(p.path) };
    if (this.shape.sub > 0) {
      const g = i - (i % this.shape.sub);
      const hashes = [];
      for (let k = g; k < g + this.shape.sub; k++) if (k !== i) hashes.push(this.bases[k].root);
      proof.sub = { hashes, index: i % this.shape.sub };
    }
    if (this.shape.top > 0) {
      const s = Math.floor(i / this.shape.sub);
      proof.top = { hashes: this.subRoots.filter((_, k) => k !== s), index: s };
    }
    return proof;
  }

  /** Leaves [start, start+count) of base tree rows (row 0), from the store or the replica. */
  async leavesAt(c: number, count = 1): Promise<Uint8Array> {
    const i = Math.floor(c / this.baseLeaves);
    return this.bases[i].read(0, c % this.baseLeaves, count);
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.close().catch(() => {})));
    this.handles.length = 0;
  }

  /** TreeD of a sector: `sc-02-data-tree-d.dat` in `cacheDir` (or `path`). */
  static async openTreeD(g: Pick<TreeGeometry, 'sectorSize'>, cacheDir: string, path?: string): Promise<TreeReader> {
    const layout = treeDLayout(g.sectorSize);
    const file = path ?? join(cacheDir, TREE_D_FILE);
    const fh = await openSized(file, layout.fileSize, true);
    try {
      const read = storeFileReader(fh, layout);
      const root = await read(layout.rows - 1, 0, 1);
      return new TreeReader('sha256', BINARY_SHAPE, layout.leaves, [{ read, root }], [fh]);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  /** TreeC of a sector: `sc-02-data-tree-c[-i].dat` (full DiskStores). */
  static async openTreeC(g: TreeGeometry, cacheDir: string): Promise<TreeReader> {
    const layout = diskStoreLayout(g.baseTreeLeaves, g.shape.base);
    const handles: FileHandle[] = [];
    try {
      const bases: BaseTree[] = [];
      for (const name of baseTreeFileNames('tree-c', g.baseTreeCount)) {
        const fh = await openSized(join(cacheDir, name), layout.fileSize, true);
        handles.push(fh);
        const read = storeFileReader(fh, layout);
        bases.push({ read, root: await read(layout.rows - 1, 0, 1) });
      }
      return new TreeReader('poseidon', g.shape, g.baseTreeLeaves, bases, handles);
    } catch (e) {
      await Promise.all(handles.map((h) => h.close()));
      throw e;
    }
  }

  /**
   * TreeR-last of a sector: the LevelCacheStores `sc-02-data-tree-r-last[-i].dat` in `cacheDir` over the
   * replica `sealedPath`. `rowsToDiscard` defaults to the geometry's (rust's default, 2 for big trees).
   */
  static async openTreeRLast(
    g: TreeGeometry,
    cacheDir: string,
    sealedPath: string,
    rowsToDiscard = g.treeRLastRowsToDiscard,
  ): Promise<TreeReader> {
    const layout = levelCacheLayout(g.baseTreeLeaves, g.shape.base, rowsToDiscard);
    const handles: FileHandle[] = [];
    try {
      const replica = await openSized(sealedPath, g.sectorSize, false);
      handles.push(replica);
      const bases: BaseTree[] = [];
      const names = baseTreeFileNames('tree-r-last', g.baseTreeCount);
      for (let i = 0; i < names.length; i++) {
        const fh = await openSized(join(cacheDir, names[i]), layout.fileSize, true);
        handles.push(fh);
        const read = levelCacheReader(fh, layout, replica, i * g.baseTreeLeaves * NODE, sealedPath);
        bases.push({ read, root: await read(layout.rows - 1, 0, 1) });
      }
      return new TreeReader('poseidon', g.shape, g.baseTreeLeaves, bases, handles);
    } catch (e) {
      await Promise.all(handles.map((h) => h.close()));
      throw e;
    }
  }
}

/**
 * Rows of a LevelCacheStore: stored rows from its file, row 0 from the replica, and the discarded rows in
 * between rebuilt by hashing the replica leaves under them.
 */
export function levelCacheReader(
  fh: FileHandle,
  layout: StoreLayout,
  replica: FileHandle,
  replicaOffset: number,
  replicaName: string,
): RowReader {
  const stored = storeFileReader(fh, layout);
  const arity = layout.arity;
  // A proof reads one group per discarded row, all under the same stored node: rebuild that whole subtree
  // (arity^firstStoredRow leaves, 512 for 2 discarded rows) once and serve its rows from memory.
  const subtreeLeaves = arity ** layout.firstStoredRow;
  let memo: { start: number; rows: Uint8Array[] } | null = null;
  const subtree = async (leaf: number) => {
    const start = leaf - (leaf % subtreeLeaves);
    if (memo?.start !== start) {
      const rows = [await readExact(replica, replicaOffset + start * NODE, subtreeLeaves * NODE, replicaName)];
      for (let r = 1; r < layout.firstStoredRow; r++) {
        const out = new Uint8Array(rows[r - 1].length / arity);
        poseidonHashBatch(arity, rows[r - 1], out);
        rows.push(out);
      }
      memo = { start, rows };
    }
    return memo;
  };
  return async (row, index, count) => {
    if (row >= layout.firstStoredRow) return stored(row, index, count);
    if (index + count > layout.widths[row]) throw new RangeError(`row ${row} has ${layout.widths[row]} nodes`);
    const span = arity ** row;
    const first = index * span;
    if (Math.floor(first / subtreeLeaves) === Math.floor(((index + count) * span - 1) / subtreeLeaves)) {
      const m = await subtree(first);
      const at = index - m.start / span;
      return m.rows[row].slice(at * NODE, (at + count) * NODE);
    }
    let nodes = await readExact(replica, replicaOffset + index * span * NODE, count * span * NODE, replicaName);
    for (let r = 0; r < row; r++) {
      const out = new Uint8Array(nodes.length / arity);
      poseidonHashBatch(arity, nodes, out);
      nodes = out;
    }
    return nodes;
  };
}
