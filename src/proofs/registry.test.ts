import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  formatSectorSize,
  isLegacyPorepId,
  POST_PROOFS,
  parseSectorSize,
  porepConfig,
  porepIdFor,
  postProof,
  RegisteredPoStProof,
  RegisteredSealProof,
  SEAL_PROOFS,
  SECTOR_SIZES,
  sealProof,
  sealProofFor,
  sectorSizeInfo,
} from './registry.js';

const GiB = 2 ** 30;

describe('registered seal proofs (rust-filecoin-proofs-api registry.rs, go-state-types abi)', () => {
  it('ids 0–19 in enum order, with versions and features', () => {
    assert.equal(SEAL_PROOFS.length, 20);
    assert.equal(RegisteredSealProof.StackedDrg2KiBV1, 0);
    assert.equal(RegisteredSealProof.StackedDrg64GiBV1, 4);
    assert.equal(RegisteredSealProof.StackedDrg32GiBV1_1, 8);
    assert.equal(RegisteredSealProof.StackedDrg2KiBV1_1_Feat_SyntheticPoRep, 10);
    assert.equal(RegisteredSealProof.StackedDrg64GiBV1_2_Feat_NiPoRep, 19);
    assert.equal(sealProof(18).rustName, 'StackedDrg32GiBV1_2_Feat_NonInteractivePoRep');
    assert.equal(sealProof('StackedDrg32GiBV1_2_Feat_NonInteractivePoRep').id, 18);
    assert.equal(sealProof('RegisteredSealProof_StackedDrg8MiBV1_1').id, 6);
    assert.equal(sealProof('7').name, 'StackedDrg512MiBV1_1');
    for (const p of SEAL_PROOFS) {
      const expectVersion = p.id < 5 ? '1.0.0' : p.id < 10 ? '1.1.0' : '1.2.0';
      assert.equal(p.apiVersion, expectVersion, p.name);
      assert.deepEqual(p.features, p.id < 10 ? [] : p.id < 15 ? ['SyntheticPoRep'] : ['NonInteractivePoRep']);
      assert.equal(p.legacy, p.id <= 4);
    }
    assert.throws(() => sealProof(20), RangeError);
    assert.throws(() => sealProof('StackedDrg4KiBV1_1'), RangeError);
  });

  it('porep_id: u64 id LE, u64 nonce LE, zeros', () => {
    const id5 = new Uint8Array(32);
    id5[0] = 5;
    assert.deepEqual(sealProof('StackedDrg2KiBV1_1').porepId, id5);
    assert.deepEqual(porepIdFor(19).subarray(0, 9), Uint8Array.from([19, 0, 0, 0, 0, 0, 0, 0, 0]));
    assert.ok(isLegacyPorepId(porepIdFor(4)));
    assert.ok(!isLegacyPorepId(porepIdFor(5)));
    assert.ok(!isLegacyPorepId(new Uint8Array(32).fill(127)));
  });

  it('per-size constants (filecoin-proofs constants.rs)', () => {
    const s32 = sealProof('StackedDrg32GiBV1_1');
    assert.equal(s32.sectorSize, 32 * GiB);
    assert.equal(s32.nodes, 2 ** 30);
    assert.equal(s32.layers, 11);
    assert.equal(s32.partitions, 10);
    assert.equal(s32.minChallenges, 176);
    assert.equal(s32.challengesPerPartition, 18);
    assert.deepEqual(s32.shape, { base: 8, sub: 8, top: 0 });
    assert.equal(s32.baseTreeCount, 8);
    assert.equal(s32.baseTreeLeaves, 2 ** 27);
    assert.equal(s32.treeRLastRowsToDiscard, 2);
    const s64 = sealProof(9);
    assert.deepEqual(s64.shape, { base: 8, sub: 8, top: 2 });
    assert.equal(s64.baseTreeCount, 16);
    const s2 = sealProof(5);
    assert.equal(s2.layers, 2);
    assert.equal(s2.partitions, 1);
    assert.equal(s2.challengesPerPartition, 2);
    assert.equal(s2.treeRLastRowsToDiscard, 1);
    assert.equal(sealProof(6).treeRLastRowsToDiscard, 2);
    // NI-PoRep: 126 partitions × 18 for production, 13 × 2 for test sizes
    const ni32 = sealProof(18);
    assert.equal(ni32.partitions, 126);
    assert.equal(ni32.minChallenges, 2253);
    assert.equal(ni32.challengesPerPartition, 18);
    assert.equal(ni32.challengeKind, 'non-interactive');
    assert.equal(sealProof(15).partitions, 13);
    assert.equal(sealProof(15).challengesPerPartition, 2);
    // synthetic: same partitions as interactive, min(nodes, 2^18) synthetic challenges
    assert.equal(sealProof(13).partitions, 10);
    assert.equal(sealProof(13).syntheticChallengeCount, 2 ** 18);
    assert.equal(sealProof(10).syntheticChallengeCount, 64);
    assert.equal(sealProof(8).syntheticChallengeCount, 0);
  });

  it('test sizes and shapes', () => {
    assert.deepEqual(
      SECTOR_SIZES.map((s) => [s.name, `${s.shape.base}-${s.shape.sub}-${s.shape.top}`]),
      [
        ['2KiB', '8-0-0'],
        ['4KiB', '8-2-0'],
        ['16KiB', '8-8-0'],
        ['32KiB', '8-8-2'],
        ['8MiB', '8-0-0'],
        ['16MiB', '8-2-0'],
        ['512MiB', '8-0-0'],
        ['1GiB', '8-2-0'],
        ['32GiB', '8-8-0'],
        ['64GiB', '8-8-2'],
      ],
    );
    for (const s of SECTOR_SIZES) assert.equal(s.baseTreeLeaves * s.baseTreeCount, s.nodes);
    const c = porepConfig({ sectorSize: 4096, porepId: new Uint8Array(32).fill(123), apiVersion: '1.1.0' });
    assert.equal(c.baseTreeCount, 2);
    assert.equal(c.legacy, false);
    assert.throws(
      () =>
        porepConfig({
          sectorSize: 2048,
          porepId: new Uint8Array(32),
          apiVersion: '1.1.0',
          features: ['SyntheticPoRep'],
        }),
      /API version 1.2.0/,
    );
    assert.throws(() => sectorSizeInfo(3 * GiB), /unsupported sector size 3GiB/);
  });

  it('sealProofFor picks the V1_1 proof of a size', () => {
    assert.equal(sealProofFor(2048).id, 5);
    assert.equal(sealProofFor(64 * GiB, 'V1_2_Feat_NiPoRep').id, 19);
    assert.throws(() => sealProofFor(4096), RangeError);
  });
});

