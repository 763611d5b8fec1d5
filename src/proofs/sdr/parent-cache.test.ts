import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SdrGraph } from './graph.js';
import { sdrNative } from './native.js';
import {
  digestParentCacheFile,
  ensureParentCache,
  PARENT_CACHE_MANIFEST,
  ParentCacheReader,
  parentCacheId,
  parentChunks,
  writeParentCache,
} from './parent-cache.js';

const dirP = mkdtemp(join(tmpdir(), 'sdr-pc-'));
after(async () => rm(await dirP, { recursive: true, force: true }));

describe('parent cache names', () => {
  it('names every graph of parent_cache.json as rust-fil-proofs does', () => {
    const byId = new Map<number, string>();
    for (let id = 0; id < 10; id++) byId.set(id, parentCacheId(SdrGraph.forProof(id)));
    const names = new Set(byId.values());
    assert.deepEqual([...names].sort(), Object.keys(PARENT_CACHE_MANIFEST).sort());
    for (const [id, stem] of byId) {
      assert.equal(PARENT_CACHE_MANIFEST[stem]!.sectorSize, SdrGraph.forProof(id).sectorSize, `proof ${id}`);
    }
    assert.equal(byId.get(5), 'v28-sdr-parent-494d91dc80f2df5272c4b9e129bc7ade9405225993af9fe34e6542a39a47554b');
  });

  it('gives SyntheticPoRep and NI-PoRep proofs their own caches', () => {
    // docs/spec/proofs.md §Parent cache (computed; not in the manifest)
    const stems: [number, string][] = [
      [10, '1aa0c04f9b6b2ba6ece696274b0f0b53438c9acd1ae1b3943d837bacb65ad66b'],
      [13, '716c0c62d7111a1f43ddbc54102052f151fdf2162ba7605786aa51c495aa6e65'],
      [15, '896a357165f80a0aedd30a419e412a4ef3e8d95718896655dd42fd415eab41a2'],
      [18, 'e6ed6d53a2e35ffd6bf01b8a00fe56067c8df7b23c2c016363e452cad2621344'],
    ];
    for (const [id, h] of stems) assert.equal(parentCacheId(SdrGraph.forProof(id)), `v28-sdr-parent-${h}`);
  });
});

describe('parent cache content', () => {
  for (const backend of ['ts', 'native'] as const) {
    const skip = backend === 'native' && !sdrNative() && 'native addon not built';
    it(`2KiB caches match parent_cache.json (${backend})`, { skip }, async () => {
      for (const id of [0, 5]) {
        const dir = join(await dirP, `2k-${backend}`);
        const r = await writeParentCache(SdrGraph.forProof(id), { dir, backend, threads: 1 });
        assert.equal(r.matches, true, `proof ${id}: ${r.digest}`);
        assert.equal(r.bytes, 64 * 56);
        assert.equal((await readFile(r.path)).length, 64 * 56);
      }
    });
  }

  it('8MiB caches match parent_cache.json (V1 and V1_1)', async () => {
    // 262144 nodes × 14 parents: ~0.5 s a graph natively (AVX-512 BLAKE2b)
    const dir = join(await dirP, '8m');
    // without the addon BLAKE2b goes through node:crypto per call (~45 µs a node): check one graph, 2 threads
    for (const id of sdrNative() ? [1, 6] : [6]) {
      const r = await writeParentCache(SdrGraph.forProof(id), { dir, threads: id === 6 ? 2 : 1, write: id === 6 });
      assert.equal(r.matches, true, `proof ${id}: ${r.digest}`);
      assert.equal(r.bytes, 262144 * 56);
    }
  });

  it('streams chunks in node order from worker threads', async () => {
    const g = SdrGraph.forProof(5);
    const whole = new Uint32Array(64 * 14);
    g.fillParents(0, 64, whole, 'ts');
    const got: number[] = [];
    for await (const { start, parents } of parentChunks(g, { chunkNodes: 7, threads: 2 })) {
      assert.equal(start, got.length / 14);
      got.push(...parents);
    }
    assert.deepEqual(got, Array.from(whole));
  });

  it('reads ranges back and regenerates a truncated file', async () => {
    const dir = join(await dirP, 'ensure');
    const g = SdrGraph.forProof(5);
    const path = await ensureParentCache(g, { dir });
    const r = await ParentCacheReader.open(path, 64);
    const out = new Uint32Array(3 * 14);
    await r.read(4, 3, out);
    await r.close();
    assert.deepEqual(Array.from(out.subarray(0, 14)), Array.from(g.parents(4)));
    await assert.rejects(ParentCacheReader.open(path, 65), /expected/);
    // corrupt: wrong size → regenerated
    await truncate(path, 100);
    assert.equal(await ensureParentCache(g, { dir }), path);
    assert.equal((await readFile(path)).length, 64 * 56);
  });

  it('replaces a same-size file whose digest differs from the manifest when verifying', async () => {
    const dir = join(await dirP, 'verify');
    const g = SdrGraph.forProof(0);
    const path = await ensureParentCache(g, { dir });
    await writeFile(path, Buffer.alloc(64 * 56));
    // without verify a file of the right size is trusted (as rust does unless FIL_PROOFS_VERIFY_CACHE is set)
    await ensureParentCache(g, { dir, verify: false });
    assert.notEqual(await digestParentCacheFile(path), PARENT_CACHE_MANIFEST[parentCacheId(g)]!.digest);
    await ensureParentCache(g, { dir, verify: true });
    assert.equal(await digestParentCacheFile(path), PARENT_CACHE_MANIFEST[parentCacheId(g)]!.digest);
  });
});

describe('parent cache manifest collisions', () => {
  it('lets a test graph whose name collides with a manifest entry opt out of the check', async () => {
    // porep_id 0 with API 1.2 (as eigerco/polka-storage seals): the name of proof 0 (API 1.0), other content
    const g = new SdrGraph(64, new Uint8Array(32), '1.2.0');
    const dir = join(await dirP, 'collide');
    assert.equal(parentCacheId(g), parentCacheId(SdrGraph.forProof(0)));
    await assert.rejects(writeParentCache(g, { dir }), /differs from the published/);
    const r = await writeParentCache(g, { dir, checkManifest: false });
    assert.equal(r.matches, false);
    const back = new Uint32Array((await readFile(r.path)).buffer.slice(0));
    assert.deepEqual(Array.from(back.subarray(2 * 14, 3 * 14)), Array.from(g.parents(2)));
  });
});
