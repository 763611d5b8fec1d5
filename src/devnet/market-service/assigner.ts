/**
 * AssignDeals / ReleaseDeals / ReleaseDirectDeals as droplet answers them (storageprovider/deal_assigner.go; our
 * account in docs/deals-market.md): direct (DDO) deals first, then builtin-market deals, picked and aligned by
 * pick.ts, stored — state, sector, offset and the answer itself — in one SQLite transaction. Unlike droplet, a
 * sector asking again gets the answer it got before (a sealer that crashed after the call must not get other
 * deals), and deals whose start epoch has passed are marked expired instead of being handed out.
 */
import type { GetDealSpec, MarketDealInfoV2, MarketSectorID } from '../../api/market.js';
import { logger } from '../../common/log.js';
import { commPToCid, parseAddress } from '../../fil/index.js';
import { isValidPaddedPieceSize, zeroCommitment } from '../../proofs/index.js';
import { rpcError } from '../../rpc/index.js';
import type { DealRow, DealStore } from './db.js';
import { type Candidate, pickAndAlign, sortCandidates, unfitReason } from './pick.js';

const log = logger('devnet.market');

/** The actor id of an ID address ("t01000" → 1000); anything else is refused with the reason. */
export function minerIdOf(addr: string, what = 'miner'): number {
  let a: ReturnType<typeof parseAddress>;
  try {
    a = parseAddress(addr);
  } catch (e) {
    throw rpcError(`${what} ${JSON.stringify(addr)}: ${(e as Error).message}`);
  }
  if (a.protocol !== 0) throw rpcError(`${what} must be an ID address (t0…), got ${addr}`);
  return Number(a.id());
}

function toCandidate(d: DealRow): Candidate {
  return {
    key: d.id,
    pieceSize: d.piece_size,
    startEpoch: d.start_epoch,
    endEpoch: d.end_epoch,
    verified: d.verified === 1,
    ...(d.kind === 'ddo'
      ? {
          termMin: d.term_min ?? undefined,
          termMax: d.term_max ?? undefined,
          allocationExpiration: d.alloc_expiration ?? undefined,
        }
      : {}),
  };
}

/** The DealInfoV2 droplet answers for a deal placed at `offset`. */
export function dealInfo(d: DealRow, offset: number): MarketDealInfoV2 {
  return {
    DealID: d.kind === 'market' ? d.deal_id : 0,
    PublishCid: d.kind === 'market' && d.publish_cid ? { '/': d.publish_cid } : null,
    // a builtin deal's allocation (if verified) is the sealer's to look up, as droplet leaves it 0
    AllocationID: d.kind === 'ddo' ? d.allocation_id : 0,
    PieceCID: { '/': d.piece_cid },
    PieceSize: d.piece_size,
    Client: d.client,
    Provider: d.provider,
    Offset: offset,
    Length: d.piece_size,
    PayloadSize: d.payload_size,
    StartEpoch: d.start_epoch,
    EndEpoch: d.end_epoch,
  };
}

/** A zero piece filling space (droplet answers these too: both ids 0, the zero commitment as piece CID). */
function fillerInfo(provider: string, size: number, offset: number): MarketDealInfoV2 {
  return {
    DealID: 0,
    PublishCid: null,
    AllocationID: 0,
    PieceCID: { '/': commPToCid(zeroCommitment(size)).toString() },
    PieceSize: size,
    Client: provider,
    Provider: provider,
    Offset: offset,
    Length: size,
    PayloadSize: 0,
    StartEpoch: 0,
    EndEpoch: 0,
  };
}

export class DealAssigner {
  constructor(
    private readonly store: DealStore,
    /** the chain head's height */
    private readonly height: () => number,
  ) {}

  /** Marks the provider's unassigned deals that can no longer be sealed in time. Inside a transaction. */
  private expireStale(providerId: number, height: number): void {
    for (const d of this.store.inState('waiting')) {
      if (d.provider_id !== providerId) continue;
      const reason =
        d.start_epoch <= height
          ? `start epoch ${d.start_epoch} passed (head ${height}) before the deal was sealed`
          : d.alloc_expiration !== null && d.alloc_expiration <= height
            ? `allocation expired at ${d.alloc_expiration} (head ${height}) before it was claimed`
            : undefined;
      if (!reason) continue;
      this.store.update(d.id, { state: 'expired', reason }, 'waiting');
      log.warn({ deal: d.id, kind: d.kind, piece: d.piece_cid, reason }, 'deal expired before sealing');
    }
  }

