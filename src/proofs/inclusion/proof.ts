/**
 * Merkle inclusion proofs in rust-fil-proofs' shape (storage-proofs-core `merkle/proof.rs`), for TreeD
 * (binary SHA-256), TreeC and TreeR-last (Poseidon arity 8, with optional sub and top trees).
 *
 * A proof is the leaf, the root, and a path of elements `{hashes: arity−1 siblings, index}` from the leaf
 * up: the base-tree path, then one element in the sub tree (over the base-tree roots) and one in the top
 * tree (over the sub-tree roots) when the shape has them — rust's `ProofData::{Single, Sub, Top}`.
 *
 * Verification recomputes the root bottom-up (insert the running hash at `index` among the siblings and
 * hash the group with the arity of that level), and checks that the path spells the challenged leaf index:
 * `base index + sub.index · baseLeaves + top.index · baseLeaves · sub` (rust `path_index`).
 */

import { bytesEqual } from '../../fil/index.js';
import { poseidonHashBytes } from '../poseidon/index.js';
import type { TreeShape } from '../registry.js';
import { hashNodes } from '../sha256.js';

export const NODE = 32;

/** One level of a path: the siblings in child order without the path node, and the path node's position. */
export interface PathElement {
  hashes: Uint8Array[];
  index: number;
}

/** rust `MerkleProof<H, Base, Sub, Top>`. */
export interface InclusionProof {
  leaf: Uint8Array;
  root: Uint8Array;
  /** Base-tree path, leaf level first. */
  base: PathElement[];
  /** Present exactly when the tree has a sub arity. */
  sub?: PathElement;
  /** Present exactly when the tree has a top arity. */
  top?: PathElement;
}

/** Which node hash a tree uses. */
export type TreeHash = 'sha256' | 'poseidon';

/** TreeD's shape: one binary tree. */
export const BINARY_SHAPE: TreeShape = Object.freeze({ base: 2, sub: 0, top: 0 });

/** Hashes a group of `arity` 32-byte nodes with the tree's hash (Poseidon picks its arity from the group). */
export function hashGroup(hash: TreeHash, nodes: readonly Uint8Array[]): Uint8Array {
  if (hash === 'sha256') {
    if (nodes.length !== 2) throw new RangeError('the SHA-256 tree is binary');
    return hashNodes(nodes[0], nodes[1]);
  }
  const buf = new Uint8Array(nodes.length * NODE);
  nodes.forEach((n, i) => {
    buf.set(n, i * NODE);
  });
  return poseidonHashBytes(nodes.length, buf);
}

/** Levels of the base path for `leaves` leaves over the whole compound tree. */
export function basePathLength(leaves: number, shape: TreeShape): number {
  const count = shape.sub === 0 ? 1 : shape.top === 0 ? shape.sub : shape.sub * shape.top;
  const baseLeaves = leaves / count;
  const h = Math.round(Math.log(baseLeaves) / Math.log(shape.base));
  if (!Number.isInteger(baseLeaves) || shape.base ** h !== baseLeaves) {
    throw new RangeError(`${leaves} leaves do not fit a ${shape.base}-${shape.sub}-${shape.top} tree`);
  }
  return h;
}

/** Every path element, leaf level first (rust `path()`). */
export function pathElements(p: InclusionProof): PathElement[] {
  const out = [...p.base];
  if (p.sub) out.push(p.sub);
  if (p.top) out.push(p.top);
  return out;
}

/** The leaf index the path spells (rust `path_index`). */
export function pathIndex(p: InclusionProof, shape: TreeShape): number {
  let base = 0;
  for (let i = p.base.length - 1; i >= 0; i--) base = base * shape.base + p.base[i].index;
  const baseLeaves = shape.base ** p.base.length;
  let idx = base;
  if (p.sub) idx += p.sub.index * baseLeaves;
  if (p.top) idx += p.top.index * baseLeaves * shape.sub;
  return idx;
}

function elementRoot(hash: TreeHash, node: Uint8Array, el: PathElement, arity: number): Uint8Array | null {
  if (el.hashes.length !== arity - 1 || !Number.isInteger(el.index) || el.index < 0 || el.index >= arity) return null;
  const group = [...el.hashes];
  group.splice(el.index, 0, node);
  return hashGroup(hash, group);
}

/** The root the path computes from the leaf, or null when an element has the wrong arity or index. */
export function computeRoot(p: InclusionProof, hash: TreeHash, shape: TreeShape): Uint8Array | null {
  let node: Uint8Array | null = p.leaf;
  for (const el of p.base) {
    node = elementRoot(hash, node, el, shape.base);
    if (!node) return null;
  }
  if (shape.sub > 0) {
    if (!p.sub) return null;
    node = elementRoot(hash, node, p.sub, shape.sub);
    if (!node) return null;
  } else if (p.sub) return null;
  if (shape.top > 0) {
    if (!p.top) return null;
    node = elementRoot(hash, node, p.top, shape.top);
    if (!node) return null;
  } else if (p.top) return null;
  return node;
}

export interface VerifyInclusionOptions {
  hash: TreeHash;
  shape: TreeShape;
  /** Total leaves of the (compound) tree: fixes the path length. */
  leaves: number;
  /** The leaf index the proof must open (rust `proves_challenge`). */
  challenge?: number;
  /** The root the proof must end in (a commitment). */
  root?: Uint8Array;
  /** The leaf value the proof must open (rust `validate_data`). */
  leaf?: Uint8Array;
}

/**
 * rust `verify()` plus the checks callers add: the recomputed root equals `proof.root`, the path has the
 * tree's length, and (when given) the challenge, root and leaf match.
 */
