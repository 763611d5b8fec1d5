/**
 * Window and Winning PoSt (storage-proofs-post fallback): challenges, vanilla proofs from the persisted
 * sector files with faulty-sector detection, the verifier, rust's JSON.
 */
export {
  challengeIndex,
  checkSafeCommitment,
  leafChallenge,
  postLeafChallenges,
  postRandomness,
  sectorChallenge,
  winningPostSectorChallenge,
} from './challenges.js';
export {
  type FallbackPoStSectorProof,
  fallbackSectorProofFromJson,
  fallbackSectorProofToJson,
  type GeneratePoStOptions,
  generateSingleVanillaProof,
  generateWindowPoStVanilla,
  generateWinningPoStVanilla,
  type PoStProofRef,
  type PoStPublicInputs,
  type PoStPublicSector,
  type PoStReplica,
  type PoStSectorProof,
  type PoStVanillaResult,
  PoStVerifyError,
  partitionVanillaProofs,
  postCacheFiles,
  postProofInfo,
  postSealConfig,
  verifyPoStVanilla,
  verifyPoStVanillaOrThrow,
  windowPoStPartitions,
} from './vanilla.js';
