import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  baseTreeFileNames,
  buildTreeInMemory,
  compoundRoot,
  defaultRowsToDiscard,
  diskStoreLayout,
  isTreeSizeValid,
  levelCacheLayout,
  MerkleTreeBuilder,
  merkleProof,
  type NodeHasher,
  StoreWriter,
  sha256NodeHasher,
  storeFileName,
  storeFileReader,
  treeCacheSize,
  treeLen,
  treeRoot,
  treeRowCount,
  verifyMerkleProof,
} from './merkle.js';

/** A stand-in n-ary hash (SHA-256 of the concatenated children) to exercise arities 4 and 8. */
function shaHasher(arity: number): NodeHasher {
  return {
    arity,
    hashRow(input, output) {
      for (let i = 0; i * arity * 32 < input.length; i++) {
        const h = createHash('sha256')
          .update(input.subarray(i * arity * 32, (i + 1) * arity * 32))
          .digest();
        output.set(h, i * 32);
      }
    },
  };
}

/** Naive reference: every row from the one below, all in memory. */
function naiveRows(leaves: Uint8Array, h: NodeHasher): Uint8Array[] {
  const rows = [leaves];
  while (rows[rows.length - 1].length > 32) {
    const below = rows[rows.length - 1];
    const out = new Uint8Array(below.length / h.arity);
    for (let i = 0; i < out.length / 32; i++) {
      const o = new Uint8Array(32);
      h.hashRow(below.subarray(i * h.arity * 32, (i + 1) * h.arity * 32), o);
      out.set(o, i * 32);
    }
    rows.push(out);
  }
  return rows;
}

describe('merkle row math (merkletree 0.23)', () => {
  it('sizes and row counts', () => {
    assert.equal(treeLen(64, 2), 127);
    assert.equal(treeLen(2 ** 26, 2), 2 ** 27 - 1);
    assert.equal(treeLen(8 ** 10, 8), (8 ** 11 - 1) / 7);
    assert.equal(treeRowCount(64, 8), 3);
    assert.equal(treeRowCount(2 ** 27, 8), 10);
    assert.ok(isTreeSizeValid(512, 8));
    assert.ok(!isTreeSizeValid(128, 8));
    assert.ok(!isTreeSizeValid(96, 2));
    assert.throws(() => treeLen(128, 8), RangeError);
  });

  it('tree-r-last cache sizes (docs/spec/proofs.md §TreeR-last)', () => {
    // 2KiB: 64 leaves, 3 rows, discard 1 → root only
    assert.equal(defaultRowsToDiscard(64, 8), 1);
    assert.equal(treeCacheSize(64, 8, 1), 1);
    // 8MiB: 2^18 leaves, 7 rows, discard 2 → 8^3 + 8^2 + 8 + 1
    assert.equal(defaultRowsToDiscard(2 ** 18, 8), 2);
    assert.equal(treeCacheSize(2 ** 18, 8, 2), 585);
    // 512MiB: 2^24 leaves → 37,449 nodes
    assert.equal(treeCacheSize(2 ** 24, 8, 2), 37449);
    // 32GiB base trees: 2^27 leaves → 299,593 nodes = 9,586,976 bytes
    const lc = levelCacheLayout(2 ** 27, 8, 2);
    assert.equal(lc.storedNodes, 299593);
    assert.equal(lc.fileSize, 9586976);
    assert.equal(lc.firstStoredRow, 3);
    assert.deepEqual(lc.rowOffsets.slice(0, 4), [-1, -1, -1, 0]);
    // binary and quad limits
    assert.equal(defaultRowsToDiscard(2 ** 30, 2), 7);
    assert.equal(defaultRowsToDiscard(4 ** 10, 4), 5);
    assert.equal(defaultRowsToDiscard(8, 8), 0);
    assert.throws(() => treeCacheSize(64, 8, 2), RangeError);
  });

  it('DiskStore layout: leaves first, root last', () => {
    const l = diskStoreLayout(16, 2);
    assert.deepEqual(l.rowOffsets, [0, 16, 24, 28, 30]);
    assert.equal(l.storedNodes, 31);
    assert.equal(storeFileName('tree-d'), 'sc-02-data-tree-d.dat');
  });
});

