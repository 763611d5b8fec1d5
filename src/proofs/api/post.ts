/**
 * Window and Winning PoSt, one function per step, named as rust-fil-proofs' `filecoin-proofs/src/api/
 * window_post.rs` and `winning_post.rs` name them. The proof bytes come from a `PoStProver` (vanilla by default:
 * the bytes the embedded devnet verifies; external: a rust/GPU SNARK prover).
 */
import type { PoStProof, PoStProver, PoStRequest, WindowPoStResult } from '../prover/types.js';
import {
  type PoStVerifyInput,
  VanillaPoStProver,
  verifyWindowPoStProofOrThrow,
  verifyWinningPoStProofOrThrow,
} from '../prover/vanilla.js';

/** rust `generate_window_post`: proofs of the sectors that can be proved, and the faulty ones. */
export function generateWindowPoSt(
  req: PoStRequest,
  prover?: PoStProver,
  signal?: AbortSignal,
): Promise<WindowPoStResult> {
  return (prover ?? new VanillaPoStProver()).generateWindowPoSt(req, signal);
}

/** rust `verify_window_post`; throws with the reason when refused. */
export function verifyWindowPoSt(i: PoStVerifyInput): void {
  verifyWindowPoStProofOrThrow(i);
}

/** rust `generate_winning_post` over the challenged sector(s). */
export function generateWinningPoSt(req: PoStRequest, prover?: PoStProver, signal?: AbortSignal): Promise<PoStProof[]> {
  return (prover ?? new VanillaPoStProver()).generateWinningPoSt(req, signal);
}

/** rust `verify_winning_post`; throws with the reason when refused. */
export function verifyWinningPoSt(i: PoStVerifyInput): void {
  verifyWinningPoStProofOrThrow(i);
}
