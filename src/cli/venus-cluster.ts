#!/usr/bin/env node
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  type ClusterDb,
  type ClusterSectorSize,
  checkManagers,
  runCluster,
  SECTOR_SIZES,
  type UntilCondition,
} from '../cluster/index.js';
import { runMain, UserError, withLogging } from '../common/cli.js';
import { formatDuration, parseDuration } from '../common/config.js';
import { VERSION } from '../common/version.js';
import { MAX_LEASE_TTL_MS, MIN_LEASE_TTL_MS } from '../manager/config-ha.js';

/** The repository's .cluster/ (git-ignored): dist/cli → ../../.cluster. */
const DEFAULT_HOME = resolve(fileURLToPath(new URL('../../.cluster', import.meta.url)));

function nonNegativeInt(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number ≥ 0');
  return n;
}

/** --lease-ttl: a duration the managers accept as [Common.HA] LeaseTTL (1s–10m), normalised ("1.5s"). */
function leaseTtl(v: string): string {
  let ms: number;
  try {
    ms = parseDuration(v);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 2s or 30s');
  }
  if (ms < MIN_LEASE_TTL_MS || ms > MAX_LEASE_TTL_MS)
    throw new InvalidArgumentError(
      `expected from ${formatDuration(MIN_LEASE_TTL_MS)} to ${formatDuration(MAX_LEASE_TTL_MS)}`,
    );
  return formatDuration(ms);
}

/**
 * With several managers and no --lease-ttl: 5 s, so a killed post holder's duty moves within one deadline's window
 * on the devnet's fast clock (20 s; the managers' own 30 s default would let that deadline pass unproven).
 */
const CLUSTER_LEASE_TTL = '5s';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

const program = withLogging(new Command('venus-cluster'))
  .description(
    'runs a whole venus cluster on this machine: venus-devnet, venus-wallet, venus-sector-manager (--poster ' +
      '--ext-prover --require-token) and venus-worker (two seal stores, one remote store, external pc2/c2 ' +
      'processors), each as its own process with its own log under HOME/logs, and seals sectors continuously with ' +
      "a live view; the link to the sector-manager's dashboard is printed once it is up. Ctrl-C stops everything; " +
      'running it again resumes.',
  )
  .version(VERSION)
  .option('--home <dir>', 'cluster home (the devnet is at HOME/devnet)', DEFAULT_HOME)
  .addOption(
    new Option('--sector-size <size>', 'sector size of the miner (fixed when the miner is created)')
      .choices(SECTOR_SIZES)
      .default('2KiB'),
  )
  .option('--sectors <n>', 'total sectors to seal in this home (sector numbers 1..N); default: no cap', positiveInt)
  .option(
    '--deals <n>',
    "deals through the devnet's market: keep N client files (verified DDO and builtin-market deals of mixed sizes) " +
      'flowing into sectors; 0 turns the deal path on without generated files (import with `venus-devnet client import`)',
    nonNegativeInt,
  )
  .option(
    '--any-ports',
    'a new home takes free ports the system picks instead of the usual 1234/5678/1789/17890 (several clusters on one machine, tests)',
  )
  .option(
    '--managers <n>',
    'sector-managers (1–4), each with its own home and port, on one shared database (needs --db postgres…); ' +
      'the worker fails over between them and each duty (post, commit, chain) goes to the one holding its lease',
    positiveInt,
    1,
  )
  .option(
    '--db <sqlite|postgres|postgres://…>',
    "the managers' database: sqlite (each manager's home), postgres (a throwaway local PostgreSQL under HOME/postgres, " +
      'stopped at exit) or the DSN of a PostgreSQL to use',
    'sqlite',
  )
  .option(
    '--lease-ttl <duration>',
    `with --managers 2 or more: [Common.HA] LeaseTTL, how soon a killed manager's duties move to another (default ${CLUSTER_LEASE_TTL})`,
    leaseTtl,
  )
  .option('--block-time <duration>', "devnet block time at init, e.g. 1s or 200ms (default: the devnet's)")
  .option(
    '--devnet-policy <key=value,…>',
    'devnet policy overrides at init (default: a 4-minute proving period, 12 deadlines × 20 epochs; "2k": the 2k network unchanged)',
  )
  .addOption(
    new Option('--view <mode>', 'live view: tty (redraw), lines (one line per change), none').choices([
      'auto',
      'tty',
      'lines',
      'none',
    ]),
  )
  .addOption(
    new Option('--until <condition>', 'exit once --sectors sectors are on chain, or proven by a Window PoSt').choices([
      'onchain',
      'proven',
    ]),
  )
  .option('--timeout <duration>', 'with --until: give up after this long, e.g. 10m (default: none)')
  .action(async (o: Record<string, string | number | undefined>) => {
    if (o.until && o.sectors === undefined) throw new UserError('--until needs --sectors N');
    const managers = Number(o.managers);
    const db = String(o.db);
    checkManagers(managers, db);
    if (o.leaseTtl !== undefined && db === 'sqlite')
      throw new UserError('--lease-ttl is for managers on a shared database: add --managers 2 --db postgres');
    let untilTimeoutMs: number | undefined;
    if (o.timeout !== undefined) {
      const m = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(String(o.timeout));
      if (!m) throw new UserError(`--timeout: "${o.timeout}" is not a duration such as 90s or 10m`);
      untilTimeoutMs = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 's' | 'm' | 'h'];
    }
    process.exitCode = await runCluster({
      home: resolve(String(o.home)),
      sectorSize: o.sectorSize as ClusterSectorSize,
      ...(o.sectors !== undefined ? { sectors: Number(o.sectors) } : {}),
      ...(o.deals !== undefined ? { deals: Number(o.deals) } : {}),
      ...(o.anyPorts ? { ports: { devnet: 0, wallet: 0, manager: 0, worker: 0 } } : {}),
      managers,
      db: db as ClusterDb,
      ...(o.leaseTtl !== undefined || managers > 1 ? { leaseTtl: String(o.leaseTtl ?? CLUSTER_LEASE_TTL) } : {}),
      ...(o.blockTime !== undefined ? { blockTime: String(o.blockTime) } : {}),
      ...(o.devnetPolicy !== undefined ? { devnetPolicy: String(o.devnetPolicy) } : {}),
      ...(o.view !== undefined ? { view: o.view as 'auto' } : {}),
      ...(o.until !== undefined ? { until: o.until as UntilCondition } : {}),
      ...(untilTimeoutMs !== undefined ? { untilTimeoutMs } : {}),
    });
  });

await runMain(program);
