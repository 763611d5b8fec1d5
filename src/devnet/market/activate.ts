/**
 * Market actor (f05) deal activation and cron, following builtin-actors actors/market/src/lib.rs
 * (sector_content_changed, cron_tick) and state.rs (process_deal_init_timed_out).
 */
import { logger } from '../../common/log.js';
import { decodeDealIdPayload, EPOCH_UNDEFINED, type SectorChanges } from '../../fil/index.js';
import { illegalState } from '../exitcode.js';
import { BURNT_FUNDS_ACTOR, MARKET_ACTOR, type StateTree } from '../state.js';
import { dealStorageFee, type MarketState, marketState, marketStateMut, slashBalance, unlockBalance } from './state.js';

const log = logger('devnet.market');

export interface PieceVerdict {
  accepted: boolean;
  /** Why a piece was not accepted. */
  reason?: string;
}

/**
 * SectorContentChanged from miner `minerId`: each piece's payload names a deal (CBOR deal ID) that must be this
 * provider's, not yet activated, still pending, not past its start, ending before the sector does, and for exactly
 * this piece CID and size. Accepted deals get their state (sector, start epoch) and lose the pending allocation ID.
 */
export function sectorContentChanged(
  tree: StateTree,
  epoch: number,
  minerId: number,
  sectors: SectorChanges[],
): PieceVerdict[][] {
  const st = marketStateMut(tree);
  const activated = new Set<number>();
  return sectors.map((sector) =>
    sector.added.map((piece): PieceVerdict => {
      let dealId: number;
      try {
        dealId = decodeDealIdPayload(piece.payload);
      } catch (e) {
        return reject(`failed to deserialize deal id: ${(e as Error).message}`);
      }
      if (activated.has(dealId)) return reject(`duplicated deal ${dealId}`);
      const why = activationProblem(st, dealId, minerId, sector.minimumCommitmentEpoch, epoch);
      if (why) return reject(why);
      const d = st.proposals[dealId]!;
      if (piece.data.toString() !== d.pieceCid) {
        return reject(`deal ${dealId} piece CID ${piece.data.toString()} doesn't match ${d.pieceCid}`);
      }
      if (piece.size !== d.pieceSize)
        return reject(`deal ${dealId} piece size ${piece.size} doesn't match ${d.pieceSize}`);
      activated.add(dealId);
      delete st.pendingDealAllocationIds[dealId];
      st.states[dealId] = {
        sectorNumber: sector.sector,
        sectorStartEpoch: epoch,
        lastUpdatedEpoch: EPOCH_UNDEFINED,
        slashEpoch: EPOCH_UNDEFINED,
      };
      const bySector = (st.sectorDeals[minerId] ??= {});
      (bySector[sector.sector] ??= []).push(dealId);
      log.info({ deal: dealId, provider: minerId, sector: sector.sector, epoch }, 'deal activated');
      return { accepted: true };

      function reject(reason: string): PieceVerdict {
        log.warn({ provider: minerId, sector: sector.sector, reason }, 'deal activation refused');
        return { accepted: false, reason };
      }
    }),
  );
}

/** preactivate_deal + validate_deal_can_activate. */
function activationProblem(
  st: Readonly<MarketState>,
  dealId: number,
  minerId: number,
  sectorExpiry: number,
  epoch: number,
): string | null {
  const d = st.proposals[dealId];
  if (!d) return dealId < st.nextDealId ? `deal ${dealId} expired or was removed` : `no such deal ${dealId}`;
  if (d.provider !== minerId) return `deal ${dealId} has provider f0${d.provider}, must be f0${minerId}`;
  if (epoch > d.startEpoch) return `deal ${dealId} start epoch ${d.startEpoch} has already elapsed at ${epoch}`;
  if (d.endEpoch > sectorExpiry)
    return `deal ${dealId} ends at ${d.endEpoch}, after the sector expires at ${sectorExpiry}`;
  if (st.states[dealId]) return `deal ${dealId} already activated`;
  if (st.pendingProposals[d.proposalCid] === undefined) return `deal ${dealId} is not in the pending set`;
  return null;
}

/**
 * CronTick (9) at the end of each epoch: deals due now that were never activated are timed out (client funds
 * unlocked, the provider's collateral slashed and burnt, proposal and pending allocation ID removed); activated
 * deals leave the pending set.
 */
export function marketCronTick(tree: StateTree, epoch: number): void {
  const view = marketState(tree);
  const due = Object.keys(view.dealOpsByEpoch)
    .map(Number)
    .filter((e) => e <= epoch)
    .sort((a, b) => a - b);
  // nothing due: leave f05 untouched (an unchanged actor is not rewritten each epoch)
  if (due.length === 0) return;
  const st = marketStateMut(tree);
  let slashed = 0n;
  for (const e of due) {
    for (const id of st.dealOpsByEpoch[e]!) {
      const d = st.proposals[id];
      if (!d) continue;
      if (st.states[id]) {
        delete st.pendingProposals[d.proposalCid];
        continue;
      }
      if (epoch < d.startEpoch) throw illegalState(`deal ${id} processed before start epoch ${d.startEpoch}`);
      // process_deal_init_timed_out: the provider loses its whole collateral
      unlockBalance(st, d.client, dealStorageFee(d));
      unlockBalance(st, d.client, d.clientCollateral);
      slashBalance(st, d.provider, d.providerCollateral);
      st.totalClientStorageFee -= dealStorageFee(d);
      st.totalClientLockedCollateral -= d.clientCollateral;
      st.totalProviderLockedCollateral -= d.providerCollateral;
      slashed += d.providerCollateral;
      delete st.proposals[id];
      delete st.pendingProposals[d.proposalCid];
      delete st.pendingDealAllocationIds[id];
      log.warn(
        { deal: id, provider: d.provider, start: d.startEpoch, slashed: d.providerCollateral.toString() },
        'deal not activated by its start epoch: timed out, provider collateral slashed',
      );
    }
    delete st.dealOpsByEpoch[e];
  }
  st.lastCron = epoch;
  if (slashed > 0n) tree.transfer(MARKET_ACTOR, BURNT_FUNDS_ACTOR, slashed);
}
