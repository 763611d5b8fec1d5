/**
 * What the dashboard shows from the chain: head, per-miner power and balance, and deadlines with their partitions.
 * Refreshed at most every `refreshMs` (default 5 s); a miner's partitions (one call per deadline) only when its
 * current deadline changes or every `partitionsMs` (default 30 s), so the dashboard's chain load does not grow
 * with the number of viewers or deadlines.
 */
import type { FullNodeAPI } from '../../api/full.js';
import { BitField } from '../../fil/index.js';
import type { ApiClient } from '../../rpc/index.js';
import { type ChainAPI, minerAddr } from '../chain.js';
import type { ManagerConfig } from '../config.js';
import { TEXT_MAX } from './queries.js';

type Full = ApiClient<typeof FullNodeAPI>;
/** The chain calls the dashboard makes beyond the manager's: optional (test chains may lack them). */
export type DashboardChain = ChainAPI & Partial<Pick<Full, 'StateMinerPower' | 'StateMinerAvailableBalance'>>;

export interface DeadlineRow {
  miner: number;
  index: number;
  /** the deadline's next (or current) challenge window */
  open: number;
  close: number;
  current: boolean;
  /** partitions with a PoSt on chain in the current window (current deadline only) */
  proven: number[];
  /** sectors: all in the partition; active: proven at least once and not faulty */
  partitions: { index: number; sectors: number; active: number; faulty: number; recovering: number }[];
}

export interface MinerRow {
  id: number;
  power: string | null;
  rawPower: string | null;
  available: string | null;
  error?: string;
}

export interface ChainView {
  head: number | null;
  miners: MinerRow[];
  deadlines: DeadlineRow[];
}

/** The set bits of a Lotus-JSON bitfield (run lengths), in order; none for null. */
export function bitIndexes(runs: number[] | null | undefined): number[] {
  return runs ? BitField.fromJSON(runs).toArray() : [];
}

/** Number of set bits of a Lotus-JSON bitfield (run lengths, starting with a run of zeros). */
export function bitCount(runs: number[] | null | undefined): number {
  return runs ? BitField.fromJSON(runs).count() : 0;
}

type Partitions = DeadlineRow['partitions'];

export class ChainViewCache {
  private view: { at: number; value: ChainView } | undefined;
  private pending: Promise<ChainView> | undefined;
  /** per miner: partitions of each deadline index, for the deadline that was current when they were read */
  private readonly parts = new Map<number, { current: number; open: number; at: number; byIndex: Partitions[] }>();

  constructor(
    private readonly chain: DashboardChain,
    private readonly config: () => ManagerConfig,
    private readonly opts: { refreshMs?: number; partitionsMs?: number } = {},
  ) {}

  /** The cached view, refreshed when older than refreshMs (concurrent callers share one refresh). */
  async get(now = Date.now()): Promise<ChainView> {
    if (this.view && now - this.view.at <= (this.opts.refreshMs ?? 5_000)) return this.view.value;
    this.pending ??= this.load().finally(() => {
      this.pending = undefined;
    });
    const value = await this.pending;
    this.view = { at: Date.now(), value };
    return value;
  }

  private async load(): Promise<ChainView> {
    const { chain } = this;
    let head: number | null = null;
    try {
      head = (await chain.ChainHead()).Height;
    } catch {
      /* shown as unknown */
    }
    const miners: MinerRow[] = [];
    const deadlines: DeadlineRow[] = [];
    for (const m of this.config().SectorManager.Miners) {
      const addr = minerAddr(m.ID);
      const row: MinerRow = { id: m.ID, power: null, rawPower: null, available: null };
      try {
        if (chain.StateMinerPower) {
          const p = await chain.StateMinerPower(addr, []);
          row.power = p ? String(p.MinerPower.QualityAdjPower) : null;
          row.rawPower = p ? String(p.MinerPower.RawBytePower) : null;
        }
        if (chain.StateMinerAvailableBalance) row.available = String(await chain.StateMinerAvailableBalance(addr, []));
        deadlines.push(...(await this.minerDeadlines(m.ID)));
      } catch (err) {
        row.error = (err as Error).message.slice(0, TEXT_MAX);
      }
      miners.push(row);
    }
    return { head, miners, deadlines };
  }

  /** A miner's deadlines as `venus-sector-manager util miner` would list them: the current one and every one in use. */
  private async minerDeadlines(miner: number): Promise<DeadlineRow[]> {
    const { chain } = this;
    const addr = minerAddr(miner);
    const cur = await chain.StateMinerProvingDeadline(addr, []);
    const all = await chain.StateMinerDeadlines(addr, []);
    const n = cur.WPoStPeriodDeadlines || all.length || 1;
    let cached = this.parts.get(miner);
    const now = Date.now();
    if (
      !cached ||
      cached.current !== cur.Index ||
      cached.open !== cur.Open ||
      now - cached.at > (this.opts.partitionsMs ?? 30_000)
    ) {
      const byIndex: Partitions[] = [];
      for (let index = 0; index < n; index++) {
        const parts = (await chain.StateMinerPartitions(addr, index, [])) ?? [];
        byIndex.push(
          parts.map((p, i) => ({
            index: i,
            sectors: bitCount(p.AllSectors),
            active: bitCount(p.ActiveSectors),
            faulty: bitCount(p.FaultySectors),
            recovering: bitCount(p.RecoveringSectors),
          })),
        );
      }
      cached = { current: cur.Index, open: cur.Open, at: now, byIndex };
      this.parts.set(miner, cached);
    }
    const rows: DeadlineRow[] = [];
    for (let k = 0; k < n; k++) {
      const index = (cur.Index + k) % n;
      const partitions = cached.byIndex[index] ?? [];
      if (k > 0 && partitions.length === 0) continue;
      const open = cur.Open + k * cur.WPoStChallengeWindow;
      rows.push({
        miner,
        index,
        open,
        close: open + cur.WPoStChallengeWindow,
        current: k === 0,
        // the actor clears PostSubmissions when a window closes: only the current one's says anything
        proven: k === 0 ? bitIndexes(all[index]?.PostSubmissions) : [],
        partitions,
      });
    }
    return rows;
  }
}
