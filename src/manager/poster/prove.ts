/**
 * Proving a deadline's partitions (docs/spec/sealer-api.md §Window PoSt): which partitions the chain has a PoSt
 * for already in this window, and one batch's proof — (Live − Faulty) ∪ Recovering minus the sectors whose
 * files fail the check, retried without the sectors the prover finds faulty, verified before it is kept.
 */
import type { Partition, TipSetKey } from '../../api/full.js';
import { logger } from '../../common/log.js';
import { BitField } from '../../fil/index.js';
import { drawWindowPoStChallenge, minerAddr } from '../chain.js';
import { postPolicy } from '../config.js';
import type { PoStSector } from '../prover.js';
import { checkSectors } from './check.js';
import type { Batch, Runner } from './deadline.js';
import type { PosterOptions } from './options.js';

const log = logger('poster');

/** Partition indexes of the runner's deadline with a PoSt on chain in the current challenge window. */
export async function postedPartitions(o: PosterOptions, r: Runner, tsk: TipSetKey): Promise<Set<number>> {
  // PostSubmissions is cleared when a deadline's window closes: before Open it says nothing about this window
  const dls = await o.chain.StateMinerDeadlines(minerAddr(r.miner), tsk);
  const d = dls[r.dl.Index];
  return new Set(d ? BitField.fromJSON(d.PostSubmissions).toArray() : []);
}

/** Logs and reports (as a successful PoSt) partitions proven on chain by an earlier run. */
export function alreadyProven(o: PosterOptions, r: Runner, parts: Partition[], posted: Set<number>): void {
  let proven = 0;
  let faulty = 0;
  for (const k of posted) {
    const p = parts[k];
    if (!p) continue;
    const f = BitField.fromJSON(p.FaultySectors).toArray().length;
    faulty += f;
    proven += BitField.fromJSON(p.LiveSectors).toArray().length - f;
  }
  log.info(
    { miner: String(r.miner), deadline: r.dl.Index, open: r.dl.Open, partitions: [...posted].sort((a, b) => a - b) },
    'partitions already proven on chain in this window (before a restart?); not proving them again',
  );
  try {
    o.onPoSt?.({ miner: minerAddr(r.miner), deadline: r.dl.Index, ok: true, epoch: r.dl.Open, proven, faulty });
  } catch {
    // metrics never break proving
  }
}

export async function proveBatch(
  o: PosterOptions,
  r: Runner,
  b: Batch,
  parts: Partition[],
  tsk: TipSetKey,
): Promise<void> {
  const strict = postPolicy(o.config(), r.miner).StrictCheck;
  const facts = await o.miners.get(r.miner);
  const rand = await drawWindowPoStChallenge(o.chain, tsk, r.dl.Challenge, r.miner);
  const postSkipped = new Set<number>();
  for (let attempt = 0; attempt < 5 && !r.aborted; attempt++) {
    const partitions: { index: number; skipped: number[] }[] = [];
    const challenged: PoStSector[] = [];
    let anyGood = false;
    let toProveCount = 0;
    for (let k = 0; k < parts.length; k++) {
      const p = parts[k]!;
      const live = BitField.fromJSON(p.LiveSectors).toArray();
      const faulty = new Set(BitField.fromJSON(p.FaultySectors).toArray());
      const recovering = BitField.fromJSON(p.RecoveringSectors).toArray();
      const toProve = [...new Set([...live.filter((n) => !faulty.has(n)), ...recovering])].sort((x, y) => x - y);
      toProveCount += toProve.length;
      const check = await checkSectors(o, r.miner, toProve, strict, tsk);
      const good = toProve.filter((n) => check.good.has(n) && !postSkipped.has(n));
      const skipped = toProve.filter((n) => !good.includes(n));
      partitions.push({ index: b.partitions[k]!, skipped });
      if (good.length === 0) continue;
      anyGood = true;
      // every sector of the partition is challenged; the non-good ones are replaced by the first good one
      const first = check.infos.get(good[0]!)!;
      for (const n of BitField.fromJSON(p.AllSectors).toArray()) {
        const info = good.includes(n) ? check.infos.get(n)! : first;
        challenged.push(info);
      }
    }
    if (!anyGood) {
      log.warn(
        { miner: String(r.miner), deadline: r.dl.Index, partitions: b.partitions },
        'no provable sector in batch; not submitting',
      );
      b.landed = true;
      return;
    }
    const input = { minerId: r.miner, postProof: facts.windowPoStProof, randomness: rand, sectors: challenged };
    const out = await o.prover.generateWindowPoSt(input);
    if (out.faults.length > 0) {
      log.warn(
        { miner: String(r.miner), deadline: r.dl.Index, faults: out.faults },
        'prover reported faulty sectors; retrying without them',
      );
      for (const f of out.faults) postSkipped.add(f);
      continue;
    }
    if (!(await o.prover.verifyWindowPoSt(input, out.proofBytes))) {
      log.error({ miner: String(r.miner), deadline: r.dl.Index }, 'generated window post does not verify; retrying');
      continue;
    }
    b.proof = { partitions, proofBytes: out.proofBytes, postProof: facts.windowPoStProof, sectorCount: toProveCount };
    log.info(
      {
        miner: String(r.miner),
        deadline: r.dl.Index,
        partitions: b.partitions,
        sectors: challenged.length,
        skipped: partitions.flatMap((p) => p.skipped),
      },
      'window post generated',
    );
    return;
  }
}
