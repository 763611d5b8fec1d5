/**
 * The SDR graph of rust-fil-proofs: a DRG (`BucketGraph`, base degree 6) plus a Feistel expander
 * (degree 8), `StackedGraph::parents` = [drg0..drg5, exp0..exp7].
 *
 * - DRG parents of node v index the *current* layer; expander parents index the *previous* one.
 * - Seeds come from the porep_id: drg_seed = SHA256("Filecoin_DRSample" ‖ porep_id)[0..28],
 *   Feistel keys = 4 LE u64 of SHA256("Filecoin_Feistel" ‖ porep_id).
 * - API 1.0 (proof ids 0–4) puts the predecessor in DRG slot 5 and truncates the Feistel output to u32
 *   before dividing by 8; 1.1 and later put the predecessor in slot 0 and divide the full u64.
 *
 * Parent generation runs natively (native/src/sdr.c) when the addon is built, else in TypeScript; the two
 * give the same numbers (graph.test.ts).
 */
import { createHash } from 'node:crypto';
import { type PoRepConfig, sealProof } from '../registry.js';
import { chacha8Block } from './chacha8.js';
import { type ApiVersion, BASE_DEGREE, DEGREE, EXP_DEGREE } from './constants.js';
import { FeistelCipher, feistelPrecompute } from './feistel.js';
import { sdrNative } from './native.js';

export type SdrBackend = 'auto' | 'native' | 'ts';

/** SHA256(tag ‖ porep_id): `derive_porep_domain_seed`. */
export function derivePorepDomainSeed(tag: string, porepId: Uint8Array): Uint8Array {
  if (porepId.length !== 32) throw new RangeError('porep_id must be 32 bytes');
  return new Uint8Array(createHash('sha256').update(tag, 'ascii').update(porepId).digest());
}

/** The 28-byte DRG seed (`derive_drg_seed`). */
export function deriveDrgSeed(porepId: Uint8Array): Uint8Array {
  return derivePorepDomainSeed('Filecoin_DRSample', porepId).subarray(0, 28);
}

/** The four Feistel keys as 32 bytes (4 × u64 LE), exactly the SHA-256 output (`derive_feistel_keys`). */
export function deriveFeistelKeys(porepId: Uint8Array): Uint8Array {
  return derivePorepDomainSeed('Filecoin_Feistel', porepId);
}

/** The Feistel keys as bigints k0..k3. */
export function feistelKeysBigint(keys: Uint8Array): bigint[] {
  const dv = new DataView(keys.buffer, keys.byteOffset, 32);
  return [0, 1, 2, 3].map((i) => dv.getBigUint64(8 * i, true));
}

/** x mod m for the u64 (hi·2^32 + lo), exact for m < 2^37. */
function mod64(hi: number, lo: number, m: number): number {
  if (m <= 2 ** 21) return ((hi % m) * 4294967296 + lo) % m;
  let r = hi % m;
  r = (r * 65536) % m;
  r = (r * 65536) % m;
  return (r + lo) % m;
}

/** Bit length of a non-negative safe integer. */
function bitLength(x: number): number {
  return x < 4294967296 ? 32 - Math.clz32(x) : 64 - Math.clz32(Math.floor(x / 4294967296));
}

export class SdrGraph {
  readonly legacy: boolean;
  readonly drgSeed: Uint8Array;
  readonly feistelKeys: Uint8Array;
  private readonly feistel: FeistelCipher;
  private readonly seedWords = new Uint32Array(8);
  private readonly ks = new Uint32Array(32);

  /**
   * @param nodes sector size / 32 (2 ≤ nodes ≤ 2^32 − 1)
   * @param porepId 32 bytes
   */
  constructor(
    readonly nodes: number,
    readonly porepId: Uint8Array,
    readonly apiVersion: ApiVersion,
  ) {
    if (!Number.isSafeInteger(nodes) || nodes < 2 || nodes > 0xffffffff) {
      throw new RangeError(`graph size ${nodes} out of range`);
    }
    this.legacy = apiVersion === '1.0.0';
    this.drgSeed = deriveDrgSeed(porepId);
    this.feistelKeys = deriveFeistelKeys(porepId);
    this.feistel = new FeistelCipher(this.feistelKeys, feistelPrecompute(nodes * EXP_DEGREE));
    const dv = new DataView(this.drgSeed.buffer, this.drgSeed.byteOffset, 28);
    for (let i = 0; i < 7; i++) this.seedWords[i] = dv.getUint32(4 * i, true);
  }

