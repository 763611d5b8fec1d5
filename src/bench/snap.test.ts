import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sizesFromArgv } from './snap.js';

describe('bench snap sizes', () => {
  test('8MiB always; --size and --512 add sizes', () => {
    const MiB = 1024 * 1024;
    assert.deepEqual(sizesFromArgv([]), [8 * MiB]);
    assert.deepEqual(sizesFromArgv(['snap', '--size', '512MiB']), [8 * MiB, 512 * MiB]);
    assert.deepEqual(sizesFromArgv(['--512', '--size', '512MiB']), [8 * MiB, 512 * MiB]);
    assert.throws(() => sizesFromArgv(['--size', '3MiB']));
  });
});
