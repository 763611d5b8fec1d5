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
  /**
   * Sector-managers sharing the sealing (1–4, default 1): each with its own home and port, all on one database;
   * the worker lists every one in `[sealer_rpc] urls` and duties go to whichever holds their lease.
   */
  managers?: number;
  /**
   * [Common.HA] LeaseTTL of every manager ("5s"): how long a killed manager's duties wait before another takes
   * them. Absent: the manager's default (30s), longer than a deadline's window on the devnet's fast clock.
   */
  leaseTtl?: string;
  /**
   * The managers' database: 'sqlite' (each home's manager.db, the default), 'postgres' (a throwaway local
   * PostgreSQL under the cluster home, stopped at exit) or a postgres:// DSN to use as it is.
   */
  db?: ClusterDb;
  /** Starts the throwaway PostgreSQL for db 'postgres' (the CLI passes src/common/pg-local.ts; tests a fake). */
  startPostgres?: StartPostgres;
  /** Extra environment for every program (e.g. VENUS_NO_NATIVE). */
  env?: NodeJS.ProcessEnv;
  out?: NodeJS.WriteStream;
}

export type ClusterDb = 'sqlite' | 'postgres' | `postgres://${string}` | `postgresql://${string}`;

export type StartPostgres = (o: {
  dir: string;
  log?: (line: string) => void;
}) => Promise<{ dsn: string; port: number; stop(): Promise<void> }>;

export const MAX_MANAGERS = 4;

/**
 * --managers and --db checked together: a whole number 1–4, and more than one manager only on a shared
 * database (each manager's own SQLite file would give each its own idea of every sector).
 */
export function checkManagers(managers: number, db: string): void {
  if (!Number.isInteger(managers) || managers < 1 || managers > MAX_MANAGERS) {
    throw new UserError(`--managers: ${managers} is not a whole number from 1 to ${MAX_MANAGERS}`);
  }
  if (!isClusterDb(db)) {
    throw new UserError(`--db: "${db}" is neither sqlite, postgres nor a postgres:// DSN`);
  }
  if (managers > 1 && db === 'sqlite') {
    throw new UserError(
      `--managers ${managers} needs a shared database: two managers on their own SQLite files would each seal ` +
        'and prove on their own; add --db postgres (a throwaway local PostgreSQL) or --db postgres://…',
    );
  }
}

export function isClusterDb(db: string): db is ClusterDb {
  return db === 'sqlite' || db === 'postgres' || /^postgres(ql)?:\/\/\S+$/.test(db);
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
