import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SdrGraph } from './graph.js';
import { labelSector } from './labels.js';
import { labelSectorsBatch } from './labels-batch.js';
import { sdrNative } from './native.js';
import { writeParentCache } from './parent-cache.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdr-batch-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

const native = sdrNative();
const hasBatch = !!native?.sdrLabelChunkBatch;
const noBatch = !hasBatch && 'native batch kernel not built';

function rids(k: number, salt: number): Uint8Array[] {
  return Array.from({ length: k }, (_, s) => {
    const r = new Uint8Array(32).map((_, i) => (i * 31 + s * 97 + salt) & 0xff);
    r[31]! &= 0x3f;
    return r;
  });
}

const caches = new Map<SdrGraph, string>();
async function parentCache(g: SdrGraph): Promise<string> {
  let p = caches.get(g);
  if (!p) {
    p = (await writeParentCache(g, { dir: join(dir, 'parents'), threads: 1 })).path;
    caches.set(g, p);
  }
  return p;
}

/** Every layer file of each sector, concatenated. */
async function layersOf(paths: string[]): Promise<Buffer> {
  return Buffer.concat(await Promise.all(paths.map((p) => readFile(p))));
}

async function single(g: SdrGraph, name: string, rid: Uint8Array, layers: number, backend: 'ts' | 'native') {
  const r = await labelSector({
    graph: g,
    replicaId: rid,
    layers,
    cacheDir: join(dir, name),
    parentCachePath: await parentCache(g),
    backend,
    resume: false,
    memoryBudget: 1 << 30,
  });
  return layersOf(r.layerPaths);
}

async function batch(g: SdrGraph, name: string, ids: Uint8Array[], layers: number, extra: object = {}) {
  const r = await labelSectorsBatch({
    graph: g,
    sectors: ids.map((replicaId, i) => ({ replicaId, cacheDir: join(dir, `${name}-${i}`) })),
    layers,
    parentCachePath: await parentCache(g),
    resume: false,
    memoryBudget: 1 << 30,
    ...extra,
  });
  return r;
}

async function okLayers(r: Awaited<ReturnType<typeof batch>>, i: number): Promise<Buffer> {
  const s = r.sectors[i]!;
  assert.ok(s.ok, `sector ${i}: ${s.ok ? '' : s.error.message}`);
  return layersOf(s.layerPaths);
}

