/**
 * Signature tests.
 *
 * Vectors and their sources (copies under testdata/zondax, Zondax/filecoin-signing-tools @2b0f25f):
 * - test_vectors/signed_message.json: secp256k1 signature nFuTI7Mx…WQA= over message A's CID (RFC 6979, low S, v=0).
 * - test_vectors/get_cid.json: secp256k1 signature 0wRrFJZF…eAE= over message B's CID.
 * - test_vectors/bls_signature.json: BLS signature a3e507f8… over the CID of its CBOR.
 * - test_vectors/txs.json[3]: BLS signature a0e83809… over the raw CBOR bytes (older signing-tools API: raw bytes).
 * - examples/generated_test_cases.json: 10 BLS signatures over message CIDs.
 * - docs/spec/chain.md §Test vectors: the CID bytes and blake2b-256 digest to sign for message A.
 * - Independent checks: noble-curves used directly (secp256k1.verify on the blake2b digest, BLS verify and
 *   verifyBatch with the NUL DST) and the Zondax WASM (Rust filecoin-signer) transactionSign/verifySignature.
 * - Lotus `wallet sign` output: hex(type byte ‖ data) (lotus cli/wallet.go, go-state-types crypto.Signature).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { idAddress, parseAddress } from './address.js';
import { blake2b256, fromHex, toBase64, toHex } from './bytes.js';
import { CID, cborCid } from './cid.js';
import { KeyError } from './errors.js';
import { generateKey, keyFromPrivate } from './keys.js';
import { messageCid, messageFromJSON } from './message.js';
import {
  aggregateBlsSignatures,
  BLS_DST,
  checkSignature,
  recoverSecp256k1PublicKey,
  SigType,
  sign,
  signatureFromBytes,
  signatureFromHex,
  signatureFromJSON,
  signatureToBytes,
  signatureToHex,
  signatureToJSON,
  verifyBlsAggregate,
  verifySignature,
} from './signature.js';

const vec = (name: string) => JSON.parse(readFileSync(new URL(`./testdata/zondax/${name}`, import.meta.url), 'utf8'));
const zondax = createRequire(import.meta.url)('@zondax/filecoin-signing-tools') as {
  transactionSign(msg: unknown, pk: string): { Signature: { Type: number; Data: string } };
  transactionSerialize(msg: unknown): string;
  verifySignature(sigHex: string, cborHex: string): boolean;
};
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

const SECP_SK = b64('8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=');
const BLS_SK = b64('0x7Y0GGX92MeWBF9mcWuR5EYPxe2dy60r8XIQOD31BI=');
const CID_A = fromHex('0171a0e40220e90f3daa7e7f73cbc3d708f6d39f3a5eddba82743776a85c3743f39843b71aeb');
const CID_B_STR = 'bafy2bzacedluvv7t2no5ujbuxtxi5mthioymz2wzorarxird736mz7wn3mucy';
const BLS_CID = fromHex('0171a0e402204222a8907f49fd6d4a1dfc75315690db729fbc17b2c81181e02ba5723c3a0261');

describe('signature: secp256k1', () => {
  const key = keyFromPrivate('secp256k1', SECP_SK);

  it('reproduces the Zondax signatures exactly (RFC 6979, low S, r‖s‖v)', () => {
    assert.equal(toHex(blake2b256(CID_A)), '4414bd5c8a97e714b53d7590bed6aecdc7f5e4c0622c45ab98025b882422e643');
    const s = sign('secp256k1', SECP_SK, CID_A);
    assert.equal(s.type, SigType.Secp256k1);
    assert.equal(toBase64(s.data), vec('signed_message.json').tx.Signature.Data);
    const sB = sign('secp256k1', SECP_SK, CID.parse(CID_B_STR).bytes);
    assert.equal(toBase64(sB.data), vec('get_cid.json').signed_message.Signature.Data);
  });

  it('verifies, and recovers the public key', () => {
    const s = sign('secp256k1', SECP_SK, CID_A);
    assert.deepEqual(recoverSecp256k1PublicKey(s.data, CID_A), key.publicKey);
    assert.ok(verifySignature(s, key.address, CID_A));
    assert.ok(!verifySignature(s, key.address, BLS_CID), 'other message');
    assert.ok(!verifySignature(s, generateKey('secp256k1').address, CID_A), 'other signer');
    const flipped = { ...s, data: s.data.slice() };
    flipped.data[10]! ^= 1;
    assert.ok(!verifySignature(flipped, key.address, CID_A), 'tampered');
    assert.throws(() => checkSignature(s, generateKey('secp256k1').address, CID_A), /signature was not made by f1/);
    assert.throws(() => checkSignature(s, idAddress(1000), CID_A), /not an f1 address/);
    assert.throws(
      () => checkSignature({ ...s, data: s.data.subarray(0, 64) }, key.address, CID_A),
      /must be 65 bytes, got 64/,
    );
    const badV = s.data.slice();
    badV[64] = 7;
    assert.throws(() => checkSignature({ ...s, data: badV }, key.address, CID_A), /recovery id must be 0-3, got 7/);
  });

  it('independent paths: noble used directly, and the Zondax WASM', () => {
    const data = fromHex('deadbeef00112233');
    const s = sign('secp256k1', SECP_SK, data);
    assert.ok(secp256k1.verify(s.data.subarray(0, 64), blake2b256(data), key.publicKey, { prehash: false }));
    // Zondax signs a message it serializes itself; we check its signature with ours and vice versa
    const msg = {
      To: 't17uoq6tp427uzv7fztkbsnn64iwotfrristwpryy',
      From: key.address.toString('t'),
      Nonce: 9,
      Value: '1234',
      GasLimit: 1000,
      GasFeeCap: '10',
      GasPremium: '5',
      Method: 0,
      Params: '',
    };
    const z = zondax.transactionSign(msg, toBase64(SECP_SK));
    const cbor = zondax.transactionSerialize(msg);
    const cidBytes = cborCid(fromHex(cbor)).bytes;
    const ours = sign('secp256k1', SECP_SK, cidBytes);
    assert.equal(toBase64(ours.data), z.Signature.Data);
    assert.ok(verifySignature({ type: SigType.Secp256k1, data: b64(z.Signature.Data) }, key.address, cidBytes));
    assert.ok(zondax.verifySignature(toHex(ours.data), cbor));
    assert.ok(!zondax.verifySignature(toHex(sign('secp256k1', SECP_SK, CID_A).data), cbor), 'the oracle can say no');
  });
});

describe('signature: BLS', () => {
  const key = keyFromPrivate('bls', BLS_SK);

  it('reproduces the Zondax signatures exactly', () => {
    assert.equal(toHex(sign('bls', BLS_SK, BLS_CID).data), vec('bls_signature.json').sig);
    // txs.json[3]: the same key signing the raw CBOR (no CID), an older signing-tools convention
    const tx3 = vec('txs.json')[3];
    assert.equal(toHex(sign('bls', BLS_SK, fromHex(vec('bls_signature.json').cbor)).data), tx3.sig);
  });

  it('verifies against the f3 address, and independently with noble and Zondax', () => {
    const s = sign('bls', BLS_SK, BLS_CID);
    assert.equal(s.data.length, 96);
    assert.ok(verifySignature(s, key.address, BLS_CID));
    assert.ok(!verifySignature(s, key.address, CID_A));
    assert.ok(!verifySignature(s, generateKey('bls').address, BLS_CID));
    const bls = bls12_381.longSignatures;
    assert.ok(bls.verify(s.data, bls.hash(BLS_CID, BLS_DST), key.publicKey));
    assert.ok(zondax.verifySignature(toHex(s.data), vec('bls_signature.json').cbor));
    assert.throws(() => checkSignature(s, parseAddress('f01000'), BLS_CID), /not an f3 address/);
    assert.throws(
      () => checkSignature({ ...s, data: s.data.subarray(1) }, key.address, BLS_CID),
      /must be 96 bytes, got 95/,
    );
    assert.throws(() => checkSignature({ ...s, data: new Uint8Array(96) }, key.address, BLS_CID), /malformed/);
    assert.throws(
      () => checkSignature({ type: SigType.Delegated, data: s.data }, key.address, BLS_CID),
      /cannot verify a delegated/,
    );
  });

  it('generated_test_cases.json: 10 signatures over message CIDs', () => {
    for (const c of vec('generated_test_cases.json') as { sk: string; sig: string; message: unknown }[]) {
      const m = messageFromJSON(c.message);
      const cid = messageCid(m).bytes;
      assert.equal(toHex(sign('bls', fromHex(c.sk), cid).data), c.sig);
      assert.ok(verifySignature({ type: SigType.BLS, data: fromHex(c.sig) }, m.from, cid));
    }
  });

  it('aggregates and verifies an aggregate over distinct messages', () => {
    const keys = [generateKey('bls'), generateKey('bls'), key];
    const msgs = [fromHex('01'), fromHex('0202'), BLS_CID];
    const sigs = keys.map((k, i) => sign('bls', k.privateKey, msgs[i]!));
    const agg = aggregateBlsSignatures(sigs);
    assert.equal(agg.type, SigType.BLS);
    assert.ok(
      verifyBlsAggregate(
        agg,
        keys.map((k) => k.address),
        msgs,
      ),
    );
    assert.ok(
      verifyBlsAggregate(
        agg.data,
        keys.map((k) => k.publicKey),
        msgs,
      ),
    );
    // noble's batch verification used directly agrees
    const bls = bls12_381.longSignatures;
    assert.ok(
      bls.verifyBatch(
        agg.data,
        keys.map((k, i) => ({ message: bls.hash(msgs[i]!, BLS_DST), publicKey: k.publicKey })),
      ),
    );
    assert.ok(
      !verifyBlsAggregate(
        agg,
        keys.map((k) => k.address),
        [msgs[0]!, msgs[1]!, CID_A],
      ),
      'changed message',
    );
    assert.ok(
      !verifyBlsAggregate(
        agg,
        keys.slice(0, 2).map((k) => k.address),
        msgs.slice(0, 2),
      ),
      'missing signer',
    );
    assert.ok(
      !verifyBlsAggregate(
        aggregateBlsSignatures(sigs.slice(0, 2)),
        keys.map((k) => k.address),
        msgs,
      ),
    );
    // the same message twice is refused even with valid signatures
    const dup = aggregateBlsSignatures([
      sign('bls', keys[0]!.privateKey, msgs[0]!),
      sign('bls', keys[1]!.privateKey, msgs[0]!),
    ]);
    assert.ok(!verifyBlsAggregate(dup, [keys[0]!.address, keys[1]!.address], [msgs[0]!, msgs[0]!]));
    assert.ok(!verifyBlsAggregate(agg, [idAddress(1), keys[1]!.address, keys[2]!.address], msgs), 'non-BLS signer');
    // an aggregate of one is the signature itself
    assert.deepEqual(aggregateBlsSignatures([sigs[0]!]).data, sigs[0]!.data);
    assert.throws(() => aggregateBlsSignatures([]), /no BLS signatures/);
    assert.throws(
      () => aggregateBlsSignatures([sign('secp256k1', SECP_SK, msgs[0]!)]),
      /signature 0 is secp256k1, not BLS/,
    );
    assert.throws(() => aggregateBlsSignatures([new Uint8Array(95)]), /signature 0 is 95 bytes, want 96/);
  });
});

describe('signature: byte, hex and JSON forms', () => {
  it('type byte ‖ data, as `lotus wallet sign` prints', () => {
    const s = sign('secp256k1', SECP_SK, CID_A);
    const hex = signatureToHex(s);
    assert.equal(hex, `01${toHex(s.data)}`);
    assert.deepEqual(signatureFromHex(`${hex}\n`), s);
    assert.deepEqual(signatureFromBytes(signatureToBytes(s)), s);
    const b = sign('bls', BLS_SK, BLS_CID);
    assert.equal(signatureToHex(b).slice(0, 2), '02');
    assert.deepEqual(signatureToJSON(s), { Type: 1, Data: vec('signed_message.json').tx.Signature.Data });
    assert.deepEqual(signatureFromJSON(vec('signed_message.json').tx.Signature), s);
  });

  it('bad input gets a clear error', () => {
    assert.throws(
      () => signatureFromHex('zz'),
      (e: unknown) => e instanceof KeyError && /not hex/.test(e.message),
    );
    assert.throws(() => signatureFromHex(''), /empty/);
    assert.throws(() => signatureFromHex('05aa'), /unknown signature type 5/);
    assert.throws(() => signatureFromBytes(new Uint8Array(201).fill(1)), /too long \(201, max 200\)/);
    assert.throws(() => signatureFromJSON({ Type: 9, Data: '' }), /unknown signature Type 9/);
    assert.throws(() => signatureFromJSON({ Type: 1, Data: '***' }), /not base64/);
    assert.throws(() => signatureFromJSON(null), /expected \{"Type", "Data"\}/);
  });
});
