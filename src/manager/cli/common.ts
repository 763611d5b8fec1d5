/** What the venus-sector-manager commands share: global options, the config, the daemon's API, tables. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ManagerAPI } from '../../api/sealer.js';
import { UserError } from '../../common/cli.js';
import { expandHome } from '../../common/config.js';
import { setDefaultNetwork } from '../../fil/index.js';
import { createClient, parseListenAddress, RpcConnectionError } from '../../rpc/index.js';
import { loadManagerConfig } from '../config.js';
import { configPath, networkPrefix } from '../daemon.js';

export interface Globals {
  home: string;
  net: string;
}

export function globals(cmd: Command): Globals {
  const o = cmd.optsWithGlobals() as { home?: string; net?: string };
  const home = o.home ?? process.env.VENUS_SECTOR_MANAGER_PATH ?? process.env.VSM_PATH ?? '~/.venus-sector-manager';
  return { home: expandHome(home), net: o.net ?? 'mainnet' };
}

export function parseBool(v: string | boolean | undefined): boolean {
  if (v === undefined || v === true) return true;
  if (v === false) return false;
  const s = String(v).toLowerCase();
  if (['true', '1', 'yes', 't'].includes(s)) return true;
  if (['false', '0', 'no', 'f'].includes(s)) return false;
  throw new UserError(`expected true or false, not "${v}"`);
}

/** A miner given as t01033, f01033 or 1033. */
export function parseMinerId(s: string): number {
  const m = /^(?:[ft]0)?(\d+)$/.exec(String(s).trim());
  if (!m || Number(m[1]) <= 0) throw new UserError(`"${s}" is not a miner id (t01033 or 1033)`);
  return Number(m[1]);
}

export function parseSectorNumber(s: string): number {
  if (!/^\d+$/.test(String(s))) throw new UserError(`"${s}" is not a sector number`);
  return Number(s);
}

export function loadCfg(g: Globals) {
  setDefaultNetwork(networkPrefix(g.net));
  return loadManagerConfig(configPath(g.home));
}

/** The daemon's API for the CLI tools, with the repo's admin token when there is one. */
export function managerClient(listen: string, home: string) {
  const { host, port } = parseListenAddress(listen);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host;
  const tokenFile = join(home, 'token');
  const token = existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8').trim() : undefined;
  return createClient(ManagerAPI, {
    url: `http://${h}:${port}/rpc/v0`,
    timeoutMs: 120_000,
    ...(token ? { token } : {}),
  });
}

export function withListen(cmd: Command): Command {
  return cmd.option('--listen <addr>', 'address of the running daemon', '127.0.0.1:1789');
}

export async function withManager<T>(
  cmd: Command,
  fn: (api: ReturnType<typeof managerClient>) => Promise<T>,
): Promise<T> {
  const o = cmd.optsWithGlobals() as { listen: string };
  const api = managerClient(o.listen, globals(cmd).home);
  try {
    return await fn(api);
  } catch (err) {
    // by class, not message: the daemon's own errors may mention ECONNREFUSED (its chain node is down)
    if (err instanceof RpcConnectionError) {
      throw new UserError(
        `cannot reach the sector-manager at ${o.listen}: is \`daemon run\` running? (${err.message})`,
      );
    }
    throw err;
  } finally {
    await api.close();
  }
}

export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

export const out = (s: string) => process.stdout.write(s);
