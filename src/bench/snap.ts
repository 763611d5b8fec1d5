/**
 * SnapDeals: seal a committed-capacity sector, encode one piece of data into it (TreeD, replica = key +
 * data·rho, TreeR-last), prove the update (vanilla partition proofs, snap_prove with the vanilla prover),
 * verify the proof bytes and decode the data back. `venus-worker bench snap` runs one sector
 * (`benchSnap`); `npm run bench` runs 8MiB and 512MiB (`--quick`: 8MiB only) and reports encode
 * and prove speed next to the native field-multiplication rate measured in the same run (PC2's baseline),
 * and the encode time next to the same sector's PC2 time.
 *
 *   npx tsx src/bench/snap.ts [--quick] [--size 32GiB]
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import { commDToCid, commRToCid } from '../fil/index.js';
import {
  addPiece,
  decodeFrom,
  encodeInto,
  ensureParentCache,
  formatSectorSize,
  generateTreeD,
  generateUpdateProof,
  generateUpdateVanillaProofs,
  hasNativeKernel,
  nativeMulRate,
  type PieceInput,
  parseSectorSize,
  proverIdFromActorId,
  SdrGraph,
  type SealProofInfo,
  sealPreCommitPhase1,
  sealPreCommitPhase2,
  sealProofFor,
  sectorSizeInfo,
  updateParams,
  updateProofForSectorSize,
  whyUpdateProofFails,
} from '../proofs/index.js';
import type { BenchFigure } from './index.js';

const log = logger('bench-snap');
const MiB = 1024 * 1024;

export interface SnapPhaseFigure {
  seconds: number;
  /** CPU seconds of the process (all threads) during the phase: stable on a shared machine. */
  cpuSeconds: number;
  peakRssMiB: number;
}

export type SnapPhaseName = 'sealCC' | 'addPiece' | 'encode' | 'prove' | 'snapProve' | 'verify' | 'decode';

export interface BenchSnapOptions {
  sectorSize: number;
  /** The CC sector's seal proof (default: the V1_1 proof of the size). */
  proof?: SealProofInfo;
  minerId?: bigint;
  sectorNumber?: bigint;
  /** 32 bytes, used as given (mask it first, as Lotus does chain randomness). */
  ticket?: Uint8Array;
  /** Unpadded bytes of the one piece that fills the sector, zero-filled to its unpadded size; absent: zeros. */
  data?: string;
  dir?: string;
  keep?: boolean;
  /** PC2 threads (default: all cores). */
  threads?: number;
}

export interface BenchSnapResult {
  sectorSize: string;
  sealProof: string;
  updateProof: string;
  minerId: string;
  sectorNumber: string;
  /** Lotus' CIDs: the CC sector's SealedCID, the update's UnsealedCID and SealedCID. */
  commROld: string;
  commDNew: string;
  commRNew: string;
  /** sha256 (hex) of the updated replica file. */
  replicaSha256: string;
  /** The update proof bytes verify against commROld, commRNew and commDNew. */
  verified: boolean;
  error?: string;
  /** Decoding the updated replica with the sector key gave the staged data back. */
  decoded: boolean;
  proofBytes: number;
  partitions: number;
  challenges: number;
  /** PC2 of the CC sector alone (part of sealCC), for comparison with encode. */
  pc2Seconds: number;
  maxRssMiB: number;
  phases: Record<SnapPhaseName, SnapPhaseFigure>;
}

async function phase<T>(
  name: SnapPhaseName,
  figures: Partial<Record<SnapPhaseName, SnapPhaseFigure>>,
  fn: () => Promise<T>,
) {
  const maxBefore = process.resourceUsage().maxRSS;
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  timer.unref();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  try {
    return await fn();
  } finally {
    const cpu = process.cpuUsage(cpu0);
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage.rss());
    const maxAfter = process.resourceUsage().maxRSS;
    if (maxAfter > maxBefore) peak = Math.max(peak, maxAfter * 1024);
    const fig = {
      seconds: Number(((performance.now() - t0) / 1000).toFixed(3)),
      cpuSeconds: Number(((cpu.user + cpu.system) / 1e6).toFixed(3)),
      peakRssMiB: Number((peak / MiB).toFixed(1)),
    };
    figures[name] = fig;
    log.info({ phase: name, ...fig }, `${name} done`);
  }
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The first `size` bytes of two files are equal (read in 4 MiB steps). */
async function filesEqual(a: string, b: string, size: number): Promise<boolean> {
  const [x, y] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const bx = Buffer.alloc(4 * MiB);
    const by = Buffer.alloc(4 * MiB);
    for (let pos = 0; pos < size; pos += bx.length) {
      const n = Math.min(bx.length, size - pos);
      const [rx, ry] = await Promise.all([x.read(bx, 0, n, pos), y.read(by, 0, n, pos)]);
      if (rx.bytesRead !== n || ry.bytesRead !== n || !bx.subarray(0, n).equals(by.subarray(0, n))) return false;
    }
    return true;
  } finally {
    await Promise.all([x.close(), y.close()]);
  }
}

