/**
 * PC1 labeling speed (labels/s) for 2KiB and 8MiB (512MiB with --512), TypeScript and native kernels, next to
 * a baseline measured in the same run: OpenSSL's SHA-256 block rate through node:crypto (SHA-NI where the CPU
 * has it). A label hashes 1248 bytes = 20 SHA-256 blocks, so the baseline's "label equivalent" rate is the
 * block rate / 20; the ratio says how close labeling gets to bare hashing.
 *
 * Batch PC1 (labelSectorsBatch, K = 2, 4, 8 sectors on one core) at 8MiB (and 512MiB with --512): labels of
 * all K sectors per second of the run, divided by the single-sector native end-to-end rate of the same run.
 * From 8MiB up each figure is the best of a few runs: on a shared box a run can lose the core for a while.
 *
 *   node dist/bench/pc1.js [--512] [--ts-512]        (or: npx tsx src/bench/pc1.ts; npm run bench -- pc1 --512)
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
}

export interface Pc1BatchRow {
  sectorSize: string;
  sectors: number;
  /** How the kernel hashed the sectors' streams ("sha-ni x2", …). */
  lanes: string;
  labels: number;
  seconds: number;
  /** All K sectors' labels per second, on one core. */
  labelsPerSecondPerCore: number;
  /** ÷ the single-sector native end-to-end labels/s of the same size in this run. */
  ratio: number;
}

export interface Pc1BenchResult {
  sha256Backend: string;
  /** node:crypto SHA-256 over one large buffer: 64-byte blocks per second. */
  opensslBlocksPerSecond: number;
  /** The same, as labels (20 blocks each) per second. */
  opensslLabelEquivalentPerSecond: number;
  rows: Pc1BenchRow[];
  batch: Pc1BatchRow[];
  /** The summary figures (npm run bench). */
  figures: BenchFigure[];
}

const BATCH_SIZES = [2, 4, 8];

const BLOCKS_PER_LABEL = 20;

function opensslBlockRate(): number {
  const buf = randomFillSync(Buffer.alloc(64 << 20));
  createHash('sha256')
    .update(buf.subarray(0, 1 << 20))
    .digest(); // warm up
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    createHash('sha256').update(buf).digest();
    best = Math.max(best, buf.length / 64 / ((performance.now() - t) / 1000));
  }
  return best;
}

export async function run(
  opts: { sizes?: string[]; with512?: boolean; ts512?: boolean; log?: (line: string) => void } = {},
): Promise<Pc1BenchResult> {
  const print = opts.log ?? ((l: string) => process.stdout.write(`${l}\n`));
  const native = sdrNative();
  const blocks = opensslBlockRate();
  const equiv = blocks / BLOCKS_PER_LABEL;
  const sha256Backend = native ? native.sdrShaBackend() : 'none (addon not built)';
  print(
    `baseline: node:crypto SHA-256 ${Math.round(blocks).toLocaleString('en')} blocks/s = ` +
      `${Math.round(equiv).toLocaleString('en')} label-equivalents/s; native SHA-256: ${sha256Backend}`,
  );
  // npm run bench -- pc1 --512 passes the flag through process.argv (index.ts calls run() without options)
  const with512 = opts.with512 ?? process.argv.includes('--512');
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
      const kernels: ('native' | 'ts')[] = [];
      if (native) kernels.push('native');
      if (size < 512 * 2 ** 20 || opts.ts512 || !native) kernels.push('ts');
      for (const kernel of kernels) {
        // 2KiB is too quick to time once: repeat it; 8MiB and up: the best of a few (native) runs
        const reps = proof.nodes < 4096 ? 200 : 1;
        const tries = proof.nodes >= 4096 && kernel === 'native' ? 3 : 1;
        let labels = 0;
        let seconds = 0;
        let kernelSeconds = 0;
        for (let t = 0; t < tries; t++) {
          let l = 0;
          let sec = 0;
          let ks = 0;
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
          // every try labels the same count: keep the shortest times
          labels = l;
          seconds = t === 0 ? sec : Math.min(seconds, sec);
          kernelSeconds = t === 0 ? ks : Math.min(kernelSeconds, ks);
        }
        await rm(join(work, `${s}-${kernel}`), { recursive: true, force: true });
        const row: Pc1BenchRow = {
          sectorSize: formatSectorSize(size),
          kernel,
          layers: proof.layers,
          labels,
          seconds,
          labelsPerSecond: labels / seconds,
          ratio: labels / seconds / equiv,
          kernelLabelsPerSecond: labels / kernelSeconds,
          kernelRatio: labels / kernelSeconds / equiv,
        };
        rows.push(row);
        const n = (x: number) => Math.round(x).toLocaleString('en').padStart(10);
        print(
          `${row.sectorSize.padEnd(7)} ${kernel.padEnd(6)} end-to-end ${n(row.labelsPerSecond)} labels/s (ratio ${row.ratio.toFixed(2)})` +
            `  kernel ${n(row.kernelLabelsPerSecond)} labels/s (ratio ${row.kernelRatio.toFixed(2)})` +
            `  [${labels.toLocaleString('en')} labels, ${seconds.toFixed(2)} s]`,
        );
      }
      const one = rows.find((r) => r.sectorSize === formatSectorSize(size) && r.kernel === 'native');
      if (!one || !native?.sdrLabelChunkBatch || proof.nodes < 4096) continue;
      batch.push(
        ...(await benchBatch({ graph, layers: proof.layers, parentCachePath, work, size: s, one, equiv, print })),
      );
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const result = { sha256Backend, opensslBlocksPerSecond: blocks, opensslLabelEquivalentPerSecond: equiv, rows, batch };
  return { ...result, figures: figures(result) };
}

