/**
 * Finalize: what rust-fil-proofs deletes once a sector is proven (storage-proofs-porep
 * `stacked/vanilla/clear_files.rs`, filecoin-proofs `clear_cache` / `clear_synthetic_proofs`):
 *
 * - `clear_cache`: `sc-02-data-tree-d.dat`, every `sc-02-data-tree-c*.dat` and every `sc-02-data-layer*.dat`.
 *   Everything else stays — `p_aux`, `t_aux` and `sc-02-data-tree-r-last*.dat` are what PoSt needs.
 * - `clear_synthetic_proofs`: `syn-porep-vanilla-proofs.dat`.
 *
 * The patterns are rust's globs (`sc-02-data-tree-c*.dat`, `sc-02-data-layer*.dat`), so our temporary
 * `….dat.tmp` files are not theirs to delete, as in rust.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TREE_D_FILE } from '../tree-d.js';
import { SYNTH_PROOFS_FILE } from './records.js';

function matches(name: string, prefix: string): boolean {
  return name.startsWith(prefix) && name.endsWith('.dat');
}

/** True for the files `clearCache` deletes. */
export function isClearedByFinalize(name: string): boolean {
  return name === TREE_D_FILE || matches(name, 'sc-02-data-tree-c') || matches(name, 'sc-02-data-layer');
}

/** rust `clear_cache(cache_dir)`; returns the names removed. A missing directory is an error, as in rust. */
export async function clearCache(cacheDir: string): Promise<string[]> {
  const names = await readdir(cacheDir);
  const removed: string[] = [];
  for (const name of names.sort()) {
    if (!isClearedByFinalize(name)) continue;
    await rm(join(cacheDir, name)); // a TreeD symlink is removed, not its target
    removed.push(name);
  }
  return removed;
}

/** rust `clear_synthetic_proofs(cache_dir)`; true when the file existed. */
export async function clearSyntheticProofs(cacheDir: string): Promise<boolean> {
  try {
    await rm(join(cacheDir, SYNTH_PROOFS_FILE));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
