/**
 * TreeD: the binary SHA-256-trunc254 tree over the padded (unsealed) sector data; its root is CommD
 * (rust-fil-proofs `seal_pre_commit_phase1`: `create_base_merkle_tree::<BinaryMerkleTree<Sha256Hasher>>`
 * with a StoreConfig "tree-d", rows_to_discard 0).
 *
 * File: `<cache>/sc-02-data-tree-d.dat`, merkletree's DiskStore layout — all 2·nodes − 1 nodes, leaves
 * (the sector data itself) first, root last, 32 bytes each, no header. A 32GiB sector gives a 64 GiB file.
 *
 * Built streaming: the staged file is read in 8 MiB chunks, each chunk's subtree is hashed in bulk, and
 * every row is written at its place through per-row buffers (≤ 1 MiB each) with at most 32 MiB of writes in
 * flight while the next chunk hashes: under 100 MiB of memory for any sector size, 32 GiB included. A
 * staged file shorter than the sector reads as zero-extended (PC1 sizes its copy with set_len).
 */
import { type FileHandle, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  diskStoreLayout,
  type MerkleProof,
  MerkleTreeBuilder,
  merkleProof,
  NODE_SIZE,
  type StoreLayout,
  StoreWriter,
  sha256NodeHasher,
  storeFileName,
  storeFileReader,
  verifyMerkleProof,
} from './merkle.js';
import { sectorSizeInfo } from './registry.js';

/** `sc-02-data-tree-d.dat` */
export const TREE_D_FILE = storeFileName('tree-d');

/** The TreeD path in a sector cache directory. */
export function treeDPath(cacheDir: string): string {
  return join(cacheDir, TREE_D_FILE);
}

/** TreeD's store layout for a sector size (binary DiskStore over sectorSize/32 leaves). */
export function treeDLayout(sectorSize: number): StoreLayout {
  return diskStoreLayout(sectorSizeInfo(sectorSize).nodes, 2);
}

/** Nodes in a TreeD file: 2·nodes − 1 (the `size` of its StoreConfig in t_aux). */
export function treeDLen(sectorSize: number): number {
  return treeDLayout(sectorSize).storedNodes;
}

export interface BuildTreeDOptions {
  /** The staged (unsealed, Fr32-padded) sector file; absent for an all-zero (CC) sector. */
  stagedPath?: string | null;
  /** Directory for `sc-02-data-tree-d.dat`. */
  cacheDir: string;
  sectorSize: number;
  /** Write the tree somewhere else than `<cacheDir>/sc-02-data-tree-d.dat`. */
  outPath?: string;
  /** Progress: padded bytes of the sector hashed so far. */
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface TreeDResult {
  commD: Uint8Array;
  path: string;
  /** Nodes in the file (2·nodes − 1). */
  len: number;
}

const CHUNK = 8 << 20;

async function readFull(fh: FileHandle, buf: Uint8Array, pos: number): Promise<number> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, pos + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off;
}

/**
 * Builds TreeD from the staged file and writes it in rust-fil-proofs' layout. The file is written under a
 * temporary name and renamed when complete, so a crash never leaves a truncated tree that looks done.
 */
export async function buildTreeD(opts: BuildTreeDOptions): Promise<TreeDResult> {
  const { sectorSize } = sectorSizeInfo(opts.sectorSize);
  const layout = treeDLayout(sectorSize);
  const path = opts.outPath ?? treeDPath(opts.cacheDir);
  const tmp = `${path}.tmp`;
  const src = opts.stagedPath ? await open(opts.stagedPath, 'r') : undefined;
  let out: FileHandle | undefined;
  try {
    out = await open(tmp, 'w');
    await out.truncate(layout.fileSize);
    const writer = new StoreWriter(out, layout);
    const builder = new MerkleTreeBuilder(sha256NodeHasher, { leaves: layout.leaves, onRow: writer.sink });
    const chunk = new Uint8Array(Math.min(CHUNK, sectorSize));
    let atEof = false;
    for (let pos = 0; pos < sectorSize; pos += chunk.length) {
      opts.signal?.throwIfAborted();
      const n = atEof || !src ? 0 : await readFull(src, chunk, pos);
      if (n < chunk.length) {
        atEof = true;
        chunk.fill(0, n);
      }
      builder.push(chunk);
      await writer.flush();
      opts.onProgress?.(pos + chunk.length, sectorSize);
    }
    const commD = builder.finish();
    await writer.close();
    await out.sync();
    await out.close();
    out = undefined;
    await rename(tmp, path);
    return { commD, path, len: layout.storedNodes };
  } catch (err) {
    await out?.close().catch(() => {});
    await rm(tmp, { force: true }).catch(() => {});
    throw err;
  } finally {
    await src?.close();
  }
}

/** Reads CommD (the last node) from an existing TreeD file, checking its size. */
export async function readTreeDRoot(path: string, sectorSize: number): Promise<Uint8Array> {
  const layout = treeDLayout(sectorSize);
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size !== layout.fileSize) {
      throw new Error(`${path} has ${size} bytes; a ${sectorSize}-byte sector's TreeD has ${layout.fileSize}`);
    }
    const root = new Uint8Array(NODE_SIZE);
    await fh.read(root, 0, NODE_SIZE, layout.fileSize - NODE_SIZE);
    return root;
  } finally {
    await fh.close();
  }
}

/** The TreeD inclusion proof of a node (a C1 `comm_d_proofs` entry), read from the TreeD file. */
export async function treeDProof(path: string, sectorSize: number, leafIndex: number): Promise<MerkleProof> {
  const layout = treeDLayout(sectorSize);
  const fh = await open(path, 'r');
  try {
    return await merkleProof(storeFileReader(fh, layout), layout.leaves, 2, leafIndex);
  } finally {
    await fh.close();
  }
}

/** Checks a TreeD proof (binary SHA-256 tree). */
export function verifyTreeDProof(proof: MerkleProof): boolean {
  return verifyMerkleProof(proof, sha256NodeHasher);
}
