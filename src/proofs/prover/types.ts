/**
 * The SNARK boundary: what the sealing and PoSt code asks of a prover, whatever produces the bytes.
 *
 * - `vanilla` (default, what the embedded devnet verifies): the proof bytes are a compact, versioned
 *   serialisation of the vanilla proofs (vanilla.ts), checked in full by `verifySealProof` /
 *   `verifyWindowPoStProof` / `verifyWinningPoStProof`.
 * - `external`: damocles' external processor protocol for the `c2`, `window_post` and `winning_post` stages
 *   (external.ts), so a Groth16 prover built on rust-fil-proofs (GPU C2 boxes, PoSt workers) produces the
 *   192-byte-per-partition SNARKs mainnet and calibnet verify.
 */
import type { SealCommitPhase1Output } from '../porep/c1.js';
import type { PoStProofRef, PoStReplica } from '../post/vanilla.js';

export type ProverKind = 'vanilla' | 'external';

/** C2's input: the C1 output and who proves (damocles `C2` task). */
export interface SealCommitPhase2Request {
  c1: SealCommitPhase1Output;
  minerId: bigint;
  sectorId: bigint;
}

export interface SealProver {
  readonly kind: ProverKind;
  /** C2: the seal proof bytes ProveCommit carries. */
  sealCommitPhase2(req: SealCommitPhase2Request, signal?: AbortSignal): Promise<Uint8Array>;
}

/** Lotus `proof.PoStProof`. */
export interface PoStProof {
  /** Registered PoSt proof id. */
  postProof: number;
  proofBytes: Uint8Array;
}

/** A Window or Winning PoSt to prove (damocles `WindowPoSt` / `WinningPoSt` tasks). */
export interface PoStRequest {
  proof: PoStProofRef;
  minerId: bigint;
  /** Chain randomness; its top two bits are cleared before use, as Lotus does. */
  randomness: Uint8Array;
  replicas: readonly PoStReplica[];
}

export interface WindowPoStResult {
  /** Proofs of the sectors that are not faulty (empty when every sector is). */
  proofs: PoStProof[];
  /** Sectors that could not be proved, ascending: declare them faulty (or skip them). */
  faults: bigint[];
}

export interface PoStProver {
  readonly kind: ProverKind;
  generateWindowPoSt(req: PoStRequest, signal?: AbortSignal): Promise<WindowPoStResult>;
  /** The replicas are the sectors `winningPostSectorChallenge` selected (one). */
  generateWinningPoSt(req: PoStRequest, signal?: AbortSignal): Promise<PoStProof[]>;
}
