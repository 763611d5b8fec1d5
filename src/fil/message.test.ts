/**
 * Message tests.
 *
 * Vectors and their sources (copies under testdata/zondax, Zondax/filecoin-signing-tools @2b0f25f):
 * - test_vectors/txs.json: messages [0] (testnet), [1] (mainnet, same CBOR), [2] (Params, method 7 to t01002) → CBOR.
 * - examples/manual_testvectors.json: 26 cases; every `valid` message encodes to its encoded_tx_hex (ID, f1, f2, f3,
 *   f4 addresses), every invalid one is refused by JSON parsing, CBOR decoding or the block-inclusion checks.
 * - test_vectors/signed_message.json (message A, secp256k1) and get_cid.json (message B: signed CID
 *   bafy2bzacebaiinljwwctblf7czp4zxwhz4747z6tpricgn5cumd4xhebftcvu).
 * - docs/spec/chain.md §Test vectors (Zondax test_vectors, checked against the lotus encoding rules): message A
 *   unsigned CID bafy2bzaceduq6pnkpz7xhs6d24epnu47hjpn3oucoq3xnkc4g5b7hgcdw4now, signed CID
 *   bafy2bzaceb7vllktor65s6ng4ongqpstubbvq7c46se57z4nwuohq54puq4do; message B unsigned CID
 *   bafy2bzacedluvv7t2no5ujbuxtxi5mthioymz2wzorarxird736mz7wn3mucy; BLS message CID
 *   bafy2bzacebbcfkeqp5e723kkdx6hkmkwsdnxfh54c6zmqemb4av2k4r4hibgc (= its signed CID, lotus signedmessage.go).
 * - Oracle: Zondax WASM getCid on signed messages, transactionSerialize on a message with params.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { parseAddress } from './address.js';
import { fromHex, toBase64, toHex } from './bytes.js';
import { cborCid } from './cid.js';
import { EncodingError } from './errors.js';
import { generateKey, keyFromPrivate } from './keys.js';
import {
  checkMessageValid,
  checkSignedMessage,
  decodeMessage,
  decodeSignedMessage,
  encodeMessage,
  encodeSignedMessage,
  type Message,
  messageCid,
  messageFromJSON,
  messageSigningBytes,
  messageToJSON,
  newMessage,
  type SignedMessage,
  signedMessageCid,
  signedMessageFromJSON,
  signedMessageToJSON,
  signMessage,
  verifySignedMessage,
} from './message.js';
import { SigType, signatureToJSON } from './signature.js';

const vec = (name: string) => JSON.parse(readFileSync(new URL(`./testdata/zondax/${name}`, import.meta.url), 'utf8'));
const zondax = createRequire(import.meta.url)('@zondax/filecoin-signing-tools') as {
  getCid(signed: unknown): string;
  transactionSerialize(msg: unknown): string;
};
/** The Zondax WASM takes Lotus JSON without Version and CID, with "" for no params. */
function zondaxSigned(sm: SignedMessage) {
  const { CID: _c, Version: _v, ...msg } = messageToJSON(sm.message, 't');
  return { Message: { ...msg, Params: msg.Params ?? '' }, Signature: signatureToJSON(sm.signature) };
}
const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const SECP_SK = b64('8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=');
const BLS_SK = b64('0x7Y0GGX92MeWBF9mcWuR5EYPxe2dy60r8XIQOD31BI=');

const MSG_A = {
  To: 't17uoq6tp427uzv7fztkbsnn64iwotfrristwpryy',
  From: 't1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba',
  Nonce: 1,
  Value: '100000',
  GasLimit: 25000,
  GasFeeCap: '1',
  GasPremium: '1',
  Method: 0,
  Params: '',
};

describe('message: CBOR vectors', () => {
  it('txs.json', () => {
    const txs = vec('txs.json') as { transaction: unknown; cbor?: string }[];
    let n = 0;
    for (const tx of txs) {
      if (!tx.cbor) continue;
      n++;
      const m = messageFromJSON(tx.transaction);
      assert.equal(toHex(encodeMessage(m)), tx.cbor);
      const back = decodeMessage(fromHex(tx.cbor));
      assert.deepEqual(encodeMessage(back), encodeMessage(m));
      assert.ok(back.to.equals(m.to) && back.from.equals(m.from));
    }
    assert.equal(n, 3);
  });

  it('manual_testvectors.json: valid ones encode exactly, invalid ones are refused', () => {
    const cases = vec('manual_testvectors.json') as {
      description: string;
      valid: boolean;
      message: unknown;
      encoded_tx_hex: string;
    }[];
    assert.equal(cases.length, 26);
    for (const c of cases) {
      const hex = c.encoded_tx_hex.toLowerCase();
      if (c.valid) {
        const m = messageFromJSON(c.message);
        assert.equal(toHex(encodeMessage(m)), hex, c.description);
        assert.equal(toHex(encodeMessage(decodeMessage(fromHex(hex)))), hex, c.description);
        checkMessageValid(m);
        continue;
      }
      // refused when parsing the JSON, when decoding the CBOR, or by the block-inclusion checks
      assert.throws(
        () => {
          const m = messageFromJSON(c.message);
          checkMessageValid(m);
        },
        EncodingError,
        `${c.description} (JSON)`,
      );
      assert.throws(() => checkMessageValid(decodeMessage(fromHex(hex))), EncodingError, `${c.description} (CBOR)`);
    }
  });

  it('decode errors name the field', () => {
    const good = encodeMessage(messageFromJSON(MSG_A));
    assert.throws(() => decodeMessage(good.subarray(0, good.length - 1)), /CBOR decode/);
    assert.throws(() => decodeMessage(fromHex('8900')), /Message: expected 10 fields, got 9|CBOR decode/);
    // To with a 19-byte secp payload (manual_testvectors "Invalid payload length of 19 bytes")
    assert.throws(
      () =>
        decodeMessage(
          fromHex(
            '8A005401000000000000000000000000000000000000005401000000000000000000000000000000000000000144000186A01961A84200014200010040',
          ),
        ),
      /Message.To: secp256k1 address payload is 19 bytes, want 20/,
    );
    // Value with sign byte 2
    const bad = toHex(good).replace('44000186a0', '44020186a0');
    assert.throws(() => decodeMessage(fromHex(bad)), /Message.Value: sign byte must be 0 or 1, got 2/);
    assert.throws(() => decodeMessage(fromHex('8a0040')), EncodingError);
  });
});

