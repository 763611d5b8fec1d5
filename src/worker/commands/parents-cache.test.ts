import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UserError } from '../../common/cli.js';
import { parentsCache, resolveSealProof } from './parents-cache.js';

const dirP = mkdtemp(join(tmpdir(), 'parents-cache-cmd-'));
after(async () => rm(await dirP, { recursive: true, force: true }));

describe('venus-worker util parents-cache', () => {
  it('writes the 2KiB cache under the rust-fil-proofs name with the published digest', async () => {
    const out = await dirP;
    const r = await parentsCache({ sectorSize: '2KiB', out });
    assert.equal(r.proof, 'StackedDrg2KiBV1_1');
    assert.equal(r.fileName, 'v28-sdr-parent-494d91dc80f2df5272c4b9e129bc7ade9405225993af9fe34e6542a39a47554b.cache');
    assert.equal(r.digest, '840057702eea7652cf97e04306c30fe57174714d90de156a25eddd6075c25b97');
    assert.equal(r.matches, true);
    assert.equal((await readFile(join(out, r.fileName))).length, 64 * 56);
    const v1 = await parentsCache({ sectorSize: '2k', proofType: '0', out, write: false });
    assert.equal(v1.digest, '3da49221e2ed55371b86d0bf3d6526fcf128af61bed904f966428db1b531750d');
  });

  it('picks proofs by size, id or name and refuses mismatches', () => {
    assert.equal(resolveSealProof('32GiB').id, 8);
    assert.equal(resolveSealProof('512MiB', 'StackedDrg512MiBV1').id, 2);
    assert.equal(resolveSealProof('8MiB', '16').name, 'StackedDrg8MiBV1_2_Feat_NiPoRep');
    assert.throws(() => resolveSealProof('8MiB', '5'), UserError);
    assert.throws(() => resolveSealProof('3KiB'), UserError);
    assert.throws(() => resolveSealProof('lots'), UserError);
    assert.throws(() => resolveSealProof('2KiB', '99'), UserError);
  });
});
