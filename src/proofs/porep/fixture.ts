/**
 * Seals a small sector end to end with the real pipeline (TreeD, PC1 labels, PC2), for tests and benchmarks
 * of C1, PoSt, finalize and unseal. Not part of the public API.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pc2 } from '../pc2/index.js';
import type { PoRepConfig } from '../registry.js';
import { labelSectorLayers } from '../sdr/pc1.js';
import { buildTreeD } from '../tree-d.js';

export interface SealedFixture<P extends PoRepConfig = PoRepConfig> {
  proof: P;
  cacheDir: string;
  sealedPath: string;
  stagedPath: string;
  /** The padded (Fr32) sector data. */
  data: Uint8Array;
  proverId: Uint8Array;
  sectorId: bigint;
  ticket: Uint8Array;
  replicaId: Uint8Array;
  commD: Uint8Array;
  commR: Uint8Array;
  seconds: { treeD: number; pc1: number; pc2: number };
}

/** Random sector data whose nodes are valid field elements (as Fr32 padding guarantees). */
export function randomSectorData(size: number): Uint8Array {
  const b = new Uint8Array(randomBytes(size));
  for (let i = 31; i < b.length; i += 32) b[i] &= 0x3f;
  return b;
}

export interface SealFixtureOptions<P extends PoRepConfig = PoRepConfig> {
  /** A registered proof (SealProofInfo) or any PoRep config (test shapes). */
  proof: P;
  /** Directory for this sector: cache/, sealed, staged. */
  dir: string;
  /** Parent cache directory (shared between sectors). */
  parentDir: string;
  data?: Uint8Array;
  sectorId?: bigint;
  proverId?: Uint8Array;
  ticket?: Uint8Array;
  threads?: number;
}

export async function sealFixture<P extends PoRepConfig>(o: SealFixtureOptions<P>): Promise<SealedFixture<P>> {
  const cfg = o.proof;
  const cacheDir = join(o.dir, 'cache');
  await mkdir(cacheDir, { recursive: true });
  const data = o.data ?? randomSectorData(cfg.sectorSize);
  if (data.length !== cfg.sectorSize) throw new RangeError('sector data must be exactly one sector');
  const stagedPath = join(o.dir, 'staged');
  const sealedPath = join(o.dir, 'sealed');
  await writeFile(stagedPath, data);
  const proverId = o.proverId ?? new Uint8Array(32).map((_, i) => i);
  const sectorId = o.sectorId ?? 1n;
  const ticket = o.ticket ?? new Uint8Array(32).fill(1);
  const t0 = performance.now();
  const { commD } = await buildTreeD({ stagedPath, cacheDir, sectorSize: cfg.sectorSize });
  const t1 = performance.now();
  const { replicaId } = await labelSectorLayers({
    proof: cfg,
    cacheDir,
    proverId,
    sectorId,
    ticket,
    commD,
    parentCacheDir: o.parentDir,
  });
  const t2 = performance.now();
  const r = await pc2({ cacheDir, sealedPath, stagedPath, proof: cfg, threads: o.threads ?? 1 });
  const t3 = performance.now();
  return {
    proof: cfg,
    cacheDir,
    sealedPath,
    stagedPath,
    data,
    proverId,
    sectorId,
    ticket,
    replicaId,
    commD,
    commR: r.commR,
    seconds: { treeD: (t1 - t0) / 1000, pc1: (t2 - t1) / 1000, pc2: (t3 - t2) / 1000 },
  };
}
