/**
 * SDR (stacked DRG) for PoRep, bit-exact with rust-fil-proofs: replica id, the parent graph, the parent cache
 * file and PC1 layer labeling.
 */
export { deriveDrgSeed, deriveFeistelKeys, type SdrBackend, SdrGraph } from './graph.js';
export {
  defaultLabelBudget,
  type LabelMemoryPlan,
  type LabelSectorOptions,
  type LabelSectorResult,
  labelChunkTs,
  labelKernel,
  labelLayerFileName,
  labelLayerPath,
  labelSector,
  planLabelMemory,
} from './labels.js';
export {
  type BatchSector,
  type BatchSectorResult,
  type LabelBatchOptions,
  type LabelBatchResult,
  labelSectorsBatch,
  MAX_BATCH_SECTORS,
} from './labels-batch.js';
export { type SdrNative, sdrNative } from './native.js';
export {
  digestParentCacheFile,
  ensureParentCache,
  expectedParentCacheDigest,
  PARENT_BYTES_PER_NODE,
  PARENT_CACHE_MANIFEST,
  PARENT_CACHE_VERSION,
  ParentCacheReader,
  type ParentCacheResult,
  parentCacheDir,
  parentCacheFileName,
  parentCacheId,
  parentChunks,
  writeParentCache,
} from './parent-cache.js';
export { labelSectorLayers, type SectorLabels, type SectorLabelsOptions } from './pc1.js';
export { generateReplicaId, proverIdFromActorId } from './replica-id.js';
