/**
 * What the poster checks before proving (and `util sealer proving check` shows): each sector's files located through
 * the sector index and checked (with StrictCheck: sizes and one vanilla proof), and the deadline arithmetic.
 */
import type { DeadlineInfo, TipSetKey } from '../../api/full.js';
import { type SectorID, sectorName } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { BitField, cidToCommR } from '../../fil/index.js';
import { type ChainAPI, minerAddr } from '../chain.js';
import type { ManagerStore } from '../db.js';
import type { MinerInfoCache } from '../miners.js';
import type { PoStSector, WindowPoStProver } from '../prover.js';
import { cacheDir, checkSectorFiles, type PersistStores, sealedPath } from '../stores.js';

const log = logger('poster');

/** What the checks read. */
export interface CheckDeps {
  chain: Pick<ChainAPI, 'StateMinerSectors' | 'StateMinerPartitions'>;
  store: Pick<ManagerStore, 'findSector'>;
  stores: Pick<PersistStores, 'get'>;
  prover: Pick<WindowPoStProver, 'checkSector'>;
  miners: Pick<MinerInfoCache, 'get'>;
}

/** The result of checking sectors' files: good sector numbers and why the others are not provable. */
export interface CheckResult {
  good: Set<number>;
  bad: Map<number, string>;
  infos: Map<number, PoStSector>;
}

/** Locates sectors' files through the sector index and checks them (StrictCheck: sizes and a vanilla proof). */
export async function checkSectors(
  o: CheckDeps,
  miner: number,
  numbers: number[],
  strict: boolean,
  tsk: TipSetKey = null,
): Promise<CheckResult> {
  const good = new Set<number>();
  const bad = new Map<number, string>();
  const infos = new Map<number, PoStSector>();
  if (numbers.length === 0) return { good, bad, infos };
  const facts = await o.miners.get(miner);
  const onChain = await o.chain.StateMinerSectors(minerAddr(miner), BitField.fromNumbers(numbers).toJSON(), tsk);
  const byNumber = new Map((onChain ?? []).map((s) => [s.SectorNumber, s]));
  for (const n of numbers) {
    const sid: SectorID = { Miner: miner, Number: n };
    const si = byNumber.get(n);
    if (!si) {
      bad.set(n, 'not found on chain');
      continue;
    }
    // an updated sector (SnapDeals) is proven over its new replica: the chain's SealedCID is comm_r_new
    const kind = si.SectorKeyCID ? 'upgrade' : 'normal';
    const at = o.store.findSector(kind, sid);
    const sealedStore = at && o.stores.get(at.SealedFile);
    const cacheStore = at && o.stores.get(at.CacheDir);
    if (!sealedStore || !cacheStore) {
      bad.set(
        n,
        at
          ? `persist store "${at.SealedFile}" not configured`
          : `not found in the sector index${kind === 'upgrade' ? ' (updated replica)' : ''}`,
      );
      continue;
    }
    const info: PoStSector = {
      sectorNumber: n,
      sealProof: si.SealProof,
      commR: cidToCommR(si.SealedCID),
      sealedPath: sealedPath(sealedStore.path, sid, kind),
      cacheDir: cacheDir(cacheStore.path, sid, kind),
    };
    infos.set(n, info);
    const why = await checkSectorFiles(sealedStore.path, cacheStore.path, sid, facts.sectorSize, strict, kind);
    if (why) {
      bad.set(n, why);
      continue;
    }
    if (strict) {
      const v = await o.prover.checkSector(info, miner, facts.windowPoStProof);
      if (v) {
        bad.set(n, v);
        continue;
      }
    }
    good.add(n);
  }
  for (const [n, why] of bad) log.warn({ sector: sectorName({ Miner: miner, Number: n }), why }, 'sector not provable');
  return { good, bad, infos };
}

/** `util sealer proving check`: the check a deadline's sectors get before proving. */
export async function checkDeadline(
  o: CheckDeps,
  miner: number,
  deadline: number,
  strict: boolean,
): Promise<{ partition: number; sector: number; error: string | null }[]> {
  const parts = (await o.chain.StateMinerPartitions(minerAddr(miner), deadline, null)) ?? [];
  const out: { partition: number; sector: number; error: string | null }[] = [];
  for (let i = 0; i < parts.length; i++) {
    const all = BitField.fromJSON(parts[i]!.AllSectors).toArray();
    const res = await checkSectors(o, miner, all, strict);
    for (const n of all)
      out.push({ partition: i, sector: n, error: res.good.has(n) ? null : (res.bad.get(n) ?? 'unknown') });
  }
  return out;
}

/** The deadline after `dl` (rolling over into the next proving period). */
export function nextDeadline(dl: DeadlineInfo): DeadlineInfo {
  const w = dl.WPoStChallengeWindow;
  let index = dl.Index + 1;
  let periodStart = dl.PeriodStart;
  if (index === dl.WPoStPeriodDeadlines) {
    index = 0;
    periodStart += dl.WPoStProvingPeriod;
  }
  const open = periodStart + index * w;
  return {
    ...dl,
    PeriodStart: periodStart,
    Index: index,
    Open: open,
    Close: open + w,
    Challenge: open - dl.WPoStChallengeLookback,
    FaultCutoff: open - dl.FaultDeclarationCutoff,
  };
}