  /** Picks from one kind of waiting deal; returns the placement or [] (nothing fits / minimums not met). */
  private pick(
    providerId: number,
    kind: 'ddo' | 'market',
    sectorSize: number,
    spec: GetDealSpec | null,
    height: number,
  ) {
    const rows = this.store.inState('waiting').filter((d) => d.provider_id === providerId && d.kind === kind);
    const fit = rows.filter((d) => {
      const why = unfitReason(toCandidate(d), spec, height);
      if (why) log.debug({ deal: d.id, kind, why }, 'deal does not fit this sector');
      return !why;
    });
    const sorted = sortCandidates(fit.map(toCandidate));
    return { rows: new Map(rows.map((r) => [r.id, r])), placed: pickAndAlign(sorted, sectorSize, spec) };
  }

  assign(sid: MarketSectorID, sectorSize: number, spec: GetDealSpec | null): MarketDealInfoV2[] {
    if (!isValidPaddedPieceSize(sectorSize))
      throw rpcError(`sector size must be a power of two ≥ 128, got ${sectorSize}`);
    const provider = `t0${sid.Miner}`;
    const run = this.store.db.transaction((): MarketDealInfoV2[] => {
      const before = this.store.assignment(sid.Miner, sid.Number);
      if (before !== undefined) return JSON.parse(before) as MarketDealInfoV2[];
      // deals left in this sector by a partial release go back first: the sector gets a fresh, whole answer
      for (const d of this.store.inState('sealing')) {
        if (d.provider_id === sid.Miner && d.sector === sid.Number)
          this.store.update(d.id, { state: 'waiting', sector: null, offset: null }, 'sealing');
      }
      const height = this.height();
      this.expireStale(sid.Miner, height);
      let got = this.pick(sid.Miner, 'ddo', sectorSize, spec, height);
      if (got.placed.length === 0) got = this.pick(sid.Miner, 'market', sectorSize, spec, height);
      if (got.placed.length === 0) return [];
      const out: MarketDealInfoV2[] = [];
      for (const p of got.placed) {
        if (p.key === null) {
          out.push(fillerInfo(provider, p.pieceSize, p.offset));
          continue;
        }
        const d = got.rows.get(p.key)!;
        if (!this.store.update(d.id, { state: 'sealing', sector: sid.Number, offset: p.offset }, 'waiting'))
          throw new Error(`deal ${d.id} changed while being assigned`);
        out.push(dealInfo(d, p.offset));
      }
      this.store.saveAssignment(sid.Miner, sid.Number, JSON.stringify(out));
      return out;
    });
    const out = run.immediate();
    const deals = out.filter((d) => d.PublishCid || d.AllocationID);
    if (deals.length)
      log.info(
        {
          miner: sid.Miner,
          sector: sid.Number,
          deals: deals.map((d) => (d.PublishCid ? `deal ${d.DealID}` : `allocation ${d.AllocationID}`)),
        },
        'deals assigned',
      );
    return out;
  }

  /** ReleaseDeals: builtin deals of `miner` back to waiting (droplet: only before activation). */
  releaseDeals(miner: string, dealIds: number[]): void {
    const mid = minerIdOf(miner);
    this.release(mid, dealIds, (id) => this.store.byDealId(id), 'deal');
  }

  /** ReleaseDirectDeals: direct deals of `miner` back to allocated. */
  releaseDirectDeals(miner: string, allocationIds: number[]): void {
    const mid = minerIdOf(miner);
    this.release(mid, allocationIds, (id) => this.store.byAllocation(id), 'allocation');
  }

  private release(minerId: number, ids: number[], find: (id: number) => DealRow | undefined, what: string): void {
    this.store.db
      .transaction(() => {
        for (const id of ids) {
          const d = find(id);
          if (!d) throw rpcError(`${what} ${id} is not known to the market`);
          if (d.provider_id !== minerId)
            throw rpcError(`${what} ${id} belongs to ${d.provider}, not t0${minerId}: not released`);
          if (d.state === 'expired' || d.state === 'waiting') continue; // already free (a repeated release)
          if (d.state !== 'sealing')
            throw rpcError(`cannot release ${what} ${id}: it is ${d.state}, only a deal being sealed can be released`);
          if (d.sector !== null) this.store.dropAssignment(minerId, d.sector);
          this.store.update(d.id, { state: 'waiting', sector: null, offset: null }, 'sealing');
          log.info({ miner: `t0${minerId}`, [what]: id, sector: d.sector }, 'deal released');
        }
      })
      .immediate();
  }
}
