/** Deadline and partition assignment of newly proven sectors. Part of the devnet miner actor (../miner.ts). */
import { assignDeadlines } from '../assign.js';
import { deadlineIsMutable } from '../dline.js';
import { illegalState } from '../exitcode.js';
import type { Policy } from '../policy.js';
import { addPower } from '../power.js';
import { intersect, setOf, union } from '../sets.js';
import { minerDeadlineInfo } from './construct.js';
import { emptyPartition, powerForSectorInfos } from './state.js';
import type { Deadline, MinerInfo, MinerState, SectorOnChainInfo } from './types.js';

export function assignSectorsToDeadlines(p: Policy, st: MinerState, epoch: number, sectors: SectorOnChainInfo[]): void {
  const sorted = sectors.slice().sort((a, b) => a.sectorNumber - b.sectorNumber);
  const periodStart = minerDeadlineInfo(p, st, epoch).periodStart;
  const loads = st.deadlines
    .map((d, index) => ({ index, liveSectors: d.liveSectors, totalSectors: d.totalSectors }))
    .filter((d) => deadlineIsMutable(p, periodStart, d.index, epoch));
  let perDeadline: SectorOnChainInfo[][];
  try {
    perDeadline = assignDeadlines(
      p.maxPartitionsPerDeadline,
      st.info.windowPoStPartitionSectors,
      loads,
      sorted,
      p.wpostPeriodDeadlines,
    );
  } catch (e) {
    throw illegalState(`failed to assign new sectors to deadlines: ${(e as Error).message}`);
  }
  perDeadline.forEach((list, idx) => {
    if (list.length) addSectorsToDeadline(st.deadlines[idx]!, st.info, list);
  });
}

/** deadline.add_sectors: fill the last partition, then open new ones; new sectors start unproven. */
function addSectorsToDeadline(dl: Deadline, info: MinerInfo, sectors: SectorOnChainInfo[]): void {
  const size = info.windowPoStPartitionSectors;
  dl.liveSectors += sectors.length;
  dl.totalSectors += sectors.length;
  let rest = sectors;
  let idx = Math.max(0, dl.partitions.length - 1);
  while (rest.length) {
    const part = (dl.partitions[idx] ??= emptyPartition());
    const room = size - part.sectors.length;
    if (room > 0) {
      const take = rest.slice(0, room);
      rest = rest.slice(room);
      const nums = setOf(take.map((s) => s.sectorNumber));
      if (intersect(part.sectors, nums).length) throw illegalState('not all added sectors are new');
      const power = powerForSectorInfos(info.sectorSize, take);
      part.sectors = union(part.sectors, nums);
      part.unproven = union(part.unproven, nums);
      part.livePower = addPower(part.livePower, power);
      part.unprovenPower = addPower(part.unprovenPower, power);
    }
    idx++;
  }
}
