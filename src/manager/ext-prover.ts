/**
 * `daemon run --ext-prover`: Window PoSt computed by external processors, as damocles-manager's ext-prover
 * (damocles:docs/en/09.poster-node.md; docs/spec/processor-protocol.md). `<home>/ext-prover.cfg` lists the processors:
 *
 *   [[WdPost]]                       one per process (e.g. one per GPU)
 *   Bin = "/path/to/prover"          default: venus-worker next to this program, args ["processor", "window_post"]
 *   Args = ["…"]                     with Bin: the whole argument list
 *   Concurrent = 1                   tasks in flight per process
 *   Weight = 1                       share of the tasks among processes with room
 *   ReadyTimeoutSecs = 5             time to print the ready line
 *   TimeoutSecs = 1800               longest one proof may take; then the process is killed and restarted
 *                                    (default: one mainnet challenge window; 0: no limit)
 *   [WdPost.Envs]                    added to the daemon's environment (CUDA_VISIBLE_DEVICES, TMPDIR…)
 *   KEY = "VAL"
 *
 *   [[WinPost]] …                    accepted as in the original; this sector-manager does not mine blocks
 *
 * Each processor speaks damocles' protocol (ready line, then NDJSON tasks in vc-processors' form, see
 * proofs/prover/external.ts); a rust-fil-proofs prover answers Groth16 SNARKs, `venus-worker processor
 * window_post` the vanilla PoSt bytes the embedded devnet verifies.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, loadConfigFile } from '../common/config.js';
import { ExternalPool, ExternalSub, type SubSpawn } from '../common/extproc/index.js';
import { logger } from '../common/log.js';
import { ExternalPoStProver, isVanillaPoStProof, postProof, whyWindowPoStFails } from '../proofs/index.js';
import { distinctSectors, LocalWindowPoStProver } from './proofs.js';
import type { PoStSector, WindowPoStInput, WindowPoStOutput, WindowPoStProver } from './prover.js';

const log = logger('ext-prover');

export const EXT_PROVER_FILE = 'ext-prover.cfg';

const uint = (min: number) => z.number().int().min(min);
/**
 * A Window PoSt not done within one challenge window (mainnet: 60 epochs of 30 s) misses its deadline anyway;
 * past that, a hung processor would only hold its slot against the next deadlines.
 */
export const DEFAULT_WDPOST_TIMEOUT_SECS = 1800;
const ProcessorSchema = z
  .object({
    Bin: z.string().min(1).optional(),
    Args: z.array(z.string()).optional(),
    Envs: z.record(z.string(), z.string()).default({}),
    Concurrent: uint(1).default(1),
    Weight: uint(1).default(1),
    ReadyTimeoutSecs: uint(1).default(5),
    TimeoutSecs: uint(0).default(DEFAULT_WDPOST_TIMEOUT_SECS),
  })
  .strict();
const ExtProverSchema = z
  .object({ WdPost: z.array(ProcessorSchema).default([]), WinPost: z.array(ProcessorSchema).default([]) })
  .strict();

export type ExtProcessorConfig = z.output<typeof ProcessorSchema>;
export type ExtProverConfig = z.output<typeof ExtProverSchema>;

/** What `daemon init` writes: every key commented, as the original's default file. */
export const DEFAULT_EXT_PROVER_TEXT = `# Default config:
#[[WdPost]]
#Bin = "/path/to/custom/bin"
#Args = ["args1", "args2", "args3"]
#Concurrent = 1
#Weight = 1
#ReadyTimeoutSecs = 5
#TimeoutSecs = 1800
#[WdPost.Envs]
#ENV_KEY = "ENV_VAL"
#
#[[WinPost]]
#Bin = "/path/to/custom/bin"
#Args = ["args1", "args2", "args3"]
#Concurrent = 1
#Weight = 1
#ReadyTimeoutSecs = 5
#[WinPost.Envs]
#ENV_KEY = "ENV_VAL"
#
`;

/** Writes the commented default next to sector-manager.cfg unless one exists. */
export function initExtProverConfig(home: string): void {
  const file = join(home, EXT_PROVER_FILE);
  if (!existsSync(file)) writeFileSync(file, DEFAULT_EXT_PROVER_TEXT, { mode: 0o600, flag: 'wx' });
}

/** Reads `<home>/ext-prover.cfg`; --ext-prover without a [[WdPost]] is an error, not a silent vanilla fallback. */
export function loadExtProverConfig(home: string): ExtProverConfig {
  const file = join(home, EXT_PROVER_FILE);
  if (!existsSync(file)) {
    throw new ConfigError(file, ['missing: --ext-prover reads the processors from this file (daemon init writes one)']);
  }
  const cfg = loadConfigFile(file, ExtProverSchema);
  if (cfg.WdPost.length === 0)
    throw new ConfigError(file, ['no [[WdPost]] processor: --ext-prover needs at least one']);
  cfg.WdPost.forEach((p, i) => {
    if (p.Args && !p.Bin) throw new ConfigError(file, [`WdPost[${i}]: Args without Bin (Args replace the default's)`]);
  });
  return cfg;
}

