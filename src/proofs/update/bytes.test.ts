import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  decodeFrom,
  encodeInto,
  generateUpdateProof,
  generateUpdateVanillaProofs,
  verifyUpdateProof,
  verifyUpdateVanillaProofs,
} from '../api/update.js';
import { randomSectorData, type SealedFixture, sealFixture } from '../porep/fixture.js';
import { sealProofFor } from '../registry.js';
import {
  compactUpdateProofSize,
  decodeUpdateProof,
  encodeUpdateProof,
  partitionProofFromBincode,
  partitionProofToBincode,
} from './bytes.js';
import { updateProof, updateProofForSealProof } from './constants.js';
import { ExternalUpdateProver, SNAP_PROVE_STAGE, snapProveTask } from './prover.js';
import type { UpdatePartitionProof } from './vanilla.js';
import { verifyUpdateVanilla, whyUpdateProofFails } from './verify.js';

describe('update proof bytes, verifier and snap_prove boundary (2KiB)', () => {
  let dir: string;
  let cc: SealedFixture;
  let pub: { commROld: Uint8Array; commDNew: Uint8Array; commRNew: Uint8Array };
  let proofs: UpdatePartitionProof[];
  let bytes: Uint8Array;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'update-bytes-'));
    cc = await sealFixture({
      proof: sealProofFor(2048),
      dir: join(dir, 'cc'),
      parentDir: join(dir, 'parents'),
      data: new Uint8Array(2048),
    });
    const data = randomSectorData(2048);
    data.fill(0, 1024); // half the sector left empty: zero data keeps the key
    await writeFile(join(dir, 'staged'), data);
    const r = await encodeInto({
      sectorSize: 2048,
      sectorKeyPath: cc.sealedPath,
      sectorKeyCacheDir: cc.cacheDir,
      stagedDataPath: join(dir, 'staged'),
      newReplicaPath: join(dir, 'update', 'sealed'),
      newCacheDir: join(dir, 'update', 'cache'),
    });
    pub = { commROld: r.commROld, commDNew: r.commDNew, commRNew: r.commRNew };
    proofs = await generateUpdateVanillaProofs({
      sectorSize: 2048,
      ...pub,
      sectorKeyPath: cc.sealedPath,
      sectorKeyCacheDir: cc.cacheDir,
      replicaPath: join(dir, 'update', 'sealed'),
      replicaCacheDir: join(dir, 'update', 'cache'),
    });
    bytes = await generateUpdateProof({ sectorSize: 2048, vanillaProofs: proofs, ...pub });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('registered update proofs: every seal proof of a size maps to its StackedDrg…V1', () => {
    assert.equal(updateProofForSealProof(0).name, 'StackedDrg2KiBV1');
    assert.equal(updateProofForSealProof('StackedDrg32GiBV1_1').id, 3);
    assert.equal(updateProofForSealProof(19).name, 'StackedDrg64GiBV1');
    assert.equal(updateProof('RegisteredUpdateProof_StackedDrg8MiBV1').id, 1);
    assert.throws(() => updateProof(5), /unknown/);
  });

  it('compact bytes: header, size, round trip, and the vanilla proofs verify', () => {
    assert.equal(Buffer.from(bytes.subarray(0, 4)).toString('latin1'), 'FVSU');
    assert.deepEqual([...bytes.subarray(4, 10)], [1, 0, 1, 0, 10, 0]);
    assert.equal(bytes.length, compactUpdateProofSize(2048));
    assert.equal(bytes.length, 12202);
    const d = decodeUpdateProof(bytes, pub);
    assert.equal(d.updateProof, 0);
    assert.equal(d.sectorSize, 2048);
    assert.deepEqual(encodeUpdateProof(0, 2048, d.proofs), bytes);
    assert.ok(verifyUpdateVanillaProofs(2048, pub, d.proofs));
  });

  it('verifyUpdateVanilla: true for the proof, false (never a throw) for anything else', () => {
    assert.equal(verifyUpdateVanilla({ updateProof: 0, ...pub, proofBytes: bytes }), true);
    assert.equal(verifyUpdateVanilla({ sealProof: 5, ...pub, proofBytes: bytes }), true);
    assert.equal(verifyUpdateVanilla({ sectorSize: 2048, ...pub, proofBytes: bytes }), true);
    assert.equal(verifyUpdateVanilla({ proofType: 'StackedDrg2KiBV1', ...pub, proofBytes: bytes }), true);
    assert.equal(verifyUpdateVanilla({ proofType: 3, ...pub, proofBytes: bytes }), false);
    assert.doesNotThrow(() => verifyUpdateProof({ updateProof: 0, ...pub, proofBytes: bytes }));
    // every single-byte change of the proof body is caught (sampled: each 97th byte)
    for (let i = 10; i < bytes.length; i += 97) {
      const bad = Uint8Array.from(bytes);
      bad[i]! ^= 0x01;
      assert.equal(verifyUpdateVanilla({ updateProof: 0, ...pub, proofBytes: bad }), false, `byte ${i}`);
    }
    const cases: [string, Parameters<typeof whyUpdateProofFails>[0], RegExp][] = [
      ['wrong proof type', { updateProof: 1, ...pub, proofBytes: bytes }, /update proof 0/],
      ['comm_r_old', { updateProof: 0, ...pub, commROld: pub.commRNew, proofBytes: bytes }, /comm_r_old/],
      ['comm_r_new', { updateProof: 0, ...pub, commRNew: cc.commR, proofBytes: bytes }, /./],
      ['comm_d_new', { updateProof: 0, ...pub, commDNew: cc.commD, proofBytes: bytes }, /./],
      ['truncated', { updateProof: 0, ...pub, proofBytes: bytes.subarray(0, 500) }, /length|truncated/],
      ['empty', { updateProof: 0, ...pub, proofBytes: new Uint8Array() }, /magic/],
      ['short commitment', { updateProof: 0, ...pub, commDNew: new Uint8Array(3), proofBytes: bytes }, /32 bytes/],
      ['no type', { ...pub, proofBytes: bytes }, /needed/],
      [
        'non-field comm_r_new',
        { updateProof: 0, ...pub, commRNew: new Uint8Array(32).fill(0xff), proofBytes: bytes },
        /./,
      ],
    ];
    for (const [name, input, re] of cases) {
      assert.equal(verifyUpdateVanilla(input), false, name);
      assert.match(whyUpdateProofFails(input) ?? '', re, name);
    }
    const v2 = Uint8Array.from(bytes);
    v2[4] = 2;
    assert.match(whyUpdateProofFails({ updateProof: 0, ...pub, proofBytes: v2 }) ?? '', /version 2/);
  });

  it("bincode PartitionProofBytes: rust's layout (sizes, variant tags, counts) and a strict round trip", () => {
    const b = partitionProofToBincode(proofs[0]!);
    // comm_c, 8 apex leaves, 10 × (TreeR Single of 2 levels × 7 siblings, TreeD Single of 6 levels × 1)
    const single = (levels: number, hashes: number) => 4 + 32 + 32 + 8 + levels * (8 + hashes * 32 + 8);
    assert.equal(b.length, 32 + 8 + 8 * 32 + 8 + 10 * (2 * single(2, 7) + single(6, 1)));
    const dv = new DataView(b.buffer, b.byteOffset);
    assert.deepEqual(b.subarray(0, 32), proofs[0]!.commC);
    assert.equal(dv.getBigUint64(32, true), 8n);
    const cpAt = 32 + 8 + 256;
    assert.equal(dv.getBigUint64(cpAt, true), 10n);
    assert.equal(dv.getUint32(cpAt + 8, true), 0); // ProofData::Single
    assert.deepEqual(b.subarray(cpAt + 12, cpAt + 44), proofs[0]!.challengeProofs[0]!.proofROld.root);
    assert.equal(dv.getBigUint64(cpAt + 76, true), 2n); // path levels
    assert.equal(dv.getBigUint64(cpAt + 84, true), 7n); // hashes of the first element
    const back = partitionProofFromBincode(2048, b);
    assert.deepEqual(partitionProofToBincode(back), b);
    assert.ok(verifyUpdateVanillaProofs(2048, pub, [back]));
    assert.throws(() => partitionProofFromBincode(2048, b.subarray(0, b.length - 1)), /truncated/);
    assert.throws(() => partitionProofFromBincode(2048, Buffer.concat([b, Buffer.from([0])])), /trailing/);
    const huge = Uint8Array.from(b);
    new DataView(huge.buffer).setBigUint64(32, 1n << 40n, true);
    assert.throws(() => partitionProofFromBincode(2048, huge), /exceeds/);
  });

  it('snap_prove: the vanilla prover refuses a bad proof; the external task has damocles shape', async () => {
    const bad = structuredClone(proofs);
    bad[0]!.challengeProofs[0]!.proofDNew.leaf[1]! ^= 1;
    await assert.rejects(generateUpdateProof({ sectorSize: 2048, vanillaProofs: bad, ...pub }), /do not verify/);
    assert.equal(SNAP_PROVE_STAGE, 'snap_prove');
    const task = snapProveTask({ updateProof: 0, vanillaProofs: proofs, ...pub });
    assert.deepEqual(Object.keys(task), [
      'registered_proof',
      'vannilla_proofs',
      'comm_r_old',
      'comm_r_new',
      'comm_d_new',
    ]);
    assert.equal(task.registered_proof, 'StackedDrg2KiBV1');
    assert.deepEqual(task.vannilla_proofs, [Array.from(partitionProofToBincode(proofs[0]!))]);
    let sent: unknown;
    const snark = new Uint8Array(192).fill(7);
    const ext = new ExternalUpdateProver({
      run: async (t) => {
        sent = t;
        return Array.from(snark);
      },
    });
    const got = await ext.snapProve({ updateProof: 0, vanillaProofs: proofs, ...pub });
    assert.deepEqual(got, snark);
    assert.deepEqual(sent, task);
    const b64 = new ExternalUpdateProver({ run: async () => Buffer.from(snark).toString('base64') });
    assert.deepEqual(await b64.snapProve({ updateProof: 0, vanillaProofs: proofs, ...pub }), snark);
    const empty = new ExternalUpdateProver({ run: async () => [] });
    await assert.rejects(empty.snapProve({ updateProof: 0, vanillaProofs: proofs, ...pub }), /empty/);
  });

  it('decodeFrom gives the data back with half the sector empty', async () => {
    await decodeFrom({
      sectorSize: 2048,
      replicaPath: join(dir, 'update', 'sealed'),
      sectorKeyPath: cc.sealedPath,
      commROld: pub.commROld,
      commDNew: pub.commDNew,
      outDataPath: join(dir, 'out'),
      nodeOffset: 32,
      nodeCount: 32,
    });
    const { readFile } = await import('node:fs/promises');
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'out'))), new Uint8Array(1024));
  });
});
