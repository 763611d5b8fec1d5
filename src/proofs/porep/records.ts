/**
 * The compact record of one challenge proof, as rust-fil-proofs writes synthetic PoRep proofs
 * (`stacked/vanilla/params.rs: SynthProofs`, file `<cache>/syn-porep-vanilla-proofs.dat`):
 *
 *   file   = root_d ‖ root_c ‖ root_r ‖ record…
 *   record = u64_le challenge ‖ 14 × u64_le parent
 *            ‖ leaf_d ‖ path_d siblings (one per level)
 *            ‖ column(c) (L labels) ‖ leaf_c ‖ path_c siblings (arity − 1 per level)
 *            ‖ for each of the 14 parents: column ‖ leaf_c ‖ path_c siblings
 *            ‖ leaf_r ‖ path_r siblings
 *
 * Path positions are not stored: they are the bits of the node index (3 per arity-8 level, then the sub and
 * top bits). Labeling and encoding proofs are not stored either: `proofFromParts` rebuilds them from the
 * columns. The same records make up the vanilla seal proof bytes (see `prover/`).
 */
import { open } from 'node:fs/promises';
import { bytesEqual } from '../../fil/index.js';
import {
  BINARY_SHAPE,
  basePathLength,
  type InclusionProof,
  NODE,
  type PathElement,
  pathElements,
  pathIndex,
} from '../inclusion/proof.js';
import { readExact } from '../inclusion/trees.js';
import { BASE_DEGREE, EXP_DEGREE, type TreeShape } from '../registry.js';
import { type ColumnProof, type PorepChallengeProof, proofFromParts } from './vanilla.js';

/** The name rust gives the synthetic proofs file in the cache directory. */
export const SYNTH_PROOFS_FILE = 'syn-porep-vanilla-proofs.dat';

const PARENTS = BASE_DEGREE + EXP_DEGREE;

export interface RecordGeometry {
  readonly nodes: number;
  readonly layers: number;
  readonly shape: TreeShape;
}

function log2(n: number): number {
  const l = Math.round(Math.log2(n));
  if (2 ** l !== n) throw new RangeError(`${n} is not a power of two`);
  return l;
}

/** Siblings per level of TreeC/TreeR-last paths, leaf level first. */
function treeRLevels(g: RecordGeometry): number[] {
  const base = basePathLength(g.nodes, g.shape);
  const out: number[] = Array(base).fill(g.shape.base);
  if (g.shape.sub) out.push(g.shape.sub);
  if (g.shape.top) out.push(g.shape.top);
  return out;
}

/** rust `SynthProofs::proof_size`: bytes per record. */
export function recordSize(g: RecordGeometry): number {
  const dNodes = 1 + log2(g.nodes);
  const rNodes = 1 + treeRLevels(g).reduce((a, arity) => a + arity - 1, 0);
  const colNodes = g.layers + rNodes;
  return (1 + PARENTS) * 8 + (dNodes + (1 + PARENTS) * colNodes + rNodes) * NODE;
}

class Writer {
  private off = 0;
  constructor(readonly buf: Uint8Array) {}
  u64(v: number): void {
    new DataView(this.buf.buffer, this.buf.byteOffset + this.off, 8).setBigUint64(0, BigInt(v), true);
    this.off += 8;
  }
  node(b: Uint8Array): void {
    if (b.length !== NODE) throw new RangeError('a node is 32 bytes');
    this.buf.set(b, this.off);
    this.off += NODE;
  }
  get offset(): number {
    return this.off;
  }
}

class Reader {
  private off: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.off = start;
  }
  need(n: number): void {
    if (this.off + n > this.buf.length) throw new RangeError('vanilla proof record truncated');
  }
  u64(): number {
    this.need(8);
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.off, 8).getBigUint64(0, true);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError('node index out of range');
    return Number(v);
  }
  node(): Uint8Array {
    this.need(NODE);
    const b = this.buf.slice(this.off, this.off + NODE);
    this.off += NODE;
    return b;
  }
  get offset(): number {
    return this.off;
  }
}

function writeTreeR(w: Writer, p: InclusionProof): void {
  w.node(p.leaf);
  for (const el of pathElements(p)) for (const h of el.hashes) w.node(h);
}

function writeColumn(w: Writer, c: ColumnProof, layers: number): void {
  if (c.column.rows.length !== layers) throw new RangeError(`a column has ${layers} labels`);
  for (const r of c.column.rows) w.node(r);
  writeTreeR(w, c.inclusionProof);
}

