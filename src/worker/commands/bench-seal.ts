/**
 * `venus-worker bench seal --sector-size SIZE [--proof-type ID] [--miner-id N] [--sector-number N]
 *   [--ticket HEX32] [--seed HEX32] [--data FILE] [--dir DIR] [--keep] [--json] [--threads N]`
 *
 * Seals one sector with the worker's own stage code path — AddPieces → TreeD → PC1 (parent cache + SDR
 * labels, as the built-in processor runs them) → PC2 → C1 → C2 (vanilla prover) → verify — and times each
 * phase with its peak resident memory. Log lines go to stderr; `--json` prints one JSON object alone on stdout:
 *   {"commD": "baga…", "commR": "bagboea…", "replicaId": "<hex>", "verified": true,
 *    "phases": {"addPieces": {"seconds": …, "peakRssMiB": …}, …}}
 *
 * Without `--data` the sector is CC (all zero pieces). With it, the file is the unpadded payload of one piece
 * (zero-extended to the next 127·2^k bytes, as Lotus' padreader does), followed by zero filler pieces.
 *
 * Defaults: the V1_1 seal proof of the size, miner 1000 (t01000), sector 1, ticket 32×0x01, seed 32×0x07.
 * Ticket and seed get their top two bits cleared (byte 31 & 0x3f), as Lotus' sealing tools do with chain
 * randomness before handing it to the proofs, so any 32 bytes given are used as a field element.
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { logger } from '../../common/log.js';
import { commDToCid, commRToCid, toHex } from '../../fil/index.js';
import {
  addPiece,
  computeCommD,
  encodeC1Output,
  ensureParentCache,
  formatSectorSize,
  generateTreeD,
  type PieceInput,
  parseSectorSize,
  pieceSizeForPayload,
  proverIdFromActorId,
  SdrGraph,
  type SealProofInfo,
  sealCommitPhase1,
  sealCommitPhase2,
  sealPreCommitPhase1,
  sealPreCommitPhase2,
  sealProof,
  sealProofFor,
  sectorSizeInfo,
  verifySeal,
} from '../../proofs/index.js';

const log = logger('bench-seal');

/** Default ticket and seed (documented in --help): 32×0x01 and 32×0x07. */
export const DEFAULT_TICKET = new Uint8Array(32).fill(0x01);
export const DEFAULT_SEED = new Uint8Array(32).fill(0x07);
export const DEFAULT_MINER_ID = 1000n;

export interface PhaseFigure {
  seconds: number;
  /** Highest resident set size of the process seen during the phase (MiB). */
  peakRssMiB: number;
}

export type PhaseName = 'addPieces' | 'treeD' | 'parentCache' | 'pc1' | 'pc2' | 'c1' | 'c2' | 'verify';

export interface BenchSealResult {
  sectorSize: string;
  sealProof: string;
  minerId: string;
  sectorNumber: string;
  commD: string;
  commR: string;
  replicaId: string;
  verified: boolean;
  /** Why verification failed, when it did. */
  error?: string;
  proofBytes: number;
  /** Process-wide peak RSS over the whole run (MiB, from getrusage). */
  maxRssMiB: number;
  phases: Record<PhaseName, PhaseFigure>;
}

export interface BenchSealOptions {
  sectorSize: number;
  /** Registered seal proof (default: the V1_1 proof of the size). */
  proof?: SealProofInfo;
  minerId?: bigint;
  sectorNumber?: bigint;
  /** 32 bytes; masked to a field element before use. */
  ticket?: Uint8Array;
  seed?: Uint8Array;
  /** Unpadded payload file; absent: a CC sector. */
  data?: string;
  /** Work directory (default: a temporary one). */
  dir?: string;
  /** Keep the work files. */
  keep?: boolean;
  /** PC2 worker threads (default: all cores). */
  threads?: number;
}

/** Lotus-style masking of chain randomness to a BLS12-381 field element (clear the top two bits). */
export function maskRandomness(r: Uint8Array): Uint8Array {
  if (r.length !== 32) throw new RangeError(`randomness must be 32 bytes, got ${r.length}`);
  const out = new Uint8Array(r);
  out[31]! &= 0x3f;
  return out;
}

const MiB = 1024 * 1024;

/** Runs `fn`, timing it and tracking the process' peak RSS while it runs. */
async function phase<T>(name: PhaseName, figures: Partial<Record<PhaseName, PhaseFigure>>, fn: () => Promise<T>) {
  const maxBefore = process.resourceUsage().maxRSS; // KiB, process lifetime
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  timer.unref();
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage.rss());
    // the sampler misses peaks while the main thread computes; a lifetime maximum that rose during the
    // phase was reached in it
    const maxAfter = process.resourceUsage().maxRSS;
    if (maxAfter > maxBefore) peak = Math.max(peak, maxAfter * 1024);
    const fig = { seconds: Number(seconds.toFixed(3)), peakRssMiB: Number((peak / MiB).toFixed(1)) };
    figures[name] = fig;
    log.info({ phase: name, seconds: fig.seconds, peakRssMiB: fig.peakRssMiB }, `${name} done`);
  }
}

