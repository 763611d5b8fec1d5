/**
 * SnapDeals ("empty sector update", rust-fil-proofs `storage-proofs-update`): encoding new data into a
 * committed-capacity replica, decoding it back, removing it, the vanilla partition proofs and their bytes.
 * docs/spec/snap.md has the rules byte for byte.
 */
export {
  compactUpdateProofSize,
  decodeUpdateProof,
  encodeUpdateProof,
  isVanillaUpdateProof,
  partitionProofFromBincode,
  partitionProofToBincode,
  UPDATE_PROOF_VERSION,
  UpdateProofRejected,
} from './bytes.js';
export {
  UPDATE_PROOFS,
  type UpdateParams,
  type UpdateProofInfo,
  updateApexLeafCount,
  updateChallengeCount,
  updateHDefault,
  updateHs,
  updateParams,
  updateParamsForNodes,
  updatePartitionCount,
  updateProof,
  updateProofForSealProof,
  updateProofForSectorSize,
} from './constants.js';
export {
  type DecodeSectorOptions,
  decodeSector,
  type EncodeSectorOptions,
  type EncodeSectorResult,
  encodeSector,
  type RemoveSectorDataOptions,
  removeSectorData,
} from './encode.js';
export {
  ExternalUpdateProver,
  SNAP_PROVE_STAGE,
  type SnapProveRequest,
  snapProveTask,
  type UpdateProver,
  VanillaUpdateProver,
} from './prover.js';
export { GEN_RANDOMNESS_DOMAIN_TAG, Rhos, updateChallenges, updatePhi, updateRho } from './randomness.js';
export { type UnsealUpdatedOptions, unsealUpdatedRange } from './unseal.js';
export {
  proveUpdatePartitions,
  type UpdateChallengeProof,
  type UpdatePartitionProof,
  type UpdateProveOptions,
  type UpdatePublicInputs,
  whyUpdatePartitionFails,
  whyUpdateProofsFail,
} from './vanilla.js';
export { type UpdateVerifyInput, verifyUpdateVanilla, whyUpdateProofFails } from './verify.js';