describe('message: CIDs and signing', () => {
  it('secp256k1 message A: CID, signature, signed CID and CBOR', () => {
    const m = messageFromJSON(MSG_A);
    assert.equal(messageCid(m).toString(), 'bafy2bzaceduq6pnkpz7xhs6d24epnu47hjpn3oucoq3xnkc4g5b7hgcdw4now');
    assert.equal(
      toHex(messageSigningBytes(m)),
      '0171a0e40220e90f3daa7e7f73cbc3d708f6d39f3a5eddba82743776a85c3743f39843b71aeb',
    );
    const sm = signMessage({ type: 'secp256k1', privateKey: SECP_SK }, m);
    assert.deepEqual(signatureToJSON(sm.signature), vec('signed_message.json').tx.Signature);
    const cbor = encodeSignedMessage(sm);
    assert.equal(toHex(cbor), `82${toHex(encodeMessage(m))}584201${toHex(sm.signature.data)}`);
    assert.equal(signedMessageCid(sm).toString(), 'bafy2bzaceb7vllktor65s6ng4ongqpstubbvq7c46se57z4nwuohq54puq4do');
    assert.equal(zondax.getCid(zondaxSigned(sm)), signedMessageCid(sm).toString());
    const back = decodeSignedMessage(cbor);
    assert.deepEqual(back.signature, sm.signature);
    assert.ok(verifySignedMessage(back));
    assert.ok(!verifySignedMessage({ ...back, message: { ...back.message, nonce: 2 } }), 'changed nonce');
  });

  it('get_cid.json: message B signed CID', () => {
    const g = vec('get_cid.json');
    const sm = signedMessageFromJSON(g.signed_message);
    assert.equal(messageCid(sm.message).toString(), 'bafy2bzacedluvv7t2no5ujbuxtxi5mthioymz2wzorarxird736mz7wn3mucy');
    assert.equal(signedMessageCid(sm).toString(), g.cid);
    checkSignedMessage(sm);
    assert.deepEqual(signMessage({ type: 'secp256k1', privateKey: SECP_SK }, sm.message).signature, sm.signature);
  });

  it('BLS message: signed CID is the unsigned CID, CBOR holds 58 61 02 <96 bytes>', () => {
    const key = keyFromPrivate('bls', BLS_SK);
    const m = messageFromJSON({ ...MSG_A, From: key.address.toString('t'), GasFeeCap: '2500', GasPremium: '2500' });
    assert.equal(toHex(encodeMessage(m)), vec('bls_signature.json').cbor);
    assert.equal(messageCid(m).toString(), 'bafy2bzacebbcfkeqp5e723kkdx6hkmkwsdnxfh54c6zmqemb4av2k4r4hibgc');
    const sm = signMessage(key, m);
    assert.equal(toHex(sm.signature.data), vec('bls_signature.json').sig);
    assert.equal(sm.signature.type, SigType.BLS);
    assert.ok(signedMessageCid(sm).equals(messageCid(m)));
    // Zondax's getCid hashes the signed CBOR even for BLS (unlike lotus); that still checks our signed CBOR
    assert.equal(zondax.getCid(zondaxSigned(sm)), cborCid(encodeSignedMessage(sm)).toString());
    assert.ok(toHex(encodeSignedMessage(sm)).includes(`586102${toHex(sm.signature.data)}`));
    assert.ok(verifySignedMessage(decodeSignedMessage(encodeSignedMessage(sm))));
  });

  it('a message with params matches the Zondax serializer; signing by the wrong key fails verification', () => {
    const k = generateKey('secp256k1');
    const m = newMessage({
      to: parseAddress('t01002'),
      from: k.address,
      nonce: 42,
      value: 5n,
      gasLimit: 123456,
      gasFeeCap: 100000n,
      gasPremium: 99000n,
      method: 7,
      params: fromHex('8201820304'),
    });
    const json = messageToJSON(m, 't');
    const { CID: _cid, Version: _v, ...zjson } = json;
    assert.equal(zondax.transactionSerialize({ ...zjson, Params: json.Params }), toHex(encodeMessage(m)));
    const other = generateKey('secp256k1');
    assert.ok(!verifySignedMessage(signMessage(other, m)));
    assert.throws(() => checkSignedMessage(signMessage(other, m)), /signature was not made by/);
    assert.ok(verifySignedMessage(signMessage(other, m), other.address), 'explicit signer');
    assert.ok(!verifySignedMessage(signMessage(k, { ...m, from: parseAddress('t01000') })), 'ID From cannot verify');
  });
});

