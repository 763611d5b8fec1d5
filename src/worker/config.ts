/**
 * venus-worker's TOML configuration, as the deployment guide writes it:
 *
 *   [sealer_rpc] url = "ws://127.0.0.1:1789/rpc/v0"        (or addr = "/ip4/127.0.0.1/tcp/1789")
 *   [sealing] enable_deals = false, max_retries = 3, …      (every key, damocles defaults)
 *   [[store]] location = "…"                                one sealing thread per seal store
 *   [limit] pc1 = 1, pc2 = 1, c2 = 1                        stage concurrency across threads
 *   [remote] path = "…"                                     the persist store
 *   [processors.pc2] external = true                        stage in sub-processes …
 *   [[processors.pc2.subs]] [processors.pc2.subs.cgroup] cpuset = "24-27"   … one per sub
 *
 * The newer damocles names are accepted too ([sector_manager] rpc_client.addr, [[sealing_thread]],
 * [[attached]], [processors.limitation.concurrent]/[processors.limit], [[processors.<stage>]]); both spellings
 * end in one `WorkerConfig`. Unknown keys and conflicting spellings are refused with "FILE: key: reason".
 */
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, checkConfig, expandHome, loadConfigFile, parseConfigText } from '../common/config.js';
import { MAX_BATCH_SECTORS, parseSectorSize, sealProofFor, sectorSizeInfo } from '../proofs/index.js';
import { multiaddrToUrl, redactUrl } from '../rpc/index.js';
import {
  DEFAULT_CGROUP_NAME,
  DEFAULT_PC1_GATHER_MS,
  DEFAULT_PROCESSOR_TIMEOUT_MS,
  DEFAULT_STABLE_WAIT_MS,
  MAX_PC1_GATHER_MS,
  type Pc1BatchConfig,
  type PersistStoreConfig,
  type ProcessorSubConfig,
  SEALING_DEFAULTS,
  type SealingConfig,
  type SealingThreadConfig,
  type WorkerConfig,
} from './config-types.js';
import { byteSize, count, humanDuration, strict } from './config-values.js';
import { RpcServerSchema, resolveControlServer } from './control-config.js';

export {
  DEFAULT_CGROUP_NAME,
  DEFAULT_PC1_GATHER_MS,
  DEFAULT_PROCESSOR_TIMEOUT_MS,
  DEFAULT_STABLE_WAIT_MS,
  type Pc1BatchConfig,
  type PersistStoreConfig,
  type ProcessorSubConfig,
  SEALING_DEFAULTS,
  type SealingConfig,
  type SealingThreadConfig,
  type WorkerConfig,
} from './config-types.js';
export { parseHumanDuration } from './config-values.js';

/** `[sealer_rpc] urls`: at most this many managers. */
export const MAX_SEALER_URLS = 8;

/** Stages that can run in external processors (`[processors.<stage>]`). */
export const PROCESSOR_STAGES = ['add_pieces', 'tree_d', 'pc1', 'pc2', 'c1', 'c2', 'transfer'] as const;
export type ProcessorStage = (typeof PROCESSOR_STAGES)[number];
/** Stages a `[limit]` can cap (`unseal`: the unseal plan's decoding, run in the sealing thread). */
export const LIMIT_STAGES = [...PROCESSOR_STAGES, 'synth_proof', 'unseal', 'snap_encode', 'snap_prove'] as const;
export type LimitStage = (typeof LIMIT_STAGES)[number];
/** Stages of other damocles plans: named so the error says why they are refused. */
const UNSUPPORTED_STAGES = ['snap_encode', 'snap_prove', 'window_post', 'winning_post', 'sealing_daemons'];
/** `[[sealing_thread]] plan` values this build runs (damocles' names; docs/deals-worker.md for unseal). */
export const PLANS = ['sealer', 'unseal', 'rebuild', 'snapup'] as const;
export type PlanName = (typeof PLANS)[number];

// ---------------------------------------------------------------------------------------------------------
// raw schema (both spellings)

