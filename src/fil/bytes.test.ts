/**
 * Byte helper tests.
 *
 * Vectors and their sources:
 * - RFC 4648 §10 base32 test vectors ("" … "foobar"), lower-cased and without padding as Filecoin addresses use.
 * - multiformats unsigned-varint README examples: 1 → 01, 127 → 7f, 128 → 80 01, 255 → ff 01, 300 → ac 02,
 *   16384 → 80 80 01; go-varint rejects non-minimal encodings and values over 64 bits.
 * - RFC 4648 §10 base64 vectors ("f" → "Zg==", "foobar" → "Zm9vYmFy").
 * - blake2b variable digest sizes: blake2b-160 of the go-address vector secp256k1 key is its f1 payload
 *   (checked in address.test.ts); here only the parameter, not a truncation, is checked.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  base32Decode,
  base32Encode,
  blake2b256,
  blake2bN,
  bytesEqual,
  concatBytes,
  decodeUvarint,
  encodeUvarint,
  fromBase64,
  fromHex,
  toBase64,
  toHex,
} from './bytes.js';
import { EncodingError } from './errors.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

describe('bytes', () => {
  it('base32 (RFC 4648 vectors, lower case, no padding)', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['f', 'my'],
      ['fo', 'mzxq'],
      ['foo', 'mzxw6'],
      ['foob', 'mzxw6yq'],
      ['fooba', 'mzxw6ytb'],
      ['foobar', 'mzxw6ytboi'],
    ];
    for (const [plain, enc] of cases) {
      assert.equal(base32Encode(utf8(plain)), enc);
      assert.deepEqual(base32Decode(enc), utf8(plain));
    }
    assert.throws(() => base32Decode('mz'), /non-canonical base32/);
    assert.throws(() => base32Decode('m'), /impossible base32 length 1/);
    assert.throws(() => base32Decode('mzx'), /impossible base32 length 3/);
    assert.throws(() => base32Decode('MY'), /character "M" at 0 is not base32/);
    assert.throws(() => base32Decode('m1', 'body', 10), /character "1" at 11/);
  });

  it('uvarint (multiformats examples)', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '8001'],
      [255, 'ff01'],
      [300, 'ac02'],
      [16384, '808001'],
    ];
    for (const [v, hex] of cases) {
      assert.equal(toHex(encodeUvarint(v)), hex);
      assert.deepEqual(decodeUvarint(fromHex(hex)), { value: BigInt(v), length: hex.length / 2 });
    }
    const max = (1n << 64n) - 1n;
    assert.equal(toHex(encodeUvarint(max)), 'ffffffffffffffffff01');
    assert.equal(decodeUvarint(encodeUvarint(max)).value, max);
    assert.deepEqual(decodeUvarint(fromHex('aa8001ff'), 1), { value: 128n, length: 2 });
    assert.throws(() => encodeUvarint(max + 1n), /out of range/);
    assert.throws(() => encodeUvarint(-1), /out of range/);
    assert.throws(() => decodeUvarint(fromHex('ffffffffffffffffff02')), /overflows 64 bits/);
    assert.throws(() => decodeUvarint(fromHex('8000')), /not minimally encoded/);
    assert.throws(() => decodeUvarint(fromHex('80')), /truncated/);
  });

  it('hex and base64 are strict', () => {
    assert.equal(toHex(fromHex('0xDEADbeef')), 'deadbeef');
    assert.throws(
      () => fromHex('abc', 'key'),
      (e: unknown) => e instanceof EncodingError && /key: odd number of hex digits/.test(e.message),
    );
    assert.throws(() => fromHex('zz'), /not hex/);
    assert.equal(toBase64(utf8('f')), 'Zg==');
    assert.equal(toBase64(utf8('foobar')), 'Zm9vYmFy');
    assert.deepEqual(fromBase64('Zg=='), utf8('f'));
    assert.deepEqual(fromBase64('Zg'), utf8('f'), 'unpadded accepted');
    assert.deepEqual(fromBase64(''), new Uint8Array(0));
    assert.throws(() => fromBase64('Zg='), /bad padding/);
    assert.throws(() => fromBase64('Z'), /bad length/);
    assert.throws(() => fromBase64('Zh=='), /not canonical/);
    assert.throws(() => fromBase64('Zm9v-_'), /bad character/, 'URL alphabet is not std base64');
    assert.throws(() => fromBase64('Zm 9v'), /bad character/);
  });

  it('blake2b digest size is a parameter, not a truncation', () => {
    const d = utf8('abc');
    assert.notDeepEqual(blake2bN(d, 20), blake2b256(d).subarray(0, 20));
    assert.equal(blake2bN(d, 4).length, 4);
    assert.ok(bytesEqual(concatBytes(fromHex('01'), fromHex('0203')), fromHex('010203')));
    assert.ok(!bytesEqual(fromHex('01'), fromHex('0102')));
  });
});
