/**
 * Persist stores: the directories workers copy finished sectors into (`[[PersistedStore.Stores]]`, plus every
 * sub-directory of an `Includes` entry as a read-only store). The manager reserves space in them, checks that
 * a persisted sector's files are there (SubmitPersisted, Window PoSt), and finds them again by name.
 *
 * Layout (docs/spec/sealer-api.md §Persist): <root>/sealed/s-t0M-N and <root>/cache/s-t0M-N/{p_aux, t_aux,
 * tree-r-last…}.
 */
import { existsSync, readdirSync, realpathSync, statfsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { PersistStoresRefusedError } from '../api/errors.js';
import type { SectorID, SectorIndexType, StoreBasicInfo, StoreDetailedInfo } from '../api/sealer.js';
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

/** A path as both sides name the same mount: absolute, with symlinks resolved while it exists. */
function canonicalPath(p: string): string {
  const abs = resolve(p);
  try {
    return realpathSync.native(abs);
  } catch {
    return abs;
  }
}

/**
 * A worker offered persist stores the manager does not know (by Name, nor by Path). The message names both
 * config keys, since either side may be the one to change (docs/worker-waits.md, "persist stores").
 */
export class UnknownPersistStores extends PersistStoresRefusedError {
  constructor(candidates: string[], stores: PersistStore[]) {
    const offered = JSON.stringify(candidates);
    const configured = stores.length
      ? `[${stores.map((s) => `${JSON.stringify(s.name)} at ${s.path}${s.readOnly ? ' (read-only)' : ''}`).join(', ')}]`
      : 'none';
    const first = stores.find((s) => !s.readOnly);
    const cand = candidates[0]!;
    const mgrKey = isAbsolute(cand)
      ? `[[PersistedStore.Stores]] Path = ${JSON.stringify(cand)}`
      : `[[PersistedStore.Stores]] Name = ${JSON.stringify(cand)}`;
    const hint = first
      ? `set [remote] name = ${JSON.stringify(first.name)} (or [[attached]] name) in the worker's config, or ${mgrKey} in sector-manager.cfg`
      : `add a [[PersistedStore.Stores]] entry with ${isAbsolute(cand) ? `Path = ${JSON.stringify(cand)}` : `Name = ${JSON.stringify(cand)}`} to sector-manager.cfg`;
    super(`the worker offers persist stores ${offered}; configured: ${configured}; ${hint}`);
    this.name = 'UnknownPersistStores';
  }
}

/** Why a store cannot take sectors as it is (path missing, not formatted), or undefined. */
export function storeProblem(path: string): string | undefined {
  try {
    statfsSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return `path missing or unreadable (${code}): create and format it with "venus-worker store file-init -l ${path}", or mount its disk`;
  }
  if (!existsSync(join(path, '.holder'))) {
    return `not formatted (no .holder): run "venus-worker store file-init -l ${path}", or mount its disk`;
  }
  return undefined;
}

/** The lines `util storage list` prints: space and reservations, or why a store has none. */
export function formatStoreList(list: StoreDetailedInfo[]): string {
  if (list.length === 0) return 'no persist store configured ([[PersistedStore.Stores]])\n';
  return list
    .map((s) => {
      const problem = s.Meta?.Problem;
      return (
        `${s.Name}:\n  Path: ${s.Path}\n  Type: ${s.Type}  Strict: ${s.Strict}  ReadOnly: ${s.ReadOnly}  Weight: ${s.Weight}\n` +
        (problem
          ? `  Problem: ${problem}\n`
          : `  Total: ${s.Total}  Free: ${s.Free}  Used: ${s.Used} (${s.UsedPercent.toFixed(2)}%)  Reserved: ${s.Reserved}\n`) +
        (s.ReservedBy ?? [])
          .map((r) => `    ${r.By}: ${r.Size} bytes since ${new Date(r.At * 1000).toISOString()}\n`)
          .join('')
      );
    })
    .join('');
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

/** The sealed file; an upgraded sector's (SnapDeals) new replica is `update/` (damocles' layout). */
export function sealedPath(root: string, sid: SectorID, kind: SectorIndexType = 'normal'): string {
  return join(root, kind === 'upgrade' ? 'update' : 'sealed', sectorName(sid));
}

/** The cache folder; an upgraded sector's is `update-cache/` (p_aux, t_aux, TreeR-last of the new replica). */
export function cacheDir(root: string, sid: SectorID, kind: SectorIndexType = 'normal'): string {
  return join(root, kind === 'upgrade' ? 'update-cache' : 'cache', sectorName(sid));
}

/** Why a sector's persisted files are not usable, or undefined when they are. */
export async function checkSectorFiles(
  sealedRoot: string,
  cacheRoot: string,
  sid: SectorID,
  sectorSize: number,
  strict: boolean,
  kind: SectorIndexType = 'normal',
): Promise<string | undefined> {
  const sealed = sealedPath(sealedRoot, sid, kind);
  try {
    const st = await stat(sealed);
    if (!st.isFile()) return `${sealed} is not a file`;
    if (strict && st.size !== sectorSize) return `${sealed}: size ${st.size}, expected ${sectorSize}`;
  } catch (err) {
    return `sealed file ${sealed}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
  const dir = cacheDir(cacheRoot, sid, kind);
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
  /** Offers already warned about (bounded), so a worker retrying does not flood the log. */
  private readonly warned = new Set<string>();

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

  /**
   * The store a worker means: by Name, else by Path (a worker's store is named after its path unless it sets
   * a name, so the same mount on both sides matches without one).
   */
  find(nameOrPath: string): PersistStore | undefined {
    const byName = this.get(nameOrPath);
    if (byName || !isAbsolute(nameOrPath)) return byName;
    const want = canonicalPath(nameOrPath);
    return this.stores.find((s) => canonicalPath(s.path) === want);
  }

  /** The configured stores the candidates name (by Name, else by Path); throws when they name none. */
  private matching(candidates: string[]): PersistStore[] {
    const out: PersistStore[] = [];
    for (const c of candidates) {
      const s = this.find(c);
      if (s && !out.includes(s)) out.push(s);
    }
    if (out.length === 0) {
      const err = new UnknownPersistStores(candidates, this.stores);
      const key = JSON.stringify(candidates);
      if (!this.warned.has(key)) {
        if (this.warned.size >= 100) this.warned.clear();
        this.warned.add(key);
        log.warn(err.message);
      }
      throw err;
    }
    return out;
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
   * named): weighted random among those with room; null when none has room. A repeated call for the same
   * sector answers the store reserved before. Candidates that name no configured store, or only read-only
   * ones, are an error that says which config keys to set.
   */
  reserve(sid: SectorID, size: number, candidates: string[] | null): StoreBasicInfo | null {
    return this.db.tx(() => {
      const had = this.db.getReservation(sid);
      if (had) {
        const s = this.get(had.store);
        if (s) return basicInfo(s);
        this.db.release(sid);
      }
      const named = candidates && candidates.length > 0;
      const pool = named ? this.matching(candidates) : this.stores;
      const writable = pool.filter((s) => !s.readOnly);
      if (named && writable.length === 0) {
        throw new PersistStoresRefusedError(
          `the worker's persist stores ${JSON.stringify(pool.map((s) => s.name))} are read-only here ` +
            '([[PersistedStore.Stores]] ReadOnly = true in sector-manager.cfg, or an Includes directory)',
        );
      }
      const ok = writable.filter((s) => this.free(s).free >= size);
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
      const problem = storeProblem(s.path);
      const meta: Record<string, string> = problem ? { Problem: problem } : {};
      const f = this.free(s);
      const used = Math.max(0, f.total - f.free - f.reserved);
      return {
        ...basicInfo(s),
        Meta: meta,
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