/** Checks the payload file before any work; returns its piece (or zeros). */
async function payloadPiece(sectorSize: number, data: string | undefined): Promise<PieceInput> {
  if (data === undefined) return { size: sectorSize, data: null };
  let size: number;
  try {
    const st = await stat(data);
    if (!st.isFile()) throw new UserError(`--data ${data} is not a regular file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read --data ${data}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const capacity = (sectorSize / 128) * 127;
  if (size > capacity)
    throw new UserError(
      `--data ${data} is ${size} bytes; a ${formatSectorSize(sectorSize)} sector holds at most ${capacity} unpadded bytes`,
    );
  return size === 0 ? { size: sectorSize, data: null } : { size: sectorSize, data, payloadSize: size };
}

/** Seals a CC sector, snaps the data into it, proves, verifies and decodes (see the file comment). */
export async function benchSnap(o: BenchSnapOptions): Promise<BenchSnapResult> {
  const { sectorSize } = sectorSizeInfo(o.sectorSize);
  const proof = o.proof ?? sealProofFor(sectorSize, 'V1_1');
  if (proof.sectorSize !== sectorSize)
    throw new UserError(
      `seal proof ${proof.name} is for ${formatSectorSize(proof.sectorSize)} sectors, not ${formatSectorSize(sectorSize)}`,
    );
  const upd = updateProofForSectorSize(sectorSize);
  const params = updateParams(sectorSize);
  const minerId = o.minerId ?? 1000n;
  const sectorNumber = o.sectorNumber ?? 1n;
  const ticket = o.ticket ?? new Uint8Array(32).fill(1);
  if (ticket.length !== 32) throw new UserError('the ticket must be 32 bytes');
  const threads = o.threads ?? availableParallelism();
  const piece = await payloadPiece(sectorSize, o.data);

  let workDir: string;
  let created: boolean;
  if (o.dir !== undefined) {
    workDir = resolve(o.dir);
    const existing = await readdir(workDir).catch(() => null);
    if (existing && existing.length > 0) throw new UserError(`--dir ${o.dir} is not empty`);
    created = existing === null;
    await mkdir(workDir, { recursive: true });
  } else {
    workDir = await mkdtemp(join(tmpdir(), 'bench-snap-'));
    created = true;
  }
  const cc = { staged: join(workDir, 'cc-staged'), sealed: join(workDir, 'sealed'), cache: join(workDir, 'cache') };
  const up = {
    staged: join(workDir, 'update-staged'),
    sealed: join(workDir, 'update'),
    cache: join(workDir, 'update-cache'),
  };
  const decodedPath = join(workDir, 'decoded');
  await mkdir(cc.cache, { recursive: true });
  log.info(
    { sectorSize: formatSectorSize(sectorSize), sealProof: proof.name, updateProof: upd.name, dir: workDir },
    o.data ? `snapping ${o.data} into a CC sector` : 'snapping zeros into a CC sector',
  );

  const phases: Partial<Record<SnapPhaseName, SnapPhaseFigure>> = {};
  try {
    let pc2Seconds = 0;
    const commROld = await phase('sealCC', phases, async () => {
      const pieces = await addPiece({ stagedPath: cc.staged, sectorSize, pieces: [], fill: true });
      await generateTreeD({ stagedPath: cc.staged, cacheDir: cc.cache, sectorSize });
      await ensureParentCache(SdrGraph.forConfig(proof));
      await sealPreCommitPhase1({
        proof,
        cacheDir: cc.cache,
        proverId: proverIdFromActorId(minerId),
        sectorId: sectorNumber,
        ticket,
        pieces,
      });
      const r = await sealPreCommitPhase2({
        cacheDir: cc.cache,
        sealedPath: cc.sealed,
        stagedPath: cc.staged,
        proof,
        threads,
      });
      pc2Seconds = r.seconds.total;
      return r.commR;
    });
    const pieces = await phase('addPiece', phases, () =>
      addPiece({ stagedPath: up.staged, sectorSize, pieces: [piece] }),
    );
    const enc = await phase('encode', phases, () =>
      encodeInto({
        sectorSize,
        sectorKeyPath: cc.sealed,
        sectorKeyCacheDir: cc.cache,
        stagedDataPath: up.staged,
        newReplicaPath: up.sealed,
        newCacheDir: up.cache,
        pieces,
      }),
    );
    const pub = { commROld, commDNew: enc.commDNew, commRNew: enc.commRNew };
    const vanilla = await phase('prove', phases, () =>
      generateUpdateVanillaProofs({
        sectorSize,
        ...pub,
        sectorKeyPath: cc.sealed,
        sectorKeyCacheDir: cc.cache,
        replicaPath: up.sealed,
        replicaCacheDir: up.cache,
      }),
    );
    const proofBytes = await phase('snapProve', phases, () =>
      generateUpdateProof({ sectorSize, vanillaProofs: vanilla, ...pub }),
    );
    const error = await phase('verify', phases, async () =>
      whyUpdateProofFails({ updateProof: upd.id, ...pub, proofBytes }),
    );
    if (error) log.error({ error }, 'the update proof does not verify');
    const decoded = await phase('decode', phases, async () => {
      await decodeFrom({
        sectorSize,
        replicaPath: up.sealed,
        sectorKeyPath: cc.sealed,
        sectorKeyCacheDir: cc.cache,
        commDNew: enc.commDNew,
        outDataPath: decodedPath,
      });
      return filesEqual(decodedPath, up.staged, sectorSize);
    });
    if (!decoded) log.error({}, 'decoding the updated replica did not give the data back');
    return {
      sectorSize: formatSectorSize(sectorSize),
      sealProof: proof.name,
      updateProof: upd.name,
      minerId: String(minerId),
      sectorNumber: String(sectorNumber),
      commROld: commRToCid(commROld).toString(),
      commDNew: commDToCid(enc.commDNew).toString(),
      commRNew: commRToCid(enc.commRNew).toString(),
      replicaSha256: await sha256File(up.sealed),
      verified: error === undefined,
      ...(error ? { error } : {}),
      decoded,
      proofBytes: proofBytes.length,
      partitions: params.partitions,
      challenges: params.partitions * params.challengesPerPartition,
      pc2Seconds: Number(pc2Seconds.toFixed(3)),
      maxRssMiB: Number(((process.resourceUsage().maxRSS * 1024) / MiB).toFixed(1)),
      phases: phases as Record<SnapPhaseName, SnapPhaseFigure>,
    };
  } finally {
    if (o.keep) log.info({ dir: workDir }, 'work files kept');
    else if (created) await rm(workDir, { recursive: true, force: true });
    else
      for (const p of [...Object.values(cc), ...Object.values(up), decodedPath])
        await rm(p, { recursive: true, force: true });
  }
}

export function formatBenchSnap(r: BenchSnapResult): string {
  const lines = [
    `SnapDeals ${r.sectorSize} (${r.sealProof} → ${r.updateProof}), miner ${r.minerId}, sector ${r.sectorNumber}`,
    `  CommR old ${r.commROld}`,
    `  CommD new ${r.commDNew}`,
    `  CommR new ${r.commRNew}`,
    `  replica sha256 ${r.replicaSha256}`,
  ];
  for (const [name, f] of Object.entries(r.phases))
    lines.push(`  ${name.padEnd(10)} ${f.seconds.toFixed(3).padStart(10)} s   peak RSS ${f.peakRssMiB.toFixed(1)} MiB`);
  lines.push(
    `  verified: ${r.verified}${r.error ? ` (${r.error})` : ''}   decoded: ${r.decoded}   proof ${r.proofBytes} bytes   process peak RSS ${r.maxRssMiB} MiB`,
  );
  return lines.join('\n');
}

// ------------------------------------------------------------------------------------------------- npm run bench

export interface SnapBenchRow {
  sectorSize: string;
  encodeSeconds: number;
  encodeCpuSeconds: number;
  proveSeconds: number;
  proveCpuSeconds: number;
  pc2Seconds: number;
  challenges: number;
  verified: boolean;
}

export interface SnapBenchResult {
  nativeMulPerSecond?: number;
  rows: SnapBenchRow[];
  figures: BenchFigure[];
}

/**
 * Sizes: 8MiB and 512MiB (the two sizes SnapDeals is reported at); `--quick` only 8MiB; `--size X` (repeatable)
 * adds X. `--512` is accepted for symmetry with pc2 (512MiB is in already).
 */
export function sizesFromArgv(argv: readonly string[]): number[] {
  const sizes = [parseSectorSize('8MiB')];
  if (!argv.includes('--quick')) sizes.push(parseSectorSize('512MiB'));
  argv.forEach((a, i) => {
    if (a === '--size' && argv[i + 1]) sizes.push(updateParams(parseSectorSize(argv[i + 1]!)).sectorSize);
  });
  return [...new Set(sizes)];
}

export async function run(opts: { sizes?: number[] } = {}): Promise<SnapBenchResult> {
  const sizes = opts.sizes ?? sizesFromArgv(process.argv.slice(2));
  const mul = hasNativeKernel() ? nativeMulRate(20_000_000) : undefined;
  const baseline = 'native Fr multiplications/s ÷ 1000';
  const rows: SnapBenchRow[] = [];
  const figures: BenchFigure[] = [];
  for (const s of sizes) {
    // random client data filling the sector: zero data would skip the field multiplications
    const tmp = await mkdtemp(join(tmpdir(), 'bench-snap-data-'));
    const payload = join(tmp, 'payload');
    let r: BenchSnapResult;
    try {
      const fh = await open(payload, 'w');
      try {
        const total = (s / 128) * 127;
        for (let pos = 0; pos < total; pos += 16 * MiB) await fh.write(randomBytes(Math.min(16 * MiB, total - pos)));
      } finally {
        await fh.close();
      }
      r = await benchSnap({ sectorSize: s, data: payload });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
    const row: SnapBenchRow = {
      sectorSize: r.sectorSize,
      encodeSeconds: r.phases.encode.seconds,
      encodeCpuSeconds: r.phases.encode.cpuSeconds,
      proveSeconds: r.phases.prove.seconds + r.phases.snapProve.seconds,
      proveCpuSeconds: r.phases.prove.cpuSeconds + r.phases.snapProve.cpuSeconds,
      pc2Seconds: r.pc2Seconds,
      challenges: r.challenges,
      verified: r.verified && r.decoded,
    };
    rows.push(row);
    // per CPU second (all threads), as PC2's ratio: the figures then compare across loads and core counts
    const encNodes = s / 32 / Math.max(row.encodeCpuSeconds, 1e-6);
    const provePerS = row.challenges / Math.max(row.proveCpuSeconds, 1e-6);
    const ratio = (v: number) => (mul ? { ratio: v / (mul / 1000), baseline } : {});
    figures.push(
      {
        bench: 'snap',
        name: `snap encode (TreeD + key + data·rho + TreeR-last), per CPU second (wall ${row.encodeSeconds.toFixed(2)} s)`,
        sectorSize: r.sectorSize,
        value: encNodes,
        unit: 'nodes/CPU-s',
        ...ratio(encNodes),
      },
      {
        bench: 'snap',
        name: `snap prove (${r.partitions} partitions, vanilla proofs + FVSU bytes), per CPU second (wall ${row.proveSeconds.toFixed(2)} s)`,
        sectorSize: r.sectorSize,
        value: provePerS,
        unit: 'challenges/CPU-s',
        ...ratio(provePerS),
      },
      {
        bench: 'snap',
        name: 'snap encode time ÷ PC2 time of the same sector',
        sectorSize: r.sectorSize,
        value: row.encodeSeconds / Math.max(row.pc2Seconds, 1e-6),
        unit: '× PC2',
      },
    );
    if (!row.verified)
      throw new Error(`snap ${r.sectorSize}: the update did not verify or decode (${r.error ?? 'decode'})`);
  }
  console.log('SnapDeals (CC sector sealed, then one piece encoded, proved, verified, decoded):');
  for (const r of rows)
    console.log(
      `  ${r.sectorSize.padStart(6)}  encode ${r.encodeSeconds.toFixed(2)} s (CPU ${r.encodeCpuSeconds.toFixed(2)} s; PC2 ${r.pc2Seconds.toFixed(2)} s)  prove ${r.proveSeconds.toFixed(2)} s (CPU ${r.proveCpuSeconds.toFixed(2)} s) for ${r.challenges} challenges`,
    );
  return { nativeMulPerSecond: mul, rows, figures };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await run();
}
