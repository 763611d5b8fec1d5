/** [Commitment.DefaultPolicy], [Commitment.Miners.<id>] (the same keys as overrides) and their Controls. */
import { z } from 'zod';
import { addressStr, durationStr, feeCap, minerEntry, nonNegFloat, nonNegInt } from './fields.js';
import type { ManagerConfig } from './schema.js';

export const POLICY_KEYS = {
  CommitBatchThreshold: () => nonNegInt(),
  CommitBatchMaxWait: () => durationStr(),
  CommitCheckInterval: () => durationStr(),
  EnableBatchProCommit: () => z.boolean(),
  PreCommitBatchThreshold: () => nonNegInt(),
  PreCommitBatchMaxWait: () => durationStr(),
  PreCommitCheckInterval: () => durationStr(),
  EnableBatchPreCommit: () => z.boolean(),
  PreCommitGasOverEstimation: () => nonNegFloat(),
  ProCommitGasOverEstimation: () => nonNegFloat(),
  BatchPreCommitGasOverEstimation: () => nonNegFloat(),
  BatchProCommitGasOverEstimation: () => nonNegFloat(),
  MaxPreCommitFeeCap: () => feeCap(),
  MaxProCommitFeeCap: () => feeCap(),
  MaxBatchPreCommitFeeCap: () => feeCap(),
  MaxBatchProCommitFeeCap: () => feeCap(),
  MsgConfidence: () => nonNegInt(),
} as const;

export const DEFAULT_POLICY = {
  CommitBatchThreshold: 0,
  CommitBatchMaxWait: '0s',
  CommitCheckInterval: '0s',
  EnableBatchProCommit: false,
  PreCommitBatchThreshold: 0,
  PreCommitBatchMaxWait: '0s',
  PreCommitCheckInterval: '0s',
  EnableBatchPreCommit: false,
  PreCommitGasOverEstimation: 0,
  ProCommitGasOverEstimation: 0,
  BatchPreCommitGasOverEstimation: 0,
  BatchProCommitGasOverEstimation: 0,
  MaxPreCommitFeeCap: '',
  MaxProCommitFeeCap: '',
  MaxBatchPreCommitFeeCap: '',
  MaxBatchProCommitFeeCap: '',
  MsgConfidence: 0,
} as const;

type PolicyKey = keyof typeof POLICY_KEYS;

export function policyShape<D extends boolean>(withDefaults: D) {
  const shape: Record<string, z.ZodType> = {};
  for (const k of Object.keys(POLICY_KEYS) as PolicyKey[]) {
    const t = POLICY_KEYS[k]();
    shape[k] = withDefaults ? (t as z.ZodType).default(DEFAULT_POLICY[k] as never) : (t as z.ZodType).optional();
  }
  return shape;
}

export interface CommitmentPolicy {
  CommitBatchThreshold: number;
  CommitBatchMaxWait: string;
  CommitCheckInterval: string;
  EnableBatchProCommit: boolean;
  PreCommitBatchThreshold: number;
  PreCommitBatchMaxWait: string;
  PreCommitCheckInterval: string;
  EnableBatchPreCommit: boolean;
  PreCommitGasOverEstimation: number;
  ProCommitGasOverEstimation: number;
  BatchPreCommitGasOverEstimation: number;
  BatchProCommitGasOverEstimation: number;
  MaxPreCommitFeeCap: string;
  MaxProCommitFeeCap: string;
  MaxBatchPreCommitFeeCap: string;
  MaxBatchProCommitFeeCap: string;
  MsgConfidence: number;
}

export const ControlsSchema = z.strictObject({
  PreCommit: addressStr().default(''),
  ProveCommit: addressStr().default(''),
});

export const CommitmentMinerSchema = z.strictObject({
  Controls: ControlsSchema.default({ PreCommit: '', ProveCommit: '' }),
  ...policyShape(false),
});

/** The commitment policy of a miner: DefaultPolicy overridden by `[Commitment.Miners.<id>]`. */
export function commitmentPolicy(cfg: ManagerConfig, miner: number): CommitmentPolicy {
  const over = minerEntry(cfg.Commitment.Miners, miner) ?? {};
  const out = { ...cfg.Commitment.DefaultPolicy } as Record<string, unknown>;
  for (const k of Object.keys(POLICY_KEYS)) {
    const v = (over as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  return out as unknown as CommitmentPolicy;
}

/** PreCommit / ProveCommit sender of a miner ("" when not configured: the caller falls back to the worker). */
export function commitmentControls(cfg: ManagerConfig, miner: number): { PreCommit: string; ProveCommit: string } {
  return minerEntry(cfg.Commitment.Miners, miner)?.Controls ?? { PreCommit: '', ProveCommit: '' };
}
