/**
 * `venus-worker util commp FILE [--json]`: the piece CID of a file, as Lotus `client commP` computes it —
 * the file is the payload, zero-extended to the next 127·2^k bytes, Fr32-padded and hashed into CommP.
 * Streams the file (any size, bounded memory).
 *
 * Text output follows Lotus' lines ("CID:", "Piece size:", "Piece size in bytes:") but reports the PADDED
 * piece size (what deals and sectors use), plus the payload size; `--json` prints
 * {"pieceCid": "baga6ea4sea…", "paddedSize": N, "payloadSize": N} alone on stdout.
 */
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { commPToCid } from '../../fil/index.js';
import { commPOfFile } from '../../proofs/index.js';

export interface CommPOutput {
  pieceCid: string;
  paddedSize: number;
  payloadSize: number;
}

/** Computes the CommP output of a file, with operator-facing errors. */
export async function commPOutputOfFile(file: string): Promise<CommPOutput> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new UserError(`${file} is not a regular file`);
    size = st.size;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (size === 0) throw new UserError(`${file} is empty: a piece needs at least one byte of payload`);
  const r = await commPOfFile(file);
  return { pieceCid: commPToCid(r.commP).toString(), paddedSize: r.paddedSize, payloadSize: r.payloadSize };
}

/** Lotus `types.SizeStr` style: "2 KiB", "1.984 KiB", "32 GiB". */
export function sizeStr(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  let v = bytes;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toPrecision(4))} ${units[i]}`;
}

/** Registers `commp` on the `util` command. */
export function registerCommpCommand(util: Command): Command {
  return util
    .command('commp')
    .description('piece CID of a file (zero-extended to the next 127·2^k bytes, as Lotus computes it)')
    .argument('<file>', 'payload file (e.g. a CAR file)')
    .option('--json', 'print {"pieceCid", "paddedSize", "payloadSize"} as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const out = await commPOutputOfFile(file);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out)}\n`);
        return;
      }
      process.stdout.write(
        `CID:  ${out.pieceCid}\n` +
          `Piece size:  ${sizeStr(out.paddedSize)}\n` +
          `Piece size in bytes:  ${out.paddedSize}\n` +
          `Payload size in bytes:  ${out.payloadSize}\n`,
      );
    });
}
