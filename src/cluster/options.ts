/** What `npm start` is asked for: the sector size and count, the devnet's clock, when to stop, the view. */
import { UserError } from '../common/cli.js';
import type { ClusterPorts } from './home.js';
import type { ProgramTable } from './programs.js';
import type { ViewMode } from './view.js';

export const SECTOR_SIZES = ['2KiB', '8MiB'] as const;

export type ClusterSectorSize = (typeof SECTOR_SIZES)[number];

export const SECTOR_BYTES: Record<ClusterSectorSize, number> = { '2KiB': 2048, '8MiB': 8 << 20 };

/** When to stop on its own (tests, CI): never (the default), or once the sector cap is reached on chain. */
export type UntilCondition = 'onchain' | 'proven';

export interface ClusterOptions {
  home: string;
  sectorSize: ClusterSectorSize;
  /** Total sectors of this cluster home (sector numbers 1..N); absent: seal continuously. */
  sectors?: number;
  /**
   * Deals through the devnet's market: absent, a CC-only cluster (the guide's `enable_deals = false`); a number,
   * the market path is on (sector-manager EnableDeals and its market endpoint, worker `enable_deals`, an unseal
   * thread) and that many client files are kept flowing (0: none; import your own with `venus-devnet client`).
   */
  deals?: number;
  /** The devnet's block time at init ("1s", "200ms"); absent: the devnet's default. */
  blockTime?: string;
  /**
   * 2k policy overrides at devnet init (venus-devnet init --policy "wpostChallengeWindow=10,…"); absent: the
   * fast clock (FAST_POLICY); "2k": the 2k network unchanged.
   */
  devnetPolicy?: string;
  view?: ViewMode;
  /** Exit 0 once `sectors` sectors are on chain ('onchain') or proven by a Window PoSt ('proven'). */
  until?: UntilCondition;
  /** Give up (exit 1) if `until` is not reached in this time. */
  untilTimeoutMs?: number;
  /** Program commands (tests start fakes). */
  programs?: Partial<ProgramTable>;
  /** Usual ports for a new home (0 = any free port). */
  ports?: Partial<ClusterPorts>;
  readyTimeoutMs?: number;
  /** Restart daemons that die (default true); false: the first death stops the cluster (tests of that path). */
  restart?: boolean;
  /** Extra environment for every program (e.g. VENUS_NO_NATIVE). */
  env?: NodeJS.ProcessEnv;
  out?: NodeJS.WriteStream;
}

/** The network every program of the cluster runs on. */
export const NETWORK = '2k';

/**
 * The devnet's fast clock for a new home: the 2k network with a 4-minute proving period (12 deadlines of 20
 * epochs at the devnet's 1 s blocks) instead of 48 minutes, so a new sector's first Window PoSt comes within
 * minutes. Lookback and fault cutoff shrink with the window (the actor requires cutoff ≥ lookback).
 */
export const FAST_POLICY =
  'wpostChallengeWindow=20,wpostPeriodDeadlines=12,wpostChallengeLookback=10,faultDeclarationCutoff=15';

/** Devnet sector sizes enabled at init: the two the cluster can seal. */
export const DEVNET_SECTOR_SIZES = SECTOR_SIZES.join(',');

/** A --block-time such as "1s" or "200ms" in milliseconds; a clear error for anything else. */
export function secsToMs(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(s.trim());
  if (!m) throw new UserError(`--block-time: "${s}" is not a duration such as 1s or 200ms`);
  const v = Number(m[1]);
  return m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}
