// PC2 against rust-fil-proofs' own 2KiB seal (comm_c, comm_r_last, CommR of the polka vector), and every
// tree shape (base, sub2, sub8, top2; 2 and 11 layers; chunked and threaded) against a straightforward
// in-memory computation with the bigint Poseidon.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SEAL_2KIB_POLKA_DIR } from '../../../test/vectors/index.js';
import { buildTreeInMemory, levelCacheLayout, NODE_SIZE, type PoRepConfig, padFr32, porepConfig } from '../index.js';
import { frAdd, frFromBytes, frToBytes, hasNativeKernel, poseidonHash } from '../poseidon/index.js';
import { labelLayerPath, labelSector, parentCacheFileName, parentChunks, SdrGraph } from '../sdr/index.js';
import { readPAux, readTAux, temporaryAuxFor } from './aux.js';
import { pc2, poseidonNodeHasher, treeCFileNames, treeRLastFileNames } from './pc2.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const POLKA = SEAL_2KIB_POLKA_DIR;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pc2-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Random field elements as labels and Fr32-padded data are: top two bits clear. */
function randomNodes(n: number): Uint8Array {
  const b = new Uint8Array(randomBytes(n * NODE_SIZE));
  for (let i = 31; i < b.length; i += 32) b[i]! &= 0x3f;
  return b;
}

/** The reference: columns, encoding and trees computed node by node with the bigint Poseidon. */
function reference(cfg: PoRepConfig, layers: Uint8Array[], data: Uint8Array, rowsToDiscard: number) {
  const nodes = cfg.nodes;
  const cols = new Uint8Array(nodes * NODE_SIZE);
  const replica = new Uint8Array(nodes * NODE_SIZE);
  for (let v = 0; v < nodes; v++) {
    const column = layers.map((l) => frFromBytes(l, v * NODE_SIZE));
    frToBytes(poseidonHash(column), cols, v * NODE_SIZE);
    const key = frFromBytes(layers[layers.length - 1]!, v * NODE_SIZE);
    frToBytes(frAdd(key, frFromBytes(data, v * NODE_SIZE)), replica, v * NODE_SIZE);
  }
  const h8 = poseidonNodeHasher(8, 'ts');
  const n = cfg.baseTreeLeaves;
  const trees = (leaves: Uint8Array) =>
    Array.from({ length: cfg.baseTreeCount }, (_, i) =>
      buildTreeInMemory(leaves.subarray(i * n * NODE_SIZE, (i + 1) * n * NODE_SIZE), h8),
    );
  const rootOf = (tree: Uint8Array) => tree.subarray(tree.length - NODE_SIZE);
  const compound = (roots: Uint8Array[]) => {
    const el = (b: Uint8Array) => frFromBytes(b);
    if (cfg.shape.sub === 0) return roots[0]!;
    const subs: bigint[] = [];
    for (let i = 0; i < roots.length; i += cfg.shape.sub)
      subs.push(poseidonHash(roots.slice(i, i + cfg.shape.sub).map(el)));
    return frToBytes(cfg.shape.top === 0 ? subs[0]! : poseidonHash(subs));
  };
  const treeC = trees(cols);
  const treeR = trees(replica);
  const lc = levelCacheLayout(n, 8, rowsToDiscard);
  const lcStart = (lc.widths.slice(0, lc.firstStoredRow).reduce((a, b) => a + b, 0) * NODE_SIZE) | 0;
  const commC = compound(treeC.map(rootOf));
  const commRLast = compound(treeR.map(rootOf));
  return {
    replica,
    treeC,
    treeRLast: treeR.map((t) => t.subarray(lcStart)),
    commC,
    commRLast,
    commR: frToBytes(poseidonHash([frFromBytes(commC), frFromBytes(commRLast)])),
  };
}

