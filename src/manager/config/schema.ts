/**
 * The whole file's schema: [SectorManager], [Chain], [Messager], [PersistedStore], and the sections of
 * commitment.ts, post.ts and deals.ts.
 */
import { z } from 'zod';
import { DB_DEFAULT, DbConfigSchema } from '../config-db.js';
import { DEFAULT_HA, type HAConfig, HAConfigSchema } from '../config-ha.js';
import type { DbConfig } from '../sql/types.js';
import { CommitmentMinerSchema, type CommitmentPolicy, DEFAULT_POLICY, policyShape } from './commitment.js';
import { DEFAULT_DEAL_MANAGER, PieceStoreSchema } from './deals.js';
import { endpointStr, uint64 } from './fields.js';
import { DEFAULT_POST, PoStActorSchema, type PoStPolicy, postShape } from './post.js';

const MinerSchema = z.strictObject({
  ID: z.number().int('must be an integer').min(1, 'must be a miner actor id (t01033 → 1033)'),
  InitNumber: uint64().default(0),
  MaxNumber: uint64().optional(),
  Disabled: z.boolean().default(false),
  EnableDeals: z.boolean().default(false),
  EnableSnapUp: z.boolean().default(false),
  CleanupCCData: z.boolean().default(true),
});

const RpcClientSchema = z.strictObject({ Api: endpointStr().default(''), Token: z.string().default('') });

const StoreSchema = z.strictObject({
  Name: z.string().default(''),
  Path: z.string().min(1, 'must be the store directory (an absolute path)'),
  Strict: z.boolean().default(false),
  ReadOnly: z.boolean().default(false),
});

export const ManagerConfigSchema = z.strictObject({
  Common: z
    .strictObject({ DB: DbConfigSchema.default(DB_DEFAULT()), HA: HAConfigSchema })
    .default({ DB: DB_DEFAULT(), HA: { ...DEFAULT_HA } }),
  SectorManager: z
    .strictObject({
      PreFetch: z.boolean().default(true),
      Miners: z.array(MinerSchema).default([]),
    })
    .default({ PreFetch: true, Miners: [] }),
  Commitment: z
    .strictObject({
      DefaultPolicy: z.strictObject(policyShape(true)).default({ ...DEFAULT_POLICY }),
      Miners: z.record(z.string(), CommitmentMinerSchema).default({}),
    })
    .default({ DefaultPolicy: { ...DEFAULT_POLICY }, Miners: {} }),
  Chain: RpcClientSchema.default({ Api: '', Token: '' }),
  Messager: RpcClientSchema.default({ Api: '', Token: '' }),
  PersistedStore: z
    .strictObject({
      Includes: z.array(z.string()).default([]),
      Stores: z.array(StoreSchema).default([]),
    })
    .default({ Includes: [], Stores: [] }),
  PoSt: z
    .strictObject({
      Default: z.strictObject(postShape(true)).default({ ...DEFAULT_POST }),
      Actors: z.record(z.string(), PoStActorSchema).default({}),
    })
    .default({ Default: { ...DEFAULT_POST }, Actors: {} }),
  DealManagerConfig: z
    .strictObject({
      MarketAPI: RpcClientSchema.default({ Api: '', Token: '' }),
      LocalPieceStores: z.array(PieceStoreSchema).default([]),
    })
    .default({ ...DEFAULT_DEAL_MANAGER, MarketAPI: { ...DEFAULT_DEAL_MANAGER.MarketAPI }, LocalPieceStores: [] }),
});

export interface MinerConfig {
  ID: number;
  InitNumber: number;
  MaxNumber?: number;
  Disabled: boolean;
  /** AcquireDeals asks the market ([DealManagerConfig.MarketAPI]) for deals for this miner's sectors */
  EnableDeals: boolean;
  /** AllocateSanpUpSector hands this miner's CC candidates to snapup threads (damocles' [Miners.SnapUp] Enabled) */
  EnableSnapUp: boolean;
  /** the sector key (old CC replica) is deleted once the update is on chain and persisted (damocles' name) */
  CleanupCCData: boolean;
}

export interface StoreConfig {
  Name: string;
  Path: string;
  Strict: boolean;
  ReadOnly: boolean;
}

export interface ManagerConfig {
  Common: { DB: DbConfig; HA: HAConfig };
  SectorManager: { PreFetch: boolean; Miners: MinerConfig[] };
  Commitment: {
    DefaultPolicy: CommitmentPolicy;
    Miners: Record<string, { Controls: { PreCommit: string; ProveCommit: string } } & Partial<CommitmentPolicy>>;
  };
  Chain: { Api: string; Token: string };
  Messager: { Api: string; Token: string };
  PersistedStore: { Includes: string[]; Stores: StoreConfig[] };
  PoSt: { Default: PoStPolicy; Actors: Record<string, { Sender: string } & Partial<PoStPolicy>> };
  DealManagerConfig: { MarketAPI: { Api: string; Token: string }; LocalPieceStores: StoreConfig[] };
}
