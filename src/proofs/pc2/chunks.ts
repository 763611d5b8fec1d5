/**
 * The unit of PC2 work: one chunk of one base tree. A chunk is `chunkLeaves` (a power of 8) consecutive
 * leaves; its job computes the leaves (column hashes for TreeC; encoded replica nodes for TreeR-last), hashes
 * the chunk's sub-tree up to its own root and writes every row at its place in the tree's store file, so
 * chunks are independent and run in any order, on any thread. The rows above the chunk roots (a few
 * thousand nodes at most) are finished by `finishTop`.
 *
 * Everything here is synchronous positional file I/O: it runs inside worker threads (or inline for tiny
 * sectors), each job touching disjoint byte ranges of the files.
 */
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { NODE_SIZE, type StoreLayout } from '../merkle.js';
import { frEncodeBatch, type KernelKind, poseidonColumnsBatch, poseidonHashBatch } from '../poseidon/index.js';

export const TREE_ARITY = 8;

/** Everything a job needs; plain data so it can be posted to a worker. */
export interface Pc2Plan {
  /** Leaves of one base tree. */
  baseTreeLeaves: number;
  baseTreeCount: number;
  /** Leaves per chunk (a power of 8, at most baseTreeLeaves). */
  chunkLeaves: number;
  /** Label layer files, layer 1 first. */
  layerPaths: string[];
  /** TreeC store files, one per base tree (DiskStore layout). */
  treeCPaths: string[];
  /** TreeR-last store files, one per base tree (LevelCacheStore layout). */
  treeRLastPaths: string[];
  treeCLayout: StoreLayout;
  treeRLastLayout: StoreLayout;
  /** Where the unsealed data is read (the staged file, or the sealed file itself when sealing in place). */
  dataPath: string;
  /** The replica (sealed file), written in place. */
  sealedPath: string;
  kernel: KernelKind | 'auto';
}

export type ChunkKind = 'tree-c' | 'tree-r-last';

export interface ChunkJob {
  kind: ChunkKind;
  tree: number;
  chunk: number;
}

function readFully(fd: number, buf: Uint8Array, pos: number, what: string): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, pos + off);
    if (n <= 0) throw new Error(`${what}: file too short (need ${buf.length} bytes at ${pos})`);
    off += n;
  }
}

function writeFully(fd: number, buf: Uint8Array, pos: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, pos + off);
}

/** Open file descriptors, kept for the life of a worker (closed by `close`). */
export class FileCache {
  private readonly fds = new Map<string, number>();
  fd(path: string, mode: 'r' | 'r+'): number {
    const key = `${mode}:${path}`;
    let fd = this.fds.get(key);
    if (fd === undefined) {
      fd = openSync(path, mode);
      this.fds.set(key, fd);
    }
    return fd;
  }
  size(path: string): number {
    return fstatSync(this.fd(path, 'r')).size;
  }
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/**
 * Hashes rows of an arity-8 sub-tree from `leaves` up to its root. Calls `emit(row, nodes)` for every row,
 * leaves (row 0) included; returns the root.
 */
export function hashSubtree(
  leaves: Uint8Array,
  kernel: KernelKind | 'auto',
  emit: (row: number, nodes: Uint8Array) => void,
): Uint8Array {
  let row = leaves;
  let r = 0;
  emit(0, row);
  while (row.length > NODE_SIZE) {
    const next = new Uint8Array(row.length / TREE_ARITY);
    poseidonHashBatch(TREE_ARITY, row, next, kernel);
    row = next;
    emit(++r, row);
  }
  return row;
}

/** Writes the part of row `r` that a chunk produced (nodes starting at `index` in that row). */
function writeRow(fd: number, layout: StoreLayout, r: number, index: number, nodes: Uint8Array): void {
  const at = layout.rowOffsets[r];
  if (at === undefined || at < 0) return; // a row the LevelCacheStore drops
  writeFully(fd, nodes, (at + index) * NODE_SIZE);
}

/** Runs one chunk job and returns the chunk's root (32 bytes). */
export function runChunk(plan: Pc2Plan, job: ChunkJob, files: FileCache): Uint8Array {
  const K = plan.chunkLeaves;
  const globalLeaf = job.tree * plan.baseTreeLeaves + job.chunk * K;
  const bytes = K * NODE_SIZE;
  const pos = globalLeaf * NODE_SIZE;
  let leaves: Uint8Array;
  let treeFd: number;
  let layout: StoreLayout;
  if (job.kind === 'tree-c') {
    const layers = plan.layerPaths.map((p, i) => {
      const b = new Uint8Array(bytes);
      readFully(files.fd(p, 'r'), b, pos, `label layer ${i + 1}`);
      return b;
    });
    leaves = new Uint8Array(bytes);
    poseidonColumnsBatch(layers, leaves, plan.kernel);
    treeFd = files.fd(plan.treeCPaths[job.tree]!, 'r+');
    layout = plan.treeCLayout;
  } else {
    const key = new Uint8Array(bytes);
    readFully(files.fd(plan.layerPaths[plan.layerPaths.length - 1]!, 'r'), key, pos, 'last label layer');
    leaves = new Uint8Array(bytes);
    readFully(files.fd(plan.dataPath, 'r'), leaves, pos, 'unsealed data');
    frEncodeBatch(key, leaves, leaves, plan.kernel);
    writeFully(files.fd(plan.sealedPath, 'r+'), leaves, pos);
    treeFd = files.fd(plan.treeRLastPaths[job.tree]!, 'r+');
    layout = plan.treeRLastLayout;
  }
  return hashSubtree(leaves, plan.kernel, (r, nodes) => {
    writeRow(treeFd, layout, r, (job.chunk * K) / TREE_ARITY ** r, nodes);
  });
}

/**
 * Rows above the chunk roots of one base tree: hashes them from the chunk roots (in chunk order), writes
 * them to the store file and returns the base tree's root.
 */
export function finishTop(plan: Pc2Plan, kind: ChunkKind, tree: number, chunkRoots: Uint8Array[], files: FileCache) {
  const chunkRow = Math.round(Math.log2(plan.chunkLeaves) / 3);
  const layout = kind === 'tree-c' ? plan.treeCLayout : plan.treeRLastLayout;
  const fd = files.fd(kind === 'tree-c' ? plan.treeCPaths[tree]! : plan.treeRLastPaths[tree]!, 'r+');
  const row = new Uint8Array(chunkRoots.length * NODE_SIZE);
  chunkRoots.forEach((r, i) => {
    row.set(r, i * NODE_SIZE);
  });
  // the chunk roots themselves were written by their jobs; write only the rows above them
  return hashSubtree(row, plan.kernel, (r, nodes) => {
    if (r > 0) writeRow(fd, layout, chunkRow + r, 0, nodes);
  });
}
