/**
 * The wallet's key and signing rules, checked against published vectors and independent verifiers.
 *
 * Vectors (docs/spec/chain.md §Test vectors; Zondax filecoin-signing-tools test_vectors):
 * - secp256k1: key 8VcW07…8Uo= → f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba; Message A CBOR
 *   8a0055…0040 → CID bafy2bzaceduq6pnk…; signature nFuTI7MxEXqT…WQA= (RFC 6979, low S).
 * - BLS: key 0x7Y0GGX92…1BI= → t3vxrizeiel2e2…ls7q; message CBOR 8a0055…40 → CID bafy2bzacebbcfkeq…;
 *   signature a3e507f8…6653.
 * Independent checks: @noble/curves used directly (not through src/fil), and the Zondax WASM verifySignature.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { blake2b } from '@noble/hashes/blake2.js';
import { verifyAddressSignBytes } from '../api/gateway.js';
import { setupLogging } from '../common/log.js';
import {
  blsSecretKeyBE,
  decodeMessage,
  encodeMessage,
  fromHex,
  generateKey,
  keyFromPrivate,
  messageCid,
  newMessage,
  parseAddress,
  toBase64,
  toHex,
} from '../fil/index.js';
import { KeyStore, WalletError } from './keystore.js';
import { networkOfNetType, Wallet } from './wallet.js';

setupLogging({ levelSpec: 'warn' });

const KDF = { scryptN: 1024, scryptP: 1 };
const zondax = createRequire(import.meta.url)('@zondax/filecoin-signing-tools') as {
  verifySignature(sigHex: string, cborHex: string): boolean;
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

// secp256k1 (Zondax)
const SECP_SK = b64('8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=');
const SECP_ADDR = 'f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba';
const MSG_A = fromHex(
  '8a005501fd1d0f4dfcd7e99afcb99a8326b7dc459d32c62855011eaf1c8a4bbfeeb0870b1745b1f57503470b71160144000186a01961a84200014200010040',
);
const CID_A = fromHex('0171a0e40220e90f3daa7e7f73cbc3d708f6d39f3a5eddba82743776a85c3743f39843b71aeb');
const SIG_A = 'nFuTI7MxEXqTQ0QmmQTmqbUsNZfHFXlNjz+susVDkAk1SrRCdJKxlVZZrM4vUtVBSYgtMIeigNfpqdKGIFhoWQA=';
// BLS (Zondax)
const BLS_SK = b64('0x7Y0GGX92MeWBF9mcWuR5EYPxe2dy60r8XIQOD31BI=');
const BLS_ADDR = 't3vxrizeiel2e2bxg3jhk62dlcutyc26fjnw6ua2sptu32dtjpwxbjawg666nqdngrkvvn45h7yb4qiya6ls7q';
const MSG_BLS = fromHex(
  '8a005501fd1d0f4dfcd7e99afcb99a8326b7dc459d32c628583103ade28c91045e89a0dcdb49d5ed0d62a4f02d78a96dbd406a4f9d37a1cd2fb5c29058def79b01b4d1556ade74ffc079040144000186a01961a8430009c4430009c40040',
);
const CID_BLS = fromHex('0171a0e402204222a8907f49fd6d4a1dfc75315690db729fbc17b2c81181e02ba5723c3a0261');
const SIG_BLS =
  'a3e507f89527472ad67ddd9bf555e8e745c284944cd855e2ed4b68660a325baacd4dfd93972af2c7e2d39ddc8a5ac37e0660ddc641cb7942ef5a31f3e62e83e006341f6a4b4f9c4cdddb0ba43031b4e9dc96d2b936b9050dccca9e95b8576653';

const opened: KeyStore[] = [];
after(() => {
  for (const ks of opened) ks.close();
});

async function freshWallet(network: 'f' | 't' = 'f', password = 'pw'): Promise<Wallet> {
  const ks = new KeyStore(join(mkdtempSync(join(tmpdir(), 'wallet-')), 'keystore.sqlit'), KDF);
  opened.push(ks);
  const w = new Wallet(ks, { network });
  if (password) await w.setPassword(password);
  return w;
}

const reason = (r: WalletError['reason'], re?: RegExp) => (e: unknown) =>
  e instanceof WalletError && e.reason === r && (!re || re.test(e.message));

describe('wallet: published vectors through the wallet', () => {
  it('secp256k1: address, short row, and the exact signature of Message A as a "message" request', async () => {
    const w = await freshWallet('t');
    const addr = await w.importKey({ type: 'secp256k1', privateKey: SECP_SK.slice() });
    assert.equal(w.format(addr), 't1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba');
    assert.equal(addr.toString('f'), SECP_ADDR);
    // the row is keyed without the network character, so the same keystore serves f and t
    assert.deepEqual(w.keystore.list(), ['1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba']);
    assert.deepEqual(toHex(messageCid(decodeMessage(MSG_A)).bytes), toHex(CID_A));
    const sig = await w.sign(addr, CID_A, { type: 'message', extra: MSG_A });
    assert.equal(sig.type, 1);
    assert.equal(toBase64(sig.data), SIG_A);
    // "unknown" signs the same bytes as given: the same deterministic signature
    assert.equal(toBase64((await w.sign(addr, CID_A, { type: 'unknown' })).data), SIG_A);
  });

  it('BLS: address and the exact signature over the message CID', async () => {
    const w = await freshWallet('t');
    const addr = await w.importKey({ type: 'bls', privateKey: BLS_SK.slice() });
    assert.equal(w.format(addr), BLS_ADDR);
    assert.equal(toHex(messageCid(decodeMessage(MSG_BLS)).bytes), toHex(CID_BLS));
    const sig = await w.sign(addr, CID_BLS, { type: 'message', extra: MSG_BLS });
    assert.equal(sig.type, 2);
    assert.equal(toHex(sig.data), SIG_BLS);
  });

  it('keys survive export/import unchanged (Lotus KeyInfo bytes)', async () => {
    const w = await freshWallet();
    const a = await w.importKey({ type: 'bls', privateKey: BLS_SK.slice() });
    const ki = await w.exportKey(a, 'pw');
    assert.equal(ki.type, 'bls');
    assert.equal(toHex(ki.privateKey), toHex(BLS_SK));
  });
});

describe('wallet: signatures of fresh keys verify with independent libraries', () => {
  it('secp256k1: noble recovers the public key; Zondax verifies the message signature', async () => {
    const w = await freshWallet('t');
    const a = await w.newKey('secp256k1');
    const ki = await w.exportKey(a, 'pw');
    const msg = newMessage({
      to: parseAddress('t01000'),
      from: a,
      nonce: 3,
      value: 12345n,
      gasLimit: 100000,
      gasFeeCap: 200n,
      gasPremium: 100n,
      method: 0,
    });
    const cbor = encodeMessage(msg);
    const cid = messageCid(msg).bytes;
    const sig = await w.sign(a, cid, { type: 'message', extra: cbor });
    // noble directly: r ‖ s ‖ v over blake2b-256(cid), the public key of the exported scalar
    const pub = secp256k1.getPublicKey(ki.privateKey, false);
    const digest = blake2b(cid, { dkLen: 32 });
    assert.ok(secp256k1.verify(sig.data.subarray(0, 64), digest, pub, { prehash: false }));
    const rec = secp256k1.recoverPublicKey(Uint8Array.from([sig.data[64]!, ...sig.data.subarray(0, 64)]), digest, {
      prehash: false,
    });
    assert.equal(toHex(secp256k1.Point.fromBytes(rec).toBytes(false)), toHex(pub));
    // the f1 address is blake2b-160 of that key
    assert.equal(toHex(blake2b(pub, { dkLen: 20 })), toHex(a.payload));
    assert.ok(zondax.verifySignature(toHex(sig.data), toHex(cbor)));
    const other = await w.sign(a, CID_A, { type: 'unknown' });
    assert.ok(!zondax.verifySignature(toHex(other.data), toHex(cbor)), 'the oracle can say no');
  });

  it('BLS: noble verifies against the f3 public key; Zondax verifies the message signature', async () => {
    const w = await freshWallet('t');
    const a = await w.newKey('bls');
    const msg = newMessage({ to: parseAddress('t01000'), from: a, nonce: 1, value: 1n, gasLimit: 1000, method: 0 });
    const cbor = encodeMessage(msg);
    const cid = messageCid(msg).bytes;
    const sig = await w.sign(a, cid, { type: 'message', extra: cbor });
    const bls = bls12_381.longSignatures;
    const dst = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_';
    assert.ok(bls.verify(sig.data, bls.hash(cid, dst), a.payload));
    const ki = await w.exportKey(a, 'pw');
    // the stored scalar is little-endian; noble's public key of the reversed bytes is the f3 payload
    assert.equal(toHex(bls.getPublicKey(blsSecretKeyBE(ki.privateKey)).toBytes(true)), toHex(a.payload));
    assert.ok(zondax.verifySignature(toHex(sig.data), toHex(cbor)));
  });
});

describe('wallet: sign requests it must refuse', () => {
  it('"message": wrong signer, bytes that are not the CID, missing or malformed Extra', async () => {
    const w = await freshWallet('t');
    const a = await w.importKey({ type: 'secp256k1', privateKey: SECP_SK.slice() });
    const b = await w.newKey('bls');
    await assert.rejects(
      w.sign(b, CID_A, { type: 'message', extra: MSG_A }),
      reason('refused', /signer\(t3.*\) is not msg sender\(t1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba\)/),
    );
    const tampered = CID_A.slice();
    tampered[10]! ^= 1;
    await assert.rejects(
      w.sign(a, tampered, { type: 'message', extra: MSG_A }),
      reason('refused', /not the CID of the message in Extra \(bafy2bzaceduq6pnk/),
    );
    // the message's own CBOR instead of its CID: refused too (a wallet must not sign arbitrary bytes as a message)
    await assert.rejects(w.sign(a, MSG_A, { type: 'message', extra: MSG_A }), reason('refused'));
    await assert.rejects(w.sign(a, CID_A, { type: 'message' }), reason('refused', /must carry the message CBOR/));
    await assert.rejects(
      w.sign(a, CID_A, { type: 'message', extra: fromHex('8a00') }),
      reason('refused', /Extra is not a chain message/),
    );
  });

  it('unknown or missing message types are refused', async () => {
    const w = await freshWallet();
    const a = await w.newKey('secp256k1');
    await assert.rejects(w.sign(a, CID_A, { type: '' }), reason('refused', /no message type/));
    await assert.rejects(w.sign(a, CID_A, { type: 'block' }), reason('refused', /unsupported message type "block"/));
  });

  it('"verifyaddress" signs only sha256(gateway random ‖ this wallet\'s SignBytes)', async () => {
    const w = await freshWallet();
    const a = await w.newKey('bls');
    const rand = new Uint8Array(32).fill(7);
    const want = createHash('sha256').update(rand).update(w.signBytes).digest();
    assert.equal(toHex(verifyAddressSignBytes(rand, w.signBytes)), toHex(want));
    const sig = await w.sign(a, want, { type: 'verifyaddress', extra: rand });
    const bls = bls12_381.longSignatures;
    assert.ok(bls.verify(sig.data, bls.hash(want, 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_'), a.payload));
    await assert.rejects(w.sign(a, CID_A, { type: 'verifyaddress', extra: rand }), reason('refused', /challenge/));
    // another wallet's SignBytes do not match
    const other = verifyAddressSignBytes(rand, new Uint8Array(32));
    await assert.rejects(w.sign(a, other, { type: 'verifyaddress', extra: rand }), reason('refused'));
  });

  it('locked: new, sign, export, import and delete refuse with "wallet locked"; list and has still work', async () => {
    const w = await freshWallet();
    const a = await w.newKey('secp256k1');
    await w.lock('pw');
    assert.ok(w.isLocked());
    const locked = reason('locked', /^wallet locked$/);
    await assert.rejects(w.newKey('bls'), locked);
    await assert.rejects(w.sign(a, CID_A, { type: 'unknown' }), locked);
    await assert.rejects(w.exportKey(a, 'pw'), locked);
    await assert.rejects(w.importKey({ type: 'secp256k1', privateKey: SECP_SK.slice() }), locked);
    await assert.rejects(w.deleteKey(a, 'pw'), locked);
    assert.ok(w.has(a));
    assert.equal(w.list().length, 1);
    await assert.rejects(w.lock('pw'), reason('refused', /already locked/));
    await assert.rejects(w.unlock('nope'), reason('wrong-password'));
    await w.unlock('pw');
    await assert.rejects(w.unlock('pw'), reason('refused', /already unlocked/));
    await w.sign(a, CID_A, { type: 'unknown' });
  });

  it('no password yet: "password not set"', async () => {
    const w = await freshWallet('f', '');
    await assert.rejects(w.newKey('bls'), reason('no-password', /password not set/));
    await assert.rejects(w.unlock('x'), reason('no-password'));
  });

  it('unknown address, wrong key types, invalid keys', async () => {
    const w = await freshWallet();
    const stranger = generateKey('secp256k1').address;
    await assert.rejects(w.sign(stranger, CID_A, { type: 'unknown' }), reason('not-found', /key not found: f1/));
    await assert.rejects(w.exportKey(stranger, 'pw'), reason('not-found'));
    await assert.rejects(w.deleteKey(stranger, 'pw'), reason('not-found'));
    await assert.rejects(w.newKey('rsa'), reason('invalid', /unknown key type "rsa"/));
    await assert.rejects(w.newKey('delegated'), reason('invalid', /not supported/));
    // a zero scalar is not a key
    await assert.rejects(w.importKey({ type: 'bls', privateKey: new Uint8Array(32) }), reason('invalid', /zero/));
    await assert.rejects(
      w.importKey({ type: 'secp256k1', privateKey: new Uint8Array(31).fill(1) }),
      reason('invalid', /32 bytes/),
    );
  });
});

describe('wallet: writes under pressure', () => {
  it('a full disk refuses the new key with a clear error; stored keys stay intact', async () => {
    const w = await freshWallet();
    const a = await w.newKey('bls');
    const b = await w.newKey('secp256k1');
    // SQLite's page limit stands in for a full disk: the next page it needs cannot be had (SQLITE_FULL)
    const db = (w.keystore as unknown as { db: { pragma(s: string, o?: { simple: boolean }): unknown } }).db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    let err: unknown;
    for (let i = 0; i < 50 && !err; i++) await w.newKey('bls').catch((e) => (err = e));
    assert.ok(reason('storage', /^cannot store key f3[a-z2-7]+: disk full; stored keys are intact$/)(err), String(err));
    const listed = w.list();
    assert.ok(listed.length >= 2);
    for (const k of listed) await w.sign(k, CID_A, { type: 'unknown' });
    assert.ok(w.has(a) && w.has(b));
  });

  it('lock() during new keys: no key is stored under a wiped passphrase', async () => {
    const w = await freshWallet();
    const pending = Array.from({ length: 6 }, (_, i) => w.newKey(i % 2 ? 'bls' : 'secp256k1').catch((e) => e));
    await w.lock('pw');
    const out = await Promise.all(pending);
    for (const r of out) assert.ok(!(r instanceof Error) || reason('locked')(r), String(r));
    await w.unlock('pw');
    for (const k of w.list()) await w.sign(k, CID_A, { type: 'unknown' });
  });

  it('change-password while keys are being created: every key opens with the new password', async () => {
    const w = await freshWallet();
    await w.newKey('bls');
    const pending = Array.from({ length: 6 }, () => w.newKey('secp256k1'));
    const change = w.changePassword('pw', 'pw2');
    const more = Array.from({ length: 3 }, () => w.newKey('bls'));
    await Promise.all([...pending, change, ...more]);
    await w.lock('pw2');
    await w.unlock('pw2');
    assert.equal(w.list().length, 10);
    for (const k of w.list()) await w.sign(k, CID_A, { type: 'unknown' });
  });
});

describe('wallet: keys, events, and what never reaches the logs', () => {
  it('import of a held key returns its address; delete removes it; events follow', async () => {
    const w = await freshWallet();
    const added: string[] = [];
    const removed: string[] = [];
    w.on('address-added', (a) => added.push(w.format(a)));
    w.on('address-removed', (a) => removed.push(w.format(a)));
    const a = await w.importKey({ type: 'secp256k1', privateKey: SECP_SK.slice() });
    const again = await w.importKey({ type: 'secp256k1', privateKey: SECP_SK.slice() });
    assert.ok(a.equals(again));
    assert.deepEqual(added, [SECP_ADDR]);
    const b = await w.newKey('bls');
    assert.deepEqual(
      w.list().map((x) => w.format(x)),
      [SECP_ADDR, w.format(b)],
    );
    await w.deleteKey(a, 'pw');
    assert.deepEqual(removed, [SECP_ADDR]);
    assert.ok(!w.has(a));
  });

  it('private keys appear in no log line and no error message', async () => {
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => lines.push(c.toString()));
    setupLogging({ levelSpec: 'trace', format: 'json', dest: sink });
    try {
      const w = await freshWallet();
      const a = await w.importKey({ type: 'secp256k1', privateKey: SECP_SK.slice() });
      const k = await w.newKey('bls');
      const kk = await w.exportKey(k, 'pw');
      await w.sign(a, CID_A, { type: 'message', extra: MSG_A });
      await w.sign(k, CID_A, { type: 'unknown' }).catch(() => {});
      await w.sign(a, CID_BLS, { type: 'message', extra: MSG_A }).catch(() => {});
      await w.lock('pw');
      const errors: string[] = [];
      await w.exportKey(a, 'pw').catch((e: Error) => errors.push(e.message));
      await w.unlock('pw');
      const text = lines.join('') + errors.join('\n');
      assert.ok(lines.length > 3, 'the wallet did log');
      for (const secret of [SECP_SK, kk.privateKey]) {
        assert.ok(!text.includes(toHex(secret)), 'hex of a private key in the logs');
        assert.ok(!text.includes(toBase64(secret)), 'base64 of a private key in the logs');
      }
    } finally {
      setupLogging({ levelSpec: 'info', format: 'text', dest: process.stderr });
    }
  });

  it('--nettype names map to f/t', () => {
    assert.equal(networkOfNetType('mainnet'), 'f');
    assert.equal(networkOfNetType('main'), 'f');
    for (const n of [
      '2k',
      'calibnet',
      'cali',
      'butterfly',
      'integrationnet',
      'force',
      'forcenet',
      'devnet',
      'Calibnet',
    ]) {
      assert.equal(networkOfNetType(n), 't');
    }
    assert.throws(() => networkOfNetType('bogus'), /invalid network name "bogus" \(one of mainnet, .*forcenet/);
    assert.throws(() => networkOfNetType('moonnet'), /invalid network name "moonnet"/);
  });

  it('keys of these vectors derive the same addresses with src/fil', () => {
    assert.equal(keyFromPrivate('secp256k1', SECP_SK).address.toString('f'), SECP_ADDR);
    assert.equal(keyFromPrivate('bls', BLS_SK).address.toString('t'), BLS_ADDR);
  });
});
