// Finalize (rust clear_cache) and unseal on real 2KiB seals: the original piece bytes come back, whole and
// by range, after the layers are gone; CommD is checked; a corrupted replica is refused.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { padFr32 } from '../fr32.js';
import { sealProof } from '../registry.js';
import { clearCache, clearSyntheticProofs, isClearedByFinalize } from './finalize.js';
import { type SealedFixture, sealFixture } from './fixture.js';
import { SYNTH_PROOFS_FILE } from './records.js';
import { unsealRange } from './unseal.js';

let dir: string;
let parentDir: string;
let piece: Uint8Array;
let sector: SealedFixture;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'unseal-test-'));
  parentDir = join(dir, 'parents');
  piece = new Uint8Array(randomBytes(2032)); // one full-sector piece of user bytes
  sector = await sealFixture({ proof: sealProof(5), dir: join(dir, 's'), parentDir, data: padFr32(piece) });
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('finalize (clear cache)', () => {
  it('keeps p_aux, t_aux and tree-r-last; removes layers, TreeC and TreeD (a symlink too)', async () => {
    const c = join(dir, 'clear');
    await (await import('node:fs/promises')).mkdir(c);
    const files = [
      'p_aux',
      't_aux',
      'sc-02-data-tree-r-last.dat',
      'sc-02-data-tree-r-last-3.dat',
      'sc-02-data-layer-1.dat',
      'sc-02-data-layer-11.dat',
      'sc-02-data-tree-c.dat',
      'sc-02-data-tree-c-7.dat',
      'sc-02-data-layer-2.dat.tmp',
      SYNTH_PROOFS_FILE,
    ];
    for (const f of files) await writeFile(join(c, f), 'x');
    await writeFile(join(dir, 'tree-d-target'), 'd');
    await symlink(join(dir, 'tree-d-target'), join(c, 'sc-02-data-tree-d.dat'));
    const removed = await clearCache(c);
    assert.deepEqual(removed, [
      'sc-02-data-layer-1.dat',
      'sc-02-data-layer-11.dat',
      'sc-02-data-tree-c-7.dat',
      'sc-02-data-tree-c.dat',
      'sc-02-data-tree-d.dat',
    ]);
    assert.deepEqual((await readdir(c)).sort(), [
      'p_aux',
      'sc-02-data-layer-2.dat.tmp',
      'sc-02-data-tree-r-last-3.dat',
      'sc-02-data-tree-r-last.dat',
      SYNTH_PROOFS_FILE,
      't_aux',
    ]);
    assert.ok(await stat(join(dir, 'tree-d-target')), 'the TreeD target stays');
    assert.equal(await clearSyntheticProofs(c), true);
    assert.equal(await clearSyntheticProofs(c), false);
    assert.equal(isClearedByFinalize('sc-02-data-tree-r-last.dat'), false);
    await assert.rejects(clearCache(join(dir, 'missing')), /ENOENT/);
  });
});

describe('unseal', () => {
  const unseal = (offset: number, numBytes: number, out = join(dir, `out-${offset}-${numBytes}`), s = sector) =>
    unsealRange({
      proof: s.proof,
      cacheDir: s.cacheDir,
      sealedPath: s.sealedPath,
      outputPath: out,
      proverId: s.proverId,
      sectorId: s.sectorId,
      ticket: s.ticket,
      commD: s.commD,
      offset,
      numBytes,
      parentCacheDir: parentDir,
    }).then(async (r) => ({ ...r, bytes: new Uint8Array(await readFile(out)) }));

  it('returns the original piece after finalize removed the layers (CommD checked)', async () => {
    await clearCache(sector.cacheDir);
    assert.deepEqual((await readdir(sector.cacheDir)).sort(), ['p_aux', 'sc-02-data-tree-r-last.dat', 't_aux']);
    const r = await unseal(0, 2032);
    assert.equal(r.bytesWritten, 2032);
    assert.deepEqual(r.bytes, piece);
    assert.deepEqual(
      (await readdir(sector.cacheDir)).sort(),
      ['p_aux', 'sc-02-data-tree-r-last.dat', 't_aux'],
      'scratch removed',
    );
  });

  it('returns any range of it', async () => {
    for (const [off, n] of [
      [0, 1],
      [126, 2],
      [127, 127],
      [400, 1000],
      [2031, 1],
      [5, 0],
    ]) {
      const r = await unseal(off, n);
      assert.deepEqual(r.bytes, piece.subarray(off, off + n), `[${off}, +${n})`);
    }
    await assert.rejects(unseal(2000, 33), /outside the sector/);
  });

  it('refuses a corrupted replica or a wrong CommD, leaving no output', async () => {
    const good = await readFile(sector.sealedPath);
    const bad = Buffer.from(good);
    bad[1000] ^= 0x01;
    await writeFile(sector.sealedPath, bad);
    const out = join(dir, 'bad-out');
    try {
      await assert.rejects(unseal(0, 2032, out), /CommD/);
    } finally {
      await writeFile(sector.sealedPath, good);
    }
    await assert.rejects(stat(out), /ENOENT/);
    const commD = sector.commD.slice();
    commD[0] ^= 1;
    // another CommD gives another replica id, so another key: still refused by the CommD check
    await assert.rejects(unseal(0, 10, out, { ...sector, commD }), /CommD/);
  });
});
