/**
 * `venus-worker bench snap --sector-size SIZE [--proof-type ID] [--miner-id N] [--sector-number N]
 *   [--ticket HEX32] [--data FILE] [--dir DIR] [--keep] [--json] [--threads N]`
 *
 * Seals a committed-capacity sector with those inputs (all-zero data, as `bench seal` without `--data`),
 * encodes FILE into it with SnapDeals (FILE is the unpadded bytes of one piece filling the sector,
 * zero-filled to the sector's unpadded size when shorter), proves the update (vanilla partition proofs and
 * snap_prove with the vanilla prover), verifies the proof bytes and decodes the data back (src/bench/snap.ts).
 * Logs go to stderr; `--json` prints one JSON object alone on stdout:
 *   {"commROld": "bagboea4b5abc…", "commDNew": "baga6ea4seaq…", "commRNew": "bagboea4b5abc…",
 *    "replicaSha256": "<hex>", "verified": true, "phases": {"sealCC": {"seconds": …}, "encode": …, …}, …}
 *
 * The ticket gets its top two bits cleared as in `bench seal`, so both commands seal the same CC sector.
 */
import type { Command } from 'commander';
import { benchSnap, formatBenchSnap } from '../../bench/snap.js';
import { type BenchSealCliOptions, benchSealOptionsFromCli, DEFAULT_MINER_ID, maskRandomness } from './bench-seal.js';

type CliOptions = Omit<BenchSealCliOptions, 'seed'>;

/** Registers `snap` on the `bench` command. */
export function registerBenchSnapCommand(bench: Command): Command {
  return bench
    .command('snap')
    .description('seal a CC sector, encode a piece into it (SnapDeals), prove and verify the update, decode it back')
    .requiredOption('--sector-size <size>', 'sector size (2KiB, 8MiB, 512MiB, 32GiB…)')
    .option(
      '--proof-type <id>',
      'registered seal proof id or name of the CC sector (default: the V1_1 proof of the size)',
    )
    .option('--miner-id <n>', 'miner actor id; the prover id is its ID address payload', String(DEFAULT_MINER_ID))
    .option('--sector-number <n>', 'sector number', '1')
    .option('--ticket <hex32>', 'ticket, 32 bytes hex; top two bits cleared (default: 32×01)')
    .option('--data <file>', 'unpadded bytes of the piece to snap in (default: zeros)')
    .option('--dir <dir>', 'work directory, empty or missing (default: a temporary one)')
    .option('--keep', 'keep the work files')
    .option('--json', 'print the result as JSON alone on stdout')
    .option('--threads <n>', 'PC2 worker threads (default: all cores)')
    .action(async (opts: CliOptions) => {
      // the same parsing and checks as `bench seal` (sizes, proof, ids, ticket, threads)
      const o = benchSealOptionsFromCli(opts);
      const r = await benchSnap({
        sectorSize: o.sectorSize,
        proof: o.proof,
        minerId: o.minerId,
        sectorNumber: o.sectorNumber,
        ticket: maskRandomness(o.ticket ?? new Uint8Array(32).fill(1)),
        data: o.data,
        dir: o.dir,
        keep: o.keep,
        threads: o.threads,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${formatBenchSnap(r)}\n`);
      if (!r.verified || !r.decoded) process.exitCode = 1;
    });
}
