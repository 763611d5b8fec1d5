/**
 * PoRep after PC2 (storage-proofs-porep / filecoin-proofs): challenges, C1 vanilla proofs and their
 * `SealCommitPhase1Output` JSON, the vanilla verifier, synthetic proofs, finalize (clear cache) and unseal.
 */
export {
  c1OutputFromJson,
  c1OutputToJson,
  challengeProofFromJson,
  challengeProofToJson,
  decodeC1Output,
  encodeC1Output,
  type GenerateSynthProofsOptions,
  generateSynthProofs,
  type SealCommitPhase1Options,
  type SealCommitPhase1Output,
  sealCommitPhase1,
  vanillaSealProofVariant,
  verifyC1Output,
} from './c1.js';
export {
  allPorepChallenges,
  type ChallengeInputs,
  interactiveChallenges,
  nonInteractiveChallenges,
  porepChallenges,
  SyntheticChallenges,
} from './challenges.js';
export { clearCache, clearSyntheticProofs, isClearedByFinalize } from './finalize.js';
export { PorepProver, type SealedSectorFiles, treeRLastRowsToDiscard } from './prove.js';
export { readSynthProofs, recordSize, SYNTH_PROOFS_FILE } from './records.js';
export { type UnsealOptions, type UnsealResult, unsealRange } from './unseal.js';
export {
  type Column,
  type ColumnProof,
  type EncodingProof,
  type LabelingProof,
  labelFromParents,
  type PorepChallengeProof,
  type ReplicaColumnProof,
} from './vanilla.js';
export {
  type PorepPublicInputs,
  PorepVerifyError,
  verifyChallengeProof,
  verifyPorepProofs,
  verifyPorepProofsOrThrow,
} from './verify.js';
