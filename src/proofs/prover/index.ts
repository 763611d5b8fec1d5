/**
 * The SNARK boundary: `SealProver` / `PoStProver` with the `vanilla` implementation (compact vanilla proof
 * bytes, verified in full) and the `external` one (damocles' processor protocol to a rust-fil-proofs
 * Groth16 prover).
 */
export {
  type ChainSealCheck,
  type ChainWindowPoStCheck,
  whySealProofFails,
  whyWindowPoStFails,
} from './check.js';
export {
  bytesFromOutput,
  ExternalPoStProver,
  type ExternalPoStTransports,
  ExternalSealProver,
  type ProcessorTransport,
} from './external.js';
export type {
  PoStProof,
  PoStProver,
  PoStRequest,
  ProverKind,
  SealCommitPhase2Request,
  SealProver,
  WindowPoStResult,
} from './types.js';
export {
  decodePoStProof,
  decodeSealProof,
  encodePoStProof,
  encodeSealProof,
  isVanillaPoStProof,
  isVanillaSealProof,
  type PoStVerifyInput,
  ProofRejected,
  type SealVerifyInput,
  VANILLA_PROOF_VERSION,
  VanillaPoStProver,
  VanillaSealProver,
  verifySealProof,
  verifySealProofOrThrow,
  verifyWindowPoStProof,
  verifyWindowPoStProofOrThrow,
  verifyWinningPoStProof,
  verifyWinningPoStProofOrThrow,
} from './vanilla.js';
