/**
 * The deals the market assigned to each sector, in the manager's database (`<home>/manager.db`, the same file and
 * transactions as the sector states, db.ts): table `sector_deals`, one row per deal piece (pledge fillers are not
 * deals and are only in the sector's Pieces). A row's `state`:
 *
 *   assigned   the market gave it to the sector (AssignDeals); the sector's Pieces hold it too
 *   releasing  the sector was aborted (or the deal refused): ReleaseDeals / ReleaseDirectDeals is due, and retried
 *              until the market answers — a release is written before it is sent, so a restart sends it again
 *   released   the market took it back
 *   refused    the market refused the release (not retried; the reason is kept)
 *
 * A sector's rows are written with its Pieces, once (AcquireDeals answers the stored Pieces after that), plus any
 * deals of the same answer that could not be sealed (written as `releasing`): bounded by the pieces a sector
 * holds (size/128) per AcquireDeals answer.
 */
import { applySchema, ddl } from '../sql/schema.js';
import type { Db } from '../sql/types.js';

export type DealKind = 'market' | 'ddo';
export type DealRowState = 'assigned' | 'releasing' | 'released' | 'refused';

export interface SectorDealRow {
  /** row id */
  seq: number;
  miner: number;
  number: number;
  /** position of the piece in the sector's Pieces */
  idx: number;
  kind: DealKind;
  dealId: number;
  allocationId: number;
  pieceCid: string;
  pieceSize: number;
  payloadSize: number;
  offset: number;
  client: string;
  startEpoch: number;
  endEpoch: number;
  state: DealRowState;
  /** ms since epoch */
  assignedAt: number;
  releasedAt: number | null;
  /** the last release failure (market unreachable, or its refusal) */
  releaseError: string | null;
  releaseAttempts: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sector_deals (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  kind TEXT NOT NULL,
  deal_id INTEGER NOT NULL,
  allocation_id INTEGER NOT NULL,
  piece_cid TEXT NOT NULL,
  piece_size INTEGER NOT NULL,
  payload_size INTEGER NOT NULL,
  piece_offset INTEGER NOT NULL,
  client TEXT NOT NULL,
  start_epoch INTEGER NOT NULL,
  end_epoch INTEGER NOT NULL,
  state TEXT NOT NULL,
  assigned_at INTEGER NOT NULL,
  released_at INTEGER,
  release_error TEXT,
  release_attempts INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS sector_deals_sector ON sector_deals (miner, number, idx);
CREATE INDEX IF NOT EXISTS sector_deals_state ON sector_deals (state);
CREATE INDEX IF NOT EXISTS sector_deals_piece ON sector_deals (piece_cid);
`;

interface Raw {
  seq: number;
  miner: number;
  number: number;
  idx: number;
  kind: DealKind;
  deal_id: number;
  allocation_id: number;
  piece_cid: string;
  piece_size: number;
  payload_size: number;
  piece_offset: number;
  client: string;
  start_epoch: number;
  end_epoch: number;
  state: DealRowState;
  assigned_at: number;
  released_at: number | null;
  release_error: string | null;
  release_attempts: number;
}

function fromRaw(r: Raw): SectorDealRow {
  return {
    seq: r.seq,
    miner: r.miner,
    number: r.number,
    idx: r.idx,
    kind: r.kind,
    dealId: r.deal_id,
    allocationId: r.allocation_id,
    pieceCid: r.piece_cid,
    pieceSize: r.piece_size,
    payloadSize: r.payload_size,
    offset: r.piece_offset,
    client: r.client,
    startEpoch: r.start_epoch,
    endEpoch: r.end_epoch,
    state: r.state,
    assignedAt: r.assigned_at,
    releasedAt: r.released_at,
    releaseError: r.release_error,
    releaseAttempts: r.release_attempts,
  };
}

/** A row as AcquireDeals writes it. */
export type NewDealRow = Omit<SectorDealRow, 'seq' | 'releasedAt' | 'releaseError' | 'releaseAttempts'>;

/** Most characters of a release error kept (a market's message is not trusted to be short). */
const ERROR_MAX = 300;

export class DealStore {
  private readonly st;

  constructor(readonly db: Db) {
    applySchema(db, 'market', [ddl(SCHEMA)]);
    this.st = {
      insert: db.prepare(
        `INSERT INTO sector_deals (miner, number, idx, kind, deal_id, allocation_id, piece_cid, piece_size,
           payload_size, piece_offset, client, start_epoch, end_epoch, state, assigned_at)
         VALUES (@miner, @number, @idx, @kind, @dealId, @allocationId, @pieceCid, @pieceSize, @payloadSize, @offset,
           @client, @startEpoch, @endEpoch, @state, @assignedAt)`,
      ),
      ofSector: db.prepare('SELECT * FROM sector_deals WHERE miner = ? AND number = ? ORDER BY seq'),
      markReleasing: db.prepare(
        `UPDATE sector_deals SET state = 'releasing' WHERE miner = ? AND number = ? AND state = 'assigned'`,
      ),
      pending: db.prepare(`SELECT * FROM sector_deals WHERE state = 'releasing' ORDER BY seq LIMIT ?`),
      countPending: db.prepare(`SELECT count(*) AS n FROM sector_deals WHERE state = 'releasing'`),
      finish: db.prepare(
        `UPDATE sector_deals SET state = @state, released_at = @at, release_error = @error,
           release_attempts = release_attempts + 1
         WHERE seq = @seq AND state = 'releasing'`,
      ),
      failed: db.prepare(
        `UPDATE sector_deals SET release_error = @error, release_attempts = release_attempts + 1
         WHERE seq = @seq AND state = 'releasing'`,
      ),
      byPiece: db.prepare('SELECT * FROM sector_deals WHERE piece_cid = ? ORDER BY seq LIMIT 100'),
      recent: db.prepare('SELECT * FROM sector_deals ORDER BY seq DESC LIMIT ?'),
    };
  }

  /** Records deals of a sector (call inside the transaction that stores the sector's Pieces). */
  add(rows: NewDealRow[]): void {
    for (const r of rows) this.st.insert.run(r);
  }

  ofSector(miner: number, number: number): SectorDealRow[] {
    return (this.st.ofSector.all(miner, number) as Raw[]).map(fromRaw);
  }

  /** The sector's assigned deals become due for release; returns how many. */
  markReleasing(miner: number, number: number): number {
    return this.st.markReleasing.run(miner, number).changes;
  }

  /** Deals due for release, oldest sectors first. */
  pendingReleases(limit = 1000): SectorDealRow[] {
    return (this.st.pending.all(limit) as Raw[]).map(fromRaw);
  }

  countPendingReleases(): number {
    return (this.st.countPending.get() as { n: number }).n;
  }

  /** The market took the deals back (`released`) or refused to (`refused`, with its reason). */
  finishRelease(rows: SectorDealRow[], state: 'released' | 'refused', error: string | null, at = Date.now()): void {
    const e = error === null ? null : error.slice(0, ERROR_MAX);
    this.db.tx(() => {
      for (const r of rows) this.st.finish.run({ state, at, error: e, seq: r.seq });
    });
  }

  /** A release attempt that did not reach the market: still due, the reason kept. */
  releaseFailed(rows: SectorDealRow[], error: string): void {
    const e = error.slice(0, ERROR_MAX);
    this.db.tx(() => {
      for (const r of rows) this.st.failed.run({ error: e, seq: r.seq });
    });
  }

  /** Sectors holding a piece (at most 100 rows). */
  byPiece(pieceCid: string): SectorDealRow[] {
    return (this.st.byPiece.all(pieceCid) as Raw[]).map(fromRaw);
  }

  /** The latest assigned deals (the dashboard's list). */
  recent(limit = 100): SectorDealRow[] {
    return (this.st.recent.all(Math.max(1, Math.min(limit, 1000))) as Raw[]).map(fromRaw);
  }
}
