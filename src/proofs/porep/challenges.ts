/**
 * PoRep challenges (storage-proofs-porep `stacked/vanilla/challenges.rs`), per partition k:
 *
 * - interactive: c = (LE(SHA256(replica_id ‖ seed ‖ u32_le(j))) mod (nodes − 1)) + 1, j = k·cpp + i;
 * - non-interactive (v1.2 NI-PoRep): the same with SHA256("filecoin.io|PoRep|1|NonInteractive|1" ‖
 *   replica_id ‖ comm_r ‖ u32_le(j));
 * - synthetic (v1.2 SyntheticPoRep): min(nodes, 2^18) synthetic challenges, challenge i from bytes
 *   [32i, 32i+32) of ChaCha20(key = BLAKE2b-256 keyed "…Synthetic|1|Generation" over replica_id ‖ comm_r,
 *   nonce "synth-porep\0"); the PoRep challenges select synthetic ones by index
 *   u32_le(ChaCha20(BLAKE2b-256 keyed "…Synthetic|1|Selection" over replica_id ‖ seed) bytes [4j, 4j+4))
 *   mod num_synth.
 *
 * Challenges are never 0 (node 0 has no parents). The full 256-bit hash is reduced, no trunc254.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { blake2b } from '@noble/hashes/blake2.js';
import type { PoRepConfig } from '../registry.js';

function check32(what: string, b: Uint8Array): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) throw new RangeError(`${what} must be 32 bytes`);
}

function leBigint(b: Uint8Array): bigint {
  let x = 0n;
  for (let i = b.length - 1; i >= 0; i--) x = (x << 8n) | BigInt(b[i]);
  return x;
}

/** rust `bigint_to_challenge`: (x mod (nodes − 1)) + 1. */
function toChallenge(hash: Uint8Array, nodes: number): number {
  return Number(leBigint(hash) % BigInt(nodes - 1)) + 1;
}

function u32le(j: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(j >>> 0);
  return b;
}

/** Interactive PoRep challenges of partition `k` (rust `InteractiveChallenges::derive`). */
export function interactiveChallenges(
  nodes: number,
  replicaId: Uint8Array,
  seed: Uint8Array,
  challengesPerPartition: number,
  k: number,
): number[] {
  check32('replica_id', replicaId);
  check32('seed', seed);
  const out: number[] = [];
  for (let i = 0; i < challengesPerPartition; i++) {
    const j = challengesPerPartition * k + i;
    const h = createHash('sha256').update(replicaId).update(seed).update(u32le(j)).digest();
    out.push(toChallenge(h, nodes));
  }
  return out;
}

const NI_TAG = 'filecoin.io|PoRep|1|NonInteractive|1';

/** Non-interactive PoRep challenges of partition `k` (rust `NiChallenges::derive`). */
export function nonInteractiveChallenges(
  nodes: number,
  replicaId: Uint8Array,
  commR: Uint8Array,
  challengesPerPartition: number,
  k: number,
): number[] {
  check32('replica_id', replicaId);
  check32('comm_r', commR);
  const out: number[] = [];
  for (let i = 0; i < challengesPerPartition; i++) {
    const j = challengesPerPartition * k + i;
    const h = createHash('sha256').update(NI_TAG, 'ascii').update(replicaId).update(commR).update(u32le(j)).digest();
    out.push(toChallenge(h, nodes));
  }
  return out;
}

const SYNTH_NONCE = Buffer.from('synth-porep\0', 'ascii');
const GEN_KEY = new TextEncoder().encode('filecoin.io|PoRep|1|Synthetic|1|Generation');
const SEL_KEY = new TextEncoder().encode('filecoin.io|PoRep|1|Synthetic|1|Selection');

/** Bytes [offset, offset+len) of the IETF ChaCha20 keystream (counter from 0, 12-byte nonce). */
function chacha20Keystream(key: Uint8Array, offset: number, len: number): Uint8Array {
  const block = Math.floor(offset / 64);
  if (block > 0xffffffff) throw new RangeError('ChaCha20 keystream offset too large');
  const iv = Buffer.alloc(16);
  iv.writeUInt32LE(block, 0); // OpenSSL's chacha20 IV = 32-bit LE block counter ‖ 96-bit nonce
  SYNTH_NONCE.copy(iv, 4);
  const skip = offset - block * 64;
  const c = createCipheriv('chacha20', key, iv);
  const ks = c.update(Buffer.alloc(skip + len));
  return new Uint8Array(ks.buffer, ks.byteOffset + skip, len);
}