/** Appends one challenge proof's record at `w`. The roots are written once per file, not here. */
function writeRecord(w: Writer, p: PorepChallengeProof, g: RecordGeometry): void {
  const { cX, drgParents, expParents } = p.replicaColumnProofs;
  const parents = [...drgParents, ...expParents];
  if (parents.length !== PARENTS) throw new RangeError('a challenge proof opens 14 parents');
  w.u64(pathIndex(p.commDProofs, BINARY_SHAPE));
  for (const c of parents) w.u64(pathIndex(c.inclusionProof, g.shape));
  w.node(p.commDProofs.leaf);
  for (const el of p.commDProofs.base) w.node(el.hashes[0]);
  writeColumn(w, cX, g.layers);
  for (const c of parents) writeColumn(w, c, g.layers);
  writeTreeR(w, p.commRLastProof);
}

/** The records of `proofs` back to back (no roots). All must share root_d, root_c and root_r. */
export function encodeRecords(proofs: readonly PorepChallengeProof[], g: RecordGeometry): Uint8Array {
  const size = recordSize(g);
  const out = new Uint8Array(size * proofs.length);
  const w = new Writer(out);
  proofs.forEach((p, i) => {
    writeRecord(w, p, g);
    if (w.offset !== (i + 1) * size) throw new Error('record size mismatch (proof does not fit the geometry)');
  });
  return out;
}

/** The three roots every record of a file shares: comm_d, comm_c, comm_r_last. */
export interface RecordRoots {
  rootD: Uint8Array;
  rootC: Uint8Array;
  rootR: Uint8Array;
}

export function rootsOf(p: PorepChallengeProof): RecordRoots {
  return {
    rootD: p.commDProofs.root,
    rootC: p.replicaColumnProofs.cX.inclusionProof.root,
    rootR: p.commRLastProof.root,
  };
}

/** Checks every proof carries the same roots (the compact form stores them once). */
export function sameRoots(proofs: readonly PorepChallengeProof[], r: RecordRoots): boolean {
  return proofs.every((p) => {
    const q = rootsOf(p);
    const cols = [...p.replicaColumnProofs.drgParents, ...p.replicaColumnProofs.expParents];
    return (
      bytesEqual(q.rootD, r.rootD) &&
      bytesEqual(q.rootC, r.rootC) &&
      bytesEqual(q.rootR, r.rootR) &&
      cols.every((c) => bytesEqual(c.inclusionProof.root, r.rootC))
    );
  });
}

/** A whole synthetic-proofs file: the roots then the records. */
export function encodeSynthProofs(proofs: readonly PorepChallengeProof[], g: RecordGeometry): Uint8Array {
  if (proofs.length === 0) throw new RangeError('no proofs');
  const roots = rootsOf(proofs[0]);
  if (!sameRoots(proofs, roots)) throw new Error('synthetic proofs with different roots');
  const records = encodeRecords(proofs, g);
  const out = new Uint8Array(3 * NODE + records.length);
  out.set(roots.rootD, 0);
  out.set(roots.rootC, NODE);
  out.set(roots.rootR, 2 * NODE);
  out.set(records, 3 * NODE);
  return out;
}

/** Path positions of node `c` in TreeC/TreeR-last, leaf level first (rust `path_r_indexes`). */
function treeRIndexes(c: number, levels: number[]): number[] {
  const out: number[] = [];
  let x = c;
  for (const arity of levels) {
    out.push(x % arity);
    x = Math.floor(x / arity);
  }
  return out;
}

function readTreeR(r: Reader, c: number, root: Uint8Array, levels: number[], shape: TreeShape): InclusionProof {
  const leaf = r.node();
  const idx = treeRIndexes(c, levels);
  const els: PathElement[] = levels.map((arity, l) => {
    const hashes: Uint8Array[] = [];
    for (let k = 0; k < arity - 1; k++) hashes.push(r.node());
    return { hashes, index: idx[l] };
  });
  const nTop = shape.top ? 1 : 0;
  const nSub = shape.sub ? 1 : 0;
  const base = els.slice(0, els.length - nSub - nTop);
  const p: InclusionProof = { leaf, root, base };
  if (nSub) p.sub = els[base.length];
  if (nTop) p.top = els[base.length + 1];
  return p;
}

function readColumn(r: Reader, c: number, roots: RecordRoots, levels: number[], g: RecordGeometry): ColumnProof {
  if (c >= g.nodes) throw new RangeError(`column ${c} is outside the sector`);
  const rows: Uint8Array[] = [];
  for (let l = 0; l < g.layers; l++) rows.push(r.node());
  return { column: { index: c, rows }, inclusionProof: readTreeR(r, c, roots.rootC, levels, g.shape) };
}

