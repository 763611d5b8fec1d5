/**
 * `[Common.HA]` of sector-manager.cfg (docs/manager-ha.md): several managers sharing one database ([Common.DB])
 * run the singleton duties (Window PoSt, commitment messages, chain jobs) one at a time under a lease.
 *
 *   [Common.HA]
 *   Name = "manager-a"     # this manager in the lease table and on the dashboard (default: hostname-pid)
 *   LeaseTTL = "30s"       # a dead holder's duties move to another manager within about this long
 */
import { z } from 'zod';
import { formatDuration, parseDuration } from '../common/config.js';
import { DEFAULT_LEASE_TTL_MS, defaultManagerName } from './ha/duties.js';

export const MIN_LEASE_TTL_MS = 1_000;
export const MAX_LEASE_TTL_MS = 600_000;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}$/;

export interface HAConfig {
  /** '' = hostname-pid */
  Name: string;
  /** Go duration string, normalised ("30s") */
  LeaseTTL: string;
}

export const DEFAULT_HA: HAConfig = { Name: '', LeaseTTL: formatDuration(DEFAULT_LEASE_TTL_MS) };

export const HAConfigSchema = z
  .strictObject({
    Name: z
      .string()
      .refine(
        (s) => s === '' || NAME.test(s),
        'must be 1–64 of letters, digits and ._:@- (starting with a letter or digit), or "" for hostname-pid',
      )
      .default(''),
    LeaseTTL: z
      .string()
      .transform((s, ctx) => {
        let v: number;
        try {
          v = parseDuration(s);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
        if (v < MIN_LEASE_TTL_MS || v > MAX_LEASE_TTL_MS) {
          ctx.addIssue({
            code: 'custom',
            message: `"${s}" is out of range: between ${formatDuration(MIN_LEASE_TTL_MS)} and ${formatDuration(MAX_LEASE_TTL_MS)} (renewed every third of it)`,
          });
          return z.NEVER;
        }
        return formatDuration(v);
      })
      .default(DEFAULT_HA.LeaseTTL),
  })
  .default({ ...DEFAULT_HA });

/** This manager's name and lease TTL in ms, from a parsed [Common.HA] (absent: the defaults). */
export function haSettings(ha: HAConfig | undefined): { name: string; ttlMs: number } {
  const c = ha ?? DEFAULT_HA;
  return { name: c.Name || defaultManagerName(), ttlMs: parseDuration(c.LeaseTTL) };
}

/**
 * The commented lines `daemon init` writes for [Common.HA] (under a commented [Common], as [Common.DB]): each key
 * with what it means, so uncommenting a line gives a valid config.
 */
export const HA_CONFIG_TEXT = `#  # several managers on one database ([Common.DB] Driver = "postgres"); docs/manager-ha.md
#  [Common.HA]
#    # this manager in the lease table and on the dashboard; "" = hostname-pid. Each manager needs its own:
#    # a second manager started under a Name whose heartbeat is fresh in the database refuses to start
#    Name = ""
#    # between 1s and 10m, renewed every third of it: a dead manager's duties move within about this long
#    LeaseTTL = "30s"
`;
