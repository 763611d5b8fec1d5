/**
 * The proofs API by pipeline step (rust-fil-proofs `filecoin-proofs/src/api`): what services call to seal,
 * finalize, unseal and prove. Each step's details live in the module it wraps.
 */

export { generateWindowPoSt, generateWinningPoSt, verifyWindowPoSt, verifyWinningPoSt } from './post.js';
export {
  addPiece,
  clearCache,
  clearSyntheticPoRepProofs,
  generateTreeD,
  type SealCommitPhase2Options,
  type SealPreCommitPhase1Options,
  type SealPreCommitPhase1Output,
  sealCommitPhase1,
  sealCommitPhase2,
  sealPreCommitPhase1,
  sealPreCommitPhase2,
  unseal,
  verifySeal,
} from './seal.js';
export {
  decodeFrom,
  encodeInto,
  type GenerateUpdateProofOptions,
  generateUpdateProof,
  generateUpdateVanillaProofs,
  removeData,
  verifyUpdateProof,
  verifyUpdateVanillaProofs,
} from './update.js';