  /** The graph of a registered seal proof (id 0–19 or name). */
  static forProof(proof: number | string): SdrGraph {
    return SdrGraph.forConfig(sealProof(proof));
  }

  /** The graph of any PoRep config (registered or a test config with an arbitrary porep_id). */
  static forConfig(cfg: Pick<PoRepConfig, 'nodes' | 'porepId' | 'apiVersion'>): SdrGraph {
    return new SdrGraph(cfg.nodes, cfg.porepId, cfg.apiVersion);
  }

  get sectorSize(): number {
    return this.nodes * 32;
  }

  /**
   * `StackedGraph::identifier()`; it names the parent cache file. Note the exact spacing rust's format
   * string produces: no comma after the expansion degree, a space before the closing brace.
   */
  identifier(): string {
    const base = `drgraph::BucketGraph{size: ${this.nodes}; degree: ${BASE_DEGREE}; hasher: poseidon_hasher}`;
    return `stacked_graph::StackedGraph{expansion_degree: ${EXP_DEGREE} base_graph: ${base} }`;
  }

  /** The 6 DRG parents of `node` into out[off..off+6] (BucketGraph::parents). */
  drgParents(node: number, out: Uint32Array, off = 0): void {
    if (node < 2) {
      out.fill(0, off, off + BASE_DEGREE);
      return;
    }
    const key = this.seedWords;
    key[7] = node;
    chacha8Block(key, 0, this.ks, 0);
    chacha8Block(key, 1, this.ks, 16);
    const ks = this.ks;
    const meta = node * 5;
    // ceil(log2(meta)) in integers: the bit length of meta − 1 (meta ≥ 10)
    const nBuckets = bitLength(meta - 1);
    const first = this.legacy ? 0 : 1;
    for (let k = 0; k < 5; k++) {
      const bucket = mod64(ks[4 * k + 1]!, ks[4 * k]!, nBuckets) + 1;
      const largest = Math.min(meta, 2 ** bucket);
      const smallest = Math.max(2, Math.floor(largest / 2));
      const dist = smallest + mod64(ks[4 * k + 3]!, ks[4 * k + 2]!, largest - smallest + 1);
      const parent = Math.floor((meta - dist) / 5);
      out[off + first + k] = parent === node ? node - 1 : parent;
    }
    out[off + (this.legacy ? 5 : 0)] = node - 1;
  }

  /** The 8 expander parents of `node` into out[off..off+8] (`StackedGraph::correspondent`). */
  expanderParents(node: number, out: Uint32Array, off = 0): void {
    for (let i = 0; i < EXP_DEGREE; i++) {
      const t = this.feistel.permute(node * EXP_DEGREE + i);
      out[off + i] = this.legacy ? (t % 4294967296) >>> 3 : Math.floor(t / 8);
    }
  }

  /** All 14 parents of `node`: [drg 6][exp 8]. */
  parents(node: number): Uint32Array {
    const out = new Uint32Array(DEGREE);
    this.parentsInto(node, out, 0);
    return out;
  }

  parentsInto(node: number, out: Uint32Array, off: number): void {
    this.checkNode(node);
    this.drgParents(node, out, off);
    this.expanderParents(node, out, off + BASE_DEGREE);
  }

  /**
   * Parents of nodes [start, start+count) into `out` (14 per node, the parent-cache layout).
   * `backend` 'auto' uses the native kernel when it is built.
   */
  fillParents(start: number, count: number, out: Uint32Array, backend: SdrBackend = 'auto'): void {
    if (start < 0 || count < 0 || start + count > this.nodes) throw new RangeError('node range outside the graph');
    if (out.length < count * DEGREE) throw new RangeError('parents output too small');
    const native = backend === 'ts' ? null : sdrNative();
    if (native) {
      native.sdrParents(this.drgSeed, this.feistelKeys, this.nodes, this.legacy, start, count, out);
      return;
    }
    if (backend === 'native') throw new Error('the native SDR kernel is not available');
    for (let i = 0; i < count; i++) {
      this.drgParents(start + i, out, i * DEGREE);
      this.expanderParents(start + i, out, i * DEGREE + BASE_DEGREE);
    }
  }

  private checkNode(node: number): void {
    if (!Number.isInteger(node) || node < 0 || node >= this.nodes) {
      throw new RangeError(`node ${node} outside the graph of ${this.nodes} nodes`);
    }
  }
}
