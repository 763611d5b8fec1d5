/**
 * The market's tables in the devnet's SQLite database (chain.db), next to the chain and the messager: one row
 * per deal (builtin-market or direct), and one row per sector assignment so that a sector asking again gets the
 * same pieces. Every change of assignment (deal state, sector, offset, the assignment row) is one transaction.
 */
import type Database from 'better-sqlite3';

/**
 * Deal states, in droplet's terms (docs/deals-market.md):
 *   publishing  builtin: PublishStorageDeals pushed, not yet on chain
 *   waiting     ready to be sealed (builtin: published, awaiting pre-commit; direct: allocated)
 *   sealing     assigned to a sector at an offset
 *   active      the chain shows the deal (or the claim) activated
 *   expired     not sealed before its start epoch / allocation expiration, or ended after activation
 *   slashed     the chain slashed it (sector terminated)
 *   failed      the publish message failed, or the deal was refused
 */
export type DealState = 'publishing' | 'waiting' | 'sealing' | 'active' | 'expired' | 'slashed' | 'failed';
export type DealKind = 'market' | 'ddo';

export interface DealRow {
  id: number;
  kind: DealKind;
  /** builtin: the chain's deal id once published (0 before; the chain's first deal is 0 too) */
  deal_id: number;
  /** direct: the allocation id; builtin verified: the allocation the market actor made (0 if none known) */
  allocation_id: number;
  /** builtin: the proposal CID (unique) */
  proposal_cid: string | null;
  /** builtin: the PublishStorageDeals message CID */
  publish_cid: string | null;
  /** builtin: the messager id of the publish message */
  msg_id: string | null;
  /** builtin: the signed proposal (JSON) the client sent */
  proposal: string | null;
  piece_cid: string;
  piece_size: number;
  payload_size: number;
  client: string;
  /** the provider's ID address (t0…) */
  provider: string;
  provider_id: number;
  verified: number;
  start_epoch: number;
  end_epoch: number;
  /** direct: the allocation's claim term bounds and expiration */
  term_min: number | null;
  term_max: number | null;
  alloc_expiration: number | null;
  state: DealState;
  sector: number | null;
  offset: number | null;
  activation_epoch: number | null;
  /** why the deal is failed/expired/slashed */
  reason: string | null;
  created: number;
  updated: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS market_deals (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL CHECK (kind IN ('market', 'ddo')),
  deal_id INTEGER NOT NULL DEFAULT 0,
  allocation_id INTEGER NOT NULL DEFAULT 0,
  proposal_cid TEXT UNIQUE,
  publish_cid TEXT,
  msg_id TEXT,
  proposal TEXT,
  piece_cid TEXT NOT NULL,
  piece_size INTEGER NOT NULL,
  payload_size INTEGER NOT NULL,
  client TEXT NOT NULL,
  provider TEXT NOT NULL,
  provider_id INTEGER NOT NULL,
  verified INTEGER NOT NULL,
  start_epoch INTEGER NOT NULL,
  end_epoch INTEGER NOT NULL,
  term_min INTEGER,
  term_max INTEGER,
  alloc_expiration INTEGER,
  state TEXT NOT NULL,
  sector INTEGER,
  offset INTEGER,
  activation_epoch INTEGER,
  reason TEXT,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS market_deals_state ON market_deals(provider_id, state);
CREATE INDEX IF NOT EXISTS market_deals_piece ON market_deals(piece_cid);
CREATE UNIQUE INDEX IF NOT EXISTS market_deals_alloc ON market_deals(allocation_id) WHERE kind = 'ddo';
CREATE UNIQUE INDEX IF NOT EXISTS market_deals_dealid ON market_deals(deal_id) WHERE kind = 'market' AND state NOT IN ('publishing', 'failed');
CREATE TABLE IF NOT EXISTS market_assignments (
  miner INTEGER NOT NULL,
  sector INTEGER NOT NULL,
  pieces TEXT NOT NULL,          -- JSON MarketDealInfoV2[] exactly as answered
  created INTEGER NOT NULL,
  PRIMARY KEY (miner, sector)
);
`;

export function initMarketSchema(db: Database.Database): void {
  db.exec(SCHEMA);
}

export class DealStore {
  constructor(readonly db: Database.Database) {
    initMarketSchema(db);
  }

  get(id: number): DealRow | undefined {
    return this.db.prepare('SELECT * FROM market_deals WHERE id = ?').get(id) as DealRow | undefined;
  }

  byDealId(dealId: number): DealRow | undefined {
    // deal ids start at 0 on chain: only a published deal has one
    return this.db
      .prepare(
        "SELECT * FROM market_deals WHERE kind = 'market' AND state NOT IN ('publishing', 'failed') AND deal_id = ?",
      )
      .get(dealId) as DealRow | undefined;
  }

  byAllocation(allocationId: number): DealRow | undefined {
    return this.db.prepare("SELECT * FROM market_deals WHERE kind = 'ddo' AND allocation_id = ?").get(allocationId) as
      | DealRow
      | undefined;
  }

  byProposal(proposalCid: string): DealRow | undefined {
    return this.db.prepare('SELECT * FROM market_deals WHERE proposal_cid = ?').get(proposalCid) as DealRow | undefined;
  }

  byPiece(pieceCid: string): DealRow[] {
    return this.db.prepare('SELECT * FROM market_deals WHERE piece_cid = ? ORDER BY id').all(pieceCid) as DealRow[];
  }

  inState(...states: DealState[]): DealRow[] {
    return this.db
      .prepare(`SELECT * FROM market_deals WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY id`)
      .all(...states) as DealRow[];
  }

  all(): DealRow[] {
    return this.db.prepare('SELECT * FROM market_deals ORDER BY id').all() as DealRow[];
  }

  insert(d: Omit<DealRow, 'id' | 'created' | 'updated'>): DealRow {
    const now = Date.now();
    const row = { ...d, created: now, updated: now };
    const cols = Object.keys(row);
    const info = this.db
      .prepare(`INSERT INTO market_deals (${cols.join(',')}) VALUES (${cols.map((c) => `@${c}`).join(',')})`)
      .run(row);
    return this.get(Number(info.lastInsertRowid))!;
  }

  /** Updates the columns given; with `from`, only while the deal is still in that state (returns false if not). */
  update(id: number, set: Partial<Omit<DealRow, 'id'>>, from?: DealState): boolean {
    const cols = Object.keys(set);
    const sql = `UPDATE market_deals SET ${cols.map((c) => `${c} = @${c}`).join(', ')}, updated = @updated WHERE id = @id${
      from ? ' AND state = @from' : ''
    }`;
    const r = this.db.prepare(sql).run({ ...set, id, updated: Date.now(), ...(from ? { from } : {}) });
    return r.changes === 1;
  }

  assignment(miner: number, sector: number): string | undefined {
    const r = this.db
      .prepare('SELECT pieces FROM market_assignments WHERE miner = ? AND sector = ?')
      .get(miner, sector) as { pieces: string } | undefined;
    return r?.pieces;
  }

  saveAssignment(miner: number, sector: number, pieces: string): void {
    this.db
      .prepare('INSERT INTO market_assignments (miner, sector, pieces, created) VALUES (?, ?, ?, ?)')
      .run(miner, sector, pieces, Date.now());
  }

  dropAssignment(miner: number, sector: number): void {
    this.db.prepare('DELETE FROM market_assignments WHERE miner = ? AND sector = ?').run(miner, sector);
  }
}
