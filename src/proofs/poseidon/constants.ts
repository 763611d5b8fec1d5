/**
 * Poseidon parameters exactly as neptune derives them for Filecoin (Strength::Standard, HashType::MerkleTree):
 * width t = arity + 1, x^5 S-box, 8 full rounds, partial rounds from the Poseidon paper's security bounds,
 * round constants from the Grain LFSR of the reference `create_rcs_grain.sage`, and the Cauchy MDS matrix
 * M[i][j] = 1/(i + t + j).
 *
 * Besides the plain parameters we derive the pre-processed ones for the fast form of the permutation:
 * round constants moved behind the S-boxes ("compressed": RF·t + RP of them instead of (RF+RP)·t) and the
 * partial-round MDS multiplications factored into sparse matrices (first row and column dense, identity
 * elsewhere), so a partial round costs about 2t multiplications instead of t². See `optimizedPermute`.
 */
import { FR_MODULUS, frAdd, frInv, frMul } from './field.js';

/** Arities (inputs per hash) with parameters; Filecoin uses 2, 8 and 11 for sealing, 4 in test shapes. */
export const POSEIDON_ARITIES = [2, 4, 8, 11, 16, 24, 36] as const;

export const FULL_ROUNDS = 8;

/**
 * Partial rounds per width t for 255-bit fields and 128-bit security, with neptune's security margin
 * (RF + 2, RP · 1.075 rounded up). Values are neptune's `calc_round_numbers(t, true)`, checked there against
 * the Poseidon reference script (`test_round_numbers_against_known_values`).
 */
const PARTIAL_ROUNDS: Record<number, number> = { 3: 55, 5: 56, 9: 57, 12: 57, 17: 59, 25: 59, 37: 60 };

export type Matrix = bigint[][];

export interface PoseidonConstants {
  arity: number;
  /** Width: arity + 1 (lane 0 carries the domain tag). */
  t: number;
  fullRounds: number;
  partialRounds: number;
  /** MerkleTree domain tag 2^arity − 1: state[0] before the permutation. */
  domainTag: bigint;
  /** (RF + RP) · t round constants; round r adds rc[r·t .. r·t + t]. */
  roundConstants: bigint[];
  /** Symmetric Cauchy MDS matrix. */
  mds: Matrix;
  /** RF·t + RP constants for the optimised form, in the order it consumes them. */
  compressedRoundConstants: bigint[];
  /** Dense matrix used in place of the MDS in the last full round before the partial rounds. */
  preSparse: Matrix;
  /** One per partial round: row 0 of the sparse matrix (t entries) and column 0 below the diagonal (t − 1). */
  sparse: { row: bigint[]; col: bigint[] }[];
}

/** Round counts for an arity; throws for an arity neptune has no parameters for here. */
export function roundNumbers(arity: number): { fullRounds: number; partialRounds: number } {
  const rp = PARTIAL_ROUNDS[arity + 1];
  if (rp === undefined)
    throw new RangeError(`Poseidon: unsupported arity ${arity} (have ${POSEIDON_ARITIES.join(', ')})`);
  return { fullRounds: FULL_ROUNDS, partialRounds: rp };
}

/**
 * Grain LFSR in self-shrinking mode, seeded as in the Poseidon paper §F / neptune `generate_constants`:
 * 80 bits = field (2 bits, 1 = prime field), S-box (4 bits; neptune writes 1), field size in bits (12),
 * t (12), RF (10), RP (10), then thirty 1 bits, all MSB first; the first 160 output bits are dropped.
 */
class Grain {
  // The whole bit sequence b_0, b_1, … (a few hundred thousand bits per parameter set): no ring-buffer arithmetic.
  private b: Uint8Array = new Uint8Array(1 << 16);
  private n = 0; // bits generated so far

  constructor(fields: [value: number, bits: number][]) {
    for (const [value, bits] of fields) {
      for (let k = bits - 1; k >= 0; k--) this.b[this.n++] = (value >>> k) & 1;
    }
    if (this.n !== 80) throw new Error('Grain: seed must be 80 bits');
    for (let k = 0; k < 160; k++) this.step();
  }

