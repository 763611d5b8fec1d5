import assert from 'node:assert/strict';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ApiVersion } from './constants.js';
import { SdrGraph } from './graph.js';
import { labelChunkTs, labelLayerFileName, labelSector, planLabelMemory } from './labels.js';
import { sdrNative } from './native.js';
import { writeParentCache } from './parent-cache.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdr-labels-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

const native = sdrNative();
const backends = ['ts', 'native'] as const;
const skipNative = (b: string) => b === 'native' && !native && 'native addon not built';

async function label(
  graph: SdrGraph,
  name: string,
  layers: number,
  extra: Partial<Parameters<typeof labelSector>[0]> = {},
  replicaId = new Uint8Array(32).fill(9),
) {
  const parentCachePath = (await writeParentCache(graph, { dir: join(dir, 'parents'), threads: 1 })).path;
  return labelSector({
    graph,
    replicaId,
    layers,
    cacheDir: join(dir, name),
    parentCachePath,
    memoryBudget: 1 << 30,
    resume: false,
    ...extra,
  });
}

describe('SDR labels', () => {
  // rust-fil-proofs storage-proofs-porep/tests/stacked_vanilla.rs test_stacked_porep_generate_labels:
  // replica_id [9;32], 11 layers, the last label of the last layer (docs/spec/proofs.md §Test vectors)
  const vectors: [number, number, ApiVersion, string][] = [
    [64, 0, '1.0.0', '04ba0f9a6ba9fad35e4806d183a281eab3c25afa9a1bd5e3378da6f1f4f46204'],
    [128, 0, '1.0.0', '86daa8c4521e197e48c1fae6c9a1e85ab894a8883b9f23cebe531ddcd1004c23'],
    [64, 123, '1.1.0', 'cfef0db78bf3b3ab9f1169774d2e7a77bc9054499d954834b51ca7c788110206'],
    [128, 123, '1.2.0', '6d67c468cf81ab2289c1c9c72fa8777a232de4c1323dc0c6bd552ccc187c770f'],
  ];
  for (const backend of backends) {
    for (const windowed of [false, true]) {
      it(`reproduces rust-fil-proofs' last labels (${backend}, ${windowed ? 'windowed' : 'memory'})`, {
        skip: skipNative(backend),
      }, async () => {
        for (const [nodes, porepByte, api, expected] of vectors) {
          const g = new SdrGraph(nodes, new Uint8Array(32).fill(porepByte), api);
          const opts = windowed ? { windowNodes: 16, chunkNodes: 4, residentPrevNodes: 20 } : {};
          const r = await label(g, `vec-${backend}-${windowed}-${nodes}-${api}`, 11, { backend, ...opts });
          assert.equal(r.plan.mode, windowed ? 'windowed' : 'memory');
          assert.equal(r.layerPaths.length, 11);
          assert.ok(r.layerPaths[10]!.endsWith('sc-02-data-layer-11.dat'));
          const last = await readFile(r.layerPaths[10]!);
          assert.equal(last.length, nodes * 32);
          assert.equal(last.subarray((nodes - 1) * 32).toString('hex'), expected, `${nodes} nodes, API ${api}`);
        }
      });
    }
  }

  it('native and TypeScript kernels give identical layers (4096 nodes, both plans)', {
    skip: !native && 'native addon not built',
  }, async () => {
    const g = new SdrGraph(4096, new Uint8Array(32).fill(5), '1.1.0');
    const rid = new Uint8Array(32).map((_, i) => (i * 37) & 0xff);
    rid[31] &= 0x3f;
    const a = await label(g, 'cmp-ts', 3, { backend: 'ts' }, rid);
    const b = await label(g, 'cmp-native', 3, { backend: 'native' }, rid);
    const c = await label(
      g,
      'cmp-win',
      3,
      { backend: 'native', windowNodes: 512, chunkNodes: 100, residentPrevNodes: 1000 },
      rid,
    );
    const d = await label(
      g,
      'cmp-win-ts',
      3,
      { backend: 'ts', windowNodes: 512, chunkNodes: 100, residentPrevNodes: 1000 },
      rid,
    );
    // native windowed with nothing resident: every older label through the file mappings
    const e = await label(g, 'cmp-win-map', 3, { backend: 'native', windowNodes: 256, chunkNodes: 64 }, rid);
    assert.equal(e.plan.residentPrevNodes, 0);
    for (let l = 0; l < 3; l++) {
      const la = await readFile(a.layerPaths[l]!);
      assert.ok(la.equals(await readFile(b.layerPaths[l]!)), `layer ${l + 1} native`);
      assert.ok(la.equals(await readFile(c.layerPaths[l]!)), `layer ${l + 1} native windowed`);
      assert.ok(la.equals(await readFile(d.layerPaths[l]!)), `layer ${l + 1} ts windowed`);
      assert.ok(la.equals(await readFile(e.layerPaths[l]!)), `layer ${l + 1} native windowed, mapped`);
      for (let i = 31; i < la.length; i += 32) assert.equal(la[i]! & 0xc0, 0);
    }
  });

  const fillSkip = !native?.sdrFill?.() && 'no second CPU (or no addon): parents are not copied ahead';

  it('one sector with its parents copied ahead by a second thread: the same layers (20480 nodes, memory and windowed)', {
    skip: fillSkip,
  }, async () => {
    const g = new SdrGraph(20480, new Uint8Array(32).fill(6), '1.1.0');
    const rid = new Uint8Array(32).map((_, i) => (i * 11 + 3) & 0xff);
    rid[31] &= 0x3f;
    const ts = await label(g, 'fill-ts', 3, { backend: 'ts', chunkNodes: 5000 }, rid);
    const on = await label(g, 'fill-on', 3, { backend: 'native', chunkNodes: 5000 }, rid);
    // windowed: the window slides every chunk, older DRG parents and every expander parent through file mappings
    const windowed = { backend: 'native', windowNodes: 8192, chunkNodes: 4096 } as const;
    const win = await label(g, 'fill-win', 3, windowed, rid);
    assert.equal(win.plan.mode, 'windowed');
    native!.sdrFill!(false);
    try {
      assert.equal(native!.sdrFill!(), false);
      const off = await label(g, 'fill-off', 3, { backend: 'native', chunkNodes: 5000 }, rid);
      const winOff = await label(g, 'fill-win-off', 3, windowed, rid);
      for (let l = 0; l < 3; l++) {
        const a = await readFile(ts.layerPaths[l]!);
        assert.ok(a.equals(await readFile(on.layerPaths[l]!)), `layer ${l + 1}, parents copied ahead`);
        assert.ok(a.equals(await readFile(off.layerPaths[l]!)), `layer ${l + 1}, one thread`);
        assert.ok(a.equals(await readFile(win.layerPaths[l]!)), `layer ${l + 1}, windowed, parents copied ahead`);
        assert.ok(a.equals(await readFile(winOff.layerPaths[l]!)), `layer ${l + 1}, windowed, one thread`);
      }
    } finally {
      native!.sdrFill!(true);
    }
  });

  it('parents copied ahead: any parent slot (recent, own, later, past the outputs) reads what the kernel would', {
    skip: fillSkip,
  }, () => {
    // a chunk of 9000 nodes written at slot 3000 of a 16000-slot buffer: parents anywhere in it, many of them
    // the node just before (never final when the copying thread runs ahead), the rest of the slots pre-filled
    const count = 9000;
    const outSlot = 3000;
    const slots = 16000;
    let x = 12345;
    const rnd = (n: number) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    const parents = new Uint32Array(count * 14);
    for (let i = 0; i < count; i++) {
      const own = outSlot + i;
      for (let k = 0; k < 6; k++) {
        const pick = rnd(8);
        parents[i * 14 + k] =
          pick < 3 ? Math.max(0, own - 1 - rnd(3)) : pick < 5 ? Math.max(0, own - rnd(2000)) : rnd(slots);
      }
      for (let k = 6; k < 14; k++) parents[i * 14 + k] = rnd(7000);
    }
    const base = Buffer.alloc(slots * 32);
    for (let i = 0; i < base.length; i++) base[i] = rnd(256);
    const prev = Buffer.alloc(7000 * 32);
    for (let i = 0; i < prev.length; i++) prev[i] = rnd(256);
    const rid = new Uint8Array(32).fill(7);
    rid[31] &= 0x3f;
    const expect = Buffer.from(base);
    labelChunkTs(rid, 2, 50000, count, parents, expect, outSlot, prev);
    for (const on of [true, false]) {
      native!.sdrFill!(on);
      try {
        const got = Buffer.from(base);
        native!.sdrLabelChunk(rid, 2, 50000, count, parents, got, outSlot, prev);
        assert.ok(got.equals(expect), `copied ahead: ${on}`);
        const l1 = Buffer.from(base);
        const e1 = Buffer.from(base);
        labelChunkTs(rid, 1, 50000, count, parents, e1, outSlot, null);
        native!.sdrLabelChunk(rid, 1, 50000, count, parents, l1, outSlot, null);
        assert.ok(l1.equals(e1), `layer 1, copied ahead: ${on}`);
      } finally {
        native!.sdrFill!(true);
      }
    }
    assert.throws(() => native!.sdrFill!(1 as unknown as boolean), /on must be a boolean/);
  });

  it('native windowed kernel reads the same labels by pread and through mappings', {
    skip: !native && 'native addon not built',
  }, async () => {
    const g = new SdrGraph(512, new Uint8Array(32).fill(4), '1.1.0');
    const r = await label(g, 'fd-vs-map', 2, { backend: 'native' });
    const l1 = await readFile(r.layerPaths[0]!);
    const l2 = await readFile(r.layerPaths[1]!);
    const parents = new Uint32Array(512 * 14);
    g.fillParents(0, 512, parents);
    // label nodes 400..511 of layer 2 with a window from node 300: DRG parents before 300 and all expander
    // parents come from the files
    const fd1 = openSync(r.layerPaths[0]!, 'r');
    const fd2 = openSync(r.layerPaths[1]!, 'r');
    try {
      for (const viaMap of [false, true]) {
        const m1 = viaMap ? native!.sdrMapFile(fd1, l1.length, true) : fd1;
        const m2 = viaMap ? native!.sdrMapFile(fd2, l2.length, true) : fd2;
        const win = Buffer.alloc(212 * 32);
        l2.copy(win, 0, 300 * 32, 400 * 32); // nodes 300..399 already labeled
        const rid = new Uint8Array(32).fill(9);
        native!.sdrLabelChunkWindowed(rid, 2, 400, 112, parents.subarray(400 * 14), win, 300, m2, [], 1, 0, m1);
        assert.ok(win.subarray(100 * 32).equals(l2.subarray(400 * 32)), viaMap ? 'mapped' : 'pread');
        if (typeof m1 !== 'number') native!.sdrUnmap(m1);
        if (typeof m2 !== 'number') native!.sdrUnmap(m2);
      }
    } finally {
      closeSync(fd1);
      closeSync(fd2);
    }
  });

  it('portable C SHA-256 and SHA-NI agree', { skip: !native && 'native addon not built' }, async () => {
    const g = new SdrGraph(1024, new Uint8Array(32).fill(6), '1.1.0');
    const before = native!.sdrShaBackend();
    try {
      native!.sdrShaBackend('portable');
      const a = await label(g, 'sha-portable', 2, { backend: 'native' });
      native!.sdrShaBackend('sha-ni');
      const b = await label(g, 'sha-ni', 2, { backend: 'native' });
      for (let l = 0; l < 2; l++)
        assert.ok((await readFile(a.layerPaths[l]!)).equals(await readFile(b.layerPaths[l]!)));
    } finally {
      native!.sdrShaBackend(before as 'sha-ni');
    }
  });

  it('resumes after the last complete layer', async () => {
    const g = new SdrGraph(256, new Uint8Array(32).fill(1), '1.1.0');
    const a = await label(g, 'resume', 3);
    const l1 = (await stat(a.layerPaths[0]!)).mtimeMs;
    const l3 = await readFile(a.layerPaths[2]!);
    await unlink(a.layerPaths[1]!);
    await unlink(a.layerPaths[2]!);
    const b = await label(g, 'resume', 3, { resume: true });
    assert.equal(b.labels, 2 * 256);
    assert.equal((await stat(b.layerPaths[0]!)).mtimeMs, l1);
    assert.ok((await readFile(b.layerPaths[2]!)).equals(l3));
  });

  it('checks its inputs', async () => {
    const g = new SdrGraph(64, new Uint8Array(32).fill(2), '1.1.0');
    await assert.rejects(label(g, 'bad', 2, {}, new Uint8Array(31)), /replica_id/);
    await assert.rejects(label(g, 'bad', 0), /layer count/);
    const cur = new Uint8Array(64 * 32);
    const parents = new Uint32Array(14).fill(64);
    assert.throws(() => labelChunkTs(new Uint8Array(32), 1, 5, 1, parents, cur, 5, null), /outside/);
    if (native)
      assert.throws(() => native.sdrLabelChunk(new Uint8Array(32), 1, 5, 1, parents, cur, 5, null), /outside/);
    assert.throws(() => labelChunkTs(new Uint8Array(32), 2, 5, 1, parents, cur, 5, null), /previous layer/);
  });

  it('plans memory: both layers in RAM up to 512MiB, a bounded window for 32GiB on a 24 GiB box', () => {
    const GiB = 2 ** 30;
    const budget = 0.6 * 24 * GiB;
    const small = planLabelMemory(2 ** 24, budget);
    assert.equal(small.mode, 'memory');
    assert.ok(small.bytes < 1.1 * GiB);
    const big = planLabelMemory(2 ** 30, budget);
    assert.equal(big.mode, 'windowed');
    assert.ok(big.bytes <= budget, `${big.bytes} > ${budget}`);
    assert.ok(big.windowNodes * 32 <= GiB);
    assert.ok(big.residentPrevNodes < 2 ** 30);
    assert.equal(labelLayerFileName(3), 'sc-02-data-layer-3.dat');
  });
});
