/**
 * The PC1 sequence, written once: replica id → parent cache → SDR layer labels. Sealing (PC1), unsealing (the
 * key layer regenerated) and the test fixtures all run it through here.
 */
import type { PoRepConfig } from '../registry.js';
import { SdrGraph } from './graph.js';
import { type LabelSectorOptions, type LabelSectorResult, labelSector } from './labels.js';
import { ensureParentCache } from './parent-cache.js';
import { generateReplicaId } from './replica-id.js';

export interface SectorLabelsOptions
  extends Pick<LabelSectorOptions, 'backend' | 'memoryBudget' | 'windowNodes' | 'chunkNodes' | 'onProgress'> {
  proof: PoRepConfig;
  /** Where the layer files go. */
  cacheDir: string;
  proverId: Uint8Array;
  sectorId: bigint | number;
  ticket: Uint8Array;
  commD: Uint8Array;
  /** Parent cache directory (default: FIL_PROOFS_PARENT_CACHE or /var/tmp/filecoin-parents). */
  parentCacheDir?: string;
  /** Keep complete layer files from an earlier run (crash resume). Default false. */
  resume?: boolean;
}

export interface SectorLabels extends LabelSectorResult {
  replicaId: Uint8Array;
}

/** rust `seal_pre_commit_phase1` minus CommD: the replica id, then every layer's labels into `cacheDir`. */
export async function labelSectorLayers(o: SectorLabelsOptions): Promise<SectorLabels> {
  const cfg = o.proof;
  const replicaId = generateReplicaId(o.proverId, o.sectorId, o.ticket, o.commD, cfg.porepId);
  const graph = SdrGraph.forConfig(cfg);
  const parentCachePath = await ensureParentCache(graph, { dir: o.parentCacheDir });
  const r = await labelSector({
    graph,
    replicaId,
    layers: cfg.layers,
    cacheDir: o.cacheDir,
    parentCachePath,
    resume: o.resume ?? false,
    backend: o.backend,
    memoryBudget: o.memoryBudget,
    windowNodes: o.windowNodes,
    chunkNodes: o.chunkNodes,
    onProgress: o.onProgress,
  });
  return { ...r, replicaId };
}