const SealingSchema = strict({
  allowed_miners: z.array(z.number().int().positive()).nullable().optional(),
  allowed_sizes: z.array(z.string()).nullable().optional(),
  enable_deals: z.boolean().optional(),
  disable_cc: z.boolean().optional(),
  max_deals: count().nullable().optional(),
  min_deal_space: byteSize().nullable().optional(),
  max_retries: count().optional(),
  seal_interval: humanDuration().optional(),
  recover_interval: humanDuration().optional(),
  rpc_polling_interval: humanDuration().optional(),
  ignore_proof_check: z.boolean().optional(),
  request_task_max_retries: count().optional(),
  verify_after_pc2: z.boolean().optional(),
});
type RawSealing = z.output<typeof SealingSchema>;

const CgroupSchema = strict({
  group_name: z
    .string()
    .regex(/^[\w.-]+(\/[\w.-]+)*$/, 'expected a cgroup name such as "vc-worker"')
    .optional(),
  cpuset: z
    .string()
    .regex(/^\s*\d+(-\d+)?(,\d+(-\d+)?)*\s*$/, 'expected a cpu list such as "0-7" or "0,2,4-6"')
    .optional(),
});

const SubSchema = strict({
  bin: z.string().min(1).optional(),
  args: z.array(z.string()).optional(),
  stable_wait: humanDuration().optional(),
  cgroup: CgroupSchema.optional(),
  numa_preferred: z.number().int().min(0).optional(),
  envs: z.record(z.string(), z.string()).optional(),
  concurrent: z.number().int().min(1).optional(),
  locks: z.array(z.string()).optional(),
  auto_restart: z.boolean().optional(),
  inherit_envs: z.boolean().optional(),
  timeout: humanDuration().optional(),
});
type RawSub = z.output<typeof SubSchema>;

/** Legacy `[processors.<stage>] external = true` with `[[processors.<stage>.subs]]`; `timeout` for all subs. */
const LegacyExtSchema = strict({
  external: z.boolean(),
  timeout: humanDuration().optional(),
  subs: z.array(SubSchema).optional(),
});

/**
 * `[processors.pc1]`: the legacy table plus batch PC1 (docs/pc1-batch.md): `batch = K` sectors labeled together
 * in the worker process, the first waiting at most `gather_timeout` for the others. `external` may be left out
 * when the table only sets the batch.
 */
const Pc1TableSchema = strict({
  external: z.boolean().optional(),
  timeout: humanDuration().optional(),
  subs: z.array(SubSchema).optional(),
  batch: z.number().int().min(1).max(MAX_BATCH_SECTORS).optional(),
  gather_timeout: humanDuration().optional(),
}).superRefine((v, ctx) => {
  if (v.external === undefined && v.batch === undefined) {
    ctx.addIssue({ code: 'custom', path: ['external'], message: 'missing (required unless batch is set)' });
  }
});
type RawPc1Table = z.output<typeof Pc1TableSchema>;

const limitMap = <T extends z.ZodType>(value: T) =>
  z.record(z.string(), value).superRefine((rec, ctx) => {
    for (const k of Object.keys(rec)) {
      if (!(LIMIT_STAGES as readonly string[]).includes(k)) {
        ctx.addIssue({
          code: 'custom',
          path: [k],
          message: `unknown stage (expected one of ${LIMIT_STAGES.join(', ')})`,
        });
      }
    }
  });

/** `[processors.<stage>]` (legacy table with `external`) or `[[processors.<stage>]]` (damocles list). */
const stageSchema = (stage: ProcessorStage) =>
  z.unknown().transform((v, ctx) => {
    const r = (Array.isArray(v) ? z.array(SubSchema) : stage === 'pc1' ? Pc1TableSchema : LegacyExtSchema).safeParse(v);
    if (r.success) return r.data as z.output<typeof LegacyExtSchema> | RawPc1Table | RawSub[];
    for (const i of r.error.issues) ctx.addIssue({ ...(i as z.core.$ZodIssue), path: i.path } as never);
    return z.NEVER;
  });