async function sealRandom(
  name: string,
  cfg: PoRepConfig,
  opts: { threads: number; chunkLeaves?: number; inPlace?: boolean },
) {
  const cacheDir = join(dir, name);
  await rm(cacheDir, { recursive: true, force: true });
  await mkdir(cacheDir, { recursive: true });
  const layers = Array.from({ length: cfg.layers }, () => randomNodes(cfg.nodes));
  for (const [i, l] of layers.entries()) await writeFile(labelLayerPath(cacheDir, i + 1), l);
  const data = randomNodes(cfg.nodes);
  const staged = join(cacheDir, 'staged');
  const sealed = join(cacheDir, 'sealed');
  await writeFile(staged, data);
  if (opts.inPlace) await writeFile(sealed, data);
  const res = await pc2({
    cacheDir,
    sealedPath: sealed,
    stagedPath: opts.inPlace ? undefined : staged,
    proof: cfg,
    threads: opts.threads,
    chunkLeaves: opts.chunkLeaves,
  });
  const want = reference(cfg, layers, data, cfg.treeRLastRowsToDiscard);
  assert.equal(hex(res.commC), hex(want.commC), 'comm_c');
  assert.equal(hex(res.commRLast), hex(want.commRLast), 'comm_r_last');
  assert.equal(hex(res.commR), hex(want.commR), 'comm_r');
  assert.deepEqual(await readFile(sealed), Buffer.from(want.replica), 'sealed file = data + key');
  const cNames = treeCFileNames(cfg);
  const rNames = treeRLastFileNames(cfg);
  assert.equal(cNames.length, cfg.baseTreeCount);
  for (let i = 0; i < cfg.baseTreeCount; i++) {
    assert.deepEqual(await readFile(join(cacheDir, cNames[i]!)), Buffer.from(want.treeC[i]!), `${cNames[i]}`);
    assert.deepEqual(await readFile(join(cacheDir, rNames[i]!)), Buffer.from(want.treeRLast[i]!), `${rNames[i]}`);
  }
  const pAux = await readPAux(cacheDir);
  assert.equal(hex(pAux.commC), hex(want.commC));
  assert.equal(hex(pAux.commRLast), hex(want.commRLast));
  assert.deepEqual(await readTAux(cacheDir), temporaryAuxFor(cfg, cacheDir));
  return res;
}

const cfgFor = (sectorSize: number) =>
  porepConfig({ sectorSize, porepId: new Uint8Array(32).fill(5), apiVersion: '1.1.0' });

