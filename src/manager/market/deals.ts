/**
 * The sector-manager's deal path (damocles' dealmgr, docs/deals-manager.md):
 *
 * - `acquire`: AcquireDeals for a sector of a miner with EnableDeals asks the market (AssignDeals) once; the
 *   answer is checked (sizes, layout, pledge fillers), deals that cannot be sealed in this sector (start too soon,
 *   end too far, another provider) become pledge fillers and are released, and the pieces are stored with the
 *   sector state and the `sector_deals` rows in one transaction. A retried AcquireDeals answers the stored pieces
 *   without asking again. Market unreachable: an error the worker retries; nothing is stored or lost (droplet
 *   answers the same sector with the same deals).
 * - `abortSector` (in ReportAborted's transaction): the sector's deals are written as due for release; the release
 *   loop sends ReleaseDeals (builtin market) / ReleaseDirectDeals (DDO) and retries while the market is down.
 */
import type { MarketDealInfoV2 } from '../../api/market.js';
import {
  type AcquireDealsSpec,
  type DealInfoV2,
  type SectorID,
  type SectorPieces,
  type SectorPieceV2,
  type SectorState,
  sectorName,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import { bytesEqual, cidToCommP, commPToCid } from '../../fil/index.js';
import {
  computeCommD,
  isValidPaddedPieceSize,
  sealProof,
  unpaddedPieceSize,
  zeroCommitment,
} from '../../proofs/index.js';
import { ErrorCode, RpcError } from '../../rpc/index.js';
import { type ChainAPI, head, minerAddr, type NetworkPolicy } from '../chain.js';
import { dealsEnabled, type ManagerConfig } from '../config.js';
import type { ManagerStore } from '../db.js';
import { KeyedMutex } from '../mutex.js';
import { isMarketUnreachable, type MarketAPI } from './client.js';
import { dealWindow, isDealPiece } from './lifetime.js';
import { type DealFailureReason, type DealMetrics, dealMetrics } from './metrics.js';
import { type DealKind, DealStore, type NewDealRow, type SectorDealRow } from './store.js';

const log = logger('dealmgr');

/** How often due releases are retried while the market does not take them. */
export const RELEASE_RETRY_MS = 30_000;
/** Most deals AcquireDealsSpec.MaxDeals may ask for (a 64GiB sector holds at most 2^29 pieces; no market gives that). */
export const MAX_DEALS_PER_SECTOR = 4096;

export interface DealManagerOptions {
  store: ManagerStore;
  chain: Pick<ChainAPI, 'ChainHead'>;
  policy: NetworkPolicy;
  config: () => ManagerConfig;
  market: { get(): MarketAPI | undefined };
  metrics?: DealMetrics;
  retryEveryMs?: number;
}

/** A market answer that breaks the rules: nothing from it is sealed. */
class InvalidAnswer extends Error {}

function isInt(v: unknown, min = 0): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

function errText(err: unknown): string {
  return String((err as Error)?.message ?? err).slice(0, 300);
}

/** Miner id of a provider address ("t01000" / "f01000"), or undefined. */
function providerId(addr: unknown): number | undefined {
  const m = typeof addr === 'string' ? /^[ft]0(\d{1,19})$/.exec(addr) : null;
  return m ? Number(m[1]) : undefined;
}

function kindOf(d: Pick<MarketDealInfoV2, 'PublishCid'>): DealKind {
  return d.PublishCid && typeof d.PublishCid['/'] === 'string' && d.PublishCid['/'] !== '' ? 'market' : 'ddo';
}

/** The AcquireDealsSpec a worker sent, checked (its MaxDeals / MinUsedSpace, null meaning no limit). */
export function checkAcquireSpec(spec: unknown): { maxDeals: number; minUsedSpace: number } {
  const s = (spec ?? {}) as Partial<AcquireDealsSpec>;
  const bad = (what: string, v: unknown) =>
    new RpcError(
      ErrorCode.InvalidParams,
      `AcquireDeals: ${what} must be null or an integer ≥ 0, got ${JSON.stringify(v)}`,
    );
  const max = s.MaxDeals ?? null;
  const used = s.MinUsedSpace ?? null;
  if (max !== null && !isInt(max)) throw bad('MaxDeals', max);
  if (used !== null && !isInt(used)) throw bad('MinUsedSpace', used);
  return { maxDeals: Math.min(max ?? 0, MAX_DEALS_PER_SECTOR), minUsedSpace: used ?? 0 };
}

/**
 * The market's answer as the sector's pieces (droplet's layout: deals and zero fillers in placement order, each at
 * the running offset, aligned to its size), or InvalidAnswer.
 */
export function piecesFromAnswer(answer: unknown, sectorSize: number): SectorPieceV2[] {
  if (answer === null || answer === undefined) return [];
  if (!Array.isArray(answer)) throw new InvalidAnswer('AssignDeals answered something other than a list');
  if (answer.length > sectorSize / 128) throw new InvalidAnswer(`${answer.length} pieces cannot fit a sector`);
  const out: SectorPieceV2[] = [];
  let offset = 0;
  answer.forEach((raw, i) => {
    const d = raw as MarketDealInfoV2;
    const at = `piece ${i}`;
    if (!d || typeof d !== 'object') throw new InvalidAnswer(`${at} is not an object`);
    if (!isInt(d.DealID) || !isInt(d.AllocationID)) throw new InvalidAnswer(`${at}: bad DealID/AllocationID`);
    if (!isInt(d.PieceSize) || !isValidPaddedPieceSize(d.PieceSize))
      throw new InvalidAnswer(`${at}: PieceSize ${JSON.stringify(d.PieceSize)} is not a padded piece size`);
    let commP: Uint8Array;
    try {
      commP = cidToCommP(d.PieceCID);
    } catch (err) {
      throw new InvalidAnswer(`${at}: PieceCID: ${errText(err)}`);
    }
    // a builtin deal is told by its PublishCid (the chain's first deal id is 0), a direct one by its allocation
    const pledge = d.DealID === 0 && d.AllocationID === 0 && kindOf(d) !== 'market';
    if (pledge && !bytesEqual(commP, zeroCommitment(d.PieceSize)))
      throw new InvalidAnswer(`${at}: a filler (no deal, no allocation) whose PieceCID is not the zero piece's`);
    if (!pledge) {
      if (!isInt(d.Offset) || d.Offset !== offset)
        throw new InvalidAnswer(`${at}: Offset ${JSON.stringify(d.Offset)} is not where the piece goes (${offset})`);
      if (!isInt(d.PayloadSize) || d.PayloadSize > unpaddedPieceSize(d.PieceSize))
        throw new InvalidAnswer(`${at}: PayloadSize ${JSON.stringify(d.PayloadSize)} exceeds the piece`);
      if (!isInt(d.StartEpoch) || !isInt(d.EndEpoch) || d.EndEpoch <= d.StartEpoch)
        throw new InvalidAnswer(`${at}: StartEpoch/EndEpoch ${d.StartEpoch}/${d.EndEpoch}`);
      if (typeof d.Client !== 'string' || d.Client.length === 0 || d.Client.length > 200)
        throw new InvalidAnswer(`${at}: bad Client`);
      const builtin = kindOf(d) === 'market';
      if (!builtin && d.AllocationID === 0) throw new InvalidAnswer(`${at}: a direct deal without AllocationID`);
    }
    if (offset % d.PieceSize !== 0)
      throw new InvalidAnswer(`${at}: at ${offset}, not aligned to its size ${d.PieceSize}`);
    offset += d.PieceSize;
    if (offset > sectorSize) throw new InvalidAnswer(`the pieces (${offset} bytes) exceed the sector (${sectorSize})`);
    const info: DealInfoV2 = {
      DealID: d.DealID,
      AllocationID: d.AllocationID,
      PieceCID: { '/': d.PieceCID['/'] },
      PieceSize: d.PieceSize,
      Client: pledge ? '' : d.Client,
      Provider: typeof d.Provider === 'string' ? d.Provider : '',
      StartEpoch: pledge ? 0 : d.StartEpoch,
      EndEpoch: pledge ? 0 : d.EndEpoch,
      PayloadSize: isInt(d.PayloadSize) ? d.PayloadSize : 0,
      Offset: offset - d.PieceSize,
      IsBuiltinMarket: !pledge && kindOf(d) === 'market',
      IsCompatible: false,
    };
    out.push({ Piece: { Size: d.PieceSize, PieceCID: { '/': d.PieceCID['/'] } }, DealInfo: info });
  });
  try {
    computeCommD(
      sectorSize,
      out.map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) })),
    );
  } catch (err) {
    throw new InvalidAnswer(`the pieces do not make a sector: ${errText(err)}`);
  }
  return out;
}