const unsupportedStage = (stage: string) =>
  z.unknown().superRefine((_v, ctx) => {
    ctx.addIssue({
      code: 'custom',
      message: stage.startsWith('snap_')
        ? `the snapup plan runs ${stage} in-process in this build: cap it with [processors.limitation.concurrent] ${stage} = N`
        : 'this stage belongs to a plan this build does not run (only the sealer, unseal, rebuild and snapup plans)',
    });
  });

const ProcessorsSchema = strict({
  limit: limitMap(count()).optional(),
  limitation: strict({
    concurrent: limitMap(count()).optional(),
    staggered: limitMap(humanDuration()).optional(),
  }).optional(),
  ext_locks: z.record(z.string(), z.number().int().min(1)).optional(),
  static_tree_d: z.record(z.string(), z.string()).optional(),
  ...(Object.fromEntries(PROCESSOR_STAGES.map((s) => [s, stageSchema(s).optional()])) as Record<
    ProcessorStage,
    z.ZodOptional<ReturnType<typeof stageSchema>>
  >),
  unseal: z
    .unknown()
    .superRefine((_v, ctx) => {
      ctx.addIssue({
        code: 'custom',
        message:
          'the unseal plan decodes in the sealing thread in this build: cap it with [processors.limitation.concurrent] unseal = N',
      });
    })
    .optional(),
  ...(Object.fromEntries(UNSUPPORTED_STAGES.map((s) => [s, unsupportedStage(s).optional()])) as Record<
    string,
    z.ZodOptional<ReturnType<typeof unsupportedStage>>
  >),
});

export const WorkerConfigSchema = strict({
  // legacy spellings (the deployment guide)
  instance: strict({ name: z.string().min(1).optional() }).optional(),
  worker_server: RpcServerSchema.optional(),
  sealer_rpc: strict({
    url: z.string().min(1).optional(),
    addr: z.string().min(1).optional(),
    // several managers sharing one database: calls fail over between them (docs/worker-failover.md)
    urls: z.array(z.string().min(1)).min(1).max(MAX_SEALER_URLS).optional(),
    headers: z.record(z.string(), z.string()).optional(),
  }).optional(),
  store: z.array(strict({ location: z.string().min(1), sealing: SealingSchema.optional() })).optional(),
  limit: limitMap(count()).optional(),
  remote: strict({
    path: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    instance: z.string().min(1).optional(),
  }).optional(),
  piece_store: strict({ url: z.string().min(1).optional(), token: z.string().min(1).optional() }).optional(),
  static_tree_d: z.record(z.string(), z.string()).optional(),
  // damocles spellings
  worker: strict({
    name: z.string().min(1).optional(),
    rpc_server: RpcServerSchema.optional(),
    ping_interval: humanDuration().optional(),
    local_pieces_dir: z.string().min(1).optional(),
    local_pieces_dirs: z.array(z.string().min(1)).optional(),
  }).optional(),
  sector_manager: strict({
    rpc_client: strict({ addr: z.string().min(1), headers: z.record(z.string(), z.string()).optional() }),
    piece_token: z.string().min(1).optional(),
  }).optional(),
  sealing_thread: z
    .array(strict({ location: z.string().min(1), plan: z.string().optional(), sealing: SealingSchema.optional() }))
    .optional(),
  attached: z
    .array(
      strict({ name: z.string().min(1).optional(), location: z.string().min(1), readonly: z.boolean().optional() }),
    )
    .optional(),
  // both
  sealing: SealingSchema.optional(),
  processors: ProcessorsSchema.optional(),
});
export type RawWorkerConfig = z.output<typeof WorkerConfigSchema>;

