import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sizesFromArgv } from './snap.js';

describe('bench snap sizes', () => {
  test('8MiB and 512MiB by default, --quick only 8MiB; --size adds a size', () => {
    const MiB = 1024 * 1024;
    assert.deepEqual(sizesFromArgv([]), [8 * MiB, 512 * MiB]);
    assert.deepEqual(sizesFromArgv(['snap', '--quick']), [8 * MiB]);
    assert.deepEqual(sizesFromArgv(['snap', '--size', '512MiB']), [8 * MiB, 512 * MiB]);
    assert.deepEqual(sizesFromArgv(['--512', '--size', '512MiB']), [8 * MiB, 512 * MiB]);
    assert.deepEqual(sizesFromArgv(['--quick', '--size', '2KiB']), [8 * MiB, 2048]);
    assert.throws(() => sizesFromArgv(['--size', '3MiB']));
  });
});
