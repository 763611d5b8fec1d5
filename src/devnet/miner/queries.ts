/** Queries used by the state API. Part of the devnet miner actor (../miner.ts). */
import { has, type NumSet, union } from '../sets.js';
import { activeSectors, liveSectors } from './state.js';
import type { MinerState } from './types.js';

// queries used by the state API

/** Deadline and partition holding a sector (StateSectorPartition). */
export function findSector(st: MinerState, n: number): { deadline: number; partition: number } | undefined {
  for (let d = 0; d < st.deadlines.length; d++) {
    const parts = st.deadlines[d]!.partitions;
    for (let i = 0; i < parts.length; i++) if (has(parts[i]!.sectors, n)) return { deadline: d, partition: i };
  }
  return undefined;
}

/** Sectors that are live, not faulty and proven (StateMinerActiveSectors). */
export function activeSectorNumbers(st: MinerState): NumSet {
  return union(...st.deadlines.flatMap((d) => d.partitions.map(activeSectors)), []);
}

export function minerTotals(st: MinerState): {
  live: number;
  active: number;
  faulty: number;
  recovering: number;
  unproven: number;
  precommitted: number;
} {
  let live = 0;
  let active = 0;
  let faulty = 0;
  let recovering = 0;
  let unproven = 0;
  for (const d of st.deadlines) {
    for (const part of d.partitions) {
      live += liveSectors(part).length;
      active += activeSectors(part).length;
      faulty += part.faults.length;
      recovering += part.recoveries.length;
      unproven += part.unproven.length;
    }
  }
  return { live, active, faulty, recovering, unproven, precommitted: Object.keys(st.preCommittedSectors).length };
}
