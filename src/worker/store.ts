/**
 * Seal stores (one per sealing thread, worker-local) and persist stores (shared, usually NFS), laid out as the
 * original lays them out (docs/spec/sealer-api.md §Sealing store, §Persist):
 *
 *   <seal store>/.holder            marks a formatted store (a missing mount shows as a missing .holder)
 *   <seal store>/meta/              the sector document of the thread (sector.json, written crash-safely)
 *   <seal store>/data/unsealed/s-t0M-N            staged file (AddPieces output, PC1 input)
 *   <seal store>/data/prepared/s-t0M-N/sc-02-data-tree-d.dat
 *   <seal store>/data/cache/s-t0M-N/             PC1/PC2 cache (layers, tree-c, tree-r-last, p_aux, t_aux)
 *   <seal store>/data/sealed/s-t0M-N             replica
 *
 *   <persist store>/.holder, sealed/s-t0M-N, cache/s-t0M-N/{p_aux, t_aux, sc-02-data-tree-r-last*.dat}
 */
import { constants } from 'node:fs';
import { access, mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';

const log = logger('store');

export const HOLDER = '.holder';

/** A short, printable rendering of a value that came from outside (for error messages). */
function shown(v: unknown): string {
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
  } catch {
    s = String(v);
  }
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/**
 * Why a sector id (from the manager or a saved document) cannot name files, or null when it can: miner and
 * number must be non-negative safe integers. Paths are built from them, so a string such as "1/../../x" or a
 * number such as 1e21 ("1e+21") must never get that far.
 */
export function sectorIdProblem(id: unknown): string | null {
  if (typeof id !== 'object' || id === null) return `sector id ${shown(id)} is not an object {Miner, Number}`;
  const { Miner, Number: num } = id as { Miner?: unknown; Number?: unknown };
  for (const [k, v] of [
    ['Miner', Miner],
    ['Number', num],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      return `sector id ${k} ${shown(v)} is not a non-negative integer below 2^53`;
    }
  }
  return null;
}

/** The on-disk name of a sector: s-t0<miner>-<number>. Throws on an id that is not two safe integers. */
export function sectorFileName(miner: number, number: number): string {
  const why = sectorIdProblem({ Miner: miner, Number: number });
  if (why) throw new RangeError(why);
  return `s-t0${miner}-${number}`;
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Why a path cannot be formatted, or null when it can (absent or an empty directory). */
async function formatProblem(path: string, kind: 'seal' | 'persist'): Promise<string | null> {
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return `${path}: cannot read: ${(err as NodeJS.ErrnoException).code}`;
  }
  if (!st.isDirectory()) return `${path} is not a directory`;
  if (await exists(join(path, HOLDER))) return `${path} is already a ${kind} store (it has a ${HOLDER})`;
  const entries = (await readdir(path)).filter((e) => kind === 'seal' || e !== 'lost+found');
  if (entries.length) {
    return `${path} is not empty (${entries.slice(0, 3).join(', ')}${entries.length > 3 ? ', …' : ''}): format an empty directory`;
  }
  return null;
}

async function writeHolder(dir: string): Promise<void> {
  // fsync the marker and the directory so a power cut right after init does not lose it
  await writeFile(join(dir, HOLDER), '', { flag: 'wx' });
  const fh = await open(dir, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * `store seal-init -l PATH…`: formats seal stores (.holder, data/, meta/). Every path is checked first, so
 * nothing is created when one of them is refused (already a store, not empty, not a directory).
 */
export async function sealInit(paths: readonly string[]): Promise<string[]> {
  if (!paths.length) throw new UserError('store seal-init: give at least one -l PATH');
  const abs = paths.map((p) => resolve(p));
  if (new Set(abs).size !== abs.length) throw new UserError('store seal-init: a path is listed twice');
  const problems = (await Promise.all(abs.map((p) => formatProblem(p, 'seal')))).filter((x) => x !== null);
  if (problems.length) throw new UserError(`store seal-init: ${problems.join('; ')}`);
  for (const p of abs) {
    await mkdir(join(p, 'data'), { recursive: true });
    await mkdir(join(p, 'meta'), { recursive: true });
    await writeHolder(p);
    log.info({ location: p }, 'seal store formatted');
  }
  return abs;
}

/** `store file-init -l PATH…`: formats persist stores (.holder). A mount's lost+found is tolerated. */
export async function fileInit(paths: readonly string[]): Promise<string[]> {
  if (!paths.length) throw new UserError('store file-init: give at least one -l PATH');
  const abs = paths.map((p) => resolve(p));
  const problems = (await Promise.all(abs.map((p) => formatProblem(p, 'persist')))).filter((x) => x !== null);
  if (problems.length) throw new UserError(`store file-init: ${problems.join('; ')}`);
  for (const p of abs) {
    await mkdir(p, { recursive: true });
    await writeHolder(p);
    log.info({ location: p }, 'persist store formatted');
  }
  return abs;
}

/** The paths of one sector inside a seal store. */
export interface SectorPaths {
  name: string;
  staged: string;
  prepared: string;
  treeD: string;
  cache: string;
  sealed: string;
}

/** A formatted seal store, opened by a sealing thread. */
export class SealStore {
  readonly dataDir: string;
  readonly metaDir: string;

  private constructor(readonly location: string) {
    this.dataDir = join(location, 'data');
    this.metaDir = join(location, 'meta');
  }

  /** Opens a formatted seal store; refuses a path without .holder (unformatted, or the disk is not mounted). */
  static async open(location: string): Promise<SealStore> {
    const loc = resolve(location);
    if (!(await exists(loc))) {
      throw new UserError(`seal store ${loc} does not exist: format it with "venus-worker store seal-init -l ${loc}"`);
    }
    if (!(await exists(join(loc, HOLDER)))) {
      throw new UserError(
        `seal store ${loc} has no ${HOLDER}: it is not formatted or its disk is not mounted ` +
          `(format it with "venus-worker store seal-init -l ${loc}")`,
      );
    }
    const s = new SealStore(loc);
    for (const d of [s.dataDir, s.metaDir]) {
      if (!(await exists(d))) throw new UserError(`seal store ${loc} is damaged: ${d} is missing`);
    }
    return s;
  }

  sector(miner: number, number: number): SectorPaths {
    const name = sectorFileName(miner, number);
    const prepared = join(this.dataDir, 'prepared', name);
    const paths = {
      name,
      staged: join(this.dataDir, 'unsealed', name),
      prepared,
      treeD: join(prepared, 'sc-02-data-tree-d.dat'),
      cache: join(this.dataDir, 'cache', name),
      sealed: join(this.dataDir, 'sealed', name),
    };
    // the name is validated above; this keeps any future change from building a path outside the store
    for (const p of [paths.staged, paths.treeD, paths.cache, paths.sealed]) {
      if (!p.startsWith(`${this.dataDir}${sep}`)) throw new RangeError(`sector path ${p} is outside ${this.dataDir}`);
    }
    return paths;
  }
}

/** Checks a persist store before writing to it: formatted (.holder) and writable. */
export async function checkPersistStore(location: string): Promise<void> {
  if (!(await exists(join(location, HOLDER)))) {
    throw new Error(
      `persist store ${location} has no ${HOLDER}: it is not formatted or not mounted ` +
        `(format it with "venus-worker store file-init -l ${location}")`,
    );
  }
  try {
    await access(location, constants.W_OK);
  } catch (err) {
    throw new Error(`persist store ${location} is not writable: ${(err as NodeJS.ErrnoException).code}`);
  }
}

/** Relative paths of a sector in a persist store (the original's objstore layout). */
export function persistedPaths(name: string): { sealed: string; cache: string } {
  return { sealed: join('sealed', name), cache: join('cache', name) };
}
