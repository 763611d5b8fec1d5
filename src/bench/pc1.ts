/**
 * PC1 labeling speed (labels/s) for 2KiB, 8MiB and 512MiB (--quick: not 512MiB), TypeScript and native kernels, next to
 * a baseline measured in the same run: OpenSSL's SHA-256 block rate through node:crypto (SHA-NI where the CPU
 * has it). A label hashes 1248 bytes = 20 SHA-256 blocks, so the baseline's "label equivalent" rate is the
 * block rate / 20; the ratio says how close labeling gets to bare hashing.
 *
 * The native single sector runs as it does in a sealing worker: where the process may use two CPUs, a second
 * thread copies parents ahead of the hashing thread (rust-fil-proofs' multicore SDR producer). It is also measured
 * on one thread ("native kernel on one thread"): that is the per-core rate.
 *
 * Batch PC1 (labelSectorsBatch, K = 2, 4, 8 sectors on one core, and 16, 32 at 8MiB) at 8MiB and 512MiB: labels of
 * all K sectors per second of the run, divided by the single-sector native end-to-end rate on one thread of the
 * same run (one core against one core). Then K = 4 once more as the worker runs it, with the second thread
 * gathering the batch's parents ahead, divided by the single sector with its own second thread.
 * From 8MiB up each figure is the best of a few runs: on a shared box a run can lose the core for a while.
 *
 * Beside each wall-clock rate, the same labels per CPU-second of this process (process.cpuUsage: user + system,
 * every thread), with the OpenSSL baseline measured the same way: on a box whose cores other processes share,
 * time spent descheduled does not count against either side, so those ratios move far less between runs.
 *
 * The batch's ceiling on this core, measured beside them: sha256rnds2 in one dependent chain (what one sector's
 * labels wait on) and in 4 interleaved chains (the SHA unit's throughput). Four streams cannot beat one by more
 * than that ratio, however the rest of the batch is written (AMD Zen 5: about 1.95).
 *
 *   node dist/bench/pc1.js [--quick] [--ts-512] [--verbose]   (or: npx tsx src/bench/pc1.ts; npm run bench -- pc1)
 *   --quick: 2KiB and 8MiB only (512MiB takes minutes: single sector, then K = 2, 4, 8 with K GiB of layers)
 *   --verbose: where each single-sector row's time went (kernel, outside it; user and system CPU)
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupLogging } from '../common/log.js';
import {
  ensureParentCache,
  formatSectorSize,
  labelSector,
  labelSectorsBatch,
  parseSectorSize,
  SdrGraph,
  sdrNative,
  sealProofFor,
} from '../proofs/index.js';
import type { BenchFigure } from './index.js';

export interface Pc1BenchRow {
  sectorSize: string;
  kernel: 'native' | 'ts';
  /** Native with the parent-copying thread turned off (sdrFill(false)): one sector on one core. */
  oneThread: boolean;
  layers: number;
  labels: number;
  /** End to end: parents read, labels computed and written (fsync included). */
  seconds: number;
  labelsPerSecond: number;
  /** labelsPerSecond / (OpenSSL SHA-256 blocks per second / 20) */
  ratio: number;
  /** Inside the kernel only. */
  kernelLabelsPerSecond: number;
  kernelRatio: number;
  /** End to end, labels per CPU-second of the process, and ÷ OpenSSL label-equivalents per CPU-second. */
  cpuLabelsPerSecond: number;
  cpuRatio: number;
  /** Where the best try's time went (printed with --verbose). */
  breakdown?: Pc1Breakdown;
}

/** One single-sector try, taken apart: the kernel's wall time, the rest, and the process's CPU time by kind. */
export interface Pc1Breakdown {
  /** Inside the native (or TypeScript) kernel calls. */
  kernelSeconds: number;
  /** Outside them: parent-cache reads awaited, layer writes and fsync awaited, buffers, the event loop. */
  outsideKernelSeconds: number;
  /** process.cpuUsage of the try: user (the kernel, JavaScript, copies in libuv threads) and system (reads,
   * writes, page faults and zeroing of new buffers). */
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
}

