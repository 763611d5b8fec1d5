import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { KeyStore, WalletError } from './keystore.js';

const KDF = { scryptN: 1024, scryptP: 1 };
const dbPath = () => join(mkdtempSync(join(tmpdir(), 'ks-')), 'keystore.sqlit');
const code = (c: WalletError['reason']) => (e: unknown) => e instanceof WalletError && e.reason === c;
const key = (b: number) => ({ type: 'secp256k1', privateKey: new Uint8Array(32).fill(b) });

test('keys survive a reopen and need the password again', async () => {
  const p = dbPath();
  const ks = new KeyStore(p, KDF);
  await assert.rejects(ks.put('1abc', key(1)), code('no-password'));
  await ks.setPassword('pw');
  await ks.put('1abc', key(1));
  ks.close();
  const again = new KeyStore(p, KDF);
  assert.ok(again.isLocked());
  assert.deepEqual(again.list(), ['1abc']);
  await assert.rejects(again.get('1abc'), code('locked'));
  await assert.rejects(again.unlock('nope'), code('wrong-password'));
  await again.unlock('pw');
  assert.deepEqual((await again.get('1abc')).privateKey, key(1).privateKey);
  again.close();
});

test('setpwd twice refuses; lock needs the password', async () => {
  const ks = new KeyStore(dbPath(), KDF);
  await ks.setPassword('pw');
  await assert.rejects(ks.setPassword('other'), code('password-set'));
  await assert.rejects(ks.lock('other'), code('wrong-password'));
  await ks.lock('pw');
  assert.ok(ks.isLocked());
  ks.close();
});

test('the key row holds no plaintext key, in the original JSON-in-JSON layout', async () => {
  const p = dbPath();
  const ks = new KeyStore(p, KDF);
  await ks.setPassword('pw');
  await ks.put('3xyz', { type: 'bls', privateKey: new Uint8Array(32).fill(0xab) });
  ks.close();
  const db = new Database(p);
  const row = db.prepare('SELECT private_key FROM wallets').get() as { private_key: Buffer };
  db.close();
  assert.ok(!row.private_key.includes(Buffer.alloc(32, 0xab)));
  const outer = JSON.parse(row.private_key.toString());
  assert.equal(outer.Type, 'bls');
  const inner = JSON.parse(Buffer.from(outer.PrivateKey, 'base64').toString());
  assert.equal(inner.cipher, 'aes-128-ctr');
  assert.equal(inner.kdf, 'scrypt');
});

test('a corrupted key row gives a clear error and other keys still work', async () => {
  const p = dbPath();
  const ks = new KeyStore(p, KDF);
  await ks.setPassword('pw');
  await ks.put('1aaa', key(1));
  await ks.put('1bbb', key(2));
  ks.close();
  const db = new Database(p);
  db.prepare("UPDATE wallets SET private_key = X'7b7d' WHERE address = '1aaa'").run();
  db.close();
  const again = new KeyStore(p, KDF);
  await again.unlock('pw');
  await assert.rejects(again.get('1aaa'), (e: unknown) => code('corrupt')(e) && /1aaa is corrupted/.test(String(e)));
  assert.deepEqual((await again.get('1bbb')).privateKey, key(2).privateKey);
  again.close();
});

test('wrong passwords are rate limited after a few attempts', async () => {
  let t = 1_000_000;
  const ks = new KeyStore(dbPath(), KDF, () => t);
  await ks.setPassword('pw');
  for (let i = 0; i < 3; i++) await assert.rejects(ks.verifyPassword('bad'), code('wrong-password'));
  // even the right password waits out the backoff, so guessing through the API is throttled
  await assert.rejects(ks.verifyPassword('pw'), code('rate-limited'));
  t += 1500;
  await ks.verifyPassword('pw');
  ks.close();
});

test('the backoff is per source and capped at 5 minutes however long a source keeps guessing', async () => {
  let t = 1_000_000;
  const ks = new KeyStore(dbPath(), KDF, () => t);
  await ks.setPassword('pw');
  for (let i = 0; i < 40; i++) {
    await ks.verifyPassword('bad', 'intruder').catch(() => {});
    t += 5 * 60_000; // each wait served in full: the next guess is counted
  }
  await assert.rejects(ks.verifyPassword('bad', 'intruder'), code('wrong-password'));
  await assert.rejects(ks.verifyPassword('pw', 'intruder'), (e: unknown) => {
    const s = Number(/try again in (\d+)s/.exec(String(e))?.[1]);
    return code('rate-limited')(e) && s > 0 && s <= 300;
  });
  // the operator is another source: not delayed at all
  await ks.verifyPassword('pw');
  await ks.unlock('pw', 'operator-cli');
  t += 5 * 60_000 + 1;
  await ks.verifyPassword('pw', 'intruder');
  ks.close();
});

test('a keystore from the original (keys, no password check row) takes only its real password', async () => {
  const p = dbPath();
  const ks = new KeyStore(p, KDF);
  await ks.setPassword('orig');
  await ks.put('1ccc', key(3));
  ks.close();
  const db = new Database(p);
  db.exec('DELETE FROM password_check');
  db.close();
  const again = new KeyStore(p, KDF);
  assert.ok(again.hasPassword());
  await assert.rejects(again.setPassword('guess'), code('wrong-password'));
  await again.setPassword('orig');
  assert.deepEqual((await again.get('1ccc')).privateKey, key(3).privateKey);
  again.close();
});

test('changing the password re-encrypts every key', async () => {
  const p = dbPath();
  const ks = new KeyStore(p, KDF);
  await ks.setPassword('a');
  await ks.put('1ddd', key(4));
  await ks.changePassword('a', 'b');
  ks.close();
  const again = new KeyStore(p, KDF);
  await assert.rejects(again.unlock('a'), code('wrong-password'));
  await again.unlock('b');
  assert.deepEqual((await again.get('1ddd')).privateKey, key(4).privateKey);
  assert.throws(() => again.delete('1zzz'), code('not-found'));
  again.delete('1ddd');
  assert.deepEqual(again.list(), []);
  again.close();
});
