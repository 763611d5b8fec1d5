/**
 * SnapDeals over files, as rust-fil-proofs `filecoin-proofs/src/api/update.rs` and
 * `storage-proofs-update/src/vanilla.rs` do them:
 *
 * - `encodeSector` (`encode_into`): TreeD over the new data (its root is comm_d_new), phi from comm_d_new and
 *   comm_r_old = H(comm_c, comm_r_last_old) read from the sector key's p_aux, the new replica
 *   key + data·rho written to a new file, TreeR-last over it in the new cache (same shape and
 *   rows_to_discard as the sector key's), comm_r_new = H(comm_c, comm_r_last_new); p_aux (comm_c, new
 *   comm_r_last) and the sector key's t_aux are persisted in the new cache.
 * - `decodeSector` (`decode_from` / `decode_from_range`): data back from the new replica and the sector key.
 * - `removeSectorData` (`remove_encoded_data`): the sector key back from the new replica and the data, with
 *   its TreeR-last and p_aux in the sector key cache.
 *
 * Work streams in 1 MiB chunks (positional reads and writes), so memory does not grow with the sector.
 */
import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { logger } from '../../common/log.js';
import { bytesEqual } from '../../fil/index.js';
import { NODE_SIZE } from '../merkle.js';
import { readPAux, readTAux, type TemporaryAux, writePAux, writeTAux } from '../pc2/aux.js';
import { computeCommD, type PieceInfo } from '../pieces.js';
import { type KernelKind, poseidonHash2 } from '../poseidon/index.js';
import { sectorSizeInfo } from '../registry.js';
import { buildTreeD } from '../tree-d.js';
import { CodecPool, pipeChunks } from './codec-pool.js';
import { updateParams } from './constants.js';
import { updatePhi } from './randomness.js';
import { TreeRLastWriter, treeRChunkLeaves } from './tree-r.js';

const log = logger('snap');

function readFully(fd: number, buf: Uint8Array, pos: number, what: string): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, pos + off);
    if (n <= 0) throw new Error(`${what}: file ends before byte ${pos + buf.length}`);
    off += n;
  }
}

function writeFully(fd: number, buf: Uint8Array, pos: number): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off, pos + off);
}

async function requireFileAtLeast(path: string, size: number, what: string): Promise<void> {
  const st = await stat(path).catch(() => null);
  if (!st?.isFile()) throw new Error(`${what} ${path} is missing or not a file`);
  if (st.size < size) throw new Error(`${what} ${path} has ${st.size} bytes, a sector has ${size}`);
}

/** Nodes per decode chunk (1 MiB). */
const CHUNK_NODES = 32768;

/** `n` nodes from node `node` of a file, in a fresh buffer (it is handed to a worker thread). */
function readAt(fd: number, node: number, n: number, what: string): Uint8Array {
  const b = new Uint8Array(n * NODE_SIZE);
  readFully(fd, b, node * NODE_SIZE, what);
  return b;
}

/** Worker threads for the field arithmetic: the option when given, else none up to 1 MiB of nodes, else all cores. */
function codecThreads(nodes: number, threads: number | undefined): number {
  if (threads !== undefined) return threads;
  return nodes <= CHUNK_NODES ? 1 : availableParallelism();
}

/** t_aux as rust re-reads it for another cache: every store config's path is `cacheDir` (`set_cache_path`). */
function withCachePath(t: TemporaryAux, cacheDir: string): TemporaryAux {
  const at = (c: TemporaryAux['treeDConfig']) => ({ ...c, path: cacheDir });
  return {
    labels: t.labels.map(at),
    treeDConfig: at(t.treeDConfig),
    treeRLastConfig: at(t.treeRLastConfig),
    treeCConfig: at(t.treeCConfig),
  };
}

export interface EncodeSectorOptions {
  sectorSize: number;
  /** The CC replica (sealed file) being updated: the sector key. */
  sectorKeyPath: string;
  /** Its cache directory: p_aux (comm_c, comm_r_last) and t_aux are read there. */
  sectorKeyCacheDir: string;
  /** The new data, Fr32-padded, at least a sector long (AddPieces' staged file). */
  stagedDataPath: string;
  /** Written: the updated replica. */
  newReplicaPath: string;
  /** Written: TreeD, TreeR-last, p_aux and t_aux of the updated replica. */
  newCacheDir: string;
  /** The pieces of the data: when given, comm_d_new must be their CommD (rust `verify_pieces`). */
  pieces?: readonly PieceInfo[];
  kernel?: KernelKind | 'auto';
  /** Worker threads for the field arithmetic (default: all cores; small sectors run inline). */
  threads?: number;
  onProgress?: (nodesDone: number, nodes: number) => void;
  signal?: AbortSignal;
}

