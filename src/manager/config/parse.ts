/** Loading sector-manager.cfg: the schema's checks, then the cross-field ones, each as "FILE: Key.Path: reason". */
import { ConfigError, loadConfigFile, parseConfigText } from '../../common/config.js';
import { normalizeMinerKey } from './fields.js';
import { type ManagerConfig, ManagerConfigSchema } from './schema.js';

/** Cross-field checks zod cannot express per field. */
function checkSemantics(file: string, cfg: ManagerConfig): void {
  const problems: string[] = [];
  const seen = new Set<number>();
  cfg.SectorManager.Miners.forEach((m, i) => {
    if (seen.has(m.ID)) problems.push(`SectorManager.Miners[${i}].ID: miner ${m.ID} is listed twice`);
    seen.add(m.ID);
    if (m.MaxNumber !== undefined && m.MaxNumber < m.InitNumber)
      problems.push(`SectorManager.Miners[${i}].MaxNumber: ${m.MaxNumber} is below InitNumber ${m.InitNumber}`);
    if (m.EnableDeals && cfg.DealManagerConfig.MarketAPI.Api.trim() === '')
      problems.push(
        `SectorManager.Miners[${i}].EnableDeals: deals need the market's address in [DealManagerConfig.MarketAPI] Api`,
      );
    if (m.EnableSnapUp && !m.EnableDeals)
      problems.push(
        `SectorManager.Miners[${i}].EnableSnapUp: snapup fills sectors with deals; set EnableDeals = true too`,
      );
  });
  const pieceNames = new Set<string>();
  cfg.DealManagerConfig.LocalPieceStores.forEach((s, i) => {
    const name = s.Name || s.Path;
    if (pieceNames.has(name))
      problems.push(`DealManagerConfig.LocalPieceStores[${i}].Name: piece store "${name}" is listed twice`);
    pieceNames.add(name);
  });
  const names = new Set<string>();
  cfg.PersistedStore.Stores.forEach((s, i) => {
    const name = s.Name || s.Path;
    if (names.has(name)) problems.push(`PersistedStore.Stores[${i}].Name: store "${name}" is listed twice`);
    names.add(name);
  });
  for (const section of ['Commitment.Miners', 'PoSt.Actors'] as const) {
    const map = section === 'Commitment.Miners' ? cfg.Commitment.Miners : cfg.PoSt.Actors;
    const ids = new Map<number, string>();
    for (const k of Object.keys(map)) {
      const id = normalizeMinerKey(k);
      if (id === undefined) {
        // "example" is the template's placeholder; the original ignores it too
        if (k !== 'example') problems.push(`${section}.${k}: "${k}" is not a miner id (write 1033 for t01033)`);
        continue;
      }
      const prev = ids.get(id);
      if (prev !== undefined) problems.push(`${section}: "${prev}" and "${k}" name the same miner`);
      ids.set(id, k);
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
}

export function parseManagerConfig(file: string, text: string): ManagerConfig {
  const cfg = parseConfigText(file, text, ManagerConfigSchema) as unknown as ManagerConfig;
  checkSemantics(file, cfg);
  return cfg;
}

export function loadManagerConfig(file: string): ManagerConfig {
  const cfg = loadConfigFile(file, ManagerConfigSchema) as unknown as ManagerConfig;
  checkSemantics(file, cfg);
  return cfg;
}