describe('registered PoSt proofs', () => {
  it('ids, names (go V1_1 = rust V1_2), counts', () => {
    assert.equal(POST_PROOFS.length, 15);
    assert.equal(RegisteredPoStProof.StackedDrgWinning2KiBV1, 0);
    assert.equal(RegisteredPoStProof.StackedDrgWindow2KiBV1, 5);
    assert.equal(RegisteredPoStProof.StackedDrgWindow32GiBV1_1, 13);
    assert.equal(postProof('StackedDrgWindow32GiBV1_2').id, 13);
    assert.equal(postProof(13).apiVersion, '1.2.0');
    assert.equal(postProof(8).apiVersion, '1.0.0');
    assert.equal(postProof(13).sectorCount, 2349);
    assert.equal(postProof(14).sectorCount, 2300);
    assert.equal(postProof(10).sectorCount, 2);
    assert.equal(postProof(13).challengeCount, 10);
    assert.equal(postProof(3).kind, 'winning');
    assert.equal(postProof(3).challengeCount, 66);
    assert.equal(postProof(3).sectorCount, 1);
    assert.equal(postProof(3).sealProof, 8);
    assert.equal(sealProof(18).windowPostProof, 13);
    assert.equal(sealProof(18).winningPostProof, 3);
    assert.throws(() => postProof(15), RangeError);
  });
});

describe('sector size parsing', () => {
  it('parses and formats', () => {
    assert.equal(parseSectorSize('2KiB'), 2048);
    assert.equal(parseSectorSize('32GiB'), 32 * GiB);
    assert.equal(parseSectorSize('512mib'), 512 * 2 ** 20);
    assert.equal(parseSectorSize('8M'), 8 * 2 ** 20);
    assert.equal(parseSectorSize(' 64 GiB '), 64 * GiB);
    assert.equal(parseSectorSize('2048'), 2048);
    assert.equal(parseSectorSize(34359738368), 32 * GiB);
    assert.equal(parseSectorSize('32GB'), 32 * GiB); // binary, as Lotus reads it
    assert.throws(() => parseSectorSize('32XB'), /bad sector size/);
    assert.throws(() => parseSectorSize('-1'), /bad sector size/);
    assert.throws(() => parseSectorSize(''), /bad sector size/);
    assert.equal(formatSectorSize(2048), '2KiB');
    assert.equal(formatSectorSize(64 * GiB), '64GiB');
    assert.equal(formatSectorSize(512 * 2 ** 20), '512MiB');
    assert.equal(formatSectorSize(1000), '1000B');
  });
});
