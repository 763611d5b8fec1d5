/**
 * `p_aux` and `t_aux` in the sector cache directory, byte for byte as rust-fil-proofs writes them
 * (filecoin-proofs `api/util.rs: persist_p_aux / persist_t_aux`): bincode 1.x with default options, i.e.
 * fixed-width little-endian integers, u64 length prefixes for strings, paths and vectors, one tag byte for
 * an Option, nothing for PhantomData, fixed arrays without a prefix.
 *
 *   p_aux = PersistentAux { comm_c: [u8; 32], comm_r_last: [u8; 32] }                       (64 bytes)
 *   t_aux = TemporaryAux { labels: Labels { labels: Vec<StoreConfig> }, tree_d_config,
 *                          tree_r_last_config, tree_c_config }
 *   StoreConfig = { path: PathBuf, id: String, size: Option<usize>, rows_to_discard: usize }  (merkletree)
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NODE_SIZE, treeLen } from '../merkle.js';
import type { PoRepConfig } from '../registry.js';

export const P_AUX_FILE = 'p_aux';
export const T_AUX_FILE = 't_aux';

export interface PersistentAux {
  commC: Uint8Array;
  commRLast: Uint8Array;
}

/** merkletree `StoreConfig`. */
export interface StoreConfig {
  /** Directory of the store file. */
  path: string;
  /** Store id: the file is `<path>/sc-02-data-<id>.dat`. */
  id: string;
  /** Elements in the (whole, unsplit) store; rust writes Some(n) for every PC2 config. */
  size: number | null;
  rowsToDiscard: number;
}

export interface TemporaryAux {
  labels: StoreConfig[];
  treeDConfig: StoreConfig;
  treeRLastConfig: StoreConfig;
  treeCConfig: StoreConfig;
}

export function encodePAux(p: PersistentAux): Uint8Array {
  if (p.commC.length !== NODE_SIZE || p.commRLast.length !== NODE_SIZE)
    throw new RangeError('p_aux: comm_c and comm_r_last must be 32 bytes');
  const out = new Uint8Array(64);
  out.set(p.commC, 0);
  out.set(p.commRLast, 32);
  return out;
}

export function decodePAux(b: Uint8Array): PersistentAux {
  if (b.length !== 64) throw new Error(`p_aux must be 64 bytes, got ${b.length}`);
  return { commC: b.slice(0, 32), commRLast: b.slice(32, 64) };
}

class BincodeWriter {
  private parts: Buffer[] = [];
  u8(v: number): void {
    this.parts.push(Buffer.from([v]));
  }
  u64(v: number | bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
  }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.parts.push(b);
  }
  bytes(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

class BincodeReader {
  private off = 0;
  constructor(private readonly b: Buffer) {}
  private need(n: number): void {
    if (this.off + n > this.b.length) throw new Error('t_aux: truncated');
  }
  u8(): number {
    this.need(1);
    return this.b[this.off++]!;
  }
  u64(): number {
    this.need(8);
    const v = this.b.readBigUInt64LE(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('t_aux: integer too large');
    return Number(v);
  }
  str(): string {
    const n = this.u64();
    this.need(n);
    const s = this.b.toString('utf8', this.off, this.off + n);
    this.off += n;
    return s;
  }
  end(): void {
    if (this.off !== this.b.length) throw new Error(`t_aux: ${this.b.length - this.off} trailing bytes`);
  }
}

function writeStoreConfig(w: BincodeWriter, c: StoreConfig): void {
  w.str(c.path);
  w.str(c.id);
  if (c.size === null) w.u8(0);
  else {
    w.u8(1);
    w.u64(c.size);
  }
  w.u64(c.rowsToDiscard);
}

function readStoreConfig(r: BincodeReader): StoreConfig {
  const path = r.str();
  const id = r.str();
  const tag = r.u8();
  if (tag > 1) throw new Error(`t_aux: bad Option tag ${tag}`);
  const size = tag === 1 ? r.u64() : null;
  return { path, id, size, rowsToDiscard: r.u64() };
}

export function encodeTAux(t: TemporaryAux): Uint8Array {
  const w = new BincodeWriter();
  w.u64(t.labels.length);
  for (const c of t.labels) writeStoreConfig(w, c);
  writeStoreConfig(w, t.treeDConfig);
  writeStoreConfig(w, t.treeRLastConfig);
  writeStoreConfig(w, t.treeCConfig);
  return w.bytes();
}

export function decodeTAux(b: Uint8Array): TemporaryAux {
  const r = new BincodeReader(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  const n = r.u64();
  if (n > 64) throw new Error(`t_aux: implausible layer count ${n}`);
  const labels = Array.from({ length: n }, () => readStoreConfig(r));
  const treeDConfig = readStoreConfig(r);
  const treeRLastConfig = readStoreConfig(r);
  const treeCConfig = readStoreConfig(r);
  r.end();
  return { labels, treeDConfig, treeRLastConfig, treeCConfig };
}

/**
 * The TemporaryAux PC2 produces for a sector (storage-proofs-porep `transform_and_replicate_layers`):
 * every path is the cache directory as given; label layers hold `nodes` elements; tree-d is the whole
 * binary tree; tree-c and tree-r-last give the length of one base tree (arity 8), tree-r-last with its
 * rows_to_discard.
 */
export function temporaryAuxFor(
  cfg: Pick<PoRepConfig, 'nodes' | 'layers' | 'baseTreeLeaves' | 'treeRLastRowsToDiscard'>,
  cacheDir: string,
  rowsToDiscard = cfg.treeRLastRowsToDiscard,
): TemporaryAux {
  const baseLen = treeLen(cfg.baseTreeLeaves, 8);
  return {
    labels: Array.from({ length: cfg.layers }, (_, i) => ({
      path: cacheDir,
      id: `layer-${i + 1}`,
      size: cfg.nodes,
      rowsToDiscard: 0,
    })),
    treeDConfig: { path: cacheDir, id: 'tree-d', size: treeLen(cfg.nodes, 2), rowsToDiscard: 0 },
    treeRLastConfig: { path: cacheDir, id: 'tree-r-last', size: baseLen, rowsToDiscard },
    treeCConfig: { path: cacheDir, id: 'tree-c', size: baseLen, rowsToDiscard: 0 },
  };
}

async function writeAtomically(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function writePAux(cacheDir: string, p: PersistentAux): Promise<void> {
  await writeAtomically(join(cacheDir, P_AUX_FILE), encodePAux(p));
}

export async function readPAux(cacheDir: string): Promise<PersistentAux> {
  return decodePAux(await readFile(join(cacheDir, P_AUX_FILE)));
}

export async function writeTAux(cacheDir: string, t: TemporaryAux): Promise<void> {
  await writeAtomically(join(cacheDir, T_AUX_FILE), encodeTAux(t));
}

export async function readTAux(cacheDir: string): Promise<TemporaryAux> {
  return decodeTAux(await readFile(join(cacheDir, T_AUX_FILE)));
}
