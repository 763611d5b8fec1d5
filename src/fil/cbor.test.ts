/**
 * CBOR and big integer tests.
 *
 * Vectors and their sources:
 * - docs/spec/chain.md §Messages (from lotus chain/types/cbor_gen.go, go-state-types big): 100000 → 44 00 01 86 a0,
 *   zero → 40; docs/spec/chain.md §Addresses: f01000 → 43 00 e8 07; §Actor methods: a sealed CID in CBOR → d8 2a 58 29
 *   00 01 82 e2 03 81 e8 02 20 ….
 * - Zondax manual_testvectors.json "Negative sign byte": Value -100000 → 44 01 01 86 a0.
 * - go-state-types big/int.go fromBytes rules (sign byte 0/1, max 128 bytes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { idAddress } from './address.js';
import { fromHex, toHex } from './bytes.js';
import {
  cborKind,
  decodeBigInt,
  decodeCbor,
  encodeBigInt,
  encodeCbor,
  expectBigInteger,
  expectBool,
  expectBytes,
  expectCid,
  expectInt,
  expectTuple,
  expectUint,
} from './cbor.js';
import { commRToCid } from './cid.js';
import { EncodingError } from './errors.js';

describe('cbor: big integers', () => {
  it('Filecoin big.Int bytes', () => {
    assert.equal(toHex(encodeBigInt(100000n)), '000186a0');
    assert.equal(toHex(encodeCbor(encodeBigInt(100000n))), '44000186a0');
    assert.equal(toHex(encodeCbor(encodeBigInt(-100000n))), '44010186a0');
    assert.equal(toHex(encodeCbor(encodeBigInt(0n))), '40');
    assert.equal(toHex(encodeBigInt(2500n)), '0009c4');
    assert.equal(toHex(encodeBigInt(1n)), '0001');
    assert.equal(toHex(encodeBigInt(-256n)), '010100');
    const big = 2n ** 300n + 12345n;
    assert.equal(decodeBigInt(encodeBigInt(big)), big);
    assert.equal(decodeBigInt(encodeBigInt(-big)), -big);
    assert.equal(decodeBigInt(new Uint8Array(0)), 0n);
    assert.equal(decodeBigInt(fromHex('00')), 0n, 'Go accepts a lone sign byte');
    assert.equal(decodeBigInt(fromHex('000001')), 1n, 'Go accepts leading zeros');
  });

  it('big.Int errors', () => {
    assert.throws(() => decodeBigInt(fromHex('0201'), 'Value'), /Value: sign byte must be 0 or 1, got 2/);
    assert.throws(() => decodeBigInt(new Uint8Array(129)), /129 bytes, max 128/);
    assert.throws(() => encodeBigInt(2n ** 1100n), /too large/);
    assert.throws(() => decodeBigInt('00' as unknown as Uint8Array), /expected a CBOR byte string/);
  });
});

describe('cbor: dag-cbor wrappers', () => {
  it('address and CID encodings', () => {
    assert.equal(toHex(encodeCbor(idAddress(1000).bytes())), '4300e807');
    const commR = Uint8Array.from({ length: 32 }, (_, i) => i);
    assert.equal(toHex(encodeCbor(commRToCid(commR))), `d82a5829000182e20381e80220${toHex(commR)}`);
    const back = decodeCbor(encodeCbor([commRToCid(commR), 5, -3, true, null]));
    const t = expectTuple(back, 5, 'x');
    assert.ok(expectCid(t[0], 'cid').equals(commRToCid(commR)));
    assert.equal(expectUint(t[1], 'u'), 5);
    assert.equal(expectInt(t[2], 'i'), -3);
    assert.equal(expectBool(t[3], 'b'), true);
    assert.equal(t[4], null);
  });

  it('64-bit integers come back as bigint', () => {
    const v = decodeCbor<unknown[]>(encodeCbor([2n ** 63n - 1n, -(2n ** 63n)]));
    assert.equal(expectBigInteger(v[0], 'a'), 2n ** 63n - 1n);
    assert.equal(expectBigInteger(v[1], 'b'), -(2n ** 63n));
    assert.throws(() => expectUint(v[0], 'Nonce'), /Nonce: integer 9223372036854775807 is beyond 2\^53/);
    assert.throws(() => encodeCbor(2n ** 64n), EncodingError);
  });

  it('decode errors are EncodingErrors with the reason', () => {
    assert.throws(() => decodeCbor(fromHex('8201')), EncodingError, 'truncated array');
    assert.throws(() => decodeCbor(fromHex('0000')), /CBOR decode/, 'trailing bytes');
    assert.throws(() => decodeCbor(fromHex('1800')), /CBOR decode/, 'non-minimal integer');
    assert.throws(() => decodeCbor(fromHex('9f00ff')), /CBOR decode/, 'indefinite length');
    assert.throws(() => encodeCbor(undefined), /CBOR encode/);
    assert.throws(() => expectTuple([1, 2], 3, 'Message'), /Message: expected 3 fields, got 2/);
    assert.throws(() => expectTuple(5, 3, 'Message'), /Message: expected a CBOR array of 3, got the number 5/);
    assert.throws(() => expectBytes(5, 'Params'), /Params: expected a byte string, got the number 5/);
    assert.throws(() => expectUint(-1, 'Nonce'), /expected an unsigned integer/);
    assert.throws(
      () => expectCid(new Uint8Array(3), 'SealedCID'),
      /SealedCID: expected a CID \(tag 42\), got a byte string of 3/,
    );
    assert.equal(cborKind({ a: 1 }), 'a map');
  });
});
