/** [PoSt.Default] and [PoSt.Actors.<id>] (Sender and the same keys as overrides). */
import { z } from 'zod';
import { addressStr, durationStr, feeCap, minerEntry, nonNegFloat, nonNegInt, normalizeMinerKey } from './fields.js';
import type { ManagerConfig } from './schema.js';

export const POST_KEYS = {
  StrictCheck: () => z.boolean(),
  GasOverEstimation: () => nonNegFloat(),
  MaxFeeCap: () => feeCap(),
  MsgCheckInteval: () => durationStr(),
  MsgConfidence: () => nonNegInt(),
} as const;
export const DEFAULT_POST = {
  StrictCheck: false,
  GasOverEstimation: 0,
  MaxFeeCap: '',
  MsgCheckInteval: '1m0s',
  MsgConfidence: 5,
} as const;

export interface PoStPolicy {
  StrictCheck: boolean;
  GasOverEstimation: number;
  MaxFeeCap: string;
  /** (sic) the original's spelling */
  MsgCheckInteval: string;
  MsgConfidence: number;
}

export function postShape(withDefaults: boolean) {
  const shape: Record<string, z.ZodType> = {};
  for (const k of Object.keys(POST_KEYS) as (keyof typeof POST_KEYS)[]) {
    const t = POST_KEYS[k]() as z.ZodType;
    shape[k] = withDefaults ? t.default(DEFAULT_POST[k] as never) : t.optional();
  }
  return shape;
}

export const PoStActorSchema = z.strictObject({ Sender: addressStr().default(''), ...postShape(false) });

/** The PoSt policy of a miner: Default overridden by `[PoSt.Actors.<id>]`, plus its Sender. */
export function postPolicy(cfg: ManagerConfig, miner: number): PoStPolicy & { Sender: string } {
  const over = minerEntry(cfg.PoSt.Actors, miner);
  const out = { ...cfg.PoSt.Default, Sender: over?.Sender ?? '' } as Record<string, unknown>;
  for (const k of Object.keys(POST_KEYS)) {
    const v = (over as Record<string, unknown> | undefined)?.[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as PoStPolicy & { Sender: string };
}

/** Miners with a `[PoSt.Actors.<id>]` section or a `[[SectorManager.Miners]]` entry: those the poster proves. */
export function postMiners(cfg: ManagerConfig): number[] {
  const ids = new Set<number>(cfg.SectorManager.Miners.map((m) => m.ID));
  for (const k of Object.keys(cfg.PoSt.Actors)) {
    const id = normalizeMinerKey(k);
    if (id !== undefined) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}