function synthKey(tag: Uint8Array, a: Uint8Array, b: Uint8Array): Uint8Array {
  const input = new Uint8Array(64);
  input.set(a, 0);
  input.set(b, 32);
  return blake2b(input, { key: tag, dkLen: 32 });
}

/** Synthetic challenge generation for one sector (rust `SynthChallengeGenerator`). */
export class SyntheticChallenges {
  readonly count: number;
  private readonly genKey: Uint8Array;

  constructor(
    readonly nodes: number,
    readonly replicaId: Uint8Array,
    commR: Uint8Array,
    count = Math.min(nodes, 1 << 18),
  ) {
    check32('replica_id', replicaId);
    check32('comm_r', commR);
    if (!Number.isInteger(count) || count < 1 || count >= 2 ** 32) throw new RangeError(`bad synthetic count ${count}`);
    this.count = count;
    this.genKey = synthKey(GEN_KEY, replicaId, commR);
  }

  /** Synthetic challenges [start, start+n). */
  range(start: number, n: number): number[] {
    if (start < 0 || n < 0 || start + n > this.count) throw new RangeError('synthetic challenge index out of range');
    const ks = chacha20Keystream(this.genKey, start * 32, n * 32);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(toChallenge(ks.subarray(32 * i, 32 * i + 32), this.nodes));
    return out;
  }

  /** Every synthetic challenge, in order. */
  all(): number[] {
    return this.range(0, this.count);
  }

  /** Synthetic challenge `i`. */
  at(i: number): number {
    return this.range(i, 1)[0];
  }

  /** The synthetic indexes selected as the PoRep challenges of partition `k` (rust `derive_indexes`). */
  selectedIndexes(seed: Uint8Array, challengesPerPartition: number, k: number): number[] {
    check32('seed', seed);
    const selKey = synthKey(SEL_KEY, this.replicaId, seed);
    const ks = chacha20Keystream(selKey, k * challengesPerPartition * 4, challengesPerPartition * 4);
    const dv = new DataView(ks.buffer, ks.byteOffset, ks.byteLength);
    const out: number[] = [];
    for (let i = 0; i < challengesPerPartition; i++) out.push(dv.getUint32(4 * i, true) % this.count);
    return out;
  }

  /** The PoRep challenges of partition `k` (rust `SynthChallenges::derive`). */
  porepChallenges(seed: Uint8Array, challengesPerPartition: number, k: number): number[] {
    return this.selectedIndexes(seed, challengesPerPartition, k).map((i) => this.at(i));
  }
}

/** What challenge derivation needs besides the config. */
export interface ChallengeInputs {
  replicaId: Uint8Array;
  /** Interactive randomness (unused by NI-PoRep). */
  seed: Uint8Array;
  /** Needed by synthetic and NI-PoRep. */
  commR?: Uint8Array;
}

/** The challenges of partition `k` for any PoRep kind (rust `PublicInputs::challenges`). */
export function porepChallenges(
  cfg: Pick<PoRepConfig, 'nodes' | 'challengeKind' | 'challengesPerPartition' | 'syntheticChallengeCount'>,
  inputs: ChallengeInputs,
  k: number,
): number[] {
  const cpp = cfg.challengesPerPartition;
  switch (cfg.challengeKind) {
    case 'interactive':
      return interactiveChallenges(cfg.nodes, inputs.replicaId, inputs.seed, cpp, k);
    case 'non-interactive':
      if (!inputs.commR) throw new Error('NI-PoRep challenges need comm_r');
      return nonInteractiveChallenges(cfg.nodes, inputs.replicaId, inputs.commR, cpp, k);
    case 'synthetic': {
      if (!inputs.commR) throw new Error('synthetic PoRep challenges need comm_r');
      const s = new SyntheticChallenges(cfg.nodes, inputs.replicaId, inputs.commR, cfg.syntheticChallengeCount);
      return s.porepChallenges(inputs.seed, cpp, k);
    }
  }
}

/** The challenges of every partition, `[partition][i]`. */
export function allPorepChallenges(
  cfg: Pick<
    PoRepConfig,
    'nodes' | 'challengeKind' | 'challengesPerPartition' | 'syntheticChallengeCount' | 'partitions'
  >,
  inputs: ChallengeInputs,
): number[][] {
  return Array.from({ length: cfg.partitions }, (_, k) => porepChallenges(cfg, inputs, k));
}
