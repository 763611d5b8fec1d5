import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { padFr32, unpadFr32 } from '../fr32.js';
import { readPAux } from '../pc2/aux.js';
import { randomSectorData, type SealedFixture, sealFixture } from '../porep/fixture.js';
import { poseidonConstants } from '../poseidon/constants.js';
import { FR_MODULUS } from '../poseidon/field.js';
import { plainPermute } from '../poseidon/permutation.js';
import { sealProofFor } from '../registry.js';
import { decodeSector, encodeSector, removeSectorData } from './encode.js';
import { unsealUpdatedRange } from './unseal.js';
import { proveUpdatePartitions, whyUpdatePartitionFails, whyUpdateProofsFail } from './vanilla.js';

// ---------------------------------------------------------------------------------------------------------
// An independent model of the update for a 2KiB sector, written from storage-proofs-update's definitions with
// plain BigInt arithmetic and the plain (reference) Poseidon rounds.

const P = FR_MODULUS;
const le = (b: Uint8Array, o = 0) => {
  let v = 0n;
  for (let i = 31; i >= 0; i--) v = (v << 8n) | BigInt(b[o + i]!);
  return v;
};
const toLe = (v: bigint) => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((v >> BigInt(8 * i)) & 0xffn);
  return out;
};
function plainHash(tag: bigint, inputs: bigint[]): bigint {
  const s = [tag, ...inputs];
  plainPermute(s, poseidonConstants(inputs.length));
  return s[1]!;
}
const gen = (a: bigint, b: bigint) => plainHash(1n << 40n, [a, b]); // HashType::Custom(Arbitrary(1))
const merkle = (xs: bigint[]) => plainHash((1n << BigInt(xs.length)) - 1n, xs); // HashType::MerkleTree
function octRoot(leaves: bigint[]): bigint {
  let row = leaves;
  while (row.length > 1) {
    const next: bigint[] = [];
    for (let i = 0; i < row.length; i += 8) next.push(merkle(row.slice(i, i + 8)));
    row = next;
  }
  return row[0]!;
}
function sha2Root(data: Uint8Array): Uint8Array {
  let row: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += 32) row.push(data.slice(i, i + 32));
  while (row.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < row.length; i += 2) {
      const h = new Uint8Array(
        createHash('sha256')
          .update(row[i]!)
          .update(row[i + 1]!)
          .digest(),
      );
      h[31]! &= 0x3f;
      next.push(h);
    }
    row = next;
  }
  return row[0]!;
}

/** The whole 2KiB update by the definitions: 64 nodes, h = 1 (rho of node i is rho(i >> 5)). */
function modelEncode(key: Uint8Array, data: Uint8Array, commC: bigint, commRLastOld: bigint) {
  const commDNew = sha2Root(data);
  const commROld = merkle([commC, commRLastOld]);
  const phi = gen(le(commDNew), commROld);
  const replica = new Uint8Array(key.length);
  const leaves: bigint[] = [];
  for (let i = 0; i < 64; i++) {
    const rho = gen(phi, BigInt(i >> 5));
    const v = (le(key, 32 * i) + le(data, 32 * i) * rho) % P;
    replica.set(toLe(v), 32 * i);
    leaves.push(v);
  }
  const commRLastNew = octRoot(leaves);
  return { commDNew, commROld: toLe(commROld), replica, commRNew: toLe(merkle([commC, commRLastNew])) };
}

const u8 = (b: Uint8Array) => new Uint8Array(b);

// ---------------------------------------------------------------------------------------------------------

