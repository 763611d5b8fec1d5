/**
 * The update's randomness, as rust-fil-proofs' `storage-proofs-update/src/{vanilla,challenges}.rs` derive it,
 * all from Poseidon-2 with neptune's custom domain tag `HashType::Custom(CType::Arbitrary(1))`
 * (`constants.rs` `POSEIDON_CONSTANTS_GEN_RANDOMNESS`): the same permutation and constants as the Merkle
 * arity-2 hash, but state[0] = 1 · 2^40 instead of 3 (neptune `hash_type.rs`).
 *
 *   phi        = H(comm_d_new, comm_r_old)
 *   rho(high)  = H(phi, high)              high = the `h` high bits of a node index
 *   digest(j)  = H(comm_r_new, j)          j counts digests across all partitions
 *
 * Each challenge takes `log2(nodes) − log2(partitions)` bits of a digest, least-significant first, with the
 * partition index k appended above them, so every challenge of partition k lies in the k-th slice of nodes.
 */
import { type PoseidonConstants, poseidonConstants } from '../poseidon/constants.js';
import { FR_MODULUS, frFromBytes, frInv, frToBytes } from '../poseidon/field.js';
import { optimizedPermute } from '../poseidon/permutation.js';
import { type UpdateParams, updateParams } from './constants.js';

/** neptune `CType::Arbitrary(1).domain_tag()` = 1 · 2^40. */
export const GEN_RANDOMNESS_DOMAIN_TAG = 1n << 40n;

/** blstrs `Scalar::CAPACITY`: bits of an element that are always free (254). */
const FR_CAPACITY = 254;

let constants: PoseidonConstants | undefined;
function genRandomnessConstants(): PoseidonConstants {
  constants ??= { ...poseidonConstants(2), domainTag: GEN_RANDOMNESS_DOMAIN_TAG };
  return constants;
}

/** Poseidon-2 with the gen-randomness tag over two field elements. */
export function genRandomnessHash(a: bigint, b: bigint): bigint {
  if (a < 0n || a >= FR_MODULUS || b < 0n || b >= FR_MODULUS) throw new RangeError('not a field element');
  const c = genRandomnessConstants();
  const s = [c.domainTag, a, b];
  optimizedPermute(s, c);
  return s[1]!;
}

/** rust `phi(comm_d_new, comm_r_old)`; both 32-byte LE field elements. Throws when one is not canonical. */
export function updatePhi(commDNew: Uint8Array, commROld: Uint8Array): Uint8Array {
  return frToBytes(genRandomnessHash(frFromBytes(commDNew), frFromBytes(commROld)));
}

/** rust `rho(phi, high)` as a field element. */
export function updateRho(phi: Uint8Array, high: number): bigint {
  if (!Number.isInteger(high) || high < 0 || high > 0xffffffff) throw new RangeError(`bad rho index ${high}`);
  return genRandomnessHash(frFromBytes(phi), BigInt(high));
}

/**
 * rust `Rhos`: rho for each `high` (2^h of them), computed when first needed (a range touches few), and
 * their inverses for decoding. `get(node)` picks by the node's h high bits.
 */
export class Rhos {
  readonly shift: number;
  private readonly phi: bigint;
  private readonly values: (bigint | undefined)[];
  private readonly inverses: (bigint | undefined)[];

  constructor(phi: Uint8Array, h: number, nodes: number) {
    const bits = Math.round(Math.log2(nodes));
    if (2 ** bits !== nodes || h < 0 || h > bits) throw new RangeError(`h=${h} does not fit ${nodes} nodes`);
    this.shift = bits - h;
    this.phi = frFromBytes(phi);
    this.values = new Array(2 ** h);
    this.inverses = new Array(2 ** h);
  }

  /** The high bits of a node index (rust `c >> get_high_bits_shr`). */
  high(node: number): number {
    return Math.floor(node / 2 ** this.shift);
  }

  get(node: number): bigint {
    const high = this.high(node);
    let v = this.values[high];
    if (v === undefined) {
      if (high >= this.values.length) throw new RangeError(`node ${node} is outside the sector`);
      v = genRandomnessHash(this.phi, BigInt(high));
      this.values[high] = v;
    }
    return v;
  }

  getInverse(node: number): bigint {
    const high = this.high(node);
    let v = this.inverses[high];
    if (v === undefined) {
      v = frInv(this.get(node));
      this.inverses[high] = v;
    }
    return v;
  }
}

/** The bits of an element, least-significant first (ff `to_le_bits`). */
function leBits(x: bigint): Uint8Array {
  const out = new Uint8Array(255);
  for (let i = 0; i < 255; i++) out[i] = Number((x >> BigInt(i)) & 1n);
  return out;
}

/** rust `Challenges::new(sector_nodes, comm_r_new, k)`: the challenged nodes of partition `k`. */
export function updateChallenges(p: UpdateParams | number, commRNew: Uint8Array, k: number): number[] {
  const params = typeof p === 'number' ? updateParams(p) : p;
  if (!Number.isInteger(k) || k < 0 || k >= params.partitions)
    throw new RangeError(`partition ${k} is outside 0..${params.partitions - 1}`);
  const randomBits = params.challengeBitLen - params.partitionBitLen;
  const perDigest = Math.floor(FR_CAPACITY / randomBits);
  const digestsPerPartition = Math.ceil(params.challengesPerPartition / perDigest);
  const partitionBits = k * 2 ** randomBits;
  const commR = frFromBytes(commRNew);
  let digestIndex = k * digestsPerPartition;
  const out: number[] = [];
  let bits: Uint8Array = new Uint8Array(0);
  let i = 0;
  while (out.length < params.challengesPerPartition) {
    if (i === 0) bits = leBits(genRandomnessHash(commR, BigInt(digestIndex)));
    let c = 0;
    for (let b = 0; b < randomBits; b++) if (bits[i * randomBits + b]) c += 2 ** b;
    out.push(c + partitionBits);
    i++;
    if (i === perDigest) {
      i = 0;
      digestIndex++;
    }
  }
  return out;
}
