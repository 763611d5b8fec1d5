// Inclusion proofs read from tree files: every leaf of TreeC and TreeR-last for the base, sub2, sub8 and
// top2 shapes (built by PC2), TreeR-last with rows_to_discard 0..3 rebuilt from the replica, rust's JSON
// variants (Single/Sub/Top) both ways, and the compact records.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildTreeInMemory, levelCacheLayout, storeFileName } from '../merkle.js';
import { pc2, poseidonNodeHasher, readPAux } from '../pc2/index.js';
import { porepConfig } from '../registry.js';
import { labelLayerPath } from '../sdr/index.js';
import { type InclusionProof, inclusionFromJson, inclusionToJson, pathIndex, verifyInclusion } from './proof.js';
import { TreeReader } from './trees.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inclusion-test-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

function randomNodes(n: number): Uint8Array {
  const b = new Uint8Array(randomBytes(n * 32));
  for (let i = 31; i < b.length; i += 32) b[i] &= 0x3f;
  return b;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('TreeC and TreeR-last proofs for every tree shape', () => {
  for (const [size, variant] of [
    [2048, 'Single'],
    [4096, 'Sub'],
    [16384, 'Sub'],
    [32768, 'Top'],
  ] as const) {
    it(`${size} bytes: every leaf proves, in the ${variant} variant`, async () => {
      const cfg = porepConfig({ sectorSize: size, porepId: new Uint8Array(32).fill(5), apiVersion: '1.1.0' });
      const cacheDir = join(dir, `shape-${size}`);
      await mkdir(cacheDir, { recursive: true });
      for (let l = 1; l <= cfg.layers; l++) await writeFile(labelLayerPath(cacheDir, l), randomNodes(cfg.nodes));
      const data = randomNodes(cfg.nodes);
      await writeFile(join(cacheDir, 'staged'), data);
      const sealed = join(cacheDir, 'sealed');
      await pc2({ cacheDir, sealedPath: sealed, stagedPath: join(cacheDir, 'staged'), proof: cfg, threads: 1 });
      const pAux = await readPAux(cacheDir);
      const treeC = await TreeReader.openTreeC(cfg, cacheDir);
      const treeR = await TreeReader.openTreeRLast(cfg, cacheDir, sealed);
      try {
        assert.equal(hex(treeC.root), hex(pAux.commC));
        assert.equal(hex(treeR.root), hex(pAux.commRLast));
        for (const [tree, root] of [
          [treeC, pAux.commC],
          [treeR, pAux.commRLast],
        ] as const) {
          // every leaf of the first base tree and of its boundaries, a sample of the others
          const leavesToProve = Array.from({ length: cfg.nodes }, (_, c) => c).filter(
            (c) => c < 64 || c % 64 === 0 || c % 64 === 63 || c % 29 === 0,
          );
          for (const c of leavesToProve) {
            const p = await tree.prove(c);
            const opts = { hash: 'poseidon' as const, shape: cfg.shape, leaves: cfg.nodes, challenge: c, root };
            assert.ok(verifyInclusion(p, opts), `leaf ${c}`);
            assert.equal(pathIndex(p, cfg.shape), c);
            assert.equal(!!p.sub, cfg.shape.sub > 0);
            assert.equal(!!p.top, cfg.shape.top > 0);
            const json = inclusionToJson(p) as { data: Record<string, unknown> };
            assert.deepEqual(Object.keys(json.data), [variant]);
            const back = inclusionFromJson(JSON.parse(JSON.stringify(json)), cfg.shape);
            assert.deepEqual(back, p);
            assert.equal(verifyInclusion(p, { ...opts, challenge: (c + 1) % cfg.nodes }), false);
          }
        }
        // TreeR-last leaves are the replica
        const p = await treeR.prove(cfg.nodes - 1);
        assert.ok(verifyInclusion(p, { hash: 'poseidon', shape: cfg.shape, leaves: cfg.nodes }));
      } finally {
        await treeC.close();
        await treeR.close();
      }
      assert.throws(() => inclusionFromJson({ data: { Single: {} } }, { base: 8, sub: 2, top: 0 }), /Sub variant/);
    });
  }
});

describe('TreeR-last with discarded rows rebuilt from the replica', () => {
  const leaves = 4096; // 5 rows: rows_to_discard 0..3
  const replica = randomNodes(leaves);
  const full = buildTreeInMemory(replica, poseidonNodeHasher(8));
  const root = full.subarray(full.length - 32);
  for (const rows of [0, 1, 2, 3]) {
    it(`rows_to_discard = ${rows}`, async () => {
      const d = join(dir, `lc-${rows}`);
      await mkdir(d, { recursive: true });
      const lc = levelCacheLayout(leaves, 8, rows);
      const skip = lc.widths.slice(0, lc.firstStoredRow).reduce((a, b) => a + b, 0) * 32;
      await writeFile(join(d, storeFileName('tree-r-last')), full.subarray(skip));
      await writeFile(join(d, 'sealed'), replica);
      const g = {
        sectorSize: leaves * 32,
        nodes: leaves,
        shape: { base: 8, sub: 0, top: 0 },
        baseTreeCount: 1,
        baseTreeLeaves: leaves,
        treeRLastRowsToDiscard: rows,
      };
      const t = await TreeReader.openTreeRLast(g, d, join(d, 'sealed'));
      try {
        assert.equal(hex(t.root), hex(root));
        for (const c of rows < 3 ? [0, 1, 7, 8, 511, 512, 2049, leaves - 1] : [0, 2049, leaves - 1]) {
          const p: InclusionProof = await t.prove(c);
          assert.equal(hex(p.leaf), hex(replica.subarray(c * 32, c * 32 + 32)));
          assert.ok(verifyInclusion(p, { hash: 'poseidon', shape: g.shape, leaves, challenge: c, root }));
        }
      } finally {
        await t.close();
      }
      // a short tree file or replica fails to open
      await writeFile(join(d, 'short'), replica.subarray(0, 100));
      await assert.rejects(TreeReader.openTreeRLast(g, d, join(d, 'short')), /expected at least/);
    });
  }
});
