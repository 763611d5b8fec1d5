/**
 * Window PoSt vanilla proving speed: seal one sector of the given size (TreeD, PC1, PC2 on random data),
 * finalize it, lay out N sectors as the persist store holds them (a copy of the sealed file, p_aux, t_aux
 * and tree-r-last per sector, each under its own sector id, so each gets its own challenges), then prove
 * them as one Window PoSt (10 challenges per sector, each a TreeR-last path with the discarded rows rebuilt
 * from the replica) and verify the proof bytes.
 *
 *   venus-worker bench post --sector-size 2KiB --sectors 2349
 *   npx tsx src/bench/post.ts [SIZE] [N]                       (npm run bench: 2KiB × 2 and 8MiB × 2)
 *
 * The per-challenge time at 512MiB and up is what a 32GiB sector costs too (same rows_to_discard, so the
 * same 512-leaf rebuild; 32GiB adds two stored path levels and the sub-tree level), which gives the
 * extrapolation to a full 32GiB partition (2349 sectors × 10 challenges) reported as `fullPartition32GiB`.
 */

import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baseTreeFileNames,
  clearCache,
  formatSectorSize,
  P_AUX_FILE,
  type PoStReplica,
  parseSectorSize,
  postProof,
  proverIdFromActorId,
  type SealProofInfo,
  sealProofFor,
  T_AUX_FILE,
  VanillaPoStProver,
  verifyWindowPoStProofOrThrow,
} from '../proofs/index.js';
import { sealFixture } from '../proofs/porep/fixture.js';
import type { BenchFigure } from './index.js';

export interface PostBenchOptions {
  sectorSize: number;
  sectors: number;
  /** Work directory, kept: a later run with the same directory and size reuses its sealed sector (default: a temporary one, removed afterwards). */
  dir?: string;
  /** Sectors proved concurrently (I/O overlap; default 8). */
  concurrency?: number;
  /** PC2 threads for the one real seal (default: all cores). */
  threads?: number;
  keep?: boolean;
}

export interface PostBenchResult {
  sectorSize: string;
  sectors: number;
  partitions: number;
  challenges: number;
  /** The one real seal behind the sectors (about 0 when reused from --dir). */
  sealSeconds: number;
  proveSeconds: number;
  /** CPU seconds of the process while proving (user + system). */
  proveCpuSeconds: number;
  verifySeconds: number;
  verified: boolean;
  faults: number;
  proofBytes: number;
  msPerSector: number;
  msPerChallenge: number;
  /**
   * Proving time of one full 32GiB partition (2349 sectors × 10 challenges) at this per-challenge cost, for
   * sizes whose TreeR-last discards 2 rows as 32GiB does (8MiB and up; null below). CPU only: at 32GiB each
   * challenge also reads 16 KiB at a random place of a 32 GiB replica.
   */
  fullPartition32GiBSeconds: number | null;
}

const MINER = 1000n;

/**
 * The one real sector behind the bench: sealed and finalized into `<dir>/sealed-sector`, or reused from an
 * earlier run with the same `--dir` (its `sector.json` records the size and CommR).
 */
async function sealedOnce(
  dir: string,
  seal: SealProofInfo,
  threads: number,
): Promise<{ cacheDir: string; sealedPath: string; commR: Uint8Array }> {
  const meta = join(dir, 'sealed-sector', 'sector.json');
  try {
    const m = JSON.parse(await readFile(meta, 'utf8')) as {
      sealProof: number;
      commR: string;
      cacheDir: string;
      sealedPath: string;
    };
    if (m.sealProof === seal.id) return { ...m, commR: Uint8Array.from(Buffer.from(m.commR, 'hex')) };
  } catch {
    // not sealed yet
  }
  const s = await sealFixture({
    proof: seal,
    dir: join(dir, 'sealed-sector'),
    parentDir: join(dir, 'parents'),
    proverId: proverIdFromActorId(MINER),
    threads,
  });
  await clearCache(s.cacheDir);
  await rm(s.stagedPath, { force: true });
  const out = {
    sealProof: seal.id,
    commR: Buffer.from(s.commR).toString('hex'),
    cacheDir: s.cacheDir,
    sealedPath: s.sealedPath,
  };
  await writeFile(meta, JSON.stringify(out));
  return { cacheDir: s.cacheDir, sealedPath: s.sealedPath, commR: s.commR };
}

