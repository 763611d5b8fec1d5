import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkPersistStore, fileInit, SealStore, sealInit, sectorFileName } from './store.js';

const root = new URL('../../', import.meta.url).pathname;
const base = await mkdtemp(join(tmpdir(), 'worker-store-'));
after(() => rm(base, { recursive: true, force: true }));

function cli(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/cli/venus-worker.ts'), ...args], {
    cwd: root,
    encoding: 'utf8',
  });
}

describe('venus-worker store', () => {
  it('seal-init -l formats several stores as the guide shows (.holder, data/, meta/)', async () => {
    const a = join(base, 'seal', 'seal_01');
    const b = join(base, 'seal', 'seal_02');
    const r = cli('store', 'seal-init', '-l', a, b);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /seal store initialized: .*seal_01\n.*seal_02/);
    for (const p of [a, b]) {
      assert.deepEqual((await readdir(p)).sort(), ['.holder', 'data', 'meta']);
      assert.equal((await stat(join(p, '.holder'))).size, 0);
    }
    const s = await SealStore.open(a);
    assert.equal(s.sector(1000, 3).sealed, join(a, 'data', 'sealed', 's-t01000-3'));
    assert.equal(s.sector(1000, 3).treeD, join(a, 'data', 'prepared', 's-t01000-3', 'sc-02-data-tree-d.dat'));
  });

  it('seal-init refuses a store, a non-empty directory or a file, and creates nothing then', async () => {
    const fresh = join(base, 'fresh');
    const store = join(base, 'seal', 'seal_01');
    let r = cli('store', 'seal-init', '-l', fresh, store);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /seal_01 is already a seal store \(it has a \.holder\)/);
    await assert.rejects(stat(fresh), /ENOENT/);
    const full = join(base, 'full');
    await mkdir(full);
    await writeFile(join(full, 'x'), 'x');
    await assert.rejects(sealInit([full]), /full is not empty \(x\): format an empty directory/);
    await assert.rejects(sealInit([join(full, 'x')]), /is not a directory/);
    r = cli('store', 'seal-init');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /required option '-l, --loc <paths\.\.\.>' not specified/);
  });

  it('file-init -l writes .holder; a mount point with lost+found is fine; a store twice is not', async () => {
    const remote = join(base, 'remote');
    const r = cli('store', 'file-init', '-l', remote);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(await readdir(remote), ['.holder']);
    await checkPersistStore(remote);
    await assert.rejects(fileInit([remote]), /already a persist store/);
    const mnt = join(base, 'mnt');
    await mkdir(join(mnt, 'lost+found'), { recursive: true });
    await fileInit([mnt]);
  });

  it('a seal store without .holder is refused with the command that fixes it', async () => {
    const bare = join(base, 'bare');
    await mkdir(join(bare, 'data'), { recursive: true });
    await assert.rejects(
      SealStore.open(bare),
      /seal store .*bare has no \.holder: it is not formatted or its disk is not mounted \(format it with "venus-worker store seal-init -l .*bare"\)/,
    );
    await assert.rejects(SealStore.open(join(base, 'nowhere')), /does not exist/);
    await assert.rejects(checkPersistStore(bare), /persist store .*bare has no \.holder/);
  });

  it('names sectors as the original', () => {
    assert.equal(sectorFileName(1000, 42), 's-t01000-42');
  });
});