export function verifyInclusion(p: InclusionProof, o: VerifyInclusionOptions): boolean {
  if (p.leaf.length !== NODE || p.root.length !== NODE) return false;
  if (p.base.length !== basePathLength(o.leaves, o.shape)) return false;
  let root: Uint8Array | null;
  try {
    root = computeRoot(p, o.hash, o.shape);
  } catch {
    return false; // a node that is not a field element (Poseidon trees)
  }
  if (!root || !bytesEqual(root, p.root)) return false;
  if (o.challenge !== undefined && pathIndex(p, o.shape) !== o.challenge) return false;
  if (o.root && !bytesEqual(o.root, p.root)) return false;
  if (o.leaf && !bytesEqual(o.leaf, p.leaf)) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------------------
// serde JSON (the shape serde_json gives rust's MerkleProof)

/** A 32-byte domain value as serde writes `[u8; 32]`: an array of 32 numbers. */
export type DomainJson = number[];

export function domainToJson(b: Uint8Array): DomainJson {
  if (b.length !== NODE) throw new RangeError(`a domain value is 32 bytes, got ${b.length}`);
  return Array.from(b);
}

/** Reads `[u8; 32]` JSON; `what` names the field in errors. */
export function domainFromJson(v: unknown, what: string): Uint8Array {
  if (!Array.isArray(v) || v.length !== NODE) throw new TypeError(`${what}: expected an array of 32 bytes`);
  const out = new Uint8Array(NODE);
  for (let i = 0; i < NODE; i++) {
    const x = v[i];
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 255) {
      throw new TypeError(`${what}[${i}]: expected a byte, got ${JSON.stringify(x)}`);
    }
    out[i] = x;
  }
  return out;
}

export function objectField(o: unknown, key: string, what: string): unknown {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new TypeError(`${what}: expected an object`);
  if (!(key in o)) throw new TypeError(`${what}: missing field "${key}"`);
  return (o as Record<string, unknown>)[key];
}

export function uintFromJson(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new TypeError(`${what}: expected an unsigned integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function arrayFromJson(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new TypeError(`${what}: expected an array`);
  return v;
}

interface PathJson {
  path: { hashes: DomainJson[]; index: number }[];
}

function pathToJson(els: PathElement[]): PathJson {
  return { path: els.map((e) => ({ hashes: e.hashes.map(domainToJson), index: e.index })) };
}

function pathFromJson(v: unknown, what: string): PathElement[] {
  const els = arrayFromJson(objectField(v, 'path', what), `${what}.path`);
  return els.map((e, i) => {
    const w = `${what}.path[${i}]`;
    const hashes = arrayFromJson(objectField(e, 'hashes', w), `${w}.hashes`).map((h, j) =>
      domainFromJson(h, `${w}.hashes[${j}]`),
    );
    return { hashes, index: uintFromJson(objectField(e, 'index', w), `${w}.index`) };
  });
}

/** `{"data": {"Single" | "Sub" | "Top": {...}}}` with serde's field order. */
export function inclusionToJson(p: InclusionProof): unknown {
  if (p.top) {
    if (!p.sub) throw new Error('a top proof needs a sub element');
    return {
      data: {
        Top: {
          base_proof: pathToJson(p.base),
          sub_proof: pathToJson([p.sub]),
          top_proof: pathToJson([p.top]),
          root: domainToJson(p.root),
          leaf: domainToJson(p.leaf),
        },
      },
    };
  }
  if (p.sub) {
    return {
      data: {
        Sub: {
          base_proof: pathToJson(p.base),
          sub_proof: pathToJson([p.sub]),
          root: domainToJson(p.root),
          leaf: domainToJson(p.leaf),
        },
      },
    };
  }
  return { data: { Single: { root: domainToJson(p.root), leaf: domainToJson(p.leaf), path: pathToJson(p.base) } } };
}

function single(els: PathElement[], what: string): PathElement {
  if (els.length !== 1) throw new TypeError(`${what}: expected exactly one path element, got ${els.length}`);
  return els[0];
}

/** Reads a MerkleProof's serde JSON; the variant must match the tree shape. */
export function inclusionFromJson(v: unknown, shape: TreeShape, what = 'proof'): InclusionProof {
  const data = objectField(v, 'data', what);
  const want = shape.top > 0 ? 'Top' : shape.sub > 0 ? 'Sub' : 'Single';
  if (typeof data !== 'object' || data === null || Array.isArray(data))
    throw new TypeError(`${what}.data: expected an object`);
  const keys = Object.keys(data);
  if (keys.length !== 1 || keys[0] !== want) {
    throw new TypeError(
      `${what}.data: expected the ${want} variant for a ${shape.base}-${shape.sub}-${shape.top} tree, got ${keys.join(', ')}`,
    );
  }
  const body = (data as Record<string, unknown>)[want];
  const w = `${what}.data.${want}`;
  const root = domainFromJson(objectField(body, 'root', w), `${w}.root`);
  const leaf = domainFromJson(objectField(body, 'leaf', w), `${w}.leaf`);
  if (want === 'Single') return { leaf, root, base: pathFromJson(objectField(body, 'path', w), `${w}.path`) };
  const base = pathFromJson(objectField(body, 'base_proof', w), `${w}.base_proof`);
  const sub = single(pathFromJson(objectField(body, 'sub_proof', w), `${w}.sub_proof`), `${w}.sub_proof`);
  if (want === 'Sub') return { leaf, root, base, sub };
  const top = single(pathFromJson(objectField(body, 'top_proof', w), `${w}.top_proof`), `${w}.top_proof`);
  return { leaf, root, base, sub, top };
}