describe('SnapDeals update of a 2KiB CC sector', () => {
  let dir: string;
  let cc: SealedFixture;
  let data: Uint8Array;
  const proof = sealProofFor(2048);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'update-test-'));
    cc = await sealFixture({
      proof,
      dir: join(dir, 'cc'),
      parentDir: join(dir, 'parents'),
      data: new Uint8Array(2048),
    });
    data = randomSectorData(2048);
    await writeFile(join(dir, 'staged-new'), data);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const encode = () =>
    encodeSector({
      sectorSize: 2048,
      sectorKeyPath: cc.sealedPath,
      sectorKeyCacheDir: cc.cacheDir,
      stagedDataPath: join(dir, 'staged-new'),
      newReplicaPath: join(dir, 'update'),
      newCacheDir: join(dir, 'update-cache'),
    });

  it('encodes as the independent model does: comm_d_new, the replica bytes, comm_r_new', async () => {
    const r = await encode();
    const key = await readFile(cc.sealedPath);
    const { commC, commRLast } = await readPAux(cc.cacheDir);
    const m = modelEncode(key, data, le(commC), le(commRLast));
    assert.deepEqual(u8(r.commROld), u8(cc.commR));
    assert.deepEqual(u8(r.commROld), m.commROld);
    assert.deepEqual(u8(r.commDNew), m.commDNew);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'update'))), m.replica);
    assert.deepEqual(u8(r.commRNew), m.commRNew);
    // p_aux of the update: same comm_c, the new comm_r_last
    const pa = await readPAux(join(dir, 'update-cache'));
    assert.deepEqual(u8(pa.commC), u8(commC));
    assert.deepEqual(u8(pa.commRLast), u8(r.commRLastNew));
  });

  it('gives the same bytes with the arithmetic and TreeR-last hashing on worker threads', async () => {
    const inline = await encode();
    const replica = new Uint8Array(await readFile(join(dir, 'update')));
    const threaded = await encodeSector({
      sectorSize: 2048,
      sectorKeyPath: cc.sealedPath,
      sectorKeyCacheDir: cc.cacheDir,
      stagedDataPath: join(dir, 'staged-new'),
      newReplicaPath: join(dir, 'update-t'),
      newCacheDir: join(dir, 'update-t-cache'),
      threads: 2,
    });
    assert.deepEqual(u8(threaded.commRNew), u8(inline.commRNew));
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'update-t'))), replica);
    const treeFile = 'sc-02-data-tree-r-last.dat';
    assert.deepEqual(
      new Uint8Array(await readFile(join(dir, 'update-t-cache', treeFile))),
      new Uint8Array(await readFile(join(dir, 'update-cache', treeFile))),
    );
  });

  it('decodes the data back, whole and by range', async () => {
    const r = await encode();
    const out = join(dir, 'decoded');
    await decodeSector({
      sectorSize: 2048,
      replicaPath: join(dir, 'update'),
      sectorKeyPath: cc.sealedPath,
      sectorKeyCacheDir: cc.cacheDir,
      commDNew: r.commDNew,
      outDataPath: out,
    });
    assert.deepEqual(new Uint8Array(await readFile(out)), data);
    await decodeSector({
      sectorSize: 2048,
      replicaPath: join(dir, 'update'),
      sectorKeyPath: cc.sealedPath,
      commROld: cc.commR,
      commDNew: r.commDNew,
      outDataPath: out,
      nodeOffset: 30,
      nodeCount: 5,
    });
    assert.deepEqual(new Uint8Array(await readFile(out)), data.subarray(30 * 32, 35 * 32));
  });

  it('unseals unpadded ranges of the updated sector (piece bytes back)', async () => {
    const payload = new Uint8Array(2032).map((_, i) => (i * 31 + 7) & 0xff);
    await writeFile(join(dir, 'staged-payload'), padFr32(payload));
    const r = await encodeSector({
      sectorSize: 2048,
      sectorKeyPath: cc.sealedPath,
      sectorKeyCacheDir: cc.cacheDir,
      stagedDataPath: join(dir, 'staged-payload'),
      newReplicaPath: join(dir, 'update-p'),
      newCacheDir: join(dir, 'update-p-cache'),
    });
    assert.deepEqual(unpadFr32(padFr32(payload)), payload);
    for (const [offset, n] of [
      [0, 2032],
      [0, 1],
      [126, 2],
      [300, 1000],
      [2031, 1],
      [500, 0],
    ] as const) {
      const out = join(dir, 'unsealed');
      const w = await unsealUpdatedRange({
        sectorSize: 2048,
        replicaPath: join(dir, 'update-p'),
        sectorKeyPath: cc.sealedPath,
        commROld: cc.commR,
        commDNew: r.commDNew,
        outputPath: out,
        offset,
        numBytes: n,
      });
      assert.equal(w.bytesWritten, n);
      assert.deepEqual(new Uint8Array(await readFile(out)), payload.subarray(offset, offset + n), `[${offset}, +${n})`);
    }
    await assert.rejects(
      unsealUpdatedRange({
        sectorSize: 2048,
        replicaPath: join(dir, 'update-p'),
        sectorKeyPath: cc.sealedPath,
        commROld: cc.commR,
        commDNew: r.commDNew,
        outputPath: join(dir, 'x'),
        offset: 2000,
        numBytes: 33,
      }),
      /outside/,
    );
  });

  it('removes the data: the sector key and its comm_r_last come back', async () => {
    const r = await encode();
    const keyPath = join(dir, 'key-again');
    const commRLast = await removeSectorData({
      sectorSize: 2048,
      replicaPath: join(dir, 'update'),
      replicaCacheDir: join(dir, 'update-cache'),
      dataPath: join(dir, 'staged-new'),
      commDNew: r.commDNew,
      commROld: cc.commR,
      sectorKeyPath: keyPath,
      sectorKeyCacheDir: join(dir, 'key-cache'),
    });
    assert.deepEqual(new Uint8Array(await readFile(keyPath)), new Uint8Array(await readFile(cc.sealedPath)));
    assert.deepEqual(u8(commRLast), u8((await readPAux(cc.cacheDir)).commRLast));
    // with other data it refuses
    await writeFile(join(dir, 'other'), randomSectorData(2048));
    await assert.rejects(
      removeSectorData({
        sectorSize: 2048,
        replicaPath: join(dir, 'update'),
        replicaCacheDir: join(dir, 'update-cache'),
        dataPath: join(dir, 'other'),
        commDNew: r.commDNew,
        commROld: cc.commR,
        sectorKeyPath: keyPath,
        sectorKeyCacheDir: join(dir, 'key-cache'),
      }),
      /does not give comm_r_old/,
    );
  });

  it('proves the update; the partition proof verifies and any change breaks it', async () => {
    const r = await encode();
    const pub = { commROld: r.commROld, commDNew: r.commDNew, commRNew: r.commRNew };
    const proofs = await proveUpdatePartitions({
      sectorSize: 2048,
      ...pub,
      sectorKeyPath: cc.sealedPath,
      sectorKeyCacheDir: cc.cacheDir,
      replicaPath: join(dir, 'update'),
      replicaCacheDir: join(dir, 'update-cache'),
    });
    assert.equal(proofs.length, 1);
    assert.equal(proofs[0]!.challengeProofs.length, 10);
    assert.equal(proofs[0]!.apexLeafs.length, 8);
    assert.equal(whyUpdateProofsFail(2048, pub, proofs), undefined);
    // wrong public inputs
    assert.match(whyUpdateProofsFail(2048, { ...pub, commRNew: cc.commR }, proofs) ?? '', /comm_r_new/);
    assert.match(whyUpdateProofsFail(2048, { ...pub, commROld: r.commRNew }, proofs) ?? '', /comm_r_old/);
    assert.match(whyUpdateProofsFail(2048, { ...pub, commDNew: cc.commD }, proofs) ?? '', /TreeD/);
    // a changed data leaf, an apex leaf, an h outside hs
    const p0 = proofs[0]!;
    const bad = structuredClone(p0);
    bad.challengeProofs[3]!.proofDNew.leaf[0]! ^= 1;
    assert.match(whyUpdatePartitionFails(2048, 0, pub, bad) ?? '', /challenge 3/);
    const badApex = structuredClone(p0);
    badApex.apexLeafs[2]![0]! ^= 1;
    assert.match(whyUpdatePartitionFails(2048, 0, pub, badApex) ?? '', /apex/);
    assert.match(whyUpdatePartitionFails(2048, 0, { ...pub, h: 2 }, p0) ?? '', /h = 2/);
  });
});