describe('MerkleTreeBuilder', () => {
  for (const [arity, leaves] of [
    [2, 1],
    [2, 256],
    [4, 256],
    [8, 512],
  ] as const) {
    it(`arity ${arity}, ${leaves} leaves, pushed in odd chunks, equals the naive build`, () => {
      const h = arity === 2 ? sha256NodeHasher : shaHasher(arity);
      const data = randomBytes(leaves * 32);
      const rows = naiveRows(data, h);
      const mem = buildTreeInMemory(data, h);
      assert.deepEqual(Buffer.from(mem), Buffer.concat(rows));
      for (const step of [1, 3, 7, 64]) {
        const seen: Buffer[] = rows.map(() => Buffer.alloc(0));
        const b = new MerkleTreeBuilder(h, {
          leaves,
          onRow: (row, index, nodes) => {
            assert.equal(index * 32, seen[row].length, 'rows arrive in order');
            seen[row] = Buffer.concat([seen[row], nodes]);
          },
        });
        for (let i = 0; i < leaves; i += step) b.push(data.subarray(i * 32, Math.min(leaves, i + step) * 32));
        assert.deepEqual(Buffer.from(b.finish()), Buffer.from(rows[rows.length - 1]));
        assert.deepEqual(Buffer.concat(seen), Buffer.concat(rows));
      }
    });
  }

  it('finishPadded equals the full tree over zero-extended leaves', () => {
    const z: Uint8Array[] = [new Uint8Array(32)];
    for (let r = 1; r < 12; r++) {
      const o = new Uint8Array(32);
      sha256NodeHasher.hashRow(Buffer.concat([z[r - 1], z[r - 1]]), o);
      z.push(o);
    }
    for (const [n, min] of [
      [1, 1],
      [3, 1],
      [5, 16],
      [33, 1],
      [64, 4],
    ]) {
      const data = randomBytes(n * 32);
      const b = new MerkleTreeBuilder(sha256NodeHasher);
      b.push(data);
      const { root, leaves } = b.finishPadded((r) => z[r], min);
      const full = new Uint8Array(leaves * 32);
      full.set(data);
      assert.deepEqual(root, treeRoot(full, sha256NodeHasher), `n=${n}`);
    }
  });

  it('rejects bad shapes and too many leaves', () => {
    assert.throws(() => new MerkleTreeBuilder(sha256NodeHasher, { leaves: 6 }), RangeError);
    const b = new MerkleTreeBuilder(sha256NodeHasher, { leaves: 2 });
    assert.throws(() => b.push(new Uint8Array(96)), RangeError);
    b.push(new Uint8Array(32));
    assert.throws(() => b.finish(), /incomplete/);
  });
});

describe('StoreWriter and proofs', () => {
  it('writes DiskStore and LevelCacheStore files that match the in-memory tree; proofs verify', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'merkle-'));
    try {
      const h = shaHasher(8);
      const leaves = 8 ** 4;
      const data = randomBytes(leaves * 32);
      const full = buildTreeInMemory(data, h);
      for (const layout of [diskStoreLayout(leaves, 8), levelCacheLayout(leaves, 8, 2)]) {
        const path = join(dir, `t-${layout.firstStoredRow}.dat`);
        const fh = await open(path, 'w+');
        const w = new StoreWriter(fh, layout, 1024);
        const b = new MerkleTreeBuilder(h, { leaves, onRow: w.sink });
        for (let i = 0; i < leaves; i += 100) {
          b.push(data.subarray(i * 32, Math.min(leaves, i + 100) * 32));
          await w.flush();
        }
        const root = b.finish();
        await w.close();
        const file = await readFile(path);
        assert.equal(file.length, layout.fileSize);
        // the file is the tail of the full layout (LevelCache drops the lowest rows)
        assert.deepEqual(file, Buffer.from(full.subarray(full.length - layout.fileSize)));
        assert.deepEqual(Buffer.from(file.subarray(file.length - 32)), Buffer.from(root));
        if (layout.firstStoredRow === 0) {
          for (const leaf of [0, 1, 7, 8, 1234, leaves - 1]) {
            const p = await merkleProof(storeFileReader(fh, layout), leaves, 8, leaf);
            assert.equal(p.path.length, 4);
            assert.ok(verifyMerkleProof(p, h));
            p.leaf = randomBytes(32);
            assert.ok(!verifyMerkleProof(p, h));
          }
        }
        await fh.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('compound trees', () => {
  it('file names split per base tree', () => {
    assert.deepEqual(baseTreeFileNames('tree-c', 1), ['sc-02-data-tree-c.dat']);
    assert.deepEqual(baseTreeFileNames('tree-r-last', 2), [
      'sc-02-data-tree-r-last-0.dat',
      'sc-02-data-tree-r-last-1.dat',
    ]);
  });

  it('sub and top roots over the base roots (8-8-2, 8-8-0, 8-0-0)', () => {
    const h8 = shaHasher(8);
    const h2 = shaHasher(2);
    const roots = Array.from({ length: 16 }, () => randomBytes(32));
    const sub0 = new Uint8Array(32);
    const sub1 = new Uint8Array(32);
    h8.hashRow(Buffer.concat(roots.slice(0, 8)), sub0);
    h8.hashRow(Buffer.concat(roots.slice(8)), sub1);
    const top = new Uint8Array(32);
    h2.hashRow(Buffer.concat([sub0, sub1]), top);
    assert.deepEqual(compoundRoot(roots, { sub: 8, top: 2 }, h8, h2), top);
    assert.deepEqual(compoundRoot(roots.slice(0, 8), { sub: 8, top: 0 }, h8), sub0);
    assert.deepEqual(Buffer.from(compoundRoot(roots.slice(0, 1), { sub: 0, top: 0 })), roots[0]);
    // an 8-8-0 compound of base trees is the plain arity-8 tree over the concatenated leaves
    const leaves = randomBytes(8 * 64 * 32);
    const baseRoots = Array.from({ length: 8 }, (_, i) =>
      treeRoot(leaves.subarray(i * 64 * 32, (i + 1) * 64 * 32), h8),
    );
    assert.deepEqual(compoundRoot(baseRoots, { sub: 8, top: 0 }, h8), treeRoot(leaves, h8));
    assert.throws(() => compoundRoot(roots, { sub: 8, top: 0 }, h8), /expected 8 base roots/);
    assert.throws(() => compoundRoot(roots, { sub: 8, top: 2 }, h8, h8), /arity 2/);
  });
});
