/**
 * PC2 speed: Poseidon hashes/s per arity (TypeScript bigint and the native kernel, one thread), and whole
 * PC2 runs (TreeC + encoding + TreeR-last on all cores) for 2KiB and 8MiB (512MiB with --512), each next to a
 * baseline measured in the same run: the native Montgomery field-multiplication rate. A Poseidon hash costs a
 * known number of multiplications (S-boxes and matrix products), so `mul-equivalents per hash` = mul rate ÷
 * hash rate says how close the kernel gets to bare field arithmetic; the ratios compare across machines.
 * Single-thread rates are measured in CPU time (stable on a shared machine); PC2 runs report wall time and
 * the CPU time all threads used.
 *
 *   node dist/bench/pc2.js [--512] [--threads N]      (or: npx tsx src/bench/pc2.ts)
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  formatSectorSize,
  hasNativeKernel,
  kernelDescription,
  labelLayerPath,
  NODE_SIZE,
  nativeMulRate,
  parseSectorSize,
  pc2,
  poseidonConstants,
  poseidonHashBatch,
  sealProofFor,
  treeLen,
} from '../proofs/index.js';

export interface PoseidonBenchRow {
  arity: number;
  /** Field multiplications in one hash of the pre-processed permutation (plus Montgomery conversions). */
  multiplications: number;
  tsHashesPerSecond: number;
  nativeHashesPerSecond?: number;
  /** nativeHashesPerSecond / tsHashesPerSecond */
  nativeSpeedup?: number;
  /** native mul rate / native hash rate: the multiplications one hash costs in time. */
  mulEquivalentsPerHash?: number;
}

export interface Pc2BenchRow {
  sectorSize: string;
  threads: number;
  kernel: string;
  treeCSeconds: number;
  treeRLastSeconds: number;
  totalSeconds: number;
  /** CPU seconds of all threads (process user + system). */
  cpuSeconds: number;
  /** Poseidon hashes of the run (columns + tree nodes + compound roots + CommR). */
  hashes: number;
  hashesPerSecond: number;
  /** Hashes per CPU second (all threads) / native mul rate × 1000: per-core efficiency, load independent. */
  ratioPerKMul?: number;
}

export interface Pc2BenchResult {
  kernel: string;
  nativeMulPerSecond?: number;
  nativeGenericMulPerSecond?: number;
  poseidon: PoseidonBenchRow[];
  pc2: Pc2BenchRow[];
}

/** Multiplications of one hash: S-boxes (3 each), dense and sparse matrix products, in/out conversions. */
function multiplicationsPerHash(arity: number): number {
  const { t, fullRounds: rf, partialRounds: rp } = poseidonConstants(arity);
  return rf * (3 * t + t * t) + rp * (3 + 2 * t - 1) + t; // t: arity inputs to Montgomery form + 1 output out
}

/** Calls per second of CPU time (the process's; the benchmark runs one thread at a time here). */
function rate(fn: (count: number) => void, minSeconds: number): number {
  let count = 1;
  for (;;) {
    const s = process.cpuUsage();
    fn(count);
    const u = process.cpuUsage(s);
    const dt = (u.user + u.system) / 1e6;
    if (dt >= minSeconds) return count / dt;
    count = Math.max(count * 2, Math.ceil((count * minSeconds * 1.2) / Math.max(dt, 1e-6)));
  }
}

function randomNodes(n: number): Uint8Array {
  const b = randomFillSync(new Uint8Array(n * NODE_SIZE));
  for (let i = 31; i < b.length; i += 32) b[i]! &= 0x3f;
  return b;
}

function poseidonRow(arity: number, mulRate: number | undefined): PoseidonBenchRow {
  const pool = randomNodes(4096 * arity);
  const out = new Uint8Array(4096 * 32);
  const batch = (kernel: 'ts' | 'native') => (count: number) => {
    for (let done = 0; done < count; ) {
      const k = Math.min(4096, count - done);
      poseidonHashBatch(arity, pool.subarray(0, k * arity * 32), out.subarray(0, k * 32), kernel);
      done += k;
    }
  };
  poseidonConstants(arity); // derive the constants outside the timing
  poseidonHashBatch(arity, randomNodes(arity), new Uint8Array(32), 'ts');
  const ts = rate(batch('ts'), 0.5);
  const row: PoseidonBenchRow = { arity, multiplications: multiplicationsPerHash(arity), tsHashesPerSecond: ts };
  if (hasNativeKernel()) {
    const nat = rate(batch('native'), 0.5);
    row.nativeHashesPerSecond = nat;
    row.nativeSpeedup = nat / ts;
    if (mulRate) row.mulEquivalentsPerHash = mulRate / nat;
  }
  return row;
}