export interface Pc1BatchRow {
  sectorSize: string;
  sectors: number;
  /** With the second thread gathering parents ahead (÷ the single sector with its own); else one core. */
  twoThreads: boolean;
  /** How the kernel hashed the sectors' streams ("sha-ni x2", …). */
  lanes: string;
  labels: number;
  seconds: number;
  /** All K sectors' labels per second, on one core. */
  labelsPerSecondPerCore: number;
  /** ÷ the single-sector native end-to-end labels/s on one thread, same size, this run. */
  ratio: number;
  /** All K sectors' labels per CPU-second, and ÷ the single sector's labels per CPU-second. */
  cpuLabelsPerSecond: number;
  cpuRatio: number;
}

export interface Pc1BenchResult {
  sha256Backend: string;
  /** The batch's ceiling on this core (null without SHA-NI). */
  shaniStreams: ShaniStreams | null;
  /** node:crypto SHA-256 over one large buffer: 64-byte blocks per second. */
  opensslBlocksPerSecond: number;
  /** The same, as labels (20 blocks each) per second. */
  opensslLabelEquivalentPerSecond: number;
  /** Label-equivalents per CPU-second. */
  opensslLabelEquivalentPerCpuSecond: number;
  rows: Pc1BenchRow[];
  batch: Pc1BatchRow[];
  /** The summary figures (npm run bench). */
  figures: BenchFigure[];
}

/** K per sector size: 16 and 32 (each 16 sectors in AVX-512 lanes) only where K × 2 layers stay small (8MiB: 512 MiB;
 * at 512MiB K = 32 would hold 32 GiB of layers). */
function batchSizes(sectorSize: number): number[] {
  return sectorSize <= 8 * 2 ** 20 ? [2, 4, 8, 16, 32] : [2, 4, 8];
}

const BLOCKS_PER_LABEL = 20;

/** CPU seconds (user + system, all threads) since `from`. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(from);
  return (c.user + c.system) / 1e6;
}

function opensslBlockRate(): { wall: number; cpu: number } {
  const buf = randomFillSync(Buffer.alloc(64 << 20));
  createHash('sha256')
    .update(buf.subarray(0, 1 << 20))
    .digest(); // warm up
  let best = 0;
  let bestCpu = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const c = process.cpuUsage();
    createHash('sha256').update(buf).digest();
    best = Math.max(best, buf.length / 64 / ((performance.now() - t) / 1000));
    bestCpu = Math.max(bestCpu, buf.length / 64 / Math.max(cpuSeconds(c), 1e-6));
  }
  return { wall: best, cpu: bestCpu };
}

/** sha256rnds2 in one chain and in 4 interleaved chains (the batch's ceiling: ceiling = oneNs ÷ fourNs). */
export interface ShaniStreams {
  oneNs: number;
  fourNs: number;
  ceiling: number;
}

function shaniStreams(native: ReturnType<typeof sdrNative>): ShaniStreams | null {
  const r = native?.sdrShaniStreams?.(8_000_000);
  if (!r) return null;
  const [oneNs, fourNs] = r;
  return { oneNs, fourNs, ceiling: oneNs / fourNs };
}

