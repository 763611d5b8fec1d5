import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SEAL_2KIB_POLKA_DATA } from '../../test/vectors/index.js';
import { padFr32 } from './fr32.js';
import { buildTreeInMemory, sha256NodeHasher } from './merkle.js';
import { buildTreeD, readTreeDRoot, TREE_D_FILE, treeDLen, treeDProof, verifyTreeDProof } from './tree-d.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'treed-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('TreeD', () => {
  it('polka 2KiB sector: CommD as rust-fil-proofs sealed it, file in DiskStore layout', async () => {
    const data = await readFile(SEAL_2KIB_POLKA_DATA);
    const staged = join(dir, 'staged');
    await writeFile(staged, padFr32(data));
    const r = await buildTreeD({ stagedPath: staged, cacheDir: dir, sectorSize: 2048 });
    assert.equal(r.path, join(dir, TREE_D_FILE));
    assert.equal(TREE_D_FILE, 'sc-02-data-tree-d.dat');
    assert.equal(hex(r.commD), '129c7562bb0c189544f5dccd365feaec2141eab458097a5ca8429c109d154421');
    assert.equal(r.len, 127);
    assert.equal(treeDLen(2048), 127);
    const file = await readFile(r.path);
    assert.equal(file.length, 127 * 32);
    // every row, leaves (the padded sector itself) first, root last
    assert.deepEqual(file, Buffer.from(buildTreeInMemory(padFr32(data), sha256NodeHasher)));
    assert.deepEqual(await readTreeDRoot(r.path, 2048), r.commD);
    for (const leaf of [0, 1, 33, 63]) {
      const p = await treeDProof(r.path, 2048, leaf);
      assert.equal(p.path.length, 6);
      assert.deepEqual(Buffer.from(p.leaf), file.subarray(leaf * 32, leaf * 32 + 32));
      assert.ok(verifyTreeDProof(p));
    }
  });

  it('8MiB CC sector (no staged file): the published zero CommD, 2·nodes − 1 nodes on disk', async () => {
    const r = await buildTreeD({ cacheDir: dir, sectorSize: 8 << 20, outPath: join(dir, 'cc.dat') });
    assert.equal(hex(r.commD), '65f29e5d98d246c38b388cfc06db1f6b021303c5a289000bdce832a9c3ec421c');
    assert.equal((await stat(r.path)).size, (2 * 2 ** 18 - 1) * 32);
    const p = await treeDProof(r.path, 8 << 20, 123_456);
    assert.equal(p.path.length, 18);
    assert.ok(verifyTreeDProof(p));
  });

  it('a staged file shorter than the sector reads as zero-extended', async () => {
    const part = randomBytes(3000);
    const short = join(dir, 'short');
    const full = join(dir, 'full');
    await writeFile(short, part);
    const whole = Buffer.alloc(4096);
    part.copy(whole);
    await writeFile(full, whole);
    const a = await buildTreeD({ stagedPath: short, cacheDir: dir, sectorSize: 4096, outPath: join(dir, 'a') });
    const b = await buildTreeD({ stagedPath: full, cacheDir: dir, sectorSize: 4096, outPath: join(dir, 'b') });
    assert.deepEqual(a.commD, b.commD);
    assert.deepEqual(await readFile(a.path), await readFile(b.path));
  });

  it('fails cleanly and leaves no file behind', async () => {
    await assert.rejects(
      buildTreeD({ stagedPath: join(dir, 'missing'), cacheDir: dir, sectorSize: 2048, outPath: join(dir, 'x') }),
    );
    await assert.rejects(stat(join(dir, 'x.tmp')));
    await assert.rejects(buildTreeD({ cacheDir: dir, sectorSize: 3000 }), /unsupported sector size/);
    await assert.rejects(readTreeDRoot(join(dir, 'a'), 2048), /TreeD has/);
  });
});
