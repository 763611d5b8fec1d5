import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { figuresOf, findBenchmarks, formatSummary } from './index.js';

describe('npm run bench', () => {
  test('finds the benchmark modules of the folder, in report order', () => {
    const names = findBenchmarks().map((b) => b.name);
    assert.ok(names.includes('commp') && names.includes('pc1'), names.join(','));
    assert.ok(!names.includes('index'));
    assert.ok(names.indexOf('commp') < names.indexOf('pc1'));
  });

  test('summaries of the known modules: figure, sector size, ratio to the baseline', () => {
    const pc1 = figuresOf(
      'pc1',
      {},
      {
        rows: [
          {
            sectorSize: '2KiB',
            kernel: 'native',
            labelsPerSecond: 2e6,
            ratio: 0.8,
            kernelLabelsPerSecond: 3e6,
            kernelRatio: 0.9,
          },
        ],
      },
    );
    assert.deepEqual(pc1?.[0], {
      bench: 'pc1',
      name: 'labels/s, native kernel, end to end',
      sectorSize: '2KiB',
      value: 2e6,
      unit: 'labels/s',
      ratio: 0.8,
      baseline: 'OpenSSL SHA-256 label-equivalents/s',
    });
    const commp = figuresOf(
      'commp',
      {},
      {
        cryptoSha256MiBs: 1000,
        commPMemoryMiBs: 250,
        commPFileMiBs: 200,
        fr32PadMiBs: 800,
        rowHashMiBs: 900,
        treeD: { sectorSize: 8 << 20, seconds: 1, MiBs: 8 },
      },
    );
    assert.equal(commp?.[0]?.ratio, 0.25);
    assert.deepEqual(commp?.at(-1)?.sectorSize, '8MiB');
    const pc = figuresOf('parent-cache', {}, [{ proof: 'StackedDrg512MiBV1_1', matches: true, nodesPerSecond: 5e5 }]);
    assert.equal(pc?.[0]?.sectorSize, '512MiB');
    assert.match(pc?.[0]?.name ?? '', /digest matches parent_cache\.json/);
    // a later module: its own figures() or { figures }
    const own = [{ bench: 'post', name: 'x', value: 1, unit: 'proofs/s' }];
    assert.deepEqual(figuresOf('post', { figures: () => own }, {}), own);
    assert.deepEqual(figuresOf('post', {}, { figures: own }), own);
    // run() returning { figures } wins over a module-level figures() helper taking something else
    assert.deepEqual(figuresOf('post', { figures: () => [] }, { results: [], figures: own }), own);
    assert.equal(figuresOf('other', {}, { n: 1 }), undefined);
    const table = formatSummary(pc1 ?? []).join('\n');
    assert.match(table, /pc1 +2KiB +2\.00 M labels\/s +0\.800 +labels\/s, native kernel, end to end/);
  });
});