/** Poseidon hashes a PC2 run performs for a configuration. */
function pc2Hashes(cfg: ReturnType<typeof sealProofFor>): number {
  const perTree = treeLen(cfg.baseTreeLeaves, 8) - cfg.baseTreeLeaves;
  const compound = cfg.shape.sub === 0 ? 0 : cfg.baseTreeCount / cfg.shape.sub + (cfg.shape.top ? 1 : 0);
  return cfg.nodes + 2 * (perTree * cfg.baseTreeCount + compound) + 1;
}

async function pc2Row(sectorSize: number, threads: number, mulRate: number | undefined): Promise<Pc2BenchRow> {
  const cfg = sealProofFor(sectorSize);
  const dir = await mkdtemp(join(tmpdir(), 'bench-pc2-'));
  try {
    const cacheDir = join(dir, 'cache');
    await mkdir(cacheDir);
    // Random labels and data stand in for PC1's output: PC2's work does not depend on their values.
    for (let l = 1; l <= cfg.layers; l++) await writeFile(labelLayerPath(cacheDir, l), randomNodes(cfg.nodes));
    await writeFile(join(dir, 'staged'), randomNodes(cfg.nodes));
    const cpu0 = process.cpuUsage();
    const r = await pc2({
      cacheDir,
      sealedPath: join(dir, 'sealed'),
      stagedPath: join(dir, 'staged'),
      proof: cfg,
      threads,
    });
    const cpu = process.cpuUsage(cpu0);
    const hashes = pc2Hashes(cfg);
    const hps = hashes / r.seconds.total;
    return {
      sectorSize: formatSectorSize(sectorSize),
      threads: r.threads,
      kernel: r.kernel,
      treeCSeconds: r.seconds.treeC,
      treeRLastSeconds: r.seconds.treeRLast,
      totalSeconds: r.seconds.total,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      hashes,
      hashesPerSecond: hps,
      ratioPerKMul: mulRate ? (hashes / ((cpu.user + cpu.system) / 1e6) / mulRate) * 1000 : undefined,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(opts: { sizes?: number[]; threads?: number } = {}): Promise<Pc2BenchResult> {
  const sizes = opts.sizes ?? [parseSectorSize('2KiB'), parseSectorSize('8MiB')];
  const threads = opts.threads ?? availableParallelism();
  const native = hasNativeKernel();
  const mul = native ? nativeMulRate(50_000_000) : undefined;
  const mulGeneric = native ? nativeMulRate(20_000_000, 'native-generic') : undefined;
  const poseidon = [2, 4, 8, 11].map((a) => poseidonRow(a, mul));
  const rows: Pc2BenchRow[] = [];
  for (const s of sizes) rows.push(await pc2Row(s, threads, mul));

  const f = (x: number | undefined, w = 9, d = 0) => (x === undefined ? '-'.padStart(w) : x.toFixed(d).padStart(w));
  console.log(`PC2 benchmark (kernel: ${kernelDescription()})`);
  if (mul !== undefined) {
    console.log(
      `  baseline: native Fr multiplication ${(mul / 1e6).toFixed(1)} M/s (portable C: ${(mulGeneric! / 1e6).toFixed(1)} M/s), one thread`,
    );
  }
  console.log('  Poseidon, one thread (CPU time):');
  console.log('    arity   muls/hash   TS hash/s   native hash/s   native/TS   mul-equiv/hash   hash/s per k-mul/s');
  for (const p of poseidon) {
    const perK = mul && p.nativeHashesPerSecond ? (p.nativeHashesPerSecond / mul) * 1000 : undefined;
    console.log(
      `    ${f(p.arity, 5)}   ${f(p.multiplications, 9)}   ${f(p.tsHashesPerSecond, 9)}   ${f(p.nativeHashesPerSecond, 13)}   ${f(p.nativeSpeedup, 9, 1)}   ${f(p.mulEquivalentsPerHash, 14)}   ${f(perK, 18, 3)}`,
    );
  }
  console.log('  PC2 (TreeC + encoding + TreeR-last, random PC1 layers):');
  for (const r of rows) {
    console.log(
      `    ${r.sectorSize.padStart(6)}  ${r.threads} threads  TreeC ${r.treeCSeconds.toFixed(2)} s  TreeR-last ${r.treeRLastSeconds.toFixed(2)} s  total ${r.totalSeconds.toFixed(2)} s (CPU ${r.cpuSeconds.toFixed(1)} s)  ${f(r.hashesPerSecond, 0)} hash/s wall${r.ratioPerKMul === undefined ? '' : `  (${r.ratioPerKMul.toFixed(3)} hash per k-mul, CPU time)`}`,
    );
  }
  return {
    kernel: kernelDescription(),
    nativeMulPerSecond: mul,
    nativeGenericMulPerSecond: mulGeneric,
    poseidon,
    pc2: rows,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const sizes = [parseSectorSize('2KiB'), parseSectorSize('8MiB')];
  if (args.includes('--512')) sizes.push(parseSectorSize('512MiB'));
  const ti = args.indexOf('--threads');
  await run({ sizes, threads: ti >= 0 ? Number(args[ti + 1]) : undefined });
}