/** The same position as a pledge filler (a deal dropped from the sector keeps the layout). */
function asFiller(p: SectorPieceV2): SectorPieceV2 {
  const size = p.Piece.Size;
  return {
    Piece: { Size: size, PieceCID: { '/': commPToCid(zeroCommitment(size)).toString() } },
    DealInfo: {
      DealID: 0,
      AllocationID: 0,
      PieceSize: size,
      PayloadSize: 0,
      Offset: p.DealInfo?.Offset ?? 0,
      IsBuiltinMarket: false,
      IsCompatible: false,
    },
  };
}

function rowOf(sid: SectorID, idx: number, p: SectorPieceV2, state: 'assigned' | 'releasing'): NewDealRow {
  const d = p.DealInfo!;
  return {
    miner: sid.Miner,
    number: sid.Number,
    idx,
    kind: d.IsBuiltinMarket ? 'market' : 'ddo',
    dealId: d.DealID,
    allocationId: d.AllocationID,
    pieceCid: p.Piece.PieceCID['/'],
    pieceSize: p.Piece.Size,
    payloadSize: d.PayloadSize,
    offset: d.Offset ?? 0,
    client: d.Client ?? '',
    startEpoch: d.StartEpoch ?? 0,
    endEpoch: d.EndEpoch ?? 0,
    state,
    assignedAt: Date.now(),
  };
}

