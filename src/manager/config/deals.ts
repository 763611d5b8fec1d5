/** [DealManagerConfig]: the market's API and the local piece stores (docs/deals-manager.md §Configuration). */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import type { ManagerConfig } from './schema.js';

export const PieceStoreSchema = z.strictObject({
  Name: z.string().default(''),
  Path: z
    .string()
    .min(1, 'must be the piece store directory (an absolute path)')
    .refine((p) => isAbsolute(p), 'must be an absolute path'),
  Strict: z.boolean().default(false),
  ReadOnly: z.boolean().default(true),
});

export const DEFAULT_DEAL_MANAGER = { MarketAPI: { Api: '', Token: '' }, LocalPieceStores: [] };

/** Whether AcquireDeals asks the market for deals for `miner`'s sectors (its EnableDeals, and a market set). */
export function dealsEnabled(cfg: ManagerConfig, miner: number): boolean {
  if (cfg.DealManagerConfig.MarketAPI.Api.trim() === '') return false;
  return cfg.SectorManager.Miners.some((m) => m.ID === miner && m.EnableDeals && !m.Disabled);
}
