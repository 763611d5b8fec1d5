/**
 * The wallet's key database: SQLite, venus-wallet's `wallets` table layout (docs/spec/chain.md §Wallet keystore), so an
 * original `keystore.sqlit` opens here and vice versa. Every write is one transaction with synchronous=FULL: a crash at
 * any instant leaves either the whole key or nothing, and a full disk fails the write without touching stored keys.
 *
 * The password is never stored. A separate `password_check` row (a random value encrypted like a key) lets us tell
 * a wrong password from a corrupted key, and lets `setpwd` refuse to replace a password already set.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { restrictMode } from './files.js';
import {
  type CryptoJSON,
  decryptKey,
  encryptKey,
  type KdfParams,
  KeystoreMacError,
  passphraseOf,
} from './keystore-crypto.js';

export interface StoredKey {
  /** The key type as venus-wallet writes it: "bls", "secp256k1", "delegated". */
  type: string;
  privateKey: Uint8Array;
}

/** Errors an operator sees through the API and CLI; messages match the original where it has one. */
export class WalletError extends Error {
  constructor(
    message: string,
    /** Why, for callers that branch on it (not `code`: the RPC layer reads a string `code` as a system error). */
    readonly reason:
      | 'locked'
      | 'no-password'
      | 'wrong-password'
      | 'rate-limited'
      | 'not-found'
      | 'exists'
      | 'corrupt'
      | 'storage'
      | 'password-set'
      | 'invalid'
      | 'refused',
  ) {
    super(message);
    this.name = 'WalletError';
  }
}