/** Seals one sector in a work directory and times every phase (see the file comment). */
export async function benchSeal(o: BenchSealOptions): Promise<BenchSealResult> {
  const { sectorSize } = sectorSizeInfo(o.sectorSize);
  const proof = o.proof ?? sealProofFor(sectorSize, 'V1_1');
  if (proof.sectorSize !== sectorSize) {
    throw new UserError(
      `seal proof ${proof.name} is for ${formatSectorSize(proof.sectorSize)} sectors, not ${formatSectorSize(sectorSize)}`,
    );
  }
  const minerId = o.minerId ?? DEFAULT_MINER_ID;
  const sectorNumber = o.sectorNumber ?? 1n;
  const ticket = maskRandomness(o.ticket ?? DEFAULT_TICKET);
  const seed = maskRandomness(o.seed ?? DEFAULT_SEED);
  const proverId = proverIdFromActorId(minerId);
  const threads = o.threads ?? availableParallelism();

  // the payload piece, checked before any work
  const pieces: PieceInput[] = [];
  if (o.data !== undefined) {
    let size: number;
    try {
      const st = await stat(o.data);
      if (!st.isFile()) throw new UserError(`--data ${o.data} is not a regular file`);
      size = st.size;
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw new UserError(`cannot read --data ${o.data}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const capacity = (sectorSize / 128) * 127;
    if (size > capacity) {
      throw new UserError(
        `--data ${o.data} is ${size} bytes; a ${formatSectorSize(sectorSize)} sector holds at most ${capacity} unpadded bytes`,
      );
    }
    if (size === 0) throw new UserError(`--data ${o.data} is empty (leave --data out for a CC sector)`);
    pieces.push({ size: pieceSizeForPayload(size), data: o.data, payloadSize: size });
  }

  let workDir: string;
  let created: boolean;
  if (o.dir !== undefined) {
    workDir = resolve(o.dir);
    const existing = await readdir(workDir).catch(() => null);
    if (existing && existing.length > 0) throw new UserError(`--dir ${o.dir} is not empty`);
    created = existing === null;
    await mkdir(workDir, { recursive: true });
  } else {
    workDir = await mkdtemp(join(tmpdir(), 'bench-seal-'));
    created = true;
  }
  const stagedPath = join(workDir, 'staged');
  const sealedPath = join(workDir, 'sealed');
  const cacheDir = join(workDir, 'cache');
  await mkdir(cacheDir, { recursive: true });
  log.info(
    {
      sectorSize: formatSectorSize(sectorSize),
      sealProof: proof.name,
      minerId: String(minerId),
      dir: workDir,
      threads,
    },
    o.data ? `sealing ${o.data}` : 'sealing a CC sector',
  );

  const phases: Partial<Record<PhaseName, PhaseFigure>> = {};
  try {
    const pieceInfos = await phase('addPieces', phases, () => addPiece({ stagedPath, sectorSize, pieces, fill: true }));
    const { commD } = await phase('treeD', phases, () => generateTreeD({ stagedPath, cacheDir, sectorSize }));
    // what PC1 computes from the piece list must be the root of the data TreeD hashed
    if (!Buffer.from(computeCommD(sectorSize, pieceInfos)).equals(commD)) {
      throw new Error('CommD from the pieces differs from the TreeD root');
    }
    // timed apart from the labels: generated once per graph, then reused by every sector
    await phase('parentCache', phases, () => ensureParentCache(SdrGraph.forConfig(proof)));
    const { replicaId } = await phase('pc1', phases, () =>
      sealPreCommitPhase1({ proof, cacheDir, proverId, sectorId: sectorNumber, ticket, pieces: pieceInfos }),
    );
    const r2 = await phase('pc2', phases, () =>
      sealPreCommitPhase2({ cacheDir, sealedPath, stagedPath, proof, threads }),
    );
    const commR = r2.commR;
    const c1 = await phase('c1', phases, () =>
      sealCommitPhase1({ proof, cacheDir, sealedPath, proverId, sectorId: sectorNumber, ticket, seed, commD, commR }),
    );
    log.info({ c1JsonBytes: encodeC1Output(c1).length }, 'C1 output');
    const proofBytes = await phase('c2', phases, () => sealCommitPhase2({ c1, minerId, sectorId: sectorNumber }));
    let error: string | undefined;
    await phase('verify', phases, async () => {
      try {
        verifySeal({
          sealProof: proof.id,
          minerId,
          sectorId: sectorNumber,
          ticket,
          seed,
          commR,
          commD,
          proof: proofBytes,
        });
      } catch (e) {
        error = (e as Error).message;
      }
    });
    if (error) log.error({ error }, 'the seal proof does not verify');
    return {
      sectorSize: formatSectorSize(sectorSize),
      sealProof: proof.name,
      minerId: String(minerId),
      sectorNumber: String(sectorNumber),
      commD: commDToCid(commD).toString(),
      commR: commRToCid(commR).toString(),
      replicaId: toHex(replicaId),
      verified: error === undefined,
      ...(error ? { error } : {}),
      proofBytes: proofBytes.length,
      maxRssMiB: Number(((process.resourceUsage().maxRSS * 1024) / MiB).toFixed(1)),
      phases: phases as Record<PhaseName, PhaseFigure>,
    };
  } finally {
    if (o.keep) {
      log.info({ dir: workDir }, 'work files kept');
    } else if (created) {
      await rm(workDir, { recursive: true, force: true });
    } else {
      for (const p of [stagedPath, sealedPath, cacheDir]) await rm(p, { recursive: true, force: true });
    }
  }
}

export function formatBenchSeal(r: BenchSealResult): string {
  const lines = [
    `Seal ${r.sectorSize} (${r.sealProof}), miner ${r.minerId}, sector ${r.sectorNumber}`,
    `  CommD ${r.commD}`,
    `  CommR ${r.commR}`,
    `  replica id ${r.replicaId}`,
  ];
  for (const [name, f] of Object.entries(r.phases)) {
    lines.push(`  ${name.padEnd(12)} ${f.seconds.toFixed(3).padStart(10)} s   peak RSS ${f.peakRssMiB.toFixed(1)} MiB`);
  }
  lines.push(`  verified: ${r.verified}${r.error ? ` (${r.error})` : ''}   process peak RSS ${r.maxRssMiB} MiB`);
  return lines.join('\n');
}

function parseHex32(v: string, flag: string): Uint8Array {
  const s = v.trim().replace(/^0x/i, '');
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw new UserError(`${flag} must be 32 bytes of hex (64 digits), got "${v}"`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

function parseU64(v: string, flag: string): bigint {
  if (!/^\d+$/.test(v.trim())) throw new UserError(`${flag} must be a non-negative integer, got "${v}"`);
  const n = BigInt(v.trim());
  if (n >= 1n << 64n) throw new UserError(`${flag} does not fit 64 bits`);
  return n;
}

/** The command line of `bench seal` (`bench snap` takes it without --seed). */
export interface BenchSealCliOptions {
  sectorSize: string;
  proofType?: string;
  minerId: string;
  sectorNumber: string;
  ticket?: string;
  seed?: string;
  data?: string;
  dir?: string;
  keep?: boolean;
  json?: boolean;
  threads?: string;
}

/** Turns the command line into benchSeal options, with operator-facing errors. */
export function benchSealOptionsFromCli(opts: BenchSealCliOptions): BenchSealOptions {
  let sectorSize: number;
  let proof: SealProofInfo | undefined;
  try {
    sectorSize = sectorSizeInfo(parseSectorSize(opts.sectorSize)).sectorSize;
    if (opts.proofType !== undefined) proof = sealProof(opts.proofType);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  let threads: number | undefined;
  if (opts.threads !== undefined) {
    threads = Number(opts.threads);
    if (!Number.isInteger(threads) || threads < 1) throw new UserError(`--threads must be a positive integer`);
  }
  return {
    sectorSize,
    proof,
    minerId: parseU64(opts.minerId, '--miner-id'),
    sectorNumber: parseU64(opts.sectorNumber, '--sector-number'),
    ticket: opts.ticket === undefined ? undefined : parseHex32(opts.ticket, '--ticket'),
    seed: opts.seed === undefined ? undefined : parseHex32(opts.seed, '--seed'),
    data: opts.data,
    dir: opts.dir,
    keep: opts.keep,
    threads,
  };
}

/** Registers `seal` on the `bench` command. */
export function registerBenchSealCommand(bench: Command): Command {
  return bench
    .command('seal')
    .description('seal a sector (AddPieces, TreeD, PC1, PC2, C1, C2 vanilla, verify) and time each phase')
    .requiredOption('--sector-size <size>', 'sector size (2KiB, 8MiB, 512MiB, 32GiB…)')
    .option('--proof-type <id>', 'registered seal proof id or name (default: the V1_1 proof of the size)')
    .option('--miner-id <n>', 'miner actor id; the prover id is its ID address payload', String(DEFAULT_MINER_ID))
    .option('--sector-number <n>', 'sector number', '1')
    .option('--ticket <hex32>', 'ticket, 32 bytes hex; top two bits cleared (default: 32×01)')
    .option('--seed <hex32>', 'interactive seed, 32 bytes hex; top two bits cleared (default: 32×07)')
    .option('--data <file>', 'unpadded payload for the sector (default: a CC sector, all zeros)')
    .option('--dir <dir>', 'work directory, empty or missing (default: a temporary one)')
    .option('--keep', 'keep the work files')
    .option('--json', 'print the result as JSON alone on stdout')
    .option('--threads <n>', 'PC2 worker threads (default: all cores)')
    .action(async (opts: BenchSealCliOptions) => {
      const r = await benchSeal(benchSealOptionsFromCli(opts));
      process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${formatBenchSeal(r)}\n`);
      if (!r.verified) process.exitCode = 1;
    });
}
