/** Field types of sector-manager.cfg (each refuses a bad value with the reason), and miner ids as section keys. */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../../common/config.js';
import { parseAddress, parseFIL } from '../../fil/index.js';
import { parseApiInfo } from '../../rpc/index.js';

/** Go Duration: keeps the normalised Go string ("60s" → "1m0s"); `ms()` converts. */
export const durationStr = () =>
  z.string().transform((s, ctx) => {
    try {
      return formatDuration(parseDuration(s));
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** A fee cap: "" (unset), attoFIL digits, or an amount with a unit ("5 nanoFIL", "0.1 FIL"). */
export const feeCap = () =>
  z.string().superRefine((s, ctx) => {
    if (s.trim() === '') return;
    try {
      parseFIL(s, { defaultUnit: 'attoFIL' });
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

/** An address, or "" for "not set". */
export const addressStr = () =>
  z.string().superRefine((s, ctx) => {
    if (s === '') return;
    try {
      parseAddress(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `bad address "${s}": ${(err as Error).message}` });
    }
  });

/** An API endpoint: "" (unset), a multiaddr, a URL, or "TOKEN:multiaddr". */
export const endpointStr = () =>
  z.string().superRefine((s, ctx) => {
    if (s.trim() === '') return;
    try {
      parseApiInfo(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });

export const nonNegInt = () => z.number().int('must be an integer').min(0, 'must be ≥ 0');
export const uint64 = () => nonNegInt().max(Number.MAX_SAFE_INTEGER, 'too large');
export const nonNegFloat = () => z.number().min(0, 'must be ≥ 0');

/** Go duration string → milliseconds. */
export function ms(d: string): number {
  return parseDuration(d);
}

/** A fee cap string → attoFIL, or undefined when unset. */
export function feeCapAtto(s: string): bigint | undefined {
  return s.trim() === '' ? undefined : parseFIL(s, { defaultUnit: 'attoFIL' });
}

/** A section key naming a miner ("1033", "t01033", "f01033") → its actor id, or undefined. */
export function normalizeMinerKey(k: string): number | undefined {
  const m = /^(?:[ft]0)?(\d{1,15})$/.exec(k);
  if (!m) return undefined;
  const n = Number(m[1]);
  return n > 0 ? n : undefined;
}

/** The entry of `map` whose key names `miner`. */
export function minerEntry<T>(map: Record<string, T>, miner: number): T | undefined {
  for (const [k, v] of Object.entries(map)) if (normalizeMinerKey(k) === miner) return v;
  return undefined;
}