interface Row {
  address: string;
  private_key: Buffer;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS wallets (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at DATETIME,
  updated_at DATETIME,
  deleted_at DATETIME,
  address VARCHAR(255),
  private_key BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_wallets_address ON wallets(address);
CREATE TABLE IF NOT EXISTS password_check (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  crypto TEXT NOT NULL
);
`;

/** Wrong-password attempts allowed before each further attempt must wait (doubling, capped). */
const FREE_ATTEMPTS = 3;
const MAX_BACKOFF_MS = 5 * 60_000;
/**
 * Wrong passwords are counted per source (the caller's address and token, see service.ts), so one client guessing
 * cannot lock out the operator's CLI: only its own attempts wait. The table is bounded; sources whose wait is
 * over are forgotten first.
 */
const MAX_SOURCES = 1024;
/** The source of calls made in-process (run --password, tests). */
export const LOCAL_SOURCE = 'local';

interface Backoff {
  failures: number;
  retryAt: number;
}

function storageError(err: unknown, what: string): WalletError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'SQLITE_FULL') return new WalletError(`${what}: disk full; stored keys are intact`, 'storage');
  if (code === 'SQLITE_CONSTRAINT_UNIQUE') return new WalletError(`${what}: key already exists`, 'exists');
  return new WalletError(`${what}: ${(err as Error).message}`, 'storage');
}

export class KeyStore {
  private readonly db: Database.Database;
  private passphrase: Uint8Array | undefined;
  private readonly cache = new Map<string, StoredKey>();
  private readonly backoff = new Map<string, Backoff>();

  constructor(
    path: string,
    private readonly kdf: KdfParams,
    private readonly now: () => number = Date.now,
  ) {
    // created 0600 before SQLite opens it: the rows are the encrypted keys and the password check, which a reader
    // could attack offline
    if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    // a deleted key's bytes are overwritten, not left in free pages
    this.db.pragma('secure_delete = ON');
    this.db.exec(SCHEMA);
    for (const f of [path, `${path}-wal`, `${path}-shm`]) restrictMode(f, 0o600);
  }

  close(): void {
    this.lockNow();
    this.db.close();
  }

  /** The SQLite handle, for the sign records kept in the same file ([SignRecorder]). */
  get database(): Database.Database {
    return this.db;
  }

  /** True once a password exists: set here, or implied by keys imported from an original keystore. */
  hasPassword(): boolean {
    return this.passwordCheck() !== undefined || this.count() > 0;
  }

  isLocked(): boolean {
    return this.passphrase === undefined;
  }

  /** Sets the first password and unlocks. Refuses when one is already set (use unlock, or change with the old one). */
  async setPassword(password: string, source = LOCAL_SOURCE): Promise<void> {
    if (!password) throw new WalletError('password must not be empty', 'wrong-password');
    if (this.passwordCheck() !== undefined) throw new WalletError('password already set', 'password-set');
    const phrase = passphraseOf(password);
    // A keystore carried over from the original has keys but no check row: the password must open them.
    const first = this.rows()[0];
    if (first) await this.attempt(source, () => decryptKey(phrase, parseStored(first).crypto));
    const check = await encryptKey(phrase, randomBytes(32), this.kdf);
    this.db.prepare('INSERT INTO password_check (id, crypto) VALUES (1, ?)').run(JSON.stringify(check));
    this.passphrase = phrase;
  }

  /** Replaces the password: every key is re-encrypted in one transaction. */
  async changePassword(oldPassword: string, newPassword: string, source = LOCAL_SOURCE): Promise<void> {
    if (!newPassword) throw new WalletError('password must not be empty', 'wrong-password');
    await this.verifyPassword(oldPassword, source);
    const oldPhrase = passphraseOf(oldPassword);
    const newPhrase = passphraseOf(newPassword);
    const updates: Array<[string, Buffer]> = [];
    for (const row of this.rows()) {
      const { type, crypto } = parseStored(row);
      const plain = await decryptKey(oldPhrase, crypto);
      updates.push([row.address, encodeStored(type, await encryptKey(newPhrase, plain, this.kdf))]);
      plain.fill(0);
    }
    const check = JSON.stringify(await encryptKey(newPhrase, randomBytes(32), this.kdf));
    try {
      this.db.transaction(() => {
        const up = this.db.prepare(
          "UPDATE wallets SET private_key = ?, updated_at = datetime('now') WHERE address = ?",
        );
        for (const [addr, blob] of updates) up.run(blob, addr);
        this.db.prepare('INSERT OR REPLACE INTO password_check (id, crypto) VALUES (1, ?)').run(check);
      })();
    } catch (err) {
      throw storageError(err, 'cannot change password');
    }
    this.cache.clear();
    this.passphrase = newPhrase;
  }

  /** Checks a password without changing the lock state. Wrong passwords are rate limited. */
  async verifyPassword(password: string, source = LOCAL_SOURCE): Promise<void> {
    const check = this.passwordCheck();
    const phrase = passphraseOf(password);
    if (check) {
      await this.attempt(source, () => decryptKey(phrase, check));
      return;
    }
    const first = this.rows()[0];
    if (!first) throw new WalletError('password not set', 'no-password');
    await this.attempt(source, () => decryptKey(phrase, parseStored(first).crypto));
  }

  async unlock(password: string, source = LOCAL_SOURCE): Promise<void> {
    await this.verifyPassword(password, source);
    this.passphrase = passphraseOf(password);
  }

  /** Locking needs the password too, as in the original, so a stolen token cannot lock the operator out. */
  async lock(password: string, source = LOCAL_SOURCE): Promise<void> {
    await this.verifyPassword(password, source);
    this.lockNow();
  }

  private lockNow(): void {
    for (const k of this.cache.values()) k.privateKey.fill(0);
    this.cache.clear();
    this.passphrase?.fill(0);
    this.passphrase = undefined;
  }

  private async attempt(source: string, fn: () => Promise<unknown>): Promise<void> {
    const now = this.now();
    const b = this.backoff.get(source);
    if (b && now < b.retryAt) {
      const s = Math.ceil((b.retryAt - now) / 1000);
      throw new WalletError(`too many wrong passwords; try again in ${s}s`, 'rate-limited');
    }
    try {
      await fn();
      this.backoff.delete(source);
    } catch (err) {
      if (!(err instanceof KeystoreMacError)) throw err;
      const next = this.backoff.get(source) ?? { failures: 0, retryAt: 0 };
      next.failures++;
      if (next.failures >= FREE_ATTEMPTS) {
        next.retryAt = this.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(30, next.failures - FREE_ATTEMPTS));
      }
      this.backoff.delete(source);
      this.backoff.set(source, next);
      this.pruneBackoff();
      throw new WalletError('wrong password', 'wrong-password');
    }
  }

  /** Keeps the per-source table bounded: forget sources whose wait is over, then the oldest. */
  private pruneBackoff(): void {
    if (this.backoff.size <= MAX_SOURCES) return;
    const now = this.now();
    for (const [k, v] of this.backoff) if (v.retryAt <= now && v.failures < FREE_ATTEMPTS) this.backoff.delete(k);
    for (const k of this.backoff.keys()) {
      if (this.backoff.size <= MAX_SOURCES) break;
      this.backoff.delete(k);
    }
  }

  private requirePassphrase(): Uint8Array {
    if (this.passphrase) return this.passphrase;
    if (!this.hasPassword()) throw new WalletError('password not set', 'no-password');
    throw new WalletError('wallet locked', 'locked');
  }

  /** Stores a new key under its short address (no network prefix, as the original). */
  async put(address: string, key: StoredKey, display = address): Promise<void> {
    // A copy: lock() wipes the passphrase, and must not do so under an encryption in progress.
    const phrase = Uint8Array.from(this.requirePassphrase());
    try {
      if (this.has(address)) throw new WalletError(`key ${display} already exists`, 'exists');
      const blob = encodeStored(key.type, await encryptKey(phrase, key.privateKey, this.kdf));
      // Locked or re-keyed meanwhile: storing under the old passphrase would leave a key no password opens.
      const now = this.passphrase;
      if (!now || now.length !== phrase.length || !now.every((b, i) => b === phrase[i])) {
        throw new WalletError('wallet locked', 'locked');
      }
      try {
        this.db
          .prepare(
            "INSERT INTO wallets (created_at, updated_at, address, private_key) VALUES (datetime('now'), datetime('now'), ?, ?)",
          )
          .run(address, blob);
      } catch (err) {
        throw storageError(err, `cannot store key ${display}`);
      }
    } finally {
      phrase.fill(0);
    }
    this.cache.set(address, { type: key.type, privateKey: Uint8Array.from(key.privateKey) });
  }

  /**
   * Decrypts a key (cached while unlocked). A key that fails its MAC under the right password is corrupt.
   * `display` names the key in errors (the full address; rows are keyed by the short one).
   */
  async get(address: string, display = address): Promise<StoredKey> {
    const hit = this.cache.get(address);
    if (hit && this.passphrase) return { type: hit.type, privateKey: Uint8Array.from(hit.privateKey) };
    // A copy: lock() wipes the passphrase, and must not do so under a decryption in progress.
    const phrase = Uint8Array.from(this.requirePassphrase());
    try {
      const row = this.db
        .prepare('SELECT address, private_key FROM wallets WHERE address = ? AND deleted_at IS NULL')
        .get(address) as Row | undefined;
      if (!row) throw new WalletError(`key not found: ${display}`, 'not-found');
      let stored: { type: string; crypto: CryptoJSON };
      let plain: Uint8Array;
      try {
        stored = parseStored(row);
        plain = await decryptKey(phrase, stored.crypto);
      } catch (err) {
        const why = err instanceof KeystoreMacError ? 'MAC mismatch' : (err as Error).message;
        throw new WalletError(`key ${display} is corrupted (${why}); other keys are unaffected`, 'corrupt');
      }
      // cache only while still unlocked: a key decrypted across a lock() must not outlive it in memory
      if (this.passphrase) this.cache.set(address, { type: stored.type, privateKey: Uint8Array.from(plain) });
      return { type: stored.type, privateKey: plain };
    } finally {
      phrase.fill(0);
    }
  }

  has(address: string): boolean {
    return this.db.prepare('SELECT 1 FROM wallets WHERE address = ? AND deleted_at IS NULL').get(address) !== undefined;
  }

  list(): string[] {
    return this.rows().map((r) => r.address);
  }

  delete(address: string): void {
    this.requirePassphrase();
    const r = this.db.prepare('DELETE FROM wallets WHERE address = ?').run(address);
    if (r.changes === 0) throw new WalletError(`key not found: ${address}`, 'not-found');
    this.cache.get(address)?.privateKey.fill(0);
    this.cache.delete(address);
  }

  private count(): number {
    return (this.db.prepare('SELECT count(*) AS n FROM wallets WHERE deleted_at IS NULL').get() as { n: number }).n;
  }

  private rows(): Row[] {
    return this.db
      .prepare('SELECT address, private_key FROM wallets WHERE deleted_at IS NULL ORDER BY id')
      .all() as Row[];
  }

  private passwordCheck(): CryptoJSON | undefined {
    const r = this.db.prepare('SELECT crypto FROM password_check WHERE id = 1').get() as { crypto: string } | undefined;
    return r ? (JSON.parse(r.crypto) as CryptoJSON) : undefined;
  }
}

/** The original's row format: JSON {"Type": t, "PrivateKey": base64(JSON of the CryptoJSON)}. */
function encodeStored(type: string, crypto: CryptoJSON): Buffer {
  const inner = Buffer.from(JSON.stringify(crypto)).toString('base64');
  return Buffer.from(JSON.stringify({ Type: type, PrivateKey: inner }));
}

function parseStored(row: Row): { type: string; crypto: CryptoJSON } {
  const outer = JSON.parse(Buffer.from(row.private_key).toString('utf8')) as { Type?: unknown; PrivateKey?: unknown };
  if (typeof outer.Type !== 'string' || typeof outer.PrivateKey !== 'string') throw new Error('malformed key row');
  const crypto = JSON.parse(Buffer.from(outer.PrivateKey, 'base64').toString('utf8')) as CryptoJSON;
  if (typeof crypto.ciphertext !== 'string' || typeof crypto.mac !== 'string') throw new Error('malformed key row');
  return { type: outer.Type, crypto };
}
