/**
 * Token amounts. Everything is attoFIL as a bigint (1 FIL = 10^18 attoFIL), the unit the chain and the
 * Lotus JSON API use. parseFIL/formatFIL follow Lotus' types.ParseFIL and FIL.String()/Short().
 */
import { TokenError } from './errors.js';

/** An amount in attoFIL. */
export type AttoFIL = bigint;

export const FIL_DECIMALS = 18;
/** attoFIL per FIL. */
export const FIL_PRECISION = 10n ** 18n;

/** Units accepted by parseFIL (case-insensitive), as powers of ten of attoFIL. */
const UNITS: Record<string, number> = {
  fil: 18,
  millifil: 15,
  mfil: 15,
  microfil: 12,
  μfil: 12,
  ufil: 12,
  nanofil: 9,
  nfil: 9,
  picofil: 6,
  pfil: 6,
  femtofil: 3,
  ffil: 3,
  attofil: 0,
  afil: 0,
};

export interface ParseFILOptions {
  /** Accept a leading minus (default false: amounts an operator types are never negative). */
  allowNegative?: boolean;
  /** Unit of a bare number (default 'FIL', as Lotus). */
  defaultUnit?: 'FIL' | 'attoFIL';
}

/**
 * Parses an amount with an optional unit: "1.5 FIL", "1.5fil", "0.01" (FIL by default), "100 attoFIL",
 * "100 aFIL", "1 nanoFIL", "2 mFIL", "3 μFIL"… Returns attoFIL. Throws a TokenError saying what is wrong:
 * an unknown unit, not a decimal number, more decimals than the unit allows (below 1 attoFIL), a negative
 * amount where none is allowed, or more than 50 digits (Lotus' limit).
 *
 * Lotus' ParseFIL knows only FIL and attoFIL/aFIL; the other SI units are an extension here.
 */
export function parseFIL(input: string, opts: ParseFILOptions = {}): AttoFIL {
  if (typeof input !== 'string') throw new TokenError(`amount must be a string, got ${typeof input}`);
  const q = JSON.stringify(input);
  const s = input.trim();
  const m = /^([-+]?)([0-9]*)(?:\.([0-9]*))?\s*([^\s0-9.+-][^\s]*)?$/u.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) {
    throw new TokenError(`invalid amount ${q}: not a decimal number with an optional unit (e.g. "1.5 FIL")`);
  }
  const [, sign, intPart = '', fracPart = '', unitRaw] = m;
  if (intPart.length + fracPart.length > 50) throw new TokenError(`invalid amount ${q}: too many digits (max 50)`);
  const unitName = unitRaw === undefined ? (opts.defaultUnit ?? 'FIL') : unitRaw;
  const exp = UNITS[unitName.toLowerCase()];
  if (exp === undefined) {
    throw new TokenError(
      `invalid amount ${q}: unknown unit ${JSON.stringify(unitName)} (use FIL, mFIL, μFIL, nanoFIL, pFIL, fFIL or attoFIL)`,
    );
  }
  const frac = fracPart.replace(/0+$/, '');
  if (frac.length > exp) {
    const unitLabel = unitRaw ?? unitName;
    throw new TokenError(
      exp === 0
        ? `invalid amount ${q}: attoFIL is the smallest unit, no decimals allowed`
        : `invalid amount ${q}: too many decimals for ${unitLabel} (at most ${exp}, 1 attoFIL)`,
    );
  }
  const magnitude = BigInt((intPart || '0') + frac.padEnd(exp, '0'));
  if (sign === '-' && magnitude !== 0n) {
    if (!opts.allowNegative) throw new TokenError(`invalid amount ${q}: negative amounts are not allowed here`);
    return -magnitude;
  }
  return magnitude;
}

/** Exact decimal string of atto / 10^decimals, trailing zeros trimmed ("1.5", "0", "-0.000000000000000001"). */
function exactDecimal(atto: bigint, decimals: number): string {
  const neg = atto < 0n;
  const abs = neg ? -atto : atto;
  const d = 10n ** BigInt(decimals);
  const whole = abs / d;
  const frac = (abs % d).toString().padStart(decimals, '0').replace(/0+$/, '');
  return `${neg ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** Exact amount in FIL without a unit, as Lotus FIL.Unitless(): "1.5", "0", "100". */
export function formatFILUnitless(atto: AttoFIL): string {
  return exactDecimal(atto, FIL_DECIMALS);
}

/** Exact amount in FIL, as Lotus FIL.String(): "1.5 FIL", "0 FIL", "0.000000000000000001 FIL". */
export function formatFIL(atto: AttoFIL): string {
  return `${formatFILUnitless(atto)} FIL`;
}

const SHORT_PREFIXES = ['a', 'f', 'p', 'n', 'μ', 'm'];

/**
 * Compact amount with an SI prefix and at most 3 decimals (rounded half away from zero), as Lotus
 * FIL.Short(): "100 mFIL", "1.234 μFIL", "123456.234 FIL"; zero prints as "0" (no unit) like Lotus.
 */
export function formatFILShort(atto: AttoFIL): string {
  const neg = atto < 0n;
  const abs = neg ? -atto : atto;
  let dn = 1n;
  let prefix = ''; // ≥ 1000 mFIL: plain FIL, dn = 10^18
  for (const p of SHORT_PREFIXES) {
    if (abs < dn * 1000n) {
      prefix = p;
      break;
    }
    dn *= 1000n;
  }
  if (abs === 0n) return '0';
  // round |atto| / dn to 3 decimals, half away from zero (Go big.Rat.FloatString)
  const scaled = abs * 1000n;
  let q = scaled / dn;
  if ((scaled % dn) * 2n >= dn) q += 1n;
  return `${exactDecimal(neg ? -q : q, 3)} ${prefix}FIL`;
}

/** Whole FIL to attoFIL (fil(2) = 2 × 10^18). */
export function fil(n: number | bigint): AttoFIL {
  if (typeof n === 'number' && !Number.isSafeInteger(n))
    throw new TokenError(`fil(${n}): not an integer; use parseFIL for decimals`);
  return BigInt(n) * FIL_PRECISION;
}

/** Lotus JSON form of a big integer: its decimal string. */
export function bigIntToJSON(v: bigint): string {
  return v.toString();
}

/**
 * Parses a Lotus JSON big integer (a decimal string, possibly negative; a plain JSON number is accepted too).
 * `what` names the field in the error message.
 */
export function bigIntFromJSON(v: unknown, what = 'big integer'): bigint {
  if (typeof v === 'string') {
    // a caller's string is quoted only in part; 400 digits is far past any token amount (2^128 has 39)
    if (v.length > 400) throw new TokenError(`${what}: a ${v.length}-character string is too long for an integer`);
    if (!/^-?[0-9]+$/.test(v)) {
      const shown = v.length > 40 ? `${v.slice(0, 40)}…` : v;
      throw new TokenError(`${what}: ${JSON.stringify(shown)} is not a decimal integer`);
    }
    return BigInt(v);
  }
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'bigint') return v;
  throw new TokenError(`${what}: expected a decimal string, got ${v === null ? 'null' : typeof v}`);
}