function mergeSealing(base: SealingConfig, raw: RawSealing | undefined, at: string, problems: string[]): SealingConfig {
  if (!raw) return base;
  const out: SealingConfig = { ...base };
  if (raw.allowed_miners !== undefined) out.allowedMiners = raw.allowed_miners;
  if (raw.allowed_sizes !== undefined) {
    if (raw.allowed_sizes === null) {
      out.allowedSizes = null;
      out.allowedProofTypes = null;
    } else {
      const sizes: number[] = [];
      raw.allowed_sizes.forEach((s, i) => {
        try {
          sizes.push(sectorSizeInfo(parseSectorSize(s)).sectorSize);
        } catch (err) {
          problems.push(`${at}.allowed_sizes[${i}]: ${(err as Error).message}`);
        }
      });
      out.allowedSizes = sizes;
      out.allowedProofTypes = [];
      for (const s of sizes) {
        try {
          out.allowedProofTypes.push(sealProofFor(s).id);
        } catch (err) {
          problems.push(`${at}.allowed_sizes: ${(err as Error).message}`);
        }
      }
    }
  }
  if (raw.enable_deals !== undefined) out.enableDeals = raw.enable_deals;
  if (raw.disable_cc !== undefined) out.disableCC = raw.disable_cc;
  if (raw.max_deals !== undefined) out.maxDeals = raw.max_deals;
  if (raw.min_deal_space !== undefined) out.minDealSpace = raw.min_deal_space;
  if (raw.max_retries !== undefined) out.maxRetries = raw.max_retries;
  if (raw.seal_interval !== undefined) out.sealIntervalMs = raw.seal_interval;
  if (raw.recover_interval !== undefined) out.recoverIntervalMs = raw.recover_interval;
  if (raw.rpc_polling_interval !== undefined) out.rpcPollingIntervalMs = raw.rpc_polling_interval;
  if (raw.ignore_proof_check !== undefined) out.ignoreProofCheck = raw.ignore_proof_check;
  if (raw.request_task_max_retries !== undefined) out.requestTaskMaxRetries = raw.request_task_max_retries;
  if (raw.verify_after_pc2 !== undefined) out.verifyAfterPc2 = raw.verify_after_pc2;
  return out;
}