  /** b_{i+80} = b_{i+62} ⊕ b_{i+51} ⊕ b_{i+38} ⊕ b_{i+23} ⊕ b_{i+13} ⊕ b_i */
  private step(): number {
    if (this.n === this.b.length) {
      const grown = new Uint8Array(this.b.length * 2);
      grown.set(this.b);
      this.b = grown;
    }
    const b = this.b;
    const i = this.n - 80;
    const bit = b[i + 62]! ^ b[i + 51]! ^ b[i + 38]! ^ b[i + 23]! ^ b[i + 13]! ^ b[i]!;
    b[this.n++] = bit;
    return bit;
  }

  /** Self-shrinking: draw pairs (a, b); output b when a is 1. */
  nextBit(): number {
    for (;;) {
      const a = this.step();
      const b = this.step();
      if (a === 1) return b;
    }
  }

  /** `bits` output bits, first bit most significant. */
  nextInt(bits: number): bigint {
    let hex = '';
    let nibble = 0;
    let have = (4 - (bits % 4)) % 4; // left-pad to whole hex digits
    for (let i = 0; i < bits; i++) {
      nibble = (nibble << 1) | this.nextBit();
      if (++have === 4) {
        hex += nibble.toString(16);
        nibble = 0;
        have = 0;
      }
    }
    return BigInt(`0x${hex}`);
  }
}

const FIELD_BITS = 255;

/** neptune's round constants for width t: (RF + RP)·t field elements, rejection-sampled below p. */
export function grainRoundConstants(t: number, fullRounds: number, partialRounds: number): bigint[] {
  const g = new Grain([
    [1, 2],
    [1, 4],
    [FIELD_BITS, 12],
    [t, 12],
    [fullRounds, 10],
    [partialRounds, 10],
    [0x3fffffff, 30],
  ]);
  const out: bigint[] = [];
  const n = (fullRounds + partialRounds) * t;
  while (out.length < n) {
    const v = g.nextInt(FIELD_BITS);
    if (v < FR_MODULUS) out.push(v);
  }
  return out;
}

/** Cauchy matrix M[i][j] = 1/(x_i + y_j) with x_i = i and y_j = t + j; symmetric and MDS. */
export function cauchyMds(t: number): Matrix {
  const m: Matrix = [];
  for (let i = 0; i < t; i++) {
    const row: bigint[] = [];
    for (let j = 0; j < t; j++) row.push(frInv(BigInt(i + t + j)));
    m.push(row);
  }
  return m;
}

// --- small dense linear algebra over Fr (matrix–vector products are M·v: out[i] = Σ_j M[i][j]·v[j]) ---

export function matVec(m: Matrix, v: readonly bigint[]): bigint[] {
  return m.map((row) => {
    let acc = 0n;
    for (let j = 0; j < row.length; j++) acc += row[j]! * v[j]!;
    return acc % FR_MODULUS;
  });
}

/** Row vector times matrix: out[j] = Σ_i v[i]·M[i][j]. */
function vecMat(v: readonly bigint[], m: Matrix): bigint[] {
  const n = m[0]!.length;
  const out: bigint[] = [];
  for (let j = 0; j < n; j++) {
    let acc = 0n;
    for (let i = 0; i < v.length; i++) acc += v[i]! * m[i]![j]!;
    out.push(acc % FR_MODULUS);
  }
  return out;
}

export function matMul(a: Matrix, b: Matrix): Matrix {
  const n = b[0]!.length;
  return a.map((row) => {
    const out: bigint[] = [];
    for (let j = 0; j < n; j++) {
      let acc = 0n;
      for (let k = 0; k < row.length; k++) acc += row[k]! * b[k]![j]!;
      out.push(acc % FR_MODULUS);
    }
    return out;
  });
}

/** Gauss–Jordan inverse; throws when singular. */
export function matInvert(m: Matrix): Matrix {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1n : 0n))]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    while (piv < n && a[piv]![col] === 0n) piv++;
    if (piv === n) throw new Error('matrix is singular');
    [a[col], a[piv]] = [a[piv]!, a[col]!];
    const inv = frInv(a[col]![col]!);
    a[col] = a[col]!.map((x) => frMul(x, inv));
    for (let r = 0; r < n; r++) {
      if (r === col || a[r]![col] === 0n) continue;
      const f = a[r]![col]!;
      a[r] = a[r]!.map((x, k) => (((x - f * a[col]![k]!) % FR_MODULUS) + FR_MODULUS) % FR_MODULUS);
    }
  }
  return a.map((row) => row.slice(n));
}

