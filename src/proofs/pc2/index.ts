/**
 * PreCommit phase 2: TreeC, the replica encoding, TreeR-last, CommR, `p_aux` and `t_aux`, with the file
 * names and layouts rust-fil-proofs uses.
 */
export {
  decodePAux,
  decodeTAux,
  encodePAux,
  encodeTAux,
  P_AUX_FILE,
  type PersistentAux,
  readPAux,
  readTAux,
  type StoreConfig,
  T_AUX_FILE,
  type TemporaryAux,
  temporaryAuxFor,
  writePAux,
  writeTAux,
} from './aux.js';
export { type ChunkKind, hashSubtree } from './chunks.js';
export {
  DEFAULT_CHUNK_LEAVES,
  type Pc2Options,
  type Pc2Result,
  pc2,
  poseidonNodeHasher,
  resolvePoRep,
  treeCFileNames,
  treeRLastFileNames,
} from './pc2.js';
