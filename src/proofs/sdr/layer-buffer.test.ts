import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { layerBuffer, sdrNative } from './native.js';

const native = sdrNative();
const linux = process.platform === 'linux';
const thp = (() => {
  try {
    return /\[(always|madvise)\]/.test(readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'));
  } catch {
    return false;
  }
})();
const anonHugeKiB = () => Number(/AnonHugePages:\s+(\d+)/.exec(readFileSync('/proc/self/smaps_rollup', 'utf8'))?.[1]);

describe('layer buffers', () => {
  it('are in huge pages where the kernel allows them (native addon, Linux)', {
    skip: (!native?.sdrAllocLayer || !linux || !thp) && 'needs the native addon and transparent huge pages',
  }, () => {
    const before = anonHugeKiB();
    const b = layerBuffer(8 << 20);
    assert.equal(b.length, 8 << 20);
    assert.ok(
      b.every((x) => x === 0),
      'fresh pages are zero',
    );
    b.fill(0xa5);
    assert.ok(anonHugeKiB() - before >= 2048, 'at least one 2 MiB page backs the buffer');
    assert.equal(b[b.length - 1], 0xa5);
  });

  it('fall back to ordinary memory when asked (VENUS_SDR_HUGE=0) or small', { skip: !native?.sdrAllocLayer }, () => {
    assert.throws(() => native!.sdrAllocLayer!(0), /sdrAllocLayer/);
    process.env.VENUS_SDR_HUGE = '0';
    try {
      assert.equal(native!.sdrAllocLayer!(4 << 20), null);
      assert.equal(layerBuffer(4 << 20).length, 4 << 20);
    } finally {
      delete process.env.VENUS_SDR_HUGE;
    }
    assert.equal(layerBuffer(1000).length, 1000);
  });

  it('are given back once unreachable (the runtime knows their size)', { skip: !native?.sdrAllocLayer }, async () => {
    // 512 MiB allocated and written in all, 16 MiB at a time: without accounting the process would hold it all
    const rss0 = process.memoryUsage.rss();
    for (let i = 0; i < 32; i++) {
      layerBuffer(16 << 20).fill(i);
      if (i % 4 === 3) await new Promise((r) => setImmediate(r));
    }
    const grew = (process.memoryUsage.rss() - rss0) >> 20;
    assert.ok(grew < 384, `RSS grew by ${grew} MiB`);
  });
});
