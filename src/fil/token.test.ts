/**
 * Token amount tests.
 *
 * Vectors and their sources:
 * - venus venus-shared/types/chain fil_test.go (same as lotus chain/types/fil_test.go): TestFilShort (64 cases,
 *   positive and negative), TestFilRoundTrip ("0 FIL", "1.001 FIL", 50 ones + " FIL" …), TestParseAttoFils,
 *   TestInvalidFILString ("1.001.1 FIL", 51 digits).
 * - Lotus FIL.String() convention "0 FIL" for zero (chain/types/fil.go).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenError } from './errors.js';
import { bigIntFromJSON, fil, formatFIL, formatFILShort, formatFILUnitless, parseFIL } from './token.js';

describe('token: parseFIL', () => {
  it('units and defaults', () => {
    assert.equal(parseFIL('1.5 FIL'), 1_500_000_000_000_000_000n);
    assert.equal(parseFIL('1.5fil'), 1_500_000_000_000_000_000n);
    assert.equal(parseFIL('0.01'), 10_000_000_000_000_000n);
    assert.equal(parseFIL('100 attoFIL'), 100n);
    assert.equal(parseFIL('100 aFIL'), 100n);
    assert.equal(parseFIL('1 nanoFIL'), 1_000_000_000n);
    assert.equal(parseFIL('1 nFIL'), 1_000_000_000n);
    assert.equal(parseFIL('2 mFIL'), 2_000_000_000_000_000n);
    assert.equal(parseFIL('3 μFIL'), 3_000_000_000_000n);
    assert.equal(parseFIL('3 uFIL'), 3_000_000_000_000n);
    assert.equal(parseFIL('4 pFIL'), 4_000_000n);
    assert.equal(parseFIL('5 fFIL'), 5_000n);
    assert.equal(parseFIL('  7 FIL  '), 7n * 10n ** 18n);
    assert.equal(parseFIL('.5'), 5n * 10n ** 17n);
    assert.equal(parseFIL('1.'), 10n ** 18n);
    assert.equal(
      parseFIL('1.500000000000000000000000 FIL'),
      15n * 10n ** 17n,
      'trailing zeros beyond 18 decimals are exact',
    );
    assert.equal(parseFIL('0.000000000000000001'), 1n);
    assert.equal(parseFIL('12', { defaultUnit: 'attoFIL' }), 12n);
    assert.equal(parseFIL('-0'), 0n, 'negative zero is zero, and allowed');
    assert.equal(parseFIL('-1.5 FIL', { allowNegative: true }), -1_500_000_000_000_000_000n);
  });

  it('venus/lotus TestParseAttoFils and TestFilRoundTrip', () => {
    for (const v of ['0 aFIL', '1 aFIL', '100 aFIL', '101100 aFIL', '5000 aFIL', '0 attoFIL', '5000 attoFIL']) {
      const atto = parseFIL(v);
      assert.equal(`${atto} ${v.split(' ')[1]}`, v);
    }
    for (const v of [
      '0 FIL',
      '1 FIL',
      '1.001 FIL',
      '100.10001 FIL',
      '101100 FIL',
      '5000.01 FIL',
      '5000 FIL',
      `${'1'.repeat(50)} FIL`,
    ]) {
      assert.equal(formatFIL(parseFIL(v)), v);
    }
  });

  it('errors say what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['1.001.1 FIL', /not a decimal number/],
      [`${'1'.repeat(51)} FIL`, /too many digits/],
      ['', /not a decimal number/],
      ['FIL', /not a decimal number/],
      ['abc', /not a decimal number/],
      ['1e3', /unknown unit "e3"/],
      ['1 BTC', /unknown unit "BTC"/],
      ['1 FIL extra', /not a decimal number/],
      ['0.0000000000000000001', /too many decimals for FIL \(at most 18/],
      ['1.5 attoFIL', /attoFIL is the smallest unit/],
      ['1.0000000001 nanoFIL', /too many decimals for nanoFIL \(at most 9/],
      ['-1 FIL', /negative amounts are not allowed/],
      ['--1', /not a decimal number/],
      ['1,5', /unknown unit ",5"/],
    ];
    for (const [input, re] of cases) {
      assert.throws(
        () => parseFIL(input),
        (e: unknown) => e instanceof TokenError && re.test(e.message),
        input,
      );
    }
    assert.throws(() => parseFIL(5 as unknown as string), /must be a string/);
  });
});

describe('token: formatting', () => {
  it('formatFIL like Lotus FIL.String()', () => {
    assert.equal(formatFIL(0n), '0 FIL');
    assert.equal(formatFIL(15n * 10n ** 17n), '1.5 FIL');
    assert.equal(formatFIL(1n), '0.000000000000000001 FIL');
    assert.equal(formatFIL(-1n), '-0.000000000000000001 FIL');
    assert.equal(formatFIL(fil(100)), '100 FIL');
    assert.equal(formatFILUnitless(fil(3)), '3');
  });

  it('formatFILShort: venus/lotus TestFilShort', () => {
    const cases: [string, string][] = [
      ['1', '1 FIL'],
      ['1.1', '1.1 FIL'],
      ['12', '12 FIL'],
      ['123', '123 FIL'],
      ['123456', '123456 FIL'],
      ['123.23', '123.23 FIL'],
      ['123456.234', '123456.234 FIL'],
      ['123456.2341234', '123456.234 FIL'],
      ['123456.234123445', '123456.234 FIL'],
      ['0.1', '100 mFIL'],
      ['0.01', '10 mFIL'],
      ['0.001', '1 mFIL'],
      ['0.0001', '100 μFIL'],
      ['0.00001', '10 μFIL'],
      ['0.000001', '1 μFIL'],
      ['0.0000001', '100 nFIL'],
      ['0.00000001', '10 nFIL'],
      ['0.000000001', '1 nFIL'],
      ['0.0000000001', '100 pFIL'],
      ['0.00000000001', '10 pFIL'],
      ['0.000000000001', '1 pFIL'],
      ['0.0000000000001', '100 fFIL'],
      ['0.00000000000001', '10 fFIL'],
      ['0.000000000000001', '1 fFIL'],
      ['0.0000000000000001', '100 aFIL'],
      ['0.00000000000000001', '10 aFIL'],
      ['0.000000000000000001', '1 aFIL'],
      ['0.0000012', '1.2 μFIL'],
      ['0.00000123', '1.23 μFIL'],
      ['0.000001234', '1.234 μFIL'],
      ['0.0000012344', '1.234 μFIL'],
      ['0.00000123444', '1.234 μFIL'],
      ['0.0002212', '221.2 μFIL'],
      ['0.00022123', '221.23 μFIL'],
      ['0.000221234', '221.234 μFIL'],
      ['0.0002212344', '221.234 μFIL'],
      ['0.00022123444', '221.234 μFIL'],
    ];
    for (const [input, want] of cases) {
      assert.equal(formatFILShort(parseFIL(input)), want, input);
      assert.equal(formatFILShort(parseFIL(`-${input}`, { allowNegative: true })), `-${want}`, `-${input}`);
    }
    assert.equal(formatFILShort(0n), '0');
    assert.equal(formatFILShort(parseFIL('0.0000012345')), '1.235 μFIL', 'half rounds away from zero');
  });

  it('JSON big integers', () => {
    assert.equal(bigIntFromJSON('-123'), -123n);
    assert.equal(bigIntFromJSON(5), 5n);
    assert.throws(() => bigIntFromJSON('1.5', 'Value'), /Value: "1.5" is not a decimal integer/);
    assert.throws(() => bigIntFromJSON(null, 'Value'), /got null/);
    assert.throws(() => fil(1.5), /not an integer/);
  });
});