/**
 * Pre-processing for the optimised permutation (derived here from the plain rounds; neptune's
 * `compress_round_constants` and `factor_to_sparse_matrixes` perform the same algebra).
 *
 * Constants: adding c after a linear layer M equals adding M⁻¹c before it, i.e. right after the S-boxes of
 * the previous round. In a partial round only lane 0 goes through the S-box, so the other lanes of a
 * constant keep moving back, round by round, until a full round absorbs them; each partial round keeps a
 * single scalar for lane 0.
 *
 * Matrices: write the last partial round's matrix N = S·P where P = diag(1, N̂) (N̂ = N without row/column 0)
 * and S has an identity minor. P does not touch lane 0, so it commutes with that round's S-box and lane-0
 * constant and moves into the previous round's matrix: N ← P·M. Repeating down to the first partial round
 * leaves a sparse S per partial round and one dense matrix for the last full round before them.
 */
function preprocess(t: number, rf: number, rp: number, rc: bigint[], mds: Matrix) {
  const half = rf / 2;
  const mInv = matInvert(mds);
  const roundKeys = (r: number) => rc.slice(r * t, (r + 1) * t);

  const compressed: bigint[] = [...roundKeys(0)];
  // First half: constants of round r+1 added after round r's S-boxes (the last one comes from the partials).
  for (let r = 0; r < half - 1; r++) compressed.push(...matVec(mInv, roundKeys(r + 1)));
  // Partial rounds, walking backwards from the first round of the second half.
  let acc = roundKeys(half + rp);
  const partialKeys: bigint[] = new Array(rp);
  for (let p = rp - 1; p >= 0; p--) {
    const u = matVec(mInv, acc);
    partialKeys[p] = u[0]!;
    const prev = roundKeys(half + p);
    acc = prev.map((c, i) => (i === 0 ? c : frAdd(c, u[i]!)));
  }
  compressed.push(...matVec(mInv, acc));
  compressed.push(...partialKeys);
  // Second half: every round but the last adds the next round's constants after its S-boxes.
  for (let r = half + rp; r < rf + rp - 1; r++) compressed.push(...matVec(mInv, roundKeys(r + 1)));

  const sparse: { row: bigint[]; col: bigint[] }[] = new Array(rp);
  const minor = (m: Matrix) => m.slice(1).map((row) => row.slice(1));
  const mHatInv = matInvert(minor(mds));
  let n = mds;
  // N̂ of the next matrix is N̂·M̂, so its inverse is M̂⁻¹·N̂⁻¹: one product per round instead of an inversion.
  let nHatInv = mHatInv;
  for (let p = rp - 1; p >= 0; p--) {
    const nHat = minor(n);
    const row0 = [n[0]![0]!, ...vecMat(n[0]!.slice(1), nHatInv)];
    const col0 = n.slice(1).map((row) => row[0]!);
    sparse[p] = { row: row0, col: col0 };
    // P = diag(1, N̂); the previous round's matrix becomes P·M.
    const pMat: Matrix = Array.from({ length: t }, (_, i) =>
      Array.from({ length: t }, (_, j) => (i === 0 || j === 0 ? (i === j ? 1n : 0n) : nHat[i - 1]![j - 1]!)),
    );
    n = matMul(pMat, mds);
    nHatInv = matMul(mHatInv, nHatInv);
  }
  return { compressed, preSparse: n, sparse };
}

const cache = new Map<number, PoseidonConstants>();

/** Parameters for `arity` inputs (computed once per process, ~tens of ms for the larger widths). */
export function poseidonConstants(arity: number): PoseidonConstants {
  const hit = cache.get(arity);
  if (hit) return hit;
  const { fullRounds, partialRounds } = roundNumbers(arity);
  const t = arity + 1;
  const roundConstants = grainRoundConstants(t, fullRounds, partialRounds);
  const mds = cauchyMds(t);
  const { compressed, preSparse, sparse } = preprocess(t, fullRounds, partialRounds, roundConstants, mds);
  if (compressed.length !== fullRounds * t + partialRounds) throw new Error('Poseidon: bad compressed constants');
  const c: PoseidonConstants = {
    arity,
    t,
    fullRounds,
    partialRounds,
    domainTag: (1n << BigInt(arity)) - 1n,
    roundConstants,
    mds,
    compressedRoundConstants: compressed,
    preSparse,
    sparse,
  };
  cache.set(arity, c);
  return c;
}
