import assert from 'node:assert/strict';
import { test } from 'node:test';
import { figures, formatBreakdown } from './pc1.js';

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

test('pc1 figures: the batch ceiling (4 interleaved sha256rnds2 chains ÷ one) comes first, with its baseline', () => {
  const out = figures({
    sha256Backend: 'sha-ni',
    shaniStreams: { oneNs: 1.2, fourNs: 0.6, ceiling: 2 },
    opensslBlocksPerSecond: 20e6,
    opensslLabelEquivalentPerSecond: 1e6,
    opensslLabelEquivalentPerCpuSecond: 1e6,
    rows: [],
    batch: [],
  });
  assert.equal(out.length, 1);
  assert.equal(out[0]!.ratio, 2);
  assert.equal(Math.round(out[0]!.value), Math.round(1e9 / 0.6));
  assert.match(out[0]!.baseline ?? '', /one dependent chain/);
  // without SHA-NI there is no such figure
  assert.equal(
    figures({
      ...{ sha256Backend: 'portable', shaniStreams: null },
      opensslBlocksPerSecond: 1,
      opensslLabelEquivalentPerSecond: 1,
      opensslLabelEquivalentPerCpuSecond: 1,
      rows: [],
      batch: [],
    }).length,
    0,
  );
});
