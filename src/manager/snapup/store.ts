/**
 * SnapUp records in the manager's database (tables created here: additive, older builds ignore them;
 * docs/snapup-manager.md):
 *
 * - `snapup_candidates`: active committed-capacity sectors `util sealer snap fetch` found on chain, one row each
 *   until an upgrade of it ends;
 * - `snapup_sectors`: one row per upgrade under way — the seal store it was handed to, what the worker submitted,
 *   the ProveReplicaUpdates3 message id (written before the push), the landing epoch, and the end.
 */
import type {
  CidJson,
  SectorID,
  SectorPublicInfo,
  SnapUpCandidateInfo,
  SnapUpOnChainInfo,
  WorkerIdentifier,
} from '../../api/sealer.js';
import { applySchema, ddl } from '../sql/schema.js';
import type { Db } from '../sql/types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS snapup_candidates (
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  proof_type INTEGER NOT NULL,
  sealed_cid TEXT NOT NULL,
  activation INTEGER NOT NULL,
  expiration INTEGER NOT NULL,
  deadline INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (miner, number)
);
CREATE TABLE IF NOT EXISTS snapup_sectors (
  miner INTEGER NOT NULL,
  number INTEGER NOT NULL,
  phase TEXT NOT NULL,
  instance TEXT NOT NULL,
  location TEXT NOT NULL,
  public TEXT NOT NULL,
  access TEXT NOT NULL,
  submitted TEXT,
  message_id TEXT,
  pushed INTEGER NOT NULL DEFAULT 0,
  landed_epoch INTEGER,
  error TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (miner, number)
);
`;

/**
 * allocated: handed to a snapup thread (deals acquired); submitted: the proof is recorded, the message not yet;
 * sent: ProveReplicaUpdates3 recorded (and pushed when `pushed`); landed: executed with the wanted confidence;
 * failed: the chain refused it for good (the reason in `error`); done: landed, persisted, sector key cleaned up.
 */
export type SnapPhase = 'allocated' | 'submitted' | 'sent' | 'landed' | 'failed' | 'done';

export interface SnapCandidate {
  sid: SectorID;
  proofType: number;
  sealedCid: string;
  activation: number;
  expiration: number;
  deadline: number;
}

export interface SnapSector {
  sid: SectorID;
  phase: SnapPhase;
  /** the seal store it was handed to ("" when the worker did not say) */
  worker: WorkerIdentifier;
  public: SectorPublicInfo;
  /** the persist store holding the sector key (the CC replica) */
  access: string;
  submitted: SnapUpOnChainInfo | null;
  messageId: string | null;
  pushed: boolean;
  landedEpoch: number | null;
  error: string | null;
}

interface CandRow {
  miner: number;
  number: number;
  proof_type: number;
  sealed_cid: string;
  activation: number;
  expiration: number;
  deadline: number;
}

interface SnapRow {
  miner: number;
  number: number;
  phase: string;
  instance: string;
  location: string;
  public: string;
  access: string;
  submitted: string | null;
  message_id: string | null;
  pushed: number;
  landed_epoch: number | null;
  error: string | null;
}

const toCand = (r: CandRow): SnapCandidate => ({
  sid: { Miner: r.miner, Number: r.number },
  proofType: r.proof_type,
  sealedCid: r.sealed_cid,
  activation: r.activation,
  expiration: r.expiration,
  deadline: r.deadline,
});

const toSnap = (r: SnapRow): SnapSector => ({
  sid: { Miner: r.miner, Number: r.number },
  phase: r.phase as SnapPhase,
  worker: { Instance: r.instance, Location: r.location },
  public: JSON.parse(r.public) as SectorPublicInfo,
  access: r.access,
  submitted: r.submitted ? (JSON.parse(r.submitted) as SnapUpOnChainInfo) : null,
  messageId: r.message_id,
  pushed: r.pushed === 1,
  landedEpoch: r.landed_epoch,
  error: r.error,
});

export class SnapStore {
  private readonly q;

  constructor(db: Db) {
    applySchema(db, 'snapup', [ddl(SCHEMA)]);
    this.q = {
      putCand: db.prepare(
        `INSERT INTO snapup_candidates (miner, number, proof_type, sealed_cid, activation, expiration, deadline, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (miner, number) DO UPDATE SET sealed_cid = excluded.sealed_cid, expiration = excluded.expiration,
           deadline = excluded.deadline`,
      ),
      hasCand: db.prepare('SELECT 1 FROM snapup_candidates WHERE miner = ? AND number = ?'),
      candsOf: db.prepare('SELECT * FROM snapup_candidates WHERE miner = ? ORDER BY number'),
      allCands: db.prepare('SELECT * FROM snapup_candidates ORDER BY created_at, miner, number'),
      delCand: db.prepare('DELETE FROM snapup_candidates WHERE miner = ? AND number = ?'),
      getSnap: db.prepare('SELECT * FROM snapup_sectors WHERE miner = ? AND number = ?'),
      snapsOf: db.prepare(
        'SELECT * FROM snapup_sectors WHERE instance = ? AND location = ? AND phase = ? ORDER BY miner, number',
      ),
      active: db.prepare(
        "SELECT * FROM snapup_sectors WHERE phase IN ('submitted', 'sent', 'landed') ORDER BY miner, number",
      ),
      putSnap: db.prepare(
        `INSERT INTO snapup_sectors (miner, number, phase, instance, location, public, access, updated_at)
         VALUES (?, ?, 'allocated', ?, ?, ?, ?, ?)`,
      ),
      setSubmitted: db.prepare(
        "UPDATE snapup_sectors SET phase = 'submitted', submitted = ?, error = NULL, updated_at = ? WHERE miner = ? AND number = ?",
      ),
      setSent: db.prepare(
        "UPDATE snapup_sectors SET phase = 'sent', message_id = ?, pushed = 0, updated_at = ? WHERE miner = ? AND number = ?",
      ),
      setPushed: db.prepare('UPDATE snapup_sectors SET pushed = 1, updated_at = ? WHERE miner = ? AND number = ?'),
      setLanded: db.prepare(
        "UPDATE snapup_sectors SET phase = 'landed', landed_epoch = ?, updated_at = ? WHERE miner = ? AND number = ?",
      ),
      setError: db.prepare('UPDATE snapup_sectors SET error = ?, updated_at = ? WHERE miner = ? AND number = ?'),
      setFailed: db.prepare(
        "UPDATE snapup_sectors SET phase = 'failed', error = ?, updated_at = ? WHERE miner = ? AND number = ?",
      ),
      setDone: db.prepare(
        "UPDATE snapup_sectors SET phase = 'done', error = NULL, updated_at = ? WHERE miner = ? AND number = ?",
      ),
      delSnap: db.prepare('DELETE FROM snapup_sectors WHERE miner = ? AND number = ?'),
    };
  }

  /** Adds (or refreshes) a candidate; true when it is new. */
  putCandidate(c: SnapCandidate, at = Date.now()): boolean {
    const had = this.q.hasCand.get(c.sid.Miner, c.sid.Number) !== undefined;
    this.q.putCand.run(c.sid.Miner, c.sid.Number, c.proofType, c.sealedCid, c.activation, c.expiration, c.deadline, at);
    return !had;
  }

  candidates(miner?: number): SnapCandidate[] {
    const rows = (miner === undefined ? this.q.allCands.all() : this.q.candsOf.all(miner)) as CandRow[];
    return rows.map(toCand);
  }

  removeCandidate(sid: SectorID): void {
    this.q.delCand.run(sid.Miner, sid.Number);
  }

  get(sid: SectorID): SnapSector | undefined {
    const r = this.q.getSnap.get(sid.Miner, sid.Number) as SnapRow | undefined;
    return r ? toSnap(r) : undefined;
  }

  /** Upgrades handed to this seal store that the worker has not submitted yet. */
  allocatedTo(w: WorkerIdentifier): SnapSector[] {
    return (this.q.snapsOf.all(w.Instance, w.Location, 'allocated') as SnapRow[]).map(toSnap);
  }

  /** Upgrades the committer follows: submitted, sent or landed. */
  active(): SnapSector[] {
    return (this.q.active.all() as SnapRow[]).map(toSnap);
  }

  add(sid: SectorID, w: WorkerIdentifier, pub: SectorPublicInfo, access: string, at = Date.now()): void {
    this.q.putSnap.run(sid.Miner, sid.Number, w.Instance, w.Location, JSON.stringify(pub), access, at);
  }

  submitted(sid: SectorID, info: SnapUpOnChainInfo): void {
    this.q.setSubmitted.run(JSON.stringify(info), Date.now(), sid.Miner, sid.Number);
  }

  sent(sid: SectorID, messageId: string): void {
    this.q.setSent.run(messageId, Date.now(), sid.Miner, sid.Number);
  }

  pushed(sid: SectorID): void {
    this.q.setPushed.run(Date.now(), sid.Miner, sid.Number);
  }

  landed(sid: SectorID, epoch: number): void {
    this.q.setLanded.run(epoch, Date.now(), sid.Miner, sid.Number);
  }

  error(sid: SectorID, why: string | null): void {
    this.q.setError.run(why, Date.now(), sid.Miner, sid.Number);
  }

  failed(sid: SectorID, why: string): void {
    this.q.setFailed.run(why, Date.now(), sid.Miner, sid.Number);
  }

  done(sid: SectorID): void {
    this.q.setDone.run(Date.now(), sid.Miner, sid.Number);
  }

  remove(sid: SectorID): void {
    this.q.delSnap.run(sid.Miner, sid.Number);
  }

  /** The candidate list as the CLI shows it. */
  listed(miner: number): SnapUpCandidateInfo[] {
    return this.candidates(miner).map((c) => {
      const s = this.get(c.sid);
      const cid: CidJson = { '/': c.sealedCid };
      return {
        Sector: c.sid,
        ProofType: c.proofType,
        SealedCID: cid,
        Activation: c.activation,
        Expiration: c.expiration,
        Deadline: c.deadline,
        State: s ? s.phase : '',
      };
    });
  }
}
