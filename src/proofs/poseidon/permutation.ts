/**
 * The Poseidon permutation in two forms that give identical output: the plain rounds (neptune
 * `HashMode::Correct`, the definition) and the pre-processed form (neptune's default
 * `OptimizedStatic`), which is what the native kernel implements too.
 */
import { type PoseidonConstants, poseidonConstants } from './constants.js';
import { FR_MODULUS, frPow5 } from './field.js';

const P = FR_MODULUS;

/**
 * Plain rounds: for each round add its t constants to every lane, apply x^5 to every lane (full round) or to
 * lane 0 only (partial round), then multiply by the MDS matrix. RF/2 full, RP partial, RF/2 full.
 * Permutes `state` in place.
 */
export function plainPermute(state: bigint[], c: PoseidonConstants): void {
  const { t, fullRounds, partialRounds, roundConstants: rc, mds } = c;
  if (state.length !== t) throw new RangeError(`Poseidon: state must have ${t} elements`);
  const half = fullRounds / 2;
  const rounds = fullRounds + partialRounds;
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < t; i++) state[i] = (state[i]! + rc[r * t + i]!) % P;
    if (r < half || r >= half + partialRounds) {
      for (let i = 0; i < t; i++) state[i] = frPow5(state[i]!);
    } else {
      state[0] = frPow5(state[0]!);
    }
    const next = new Array<bigint>(t);
    for (let i = 0; i < t; i++) {
      const row = mds[i]!;
      let acc = 0n;
      for (let j = 0; j < t; j++) acc += row[j]! * state[j]!;
      next[i] = acc % P;
    }
    for (let i = 0; i < t; i++) state[i] = next[i]!;
  }
}

function denseMul(state: bigint[], m: bigint[][], t: number): void {
  const next = new Array<bigint>(t);
  for (let i = 0; i < t; i++) {
    const row = m[i]!;
    let acc = 0n;
    for (let j = 0; j < t; j++) acc += row[j]! * state[j]!;
    next[i] = acc % P;
  }
  for (let i = 0; i < t; i++) state[i] = next[i]!;
}

/**
 * Pre-processed form (see constants.ts `preprocess`): constants are added after the S-boxes, a partial round
 * adds one constant to lane 0 and multiplies by a sparse matrix. Permutes `state` in place.
 */
export function optimizedPermute(state: bigint[], c: PoseidonConstants): void {
  const { t, fullRounds, partialRounds, compressedRoundConstants: k, mds, preSparse, sparse } = c;
  if (state.length !== t) throw new RangeError(`Poseidon: state must have ${t} elements`);
  const half = fullRounds / 2;
  let off = 0;
  for (let i = 0; i < t; i++) state[i] = (state[i]! + k[off++]!) % P;
  for (let r = 0; r < half; r++) {
    for (let i = 0; i < t; i++) state[i] = (frPow5(state[i]!) + k[off++]!) % P;
    denseMul(state, r === half - 1 ? preSparse : mds, t);
  }
  for (let p = 0; p < partialRounds; p++) {
    const x0 = (frPow5(state[0]!) + k[off++]!) % P;
    const { row, col } = sparse[p]!;
    let acc = row[0]! * x0;
    for (let j = 1; j < t; j++) acc += row[j]! * state[j]!;
    state[0] = acc % P;
    for (let i = 1; i < t; i++) state[i] = (state[i]! + col[i - 1]! * x0) % P;
  }
  for (let r = 0; r < half; r++) {
    const last = r === half - 1;
    for (let i = 0; i < t; i++) {
      const s = frPow5(state[i]!);
      state[i] = last ? s : (s + k[off++]!) % P;
    }
    denseMul(state, mds, t);
  }
  if (off !== k.length) throw new Error('Poseidon: compressed constants not all consumed');
}

function initialState(inputs: readonly bigint[], c: PoseidonConstants): bigint[] {
  if (inputs.length !== c.arity) throw new RangeError(`Poseidon: need ${c.arity} inputs, got ${inputs.length}`);
  for (const x of inputs) if (x < 0n || x >= P) throw new RangeError('Poseidon: input is not a field element');
  return [c.domainTag, ...inputs];
}

/**
 * neptune `Poseidon::new_with_preimage(inputs, PoseidonConstants::<_, Arity>::new()).hash()`:
 * the arity is the input count, state = [2^arity − 1, inputs…], output = state[1] after the permutation.
 */
export function poseidonHash(inputs: readonly bigint[]): bigint {
  const c = poseidonConstants(inputs.length);
  const s = initialState(inputs, c);
  optimizedPermute(s, c);
  return s[1]!;
}

/** The same hash through the plain rounds (reference; several times slower). */
export function poseidonHashPlain(inputs: readonly bigint[]): bigint {
  const c = poseidonConstants(inputs.length);
  const s = initialState(inputs, c);
  plainPermute(s, c);
  return s[1]!;
}
