/**
 * Randomness tests.
 *
 * Vectors and their sources:
 * - PolkaX plum (Rust Filecoin implementation derived from Forest) draw_randomness test: rbase "rbase",
 *   TicketProduction, round 123, entropy "entropy" → bfaefef2 0a2afd94 ….
 * - docs/spec/chain.md §Randomness (computed from lotus chain/rand/rand.go): digest = blake2b-256(96 zero bytes),
 *   SealRandomness, round −890 (negative), entropy 43 00 e8 07 → dfd03c1b….
 * - DST values: go-state-types crypto/randomness.go and Forest's DomainSeparationTag (EvmPrevRandao = 10).
 * - Entropy: venus-cluster modules/impl/randomness/rand.go uses the CBOR of the miner ID address (f01000 → 4300e807).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { actorAddress, idAddress } from './address.js';
import { blake2b256, fromHex, toHex } from './bytes.js';
import {
  DomainSeparationTag,
  drawRandomness,
  drawRandomnessFromDigest,
  minerEntropy,
  randomnessToFr32,
} from './randomness.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('randomness', () => {
  it('PolkaX plum vector', () => {
    const r = drawRandomness(utf8('rbase'), DomainSeparationTag.TicketProduction, 123, utf8('entropy'));
    assert.deepEqual(
      [...r],
      [
        191, 174, 254, 242, 10, 42, 253, 148, 119, 250, 248, 182, 115, 7, 83, 19, 254, 63, 158, 201, 225, 132, 255, 104,
        143, 36, 237, 29, 197, 96, 117, 219,
      ],
    );
  });

  it('negative round, miner entropy (docs/spec/chain.md §Randomness)', () => {
    const digest = blake2b256(new Uint8Array(96));
    const entropy = minerEntropy(idAddress(1000));
    assert.equal(toHex(entropy), '4300e807');
    const r = drawRandomnessFromDigest(digest, DomainSeparationTag.SealRandomness, -890, entropy);
    assert.equal(toHex(r), 'dfd03c1beef152c5c92e171ba41017e02cee8e3488aeb2f5f295e27e5abdc669');
    assert.deepEqual(drawRandomness(new Uint8Array(96), 5, -890n, entropy), r, 'from base = from digest of the base');
  });

  it('tag values', () => {
    assert.equal(DomainSeparationTag.WindowedPoStChallengeSeed, 4);
    assert.equal(DomainSeparationTag.SealRandomness, 5);
    assert.equal(DomainSeparationTag.InteractiveSealChallengeSeed, 6);
    assert.equal(DomainSeparationTag.WindowedPoStDeadlineAssignment, 7);
    assert.equal(DomainSeparationTag.PoStChainCommit, 9);
    assert.equal(DomainSeparationTag.EvmPrevRandao, 10);
  });

  it('every input changes the result; empty entropy is the default', () => {
    const d = blake2b256(utf8('x'));
    const base = toHex(drawRandomnessFromDigest(d, 9, 100));
    assert.equal(toHex(drawRandomnessFromDigest(d, 9, 100, new Uint8Array(0))), base);
    assert.notEqual(toHex(drawRandomnessFromDigest(d, 4, 100)), base);
    assert.notEqual(toHex(drawRandomnessFromDigest(d, 9, 101)), base);
    assert.notEqual(toHex(drawRandomnessFromDigest(d, 9, 100, fromHex('00'))), base);
  });

  it('fr32 masking and errors', () => {
    const r = randomnessToFr32(new Uint8Array(32).fill(0xff));
    assert.equal(r[31], 0x3f);
    assert.equal(r[30], 0xff);
    assert.throws(() => randomnessToFr32(new Uint8Array(31)), /must be 32 bytes/);
    assert.throws(() => drawRandomnessFromDigest(new Uint8Array(31), 1, 0), /digest must be 32 bytes, got 31/);
    assert.throws(() => drawRandomness(new Uint8Array(0), 1, 2n ** 63n), /does not fit int64/);
    assert.throws(() => drawRandomness(new Uint8Array(0), 1, 0.5), /must be an integer/);
    assert.throws(() => minerEntropy(actorAddress(utf8('x'))), /needs an ID address/);
  });
});