/** rust `EmptySectorUpdateEncoded`, plus what the proofs need next. */
export interface EncodeSectorResult {
  commRNew: Uint8Array;
  commRLastNew: Uint8Array;
  commDNew: Uint8Array;
  commROld: Uint8Array;
  commC: Uint8Array;
  seconds: { treeD: number; encode: number; total: number };
}

/** rust `encode_into`. */
export async function encodeSector(o: EncodeSectorOptions): Promise<EncodeSectorResult> {
  const t0 = performance.now();
  const g = sectorSizeInfo(o.sectorSize);
  const params = updateParams(g.sectorSize);
  const kernel = o.kernel ?? 'auto';
  await requireFileAtLeast(o.sectorKeyPath, g.sectorSize, 'sector key');
  await requireFileAtLeast(o.stagedDataPath, g.sectorSize, 'staged data');
  const { commC, commRLast: commRLastOld } = await readPAux(o.sectorKeyCacheDir);
  const tAux = await readTAux(o.sectorKeyCacheDir);
  const rowsToDiscard = tAux.treeRLastConfig.rowsToDiscard;
  const commROld = poseidonHash2(commC, commRLastOld, kernel);
  await mkdir(o.newCacheDir, { recursive: true });

  const { commD: commDNew } = await buildTreeD({
    stagedPath: o.stagedDataPath,
    cacheDir: o.newCacheDir,
    sectorSize: g.sectorSize,
    signal: o.signal,
  });
  if (o.pieces && !bytesEqual(computeCommD(g.sectorSize, o.pieces), commDNew))
    throw new Error('snap encode: the pieces do not match the data (CommD differs)');
  const tD = performance.now();

  const pool = new CodecPool(updatePhi(commDNew, commROld), params.h, g.nodes, codecThreads(g.nodes, o.threads));
  const tree = await TreeRLastWriter.create(g, o.newCacheDir, rowsToDiscard, kernel);
  const keyFd = openSync(o.sectorKeyPath, 'r');
  const dataFd = openSync(o.stagedDataPath, 'r');
  const outFd = openSync(o.newReplicaPath, 'w+');
  let commRLastNew: Uint8Array;
  try {
    await pipeChunks(
      pool,
      'encode',
      0,
      g.nodes,
      treeRChunkLeaves(g),
      (node, n) => [readAt(keyFd, node, n, o.sectorKeyPath), readAt(dataFd, node, n, o.stagedDataPath)],
      (node, replica, rows) => {
        writeFully(outFd, replica, node * NODE_SIZE);
        tree.pushHashed(replica, rows!);
        o.onProgress?.(node + replica.length / NODE_SIZE, g.nodes);
      },
      o.signal,
      true,
    );
    commRLastNew = tree.finish();
    fsyncSync(outFd);
  } finally {
    tree.close();
    closeSync(keyFd);
    closeSync(dataFd);
    closeSync(outFd);
    await pool.close();
  }
  const commRNew = poseidonHash2(commC, commRLastNew, kernel);
  for (const [name, v] of [
    ['comm_d', commDNew],
    ['comm_r', commRNew],
    ['comm_r_last', commRLastNew],
  ] as const) {
    if (v.every((b) => b === 0)) throw new Error(`snap encode: all-zero commitment (${name})`);
  }
  await writePAux(o.newCacheDir, { commC, commRLast: commRLastNew });
  await writeTAux(o.newCacheDir, withCachePath(tAux, o.sectorKeyCacheDir));
  const tEnd = performance.now();
  const seconds = { treeD: (tD - t0) / 1000, encode: (tEnd - tD) / 1000, total: (tEnd - t0) / 1000 };
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
  log.info({ commDNew: hex(commDNew), commRNew: hex(commRNew), ...seconds }, 'snap encode done');
  return { commRNew, commRLastNew, commDNew, commROld, commC, seconds };
}

export interface DecodeSectorOptions {
  sectorSize: number;
  /** The updated replica. */
  replicaPath: string;
  sectorKeyPath: string;
  /** comm_r_old, or the sector key's cache directory to read comm_c and comm_r_last from (its p_aux). */
  commROld?: Uint8Array;
  sectorKeyCacheDir?: string;
  commDNew: Uint8Array;
  /** Written: the decoded (Fr32-padded) data of the range. */
  outDataPath: string;
  /** First node and node count of the range (default: the whole sector). */
  nodeOffset?: number;
  nodeCount?: number;
  /** Worker threads (default: all cores; small ranges run inline). */
  threads?: number;
  signal?: AbortSignal;
}

async function resolveCommROld(o: { commROld?: Uint8Array; sectorKeyCacheDir?: string }): Promise<Uint8Array> {
  if (o.commROld) return o.commROld;
  if (!o.sectorKeyCacheDir) throw new Error('snap: comm_r_old or the sector key cache directory is needed');
  const { commC, commRLast } = await readPAux(o.sectorKeyCacheDir);
  return poseidonHash2(commC, commRLast);
}

