// The pipeline API, step by step, against rust-fil-proofs' own 2KiB seal (test/vectors/seal-2kib-polka: CommD,
// replica id and CommR are rust's), then C1/C2/verify, finalize (exactly rust's clear_cache) and unseal back to
// the client's bytes.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { porepConfig, sealProof } from '../registry.js';
import { parentCacheFileName, parentChunks, proverIdFromActorId, SdrGraph } from '../sdr/index.js';
import {
  addPiece,
  clearCache,
  generateTreeD,
  sealCommitPhase1,
  sealCommitPhase2,
  sealPreCommitPhase1,
  sealPreCommitPhase2,
  unseal,
  verifySeal,
} from './index.js';

const DATA = fileURLToPath(new URL('../../../test/vectors/seal-2kib-polka/data.bin', import.meta.url));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const fromHex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'proofs-api-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('AddPiece → TreeD → PC1 → PC2 reproduce rust-fil-proofs; C1 → C2 verify; finalize; unseal', async () => {
  // the vector's inputs: StackedDrg2KiBV1_1 at API 1.2 with a zero porep_id
  const proof = porepConfig({ sectorSize: 2048, porepId: new Uint8Array(32), apiVersion: '1.2.0' });
  const proverId = fromHex('77d14a2289dda9bbb32dd9313db096ef628101ac5bbb3b19301ede2c61915b09');
  const ticket = fromHex('71145bb466d9f965f739d2421de5635c994a6817b8f059ed0c14ae4471de4588');
  const cacheDir = join(dir, 'cache');
  const stagedPath = join(dir, 'staged');
  const sealedPath = join(dir, 'sealed');

  const pieces = await addPiece({ stagedPath, sectorSize: 2048, pieces: [{ size: 2048, data: DATA }] });
  const { commD } = await generateTreeD({ stagedPath, cacheDir, sectorSize: 2048 });
  assert.equal(hex(commD), '129c7562bb0c189544f5dccd365feaec2141eab458097a5ca8429c109d154421');

  // The parent cache is written from the graph here: parent_cache.json's digest under this file name is for
  // the v1.0 graph of porep_id 0, not the v1.1+ graph the vector was sealed with.
  const parentCacheDir = join(dir, 'parents');
  const graph = SdrGraph.forConfig(proof);
  const parents: Buffer[] = [];
  for await (const { parents: p } of parentChunks(graph, { threads: 1 }))
    parents.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  await mkdir(parentCacheDir, { recursive: true });
  await writeFile(join(parentCacheDir, parentCacheFileName(graph)), Buffer.concat(parents));

  const pc1 = await sealPreCommitPhase1({
    proof,
    cacheDir,
    proverId,
    sectorId: 1n,
    ticket,
    pieces,
    parentCacheDir,
  });
  assert.equal(hex(pc1.commD), hex(commD), 'CommD from the piece list is the TreeD root');
  assert.equal(hex(pc1.replicaId), '523e6dda9bc03585565337477f67fe11ceb9193f19cc14a2d4d6ba743e136d3f');

  const pc2 = await sealPreCommitPhase2({ cacheDir, sealedPath, stagedPath, proof, threads: 1 });
  assert.equal(hex(pc2.commR), '41cb14b06a75dfefa512fd7c7e7203317d8eec0dbbc03b9ddaa2f463244afa25');

  const before = (await readdir(cacheDir)).sort();
  const removed = await clearCache(cacheDir);
  const after = (await readdir(cacheDir)).sort();
  // rust clear_cache: TreeD, TreeC and every layer; TreeR-last, p_aux and t_aux stay for PoSt
  assert.deepEqual(removed, [
    'sc-02-data-layer-1.dat',
    'sc-02-data-layer-2.dat',
    'sc-02-data-tree-c.dat',
    'sc-02-data-tree-d.dat',
  ]);
  assert.deepEqual(
    after,
    before.filter((n) => !removed.includes(n)),
  );
  assert.deepEqual(after, ['p_aux', 'sc-02-data-tree-r-last.dat', 't_aux']);

  const out = join(dir, 'unsealed');
  const r = await unseal({
    proof,
    cacheDir,
    sealedPath,
    outputPath: out,
    proverId,
    sectorId: 1n,
    ticket,
    commD,
    offset: 0,
    numBytes: 2032,
    parentCacheDir,
  });
  assert.equal(r.bytesWritten, 2032);
  assert.deepEqual(await readFile(out), await readFile(DATA));
});

test('C1 → C2 → verifySeal over a registered proof; a changed seed is refused', async () => {
  const proof = sealProof('StackedDrg2KiBV1_1');
  const d = join(dir, 'cc');
  const cacheDir = join(d, 'cache');
  const stagedPath = join(d, 'staged');
  const sealedPath = join(d, 'sealed');
  const proverId = proverIdFromActorId(1000n);
  const ticket = new Uint8Array(32).fill(1);
  const seed = new Uint8Array(32).fill(7);
  const pieces = await addPiece({ stagedPath, sectorSize: 2048, pieces: [], fill: true });
  const { commD } = await generateTreeD({ stagedPath, cacheDir, sectorSize: 2048 });
  await sealPreCommitPhase1({
    proof,
    cacheDir,
    proverId,
    sectorId: 3n,
    ticket,
    pieces,
    parentCacheDir: join(dir, 'p'),
  });
  const { commR } = await sealPreCommitPhase2({ cacheDir, sealedPath, stagedPath, proof, threads: 1 });
  const c1 = await sealCommitPhase1({
    proof,
    cacheDir,
    sealedPath,
    proverId,
    sectorId: 3n,
    ticket,
    seed,
    commD,
    commR,
  });
  const bytes = await sealCommitPhase2({ c1, minerId: 1000n, sectorId: 3n });
  const input = { sealProof: proof.id, minerId: 1000n, sectorId: 3n, ticket, seed, commR, commD, proof: bytes };
  verifySeal(input);
  assert.throws(() => verifySeal({ ...input, seed: new Uint8Array(32).fill(8) }));
  await assert.rejects(sealCommitPhase2({ c1, minerId: 1001n, sectorId: 3n }), /replica id/);
});
