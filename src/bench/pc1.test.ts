import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBreakdown } from './pc1.js';

test('pc1 --verbose: where a single-sector run went, kernel against the rest and user against system CPU', () => {
  const line = formatBreakdown({
    kernelSeconds: 3.1,
    outsideKernelSeconds: 0.4,
    cpuUserSeconds: 0.72,
    cpuSystemSeconds: 0.18,
  });
  assert.equal(
    line,
    'where the time went: kernel 3.10 s (89%), outside it 0.40 s (parents read, layers written, fsync); ' +
      'CPU user 0.72 s, system 0.18 s (20%)',
  );
});
