/**
 * `[SignRecorder]`: a record of every sign request the wallet answered (signed, refused by the filter, or failed),
 * in the keystore's SQLite file, in the original's `sign_record` table layout, so `ListSignedRecord` answers the
 * same on both. Records older than KeepDuration are deleted at start and every hour. Records hold what was signed
 * (the message CBOR, or the raw bytes) and the signature, never key material.
 */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { QuerySignRecordParams, SignRecord } from '../api/wallet.js';
import { logger } from '../common/log.js';
import { parseAddress, type Signature, toBase64 } from '../fil/index.js';
import { WalletError } from './keystore.js';

const log = logger('wallet');

const SCHEMA = `
CREATE TABLE IF NOT EXISTS sign_record (
  id VARCHAR(256) PRIMARY KEY NOT NULL,
  created_at DATETIME,
  type TEXT,
  signer VARCHAR(256) NOT NULL,
  err VARCHAR(256) DEFAULT NULL,
  raw_msg BLOB DEFAULT NULL,
  signature_type INTEGER,
  signature_data BLOB
);
CREATE INDEX IF NOT EXISTS idx_sign_record_created_at ON sign_record(created_at);
CREATE INDEX IF NOT EXISTS idx_sign_record_type ON sign_record(type);
CREATE INDEX IF NOT EXISTS idx_sign_record_signer ON sign_record(signer);
`;

/** At most this many records per ListSignedRecord answer (Limit above it, or 0, is capped). */
export const MAX_RECORDS_PER_QUERY = 1000;
const PRUNE_EVERY_MS = 60 * 60_000;

export interface SignRecordInput {
  type: string;
  signer: string;
  rawMsg: Uint8Array | undefined;
  signature?: Signature;
  err?: string;
}

interface Row {
  id: string;
  created_at: string;
  type: string;
  signer: string;
  err: string | null;
  raw_msg: Buffer | null;
  signature_type: number | null;
  signature_data: Buffer | null;
}

function timeArg(v: unknown, what: string): string | undefined {
  if (v === undefined || v === null || v === '' || v === '0001-01-01T00:00:00Z') return undefined;
  if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) {
    throw new WalletError(`${what} must be an RFC 3339 time, got ${JSON.stringify(v)}`, 'invalid');
  }
  return new Date(v).toISOString();
}

function intArg(v: unknown, what: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new WalletError(`${what} must be a non-negative integer, got ${JSON.stringify(v)}`, 'invalid');
  }
  return v;
}

function strArg(v: unknown, what: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string' || v.length > 256) throw new WalletError(`${what} must be a short string`, 'invalid');
  return v;
}

export class SignRecorder {
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly db: Database.Database,
    private readonly keepMs: number,
    private readonly now: () => number = Date.now,
  ) {
    db.exec(SCHEMA);
    this.prune();
    this.timer = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** Records one answered request. A failure to record is logged, never fails the signature. */
  record(r: SignRecordInput): void {
    try {
      this.db
        .prepare(
          'INSERT INTO sign_record (id, created_at, type, signer, err, raw_msg, signature_type, signature_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          randomUUID(),
          new Date(this.now()).toISOString(),
          r.type,
          r.signer,
          r.err === undefined ? null : r.err.slice(0, 256),
          r.rawMsg ? Buffer.from(r.rawMsg) : null,
          r.signature ? r.signature.type : null,
          r.signature ? Buffer.from(r.signature.data) : null,
        );
    } catch (err) {
      log.error({ err: (err as Error).message, signer: r.signer, type: r.type }, 'cannot record a sign request');
    }
  }

  /** ListSignedRecord: newest first, with the original's filters (an ID alone ignores the others). */
  query(p: QuerySignRecordParams | null | undefined): SignRecord[] {
    if (p !== undefined && p !== null && (typeof p !== 'object' || Array.isArray(p))) {
      throw new WalletError('params must be an object (QuerySignRecordParams)', 'invalid');
    }
    const q = p ?? {};
    const where: string[] = [];
    const args: unknown[] = [];
    const id = strArg(q.ID, 'ID');
    let skip = 0;
    let limit = MAX_RECORDS_PER_QUERY;
    if (id) {
      where.push('id = ?');
      args.push(id);
    } else {
      const signer = strArg(q.Signer, 'Signer');
      if (signer) {
        let a: ReturnType<typeof parseAddress>;
        try {
          a = parseAddress(signer);
        } catch (err) {
          throw new WalletError(`Signer: ${(err as Error).message}`, 'invalid');
        }
        // recorded with the wallet's prefix; match either
        where.push('(signer = ? OR signer = ?)');
        args.push(a.toString('f'), a.toString('t'));
      }
      const after = timeArg(q.After, 'After');
      if (after) {
        where.push('created_at >= ?');
        args.push(after);
      }
      const before = timeArg(q.Before, 'Before');
      if (before) {
        where.push('created_at <= ?');
        args.push(before);
      }
      if (q.IsError !== undefined && q.IsError !== null && typeof q.IsError !== 'boolean') {
        throw new WalletError('IsError must be a boolean', 'invalid');
      }
      if (q.IsError) where.push('err IS NOT NULL');
      const type = strArg(q.Type, 'Type');
      if (type) {
        where.push('type = ?');
        args.push(type);
      }
      skip = intArg(q.Skip, 'Skip');
      const l = intArg(q.Limit, 'Limit');
      if (l > 0) limit = Math.min(l, MAX_RECORDS_PER_QUERY);
    }
    const sql = `SELECT * FROM sign_record ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?`;
    const rows = this.db.prepare(sql).all(...args, limit, skip) as Row[];
    return rows.map((r) => ({
      ID: r.id,
      Type: r.type,
      Signer: r.signer,
      Err: r.err,
      RawMsg: r.raw_msg ? toBase64(r.raw_msg) : null,
      Signature:
        r.signature_type !== null && r.signature_data
          ? { Type: r.signature_type, Data: toBase64(r.signature_data) }
          : null,
      CreateAt: r.created_at,
    }));
  }

  /** Deletes records older than KeepDuration (0 keeps them forever). */
  prune(): number {
    if (this.keepMs <= 0) return 0;
    try {
      const cutoff = new Date(this.now() - this.keepMs).toISOString();
      const n = this.db.prepare('DELETE FROM sign_record WHERE created_at < ?').run(cutoff).changes;
      if (n > 0) log.info({ deleted: n }, 'old sign records deleted ([SignRecorder] KeepDuration)');
      return n;
    } catch (err) {
      log.error({ err: (err as Error).message }, 'cannot delete old sign records');
      return 0;
    }
  }
}
