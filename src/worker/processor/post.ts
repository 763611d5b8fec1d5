/**
 * The PoSt stages a worker binary serves as an external processor (`venus-worker processor window_post` /
 * `winning_post`), as damocles-worker does for damocles-manager's ext-prover: the sector-manager started with
 * `daemon run --ext-prover` sends Window PoSt tasks here (by default; `ext-prover.cfg` can name any binary
 * speaking the protocol, e.g. a GPU prover built on rust-fil-proofs).
 *
 * Tasks and outputs follow vc-processors' serde forms (see src/proofs/prover/external.ts):
 *   {miner_id, proof_type: "StackedDrgWindow2KiBV1_2", replicas: [{sector_id, comm_r: [32], cache_dir,
 *    sealed_file}], seed: [32]} → window_post {proofs: [base64…], faults: [u64…]}, winning_post {proofs}.
 * Proofs are computed by the vanilla prover (proofs/prover/vanilla.ts): vanilla PoSt bytes, what the embedded
 * devnet verifies.
 */
import { type PoStRequest, VanillaPoStProver } from '../../proofs/index.js';
import { fromJson32 } from './tasks.js';

export interface PoStReplicaJson {
  sector_id: number;
  comm_r: number[];
  cache_dir: string;
  sealed_file: string;
}

export interface PoStTask {
  miner_id: number;
  proof_type: string | number;
  replicas: PoStReplicaJson[];
  seed: number[];
}

export const POST_STAGES = ['window_post', 'winning_post'] as const;
export type PoStStage = (typeof POST_STAGES)[number];

function u64(v: unknown, what: string): bigint {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new TypeError(`${what}: expected a u64`);
  return BigInt(v);
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string' || !v) throw new TypeError(`${what}: expected a path`);
  return v;
}

/** The prover's request from a task, every field checked (a bad task fails alone, with its reason). */
export function postRequestFromTask(task: unknown): PoStRequest {
  if (typeof task !== 'object' || task === null) throw new TypeError('PoSt task: expected an object');
  const t = task as Partial<PoStTask>;
  if (typeof t.proof_type !== 'string' && typeof t.proof_type !== 'number')
    throw new TypeError('proof_type: expected a registered PoSt proof name or id');
  if (!Array.isArray(t.replicas) || t.replicas.length === 0) throw new TypeError('replicas: expected a non-empty list');
  return {
    proof: t.proof_type,
    minerId: u64(t.miner_id, 'miner_id'),
    randomness: fromJson32(t.seed, 'seed'),
    replicas: t.replicas.map((r, i) => ({
      sectorId: u64(r?.sector_id, `replicas[${i}].sector_id`),
      commR: fromJson32(r?.comm_r, `replicas[${i}].comm_r`),
      cacheDir: str(r?.cache_dir, `replicas[${i}].cache_dir`),
      sealedPath: str(r?.sealed_file, `replicas[${i}].sealed_file`),
    })),
  };
}

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

export const POST_BUILTIN: Record<PoStStage, (task: unknown) => Promise<unknown>> = {
  async window_post(task) {
    const r = await new VanillaPoStProver().generateWindowPoSt(postRequestFromTask(task));
    return { proofs: r.proofs.map((p) => b64(p.proofBytes)), faults: r.faults.map(Number) };
  },
  async winning_post(task) {
    const proofs = await new VanillaPoStProver().generateWinningPoSt(postRequestFromTask(task));
    return { proofs: proofs.map((p) => b64(p.proofBytes)) };
  },
};