/**
 * The default processor: venus-worker next to this program (dist/cli, or src/cli under tsx), started by this
 * Node with the same flags, as damocles-manager starts damocles-worker from its own directory.
 */
export function defaultPoStSpawn(stage: string): SubSpawn {
  const self = process.argv[1] ?? '';
  const worker = join(dirname(self), `venus-worker${extname(self) || '.js'}`);
  if (!existsSync(worker)) {
    throw new Error(`no Bin set and ${worker} not found (next to ${basename(self)}): set Bin in ${EXT_PROVER_FILE}`);
  }
  return { bin: process.execPath, args: [...process.execArgv, worker, 'processor', stage] };
}

/** One ExternalPool of the [[WdPost]] processors, started (each printed its ready line). */
export async function startWindowPoStPool(
  cfg: ExtProverConfig,
  spawnDefault: (stage: string) => SubSpawn = defaultPoStSpawn,
): Promise<ExternalPool> {
  const stage = 'window_post';
  const subs = cfg.WdPost.map(
    (p, index) =>
      new ExternalSub({
        stage,
        index,
        spawn: p.Bin ? { bin: p.Bin, args: p.Args ?? [] } : spawnDefault(stage),
        config: {
          stableWaitMs: p.ReadyTimeoutSecs * 1000,
          envs: p.Envs,
          inheritEnvs: true,
          autoRestart: true,
          concurrent: p.Concurrent,
          cgroup: null,
          timeoutMs: p.TimeoutSecs > 0 ? p.TimeoutSecs * 1000 : null,
        },
      }),
  );
  const pool = new ExternalPool(
    stage,
    subs,
    undefined,
    undefined,
    cfg.WdPost.map((p) => p.Weight),
  );
  try {
    await pool.start();
  } catch (err) {
    await pool.stop();
    throw err;
  }
  if (cfg.WinPost.length > 0)
    log.warn('[[WinPost]] processors are not started: this sector-manager does not mine blocks');
  log.info({ processors: subs.length, pids: subs.map((s) => s.pid) }, 'ext-prover ready (window_post)');
  return pool;
}

/**
 * The poster's prover through external processors. Sectors whose files are missing or short never reach them
 * (the vanilla prover's checks); the processors report the rest of the faults. Their proof bytes are verified
 * here only when they are vanilla PoSt bytes: a SNARK is for the chain to verify.
 */
export class ExternalWindowPoStProver implements WindowPoStProver {
  private readonly ext: ExternalPoStProver;
  private readonly local = new LocalWindowPoStProver();

  constructor(private readonly pool: ExternalPool) {
    this.ext = new ExternalPoStProver({ windowPost: pool });
  }

  async generateWindowPoSt(input: WindowPoStInput): Promise<WindowPoStOutput> {
    const faults: number[] = [];
    const good: PoStSector[] = [];
    for (const s of distinctSectors(input.sectors)) {
      const why = await this.local.precheck(input.postProof, s);
      if (why) {
        log.warn({ miner: input.minerId, sector: s.sectorNumber, why }, 'faulty sector');
        faults.push(s.sectorNumber);
      } else good.push(s);
    }
    if (faults.length > 0) return { proofBytes: new Uint8Array(0), faults };
    const r = await this.ext.generateWindowPoSt({
      proof: postProof(input.postProof).id,
      minerId: BigInt(input.minerId),
      randomness: input.randomness,
      replicas: good.map((s) => ({
        sectorId: BigInt(s.sectorNumber),
        commR: s.commR,
        cacheDir: s.cacheDir,
        sealedPath: s.sealedPath,
      })),
    });
    if (r.faults.length > 0) {
      log.warn({ miner: input.minerId, sectors: r.faults.map(Number) }, 'the ext-prover reported faulty sectors');
      return { proofBytes: new Uint8Array(0), faults: r.faults.map(Number) };
    }
    const proof = r.proofs[0];
    if (!proof || r.proofs.length !== 1) throw new Error(`ext-prover returned ${r.proofs.length} proofs, expected 1`);
    log.info(
      { miner: input.minerId, sectors: good.length, bytes: proof.proofBytes.length },
      'window post from the ext-prover',
    );
    return { proofBytes: proof.proofBytes, faults: [] };
  }

  async verifyWindowPoSt(input: WindowPoStInput, proofBytes: Uint8Array): Promise<boolean> {
    if (!isVanillaPoStProof(proofBytes)) return true;
    const why = whyWindowPoStFails({
      minerId: input.minerId,
      randomness: input.randomness,
      proofs: [{ postProof: input.postProof, proofBytes }],
      sectors: input.sectors,
    });
    if (why) log.warn({ miner: input.minerId, why }, 'window post from the ext-prover does not verify');
    return why === undefined;
  }

  checkSector(sector: PoStSector, minerId: number, postProofId: number): Promise<string | undefined> {
    return this.local.checkSector(sector, minerId, postProofId);
  }

  stop(): Promise<void> {
    return this.pool.stop();
  }
}
