/**
 * Merkle inclusion proofs in rust-fil-proofs' `MerkleProof` shape, read from a sector's tree files (TreeD,
 * TreeC, TreeR-last with its discarded rows rebuilt from the replica), verified, and in serde JSON.
 */
export {
  BINARY_SHAPE,
  computeRoot,
  type InclusionProof,
  inclusionFromJson,
  inclusionToJson,
  type PathElement,
  pathIndex,
  type TreeHash,
  type VerifyInclusionOptions,
  verifyInclusion,
} from './proof.js';
export { levelCacheReader, type TreeGeometry, TreeReader } from './trees.js';
