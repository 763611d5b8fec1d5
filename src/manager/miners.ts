/**
 * Miner facts from the chain (StateMinerInfo), cached: the original pre-fetches them at start when
 * `[SectorManager] PreFetch` is set. Sector size, seal proof and Window PoSt proof never change for a
 * miner; the worker and control addresses can, so they are re-read after `ttlMs`.
 */
import type { MinerInfo } from '../api/full.js';
import { logger } from '../common/log.js';
import { POST_PROOFS, sealProofFor } from '../proofs/index.js';
import { type ChainAPI, minerAddr } from './chain.js';

const log = logger('miner');

export interface MinerFacts {
  id: number;
  sectorSize: number;
  /** the V1_1 seal proof of the sector size (what AllocateSector hands out) */
  sealProof: number;
  windowPoStProof: number;
  partitionSectors: number;
  worker: string;
  owner: string;
  controls: string[];
  info: MinerInfo;
}

export class MinerInfoCache {
  private readonly cache = new Map<number, { at: number; facts: MinerFacts }>();

  constructor(
    private readonly chain: Pick<ChainAPI, 'StateMinerInfo'>,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  async get(id: number): Promise<MinerFacts> {
    const hit = this.cache.get(id);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.facts;
    const info = await this.chain.StateMinerInfo(minerAddr(id), null);
    const post = POST_PROOFS[info.WindowPoStProofType];
    const facts: MinerFacts = {
      id,
      sectorSize: info.SectorSize,
      sealProof: sealProofFor(info.SectorSize, 'V1_1').id,
      windowPoStProof: post ? post.id : info.WindowPoStProofType,
      partitionSectors: info.WindowPoStPartitionSectors,
      worker: info.Worker,
      owner: info.Owner,
      controls: info.ControlAddresses ?? [],
      info,
    };
    this.cache.set(id, { at: Date.now(), facts });
    return facts;
  }

  /** `PreFetch`: read every configured miner once at start, logging the ones the chain does not know. */
  async prefetch(ids: number[]): Promise<void> {
    for (const id of ids) {
      try {
        await this.get(id);
        log.info({ miner: String(id) }, 'miner info pre-fetched');
      } catch (err) {
        log.warn({ miner: String(id), err: (err as Error).message }, 'miner info pre-fetch failed');
      }
    }
  }
}
