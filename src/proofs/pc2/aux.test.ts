// p_aux / t_aux bytes as bincode 1.x (default options) lays out rust-fil-proofs' PersistentAux and
// TemporaryAux, spelled out field by field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { porepConfig, sealProof } from '../registry.js';
import { decodePAux, decodeTAux, encodePAux, encodeTAux, temporaryAuxFor } from './aux.js';

const u64 = (n: number) => Buffer.from(BigInt(n).toString(16).padStart(16, '0'), 'hex').reverse().toString('hex');
const str = (s: string) => u64(Buffer.byteLength(s)) + Buffer.from(s).toString('hex');
const config = (path: string, id: string, size: number, rows: number) =>
  `${str(path)}${str(id)}01${u64(size)}${u64(rows)}`;

describe('p_aux / t_aux', () => {
  it('p_aux is comm_c ‖ comm_r_last (fixed arrays, no prefix)', () => {
    const commC = new Uint8Array(32).fill(0xaa);
    const commRLast = new Uint8Array(32).fill(0xbb);
    const b = encodePAux({ commC, commRLast });
    assert.equal(Buffer.from(b).toString('hex'), 'aa'.repeat(32) + 'bb'.repeat(32));
    assert.deepEqual(decodePAux(b), { commC, commRLast });
    assert.throws(() => decodePAux(new Uint8Array(63)));
  });

  it('t_aux of a 2KiB sector', () => {
    const t = temporaryAuxFor(sealProof('StackedDrg2KiBV1_1'), '/c');
    const want =
      u64(2) +
      config('/c', 'layer-1', 64, 0) +
      config('/c', 'layer-2', 64, 0) +
      config('/c', 'tree-d', 127, 0) + // 2·64 − 1
      config('/c', 'tree-r-last', 73, 1) + // 64 + 8 + 1, rows_to_discard 1 (3 rows)
      config('/c', 'tree-c', 73, 0);
    const b = encodeTAux(t);
    assert.equal(Buffer.from(b).toString('hex'), want);
    assert.deepEqual(decodeTAux(b), t);
  });

  it('t_aux of a 32GiB sector: 11 layers, per-base-tree sizes, rows_to_discard 2', () => {
    const cfg = sealProof('StackedDrg32GiBV1_1');
    const t = temporaryAuxFor(cfg, '/var/sectors/cache/s-t01000-1');
    assert.equal(t.labels.length, 11);
    assert.equal(t.treeDConfig.size, 2 ** 31 - 1);
    assert.equal(t.treeCConfig.size, 153_391_689); // (8^10 − 1)/7 for 2^27 leaves
    assert.equal(t.treeRLastConfig.size, 153_391_689);
    assert.equal(t.treeRLastConfig.rowsToDiscard, 2);
    assert.deepEqual(decodeTAux(encodeTAux(t)), t);
  });

  it('None sizes and bad input', () => {
    const cfg = porepConfig({ sectorSize: 2048, porepId: new Uint8Array(32), apiVersion: '1.1.0' });
    const t = temporaryAuxFor(cfg, 'c');
    t.treeDConfig.size = null;
    const b = encodeTAux(t);
    assert.ok(
      Buffer.from(b)
        .toString('hex')
        .includes(`${str('tree-d')}00${u64(0)}`),
    );
    assert.deepEqual(decodeTAux(b), t);
    assert.throws(() => decodeTAux(b.subarray(0, b.length - 1)), /truncated/);
    assert.throws(() => decodeTAux(new Uint8Array([...b, 0])), /trailing/);
  });
});