export async function run(
  opts: { sizes?: string[]; with512?: boolean; ts512?: boolean; verbose?: boolean; log?: (line: string) => void } = {},
): Promise<Pc1BenchResult> {
  const print = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const native = sdrNative();
  const rate = opensslBlockRate();
  const blocks = rate.wall;
  const equiv = blocks / BLOCKS_PER_LABEL;
  const cpuEquiv = rate.cpu / BLOCKS_PER_LABEL;
  const sha256Backend = native ? native.sdrShaBackend() : 'none (addon not built)';
  print(
    `baseline: node:crypto SHA-256 ${Math.round(blocks).toLocaleString('en')} blocks/s = ` +
      `${Math.round(equiv).toLocaleString('en')} label-equivalents/s ` +
      `(${Math.round(cpuEquiv).toLocaleString('en')} per CPU-second); native SHA-256: ${sha256Backend}`,
  );
  // npm run bench -- pc1 --quick passes the flag through process.argv (index.ts calls run() without options)
  const with512 = opts.with512 ?? !process.argv.includes('--quick');
  const streams = shaniStreams(native);
  if (streams) {
    print(
      `SHA-NI: sha256rnds2 ${streams.oneNs.toFixed(3)} ns in one chain, ${streams.fourNs.toFixed(3)} ns in 4 ` +
        `interleaved chains: 4 streams hash at most ${streams.ceiling.toFixed(2)}× one (the batch's ceiling)`,
    );
  }
  const verbose = opts.verbose ?? process.argv.includes('--verbose');
  const sizes = opts.sizes ?? ['2KiB', '8MiB', ...(with512 ? ['512MiB'] : [])];
  const rows: Pc1BenchRow[] = [];
  const batch: Pc1BatchRow[] = [];
  const work = await mkdtemp(join(tmpdir(), 'bench-pc1-'));
  try {
    for (const s of sizes) {
      const size = parseSectorSize(s);
      const proof = sealProofFor(size);
      const graph = SdrGraph.forConfig(proof);
      const parentCachePath = await ensureParentCache(graph);
      const replicaId = randomFillSync(new Uint8Array(32));
      replicaId[31]! &= 0x3f;
      // the native kernel as the worker runs it, then on one thread where the first used two
      const kernels: ['native' | 'ts', boolean][] = [];
      if (native) kernels.push(['native', false]);
      if (native?.sdrFill?.() && proof.nodes >= 4096) kernels.push(['native', true]);
      if (size < 512 * 2 ** 20 || opts.ts512 || !native) kernels.push(['ts', false]);
      for (const [kernel, oneThread] of kernels) {
        if (oneThread) native!.sdrFill!(false);
        // 2KiB is too quick to time once: repeat it; 8MiB and up: the best of a few (native) runs
        const reps = proof.nodes < 4096 ? 200 : 1;
        const tries = proof.nodes >= 4096 && kernel === 'native' ? 3 : 1;
        let labels = 0;
        let seconds = 0;
        let kernelSeconds = 0;
        let cpu = 0;
        let breakdown: Pc1Breakdown | undefined;
        for (let t = 0; t < tries; t++) {
          let l = 0;
          let sec = 0;
          let ks = 0;
          const c0 = process.cpuUsage();
          for (let r = 0; r < reps; r++) {
            const res = await labelSector({
              graph,
              replicaId,
              layers: proof.layers,
              cacheDir: join(work, `${s}-${kernel}`),
              parentCachePath,
              backend: kernel,
              resume: false,
            });
            l += res.labels;
            sec += res.seconds;
            ks += res.kernelSeconds;
          }
          const c = process.cpuUsage(c0);
          if (!breakdown || (c.user + c.system) / 1e6 < breakdown.cpuUserSeconds + breakdown.cpuSystemSeconds) {
            breakdown = {
              kernelSeconds: ks,
              outsideKernelSeconds: sec - ks,
              cpuUserSeconds: c.user / 1e6,
              cpuSystemSeconds: c.system / 1e6,
            };
          }
          // every try labels the same count: keep the shortest times
          labels = l;
          seconds = t === 0 ? sec : Math.min(seconds, sec);
          kernelSeconds = t === 0 ? ks : Math.min(kernelSeconds, ks);
          cpu = t === 0 ? cpuSeconds(c0) : Math.min(cpu, cpuSeconds(c0));
        }
        if (oneThread) native!.sdrFill!(true);
        await rm(join(work, `${s}-${kernel}`), { recursive: true, force: true });
        const row: Pc1BenchRow = {
          sectorSize: formatSectorSize(size),
          kernel,
          oneThread,
          layers: proof.layers,
          labels,
          seconds,
          labelsPerSecond: labels / seconds,
          ratio: labels / seconds / equiv,
          kernelLabelsPerSecond: labels / kernelSeconds,
          kernelRatio: labels / kernelSeconds / equiv,
          cpuLabelsPerSecond: labels / cpu,
          cpuRatio: labels / cpu / cpuEquiv,
          breakdown,
        };
        rows.push(row);
        const n = (x: number) => Math.round(x).toLocaleString('en').padStart(10);
        print(
          `${row.sectorSize.padEnd(7)} ${(oneThread ? 'native, one thread' : kernel).padEnd(18)} end-to-end ${n(row.labelsPerSecond)} labels/s (ratio ${row.ratio.toFixed(2)})` +
            `  kernel ${n(row.kernelLabelsPerSecond)} labels/s (ratio ${row.kernelRatio.toFixed(2)})` +
            `  per CPU-s ${n(row.cpuLabelsPerSecond)} (ratio ${row.cpuRatio.toFixed(2)})` +
            `  [${labels.toLocaleString('en')} labels, ${seconds.toFixed(2)} s]`,
        );
        if (verbose && breakdown) print(`        ${formatBreakdown(breakdown)}`);
      }
      // per core: the one-thread row where the default used a second thread
      const mine = rows.filter((r) => r.sectorSize === formatSectorSize(size) && r.kernel === 'native');
      const one = mine.find((r) => r.oneThread) ?? mine[0];
      if (!one || !native?.sdrLabelChunkBatch || proof.nodes < 4096) continue;
      batch.push(
        ...(await benchBatch({
          graph,
          layers: proof.layers,
          parentCachePath,
          work,
          size: s,
          one,
          two: mine.find((r) => !r.oneThread && one.oneThread),
          equiv,
          cpuEquiv,
          print,
        })),
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const result = {
    sha256Backend,
    shaniStreams: streams,
    opensslBlocksPerSecond: blocks,
    opensslLabelEquivalentPerSecond: equiv,
    opensslLabelEquivalentPerCpuSecond: cpuEquiv,
    rows,
    batch,
  };
  return { ...result, figures: figures(result) };
}

/**
 * Batch K = 2, 4, 8 at one size (and 16, 32 at 8MiB). Each batch run follows a single-sector run (so both see the same load on a shared
 * box); the single-sector row keeps its best, and every batch ratio divides by that same figure.
 */
async function benchBatch(a: {
  graph: SdrGraph;
  layers: number;
  parentCachePath: string;
  work: string;
  size: string;
  one: Pc1BenchRow;
  /** The single sector as the worker runs it (its second thread), when that differs from `one`. */
  two?: Pc1BenchRow;
  equiv: number;
  cpuEquiv: number;
  print: (l: string) => void;
}): Promise<Pc1BatchRow[]> {
  const { graph, layers, parentCachePath, work, one } = a;
  const out: Pc1BatchRow[] = [];
  // per core: the batches on one thread; the second thread only for the last row (K = 4 as the worker runs it)
  const fill = sdrNative()?.sdrFill;
  const canFill = one.oneThread && !!fill?.();
  const replicaId = () => {
    const r = randomFillSync(new Uint8Array(32));
    r[31]! &= 0x3f;
    return r;
  };
  for (const k of batchSizes(parseSectorSize(a.size))) {
    const sectors = Array.from({ length: k }, (_, i) => ({
      replicaId: replicaId(),
      cacheDir: join(work, `batch-${i}`),
    }));
    let best: Pc1BatchRow | null = null;
    for (let t = 0; t < 2; t++) {
      const c0 = process.cpuUsage();
      if (canFill) fill!(false);
      const single = await labelSector({
        graph,
        replicaId: replicaId(),
        layers,
        cacheDir: join(work, 'batch-single'),
        parentCachePath,
        backend: 'native',
        resume: false,
      }).finally(() => canFill && fill!(true));
      const singleCpu = single.labels / cpuSeconds(c0);
      if (singleCpu > one.cpuLabelsPerSecond) {
        one.cpuLabelsPerSecond = singleCpu;
        one.cpuRatio = singleCpu / a.cpuEquiv;
      }
      if (single.labels / single.seconds > one.labelsPerSecond) {
        one.seconds = (single.seconds * one.labels) / single.labels;
        one.labelsPerSecond = single.labels / single.seconds;
        one.ratio = one.labelsPerSecond / a.equiv;
      }
      if (single.labels / single.kernelSeconds > one.kernelLabelsPerSecond) {
        one.kernelLabelsPerSecond = single.labels / single.kernelSeconds;
        one.kernelRatio = one.kernelLabelsPerSecond / a.equiv;
      }
      const c1 = process.cpuUsage();
      if (canFill) fill!(false);
      const res = await labelSectorsBatch({ graph, sectors, layers, parentCachePath, resume: false }).finally(
        () => canFill && fill!(true),
      );
      const cpuRate = res.labels / cpuSeconds(c1);
      const failed = res.sectors.filter((x) => !x.ok);
      if (failed.length) throw new Error(`batch K=${k}: ${failed.length} sectors failed`);
      const perCore = res.labels / res.seconds;
      // the best of each measure, taken apart: a run can be the fastest by the clock and not per CPU-second
      const bestCpu = Math.max(cpuRate, best?.cpuLabelsPerSecond ?? 0);
      if (best) best.cpuLabelsPerSecond = bestCpu;
      if (!best || perCore > best.labelsPerSecondPerCore) {
        best = {
          cpuLabelsPerSecond: bestCpu,
          cpuRatio: 0,
          sectorSize: one.sectorSize,
          sectors: k,
          twoThreads: false,
          lanes: res.lanes,
          labels: res.labels,
          seconds: res.seconds,
          labelsPerSecondPerCore: perCore,
          ratio: 0,
        };
      }
    }
    await rm(join(work, 'batch-single'), { recursive: true, force: true });
    await Promise.all(sectors.map((x) => rm(x.cacheDir, { recursive: true, force: true })));
    out.push(best!);
  }
  a.print(
    `${one.sectorSize.padEnd(7)} single sector${one.oneThread ? ' on one thread' : ''}, best of this run: ${Math.round(one.labelsPerSecond).toLocaleString('en')} labels/s ` +
      `(ratio ${one.ratio.toFixed(2)}); ${Math.round(one.cpuLabelsPerSecond).toLocaleString('en')} per CPU-second ` +
      `(ratio ${one.cpuRatio.toFixed(2)})`,
  );
  for (const b of out) {
    b.ratio = b.labelsPerSecondPerCore / one.labelsPerSecond;
    b.cpuRatio = b.cpuLabelsPerSecond / one.cpuLabelsPerSecond;
  }
  if (canFill && a.two) {
    // K = 4 as the worker runs it (a second thread gathering the batch's parents ahead) ÷ one sector with its own
    const sectors = Array.from({ length: 4 }, (_, i) => ({
      replicaId: replicaId(),
      cacheDir: join(work, `batch-${i}`),
    }));
    const c1 = process.cpuUsage();
    const res = await labelSectorsBatch({ graph, sectors, layers, parentCachePath, resume: false });
    const cpuRate = res.labels / cpuSeconds(c1);
    await Promise.all(sectors.map((x) => rm(x.cacheDir, { recursive: true, force: true })));
    if (res.sectors.some((x) => !x.ok)) throw new Error('batch K=4 with the second thread: a sector failed');
    const perSecond = res.labels / res.seconds;
    out.push({
      sectorSize: one.sectorSize,
      sectors: 4,
      twoThreads: true,
      lanes: res.lanes,
      labels: res.labels,
      seconds: res.seconds,
      labelsPerSecondPerCore: perSecond,
      ratio: perSecond / a.two.labelsPerSecond,
      cpuLabelsPerSecond: cpuRate,
      cpuRatio: cpuRate / a.two.cpuLabelsPerSecond,
    });
  }
  for (const b of out) {
    a.print(
      `${b.sectorSize.padEnd(7)} batch K=${b.sectors}${b.twoThreads ? ', second thread' : ''} ${Math.round(b.labelsPerSecondPerCore).toLocaleString('en').padStart(10)} labels/s${b.twoThreads ? '' : ' per core'} ` +
        `(${b.ratio.toFixed(2)}× one sector${b.twoThreads ? ' with its second thread' : ''}, ${b.lanes}); per CPU-s ${Math.round(b.cpuLabelsPerSecond).toLocaleString('en')} ` +
        `(${b.cpuRatio.toFixed(2)}×)  [${b.labels.toLocaleString('en')} labels, ${b.seconds.toFixed(2)} s]`,
    );
  }
  return out;
}

/** "kernel 3.10 s (88%), outside 0.40 s; CPU user 0.71 s, system 0.12 s (14%)" for the verbose table. */
export function formatBreakdown(b: Pc1Breakdown): string {
  const wall = b.kernelSeconds + b.outsideKernelSeconds;
  const cpu = b.cpuUserSeconds + b.cpuSystemSeconds;
  const pct = (x: number, of: number) => `${of > 0 ? Math.round((100 * x) / of) : 0}%`;
  return (
    `where the time went: kernel ${b.kernelSeconds.toFixed(2)} s (${pct(b.kernelSeconds, wall)}), ` +
    `outside it ${b.outsideKernelSeconds.toFixed(2)} s (parents read, layers written, fsync); ` +
    `CPU user ${b.cpuUserSeconds.toFixed(2)} s, system ${b.cpuSystemSeconds.toFixed(2)} s (${pct(b.cpuSystemSeconds, cpu)})`
  );
}

/** The summary figures: each size and kernel end to end and kernel only (÷ OpenSSL), then the batch rates. */
export function figures(r: Omit<Pc1BenchResult, 'figures'>): BenchFigure[] {
  const baseline = 'OpenSSL SHA-256 label-equivalents/s';
  const out: BenchFigure[] = [];
  if (r.shaniStreams) {
    out.push({
      bench: 'pc1',
      name: 'sha256rnds2/s in 4 interleaved streams (the ceiling of a batch over one sector)',
      value: 1e9 / r.shaniStreams.fourNs,
      unit: 'rounds/s',
      ratio: r.shaniStreams.ceiling,
      baseline: 'sha256rnds2/s in one dependent chain (one sector)',
    });
  }
  for (const row of r.rows) {
    const common = { bench: 'pc1', sectorSize: row.sectorSize, unit: 'labels/s', baseline };
    const kernel = row.oneThread ? `${row.kernel} kernel on one thread` : `${row.kernel} kernel`;
    out.push({
      ...common,
      name: `labels/s, ${kernel}, end to end`,
      value: row.labelsPerSecond,
      ratio: row.ratio,
    });
    out.push({
      ...common,
      name: `labels/s, ${kernel} only`,
      value: row.kernelLabelsPerSecond,
      ratio: row.kernelRatio,
    });
    out.push({
      ...common,
      name: `labels per CPU-second, ${kernel}, end to end`,
      value: row.cpuLabelsPerSecond,
      ratio: row.cpuRatio,
      baseline: 'OpenSSL SHA-256 label-equivalents per CPU-second',
    });
  }
  for (const b of r.batch) {
    if (b.twoThreads) {
      out.push({
        bench: 'pc1',
        name: `batch K=${b.sectors} labels/s with the second thread`,
        sectorSize: b.sectorSize,
        value: b.labelsPerSecondPerCore,
        unit: 'labels/s',
        ratio: b.ratio,
        baseline: 'single-sector native labels/s with its second thread, end to end',
      });
      continue;
    }
    out.push({
      bench: 'pc1',
      name: `batch K=${b.sectors} labels/s per core`,
      sectorSize: b.sectorSize,
      value: b.labelsPerSecondPerCore,
      unit: 'labels/s',
      ratio: b.ratio,
      baseline: 'single-sector native labels/s on one core, end to end',
    });
    out.push({
      bench: 'pc1',
      name: `batch K=${b.sectors} labels per CPU-second`,
      sectorSize: b.sectorSize,
      value: b.cpuLabelsPerSecond,
      unit: 'labels/s',
      ratio: b.cpuRatio,
      baseline: 'single-sector native labels per CPU-second, end to end',
    });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  // one labelSector per 2KiB repetition: keep its info lines out of the table
  setupLogging({ levelSpec: process.env.RUST_LOG ?? 'warn' });
  await run({
    with512: !args.includes('--quick'),
    ts512: args.includes('--ts-512'),
    verbose: args.includes('--verbose'),
  });
}