describe('PC2', () => {
  it('polka 2KiB vector: PC1 + PC2 reproduce rust-fil-proofs comm_c, comm_r_last and CommR', async () => {
    const cacheDir = join(dir, 'polka');
    await mkdir(cacheDir, { recursive: true });
    const staged = join(cacheDir, 'staged');
    const sealed = join(cacheDir, 'sealed');
    await writeFile(staged, padFr32(await readFile(join(POLKA, 'data.bin'))));
    // README of the vector: StackedDrg2KiBV1_1 with API 1.2 and a zero porep_id
    const cfg = porepConfig({ sectorSize: 2048, porepId: new Uint8Array(32), apiVersion: '1.2.0' });
    const graph = SdrGraph.forConfig(cfg);
    // Parent cache written here from the graph directly: parent_cache.json's digest under this name is for
    // the v1.0 graph of porep_id 0, not the v1.1+ graph polka sealed with.
    const parents: Buffer[] = [];
    for await (const { parents: p } of parentChunks(graph, { threads: 1 }))
      parents.push(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
    const parentPath = join(cacheDir, parentCacheFileName(graph));
    await writeFile(parentPath, Buffer.concat(parents));
    const replicaId = Buffer.from('523e6dda9bc03585565337477f67fe11ceb9193f19cc14a2d4d6ba743e136d3f', 'hex');
    await labelSector({ graph, replicaId, layers: cfg.layers, cacheDir, parentCachePath: parentPath });

    for (const threads of [1, 2]) {
      const res = await pc2({ cacheDir, sealedPath: sealed, stagedPath: staged, proof: cfg, threads });
      assert.equal(hex(res.commC), 'e5d6938d35410892fccfb0ab782cf4191f3ca43b3dd0bc88dc94d53eab39f65f');
      assert.equal(hex(res.commRLast), '3a4a89e5424b40935b5e539022901a23e8b47eb91e3484acf5db81c2bae14a57');
      // CommR bagboea4b5abcaqolcsygu5o756srf7l4pzzagml5r3wa3o6ahoo5vixummsev6rf
      assert.equal(hex(res.commR), '41cb14b06a75dfefa512fd7c7e7203317d8eec0dbbc03b9ddaa2f463244afa25');
    }
    // 2KiB: one base tree; tree-c holds all 64 + 8 + 1 nodes, tree-r-last only its root (rows_to_discard 1)
    assert.equal((await stat(join(cacheDir, 'sc-02-data-tree-c.dat'))).size, 73 * 32);
    const rLast = await readFile(join(cacheDir, 'sc-02-data-tree-r-last.dat'));
    assert.equal(hex(rLast), '3a4a89e5424b40935b5e539022901a23e8b47eb91e3484acf5db81c2bae14a57');
    const pAux = await readFile(join(cacheDir, 'p_aux'));
    assert.equal(
      hex(pAux),
      'e5d6938d35410892fccfb0ab782cf4191f3ca43b3dd0bc88dc94d53eab39f65f' +
        '3a4a89e5424b40935b5e539022901a23e8b47eb91e3484acf5db81c2bae14a57',
    );
  });

  it('2KiB, in place over the sealed file, inline and chunked', async () => {
    await sealRandom('base-inline', cfgFor(2048), { threads: 1, inPlace: true });
    await sealRandom('base-chunked', cfgFor(2048), { threads: 2, chunkLeaves: 8 });
  });

  it('4KiB (sub-tree arity 2: two base trees)', async () => {
    await sealRandom('sub2', cfgFor(4096), { threads: 2 });
  });

  it('16KiB (sub-tree arity 8: eight base trees), 11 layers', async () => {
    const cfg = { ...cfgFor(16384), layers: 11 };
    await sealRandom('sub8', cfg, { threads: 2, chunkLeaves: 8 });
  });

  it('32KiB (top-tree arity 2 over two sub-trees of 8)', async () => {
    await sealRandom('top2', cfgFor(32768), { threads: 1 });
  });

  it('a 512-leaf base tree: chunk roots below and inside the kept rows of tree-r-last', async () => {
    const base = cfgFor(2048);
    // rows 512, 64, 8, 1; rows_to_discard 1 keeps the 8-node row and the root
    const cfg: PoRepConfig = {
      ...base,
      nodes: 512,
      sectorSize: 512 * 32,
      baseTreeLeaves: 512,
      treeRLastRowsToDiscard: 1,
    };
    await sealRandom('512-c8', cfg, { threads: 2, chunkLeaves: 8 });
    await sealRandom('512-c64', cfg, { threads: 2, chunkLeaves: 64 });
  });

  it('rejects missing PC1 layers and a staged file of the wrong size', async () => {
    const cacheDir = join(dir, 'bad');
    await mkdir(cacheDir, { recursive: true });
    await writeFile(join(cacheDir, 'staged'), new Uint8Array(2048));
    await assert.rejects(
      pc2({ cacheDir, sealedPath: join(cacheDir, 'sealed'), stagedPath: join(cacheDir, 'staged'), proof: 5 }),
      /label layer 1 .* is missing/,
    );
    for (const l of [1, 2]) await writeFile(labelLayerPath(cacheDir, l), new Uint8Array(2048));
    await writeFile(join(cacheDir, 'staged'), new Uint8Array(1000));
    await assert.rejects(
      pc2({ cacheDir, sealedPath: join(cacheDir, 'sealed'), stagedPath: join(cacheDir, 'staged'), proof: 5 }),
      /staged .* has 1000 bytes, expected 2048/,
    );
    // a label ≥ r (PC1 never writes one: labels are trunc254) fails the chunk, inline and on a worker
    await writeFile(join(cacheDir, 'staged'), new Uint8Array(2048));
    await writeFile(labelLayerPath(cacheDir, 2), new Uint8Array(2048).fill(0xff));
    for (const threads of [1, 2]) {
      await assert.rejects(
        pc2({
          cacheDir,
          sealedPath: join(cacheDir, 'sealed'),
          stagedPath: join(cacheDir, 'staged'),
          proof: 5,
          threads,
          chunkLeaves: 8,
        }),
        /not a canonical field element/,
      );
    }
  });

  it('native and TypeScript kernels give the same files', {
    skip: !hasNativeKernel() && 'no native addon',
  }, async () => {
    const cfg = cfgFor(2048);
    const cacheDir = join(dir, 'kernels');
    await mkdir(cacheDir, { recursive: true });
    for (const l of [1, 2]) await writeFile(labelLayerPath(cacheDir, l), randomNodes(64));
    await writeFile(join(cacheDir, 'staged'), randomNodes(64));
    const run = async (kernel: 'native' | 'ts') => {
      const r = await pc2({
        cacheDir,
        sealedPath: join(cacheDir, 'sealed'),
        stagedPath: join(cacheDir, 'staged'),
        proof: cfg,
        kernel,
        threads: 1,
      });
      return [hex(r.commR), hex(await readFile(join(cacheDir, 'sc-02-data-tree-c.dat')))];
    };
    assert.deepEqual(await run('native'), await run('ts'));
  });
});
