import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { porepIdFor } from '../registry.js';
import { chacha8Keystream } from './chacha8.js';
import { FeistelCipher, feistelPrecompute } from './feistel.js';
import { deriveDrgSeed, deriveFeistelKeys, feistelKeysBigint, SdrGraph } from './graph.js';
import { sdrNative } from './native.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('ChaCha8', () => {
  it('matches the published ChaCha8 keystream for the zero key and nonce', () => {
    // draft-strombergson-chacha-test-vectors, TC1, 8 rounds, 256-bit key
    assert.equal(
      hex(chacha8Keystream(new Uint8Array(32), 64)),
      '3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e' +
        '984ce172b9216f419f445367456d5619314a42a3da86b001387bfdb80e0cfe42',
    );
  });
});

describe('SDR seeds', () => {
  // docs/spec/proofs.md §Graph seeds (values behind the parent-cache names and digests of parent_cache.json)
  const table: [number, string, string[]][] = [
    [
      0,
      '623f03efd4cbc4f029203ee913d026a4e2d9913025a8aed04fec97a0',
      ['8fb5fa185a23bce6', 'd567abafe374f26e', 'a2f3f4da23359acc', 'cbf4931c8d02e1a5'],
    ],
    [
      5,
      '3be68542ec229705b99be29c2106b0e4222ccd1d0311398ea4d22d7d',
      ['90b15b1c4509e47a', 'dc5378c03df3f21b', 'fa76fc24deb9d7ac', 'cdec5e11f7b30a54'],
    ],
    [
      8,
      'ba0350183955dc9f07e73503f5c63ff1bd9c22501363983de241f74a',
      ['35a20d6c881b3e73', '11063648dc13a120', 'a8c1ad029b31fcb5', 'd299d840a5770469'],
    ],
    [
      9,
      'bab80f31f3694d562279ef610ca1f43e36050d6d7fad9613d62483b8',
      ['a3e0f807b2608bbf', '58283749bc2d4bde', '2a81f68634313622', 'ffdfafcd62044988'],
    ],
  ];
  for (const [id, seed, keys] of table) {
    it(`derives the DRG seed and Feistel keys of proof ${id}`, () => {
      const porepId = porepIdFor(id);
      assert.equal(hex(deriveDrgSeed(porepId)), seed);
      assert.deepEqual(
        feistelKeysBigint(deriveFeistelKeys(porepId)).map((k) => k.toString(16).padStart(16, '0')),
        keys,
      );
    });
  }
});

describe('Feistel permutation', () => {
  it('is a bijection on [0, N) for a non-power-of-4 N', () => {
    const N = 8 * 100;
    const f = new FeistelCipher(deriveFeistelKeys(new Uint8Array(32)), feistelPrecompute(N));
    const seen = new Set<number>();
    for (let i = 0; i < N; i++) {
      const v = f.permute(i);
      assert.ok(v >= 0 && v < N);
      seen.add(v);
    }
    assert.equal(seen.size, N);
  });
  it('sizes its domain as rust precompute() does', () => {
    assert.equal(feistelPrecompute(512).halfBits, 5); // 2KiB
    assert.equal(feistelPrecompute(2 ** 33).halfBits, 17); // 32GiB
    assert.equal(feistelPrecompute(2 ** 34).halfBits, 17); // 64GiB
    assert.equal(feistelPrecompute(1).halfBits, 1);
  });
});

