/**
 * `<home>/sector-manager.cfg`, the schema of the deployment guide (venus-cluster 2021-09 modules/config.go):
 *
 *   [SectorManager] PreFetch, [[SectorManager.Miners]] ID InitNumber MaxNumber Disabled
 *   [Commitment.DefaultPolicy] batch thresholds, max waits, check intervals, gas over-estimations, fee caps,
 *     MsgConfidence; [Commitment.Miners.<id>] the same keys as overrides, [Commitment.Miners.<id>.Controls]
 *   [Chain] Api Token, [Messager] Api Token        (multiaddrs "/ip4/…/tcp/…" or URLs)
 *   [PersistedStore] Includes, [[PersistedStore.Stores]] Name Path Strict ReadOnly
 *   [PoSt.Default] StrictCheck GasOverEstimation MaxFeeCap MsgCheckInteval MsgConfidence,
 *     [PoSt.Actors.<id>] Sender and the same keys as overrides
 *   [DealManagerConfig.MarketAPI] Api Token, [[DealManagerConfig.LocalPieceStores]] Name Path Strict ReadOnly
 *     (the market, venus-cluster 2022-02 "integrate venus-market"), and EnableDeals per [[SectorManager.Miners]]
 *     entry (damocles' [Miners.Sector] EnableDeals): docs/deals-manager.md §Configuration
 *
 * Unknown keys, wrong types, bad addresses, durations, amounts and endpoints are refused when the file is
 * loaded, each as "FILE: Key.Path: reason". `daemon init` writes DEFAULT_CONFIG_TEXT (every key commented, as
 * the guide shows); `formatConfig` prints the effective config in the layout of the guide's first-run log.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, formatDuration, loadConfigFile, parseConfigText, parseDuration } from '../common/config.js';
import { logger } from '../common/log.js';
import { parseAddress, parseFIL } from '../fil/index.js';
import { parseApiInfo } from '../rpc/index.js';
import { DB_DEFAULT, DbConfigSchema, shownDbConfig } from './config-db.js';
import type { DbConfig } from './sql/types.js';

const log = logger('confmgr');

export const CONFIG_FILE = 'sector-manager.cfg';

// ---------------------------------------------------------------------------------------------------------------
// field types

/** Go Duration: keeps the normalised Go string ("60s" → "1m0s"); `ms()` converts. */
const durationStr = () =>
  z.string().transform((s, ctx) => {
    try {
      return formatDuration(parseDuration(s));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** A fee cap: "" (unset), attoFIL digits, or an amount with a unit ("5 nanoFIL", "0.1 FIL"). */
const feeCap = () =>
  z.string().superRefine((s, ctx) => {
    if (s.trim() === '') return;
    try {
      parseFIL(s, { defaultUnit: 'attoFIL' });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

/** An address, or "" for "not set". */
const addressStr = () =>
  z.string().superRefine((s, ctx) => {
    if (s === '') return;
    try {
      parseAddress(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `bad address "${s}": ${(err as Error).message}` });
    }
  });

/** An API endpoint: "" (unset), a multiaddr, a URL, or "TOKEN:multiaddr". */
const endpointStr = () =>
  z.string().superRefine((s, ctx) => {
    if (s.trim() === '') return;
    try {
      parseApiInfo(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

const nonNegInt = () => z.number().int('must be an integer').min(0, 'must be ≥ 0');
const uint64 = () => nonNegInt().max(Number.MAX_SAFE_INTEGER, 'too large');
const nonNegFloat = () => z.number().min(0, 'must be ≥ 0');

// ---------------------------------------------------------------------------------------------------------------
// schema

const MinerSchema = z.strictObject({
  ID: z.number().int('must be an integer').min(1, 'must be a miner actor id (t01033 → 1033)'),
  InitNumber: uint64().default(0),
  MaxNumber: uint64().optional(),
  Disabled: z.boolean().default(false),
  EnableDeals: z.boolean().default(false),
  EnableSnapUp: z.boolean().default(false),
  CleanupCCData: z.boolean().default(true),
});

const POLICY_KEYS = {
  CommitBatchThreshold: () => nonNegInt(),
  CommitBatchMaxWait: () => durationStr(),
  CommitCheckInterval: () => durationStr(),
  EnableBatchProCommit: () => z.boolean(),
  PreCommitBatchThreshold: () => nonNegInt(),
  PreCommitBatchMaxWait: () => durationStr(),
  PreCommitCheckInterval: () => durationStr(),
  EnableBatchPreCommit: () => z.boolean(),
  PreCommitGasOverEstimation: () => nonNegFloat(),
  ProCommitGasOverEstimation: () => nonNegFloat(),
  BatchPreCommitGasOverEstimation: () => nonNegFloat(),
  BatchProCommitGasOverEstimation: () => nonNegFloat(),
  MaxPreCommitFeeCap: () => feeCap(),
  MaxProCommitFeeCap: () => feeCap(),
  MaxBatchPreCommitFeeCap: () => feeCap(),
  MaxBatchProCommitFeeCap: () => feeCap(),
  MsgConfidence: () => nonNegInt(),
} as const;

const DEFAULT_POLICY = {
  CommitBatchThreshold: 0,
  CommitBatchMaxWait: '0s',
  CommitCheckInterval: '0s',
  EnableBatchProCommit: false,
  PreCommitBatchThreshold: 0,
  PreCommitBatchMaxWait: '0s',
  PreCommitCheckInterval: '0s',
  EnableBatchPreCommit: false,
  PreCommitGasOverEstimation: 0,
  ProCommitGasOverEstimation: 0,
  BatchPreCommitGasOverEstimation: 0,
  BatchProCommitGasOverEstimation: 0,
  MaxPreCommitFeeCap: '',
  MaxProCommitFeeCap: '',
  MaxBatchPreCommitFeeCap: '',
  MaxBatchProCommitFeeCap: '',
  MsgConfidence: 0,
} as const;

type PolicyKey = keyof typeof POLICY_KEYS;

function policyShape<D extends boolean>(withDefaults: D) {
  const shape: Record<string, z.ZodType> = {};
  for (const k of Object.keys(POLICY_KEYS) as PolicyKey[]) {
    const t = POLICY_KEYS[k]();
    shape[k] = withDefaults ? (t as z.ZodType).default(DEFAULT_POLICY[k] as never) : (t as z.ZodType).optional();
  }
  return shape;
}

export interface CommitmentPolicy {
  CommitBatchThreshold: number;
  CommitBatchMaxWait: string;
  CommitCheckInterval: string;
  EnableBatchProCommit: boolean;
  PreCommitBatchThreshold: number;
  PreCommitBatchMaxWait: string;
  PreCommitCheckInterval: string;
  EnableBatchPreCommit: boolean;
  PreCommitGasOverEstimation: number;
  ProCommitGasOverEstimation: number;
  BatchPreCommitGasOverEstimation: number;
  BatchProCommitGasOverEstimation: number;
  MaxPreCommitFeeCap: string;
  MaxProCommitFeeCap: string;
  MaxBatchPreCommitFeeCap: string;
  MaxBatchProCommitFeeCap: string;
  MsgConfidence: number;
}

const ControlsSchema = z.strictObject({
  PreCommit: addressStr().default(''),
  ProveCommit: addressStr().default(''),
});

const CommitmentMinerSchema = z.strictObject({
  Controls: ControlsSchema.default({ PreCommit: '', ProveCommit: '' }),
  ...policyShape(false),
});

const RpcClientSchema = z.strictObject({ Api: endpointStr().default(''), Token: z.string().default('') });

const StoreSchema = z.strictObject({
  Name: z.string().default(''),
  Path: z.string().min(1, 'must be the store directory (an absolute path)'),
  Strict: z.boolean().default(false),
  ReadOnly: z.boolean().default(false),
});

const POST_KEYS = {
  StrictCheck: () => z.boolean(),
  GasOverEstimation: () => nonNegFloat(),
  MaxFeeCap: () => feeCap(),
  MsgCheckInteval: () => durationStr(),
  MsgConfidence: () => nonNegInt(),
} as const;
const DEFAULT_POST = {
  StrictCheck: false,
  GasOverEstimation: 0,
  MaxFeeCap: '',
  MsgCheckInteval: '1m0s',
  MsgConfidence: 5,
} as const;

export interface PoStPolicy {
  StrictCheck: boolean;
  GasOverEstimation: number;
  MaxFeeCap: string;
  /** (sic) the original's spelling */
  MsgCheckInteval: string;
  MsgConfidence: number;
}

function postShape(withDefaults: boolean) {
  const shape: Record<string, z.ZodType> = {};
  for (const k of Object.keys(POST_KEYS) as (keyof typeof POST_KEYS)[]) {
    const t = POST_KEYS[k]() as z.ZodType;
    shape[k] = withDefaults ? t.default(DEFAULT_POST[k] as never) : t.optional();
  }
  return shape;
}

const PoStActorSchema = z.strictObject({ Sender: addressStr().default(''), ...postShape(false) });

const PieceStoreSchema = z.strictObject({
  Name: z.string().default(''),
  Path: z
    .string()
    .min(1, 'must be the piece store directory (an absolute path)')
    .refine((p) => isAbsolute(p), 'must be an absolute path'),
  Strict: z.boolean().default(false),
  ReadOnly: z.boolean().default(true),
});

const DEFAULT_DEAL_MANAGER = { MarketAPI: { Api: '', Token: '' }, LocalPieceStores: [] };

export const ManagerConfigSchema = z.strictObject({
  Common: z.strictObject({ DB: DbConfigSchema.default(DB_DEFAULT()) }).default({ DB: DB_DEFAULT() }),
  SectorManager: z
    .strictObject({
      PreFetch: z.boolean().default(true),
      Miners: z.array(MinerSchema).default([]),
    })
    .default({ PreFetch: true, Miners: [] }),
  Commitment: z
    .strictObject({
      DefaultPolicy: z.strictObject(policyShape(true)).default({ ...DEFAULT_POLICY }),
      Miners: z.record(z.string(), CommitmentMinerSchema).default({}),
    })
    .default({ DefaultPolicy: { ...DEFAULT_POLICY }, Miners: {} }),
  Chain: RpcClientSchema.default({ Api: '', Token: '' }),
  Messager: RpcClientSchema.default({ Api: '', Token: '' }),
  PersistedStore: z
    .strictObject({
      Includes: z.array(z.string()).default([]),
      Stores: z.array(StoreSchema).default([]),
    })
    .default({ Includes: [], Stores: [] }),
  PoSt: z
    .strictObject({
      Default: z.strictObject(postShape(true)).default({ ...DEFAULT_POST }),
      Actors: z.record(z.string(), PoStActorSchema).default({}),
    })
    .default({ Default: { ...DEFAULT_POST }, Actors: {} }),
  DealManagerConfig: z
    .strictObject({
      MarketAPI: RpcClientSchema.default({ Api: '', Token: '' }),
      LocalPieceStores: z.array(PieceStoreSchema).default([]),
    })
    .default({ ...DEFAULT_DEAL_MANAGER, MarketAPI: { ...DEFAULT_DEAL_MANAGER.MarketAPI }, LocalPieceStores: [] }),
});

export interface MinerConfig {
  ID: number;
  InitNumber: number;
  MaxNumber?: number;
  Disabled: boolean;
  /** AcquireDeals asks the market ([DealManagerConfig.MarketAPI]) for deals for this miner's sectors */
  EnableDeals: boolean;
  /** AllocateSanpUpSector hands this miner's CC candidates to snapup threads (damocles' [Miners.SnapUp] Enabled) */
  EnableSnapUp: boolean;
  /** the sector key (old CC replica) is deleted once the update is on chain and persisted (damocles' name) */
  CleanupCCData: boolean;
}

export interface StoreConfig {
  Name: string;
  Path: string;
  Strict: boolean;
  ReadOnly: boolean;
}

export interface ManagerConfig {
  Common: { DB: DbConfig };
  SectorManager: { PreFetch: boolean; Miners: MinerConfig[] };
  Commitment: {
    DefaultPolicy: CommitmentPolicy;
    Miners: Record<string, { Controls: { PreCommit: string; ProveCommit: string } } & Partial<CommitmentPolicy>>;
  };
  Chain: { Api: string; Token: string };
  Messager: { Api: string; Token: string };
  PersistedStore: { Includes: string[]; Stores: StoreConfig[] };
  PoSt: { Default: PoStPolicy; Actors: Record<string, { Sender: string } & Partial<PoStPolicy>> };
  DealManagerConfig: { MarketAPI: { Api: string; Token: string }; LocalPieceStores: StoreConfig[] };
}

function normalizeMinerKey(k: string): number | undefined {
  const m = /^(?:[ft]0)?(\d{1,15})$/.exec(k);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n : undefined;
}

/** Cross-field checks zod cannot express per field. */
function checkSemantics(file: string, cfg: ManagerConfig): void {
  const problems: string[] = [];
  const seen = new Set<number>();
  cfg.SectorManager.Miners.forEach((m, i) => {
    if (seen.has(m.ID)) problems.push(`SectorManager.Miners[${i}].ID: miner ${m.ID} is listed twice`);
    seen.add(m.ID);
    if (m.MaxNumber !== undefined && m.MaxNumber < m.InitNumber)
      problems.push(`SectorManager.Miners[${i}].MaxNumber: ${m.MaxNumber} is below InitNumber ${m.InitNumber}`);
    if (m.EnableDeals && cfg.DealManagerConfig.MarketAPI.Api.trim() === '')
      problems.push(
        `SectorManager.Miners[${i}].EnableDeals: deals need the market's address in [DealManagerConfig.MarketAPI] Api`,
      );
    if (m.EnableSnapUp && !m.EnableDeals)
      problems.push(
        `SectorManager.Miners[${i}].EnableSnapUp: snapup fills sectors with deals; set EnableDeals = true too`,
      );
  });
  const pieceNames = new Set<string>();
  cfg.DealManagerConfig.LocalPieceStores.forEach((s, i) => {
    const name = s.Name || s.Path;
    if (pieceNames.has(name))
      problems.push(`DealManagerConfig.LocalPieceStores[${i}].Name: piece store "${name}" is listed twice`);
    pieceNames.add(name);
  });
  const names = new Set<string>();
  cfg.PersistedStore.Stores.forEach((s, i) => {
    const name = s.Name || s.Path;
    if (names.has(name)) problems.push(`PersistedStore.Stores[${i}].Name: store "${name}" is listed twice`);
    names.add(name);
  });
  for (const section of ['Commitment.Miners', 'PoSt.Actors'] as const) {
    const map = section === 'Commitment.Miners' ? cfg.Commitment.Miners : cfg.PoSt.Actors;
    const ids = new Map<number, string>();
    for (const k of Object.keys(map)) {
      const id = normalizeMinerKey(k);
      if (id === undefined) {
        // "example" is the template's placeholder; the original ignores it too
        if (k !== 'example') problems.push(`${section}.${k}: "${k}" is not a miner id (write 1033 for t01033)`);
        continue;
      }
      const prev = ids.get(id);
      if (prev !== undefined) problems.push(`${section}: "${prev}" and "${k}" name the same miner`);
      ids.set(id, k);
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
}

export function parseManagerConfig(file: string, text: string): ManagerConfig {
  const cfg = parseConfigText(file, text, ManagerConfigSchema) as unknown as ManagerConfig;
  checkSemantics(file, cfg);
  return cfg;
}

export function loadManagerConfig(file: string): ManagerConfig {
  const cfg = loadConfigFile(file, ManagerConfigSchema) as unknown as ManagerConfig;
  checkSemantics(file, cfg);
  return cfg;
}

// ---------------------------------------------------------------------------------------------------------------
// resolved views

function minerEntry<T>(map: Record<string, T>, miner: number): T | undefined {
  for (const [k, v] of Object.entries(map)) if (normalizeMinerKey(k) === miner) return v;
  return undefined;
}

/** The commitment policy of a miner: DefaultPolicy overridden by `[Commitment.Miners.<id>]`. */
export function commitmentPolicy(cfg: ManagerConfig, miner: number): CommitmentPolicy {
  const over = minerEntry(cfg.Commitment.Miners, miner) ?? {};
  const out = { ...cfg.Commitment.DefaultPolicy } as Record<string, unknown>;
  for (const k of Object.keys(POLICY_KEYS)) {
    const v = (over as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as CommitmentPolicy;
}

/** PreCommit / ProveCommit sender of a miner ("" when not configured: the caller falls back to the worker). */
export function commitmentControls(cfg: ManagerConfig, miner: number): { PreCommit: string; ProveCommit: string } {
  return minerEntry(cfg.Commitment.Miners, miner)?.Controls ?? { PreCommit: '', ProveCommit: '' };
}

/** The PoSt policy of a miner: Default overridden by `[PoSt.Actors.<id>]`, plus its Sender. */
export function postPolicy(cfg: ManagerConfig, miner: number): PoStPolicy & { Sender: string } {
  const over = minerEntry(cfg.PoSt.Actors, miner);
  const out = { ...cfg.PoSt.Default, Sender: over?.Sender ?? '' } as Record<string, unknown>;
  for (const k of Object.keys(POST_KEYS)) {
    const v = (over as Record<string, unknown> | undefined)?.[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as PoStPolicy & { Sender: string };
}

/** Miners with a `[PoSt.Actors.<id>]` section or a `[[SectorManager.Miners]]` entry: those the poster proves. */
export function postMiners(cfg: ManagerConfig): number[] {
  const ids = new Set<number>(cfg.SectorManager.Miners.map((m) => m.ID));
  for (const k of Object.keys(cfg.PoSt.Actors)) {
    const id = normalizeMinerKey(k);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** Whether AcquireDeals asks the market for deals for `miner`'s sectors (its EnableDeals, and a market set). */
export function dealsEnabled(cfg: ManagerConfig, miner: number): boolean {
  if (cfg.DealManagerConfig.MarketAPI.Api.trim() === '') return false;
  return cfg.SectorManager.Miners.some((m) => m.ID === miner && m.EnableDeals && !m.Disabled);
}

/** Go duration string → milliseconds. */
export function ms(d: string): number {
  return parseDuration(d);
}

/** A fee cap string → attoFIL, or undefined when unset. */
export function feeCapAtto(s: string): bigint | undefined {
  return s.trim() === '' ? undefined : parseFIL(s, { defaultUnit: 'attoFIL' });
}

// ---------------------------------------------------------------------------------------------------------------
// the default file (`daemon init`) and the effective-config dump

/**
 * What `daemon init` writes: the guide's commented default, byte for byte, then the deal keys (commented too;
 * docs/deals-manager.md §Configuration).
 */
export const DEFAULT_CONFIG_TEXT = `# Default config:
[SectorManager]
#  PreFetch = true
#
#  [[SectorManager.Miners]]
#    ID = 10000
#    InitNumber = 0
#    MaxNumber = 10000
#    Disabled = false
#    EnableDeals = false
#    EnableSnapUp = false
#    CleanupCCData = true
#
[Commitment]
#  [Commitment.DefaultPolicy]
#    CommitBatchThreshold = 0
#    CommitBatchMaxWait = "0s"
#    CommitCheckInterval = "0s"
#    EnableBatchProCommit = false
#    PreCommitBatchThreshold = 0
#    PreCommitBatchMaxWait = "0s"
#    PreCommitCheckInterval = "0s"
#    EnableBatchPreCommit = false
#    PreCommitGasOverEstimation = 0.0
#    ProCommitGasOverEstimation = 0.0
#    BatchPreCommitGasOverEstimation = 0.0
#    BatchProCommitGasOverEstimation = 0.0
#    MaxPreCommitFeeCap = ""
#    MaxProCommitFeeCap = ""
#    MaxBatchPreCommitFeeCap = ""
#    MaxBatchProCommitFeeCap = ""
#    MsgConfidence = 0
#  [Commitment.Miners]
#    [Commitment.Miners.example]
#      [Commitment.Miners.example.Controls]
#        PreCommit = ""
#        ProveCommit = ""
#
[Chain]
#  Api = ""
#  Token = ""
#
[Messager]
#  Api = ""
#  Token = ""
#
[PersistedStore]
#  Includes = ["unavailable"]
#
#  [[PersistedStore.Stores]]
#    Name = "storage name,like \`100.100.10.1\`"
#    Path = "/path/to/storage/"
#    Strict = false
#    ReadOnly = true
#
[PoSt]
#  [PoSt.Default]
#    StrictCheck = false
#    GasOverEstimation = 0.0
#    MaxFeeCap = ""
#    MsgCheckInteval = "1m0s"
#    MsgConfidence = 5
#  [PoSt.Actors]
#    [PoSt.Actors.10000]
#      Sender = "t1abjxfbp274xpdqcpuaykwkfb43omjotacm2p3za"
#      StrictCheck = false
#      GasOverEstimation = 0.0
#      MaxFeeCap = ""
#      MsgCheckInteval = "1m0s"
#      MsgConfidence = 5
#
[DealManagerConfig]
#  [DealManagerConfig.MarketAPI]
#    Api = "/ip4/127.0.0.1/tcp/41235/http"
#    Token = ""
#
#  [[DealManagerConfig.LocalPieceStores]]
#    Name = "piece storage name"
#    Path = "/path/to/piece/storage"
#    Strict = false
#    ReadOnly = true
`;

/**
 * `daemon init`: creates the home and writes sector-manager.cfg unless it exists (as the original's
 * confmgr.SetDefault). Returns whether a file was written.
 */
export function initHome(home: string): { file: string; written: boolean } {
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const file = join(home, CONFIG_FILE);
  if (existsSync(file)) {
    log.info({ file }, 'config file exists, left unchanged');
    return { file, written: false };
  }
  writeFileSync(file, DEFAULT_CONFIG_TEXT, { mode: 0o600, flag: 'wx' });
  log.info({ file }, 'config file written');
  return { file, written: true };
}

/** Go's strconv-quoted string as BurntSushi/toml writes it. */
function quote(s: string): string {
  return JSON.stringify(s);
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  throw new Error(`cannot format ${typeof v}`);
}

/** Keys holding Go float64s: written with a decimal point ("0.0", "1.2"). */
const FLOAT_KEYS = new Set([
  'PreCommitGasOverEstimation',
  'ProCommitGasOverEstimation',
  'BatchPreCommitGasOverEstimation',
  'BatchProCommitGasOverEstimation',
  'GasOverEstimation',
]);

function formatKeyValue(key: string, v: unknown): string {
  if (FLOAT_KEYS.has(key) && typeof v === 'number') {
    const s = String(v);
    return /[.eE]/.test(s) ? s : `${s}.0`;
  }
  return formatValue(v);
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isArrayOfTables(v: unknown): v is Record<string, unknown>[] {
  return Array.isArray(v) && v.length > 0 && v.every(isTable);
}

/**
 * The effective config in BurntSushi/toml's layout, as the original logs it on start ("Sector-manager initial
 * cfg: …"): two-space indent per level, a blank line before top-level tables and arrays of tables, values
 * before sub-tables. Tokens are shortened (header.payload.***) so logs never hold a usable credential.
 */
export function formatConfig(cfg: ManagerConfig): string {
  const lines: string[] = [];
  const written = () => lines.length > 0;
  const newline = () => {
    if (written()) lines.push('');
  };
  const emit = (path: string[], table: Record<string, unknown>) => {
    const indent = '  '.repeat(path.length);
    const subs: [string, unknown][] = [];
    for (const [k, v] of Object.entries(table)) {
      if (v === undefined) continue;
      if (isTable(v) || isArrayOfTables(v)) {
        subs.push([k, v]);
        continue;
      }
      const shown = typeof v !== 'string' ? v : k === 'Token' ? redactToken(v) : k === 'Api' ? redactApiInfo(v) : v;
      lines.push(`${indent}${k} = ${formatKeyValue(k, shown)}`);
    }
    for (const [k, v] of subs) {
      const p = [...path, k];
      const name = p.map((s) => (/^[A-Za-z0-9_-]+$/.test(s) ? s : quote(s))).join('.');
      if (isArrayOfTables(v)) {
        for (const t of v) {
          newline();
          lines.push(`${'  '.repeat(path.length)}[[${name}]]`);
          emit(p, t);
        }
      } else {
        if (p.length === 1) newline();
        lines.push(`${'  '.repeat(path.length)}[${name}]`);
        emit(p, v as Record<string, unknown>);
      }
    }
  };
  const sortedMap = <T>(m: Record<string, T>) =>
    Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
  // the deal keys came after the guide: shown once set, so a config without deals logs as the guide shows it
  const deals = cfg.DealManagerConfig;
  const dealsSet = deals.MarketAPI.Api !== '' || deals.MarketAPI.Token !== '' || deals.LocalPieceStores.length > 0;
  emit([], {
    SectorManager: {
      ...cfg.SectorManager,
      // (the snapup keys likewise: shown when not at their defaults)
      Miners: cfg.SectorManager.Miners.map(({ EnableDeals, EnableSnapUp, CleanupCCData, ...m }) => ({
        ...m,
        ...(EnableDeals ? { EnableDeals } : {}),
        ...(EnableSnapUp ? { EnableSnapUp } : {}),
        ...(CleanupCCData ? {} : { CleanupCCData }),
      })),
    },
    Commitment: { DefaultPolicy: cfg.Commitment.DefaultPolicy, Miners: sortedMap(cfg.Commitment.Miners) },
    Chain: cfg.Chain,
    Messager: cfg.Messager,
    PersistedStore: cfg.PersistedStore,
    PoSt: { Default: cfg.PoSt.Default, Actors: sortedMap(cfg.PoSt.Actors) },
    ...(dealsSet ? { DealManagerConfig: deals } : {}),
    ...(shownDbConfig(cfg.Common.DB) ? { Common: { DB: shownDbConfig(cfg.Common.DB) } } : {}),
  });
  return `${lines.join('\n')}\n`;
}

/** An API-info string "TOKEN:/ip4/…" with its token redacted (a plain address is returned as it is). */
export function redactApiInfo(api: string): string {
  const m = /^([a-zA-Z0-9\-_]+?\.[a-zA-Z0-9\-_]+?\.(?:[a-zA-Z0-9\-_]+)?):(.+)$/.exec(api.trim());
  return m ? `${redactToken(m[1]!)}:${m[2]}` : api;
}

/** A JWT is header.payload.signature: keep what identifies it, drop what makes it usable. */
export function redactToken(t: string): string {
  if (t === '') return '';
  const parts = t.split('.');
  if (parts.length === 3) return `${parts[0]}.${parts[1]}.***`;
  return '***';
}
