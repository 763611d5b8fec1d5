/**
 * `util sealer proving info|deadlines|deadline|check`: a miner's Window PoSt state read from the chain, and its
 * deadlines' sectors checked by the running daemon, printed as tables.
 */
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { BitField } from '../../fil/index.js';
import { POST_PROOFS } from '../../proofs/index.js';
import { minerAddr } from '../chain.js';
import { connectServices } from '../daemon.js';
import {
  type Globals,
  globals,
  loadCfg,
  out,
  parseMinerId,
  parseSectorNumber,
  table,
  withListen,
  withManager,
} from './common.js';

export function registerProving(sealer: Command): void {
  const proving = sealer.command('proving').description('Window PoSt state of a miner');
  const minerOpt = (c: Command) => c.option('--miner <id>', 'the miner (default: the only one configured)');

  const pickMiner = (g: Globals, m?: string): number => {
    if (m) return parseMinerId(m);
    const cfg = loadCfg(g);
    const ids = cfg.SectorManager.Miners.map((x) => x.ID);
    if (ids.length !== 1) throw new UserError('more than one (or no) miner configured: use --miner');
    return ids[0]!;
  };

  const chainOf = (g: Globals) => connectServices(loadCfg(g));

  minerOpt(proving.command('info').description('current proving period and deadline')).action(async function (
    this: Command,
  ) {
    const g = globals(this);
    const miner = pickMiner(g, (this.opts() as { miner?: string }).miner);
    const { chain, messager } = chainOf(g);
    try {
      const d = await chain.StateMinerProvingDeadline(minerAddr(miner), null);
      const parts = (await chain.StateMinerPartitions(minerAddr(miner), d.Index, null)) ?? [];
      const count = (f: 'AllSectors' | 'FaultySectors' | 'RecoveringSectors' | 'ActiveSectors') =>
        parts.reduce((a, p) => a + BitField.fromJSON(p[f]).count(), 0);
      out(
        [
          `Miner: ${minerAddr(miner)}`,
          `Current Epoch:           ${d.CurrentEpoch}`,
          `Proving Period Boundary: ${d.PeriodStart % d.WPoStProvingPeriod}`,
          `Proving Period Start:    ${d.PeriodStart}`,
          `Next Period Start:       ${d.PeriodStart + d.WPoStProvingPeriod}`,
          '',
          `Deadline Index:       ${d.Index}`,
          `Deadline Sectors:     ${count('AllSectors')}`,
          `Deadline Faulty:      ${count('FaultySectors')}`,
          `Deadline Recovering:  ${count('RecoveringSectors')}`,
          `Deadline Open:        ${d.Open}`,
          `Deadline Close:       ${d.Close}`,
          `Deadline Challenge:   ${d.Challenge}`,
          `Deadline FaultCutoff: ${d.FaultCutoff}`,
          '',
        ].join('\n'),
      );
    } finally {
      await chain.close();
      await messager.close();
    }
  });

  minerOpt(proving.command('deadlines').description('every deadline: partitions, sectors, faults')).action(
    async function (this: Command) {
      const g = globals(this);
      const miner = pickMiner(g, (this.opts() as { miner?: string }).miner);
      const { chain, messager } = chainOf(g);
      try {
        const d = await chain.StateMinerProvingDeadline(minerAddr(miner), null);
        const dls = await chain.StateMinerDeadlines(minerAddr(miner), null);
        const rows = [['deadline', 'open', 'partitions', 'sectors (faults)', 'proven partitions']];
        for (let i = 0; i < dls.length; i++) {
          const parts = (await chain.StateMinerPartitions(minerAddr(miner), i, null)) ?? [];
          const sectors = parts.reduce((a, p) => a + BitField.fromJSON(p.AllSectors).count(), 0);
          const faults = parts.reduce((a, p) => a + BitField.fromJSON(p.FaultySectors).count(), 0);
          const proven = BitField.fromJSON(dls[i]!.PostSubmissions).count();
          const open = d.PeriodStart + i * d.WPoStChallengeWindow + (i < d.Index ? d.WPoStProvingPeriod : 0);
          rows.push([
            `${i}${i === d.Index ? ' (current)' : ''}`,
            String(open),
            String(parts.length),
            `${sectors} (${faults})`,
            String(proven),
          ]);
        }
        out(table(rows));
      } finally {
        await chain.close();
        await messager.close();
      }
    },
  );

  minerOpt(proving.command('deadline').description('partitions of one deadline').argument('<index>')).action(
    async function (this: Command, idx: string) {
      const g = globals(this);
      const miner = pickMiner(g, (this.opts() as { miner?: string }).miner);
      const { chain, messager } = chainOf(g);
      try {
        const parts = (await chain.StateMinerPartitions(minerAddr(miner), parseSectorNumber(idx), null)) ?? [];
        const dls = await chain.StateMinerDeadlines(minerAddr(miner), null);
        const posted = BitField.fromJSON(dls[Number(idx)]?.PostSubmissions ?? [0]);
        out(`Deadline Index: ${idx}\nPartitions: ${parts.length}\nProven Partitions: ${posted.count()}\n`);
        parts.forEach((p, i) => {
          const list = (f: 'AllSectors' | 'FaultySectors' | 'RecoveringSectors' | 'ActiveSectors') =>
            BitField.fromJSON(p[f]).toArray().join(', ') || '-';
          out(
            `Partition ${i}:\n  Sectors:    ${list('AllSectors')}\n  Faults:     ${list('FaultySectors')}\n  Recovering: ${list('RecoveringSectors')}\n  Active:     ${list('ActiveSectors')}\n`,
          );
        });
      } finally {
        await chain.close();
        await messager.close();
      }
    },
  );

  withListen(
    minerOpt(proving.command('check').description("check the files of a deadline's sectors").argument('<index>')),
  )
    .option('--slow', 'StrictCheck: file sizes and one vanilla proof per sector')
    .option('--only-bad', 'print only sectors that are not provable')
    .action(async function (this: Command, idx: string) {
      const g = globals(this);
      const o = this.opts() as { miner?: string; slow?: boolean; onlyBad?: boolean };
      const miner = pickMiner(g, o.miner);
      const { chain, messager } = chainOf(g);
      let parts: Awaited<ReturnType<typeof chain.StateMinerPartitions>>;
      let infos: Awaited<ReturnType<typeof chain.StateMinerSectors>>;
      try {
        parts = (await chain.StateMinerPartitions(minerAddr(miner), parseSectorNumber(idx), null)) ?? [];
        const all = parts.flatMap((p) => BitField.fromJSON(p.AllSectors).toArray());
        infos = all.length
          ? await chain.StateMinerSectors(minerAddr(miner), BitField.fromNumbers(all).toJSON(), null)
          : [];
      } finally {
        await chain.close();
        await messager.close();
      }
      const byNumber = new Map((infos ?? []).map((s) => [s.SectorNumber, s]));
      await withManager(this, async (api) => {
        const rows = [['deadline', 'partition', 'sector', 'status']];
        for (let i = 0; i < parts!.length; i++) {
          const nums = BitField.fromJSON(parts![i]!.AllSectors).toArray();
          const sectors = nums
            .map((n) => byNumber.get(n))
            .filter((s) => s !== undefined)
            .map((s) => ({
              SealProof: s.SealProof,
              SectorNumber: s.SectorNumber,
              SectorKey: s.SectorKeyCID,
              SealedCID: s.SealedCID,
            }));
          const bad = await api.CheckProvable(miner, POST_PROOFS[10]!.id, sectors, o.slow === true, false);
          for (const n of nums) {
            const why = bad[String(n)] ?? (byNumber.has(n) ? undefined : 'not found on chain');
            if (o.onlyBad && !why) continue;
            rows.push([idx, String(i), String(n), why ? `bad (${why})` : 'good']);
          }
        }
        out(table(rows));
      });
    });
}
