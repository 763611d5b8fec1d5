/**
 * venus-worker's configuration as written: the stage names, value parsers (durations, sizes) and the strict
 * Zod schema accepting both spellings (config.ts has the examples). `resolveWorkerConfig` turns it into one
 * `WorkerConfig`.
 */
import { z } from 'zod';
import { MAX_BATCH_SECTORS, parseSectorSize } from '../proofs/index.js';
import { RpcServerSchema } from './control-config.js';

/** Stages that can run in external processors (`[processors.<stage>]`). */
export const PROCESSOR_STAGES = ['add_pieces', 'tree_d', 'pc1', 'pc2', 'c1', 'c2', 'transfer'] as const;
export type ProcessorStage = (typeof PROCESSOR_STAGES)[number];
/** Stages a `[limit]` can cap (`unseal`: the unseal plan's decoding, run in the sealing thread). */
export const LIMIT_STAGES = [...PROCESSOR_STAGES, 'synth_proof', 'unseal'] as const;
export type LimitStage = (typeof LIMIT_STAGES)[number];
/** Stages of other damocles plans: named so the error says why they are refused. */
const UNSUPPORTED_STAGES = ['snap_encode', 'snap_prove', 'window_post', 'winning_post', 'sealing_daemons'];

// ---------------------------------------------------------------------------------------------------------
// small value parsers

const HUMANTIME_UNITS: Record<string, number> = {
  ns: 1e-6,
  nsec: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  usec: 1e-3,
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Durations as the Rust worker reads them (humantime: "30s", "5min", "1h 30m", "2days") and as Go writes
 * them ("1m30s", "500ms"). Returns milliseconds.
 */
export function parseHumanDuration(s: string): number {
  const str = s.trim();
  if (str === '0') return 0;
  const re = /\s*(\d+(?:\.\d+)?)\s*([a-zµ]+)/giy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(str))) {
    const unit = HUMANTIME_UNITS[m[2]!.toLowerCase()];
    if (unit === undefined) throw new Error(`bad duration "${s}": unknown unit "${m[2]}"`);
    total += Number(m[1]) * unit;
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== str.length) throw new Error(`bad duration "${s}" (expected e.g. "30s", "5min", "1m30s")`);
  return total;
}

const humanDuration = () =>
  z.string().transform((s, ctx) => {
    try {
      return parseHumanDuration(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** Byte sizes ("8GiB", "512MiB", 1024) to bytes. */
const byteSize = () =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    try {
      return parseSectorSize(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace('sector size', 'size') });
      return z.NEVER;
    }
  });

const strict = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict();
const count = () => z.number().int().min(0);

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
export type RawSealing = z.output<typeof SealingSchema>;

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
export type RawSub = z.output<typeof SubSchema>;

/** Legacy `[processors.<stage>] external = true` with `[[processors.<stage>.subs]]`; `timeout` for all subs. */
export const LegacyExtSchema = strict({
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
export type RawPc1Table = z.output<typeof Pc1TableSchema>;

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

const unsupportedStage = () =>
  z.unknown().superRefine((_v, ctx) => {
    ctx.addIssue({
      code: 'custom',
      message: 'this stage belongs to a plan this build does not run (only the sealer and rebuild plans)',
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
  ...(Object.fromEntries(UNSUPPORTED_STAGES.map((s) => [s, unsupportedStage().optional()])) as Record<
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
