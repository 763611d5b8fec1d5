/**
 * CommP / Fr32 / TreeD throughput, each next to node:crypto's bulk SHA-256 rate measured in the same run
 * (OpenSSL, SHA-NI where the CPU has it), so the ratios compare across machines.
 *
 *   node dist/bench/commp.js [payloadMiB] [--tree-d SIZE]      (or: npx tsx src/bench/commp.ts)
 */
import { createHash, randomFillSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildTreeD,
  commPOfBuffer,
  commPOfFile,
  hashPairsInto,
  padBlocks,
  parseSectorSize,
  sha256Backend,
} from '../proofs/index.js';

export interface CommPBenchResult {
  payloadMiB: number;
  sha256Backend: string;
  /** node:crypto createHash('sha256') over one big buffer. */
  cryptoSha256MiBs: number;
  /** Tree row hashing (64-byte blocks → 32) with the active backend, input MiB/s. */
  rowHashMiBs: number;
  fr32PadMiBs: number;
  commPMemoryMiBs: number;
  commPFileMiBs: number;
  /** commP (in memory) / node:crypto bulk SHA-256. */
  ratio: number;
  treeD?: { sectorSize: number; seconds: number; MiBs: number };
}

function best(fn: () => void, reps = 3): number {
  let t = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    fn();
    t = Math.min(t, performance.now() - s);
  }
  return t / 1000;
}

async function bestAsync(fn: () => Promise<void>, reps = 2): Promise<number> {
  let t = Number.POSITIVE_INFINITY;
  for (let i = 0; i < reps; i++) {
    const s = performance.now();
    await fn();
    t = Math.min(t, performance.now() - s);
  }
  return t / 1000;
}

export async function run(opts: { payloadMiB?: number; treeDSize?: number } = {}): Promise<CommPBenchResult> {
  const payloadMiB = opts.payloadMiB ?? 64;
  const MiB = 1 << 20;
  const blocks = Math.floor((payloadMiB * MiB) / 127);
  const payload = randomFillSync(new Uint8Array(blocks * 127));
  const mib = payload.length / MiB;

  const tSha = best(() => createHash('sha256').update(payload).digest());
  const padded = new Uint8Array(blocks * 128);
  const tPad = best(() => padBlocks(payload, 0, padded, 0, blocks));
  const rowOut = new Uint8Array(padded.length / 2);
  const tRow = best(() => hashPairsInto(padded, rowOut));
  const tCommP = best(() => commPOfBuffer(payload), 2);

  const dir = await mkdtemp(join(tmpdir(), 'bench-commp-'));
  let tFile: number;
  let treeD: CommPBenchResult['treeD'];
  try {
    const file = join(dir, 'payload');
    await writeFile(file, payload);
    tFile = await bestAsync(async () => {
      await commPOfFile(file);
    });
    if (opts.treeDSize) {
      const s = performance.now();
      await buildTreeD({ cacheDir: dir, sectorSize: opts.treeDSize });
      const seconds = (performance.now() - s) / 1000;
      treeD = { sectorSize: opts.treeDSize, seconds, MiBs: opts.treeDSize / MiB / seconds };
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const r: CommPBenchResult = {
    payloadMiB: mib,
    sha256Backend,
    cryptoSha256MiBs: mib / tSha,
    rowHashMiBs: padded.length / MiB / tRow,
    fr32PadMiBs: mib / tPad,
    commPMemoryMiBs: mib / tCommP,
    commPFileMiBs: mib / tFile,
    ratio: tSha / tCommP,
    treeD,
  };
  const f = (x: number) => x.toFixed(0).padStart(6);
  console.log(`CommP benchmark, ${mib.toFixed(1)} MiB payload (tree hashing: ${sha256Backend})`);
  console.log(`  node:crypto sha256 bulk     ${f(r.cryptoSha256MiBs)} MiB/s   (baseline)`);
  console.log(`  tree row hashing            ${f(r.rowHashMiBs)} MiB/s   (padded input)`);
  console.log(`  Fr32 pad                    ${f(r.fr32PadMiBs)} MiB/s`);
  console.log(
    `  CommP in memory             ${f(r.commPMemoryMiBs)} MiB/s   ratio to sha256 bulk ${r.ratio.toFixed(2)}`,
  );
  console.log(`  CommP from file             ${f(r.commPFileMiBs)} MiB/s`);
  if (treeD) {
    console.log(
      `  TreeD ${(treeD.sectorSize / MiB).toFixed(0)} MiB CC sector   ${treeD.seconds.toFixed(2)} s, ${f(treeD.MiBs)} MiB/s of sector data`,
    );
  }
  return r;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  const ti = args.indexOf('--tree-d');
  const treeDSize = ti >= 0 ? parseSectorSize(args[ti + 1]) : undefined;
  const mib = args.find((a, i) => /^\d+$/.test(a) && args[i - 1] !== '--tree-d');
  await run({ payloadMiB: mib ? Number(mib) : undefined, treeDSize });
}
