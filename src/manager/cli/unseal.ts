/**
 * `util sealer sectors unseal PIECE_CID --dest URL [--miner ID --sector N] [--wait]` (damocles' `util sealer sectors
 * unseal`): finds the sealed sector holding the piece (FindSectorWithPiece) unless given, schedules an unseal task
 * (UnsealTaskAdd; a worker thread with plan "unseal" does the work) and, with --wait, prints its outcome.
 * `util sealer sectors unseal-list` shows the latest tasks. docs/deals-unseal.md.
 */
import type { Command } from 'commander';
import { type SectorID, sectorName, type UnsealTaskInfo } from '../../api/sealer.js';
import { UserError } from '../../common/cli.js';
import { parseDuration } from '../../common/config.js';
import { checkDest } from '../unseal/dest.js';
import { pieceCidString } from '../unseal/pieces.js';
import { parseMinerId, parseSectorNumber, out as stdout, table, withListen, withManager } from './common.js';

/** Where the commands print (tests collect it). */
export const io = { out: stdout };
const out = (s: string) => io.out(s);

export interface UnsealArgs {
  pieceCid: string;
  dest: string;
  /** the sector when given (--miner and --sector), else found by the manager */
  sid?: SectorID;
  wait: boolean;
  timeoutMs: number;
}

/** Checks the command's arguments before anything is sent; every problem is a UserError naming the flag. */
export function parseUnsealArgs(
  piece: string,
  o: { dest?: string; miner?: string; sector?: string; wait?: boolean; timeout?: string },
): UnsealArgs {
  let pieceCid: string;
  try {
    pieceCid = pieceCidString(piece);
  } catch {
    throw new UserError(`"${String(piece).slice(0, 100)}" is not a piece CID (baga6ea4sea…)`);
  }
  if (!o.dest) throw new UserError('--dest is required: file:///abs/path, http(s)://…, or market://STORE/PIECE_CID');
  if (/^[./~]/.test(o.dest))
    throw new UserError(
      `--dest ${o.dest}: give a URL; a file on the worker's machine is file://${o.dest.startsWith('/') ? o.dest : '/abs/path'}`,
    );
  let dest: string;
  try {
    dest = checkDest(o.dest);
  } catch (err) {
    throw new UserError(`--dest: ${(err as Error).message}`);
  }
  if ((o.miner === undefined) !== (o.sector === undefined))
    throw new UserError('--miner and --sector go together (or give neither: the manager finds the sector)');
  const sid =
    o.miner !== undefined ? { Miner: parseMinerId(o.miner), Number: parseSectorNumber(o.sector!) } : undefined;
  let timeoutMs = 3600_000;
  if (o.timeout !== undefined) {
    try {
      timeoutMs = parseDuration(o.timeout);
    } catch (err) {
      throw new UserError(`--timeout: ${(err as Error).message}`);
    }
    if (timeoutMs <= 0) throw new UserError('--timeout must be positive');
  }
  return { pieceCid, dest, ...(sid ? { sid } : {}), wait: o.wait === true, timeoutMs };
}

function describe(t: UnsealTaskInfo): string {
  return (
    `unseal task #${t.ID}: piece ${t.PieceCid['/']} of ${sectorName(t.Sector)} ` +
    `(offset ${t.Offset}, ${t.Size} bytes unpadded) → ${t.Dest.join(', ')}: ${t.State}` +
    (t.Error ? ` (${t.Error})` : '')
  );
}

export function registerUnseal(sectors: Command): void {
  withListen(
    sectors
      .command('unseal')
      .description('unseal a piece of a sealed sector to a destination (a worker thread with plan "unseal" does it)')
      .argument('<piece_cid>'),
  )
    .option(
      '--dest <url>',
      'where the bytes go: file:///abs/path (on the worker), http(s)://…, market://STORE/PIECE_CID',
    )
    .option('--miner <id>', 'the miner of the sector (with --sector; default: the sector holding the piece)')
    .option('--sector <number>', 'the sector number (with --miner)')
    .option('--wait', 'wait for the outcome and print it (exit 1 when the unseal fails)')
    .option('--timeout <duration>', 'how long --wait waits (default 1h)')
    .action(async function (this: Command, piece: string) {
      const a = parseUnsealArgs(piece, this.opts());
      await withManager(this, async (api) => {
        let sid = a.sid;
        if (!sid) {
          // sealed sectors are offline; one being unsealed right now is back online for the while
          const s =
            (await api.FindSectorWithPiece('offline', { '/': a.pieceCid })) ??
            (await api.FindSectorWithPiece('online', { '/': a.pieceCid }));
          if (!s)
            throw new UserError(
              `no sealed sector holds piece ${a.pieceCid} (sectors still being sealed cannot be unsealed)`,
            );
          sid = s.ID;
        }
        let t = await api.UnsealTaskAdd(sid, { '/': a.pieceCid }, a.dest);
        out(`${describe(t)}\n`);
        if (!a.wait) return;
        const until = Date.now() + a.timeoutMs;
        while (t.State !== 'finished' && t.State !== 'failed') {
          if (Date.now() > until) throw new UserError(`unseal task #${t.ID} is still ${t.State} after --timeout`);
          await new Promise((r) => setTimeout(r, 2000));
          const cur = await api.UnsealTaskGet(t.ID);
          if (!cur) throw new UserError(`unseal task #${t.ID} is gone from the manager`);
          if (cur.State !== t.State) out(`${describe(cur)}\n`);
          t = cur;
        }
        if (t.State === 'failed') throw new UserError(`unseal of ${a.pieceCid} failed: ${t.Error}`);
      });
    });

  withListen(sectors.command('unseal-list').description('the latest unseal tasks'))
    .option('--limit <n>', 'how many (at most 1000)', '50')
    .action(async function (this: Command) {
      const o = this.opts() as { limit: string };
      if (!/^\d{1,4}$/.test(o.limit) || Number(o.limit) < 1 || Number(o.limit) > 1000)
        throw new UserError(`--limit ${o.limit}: a number from 1 to 1000`);
      await withManager(this, async (api) => {
        const list = await api.UnsealTaskList(Number(o.limit));
        const rows = [['Task', 'Sector', 'Piece', 'State', 'From', 'Worker', 'Tries', 'Dest', 'Error']];
        for (const t of list)
          rows.push([
            `#${t.ID}`,
            sectorName(t.Sector),
            t.PieceCid['/'],
            t.State,
            t.Source,
            t.Worker ?? '-',
            String(t.Attempts),
            t.Dest.join(','),
            t.Error,
          ]);
        out(table(rows));
        out(`${list.length} task(s)\n`);
      });
    });
}