export class DealManager {
  readonly deals: DealStore;
  private readonly metrics: DealMetrics;
  /** AssignDeals one at a time per miner, as damocles' dealmgr holds a mutex around it */
  private readonly assignLock = new KeyedMutex();
  private releasing: Promise<void> | undefined;
  private rerun = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** another manager holds the `chain` duty: releases wait for start() (ha/duties.ts) */
  private standby = false;
  private lastReleaseWarn = 0;

  constructor(private readonly o: DealManagerOptions) {
    this.deals = new DealStore(o.store.db);
    this.metrics = o.metrics ?? dealMetrics();
    this.metrics.pending.set(this.deals.countPendingReleases());
  }

  /**
   * AcquireDeals for a sector (the caller holds the sector's lock and checked it is online and the caller's):
   * the stored pieces, or the market's answer stored, or null (deals off, no deals, or an answer not sealable).
   */
  async acquire(
    s: SectorState,
    rawSpec: AcquireDealsSpec,
    /** snap-deals into an existing sector: deals must end before its expiration (AssignDeals' SectorExpiration) */
    snap?: { expiration: number },
  ): Promise<SectorPieces> {
    if (s.Pieces && s.Pieces.length > 0) return s.Pieces;
    const sid = s.ID;
    const name = sectorName(sid);
    const cfg = this.o.config();
    if (!dealsEnabled(cfg, sid.Miner)) return null;
    const market = this.o.market.get();
    if (!market) return null;
    const want = checkAcquireSpec(rawSpec);
    const sectorSize = sealProof(s.SectorType).sectorSize;
    let height: number;
    try {
      height = (await head(this.o.chain)).height;
    } catch (err) {
      throw new RpcError(ErrorCode.App, `AcquireDeals ${name}: chain head unavailable: ${errText(err)}; retried`);
    }
    // an upgrade lands within minutes: deals may start from now on, and end with the sector
    const w = snap ? { start: height, end: snap.expiration } : dealWindow(height, this.o.policy);
    let answer: unknown;
    try {
      answer = await this.assignLock.run(String(sid.Miner), () =>
        market.AssignDeals({ Miner: sid.Miner, Number: sid.Number }, sectorSize, {
          MaxPiece: want.maxDeals,
          MaxPieceSize: 0,
          MinPiece: 0,
          MinPieceSize: 0,
          MinUsedSpace: want.minUsedSpace,
          StartEpoch: w.start,
          EndEpoch: w.end,
          SectorExpiration: snap ? snap.expiration : null,
        }),
      );
    } catch (err) {
      const unreachable = isMarketUnreachable(err);
      this.metrics.failed('assign', unreachable ? 'unreachable' : 'refused');
      const what = unreachable ? 'the market is unreachable' : 'the market refused AssignDeals';
      log.warn({ sector: name, err: errText(err) }, `${what}; the worker retries AcquireDeals`);
      throw new RpcError(
        ErrorCode.App,
        `AcquireDeals ${name}: ${what}: ${errText(err)} (nothing was assigned; the worker retries)`,
      );
    }
    let pieces: SectorPieceV2[];
    try {
      pieces = piecesFromAnswer(answer, sectorSize);
    } catch (err) {
      if (!(err instanceof InvalidAnswer)) throw err;
      // nothing of it is sealed; what names a deal goes back to the market
      this.metrics.failed('assign', 'invalid');
      const back = this.salvage(sid, answer);
      log.error(
        { sector: name, err: err.message, released: back },
        'the market answered AcquireDeals with pieces that break the rules; its deals are released and the sector is sealed without them',
      );
      this.kick();
      return null;
    }
    const rows: NewDealRow[] = [];
    let kept = 0;
    const dropped: { why: string; reason: DealFailureReason }[] = [];
    pieces = pieces.map((p, idx) => {
      const d = p.DealInfo;
      if (!d || !isDealPiece(p)) return p;
      const why = this.unusable(sid, d, w);
      if (why) {
        dropped.push(why);
        this.metrics.failed('assign', why.reason);
        rows.push(rowOf(sid, idx, p, 'releasing'));
        log.warn(
          { sector: name, deal: d.DealID, allocation: d.AllocationID, why: why.why },
          'deal not sealed; released',
        );
        return asFiller(p);
      }
      kept++;
      rows.push(rowOf(sid, idx, p, 'assigned'));
      return p;
    });
    const store = this.o.store;
    store.tx(() => {
      if (kept > 0) {
        s.Pieces = pieces;
        store.putSector(s, true);
      }
      this.deals.add(rows);
    });
    for (const r of rows) if (r.state === 'assigned') this.metrics.assignedDeal(r.kind);
    if (dropped.length > 0) this.kick();
    if (kept === 0) {
      if (rows.length === 0) log.debug({ sector: name }, 'no deals for this sector');
      return null;
    }
    log.info(
      {
        sector: name,
        deals: rows
          .filter((r) => r.state === 'assigned')
          .map((r) => (r.kind === 'market' ? `d${r.dealId}` : `a${r.allocationId}`)),
        pieces: pieces.length,
      },
      'deals acquired',
    );
    return pieces;
  }

