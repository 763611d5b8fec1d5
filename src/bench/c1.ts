/**
 * The commit half of sealing: C1 (challenges and vanilla proofs from the sector's files), C2 with the
 * vanilla prover (full verification of the C1 output, then the compact proof bytes) and the verifier's
 * check of those bytes from the chain's public inputs alone. `benchSealCommit` is what `venus-worker bench
 * seal` appends to its TreeD/PC1/PC2 phases; `run()` seals 2KiB and 8MiB sectors end to end.
 *
 *   npx tsx src/bench/c1.ts [SIZE…]          (npm run bench: 2KiB and 8MiB)
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  encodeC1Output,
  formatSectorSize,
  parseSectorSize,
  proverIdFromActorId,
  type SealProofInfo,
  sealCommitPhase1,
  sealProofFor,
  VanillaSealProver,
  verifySealProofOrThrow,
} from '../proofs/index.js';
import { sealFixture } from '../proofs/porep/fixture.js';
import type { BenchFigure } from './index.js';

/** A sealed sector (PC2 done) and who sealed it. */
export interface SealedSectorForBench {
  proof: SealProofInfo;
  cacheDir: string;
  sealedPath: string;
  minerId: bigint;
  sectorId: bigint;
  ticket: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
}

export interface SealCommitBenchResult {
  sectorSize: string;
  challenges: number;
  c1Seconds: number;
  /** serde JSON of SealCommitPhase1Output (what an external C2 gets). */
  c1JsonBytes: number;
  c2Seconds: number;
  proofBytes: number;
  verifySeconds: number;
  verified: boolean;
  /** Why verification failed, when it did. */
  error?: string;
}

/** C1, C2 (vanilla) and verification of a sealed sector with the interactive `seed`. */
export async function benchSealCommit(s: SealedSectorForBench, seed: Uint8Array): Promise<SealCommitBenchResult> {
  const t0 = performance.now();
  const c1 = await sealCommitPhase1({ ...s, proverId: proverIdFromActorId(s.minerId), seed });
  const t1 = performance.now();
  const c1JsonBytes = encodeC1Output(c1).length;
  const t2 = performance.now();
  const proof = await new VanillaSealProver().sealCommitPhase2({ c1, minerId: s.minerId, sectorId: s.sectorId });
  const t3 = performance.now();
  let error: string | undefined;
  try {
    verifySealProofOrThrow({
      sealProof: s.proof.id,
      minerId: s.minerId,
      sectorId: s.sectorId,
      ticket: s.ticket,
      seed,
      commR: s.commR,
      commD: s.commD,
      proof,
    });
  } catch (e) {
    error = (e as Error).message;
  }
  const t4 = performance.now();
  return {
    sectorSize: formatSectorSize(s.proof.sectorSize),
    challenges: s.proof.partitions * s.proof.challengesPerPartition,
    c1Seconds: (t1 - t0) / 1000,
    c1JsonBytes,
    c2Seconds: (t3 - t2) / 1000,
    proofBytes: proof.length,
    verifySeconds: (t4 - t3) / 1000,
    verified: error === undefined,
    ...(error ? { error } : {}),
  };
}

export interface SealPipelineBenchResult extends SealCommitBenchResult {
  treeDSeconds: number;
  pc1Seconds: number;
  pc2Seconds: number;
}

/** The whole pipeline on random data: TreeD, PC1, PC2, C1, C2, verify. */
export async function benchSealPipeline(
  sectorSize: number,
  seed = new Uint8Array(32).fill(7),
): Promise<SealPipelineBenchResult> {
  const proof = sealProofFor(sectorSize, 'V1_1');
  const dir = await mkdtemp(join(tmpdir(), 'bench-c1-'));
  try {
    const minerId = 1000n;
    const s = await sealFixture({
      proof,
      dir: join(dir, 's'),
      parentDir: join(dir, 'parents'),
      proverId: proverIdFromActorId(minerId),
      threads: availableParallelism(),
    });
    const r = await benchSealCommit({ ...s, minerId }, seed);
    return { ...r, treeDSeconds: s.seconds.treeD, pc1Seconds: s.seconds.pc1, pc2Seconds: s.seconds.pc2 };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatSealPipeline(r: SealPipelineBenchResult): string {
  const f = (x: number) => x.toFixed(3);
  return [
    `Seal ${r.sectorSize} (${r.challenges} challenges)`,
    `  TreeD ${f(r.treeDSeconds)} s   PC1 ${f(r.pc1Seconds)} s   PC2 ${f(r.pc2Seconds)} s`,
    `  C1 ${f(r.c1Seconds)} s (JSON ${r.c1JsonBytes} bytes)   C2 ${f(r.c2Seconds)} s (${r.proofBytes} bytes)   verify ${f(r.verifySeconds)} s`,
    `  verified: ${r.verified}${r.error ? ` (${r.error})` : ''}`,
  ].join('\n');
}

export function figures(results: SealPipelineBenchResult[]): BenchFigure[] {
  return results.flatMap((r) => [
    {
      bench: 'c1',
      name: 'C1 (vanilla proofs of all challenges)',
      sectorSize: r.sectorSize,
      value: r.c1Seconds,
      unit: 's',
    },
    { bench: 'c1', name: 'C2 (vanilla: verify + encode)', sectorSize: r.sectorSize, value: r.c2Seconds, unit: 's' },
    { bench: 'c1', name: 'seal proof verification', sectorSize: r.sectorSize, value: r.verifySeconds, unit: 's' },
  ]);
}

export async function run(
  args: string[] = [],
): Promise<{ results: SealPipelineBenchResult[]; figures: BenchFigure[] }> {
  const sizes = args.length ? args.map(parseSectorSize) : [2048, 8 << 20];
  const results: SealPipelineBenchResult[] = [];
  for (const size of sizes) {
    const r = await benchSealPipeline(size);
    console.log(formatSealPipeline(r));
    results.push(r);
  }
  return { results, figures: figures(results) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run(process.argv.slice(2));
}
