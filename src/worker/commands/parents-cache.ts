/**
 * `venus-worker util parents-cache --sector-size SIZE [--proof-type ID] [--out DIR]`: writes the SDR parent
 * cache of a seal proof where rust-fil-proofs looks for it ($FIL_PROOFS_PARENT_CACHE, default
 * /var/tmp/filecoin-parents) and prints its file name and SHA-256, checked against parent_cache.json.
 */
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import {
  formatSectorSize,
  type ParentCacheResult,
  parentCacheDir,
  parseSectorSize,
  SdrGraph,
  type SealProofInfo,
  sealProof,
  sealProofFor,
  writeParentCache,
} from '../../proofs/index.js';

export interface ParentsCacheOptions {
  sectorSize: string;
  proofType?: string;
  out?: string;
  write?: boolean;
  threads?: string;
  json?: boolean;
}

/** The seal proof a size (and optional id or name) designates; operator-facing errors. */
export function resolveSealProof(sectorSizeText: string, proofType?: string): SealProofInfo {
  let size: number;
  try {
    size = parseSectorSize(sectorSizeText);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  try {
    const p =
      proofType === undefined ? sealProofFor(size) : sealProof(/^\d+$/.test(proofType) ? Number(proofType) : proofType);
    if (p.sectorSize !== size) {
      throw new UserError(
        `proof type ${proofType} (${p.name}) is for ${formatSectorSize(p.sectorSize)} sectors, not ${formatSectorSize(size)}`,
      );
    }
    return p;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

export async function parentsCache(opts: ParentsCacheOptions): Promise<ParentCacheResult & { proof: string }> {
  const proof = resolveSealProof(opts.sectorSize, opts.proofType);
  const threads = opts.threads === undefined ? undefined : Number(opts.threads);
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new UserError(`--threads must be a positive integer, not "${opts.threads}"`);
  }
  const graph = SdrGraph.forConfig(proof);
  const r = await writeParentCache(graph, { dir: opts.out ?? parentCacheDir(), write: opts.write ?? true, threads });
  return { ...r, proof: proof.name };
}

/** Registers `parents-cache` on the `util` command. */
export function registerParentsCacheCommand(util: Command): Command {
  return util
    .command('parents-cache')
    .description('write the SDR parent cache of a seal proof and print its name and SHA-256')
    .requiredOption('--sector-size <size>', 'sector size: 2KiB, 8MiB, 512MiB, 32GiB or 64GiB')
    .option('--proof-type <id>', 'registered seal proof id or name (default: the V1_1 proof of the size)')
    .option(
      '--out <dir>',
      'directory for the cache file (default: $FIL_PROOFS_PARENT_CACHE or /var/tmp/filecoin-parents)',
    )
    .option('--no-write', 'only compute the SHA-256, write no file (a 32GiB cache is 56 GiB)')
    .option('--threads <n>', 'worker threads generating parents (default: all CPUs above 2^20 nodes)')
    .option('--json', 'print {"proof", "fileName", "path", "digest", "expected", "matches", "seconds"} as JSON')
    .action(async (opts: ParentsCacheOptions) => {
      const r = await parentsCache(opts);
      if (r.matches === false) process.exitCode = 1;
      if (opts.json) {
        const { proof, fileName, path, digest, expected, matches, seconds } = r;
        process.stdout.write(
          `${JSON.stringify({ proof, fileName, path: opts.write === false ? null : path, digest, expected: expected ?? null, matches: matches ?? null, seconds })}\n`,
        );
        return;
      }
      const check =
        r.matches === undefined
          ? 'not listed in parent_cache.json'
          : r.matches
            ? 'matches parent_cache.json'
            : 'MISMATCH';
      process.stdout.write(
        `${r.fileName}\n` +
          `sha256:  ${r.digest}  (${check})\n` +
          (opts.write === false ? '' : `path:    ${r.path}\n`) +
          `proof:   ${r.proof}\n`,
      );
    });
}
