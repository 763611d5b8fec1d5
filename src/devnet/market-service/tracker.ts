/**
 * Deal states from the chain, as droplet's deal tracker follows them (storageprovider/deal_tracker.go): on each
 * head, a publishing deal becomes waiting once PublishStorageDeals landed (its deal id from the return) or failed;
 * a builtin deal is active once the chain's deal state has a SectorStartEpoch, expired when the chain dropped it
 * unactivated (or it ended), slashed when the chain says so; a direct deal is active once the provider's claim
 * for its allocation exists, expired when the allocation passed its expiration unclaimed. A sealer never reports.
 */
import { logger } from '../../common/log.js';
import type { MarketChain, MarketMessager, PublishCodec } from './chain.js';
import type { DealRow, DealStore } from './db.js';

const log = logger('devnet.market.tracker');

export class DealTracker {
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(
    private readonly store: DealStore,
    private readonly chain: MarketChain,
    private readonly messager: MarketMessager | undefined,
    private readonly codec: PublishCodec | undefined,
  ) {}

  /** Runs a pass now (coalesced: one at a time, one more if asked meanwhile). Resolves when it is done. */
  kick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (e) {
          log.error({ err: (e as Error).message }, 'deal tracking pass failed');
        }
      } while (this.again);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** No more passes; resolves when the running one is done (before the database closes). */
  stop(): Promise<void> {
    this.stopped = true;
    return this.running ?? Promise.resolve();
  }

  private set(d: DealRow, set: Partial<DealRow>, msg: string): void {
    if (!this.store.update(d.id, set, d.state)) return; // changed meanwhile (an assignment); next pass sees it
    const fields = { deal: d.id, kind: d.kind, piece: d.piece_cid, from: d.state, to: set.state ?? d.state };
    if (set.state === 'failed' || set.state === 'slashed' || set.state === 'expired')
      log.warn({ ...fields, reason: set.reason }, msg);
    else log.info(fields, msg);
  }

  async pass(): Promise<void> {
    const height = this.chain.height();
    for (const d of this.store.inState('publishing', 'waiting', 'sealing', 'active')) {
      if (this.stopped) return;
      try {
        if (d.state === 'publishing') await this.publishing(d);
        else if (d.kind === 'market') await this.builtin(d, height);
        else await this.direct(d, height);
      } catch (e) {
        log.warn({ deal: d.id, kind: d.kind, err: (e as Error).message }, 'cannot read the deal state from the chain');
      }
    }
  }

  private async publishing(d: DealRow): Promise<void> {
    if (!this.messager || !this.codec || !d.msg_id) return;
    const s = this.messager.status(d.msg_id);
    if (s.state === 'pending') return;
    if (s.state === 'failed') {
      this.set(d, { state: 'failed', reason: `PublishStorageDeals failed: ${s.reason}` }, 'deal not published');
      return;
    }
    if (s.exitCode !== 0) {
      this.set(
        d,
        { state: 'failed', publish_cid: s.cid, reason: `PublishStorageDeals exited with code ${s.exitCode}` },
        'deal not published',
      );
      return;
    }
    const ids = this.codec.publishReturn(s.ret);
    if (ids.length !== 1) {
      this.set(
        d,
        { state: 'failed', publish_cid: s.cid, reason: `publish returned ${ids.length} deal ids, not 1` },
        'deal not published',
      );
      return;
    }
    const allocation = d.verified ? await this.chain.pendingDealAllocation(ids[0]) : 0;
    this.set(d, { state: 'waiting', deal_id: ids[0], publish_cid: s.cid, allocation_id: allocation }, 'deal published');
  }

  private async builtin(d: DealRow, height: number): Promise<void> {
    if (d.state === 'waiting' && d.start_epoch <= height) {
      this.set(
        d,
        { state: 'expired', reason: `start epoch ${d.start_epoch} passed before the deal was sealed` },
        'deal expired',
      );
      return;
    }
    const cs = await this.chain.marketDeal(d.deal_id);
    if (!cs) {
      if (d.state === 'active') {
        const ended = height >= d.end_epoch;
        this.set(
          d,
          ended
            ? { state: 'expired', reason: `ended at ${d.end_epoch}` }
            : { state: 'slashed', reason: 'the chain no longer has the deal' },
          ended ? 'deal ended' : 'deal slashed',
        );
      } else if (height >= d.start_epoch) {
        this.set(d, { state: 'expired', reason: `not activated by its start epoch ${d.start_epoch}` }, 'deal expired');
      }
      return;
    }
    if (cs.SlashEpoch >= 0) {
      this.set(d, { state: 'slashed', reason: `slashed at ${cs.SlashEpoch}` }, 'deal slashed');
    } else if (cs.SectorStartEpoch >= 0 && d.state !== 'active') {
      this.set(d, { state: 'active', activation_epoch: cs.SectorStartEpoch }, 'deal active');
    }
  }

  private async direct(d: DealRow, height: number): Promise<void> {
    const claim = await this.chain.claim(d.provider, d.allocation_id);
    if (claim) {
      if (d.state !== 'active')
        this.set(d, { state: 'active', activation_epoch: claim.TermStart, sector: claim.Sector }, 'direct deal active');
      return;
    }
    if (d.state === 'active') {
      this.set(d, { state: 'expired', reason: 'the claim is gone' }, 'direct deal ended');
      return;
    }
    if (d.state === 'waiting' && d.start_epoch <= height) {
      this.set(
        d,
        { state: 'expired', reason: `start epoch ${d.start_epoch} passed before the deal was sealed` },
        'direct deal expired',
      );
    } else if (d.alloc_expiration !== null && height > d.alloc_expiration) {
      this.set(
        d,
        { state: 'expired', reason: `allocation expired at ${d.alloc_expiration} unclaimed` },
        'direct deal expired',
      );
    }
  }
}