  /** Why a deal cannot go in this sector, or undefined. */
  private unusable(
    sid: SectorID,
    d: DealInfoV2,
    w: { start: number; end: number },
  ): { why: string; reason: DealFailureReason } | undefined {
    const prov = providerId(d.Provider);
    if (prov !== sid.Miner)
      return { why: `the deal is for provider ${d.Provider}, not t0${sid.Miner}`, reason: 'other_provider' };
    if ((d.StartEpoch ?? 0) <= w.start)
      return {
        why: `it starts at ${d.StartEpoch}, before the sector can be proven (${w.start})`,
        reason: 'start_passed',
      };
    if ((d.EndEpoch ?? 0) > w.end)
      return { why: `it ends at ${d.EndEpoch}, after the longest sector lifetime (${w.end})`, reason: 'end_too_far' };
    return undefined;
  }

  /** Rows due for release for what an invalid answer named as deals; returns how many. */
  private salvage(sid: SectorID, answer: unknown): number {
    if (!Array.isArray(answer)) return 0;
    const rows: NewDealRow[] = [];
    answer.slice(0, MAX_DEALS_PER_SECTOR).forEach((raw, idx) => {
      const d = raw as Partial<MarketDealInfoV2> | null;
      if (!d || typeof d !== 'object') return;
      const dealId = isInt(d.DealID) ? d.DealID : 0;
      const allocationId = isInt(d.AllocationID) ? d.AllocationID : 0;
      const kind = kindOf(d as MarketDealInfoV2);
      if (kind === 'ddo' && allocationId === 0) return;
      rows.push({
        miner: sid.Miner,
        number: sid.Number,
        idx,
        kind,
        dealId,
        allocationId,
        pieceCid: typeof d.PieceCID?.['/'] === 'string' ? d.PieceCID['/'].slice(0, 200) : '',
        pieceSize: isInt(d.PieceSize) ? d.PieceSize : 0,
        payloadSize: isInt(d.PayloadSize) ? d.PayloadSize : 0,
        offset: isInt(d.Offset) ? d.Offset : 0,
        client: typeof d.Client === 'string' ? d.Client.slice(0, 200) : '',
        startEpoch: isInt(d.StartEpoch) ? d.StartEpoch : 0,
        endEpoch: isInt(d.EndEpoch) ? d.EndEpoch : 0,
        state: 'releasing',
        assignedAt: Date.now(),
      });
    });
    this.o.store.tx(() => this.deals.add(rows));
    return rows.length;
  }