/** rust `decode_from` (whole sector) and `decode_from_range` (a node range, written from offset 0). */
export async function decodeSector(o: DecodeSectorOptions): Promise<void> {
  const g = sectorSizeInfo(o.sectorSize);
  const params = updateParams(g.sectorSize);
  const first = o.nodeOffset ?? 0;
  const count = o.nodeCount ?? g.nodes - first;
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 1 || first + count > g.nodes)
    throw new RangeError(`snap decode: nodes [${first}, ${first + count}) are outside the sector`);
  await requireFileAtLeast(o.replicaPath, g.sectorSize, 'updated replica');
  await requireFileAtLeast(o.sectorKeyPath, g.sectorSize, 'sector key');
  const pool = new CodecPool(
    updatePhi(o.commDNew, await resolveCommROld(o)),
    params.h,
    g.nodes,
    codecThreads(count, o.threads),
  );
  const repFd = openSync(o.replicaPath, 'r');
  const keyFd = openSync(o.sectorKeyPath, 'r');
  const outFd = openSync(o.outDataPath, 'w');
  try {
    await pipeChunks(
      pool,
      'decode',
      first,
      count,
      CHUNK_NODES,
      (node, n) => [readAt(repFd, node, n, o.replicaPath), readAt(keyFd, node, n, o.sectorKeyPath)],
      (node, data) => writeFully(outFd, data, (node - first) * NODE_SIZE),
      o.signal,
    );
    if (fstatSync(outFd).size !== count * NODE_SIZE) throw new Error('snap decode: short output');
  } finally {
    closeSync(repFd);
    closeSync(keyFd);
    closeSync(outFd);
    await pool.close();
  }
}

export interface RemoveSectorDataOptions {
  sectorSize: number;
  /** The updated replica and its cache (p_aux: comm_c; t_aux: rows_to_discard). */
  replicaPath: string;
  replicaCacheDir: string;
  /** The data that was encoded (Fr32-padded, at least a sector long). */
  dataPath: string;
  commDNew: Uint8Array;
  /** comm_r_old: the sector key's commitment (as on chain before the update). */
  commROld: Uint8Array;
  /** Written: the sector key, and its TreeR-last and p_aux / t_aux in its cache directory. */
  sectorKeyPath: string;
  sectorKeyCacheDir: string;
  kernel?: KernelKind | 'auto';
  /** Worker threads (default: all cores; small sectors run inline). */
  threads?: number;
  signal?: AbortSignal;
}

/**
 * rust `remove_encoded_data`: the sector key from the updated replica and the data. rust reads comm_r_old's
 * parts from a p_aux; here comm_r_old is given and the rebuilt comm_r_last must reproduce it, so a wrong
 * data file is caught. Returns comm_r_last of the sector key.
 */
export async function removeSectorData(o: RemoveSectorDataOptions): Promise<Uint8Array> {
  const g = sectorSizeInfo(o.sectorSize);
  const params = updateParams(g.sectorSize);
  const kernel = o.kernel ?? 'auto';
  await requireFileAtLeast(o.replicaPath, g.sectorSize, 'updated replica');
  await requireFileAtLeast(o.dataPath, g.sectorSize, 'data');
  const { commC } = await readPAux(o.replicaCacheDir);
  const tAux = await readTAux(o.replicaCacheDir);
  await mkdir(o.sectorKeyCacheDir, { recursive: true });
  const pool = new CodecPool(updatePhi(o.commDNew, o.commROld), params.h, g.nodes, codecThreads(g.nodes, o.threads));
  const tree = await TreeRLastWriter.create(g, o.sectorKeyCacheDir, tAux.treeRLastConfig.rowsToDiscard, kernel);
  const repFd = openSync(o.replicaPath, 'r');
  const dataFd = openSync(o.dataPath, 'r');
  const outFd = openSync(o.sectorKeyPath, 'w+');
  let commRLast: Uint8Array;
  try {
    await pipeChunks(
      pool,
      'remove',
      0,
      g.nodes,
      treeRChunkLeaves(g),
      (node, n) => [readAt(repFd, node, n, o.replicaPath), readAt(dataFd, node, n, o.dataPath)],
      (node, key, rows) => {
        writeFully(outFd, key, node * NODE_SIZE);
        tree.pushHashed(key, rows!);
      },
      o.signal,
      true,
    );
    commRLast = tree.finish();
    fsyncSync(outFd);
  } finally {
    tree.close();
    closeSync(repFd);
    closeSync(dataFd);
    closeSync(outFd);
    await pool.close();
  }
  if (!bytesEqual(poseidonHash2(commC, commRLast, kernel), o.commROld))
    throw new Error('snap remove-data: the rebuilt sector key does not give comm_r_old (wrong data or comm_d_new?)');
  await writePAux(o.sectorKeyCacheDir, { commC, commRLast });
  await writeTAux(o.sectorKeyCacheDir, withCachePath(tAux, o.replicaCacheDir));
  return commRLast;
}
