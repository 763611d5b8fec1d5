// The external prover over damocles' processor protocol with real child processes (test-processor.ts, a
// stand-in for a rust-fil-proofs box) and the worker's transport: C2 and PoSt outputs verify, answers out
// of order are matched, faulty sectors are retried without, a child that crashes mid-request fails that
// request and is restarted, a child that never prints its ready line is refused.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExternalPool, ExternalSub } from '../../common/extproc/index.js';
import { type SealCommitPhase1Output, sealCommitPhase1 } from '../porep/c1.js';
import { clearCache } from '../porep/finalize.js';
import { type SealedFixture, sealFixture } from '../porep/fixture.js';
import type { PoStReplica } from '../post/vanilla.js';
import { postProof, type SealProofInfo, sealProof } from '../registry.js';
import { proverIdFromActorId } from '../sdr/index.js';
import {
  bytesFromOutput,
  ExternalPoStProver,
  ExternalSealProver,
  verifySealProof,
  verifyWindowPoStProofOrThrow,
  verifyWinningPoStProof,
} from './index.js';

const MINER = 2000n;
const seed = new Uint8Array(32).fill(4);
const randomness = new Uint8Array(32).fill(0x5a);
const CHILD = new URL('./test-processor.ts', import.meta.url).pathname;

let dir: string;
let sector: SealedFixture<SealProofInfo>;
let c1: SealCommitPhase1Output;
let replicas: PoStReplica[];
const pools: ExternalPool[] = [];
let c2: ExternalPool;
let windowPost: ExternalPool;
let winningPost: ExternalPool;

function pool(stage: string, env: Record<string, string> = {}, stableWaitMs = 20_000): ExternalPool {
  const sub = new ExternalSub({
    stage,
    index: 0,
    spawn: { bin: process.execPath, args: ['--import', 'tsx', CHILD, stage] },
    config: { stableWaitMs, envs: env, inheritEnvs: true, autoRestart: true, concurrent: null, cgroup: null },
    restartDelayMs: 50,
  });
  const p = new ExternalPool(stage, [sub]);
  pools.push(p);
  return p;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ext-prover-'));
  sector = await sealFixture({
    proof: sealProof(5),
    dir: join(dir, 's'),
    parentDir: join(dir, 'parents'),
    proverId: proverIdFromActorId(MINER),
    sectorId: 7n,
  });
  c1 = await sealCommitPhase1({ ...sector, seed });
  await clearCache(sector.cacheDir);
  replicas = [];
  for (const id of [7n, 8n, 9n]) {
    const d = join(dir, `r${id}`);
    await cp(sector.cacheDir, join(d, 'cache'), { recursive: true });
    await cp(sector.sealedPath, join(d, 'sealed'));
    replicas.push({ sectorId: id, commR: sector.commR, cacheDir: join(d, 'cache'), sealedPath: join(d, 'sealed') });
  }
  // the children start together (each boots tsx: about a second)
  c2 = pool('c2');
  windowPost = pool('window_post', { VP_SLOW_SECTOR: '7' });
  winningPost = pool('winning_post');
  await Promise.all([c2.start(), windowPost.start(), winningPost.start()]);
});
after(async () => {
  await Promise.all(pools.map((p) => p.stop()));
  await rm(dir, { recursive: true, force: true });
});

const sealInput = (proof: Uint8Array) => ({
  sealProof: 5,
  minerId: MINER,
  sectorId: 7n,
  ticket: sector.ticket,
  seed,
  commR: sector.commR,
  commD: sector.commD,
  proof,
});

describe('external prover', () => {
  it('c2: the processor gets rust-shaped JSON and its proof verifies', async () => {
    const proof = await new ExternalSealProver(c2).sealCommitPhase2({ c1, minerId: MINER, sectorId: 7n });
    assert.ok(verifySealProof(sealInput(proof)));
  });

  it('window_post: answers out of order are matched to their requests', async () => {
    const prover = new ExternalPoStProver({ windowPost });
    const proof = postProof('StackedDrgWindow2KiBV1_1');
    const done: string[] = [];
    const slow = prover.generateWindowPoSt({ proof, minerId: MINER, randomness, replicas: [replicas[0]] }).then((r) => {
      done.push('slow');
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    const fast = prover
      .generateWindowPoSt({ proof, minerId: MINER, randomness, replicas: replicas.slice(1) })
      .then((r) => {
        done.push('fast');
        return r;
      });
    const [a, b] = await Promise.all([slow, fast]);
    assert.deepEqual(done, ['fast', 'slow'], 'the second request was answered first');
    verifyWindowPoStProofOrThrow({ randomness, minerId: MINER, proofs: a.proofs, sectors: [replicas[0]] });
    verifyWindowPoStProofOrThrow({ randomness, minerId: MINER, proofs: b.proofs, sectors: replicas.slice(1) });
  });

  it('window_post: rust-style fault reports are retried without the faulty sectors', async () => {
    const broken = { ...replicas[1], sealedPath: join(dir, 'no-such-sealed-file') };
    const prover = new ExternalPoStProver({ windowPost });
    const proof = postProof('StackedDrgWindow2KiBV1_1');
    const r = await prover.generateWindowPoSt({
      proof,
      minerId: MINER,
      randomness,
      replicas: [replicas[0], broken, replicas[2]],
    });
    assert.deepEqual(r.faults, [8n]);
    verifyWindowPoStProofOrThrow({ randomness, minerId: MINER, proofs: r.proofs, sectors: [replicas[0], replicas[2]] });
  });

  it('winning_post', async () => {
    const prover = new ExternalPoStProver({ winningPost });
    const proofs = await prover.generateWinningPoSt({
      proof: postProof('StackedDrgWinning2KiBV1'),
      minerId: MINER,
      randomness,
      replicas: [replicas[2]],
    });
    assert.ok(verifyWinningPoStProof({ randomness, minerId: MINER, proofs, sectors: [replicas[2]] }));
  });

  it('a child that crashes mid-request fails that request; the restarted child proves', async () => {
    const prover = new ExternalSealProver(pool('c2', { VP_CRASH_MARKER: join(dir, 'crash-marker') }));
    await assert.rejects(prover.sealCommitPhase2({ c1, minerId: MINER, sectorId: 7n }), /child process exited: c2/);
    const proof = await prover.sealCommitPhase2({ c1, minerId: MINER, sectorId: 7n });
    assert.ok(verifySealProof(sealInput(proof)));
  });

  it('a child that never prints its ready line is refused', async () => {
    const p = pool('c2', { VP_NO_READY: '1' }, 1500);
    await assert.rejects(p.start(), /did not print "c2 processor ready" within 1500 ms/);
  });

  it('a task error comes back as the request error', async () => {
    const prover = new ExternalSealProver(c2);
    await assert.rejects(prover.sealCommitPhase2({ c1, minerId: MINER + 1n, sectorId: 7n }), /replica id/);
  });

  it('reads proof bytes as serde arrays or damocles base64', () => {
    assert.deepEqual(bytesFromOutput([1, 2, 255], 'p'), Uint8Array.from([1, 2, 255]));
    assert.deepEqual(bytesFromOutput('AQL/', 'p'), Uint8Array.from([1, 2, 255]));
    assert.throws(() => bytesFromOutput([256], 'p'), /bytes/);
    assert.throws(() => bytesFromOutput('@@', 'p'), /base64/);
  });
});
