/**
 * Value parsers for venus-worker's configuration: durations as the Rust worker and Go write them, byte sizes,
 * and the strict-object and count shorthands its Zod schema (config.ts) is written with.
 */
import { z } from 'zod';
import { parseSectorSize } from '../proofs/index.js';

const HUMANTIME_UNITS: Record<string, number> = {
  ns: 1e-6,
  nsec: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  usec: 1e-3,
  ms: 1,
  msec: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
};

/**
 * Durations as the Rust worker reads them (humantime: "30s", "5min", "1h 30m", "2days") and as Go writes
 * them ("1m30s", "500ms"). Returns milliseconds.
 */
export function parseHumanDuration(s: string): number {
  const str = s.trim();
  if (str === '0') return 0;
  const re = /\s*(\d+(?:\.\d+)?)\s*([a-zµ]+)/giy;
  let total = 0;
  let pos = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(str))) {
    const unit = HUMANTIME_UNITS[m[2]!.toLowerCase()];
    if (unit === undefined) throw new Error(`bad duration "${s}": unknown unit "${m[2]}"`);
    total += Number(m[1]) * unit;
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== str.length) throw new Error(`bad duration "${s}" (expected e.g. "30s", "5min", "1m30s")`);
  return total;
}

export const humanDuration = () =>
  z.string().transform((s, ctx) => {
    try {
      return parseHumanDuration(s);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });

/** Byte sizes ("8GiB", "512MiB", 1024) to bytes. */
export const byteSize = () =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    try {
      return parseSectorSize(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message.replace('sector size', 'size') });
      return z.NEVER;
    }
  });

export const strict = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict();
export const count = () => z.number().int().min(0);