export async function benchPost(o: PostBenchOptions): Promise<PostBenchResult> {
  const seal = sealProofFor(o.sectorSize, 'V1_1');
  const window = postProof(seal.windowPostProof);
  if (!Number.isInteger(o.sectors) || o.sectors < 1) throw new RangeError(`bad sector count ${o.sectors}`);
  const dir = o.dir ?? (await mkdtemp(join(tmpdir(), 'bench-post-')));
  try {
    const t0 = performance.now();
    const base = await sealedOnce(dir, seal, o.threads ?? availableParallelism());
    const sealSeconds = (performance.now() - t0) / 1000;
    const files = [P_AUX_FILE, T_AUX_FILE, ...baseTreeFileNames('tree-r-last', seal.baseTreeCount)];
    const replicas: PoStReplica[] = [];
    for (let i = 0; i < o.sectors; i++) {
      const sectorId = BigInt(i + 1);
      const cacheDir = join(dir, 'cache', `s-t0${MINER}-${sectorId}`);
      const sealedPath = join(dir, 'sealed', `s-t0${MINER}-${sectorId}`);
      await mkdir(cacheDir, { recursive: true });
      await mkdir(join(dir, 'sealed'), { recursive: true });
      for (const f of files) await copyFile(join(base.cacheDir, f), join(cacheDir, f));
      await copyFile(base.sealedPath, sealedPath);
      replicas.push({ sectorId, commR: base.commR, cacheDir, sealedPath });
    }
    const randomness = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
    const prover = new VanillaPoStProver(o.concurrency ?? 8);
    const cpu0 = process.cpuUsage();
    const t1 = performance.now();
    const r = await prover.generateWindowPoSt({ proof: window, minerId: MINER, randomness, replicas });
    const proveSeconds = (performance.now() - t1) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const t2 = performance.now();
    let verified = r.faults.length === 0 && r.proofs.length === 1;
    try {
      verifyWindowPoStProofOrThrow({ randomness, minerId: MINER, proofs: r.proofs, sectors: replicas });
    } catch {
      verified = false;
    }
    const verifySeconds = (performance.now() - t2) / 1000;
    const challenges = o.sectors * window.challengeCount;
    const msPerChallenge = (proveSeconds * 1000) / challenges;
    return {
      sectorSize: formatSectorSize(o.sectorSize),
      sectors: o.sectors,
      partitions: Math.ceil(o.sectors / window.sectorCount),
      challenges,
      sealSeconds,
      proveSeconds,
      proveCpuSeconds: (cpu.user + cpu.system) / 1e6,
      verifySeconds,
      verified,
      faults: r.faults.length,
      proofBytes: r.proofs[0]?.proofBytes.length ?? 0,
      msPerSector: (proveSeconds * 1000) / o.sectors,
      msPerChallenge,
      fullPartition32GiBSeconds: seal.treeRLastRowsToDiscard === 2 ? (2349 * 10 * msPerChallenge) / 1000 : null,
    };
  } finally {
    if (!o.keep && !o.dir) await rm(dir, { recursive: true, force: true });
  }
}

export function formatPostBench(r: PostBenchResult): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    `Window PoSt, ${r.sectors} × ${r.sectorSize} (${r.partitions} partition${r.partitions > 1 ? 's' : ''}, ${r.challenges} challenges)`,
    `  seal (1 real sector)   ${f(r.sealSeconds)} s`,
    `  prove                  ${f(r.proveSeconds, 3)} s  (${f(r.msPerSector)} ms/sector, ${f(r.msPerChallenge, 3)} ms/challenge, CPU ${f(r.proveCpuSeconds)} s)`,
    `  verify                 ${f(r.verifySeconds, 3)} s  verified: ${r.verified}  faults: ${r.faults}`,
    `  proof bytes            ${r.proofBytes}`,
    r.fullPartition32GiBSeconds === null
      ? '  32GiB partition: not extrapolated from this size (its TreeR-last keeps more rows than 32GiB)'
      : `  32GiB partition (2349 sectors × 10 challenges) at this per-challenge cost: ~${f(r.fullPartition32GiBSeconds, 1)} s CPU`,
  ].join('\n');
}

export function figures(results: PostBenchResult[]): BenchFigure[] {
  return results.flatMap((r) => [
    {
      bench: 'post',
      name: `Window PoSt prove, ${r.sectors} sectors`,
      sectorSize: r.sectorSize,
      value: r.proveSeconds,
      unit: 's',
    },
    {
      bench: 'post',
      name: 'Window PoSt prove per challenge',
      sectorSize: r.sectorSize,
      value: r.msPerChallenge,
      unit: 'ms',
    },
    {
      bench: 'post',
      name: `Window PoSt verify, ${r.sectors} sectors`,
      sectorSize: r.sectorSize,
      value: r.verifySeconds,
      unit: 's',
    },
  ]);
}

/** `npm run bench` entry: 2KiB × 2 and 8MiB × 2. */
export async function run(args: string[] = []): Promise<{ results: PostBenchResult[]; figures: BenchFigure[] }> {
  const sizes = args[0]
    ? [[parseSectorSize(args[0]), Number(args[1] ?? 2)]]
    : [
        [2048, 2],
        [8 << 20, 2],
      ];
  const results: PostBenchResult[] = [];
  for (const [sectorSize, sectors] of sizes) {
    const r = await benchPost({ sectorSize, sectors });
    console.log(formatPostBench(r));
    results.push(r);
  }
  return { results, figures: figures(results) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run(process.argv.slice(2));
}