describe('message: Lotus JSON', () => {
  it('round trips with CID, null Params when empty, decimal strings for amounts', () => {
    const m = messageFromJSON(MSG_A);
    const j = messageToJSON(m, 't');
    assert.deepEqual(j, {
      Version: 0,
      To: MSG_A.To,
      From: MSG_A.From,
      Nonce: 1,
      Value: '100000',
      GasLimit: 25000,
      GasFeeCap: '1',
      GasPremium: '1',
      Method: 0,
      Params: null,
      CID: { '/': 'bafy2bzaceduq6pnkpz7xhs6d24epnu47hjpn3oucoq3xnkc4g5b7hgcdw4now' },
    });
    assert.deepEqual(encodeMessage(messageFromJSON(JSON.parse(JSON.stringify(j)))), encodeMessage(m));
    const withParams: Message = { ...m, params: fromHex('a1b2') };
    assert.equal(messageToJSON(withParams).Params, toBase64(fromHex('a1b2')));
    assert.equal(messageToJSON(m, 'f').To, 'f17uoq6tp427uzv7fztkbsnn64iwotfrristwpryy');
    const sm = signMessage({ type: 'secp256k1', privateKey: SECP_SK }, m);
    const sj = signedMessageToJSON(sm, 't');
    assert.equal(sj.CID?.['/'], 'bafy2bzaceb7vllktor65s6ng4ongqpstubbvq7c46se57z4nwuohq54puq4do');
    assert.deepEqual(
      encodeSignedMessage(signedMessageFromJSON(JSON.parse(JSON.stringify(sj)))),
      encodeSignedMessage(sm),
    );
  });

  it('bad JSON fields are named', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...MSG_A, To: 'x' }, /Message.To: invalid address "x"/],
      [{ ...MSG_A, From: 5 }, /Message.From: expected an address string/],
      [{ ...MSG_A, Nonce: -1 }, /Message.Nonce: expected a non-negative integer/],
      [{ ...MSG_A, Nonce: '1' }, /Message.Nonce/],
      [{ ...MSG_A, Value: '1.5' }, /Message.Value: "1.5" is not a decimal integer/],
      [{ ...MSG_A, GasFeeCap: null }, /Message.GasFeeCap: expected a decimal string, got null/],
      [{ ...MSG_A, GasLimit: '25000' }, /Message.GasLimit: expected an integer/],
      [{ ...MSG_A, Params: 'not base64!' }, /Message.Params: not base64/],
      [{ ...MSG_A, Params: 5 }, /Message.Params: expected a base64 string or null/],
    ];
    for (const [input, re] of cases) assert.throws(() => messageFromJSON(input), re);
    assert.throws(() => messageFromJSON(null), /Message: expected a JSON object/);
    assert.throws(
      () => signedMessageFromJSON({ Message: MSG_A, Signature: { Type: 7, Data: '' } }),
      /SignedMessage.Signature: unknown signature Type 7/,
    );
  });
});

describe('message: block-inclusion checks (lotus ValidForBlockInclusion)', () => {
  const base = messageFromJSON(MSG_A);
  it('accepts a sane message and refuses each bad field', () => {
    checkMessageValid(base, 100);
    const cases: [Partial<Message>, RegExp][] = [
      [{ version: 1 }, /'Version' unsupported/],
      [{ value: -1n }, /'Value' field cannot be negative/],
      [{ value: 2_000_000_001n * 10n ** 18n }, /greater than total filecoin supply/],
      [{ gasFeeCap: -1n }, /'GasFeeCap' field cannot be negative/],
      [{ gasPremium: -1n }, /'GasPremium' field cannot be negative/],
      [{ gasPremium: 2n }, /'GasFeeCap' less than 'GasPremium'/],
      [{ gasLimit: 10_000_000_001 }, /greater than a block's gas limit/],
      [{ gasLimit: 0 }, /'GasLimit' field 0 must be positive/],
    ];
    for (const [patch, re] of cases) assert.throws(() => checkMessageValid({ ...base, ...patch }), re);
    assert.throws(
      () => checkMessageValid(base, 30000),
      /cannot be less than the cost of storing a message on chain 25000 < 30000/,
    );
    assert.throws(() => encodeMessage({ ...base, nonce: -1 }), /Message.Nonce must be a non-negative integer/);
    assert.throws(() => encodeMessage({ ...base, gasLimit: 1.5 }), /Message.GasLimit must be an integer/);
  });
});
