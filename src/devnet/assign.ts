/**
 * Which deadline a newly proven sector goes to: builtin-actors miner deadline_assignment.rs, same ordering
 * rules, so a client that mirrors them predicts the same deadlines.
 */

export interface DeadlineLoad {
  index: number;
  liveSectors: number;
  totalSectors: number;
}

const divUp = (a: number, b: number) => Math.floor(a / b) + (a % b === 0 ? 0 : 1);

/**
 * Negative when `a` is the better deadline for the next sector:
 * 1. fewest partitions after compaction, 2. fewest partitions before compaction, 3. an open (non-full)
 * partition, the fuller one first, 4. fewest live sectors, 5. lowest index.
 */
export function compareDeadlines(a: DeadlineLoad, b: DeadlineLoad, partitionSize: number): number {
  const c1 = divUp(a.liveSectors + 1, partitionSize) - divUp(b.liveSectors + 1, partitionSize);
  if (c1 !== 0) return c1;
  const c2 = divUp(a.totalSectors + 1, partitionSize) - divUp(b.totalSectors + 1, partitionSize);
  if (c2 !== 0) return c2;
  const aFull = a.totalSectors % partitionSize === 0;
  const bFull = b.totalSectors % partitionSize === 0;
  // false < true: a deadline with an open partition wins
  if (aFull !== bFull) return aFull ? 1 : -1;
  if (!aFull && !bFull && a.totalSectors !== b.totalSectors) return b.totalSectors - a.totalSectors;
  if (a.liveSectors !== b.liveSectors) return a.liveSectors - b.liveSectors;
  return a.index - b.index;
}

/**
 * Assigns `sectors` (sorted by number by the caller) to the given mutable deadlines. Returns, per deadline
 * index, the sectors it receives. Throws when every deadline is at `maxPartitions`.
 */
export function assignDeadlines<T>(
  maxPartitions: number,
  partitionSize: number,
  deadlines: DeadlineLoad[],
  sectors: T[],
  deadlineCount: number,
): T[][] {
  if (deadlines.length === 0) throw new Error('no mutable deadlines to assign sectors to');
  const loads = deadlines.map((d) => ({ ...d }));
  const changes: T[][] = Array.from({ length: deadlineCount }, () => []);
  for (const sector of sectors) {
    let best = loads[0]!;
    for (let i = 1; i < loads.length; i++) {
      if (compareDeadlines(loads[i]!, best, partitionSize) < 0) best = loads[i]!;
    }
    if (best.totalSectors >= partitionSize * maxPartitions) {
      throw new Error(`max partitions limit ${maxPartitions} reached for all deadlines`);
    }
    changes[best.index]!.push(sector);
    best.liveSectors++;
    best.totalSectors++;
  }
  return changes;
}
