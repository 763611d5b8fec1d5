import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sealProof } from '../../proofs/index.js';
import { type LabelBatchOptions, labelSector, SdrGraph, writeParentCache } from '../../proofs/sdr/index.js';
import { Pc1Batcher, parsePc1BatchConfig, preparePC1 } from './pc1-batch.js';
import type { PC1Task } from './tasks.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pc1-batch-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

const zero = Array.from({ length: 32 }, () => 0);
function task(sector: number, proof = 5): PC1Task {
  return {
    registered_proof: proof,
    cache_path: join(dir, `cache-${proof}-${sector}`),
    in_path: '',
    out_path: '',
    prover_id: zero,
    sector_id: sector,
    ticket: zero,
    piece_infos: [],
  };
}
const rid = (n: number) => new Uint8Array(32).fill(n & 0x3f);
const prep = async (t: PC1Task) => {
  if (t.sector_id === 13) throw new Error('bad ticket');
  return { replicaId: rid(t.sector_id), commD: new Uint8Array(32) };
};

describe('batch PC1 in the worker', () => {
  it('parses [processors.pc1] batch and gather_timeout', () => {
    assert.equal(parsePc1BatchConfig(undefined), null);
    assert.equal(parsePc1BatchConfig({ batch: 1 }), null);
    assert.deepEqual(parsePc1BatchConfig({ batch: 4 }), { batch: 4, gatherMs: 60000 });
    assert.deepEqual(parsePc1BatchConfig({ batch: 8, gather_timeout: '500ms' }), { batch: 8, gatherMs: 500 });
    assert.throws(() => parsePc1BatchConfig({ batch: 65 }), /1 to 64/);
    assert.throws(() => parsePc1BatchConfig({ batch: '4' }), /integer/);
    assert.throws(() => parsePc1BatchConfig({ batch: 2, gather_timeout: 30 }), /duration/);
  });

  it('gathers up to K tasks of one proof type, labels them together, hands each its own output', async () => {
    const calls: LabelBatchOptions[] = [];
    const b = new Pc1Batcher(
      { batch: 3, gatherMs: 50 },
      {
        prepare: prep,
        parentCache: async () => 'parents',
        label: async (o) => {
          calls.push(o);
          return {
            sectors: o.sectors.map((s) =>
              s.replicaId[0] === 2
                ? { ok: false, error: new Error('disk full'), layerPaths: [] }
                : { ok: true, layerPaths: [], labels: 1 },
            ),
            mode: 'batch',
            plan: 'memory',
            kernel: 'native',
            lanes: 'x',
            labels: 0,
            seconds: 0,
            kernelSeconds: 0,
          };
        },
      },
    );
    const t0 = performance.now();
    const rs = await Promise.allSettled([...[1, 2, 3, 4, 13].map((s) => b.submit(task(s))), b.submit(task(5, 0))]);
    // 1, 2, 3 at once (full batch); 4 alone after the gather timeout; 13 failed before joining; 5 is another
    // proof type (another graph): its own batch
    assert.equal(calls.length, 3);
    assert.deepEqual(calls.map((c) => c.sectors.map((s) => s.replicaId[0])).sort(), [[1, 2, 3], [4], [5]]);
    assert.equal(rs[5]!.status, 'fulfilled');
    assert.ok(performance.now() - t0 >= 45);
    assert.equal(rs[0]!.status, 'fulfilled');
    assert.deepEqual((rs[0] as PromiseFulfilledResult<{ replica_id: number[] }>).value.replica_id, [...rid(1)]);
    assert.equal(rs[1]!.status, 'rejected');
    assert.match(String((rs[1] as PromiseRejectedResult).reason), /disk full/);
    assert.equal(rs[2]!.status, 'fulfilled');
    assert.equal(rs[3]!.status, 'fulfilled');
    assert.match(String((rs[4] as PromiseRejectedResult).reason), /bad ticket/);
    assert.equal(b.pending(), 0);
  });

  it('labels real sectors: the same layers as one sector at a time', async () => {
    const proof = sealProof(5);
    const graph = SdrGraph.forConfig(proof);
    const parentCachePath = (await writeParentCache(graph, { dir: join(dir, 'parents'), threads: 1 })).path;
    const b = new Pc1Batcher({ batch: 4, gatherMs: 20 }, { prepare: prep, parentCache: async () => parentCachePath });
    const outs = await Promise.all([21, 22, 23].map((s) => b.submit(task(s))));
    assert.equal(outs.length, 3);
    for (const s of [21, 22, 23]) {
      const ref = await labelSector({
        graph,
        replicaId: rid(s),
        layers: proof.layers,
        cacheDir: join(dir, `ref-${s}`),
        parentCachePath,
        resume: false,
      });
      for (let l = 0; l < proof.layers; l++) {
        const name = `sc-02-data-layer-${l + 1}.dat`;
        assert.ok((await readFile(join(task(s).cache_path, name))).equals(await readFile(ref.layerPaths[l]!)));
      }
    }
  });

  it('prepares like the single-sector PC1: TreeD must be there', async () => {
    await assert.rejects(preparePC1(task(1)), /tree_d must run first/);
  });
});
