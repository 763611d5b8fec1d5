/**
 * Persist stores: the directories workers copy finished sectors into (`[[PersistedStore.Stores]]`, plus every
 * sub-directory of an `Includes` entry as a read-only store). The manager reserves space in them, checks that
 * a persisted sector's files are there (SubmitPersisted, Window PoSt), and finds them again by name.
 *
 * Layout (docs/spec/sealer-api.md §Persist): <root>/sealed/s-t0M-N and <root>/cache/s-t0M-N/{p_aux, t_aux,
 * tree-r-last…}.
 */
import { readdirSync, statfsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { SectorID, StoreBasicInfo, StoreDetailedInfo } from '../api/sealer.js';
import { sectorName } from '../api/sealer.js';
import { logger } from '../common/log.js';
import { sectorSizeInfo } from '../proofs/index.js';
import type { ManagerConfig } from './config.js';
import type { ManagerStore } from './db.js';

const log = logger('objstore');

export interface PersistStore {
  name: string;
  path: string;
  strict: boolean;
  readOnly: boolean;
  weight: number;
}

/** The stores a config names, in config order (Includes' sub-directories first, as the original). */
export function storesFromConfig(cfg: ManagerConfig): PersistStore[] {
  const out: PersistStore[] = [];
  for (const inc of cfg.PersistedStore.Includes) {
    const abs = resolve(inc);
    let entries: string[];
    try {
      entries = readdirSync(abs, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name);
    } catch (err) {
      log.warn({ include: abs, err: (err as Error).message }, 'cannot read PersistedStore include, skipped');
      continue;
    }
    for (const e of entries) {
      const p = join(abs, e);
      out.push({ name: p, path: p, strict: false, readOnly: true, weight: 1 });
    }
  }
  for (const s of cfg.PersistedStore.Stores) {
    const p = isAbsolute(s.Path) ? s.Path : resolve(s.Path);
    out.push({ name: s.Name || p, path: p, strict: s.Strict, readOnly: s.ReadOnly, weight: 1 });
  }
  return out;
}

export function basicInfo(s: PersistStore): StoreBasicInfo {
  return { Name: s.name, Path: s.path, Strict: s.strict, ReadOnly: s.readOnly, Weight: s.weight, Meta: {} };
}

/** Files a persisted sector must have (rust `cached_filenames_for_sector` plus the sealed file). */
export function sectorFiles(sectorSize: number): { cache: string[] } {
  const info = sectorSizeInfo(sectorSize);
  const trees =
    info.baseTreeCount > 1
      ? Array.from({ length: info.baseTreeCount }, (_, i) => `sc-02-data-tree-r-last-${i}.dat`)
      : ['sc-02-data-tree-r-last.dat'];
  return { cache: ['p_aux', 't_aux', ...trees] };
}

export function sealedPath(root: string, sid: SectorID): string {
  return join(root, 'sealed', sectorName(sid));
}

export function cacheDir(root: string, sid: SectorID): string {
  return join(root, 'cache', sectorName(sid));
}

/** Why a sector's persisted files are not usable, or undefined when they are. */
export async function checkSectorFiles(
  sealedRoot: string,
  cacheRoot: string,
  sid: SectorID,
  sectorSize: number,
  strict: boolean,
): Promise<string | undefined> {
  const sealed = sealedPath(sealedRoot, sid);
  try {
    const st = await stat(sealed);
    if (!st.isFile()) return `${sealed} is not a file`;
    if (strict && st.size !== sectorSize) return `${sealed}: size ${st.size}, expected ${sectorSize}`;
  } catch (err) {
    return `sealed file ${sealed}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const dir = cacheDir(cacheRoot, sid);
  for (const f of sectorFiles(sectorSize).cache) {
    const p = join(dir, f);
    try {
      const st = await stat(p);
      if (!st.isFile()) return `${p} is not a file`;
      if (strict && st.size === 0) return `${p} is empty`;
    } catch (err) {
      return `cache file ${p}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
    }
  }
  return undefined;
}

/** The stores and their reservations. */
export class PersistStores {
  constructor(
    private stores: PersistStore[],
    private readonly db: ManagerStore,
  ) {}

  reload(stores: PersistStore[]): void {
    this.stores = stores;
  }

  list(): PersistStore[] {
    return [...this.stores];
  }

  get(name: string): PersistStore | undefined {
    return this.stores.find((s) => s.name === name);
  }

  /** Bytes free for new sectors: the file system's available bytes less what is reserved. */
  free(s: PersistStore): { total: number; free: number; reserved: number } {
    let total = 0;
    let avail = 0;
    try {
      const f = statfsSync(s.path);
      total = f.blocks * f.bsize;
      avail = f.bavail * f.bsize;
    } catch (err) {
      log.warn({ store: s.name, err: (err as Error).message }, 'cannot stat persist store');
    }
    const reserved = this.db.reservationsOf(s.name).reduce((a, r) => a + r.size, 0);
    return { total, free: Math.max(0, avail - reserved), reserved };
  }

  /**
   * Reserves `size` bytes for a sector in one of the candidate stores (all writable ones when none are
   * named): weighted random among those with room. A repeated call for the same sector answers the store
   * reserved before.
   */
  reserve(sid: SectorID, size: number, candidates: string[] | null): StoreBasicInfo | null {
    return this.db.tx(() => {
      const had = this.db.getReservation(sid);
      if (had) {
        const s = this.get(had.store);
        if (s) return basicInfo(s);
        this.db.release(sid);
      }
      const names = candidates && candidates.length > 0 ? new Set(candidates) : undefined;
      const ok = this.stores.filter(
        (s) => !s.readOnly && (names === undefined || names.has(s.name)) && this.free(s).free >= size,
      );
      if (ok.length === 0) return null;
      const totalWeight = ok.reduce((a, s) => a + s.weight, 0);
      let pick = Math.random() * totalWeight;
      let chosen = ok[ok.length - 1]!;
      for (const s of ok) {
        pick -= s.weight;
        if (pick < 0) {
          chosen = s;
          break;
        }
      }
      this.db.reserve(sid, chosen.name, size);
      log.info({ sector: sectorName(sid), store: chosen.name, size }, 'space reserved');
      return basicInfo(chosen);
    });
  }

  release(sid: SectorID): boolean {
    return this.db.release(sid);
  }

  detailed(): StoreDetailedInfo[] {
    return this.stores.map((s) => {
      const f = this.free(s);
      const used = Math.max(0, f.total - f.free - f.reserved);
      return {
        ...basicInfo(s),
        Type: 'filesystem',
        Total: f.total,
        Free: f.free,
        Used: used,
        UsedPercent: f.total ? (used / f.total) * 100 : 0,
        Reserved: f.reserved,
        ReservedBy: this.db
          .reservationsOf(s.name)
          .map((r) => ({ By: sectorName({ Miner: r.miner, Number: r.number }), Size: r.size, At: r.at })),
      };
    });
  }
}
