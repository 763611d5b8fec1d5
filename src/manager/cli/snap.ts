/**
 * `util sealer snap fetch MINER [--deadline N]` (damocles' `util sealer snap fetch`): imports the miner's active
 * committed-capacity sectors that can still take deals as snapup candidates; `util sealer snap candidates MINER`
 * lists them with the upgrade under way, if any. docs/snapup-manager.md.
 */
import type { Command } from 'commander';
import type { SnapUpCandidateInfo } from '../../api/sealer.js';
import { UserError } from '../../common/cli.js';
import { out, parseMinerId, table, withListen, withManager } from './common.js';

export function formatCandidates(list: SnapUpCandidateInfo[]): string {
  if (list.length === 0) return 'no snapup candidates (`util sealer snap fetch MINER` imports them)\n';
  return table([
    ['Sector', 'Deadline', 'Activation', 'Expiration', 'SealedCID', 'Upgrade'],
    ...list.map((c) => [
      String(c.Sector.Number),
      String(c.Deadline),
      String(c.Activation),
      String(c.Expiration),
      c.SealedCID['/'],
      c.State || '-',
    ]),
  ]);
}

export function registerSnap(sealer: Command): void {
  const snap = sealer.command('snap').description('snapup: committed-capacity sectors upgraded with deals in place');
  withListen(
    snap
      .command('fetch')
      .description("import the miner's active CC sectors that can take deals as snapup candidates")
      .argument('<miner>'),
  )
    .option('--deadline <index>', 'only the sectors of this deadline')
    .action(async function (this: Command, m: string) {
      const miner = parseMinerId(m);
      const raw = (this.opts() as { deadline?: string }).deadline;
      let dl: number | null = null;
      if (raw !== undefined) {
        if (!/^\d{1,3}$/.test(raw)) throw new UserError(`--deadline: "${raw.slice(0, 20)}" is not a deadline index`);
        dl = Number(raw);
      }
      await withManager(this, async (api) => {
        const r = await api.SnapUpPreFetch(miner, dl);
        out(`candidates: ${r.Total} (${r.Diff} new)\n`);
      });
    });
  withListen(
    snap.command('candidates').description('list the snapup candidates of a miner').argument('<miner>'),
  ).action(async function (this: Command, m: string) {
    const miner = parseMinerId(m);
    await withManager(this, async (api) => {
      out(formatCandidates((await api.SnapUpCandidates(miner)) ?? []));
    });
  });
}
