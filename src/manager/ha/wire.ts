/**
 * What each duty starts and stops in a running sector-manager (daemon.ts), so a standby manager serves the whole
 * worker API but acts on nothing only one manager may act on (docs/manager-ha.md):
 *
 *   post    the Window PoSt poster (with --poster): started on acquiring, stopped on release
 *   commit  the PreCommit / ProveCommit batchers and every message push: on acquiring, recorded messages are
 *           pushed under their ids and NeedSend sectors queued, then looked for every few seconds
 *   chain   market events, deal release retries, snapup submissions, unseal re-offers, pruning old rows
 */
import { logger } from '../../common/log.js';
import type { CommitmentManager } from '../commit/index.js';
import type { DealManager } from '../market/deals.js';
import type { MarketEvents } from '../market/events.js';
import type { Poster } from '../poster/index.js';
import type { SnapUpManager } from '../snapup/index.js';
import type { UnsealTasks } from '../unseal/tasks.js';
import type { Duties, Duty } from './duties.js';

const log = logger('ha');

/** The parts of a daemon the duties start and stop. */
export interface DutyParts {
  commit: CommitmentManager;
  /** with --poster */
  poster?: Poster;
  deals: DealManager;
  marketEvents: MarketEvents;
  unseal: UnsealTasks;
  snapup?: SnapUpManager;
  /** deletes old rows (hourly while `chain` is held) */
  prune: () => void;
  pruneEveryMs?: number;
}

/** The duties this manager may take: `post` only with --poster. */
export function dutiesFor(poster: boolean): Duty[] {
  return poster ? ['post', 'commit', 'chain'] : ['commit', 'chain'];
}

/** Registers each duty's start and stop; call before duties.start(). Parts start in standby. */
export async function wireDuties(duties: Duties, p: DutyParts): Promise<void> {
  // standby until the lease says otherwise: nothing below acts before its duty is acquired
  p.commit.deactivate();
  await p.deals.pause();
  await p.snapup?.pause();

  if (p.poster) {
    const poster = p.poster;
    duties.on('post', {
      acquire: async () => {
        await poster.start();
        log.info({ holder: duties.name }, 'window post started on this manager');
      },
      release: () => poster.stop(),
    });
  }
  duties.on('commit', {
    acquire: () => p.commit.activate(),
    release: () => p.commit.deactivate(),
  });
  let pruner: NodeJS.Timeout | undefined;
  duties.on('chain', {
    acquire: () => {
      p.deals.start();
      p.marketEvents.start();
      p.unseal.start();
      p.snapup?.start();
      p.prune();
      pruner = setInterval(p.prune, p.pruneEveryMs ?? 3600_000);
      pruner.unref();
    },
    release: async () => {
      if (pruner) clearInterval(pruner);
      pruner = undefined;
      p.marketEvents.stop();
      p.unseal.stop();
      await p.deals.pause();
      await p.snapup?.pause();
    },
  });
}
