import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SEAL_2KIB_POLKA_DATA } from '../../../test/vectors/index.js';
import { UserError } from '../../common/cli.js';
import { commPOutputOfFile, sizeStr } from './commp.js';

const POLKA = SEAL_2KIB_POLKA_DATA;
const root = new URL('../../../', import.meta.url).pathname;

describe('venus-worker util commp', () => {
  it('gives the piece CID rust-fil-proofs sealed for the polka 2KiB data', async () => {
    assert.deepEqual(await commPOutputOfFile(POLKA), {
      pieceCid: 'baga6ea4seaqbfhdvmk5qygevit25ztjwl7voyikb5k2fqcl2lsuefhaqtukuiii',
      paddedSize: 2048,
      payloadSize: 2032,
    });
  });

  it('zero-extends a small file to the next 127·2^k bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'commp-cli-'));
    try {
      await writeFile(join(dir, 'z'), new Uint8Array(1500));
      const out = await commPOutputOfFile(join(dir, 'z'));
      // 1500 zero bytes sit in a 2KiB piece: the 2KiB zero piece CID Lotus prints
      assert.equal(out.pieceCid, 'baga6ea4seaqpy7usqklokfx2vxuynmupslkeutzexe2uqurdg5vhtebhxqmpqmy');
      assert.equal(out.paddedSize, 2048);
      assert.equal(out.payloadSize, 1500);
      await writeFile(join(dir, 'empty'), '');
      await assert.rejects(commPOutputOfFile(join(dir, 'empty')), UserError);
      await assert.rejects(commPOutputOfFile(join(dir, 'missing')), /cannot read/);
      await assert.rejects(commPOutputOfFile(dir), /not a regular file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('formats sizes like Lotus SizeStr', () => {
    assert.equal(sizeStr(2048), '2 KiB');
    assert.equal(sizeStr(2032), '1.984 KiB');
    assert.equal(sizeStr(32 * 2 ** 30), '32 GiB');
    assert.equal(sizeStr(100), '100 B');
  });

  it('the CLI prints JSON alone on stdout', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/venus-worker.ts'), 'util', 'commp', '--json', POLKA],
      { encoding: 'utf8', cwd: root },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      pieceCid: 'baga6ea4seaqbfhdvmk5qygevit25ztjwl7voyikb5k2fqcl2lsuefhaqtukuiii',
      paddedSize: 2048,
      payloadSize: 2032,
    });
    const bad = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(root, 'src/cli/venus-worker.ts'), 'util', 'commp', '/nonexistent/file'],
      { encoding: 'utf8', cwd: root },
    );
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /cannot read \/nonexistent\/file/);
  });
});
