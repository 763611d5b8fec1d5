/** One deadline's Window PoSt in progress: its runner, and the batches of partitions it proves and submits. */
import type { DeadlineInfo } from '../../api/full.js';

export interface BatchProof {
  partitions: { index: number; skipped: number[] }[];
  /** sectors in the partitions that were to be proven */
  sectorCount: number;
  proofBytes: Uint8Array;
  postProof: number;
}

export interface Batch {
  partitions: number[];
  proof?: BatchProof;
  /** message id of the last submission */
  msgId?: string;
  submittedAt?: number;
  landed?: boolean;
  attempts: number;
  /** the last failure ("reason: detail"), said again when the deadline closes without the proof */
  lastFailure?: string;
  /** the message was seen signed (FillMsg) */
  signed?: boolean;
}

/** A deadline being proven: started at Challenge + ChallengeConfidence, submitting from Open + SubmitConfidence. */
export class Runner {
  started = false;
  proving: Promise<void> | undefined;
  batches: Batch[] = [];
  aborted = false;
  submitting = false;
  submitted: Promise<void> | undefined;
  /** proving failed (reported) */
  provingFailed?: string;
  /** the closed deadline was reported already (before a push) */
  closedReported = false;

  constructor(
    readonly miner: number,
    readonly dl: DeadlineInfo,
  ) {}
}
