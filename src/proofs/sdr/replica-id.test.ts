import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { porepIdFor } from '../registry.js';
import { generateReplicaId, proverIdFromActorId } from './replica-id.js';

const unhex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('replica id', () => {
  it('matches the 2KiB sector sealed by rust-fil-proofs (test/vectors/seal-2kib-polka)', () => {
    // eigerco/polka-storage sealed this sector with filecoin-proofs 18.1.0; porep_id there is 32 zero bytes
    const id = generateReplicaId(
      unhex('77d14a2289dda9bbb32dd9313db096ef628101ac5bbb3b19301ede2c61915b09'),
      1n,
      unhex('71145bb466d9f965f739d2421de5635c994a6817b8f059ed0c14ae4471de4588'),
      unhex('129c7562bb0c189544f5dccd365feaec2141eab458097a5ca8429c109d154421'),
      new Uint8Array(32),
    );
    assert.equal(hex(id), '523e6dda9bc03585565337477f67fe11ceb9193f19cc14a2d4d6ba743e136d3f');
  });

  it('matches the example of docs/spec/proofs.md §Replica ID (sector 1, 2KiB V1_1, zero CommD)', () => {
    const id = generateReplicaId(
      Uint8Array.from({ length: 32 }, (_, i) => i),
      1,
      new Uint8Array(32).fill(1),
      unhex('fc7e928296e516faade986b28f92d44a4f24b935485223376a799027bc18f833'),
      porepIdFor(5),
    );
    assert.equal(hex(id), 'd5016203e82464a31bb86e99625b352b60128f2654c317fc9993a3cb480f552b');
  });

  it('hashes the sector id big-endian and masks the top two bits', () => {
    const z = new Uint8Array(32);
    const a = generateReplicaId(z, 1n, z, z, z);
    const b = generateReplicaId(z, 1n << 56n, z, z, z);
    assert.notEqual(hex(a), hex(b));
    for (let s = 0n; s < 40n; s++) assert.equal(generateReplicaId(z, s, z, z, z)[31]! & 0xc0, 0);
  });

  it('rejects bad input', () => {
    const z = new Uint8Array(32);
    assert.throws(() => generateReplicaId(new Uint8Array(31), 1, z, z, z), /prover_id/);
    assert.throws(() => generateReplicaId(z, -1, z, z, z), /u64/);
    assert.throws(() => generateReplicaId(z, 1n << 64n, z, z, z), /u64/);
  });

  it('builds the prover id from the miner actor id as an ID address payload (LEB128)', () => {
    assert.equal(hex(proverIdFromActorId(1000).subarray(0, 3)), 'e80700');
    assert.equal(hex(proverIdFromActorId(0).subarray(0, 2)), '0000');
    assert.equal(hex(proverIdFromActorId(127).subarray(0, 2)), '7f00');
    assert.equal(hex(proverIdFromActorId(128).subarray(0, 3)), '800100');
    assert.equal(proverIdFromActorId(1000).length, 32);
  });
});