/** The manager's endpoint: a URL as written, or a multiaddr turned into `<scheme>://host:port/rpc/v0`. */
function managerUrl(addr: string, at: string, problems: string[]): string {
  if (/^(https?|wss?):\/\//.test(addr)) return addr;
  if (addr.startsWith('/')) {
    try {
      // go-jsonrpc's path, as damocles' rpc_addr appends it
      return `${multiaddrToUrl(addr, { defaultScheme: 'http' })}/rpc/v0`;
    } catch (err) {
      problems.push(`${at}: ${(err as Error).message}`);
      return '';
    }
  }
  problems.push(
    `${at}: expected a URL (ws://host:1789/rpc/v0) or a multiaddr (/ip4/127.0.0.1/tcp/1789), not "${addr}"`,
  );
  return '';
}

function absPath(p: string, baseDir: string): string {
  const e = expandHome(p);
  return isAbsolute(e) ? e : resolve(baseDir, e);
}

function resolveSub(stage: ProcessorStage, raw: RawSub, stageTimeout?: number): ProcessorSubConfig {
  const timeout = raw.timeout ?? stageTimeout ?? DEFAULT_PROCESSOR_TIMEOUT_MS[stage];
  return {
    stage,
    bin: raw.bin ?? null,
    args: raw.args ?? null,
    stableWaitMs: raw.stable_wait ?? DEFAULT_STABLE_WAIT_MS,
    cgroup: raw.cgroup?.cpuset
      ? { groupName: raw.cgroup.group_name ?? DEFAULT_CGROUP_NAME, cpuset: raw.cgroup.cpuset }
      : null,
    numaPreferred: raw.numa_preferred ?? null,
    envs: raw.envs ?? {},
    concurrent: raw.concurrent ?? null,
    locks: raw.locks ?? [],
    autoRestart: raw.auto_restart ?? true,
    inheritEnvs: raw.inherit_envs ?? true,
    timeoutMs: timeout > 0 ? timeout : null,
  };
}

/**
 * `[processors.pc1] batch = K`: K sealing threads must be able to reach PC1 together, or every batch would
 * wait its whole gather_timeout and run short.
 */
function resolvePc1Batch(
  raw: RawPc1Table | RawSub[] | undefined,
  pc1Limit: number | undefined,
  limitName: string,
  threads: number,
  problems: string[],
): Pc1BatchConfig | null {
  if (!raw || Array.isArray(raw)) return null;
  if (raw.batch === undefined) {
    if (raw.gather_timeout !== undefined) problems.push('processors.pc1.gather_timeout: only used with batch = K');
    return null;
  }
  const k = raw.batch;
  const gatherMs = raw.gather_timeout ?? DEFAULT_PC1_GATHER_MS;
  let ok = true;
  if (raw.external) {
    problems.push(
      'processors.pc1.batch: batch PC1 runs in the worker process; it cannot be combined with external = true (keep one)',
    );
    ok = false;
  }
  if (gatherMs > MAX_PC1_GATHER_MS) {
    problems.push(`processors.pc1.gather_timeout: at most 1h, got ${gatherMs / 1000}s`);
    ok = false;
  }
  if (k > 1 && pc1Limit !== undefined && pc1Limit > 0 && pc1Limit < k) {
    problems.push(
      `${limitName} pc1 = ${pc1Limit} is below [processors.pc1] batch = ${k}: at most ${pc1Limit} sectors could be in PC1 at once, so no batch would fill; raise ${limitName} pc1 to at least ${k} or lower batch`,
    );
    ok = false;
  }
  if (k > 1 && threads > 0 && threads < k) {
    problems.push(
      `processors.pc1.batch: ${k} sectors per batch but only ${threads} sealing thread(s): no batch would fill; lower batch to at most ${threads}`,
    );
    ok = false;
  }
  return ok && k > 1 ? { batch: k, gatherMs } : null;
}

/**
 * Resolves a parsed file into a WorkerConfig; relative paths are resolved against `baseDir`.
 */
export function resolveWorkerConfig(file: string, raw: RawWorkerConfig, baseDir: string): WorkerConfig {
  const problems: string[] = [];
  const both = (a: string, b: string) => problems.push(`${a} and ${b} are two spellings of one setting: keep one`);

  // manager endpoint(s)
  let urls: string[] = [];
  let headers: Record<string, string> = {};
  if (raw.sealer_rpc && raw.sector_manager) both('[sealer_rpc]', '[sector_manager]');
  if (raw.sealer_rpc) {
    const r = raw.sealer_rpc;
    if (r.url && r.addr) both('sealer_rpc.url', 'sealer_rpc.addr');
    if (r.urls && (r.url || r.addr)) {
      problems.push(
        `sealer_rpc.urls and sealer_rpc.${r.url ? 'url' : 'addr'} are both set: keep one (urls = [...] lists every manager)`,
      );
    }
    if (r.urls) {
      urls = r.urls.map((a, i) => managerUrl(a, `sealer_rpc.urls[${i}]`, problems));
      const seen = new Set<string>();
      urls.forEach((u, i) => {
        if (u && seen.has(u)) problems.push(`sealer_rpc.urls[${i}]: "${redactUrl(u)}" is listed twice`);
        seen.add(u);
      });
    } else {
      const a = r.url ?? r.addr;
      if (!a) problems.push('sealer_rpc.url: missing (required; or urls = [...] for several managers)');
      else urls = [managerUrl(a, r.url ? 'sealer_rpc.url' : 'sealer_rpc.addr', problems)];
    }
    headers = r.headers ?? {};
  } else if (raw.sector_manager) {
    urls = [managerUrl(raw.sector_manager.rpc_client.addr, 'sector_manager.rpc_client.addr', problems)];
    headers = raw.sector_manager.rpc_client.headers ?? {};
  } else {
    problems.push(
      'sealer_rpc.url: missing (required): the venus-sector-manager API, e.g. "ws://127.0.0.1:1789/rpc/v0"',
    );
  }

  const sealing = mergeSealing({ ...SEALING_DEFAULTS }, raw.sealing, 'sealing', problems);

  // sealing threads
  if (raw.store && raw.sealing_thread) both('[[store]]', '[[sealing_thread]]');
  const threads: SealingThreadConfig[] = [];
  const seen = new Set<string>();
  const rawThreads = raw.store
    ? raw.store.map((s, i) => ({ ...s, plan: undefined as string | undefined, at: `store[${i}]` }))
    : (raw.sealing_thread ?? []).map((s, i) => ({ ...s, at: `sealing_thread[${i}]` }));
  for (const t of rawThreads) {
    const location = absPath(t.location, baseDir);
    if (seen.has(location)) {
      problems.push(`${t.at}.location: "${t.location}" is listed twice: one sealing thread per seal store`);
      continue;
    }
    seen.add(location);
    const planName = (t.plan ?? 'sealer') as PlanName;
    if (!PLANS.includes(planName)) {
      problems.push(`${t.at}.plan: "${t.plan}" is not supported by this build (one of ${PLANS.join(', ')})`);
    }
    threads.push({ location, plan: planName, sealing: mergeSealing(sealing, t.sealing, `${t.at}.sealing`, problems) });
  }
  if (threads.length === 0) {
    problems.push('store: no seal store: add at least one [[store]] location = "<path/to/local/store>"');
  }

  // persist stores
  if (raw.remote && raw.attached) both('[remote]', '[[attached]]');
  const persistStores: PersistStoreConfig[] = [];
  if (raw.remote) {
    if (!raw.remote.path) problems.push('remote.path: missing (required)');
    else {
      if (raw.remote.name && raw.remote.instance) both('remote.name', 'remote.instance');
      const location = absPath(raw.remote.path, baseDir);
      persistStores.push({ name: raw.remote.name ?? raw.remote.instance ?? location, location, readonly: false });
    }
  }
  for (const a of raw.attached ?? []) {
    const location = absPath(a.location, baseDir);
    persistStores.push({ name: a.name ?? location, location, readonly: a.readonly ?? false });
  }
  const names = new Set<string>();
  for (const p of persistStores) {
    if (names.has(p.name)) problems.push(`attached: persist store name "${p.name}" is used twice`);
    names.add(p.name);
  }

  // limits
  const p = raw.processors ?? {};
  const limitSpellings = [
    raw.limit && '[limit]',
    p.limit && '[processors.limit]',
    p.limitation?.concurrent && '[processors.limitation.concurrent]',
  ].filter(Boolean) as string[];
  if (limitSpellings.length > 1) both(limitSpellings[0]!, limitSpellings[1]!);
  const concurrent = (raw.limit ?? p.limit ?? p.limitation?.concurrent ?? {}) as Partial<Record<LimitStage, number>>;
  const staggeredMs = (p.limitation?.staggered ?? {}) as Partial<Record<LimitStage, number>>;

  // processors
  const processors: Partial<Record<ProcessorStage, ProcessorSubConfig[]>> = {};
  for (const stage of PROCESSOR_STAGES) {
    const v = (p as Record<string, unknown>)[stage] as
      | z.output<typeof LegacyExtSchema>
      | RawPc1Table
      | RawSub[]
      | undefined;
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.length) processors[stage] = v.map((s) => resolveSub(stage, s));
    } else if (v.external) {
      // `external = true` with no subs: one sub with the defaults (the guide's example)
      const subs = v.subs?.length ? v.subs : [{}];
      processors[stage] = subs.map((s) => resolveSub(stage, s, v.timeout));
    }
  }
  if (processors.c1) problems.push('processors.c1: C1 always runs in the sealing thread (as in damocles)');
  const pc1Batch = resolvePc1Batch(
    p.pc1 as RawPc1Table | RawSub[] | undefined,
    concurrent.pc1,
    limitSpellings[0] ?? '[limit]',
    threads.length,
    problems,
  );
  const extLocks = p.ext_locks ?? {};
  for (const [stage, subs] of Object.entries(processors)) {
    subs.forEach((s, i) => {
      for (const l of s.locks) {
        if (!(l in extLocks)) problems.push(`processors.${stage}[${i}].locks: "${l}" is not in [processors.ext_locks]`);
      }
    });
  }

  // static tree_d
  if (raw.static_tree_d && p.static_tree_d) both('[static_tree_d]', '[processors.static_tree_d]');
  const staticTreeD: Record<number, string> = {};
  for (const [k, v] of Object.entries(raw.static_tree_d ?? p.static_tree_d ?? {})) {
    try {
      staticTreeD[sectorSizeInfo(parseSectorSize(k)).sectorSize] = absPath(v, baseDir);
    } catch (err) {
      problems.push(`static_tree_d.${k}: ${(err as Error).message}`);
    }
  }

  // worker identity and control RPC
  if (raw.instance && raw.worker?.name) both('instance.name', 'worker.name');
  if (raw.worker_server && raw.worker?.rpc_server) both('[worker_server]', 'worker.rpc_server');
  const rpcServer = resolveControlServer(
    raw.worker_server ?? raw.worker?.rpc_server,
    raw.worker?.rpc_server ? 'worker.rpc_server' : 'worker_server',
    file,
    baseDir,
  );
  // damocles reads local_pieces_dirs and ignores the older single dir when both are set: refuse the ambiguity
  if (raw.worker?.local_pieces_dir && raw.worker.local_pieces_dirs) {
    both('worker.local_pieces_dir', 'worker.local_pieces_dirs');
  }
  const localPiecesDirs = [
    ...(raw.worker?.local_pieces_dir ? [raw.worker.local_pieces_dir] : []),
    ...(raw.worker?.local_pieces_dirs ?? []),
  ].map((d) => absPath(d, baseDir));
  if (new Set(localPiecesDirs).size !== localPiecesDirs.length) {
    problems.push('worker.local_pieces_dirs: a directory is listed twice');
  }
  if (raw.piece_store?.token !== undefined && raw.sector_manager?.piece_token !== undefined) {
    both('piece_store.token', 'sector_manager.piece_token');
  }

  if (problems.length) throw new ConfigError(file, problems);
  return {
    file,
    name: raw.instance?.name ?? raw.worker?.name ?? null,
    rpcServer,
    pingIntervalMs: raw.worker?.ping_interval ?? 30_000,
    localPiecesDirs,
    sectorManager: {
      url: urls[0]!,
      urls,
      headers,
      pieceToken: raw.sector_manager?.piece_token ?? raw.piece_store?.token ?? null,
      pieceStoreUrl: raw.piece_store?.url ?? null,
    },
    sealing,
    threads,
    persistStores,
    limits: { concurrent, staggeredMs },
    extLocks,
    staticTreeD,
    processors,
    pc1Batch,
  };
}

/** Parses and resolves config text (tests, `--config -`). */
export function parseWorkerConfig(file: string, text: string, baseDir = process.cwd()): WorkerConfig {
  return resolveWorkerConfig(file, parseConfigText(file, text, WorkerConfigSchema), baseDir);
}

/**
 * Reads, checks and resolves a worker config file. Relative paths are taken from the working directory, as
 * the original does (the guide starts the daemon from the directory holding its config).
 */
export function loadWorkerConfig(file: string, baseDir = process.cwd()): WorkerConfig {
  const raw = loadConfigFile(file, WorkerConfigSchema);
  return resolveWorkerConfig(file, raw, baseDir);
}

/** Validates an already-parsed object (e.g. a per-store hot config). */
export function checkWorkerConfig(file: string, raw: unknown, baseDir: string): WorkerConfig {
  return resolveWorkerConfig(file, checkConfig(file, raw, WorkerConfigSchema), baseDir);
}
