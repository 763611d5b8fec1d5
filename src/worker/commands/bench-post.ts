/**
 * `venus-worker bench post --sector-size SIZE --sectors N [--json]`: times Window PoSt vanilla proving of N
 * sectors of SIZE laid out as a persist store keeps them (see src/bench/post.ts), verifies the proof, and
 * extrapolates a full 32GiB partition from the per-challenge cost.
 */
import type { Command } from 'commander';
import { benchPost, formatPostBench } from '../../bench/post.js';
import { UserError } from '../../common/cli.js';
import { parseSectorSize, sectorSizeInfo } from '../../proofs/index.js';

export function registerBenchPostCommand(bench: Command): Command {
  return bench
    .command('post')
    .description('time Window PoSt proving (vanilla) for N sectors of a size, and verify the proof')
    .option('--sector-size <size>', 'sector size (2KiB, 8MiB, 512MiB, 32GiB…)', '2KiB')
    .option('--sectors <n>', 'sectors to prove (one real seal, copied under N sector ids)', '2')
    .option('--concurrency <n>', 'sectors proved at once', '8')
    .option(
      '--dir <dir>',
      'work directory, kept; a later run with the same directory and size reuses its sealed sector (default: a temporary one, removed)',
    )
    .option('--json', 'print the result as JSON')
    .action(
      async (opts: { sectorSize: string; sectors: string; concurrency: string; dir?: string; json?: boolean }) => {
        let sectorSize: number;
        try {
          sectorSize = sectorSizeInfo(parseSectorSize(opts.sectorSize)).sectorSize;
        } catch (e) {
          throw new UserError((e as Error).message);
        }
        const sectors = Number(opts.sectors);
        const concurrency = Number(opts.concurrency);
        if (!Number.isInteger(sectors) || sectors < 1)
          throw new UserError(`--sectors must be a positive integer, got ${opts.sectors}`);
        if (!Number.isInteger(concurrency) || concurrency < 1)
          throw new UserError(`--concurrency must be a positive integer`);
        const r = await benchPost({ sectorSize, sectors, concurrency, dir: opts.dir });
        process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${formatPostBench(r)}\n`);
        if (!r.verified) process.exitCode = 1;
      },
    );
}