/**
 * Batch K = 2, 4, 8 at one size. Each batch run follows a single-sector run (so both see the same load on a shared
 * box); the single-sector row keeps its best, and every batch ratio divides by that same figure.
 */
async function benchBatch(a: {
  graph: SdrGraph;
  layers: number;
  parentCachePath: string;
  work: string;
  size: string;
  one: Pc1BenchRow;
  equiv: number;
  print: (l: string) => void;
}): Promise<Pc1BatchRow[]> {
  const { graph, layers, parentCachePath, work, one } = a;
  const out: Pc1BatchRow[] = [];
  const replicaId = () => {
    const r = randomFillSync(new Uint8Array(32));
    r[31]! &= 0x3f;
    return r;
  };
  for (const k of BATCH_SIZES) {
    const sectors = Array.from({ length: k }, (_, i) => ({
      replicaId: replicaId(),
      cacheDir: join(work, `batch-${i}`),
    }));
    let best: Pc1BatchRow | null = null;
    for (let t = 0; t < 2; t++) {
      const single = await labelSector({
        graph,
        replicaId: replicaId(),
        layers,
        cacheDir: join(work, 'batch-single'),
        parentCachePath,
        backend: 'native',
        resume: false,
      });
      if (single.labels / single.seconds > one.labelsPerSecond) {
        one.seconds = (single.seconds * one.labels) / single.labels;
        one.labelsPerSecond = single.labels / single.seconds;
        one.ratio = one.labelsPerSecond / a.equiv;
      }
      if (single.labels / single.kernelSeconds > one.kernelLabelsPerSecond) {
        one.kernelLabelsPerSecond = single.labels / single.kernelSeconds;
        one.kernelRatio = one.kernelLabelsPerSecond / a.equiv;
      }
      const res = await labelSectorsBatch({ graph, sectors, layers, parentCachePath, resume: false });
      const failed = res.sectors.filter((x) => !x.ok);
      if (failed.length) throw new Error(`batch K=${k}: ${failed.length} sectors failed`);
      const perCore = res.labels / res.seconds;
      if (!best || perCore > best.labelsPerSecondPerCore) {
        best = {
          sectorSize: one.sectorSize,
          sectors: k,
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
    `${one.sectorSize.padEnd(7)} single sector, best of this run: ${Math.round(one.labelsPerSecond).toLocaleString('en')} labels/s ` +
      `(ratio ${one.ratio.toFixed(2)})`,
  );
  for (const b of out) {
    b.ratio = b.labelsPerSecondPerCore / one.labelsPerSecond;
    a.print(
      `${b.sectorSize.padEnd(7)} batch K=${b.sectors} ${Math.round(b.labelsPerSecondPerCore).toLocaleString('en').padStart(10)} labels/s per core ` +
        `(${b.ratio.toFixed(2)}× one sector, ${b.lanes})  [${b.labels.toLocaleString('en')} labels, ${b.seconds.toFixed(2)} s]`,
    );
  }
  return out;
}

/** The summary figures: each size and kernel end to end and kernel only (÷ OpenSSL), then the batch rates. */
export function figures(r: Omit<Pc1BenchResult, 'figures'>): BenchFigure[] {
  const baseline = 'OpenSSL SHA-256 label-equivalents/s';
  const out: BenchFigure[] = [];
  for (const row of r.rows) {
    const common = { bench: 'pc1', sectorSize: row.sectorSize, unit: 'labels/s', baseline };
    out.push({
      ...common,
      name: `labels/s, ${row.kernel} kernel, end to end`,
      value: row.labelsPerSecond,
      ratio: row.ratio,
    });
    out.push({
      ...common,
      name: `labels/s, ${row.kernel} kernel only`,
      value: row.kernelLabelsPerSecond,
      ratio: row.kernelRatio,
    });
  }
  for (const b of r.batch) {
    out.push({
      bench: 'pc1',
      name: `batch K=${b.sectors} labels/s per core`,
      sectorSize: b.sectorSize,
      value: b.labelsPerSecondPerCore,
      unit: 'labels/s',
      ratio: b.ratio,
      baseline: 'single-sector native labels/s per core, end to end',
    });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  // one labelSector per 2KiB repetition: keep its info lines out of the table
  setupLogging({ levelSpec: process.env.RUST_LOG ?? 'warn' });
  await run({ with512: args.includes('--512'), ts512: args.includes('--ts-512') });
}