describe('SDR batch labels', () => {
  // 2KiB: 64 nodes; API 1.1.0 graph, 11 layers as in the rust-fil-proofs vectors
  const g2k = new SdrGraph(64, new Uint8Array(32).fill(3), '1.1.0');

  it('K = 1…8 sectors labeled together give the single-sector bytes (native lanes, TypeScript)', {
    skip: noBatch,
  }, async () => {
    const layers = 11;
    const before = native!.sdrShaBackend();
    try {
      for (let k = 1; k <= 8; k++) {
        const ids = rids(k, k);
        const ref = await Promise.all(ids.map((rid, i) => single(g2k, `ref-${k}-${i}`, rid, layers, 'ts')));
        const one = await single(g2k, `one-${k}`, ids[k - 1]!, layers, 'native');
        assert.ok(one.equals(ref[k - 1]!), `K=${k}: single-sector native vs TypeScript`);
        // SHA-NI streams (schedules from AVX-512 or from sha256msg1/2), AVX2 lanes, portable C: each the path
        // named by sdrLanesBackend
        const runs: [string, 'sha-ni' | 'portable', 'avx512' | 'avx2' | 'portable', RegExp][] = [
          ['sha-ni+avx512', 'sha-ni', 'avx512', /^(sha-ni x\d(, avx512 sched)?|avx2 x8|portable)( \+ avx512 x16)?$/],
          ['sha-ni', 'sha-ni', 'avx2', /^(sha-ni x\d|avx2 x8|portable)$/],
          ['avx2', 'portable', 'avx2', /^(avx2 x8|portable)$/],
          ['portable', 'portable', 'portable', /^portable$/],
        ];
        for (const [name, sha, lanes, expect] of runs) {
          native!.sdrShaBackend(sha);
          native!.sdrLanesBackend!(lanes);
          assert.match(native!.sdrLanesBackend!(), expect);
          const r = await batch(g2k, `b-${k}-${name}`, ids, layers, { backend: 'native' });
          assert.equal(r.mode, 'batch');
          assert.equal(r.kernel, 'native');
          assert.equal(r.labels, k * layers * 64);
          for (let i = 0; i < k; i++) assert.ok((await okLayers(r, i)).equals(ref[i]!), `K=${k} ${name} sector ${i}`);
        }
        native!.sdrShaBackend(before as 'sha-ni');
        const t = await batch(g2k, `t-${k}`, ids, layers, { backend: 'ts' });
        assert.equal(t.kernel, 'ts');
        for (let i = 0; i < k; i++) assert.ok((await okLayers(t, i)).equals(ref[i]!), `K=${k} ts sector ${i}`);
      }
    } finally {
      native!.sdrShaBackend(before as 'sha-ni');
      native!.sdrLanesBackend!('avx512');
    }
  });

  it('K = 16, 17, 20, 33, 48: each 16 sectors in AVX-512 lanes (32 at a time), the rest in SHA-NI streams, give the single-sector bytes', {
    skip: noBatch,
  }, async () => {
    const layers = 11;
    const before = native!.sdrShaBackend();
    try {
      for (const k of [16, 17, 20, 33, 48]) {
        const ids = rids(k, 100 + k);
        const ref = await Promise.all(ids.map((rid, i) => single(g2k, `ref16-${k}-${i}`, rid, layers, 'ts')));
        // SHA-NI streams for the rest, or (SHA-NI off) AVX2 lanes / portable C; AVX-512 lanes where the CPU has them
        const runs: [string, 'sha-ni' | 'portable', RegExp][] = [
          ['sha-ni', 'sha-ni', /^(sha-ni x\d(, avx512 sched)?|avx2 x8|portable)( \+ avx512 x16)?$/],
          ['portable', 'portable', /^(avx2 x8|portable)( \+ avx512 x16)?$/],
        ];
        for (const [name, sha, expect] of runs) {
          native!.sdrShaBackend(sha);
          native!.sdrLanesBackend!('avx512');
          assert.match(native!.sdrLanesBackend!(), expect);
          const r = await batch(g2k, `z-${k}-${name}`, ids, layers, { backend: 'native' });
          assert.equal(r.mode, 'batch');
          assert.equal(r.labels, k * layers * 64);
          for (let i = 0; i < k; i++) assert.ok((await okLayers(r, i)).equals(ref[i]!), `K=${k} ${name} sector ${i}`);
        }
      }
    } finally {
      native!.sdrShaBackend(before as 'sha-ni');
      native!.sdrLanesBackend!('avx512');
    }
  });

  it('sdrShaniStreams: sha256rnds2 in one chain and in 4 (two positive figures, or null without SHA-NI)', {
    skip: !native?.sdrShaniStreams && 'addon without sdrShaniStreams',
  }, () => {
    const r = native!.sdrShaniStreams!(10_000);
    if (native!.sdrShaBackend() === 'sha-ni') {
      assert.equal(r?.length, 2);
      for (const ns of r!) assert.ok(Number.isFinite(ns) && ns > 0, `${ns} ns`);
    } else assert.equal(r, null);
    for (const bad of [1, 2e9, Number.NaN, '1000' as unknown as number])
      assert.throws(() => native!.sdrShaniStreams!(bad), /rounds must be a number from 2 to 1e9/);
  });

  it('windowed plan (large sectors): K = 1…8, 17, 36 give the single-sector bytes', { skip: noBatch }, async () => {
    const g = new SdrGraph(4096, new Uint8Array(32).fill(7), '1.1.0');
    // 17 and 36: AVX-512 lanes (16, then 32 + the rest) where the CPU has them
    for (const k of [1, 2, 3, 5, 8, 17, 36]) {
      const ids = rids(k, 200 + k);
      const ref = await Promise.all(ids.map((rid, i) => single(g, `wref-${k}-${i}`, rid, 3, 'native')));
      const r = await batch(g, `w-${k}`, ids, 3, { windowNodes: 512, chunkNodes: 100 });
      assert.equal(r.plan, 'windowed');
      assert.equal(r.mode, 'batch');
      assert.equal(r.labels, k * 3 * 4096);
      for (let i = 0; i < k; i++) assert.ok((await okLayers(r, i)).equals(ref[i]!), `K=${k} sector ${i}`);
    }
    // 2KiB, 11 layers, a window of 16 nodes against the TypeScript reference
    const ids = rids(3, 250);
    const w = await batch(g2k, 'w2k', ids, 11, { windowNodes: 16, chunkNodes: 4 });
    assert.equal(w.plan, 'windowed');
    for (let i = 0; i < 3; i++)
      assert.ok((await okLayers(w, i)).equals(await single(g2k, `w2k-ref-${i}`, ids[i]!, 11, 'ts')), `sector ${i}`);
  });

  it("reproduces rust-fil-proofs' last label in every sector of a batch", { skip: noBatch }, async () => {
    // storage-proofs-porep test_stacked_porep_generate_labels: 64 nodes, porep id [123;32], API 1.1.0
    const g = new SdrGraph(64, new Uint8Array(32).fill(123), '1.1.0');
    const r = await batch(g, 'vec', [new Uint8Array(32).fill(9), new Uint8Array(32).fill(9)], 11);
    for (let i = 0; i < 2; i++) {
      const s = r.sectors[i]!;
      assert.ok(s.ok);
      const last = await readFile(s.layerPaths[10]!);
      assert.equal(
        last.subarray(63 * 32).toString('hex'),
        'cfef0db78bf3b3ab9f1169774d2e7a77bc9054499d954834b51ca7c788110206',
      );
    }
  });

  it('a failing sector fails alone', async () => {
    const ids = rids(4, 50);
    await writeFile(join(dir, 'a-file'), 'x');
    const sectors = ids.map((replicaId, i) => ({ replicaId, cacheDir: join(dir, `fail-${i}`) }));
    sectors[1] = { replicaId: ids[1]!, cacheDir: join(dir, 'a-file', 'cache') }; // not a directory
    sectors[2] = { replicaId: new Uint8Array(31), cacheDir: join(dir, 'fail-2') };
    const runs = [
      { backend: 'ts' as const },
      ...(hasBatch ? [{ backend: 'native' as const }, { windowNodes: 16, chunkNodes: 4 }] : []),
    ];
    for (const extra of runs) {
      const backend = JSON.stringify(extra);
      const r = await labelSectorsBatch({
        graph: g2k,
        sectors,
        layers: 2,
        parentCachePath: await parentCache(g2k),
        resume: false,
        ...extra,
      });
      assert.equal(r.sectors.length, 4);
      const s1 = r.sectors[1]!;
      const s2 = r.sectors[2]!;
      assert.ok(!s1.ok && /ENOTDIR|EEXIST|not a directory/i.test(s1.error.message), backend);
      assert.ok(!s2.ok && /replica_id/.test(s2.error.message), backend);
      for (const i of [0, 3]) {
        const ref = await single(g2k, `fail-ref-${i}`, ids[i]!, 2, 'ts');
        assert.ok((await okLayers(r, i)).equals(ref), `${backend} sector ${i}`);
      }
    }
    await assert.rejects(labelSectorsBatch({ graph: g2k, sectors: [], layers: 2 }), /1 to 64 sectors/);
  });

  it('resumes each sector after its last complete layer', async () => {
    const ids = rids(3, 70);
    const first = await batch(g2k, 'resume', ids, 3);
    const whole = await Promise.all([0, 1, 2].map((i) => okLayers(first, i)));
    // sector 0 lost layers 2 and 3, sector 1 lost layer 3, sector 2 is complete
    await unlink(join(dir, 'resume-0', 'sc-02-data-layer-2.dat'));
    await unlink(join(dir, 'resume-0', 'sc-02-data-layer-3.dat'));
    await unlink(join(dir, 'resume-1', 'sc-02-data-layer-3.dat'));
    const again = await batch(g2k, 'resume', ids, 3, { resume: true });
    assert.equal(again.labels, 3 * 64);
    for (let i = 0; i < 3; i++) assert.ok((await okLayers(again, i)).equals(whole[i]!), `sector ${i}`);
    if (!hasBatch) return;
    // the same with windows: the previous layers are read back from their files
    await unlink(join(dir, 'resume-0', 'sc-02-data-layer-2.dat'));
    await unlink(join(dir, 'resume-0', 'sc-02-data-layer-3.dat'));
    await unlink(join(dir, 'resume-1', 'sc-02-data-layer-3.dat'));
    const win = await batch(g2k, 'resume', ids, 3, { resume: true, windowNodes: 16, chunkNodes: 4 });
    assert.equal(win.plan, 'windowed');
    assert.equal(win.labels, 3 * 64);
    for (let i = 0; i < 3; i++) assert.ok((await okLayers(win, i)).equals(whole[i]!), `windowed sector ${i}`);
  });

  it('K × the memory plan does not fit: windows (native), else one sector after another', async () => {
    const ids = rids(2, 90);
    const refs = await Promise.all([0, 1].map((i) => single(g2k, `seq-ref-${i}`, ids[i]!, 2, 'ts')));
    const ts = await batch(g2k, 'seq', ids, 2, { memoryBudget: 64 * 32 * 3, backend: 'ts' });
    assert.equal(ts.mode, 'sequential');
    for (let i = 0; i < 2; i++) assert.ok((await okLayers(ts, i)).equals(refs[i]!), `sector ${i}`);
    if (!hasBatch) return;
    const nat = await batch(g2k, 'win', ids, 2, { memoryBudget: 64 * 32 * 3 });
    assert.equal(nat.mode, 'batch');
    assert.equal(nat.plan, 'windowed');
    for (let i = 0; i < 2; i++) assert.ok((await okLayers(nat, i)).equals(refs[i]!), `sector ${i}`);
  });

  it('groups of parents (expander, final DRG) gathered ahead by a second thread: K = 3 and 17 give the single-sector bytes', {
    skip: (noBatch || !native?.sdrFill?.()) && 'no batch kernel, or no second CPU',
  }, async () => {
    // 20480 nodes in chunks of 5000 (kernel calls of 5000, 5000, 5000, 5000 and 480 nodes: the last without it)
    const g = new SdrGraph(20480, new Uint8Array(32).fill(12), '1.1.0');
    for (const k of [3, 17]) {
      const ids = rids(k, 40 + k);
      const refs = await Promise.all(ids.map((id, i) => single(g, `fill-ref-${k}-${i}`, id, 3, 'ts')));
      const on = await batch(g, `fill-on-${k}`, ids, 3, { chunkNodes: 5000 });
      native!.sdrFill!(false);
      const off = await batch(g, `fill-off-${k}`, ids, 3, { chunkNodes: 5000 }).finally(() => native!.sdrFill!(true));
      for (let i = 0; i < k; i++) {
        assert.ok((await okLayers(on, i)).equals(refs[i]!), `K = ${k}, sector ${i}, gathered ahead`);
        assert.ok((await okLayers(off, i)).equals(refs[i]!), `K = ${k}, sector ${i}, one thread`);
      }
    }
  });

  it('8MiB, K = 2: the batch gives the single-sector native bytes', { skip: noBatch }, async () => {
    const g = new SdrGraph(2 ** 18, new Uint8Array(32).fill(8), '1.1.0');
    const ids = rids(2, 11);
    const r = await batch(g, 'b8m', ids, 2);
    for (let i = 0; i < 2; i++) {
      const got = await okLayers(r, i);
      assert.ok(got.equals(await single(g, `b8m-ref-${i}`, ids[i]!, 2, 'native')), `sector ${i}`);
    }
  });
});
