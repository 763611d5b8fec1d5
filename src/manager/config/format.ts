/** The effective config as the original logs it on start, tokens redacted. */
import { shownDbConfig } from '../config-db.js';
import type { ManagerConfig } from './schema.js';

/** Go's strconv-quoted string as BurntSushi/toml writes it. */
function quote(s: string): string {
  return JSON.stringify(s);
}

function formatValue(v: unknown): string {
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  throw new Error(`cannot format ${typeof v}`);
}

/** Keys holding Go float64s: written with a decimal point ("0.0", "1.2"). */
const FLOAT_KEYS = new Set([
  'PreCommitGasOverEstimation',
  'ProCommitGasOverEstimation',
  'BatchPreCommitGasOverEstimation',
  'BatchProCommitGasOverEstimation',
  'GasOverEstimation',
]);

function formatKeyValue(key: string, v: unknown): string {
  if (FLOAT_KEYS.has(key) && typeof v === 'number') {
    const s = String(v);
    return /[.eE]/.test(s) ? s : `${s}.0`;
  }
  return formatValue(v);
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isArrayOfTables(v: unknown): v is Record<string, unknown>[] {
  return Array.isArray(v) && v.length > 0 && v.every(isTable);
}

/**
 * The effective config in BurntSushi/toml's layout, as the original logs it on start ("Sector-manager initial
 * cfg: …"): two-space indent per level, a blank line before top-level tables and arrays of tables, values
 * before sub-tables. Tokens are shortened (header.payload.***) so logs never hold a usable credential.
 */
export function formatConfig(cfg: ManagerConfig): string {
  const lines: string[] = [];
  const written = () => lines.length > 0;
  const newline = () => {
    if (written()) lines.push('');
  };
  const emit = (path: string[], table: Record<string, unknown>) => {
    const indent = '  '.repeat(path.length);
    const subs: [string, unknown][] = [];
    for (const [k, v] of Object.entries(table)) {
      if (v === undefined) continue;
      if (isTable(v) || isArrayOfTables(v)) {
        subs.push([k, v]);
        continue;
      }
      const shown = typeof v !== 'string' ? v : k === 'Token' ? redactToken(v) : k === 'Api' ? redactApiInfo(v) : v;
      lines.push(`${indent}${k} = ${formatKeyValue(k, shown)}`);
    }
    for (const [k, v] of subs) {
      const p = [...path, k];
      const name = p.map((s) => (/^[A-Za-z0-9_-]+$/.test(s) ? s : quote(s))).join('.');
      if (isArrayOfTables(v)) {
        for (const t of v) {
          newline();
          lines.push(`${'  '.repeat(path.length)}[[${name}]]`);
          emit(p, t);
        }
      } else {
        if (p.length === 1) newline();
        lines.push(`${'  '.repeat(path.length)}[${name}]`);
        emit(p, v as Record<string, unknown>);
      }
    }
  };
  const sortedMap = <T>(m: Record<string, T>) =>
    Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
  // the deal keys came after the guide: shown once set, so a config without deals logs as the guide shows it
  const deals = cfg.DealManagerConfig;
  const dealsSet = deals.MarketAPI.Api !== '' || deals.MarketAPI.Token !== '' || deals.LocalPieceStores.length > 0;
  emit([], {
    SectorManager: {
      ...cfg.SectorManager,
      // (the snapup keys likewise: shown when not at their defaults)
      Miners: cfg.SectorManager.Miners.map(({ EnableDeals, EnableSnapUp, CleanupCCData, ...m }) => ({
        ...m,
        ...(EnableDeals ? { EnableDeals } : {}),
        ...(EnableSnapUp ? { EnableSnapUp } : {}),
        ...(CleanupCCData ? {} : { CleanupCCData }),
      })),
    },
    Commitment: { DefaultPolicy: cfg.Commitment.DefaultPolicy, Miners: sortedMap(cfg.Commitment.Miners) },
    Chain: cfg.Chain,
    Messager: cfg.Messager,
    PersistedStore: cfg.PersistedStore,
    PoSt: { Default: cfg.PoSt.Default, Actors: sortedMap(cfg.PoSt.Actors) },
    ...(dealsSet ? { DealManagerConfig: deals } : {}),
    ...(shownDbConfig(cfg.Common.DB) ? { Common: { DB: shownDbConfig(cfg.Common.DB) } } : {}),
  });
  return `${lines.join('\n')}\n`;
}

/** An API-info string "TOKEN:/ip4/…" with its token redacted (a plain address is returned as it is). */
export function redactApiInfo(api: string): string {
  const m = /^([a-zA-Z0-9\-_]+?\.[a-zA-Z0-9\-_]+?\.(?:[a-zA-Z0-9\-_]+)?):(.+)$/.exec(api.trim());
  return m ? `${redactToken(m[1]!)}:${m[2]}` : api;
}

/** A JWT is header.payload.signature: keep what identifies it, drop what makes it usable. */
export function redactToken(t: string): string {
  if (t === '') return '';
  const parts = t.split('.');
  if (parts.length === 3) return `${parts[0]}.${parts[1]}.***`;
  return '***';
}
