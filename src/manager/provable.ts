/**
 * CheckProvable as a bounded job (docs/security.md): the list is checked and deduplicated, one check runs at a time,
 * sectors are checked a few at a time with the event loop free in between (Window PoSt runs on the same loop),
 * and a time budget ends a check that would run on: the sectors it did not reach are reported as such, never
 * as provable.
 */
import { ErrorCode, RpcError } from '../rpc/index.js';
import { KeyedMutex } from './mutex.js';

/** Most sectors one CheckProvable call takes: a Window PoSt partition of 32 and 64 GiB sectors. */
export const MAX_CHECK_SECTORS = 2349;

export type CheckSectors = (miner: number, numbers: number[], strict: boolean) => Promise<Map<number, string>>;

export interface BoundedCheckOptions {
  /** sectors per step between yields (default 1 with strict, 64 without) */
  chunk?: (strict: boolean) => number;
  /** a whole call's time budget in ms (default 5 min) */
  budgetMs?: number;
}

function invalid(message: string): RpcError {
  return new RpcError(ErrorCode.InvalidParams, `CheckProvable: ${message}`);
}

/** The sector numbers of a CheckProvable list, checked and deduplicated (first occurrence order). */
export function provableNumbers(miner: unknown, sectors: unknown): number[] {
  if (!Number.isSafeInteger(miner) || (miner as number) <= 0) throw invalid('the miner must be a positive actor id');
  if (!Array.isArray(sectors)) throw invalid('sectors must be a list');
  if (sectors.length > MAX_CHECK_SECTORS)
    throw invalid(`at most ${MAX_CHECK_SECTORS} sectors per call (a partition), got ${sectors.length}`);
  const seen = new Set<number>();
  for (const [i, s] of sectors.entries()) {
    const n = (s as { SectorNumber?: unknown } | null)?.SectorNumber;
    if (!Number.isSafeInteger(n) || (n as number) < 0)
      throw invalid(`sectors[${i}].SectorNumber must be a non-negative integer`);
    seen.add(n as number);
  }
  return [...seen];
}

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/**
 * Wraps the poster's sector check: one call at a time, `chunk` sectors per step, the loop served between steps,
 * and sectors past the budget answered "not checked".
 */
export function boundedCheck(check: CheckSectors, opts: BoundedCheckOptions = {}) {
  const lock = new KeyedMutex();
  const chunkOf = opts.chunk ?? ((strict: boolean) => (strict ? 1 : 64));
  const budgetMs = opts.budgetMs ?? 5 * 60_000;
  return (miner: number, numbers: number[], strict: boolean): Promise<Record<string, string>> =>
    lock.run('check', async () => {
      const bad: Record<string, string> = {};
      const end = Date.now() + budgetMs;
      const step = Math.max(1, chunkOf(strict));
      for (let i = 0; i < numbers.length; i += step) {
        if (Date.now() > end) {
          for (const n of numbers.slice(i))
            bad[String(n)] = `not checked: the CheckProvable time budget (${Math.round(budgetMs / 1000)} s) ran out`;
          break;
        }
        for (const [n, why] of await check(miner, numbers.slice(i, i + step), strict)) bad[String(n)] = why;
        await yieldToLoop();
      }
      return bad;
    });
}
