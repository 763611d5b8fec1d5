/**
 * PC1 labeling speed (labels/s) for 2KiB and 8MiB (512MiB with --512), TypeScript and native kernels, next to
 * a baseline measured in the same run: OpenSSL's SHA-256 block rate through node:crypto (SHA-NI where the CPU
 * has it). A label hashes 1248 bytes = 20 SHA-256 blocks, so the baseline's "label equivalent" rate is the
 * block rate / 20; the ratio says how close labeling gets to bare hashing.
 *
 *   node dist/bench/pc1.js [--512] [--ts-512]        (or: npx tsx src/bench/pc1.ts)
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
  parseSectorSize,
  SdrGraph,
  sdrNative,
  sealProofFor,
} from '../proofs/index.js';

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

export interface Pc1BenchResult {
  sha256Backend: string;
  /** node:crypto SHA-256 over one large buffer: 64-byte blocks per second. */
  opensslBlocksPerSecond: number;
  /** The same, as labels (20 blocks each) per second. */
  opensslLabelEquivalentPerSecond: number;
  rows: Pc1BenchRow[];
}

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
  const sizes = opts.sizes ?? ['2KiB', '8MiB', ...(opts.with512 ? ['512MiB'] : [])];
  const rows: Pc1BenchRow[] = [];
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
        // 2KiB is too quick to time once: repeat it
        const reps = proof.nodes < 4096 ? 200 : 1;
        let labels = 0;
        let seconds = 0;
        let kernelSeconds = 0;
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
          labels += res.labels;
          seconds += res.seconds;
          kernelSeconds += res.kernelSeconds;
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
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return { sha256Backend, opensslBlocksPerSecond: blocks, opensslLabelEquivalentPerSecond: equiv, rows };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  // one labelSector per 2KiB repetition: keep its info lines out of the table
  setupLogging({ levelSpec: process.env.RUST_LOG ?? 'warn' });
  await run({ with512: args.includes('--512'), ts512: args.includes('--ts-512') });
}