  /**
   * ReportAborted: the sector's deals are due for release (call inside the abort's transaction; `kick()` after it
   * commits sends them). Returns how many.
   */
  abortSector(sid: SectorID): number {
    return this.deals.markReleasing(sid.Miner, sid.Number);
  }

  /** Sends due releases now (in the background); a failure leaves them due for the retry timer. */
  kick(): void {
    if (this.stopped || this.standby) return;
    void this.releasePending().catch((err) => log.error({ err: errText(err) }, 'deal release failed'));
  }

  /** Every RELEASE_RETRY_MS: due releases are sent again. */
  start(): void {
    this.standby = false;
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => {
      if (this.deals.countPendingReleases() > 0) this.kick();
    }, this.o.retryEveryMs ?? RELEASE_RETRY_MS);
    this.timer.unref();
    if (this.deals.countPendingReleases() > 0) this.kick();
  }

  /** Releases are another manager's job until start(): they stay recorded for it. */
  async pause(): Promise<void> {
    this.standby = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.releasing?.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.releasing?.catch(() => undefined);
  }

  /**
   * Sends every due release (ReleaseDeals / ReleaseDirectDeals per miner), one round at a time; a call during a round
   * gets that round's promise and one more round after it (so releases written meanwhile go at once).
   */
  releasePending(): Promise<void> {
    if (this.releasing) {
      this.rerun = true;
      return this.releasing;
    }
    this.releasing = (async () => {
      do {
        this.rerun = false;
        await this.releaseOnce();
      } while (this.rerun && !this.stopped);
    })().finally(() => {
      this.releasing = undefined;
    });
    return this.releasing;
  }

  private async releaseOnce(): Promise<void> {
    const due = this.deals.pendingReleases();
    if (due.length === 0) {
      this.metrics.pending.set(0);
      return;
    }
    const market = this.o.market.get();
    if (!market) {
      this.warnRelease(due.length, 'no market is configured ([DealManagerConfig.MarketAPI] Api)');
      this.metrics.pending.set(due.length);
      return;
    }
    const groups = new Map<string, SectorDealRow[]>();
    for (const r of due) {
      const k = `${r.miner}-${r.kind}`;
      const g = groups.get(k);
      if (g) g.push(r);
      else groups.set(k, [r]);
    }
    for (const rows of groups.values()) {
      const { miner, kind } = rows[0]!;
      const ids = [...new Set(rows.map((r) => (kind === 'market' ? r.dealId : r.allocationId)))];
      const call = kind === 'market' ? 'ReleaseDeals' : 'ReleaseDirectDeals';
      try {
        if (kind === 'market') await market.ReleaseDeals(minerAddr(miner), ids);
        else await market.ReleaseDirectDeals(minerAddr(miner), ids);
        this.deals.finishRelease(rows, 'released', null);
        this.metrics.releasedDeal(kind, rows.length);
        log.info(
          { miner: String(miner), kind, ids, sectors: [...new Set(rows.map((r) => r.number))] },
          'deals released',
        );
      } catch (err) {
        if (isMarketUnreachable(err)) {
          this.deals.releaseFailed(rows, errText(err));
          this.metrics.failed('release', 'unreachable', rows.length);
          this.warnRelease(rows.length, `${call}: ${errText(err)}`);
        } else {
          // the market said no (not assigned any more, already packed): retrying would not change its mind
          this.deals.finishRelease(rows, 'refused', errText(err));
          this.metrics.failed('release', 'refused', rows.length);
          log.error({ miner: String(miner), kind, ids, err: errText(err) }, `${call} refused by the market`);
        }
      }
    }
    this.metrics.pending.set(this.deals.countPendingReleases());
  }

  /** Said once a minute while releases wait. */
  private warnRelease(n: number, why: string): void {
    const now = Date.now();
    if (now - this.lastReleaseWarn < 60_000) return;
    this.lastReleaseWarn = now;
    log.warn(
      { pending: n, err: why },
      `deal releases wait for the market; retried every ${(this.o.retryEveryMs ?? RELEASE_RETRY_MS) / 1000}s`,
    );
  }
}
