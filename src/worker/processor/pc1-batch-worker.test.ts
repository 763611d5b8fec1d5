/**
 * Batch PC1 in a worker: four sealing threads against the fake Venus.* manager, every stage the real builtin
 * on 2KiB sectors, `[processors.pc1] batch = 4` with `[limit] pc1 = 4`. The four sectors reach PC1 at their
 * own moments; they are labeled in one batch and each thread carries its own sector on to finalized.
 * (Four 8MiB sectors through the stage runner: pc1-batch.test.ts; sealed to active on the devnet:
 * test/e2e/worker-batch-pc1.test.ts.)
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { SealerAPI } from '../../api/sealer.js';
import { whySealProofFails, zeroCommitment } from '../../proofs/index.js';
import { type LabelBatchOptions, labelSectorsBatch } from '../../proofs/sdr/index.js';
import { createClient } from '../../rpc/index.js';
import { parseWorkerConfig } from '../config.js';
import { StageLimits } from '../sealing/limits.js';
import { SealingThread } from '../sealing/thread.js';
import { fakeManager, testBase, testDeps, until } from '../sealing/threads.test-util.js';
import { StageRunner } from './index.js';
import { Pc1Batcher } from './pc1-batch.js';

const base = await testBase('pc1-batch-worker-');

it('four sealing threads seal four 2KiB sectors to finalized with one batch PC1', async () => {
  const locations = [0, 1, 2, 3].map((i) => join(base, `store${i}`));
  const { mgr, remote } = await fakeManager(base, locations, 4);
  const cfg = parseWorkerConfig(
    'worker.toml',
    `[sealer_rpc]
url = "ws://127.0.0.1:1/rpc/v0"
${locations.map((l) => `[[store]]\nlocation = "${l}"\nsealing.seal_interval = "20ms"\nsealing.recover_interval = "20ms"\nsealing.rpc_polling_interval = "10ms"\n`).join('')}
[limit]
pc1 = 4
[processors.pc1]
batch = 4
gather_timeout = "60s"
`,
  );
  assert.deepEqual(cfg.pc1Batch, { batch: 4, gatherMs: 60_000 });

  await mgr.listen();
  const manager = createClient(SealerAPI, { url: mgr.url, timeoutMs: 5000 });
  const batches: LabelBatchOptions[] = [];
  const batcher = new Pc1Batcher(cfg.pc1Batch!, {
    label: (o) => {
      batches.push(o);
      return labelSectorsBatch(o);
    },
  });
  const runner = await StageRunner.create(cfg, { pc1Batcher: batcher });
  const deps = testDeps(manager, remote, { sealer: runner, limits: new StageLimits(cfg.limits) });
  const threads = cfg.threads.map((t, i) => new SealingThread(i, t, deps));
  try {
    for (const t of threads) await t.start();
    await until(
      'four finalized sectors',
      () => [...mgr.sectors.values()].filter((s) => s.finalized).length === 4,
      60_000,
    );
    assert.equal(batches.length, 1, 'one batch PC1');
    assert.equal(batches[0]!.sectors.length, 4);
    for (const s of mgr.sectors.values()) {
      assert.equal(s.abortReason, null);
      // the proof each thread handed in verifies against its own sector's CommR: no sector got another's labels
      const b64 = (v: string) => new Uint8Array(Buffer.from(v, 'base64'));
      const why = whySealProofFails({
        sealProof: 5,
        minerId: 1000,
        sectorNumber: s.allocated.ID.Number,
        ticket: b64(s.ticket!.Ticket),
        seed: b64(s.seed!.Seed),
        commR: Uint8Array.from(s.pre!.CommR),
        commD: zeroCommitment(2048),
        proof: b64(s.proof!),
      });
      assert.equal(why, undefined, `sector ${s.allocated.ID.Number}`);
    }
  } finally {
    for (const t of threads) await t.stop();
    await runner.stop();
    await mgr.down();
    await manager.close?.();
  }
});