describe('SDR graph parents', () => {
  it('gives the published parent rows of 2KiB V1_1 (proof 5)', () => {
    // docs/spec/proofs.md §DRG parents, consistent with the published cache digest
    const g = SdrGraph.forProof(5);
    const rows = [
      [0, 0, 0, 0, 0, 0, 4, 9, 60, 1, 14, 26, 26, 4],
      [0, 0, 0, 0, 0, 0, 6, 12, 35, 43, 23, 34, 58, 2],
      [1, 1, 1, 0, 1, 0, 30, 28, 55, 63, 63, 36, 37, 36],
      [2, 1, 1, 2, 2, 2, 10, 46, 59, 7, 43, 29, 9, 16],
      [3, 3, 1, 2, 3, 0, 55, 9, 44, 7, 0, 23, 45, 29],
      [4, 4, 4, 1, 2, 4, 55, 40, 57, 39, 25, 20, 39, 12],
    ];
    for (const [node, row] of rows.entries()) assert.deepEqual(Array.from(g.parents(node)), row, `node ${node}`);
  });

  it('puts the predecessor in DRG slot 0 from API 1.1 and in slot 5 in API 1.0', () => {
    const porepId = new Uint8Array(32);
    const v10 = new SdrGraph(1024, porepId, '1.0.0');
    const v11 = new SdrGraph(1024, porepId, '1.1.0');
    for (const node of [2, 3, 100, 1023]) {
      const a = v10.parents(node);
      const b = v11.parents(node);
      assert.equal(a[5], node - 1);
      assert.equal(b[0], node - 1);
      // same random draws, shifted by one slot
      assert.deepEqual(Array.from(a.subarray(0, 5)), Array.from(b.subarray(1, 6)));
      for (let k = 0; k < 6; k++) assert.ok(a[k]! < node && b[k]! < node);
    }
  });

  it('API 1.1 and 1.2 give the same graph', () => {
    const a = new SdrGraph(4096, new Uint8Array(32).fill(7), '1.1.0');
    const b = new SdrGraph(4096, new Uint8Array(32).fill(7), '1.2.0');
    for (const node of [0, 1, 2, 77, 4095]) assert.deepEqual(a.parents(node), b.parents(node));
  });

  it('names the graph as rust StackedGraph::identifier() does', () => {
    assert.equal(
      SdrGraph.forProof(5).identifier(),
      'stacked_graph::StackedGraph{expansion_degree: 8 base_graph: drgraph::BucketGraph{size: 64; degree: 6; hasher: poseidon_hasher} }',
    );
  });

  it('rejects nodes outside the graph', () => {
    assert.throws(() => SdrGraph.forProof(5).parents(64), RangeError);
    assert.throws(() => new SdrGraph(1, new Uint8Array(32), '1.1.0'), RangeError);
  });

  const native = sdrNative();
  it('native and TypeScript parent generation agree', { skip: !native && 'native addon not built' }, () => {
    // whole 2KiB graphs (both API versions), and samples of 8MiB and 32GiB graphs (32GiB exercises u64 Feistel
    // values, the API 1.0 u32 truncation and 2^30-node DRG buckets)
    const cases: [number, number, number][] = [
      [0, 0, 64],
      [5, 0, 64],
      [6, 123_456, 256],
      [3, 2 ** 30 - 300, 300],
      [8, 2 ** 29 + 5, 200],
      [4, 2 ** 31 - 100, 100],
    ];
    // every SIMD width of the Feistel BLAKE2b the CPU offers
    const widths = new Set(['scalar', 'avx2', 'avx512'].map((w) => native!.sdrBlake2bBackend(w as 'scalar')));
    try {
      for (const width of widths) {
        native!.sdrBlake2bBackend(width as 'scalar');
        for (const [id, start, count] of cases) {
          const g = SdrGraph.forProof(id);
          const a = new Uint32Array(count * 14);
          const b = new Uint32Array(count * 14);
          g.fillParents(start, count, a, 'ts');
          g.fillParents(start, count, b, 'native');
          assert.deepEqual(a, b, `${width}: proof ${id} nodes ${start}..${start + count}`);
          for (let i = 0; i < count; i++) for (let k = 0; k < 14; k++) assert.ok(a[i * 14 + k]! < g.nodes);
        }
      }
    } finally {
      native!.sdrBlake2bBackend('auto');
    }
  });
});
