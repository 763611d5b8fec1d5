/**
 * The `external` prover: damocles' external processor protocol for the `c2`, `window_post` and
 * `winning_post` stages (docs/spec/processor-protocol.md §Stages, vc-processors `builtin/tasks.rs`), so an operator
 * plugs in a Groth16 prover built on rust-fil-proofs — a GPU C2 box, a PoSt worker — for mainnet and calibnet.
 *
 * The transport (child processes, ready line, NDJSON `{id, task}` / `{id, err_msg, output}`, out-of-order
 * answers, restart on exit) is common/extproc's ExternalPool.run, shared by the worker's stages and the
 * sector-manager's ext-prover; it is injected here so this module stays free of services. Task and output JSON
 * follow vc-processors' serde forms:
 *
 *   c2           {c1out: SealCommitPhase1Output, prover_id: [32], sector_id, miner_id}
 *                → {proof: [u8…]} (filecoin-proofs-api SealCommitPhase2Output; base64 accepted too)
 *   window_post  {miner_id, proof_type: "StackedDrgWindow32GiBV1_2", replicas: [{sector_id, comm_r: [32],
 *                 cache_dir, sealed_file}], seed: [32]} → {proofs: [base64…], faults: [u64…]}
 *   winning_post same task → {proofs: [base64…]}
 *
 * rust-fil-proofs reports faulty sectors instead of proofs (`FaultySectors`); this prover then asks again
 * without them, so callers get the proofs of the rest and the faults in one answer, as from `vanilla`.
 */
import { c1OutputToJson } from '../porep/c1.js';
import { postRandomness } from '../post/challenges.js';
import { postProofInfo } from '../post/vanilla.js';
import { proverIdFromActorId } from '../sdr/index.js';
import type {
  PoStProof,
  PoStProver,
  PoStRequest,
  SealCommitPhase2Request,
  SealProver,
  WindowPoStResult,
} from './types.js';

/** Sends one task to a stage's processors and resolves with its output (ExternalPool.run fits). */
export interface ProcessorTransport {
  run(task: unknown, signal?: AbortSignal): Promise<unknown>;
}

function u64(v: bigint): number {
  if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${v} does not fit a JSON number`);
  return Number(v);
}

/** Proof bytes in an output: serde's array of numbers, or damocles' base64 `BytesVec`. */
export function bytesFromOutput(v: unknown, what: string): Uint8Array {
  if (typeof v === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new TypeError(`${what}: not base64`);
    return new Uint8Array(Buffer.from(v, 'base64'));
  }
  if (Array.isArray(v) && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 255))
    return Uint8Array.from(v as number[]);
  throw new TypeError(`${what}: expected bytes (an array of numbers or base64)`);
}

function field(o: unknown, key: string, what: string): unknown {
  if (typeof o !== 'object' || o === null || !(key in o))
    throw new TypeError(`${what}: no "${key}" in ${JSON.stringify(o)?.slice(0, 100)}`);
  return (o as Record<string, unknown>)[key];
}

export class ExternalSealProver implements SealProver {
  readonly kind = 'external' as const;

  constructor(private readonly c2: ProcessorTransport) {}

  async sealCommitPhase2(req: SealCommitPhase2Request, signal?: AbortSignal): Promise<Uint8Array> {
    const task = {
      c1out: c1OutputToJson(req.c1),
      prover_id: Array.from(proverIdFromActorId(req.minerId)),
      sector_id: u64(req.sectorId),
      miner_id: u64(req.minerId),
    };
    const out = await this.c2.run(task, signal);
    const proof = bytesFromOutput(field(out, 'proof', 'c2 output'), 'c2 output.proof');
    if (proof.length === 0) throw new Error('c2 processor returned an empty proof');
    return proof;
  }
}

export interface ExternalPoStTransports {
  windowPost?: ProcessorTransport;
  winningPost?: ProcessorTransport;
}

export class ExternalPoStProver implements PoStProver {
  readonly kind = 'external' as const;

  constructor(private readonly t: ExternalPoStTransports) {}

  private task(req: PoStRequest, replicas = req.replicas) {
    return {
      miner_id: u64(req.minerId),
      proof_type: postProofInfo(req.proof).rustName,
      replicas: replicas.map((r) => ({
        sector_id: u64(r.sectorId),
        comm_r: Array.from(r.commR),
        cache_dir: r.cacheDir,
        sealed_file: r.sealedPath,
      })),
      seed: Array.from(postRandomness(req.randomness)),
    };
  }

  private static proofs(out: unknown, postProof: number, stage: string): PoStProof[] {
    const list = field(out, 'proofs', `${stage} output`);
    if (!Array.isArray(list)) throw new TypeError(`${stage} output.proofs: expected an array`);
    return list.map((p, i) => ({ postProof, proofBytes: bytesFromOutput(p, `${stage} output.proofs[${i}]`) }));
  }

  async generateWindowPoSt(req: PoStRequest, signal?: AbortSignal): Promise<WindowPoStResult> {
    if (!this.t.windowPost) throw new Error('no window_post processor configured');
    const info = postProofInfo(req.proof);
    const faults = new Set<bigint>();
    let replicas = [...req.replicas];
    for (let round = 0; ; round++) {
      if (replicas.length === 0) return { proofs: [], faults: [...faults].sort((a, b) => (a < b ? -1 : 1)) };
      const out = await this.t.windowPost.run(this.task(req, replicas), signal);
      const reported = field(out, 'faults', 'window_post output');
      if (!Array.isArray(reported)) throw new TypeError('window_post output.faults: expected an array');
      const known = new Set(replicas.map((r) => r.sectorId));
      const newFaults = reported.map((f) => {
        if (typeof f !== 'number' || !Number.isSafeInteger(f) || !known.has(BigInt(f))) {
          throw new TypeError(`window_post output.faults: ${JSON.stringify(f)} is not a sector of the task`);
        }
        return BigInt(f);
      });
      const proofs = ExternalPoStProver.proofs(out, info.id, 'window_post');
      if (newFaults.length === 0) {
        if (proofs.length === 0) throw new Error('window_post processor returned neither proofs nor faults');
        return { proofs, faults: [...faults].sort((a, b) => (a < b ? -1 : 1)) };
      }
      for (const f of newFaults) faults.add(f);
      if (round >= 2) throw new Error(`window_post processor keeps reporting new faults (${[...faults].join(', ')})`);
      replicas = replicas.filter((r) => !faults.has(r.sectorId));
    }
  }

  async generateWinningPoSt(req: PoStRequest, signal?: AbortSignal): Promise<PoStProof[]> {
    if (!this.t.winningPost) throw new Error('no winning_post processor configured');
    const info = postProofInfo(req.proof);
    const out = await this.t.winningPost.run(this.task(req), signal);
    const proofs = ExternalPoStProver.proofs(out, info.id, 'winning_post');
    if (proofs.length === 0) throw new Error('winning_post processor returned no proof');
    return proofs;
  }
}