/** Decodes the record at `offset` of `buf` into a full challenge proof (rust `SynthProofs::read`). */
export function decodeRecord(
  buf: Uint8Array,
  offset: number,
  roots: RecordRoots,
  g: RecordGeometry,
): PorepChallengeProof {
  const r = new Reader(buf, offset);
  const levels = treeRLevels(g);
  const challenge = r.u64();
  if (challenge >= g.nodes) throw new RangeError(`challenge ${challenge} is outside the sector`);
  const parents: number[] = [];
  for (let i = 0; i < PARENTS; i++) parents.push(r.u64());
  const dLevels = log2(g.nodes);
  const leafD = r.node();
  const dPath: PathElement[] = [];
  for (let l = 0; l < dLevels; l++) dPath.push({ hashes: [r.node()], index: Math.floor(challenge / 2 ** l) % 2 });
  const proofD: InclusionProof = { leaf: leafD, root: roots.rootD, base: dPath };
  const cX = readColumn(r, challenge, roots, levels, g);
  const cols = parents.map((p) => readColumn(r, p, roots, levels, g));
  const proofR = readTreeR(r, challenge, roots.rootR, levels, g.shape);
  if (r.offset - offset !== recordSize(g)) throw new Error('record size mismatch');
  return proofFromParts(proofD, cX, cols.slice(0, BASE_DEGREE), cols.slice(BASE_DEGREE), proofR);
}

/** Reads records `indexes` of a synthetic-proofs file held in `file`. */
export function decodeSynthProofs(
  file: Uint8Array,
  g: RecordGeometry,
  indexes: readonly number[],
): PorepChallengeProof[] {
  if (file.length < 3 * NODE) throw new RangeError('synthetic proofs file too short');
  const roots: RecordRoots = {
    rootD: file.slice(0, NODE),
    rootC: file.slice(NODE, 2 * NODE),
    rootR: file.slice(2 * NODE, 3 * NODE),
  };
  const size = recordSize(g);
  return indexes.map((i) => {
    const off = 3 * NODE + i * size;
    if (off + size > file.length) throw new RangeError(`synthetic proof ${i} is beyond the end of the file`);
    return decodeRecord(file, off, roots, g);
  });
}

/** Reads records `indexes` of a synthetic-proofs file by positional reads (the file can be gigabytes). */
export async function readSynthProofs(
  path: string,
  g: RecordGeometry,
  indexes: readonly number[],
): Promise<PorepChallengeProof[]> {
  const fh = await open(path, 'r');
  try {
    const size = recordSize(g);
    const head = await readExact(fh, 0, 3 * NODE, path);
    const roots: RecordRoots = {
      rootD: head.slice(0, NODE),
      rootC: head.slice(NODE, 2 * NODE),
      rootR: head.slice(2 * NODE),
    };
    const out: PorepChallengeProof[] = [];
    for (const i of indexes) out.push(decodeRecord(await readExact(fh, 3 * NODE + i * size, size, path), 0, roots, g));
    return out;
  } finally {
    await fh.close();
  }
}

/** Bytes of a TreeC/TreeR-last proof in record form: leaf ‖ every sibling (positions implied by the leaf index). */
export function treeRProofSize(g: RecordGeometry): number {
  return (1 + treeRLevels(g).reduce((a, arity) => a + arity - 1, 0)) * NODE;
}

/** Writes `p` (leaf and siblings) at `out[offset..]`; returns the offset after it. */
export function writeTreeRProof(out: Uint8Array, offset: number, p: InclusionProof, g: RecordGeometry): number {
  const size = treeRProofSize(g);
  const w = new Writer(out.subarray(offset, offset + size));
  writeTreeR(w, p);
  if (w.offset !== size) throw new Error('inclusion proof does not fit the tree geometry');
  return offset + size;
}

/** Reads a proof of leaf `c` written by `writeTreeRProof`, with the given root. */
export function readTreeRProof(
  buf: Uint8Array,
  offset: number,
  c: number,
  root: Uint8Array,
  g: RecordGeometry,
): InclusionProof {
  if (!Number.isSafeInteger(c) || c < 0 || c >= g.nodes) throw new RangeError(`leaf ${c} is outside the sector`);
  return readTreeR(new Reader(buf, offset), c, root, treeRLevels(g), g.shape);
}
