/**
 * Unseal (filecoin-proofs `unseal_range`): regenerate the last SDR layer from the replica id (a PC1 run into
 * a scratch directory), decode the replica node by node (data = replica − key in Fr), check that the
 * decoded sector's TreeD root is the sealed CommD, and write the requested range of the original, unpadded
 * bytes.
 *
 * `offset` and `numBytes` count unpadded bytes (rust `UnpaddedByteIndex` / `UnpaddedBytesAmount`), as piece
 * positions are given; any range inside the sector's 127/128 of capacity works. Memory stays at one chunk
 * of the replica whatever the sector size; the decoded range is written to `<output>.tmp` and renamed only
 * once CommD has been checked, so a bad replica never leaves output behind.
 */
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { logger } from '../../common/log.js';
import { bytesEqual } from '../../fil/index.js';
import { unpadFr32 } from '../fr32.js';
import { readExact } from '../inclusion/trees.js';
import { MerkleTreeBuilder, sha256NodeHasher } from '../merkle.js';
import { frDecodeBatch } from '../poseidon/index.js';
import type { PoRepConfig, SealProofInfo } from '../registry.js';
import { sealProof } from '../registry.js';
import { labelLayerPath } from '../sdr/labels.js';
import { labelSectorLayers } from '../sdr/pc1.js';

const log = logger('unseal');
const CHUNK = 8 << 20; // a multiple of 128: Fr32 blocks never straddle chunks

export interface UnsealOptions {
  proof: number | string | SealProofInfo | PoRepConfig;
  /** Scratch space for the regenerated layers (a subdirectory is created and removed). */
  cacheDir: string;
  sealedPath: string;
  /** Where the unsealed bytes go (created or replaced). */
  outputPath: string;
  proverId: Uint8Array;
  sectorId: bigint | number;
  ticket: Uint8Array;
  commD: Uint8Array;
  /** First unpadded byte of the range. */
  offset: number;
  /** Unpadded bytes to write. */
  numBytes: number;
  /** Parent cache directory (default: FIL_PROOFS_PARENT_CACHE or /var/tmp/filecoin-parents). */
  parentCacheDir?: string;
}

export interface UnsealResult {
  /** Unpadded bytes written. */
  bytesWritten: number;
  seconds: { labels: number; decode: number };
}

function cfgOf(p: UnsealOptions['proof']): PoRepConfig {
  return typeof p === 'object' ? p : sealProof(p);
}

export async function unsealRange(o: UnsealOptions): Promise<UnsealResult> {
  const cfg = cfgOf(o.proof);
  const capacity = (cfg.sectorSize / 128) * 127;
  if (
    !Number.isSafeInteger(o.offset) ||
    !Number.isSafeInteger(o.numBytes) ||
    o.offset < 0 ||
    o.numBytes < 0 ||
    o.offset + o.numBytes > capacity
  ) {
    throw new RangeError(`range [${o.offset}, +${o.numBytes}) is outside the sector's ${capacity} unpadded bytes`);
  }
  const t0 = performance.now();
  const scratch = join(o.cacheDir, `unseal-${process.pid}-${Date.now()}`);
  await mkdir(scratch, { recursive: true });
  const tmp = `${o.outputPath}.tmp`;
  try {
    await labelSectorLayers({
      proof: cfg,
      cacheDir: scratch,
      proverId: o.proverId,
      sectorId: o.sectorId,
      ticket: o.ticket,
      commD: o.commD,
      parentCacheDir: o.parentCacheDir,
    });
    const t1 = performance.now();

    // the padded blocks covering the unpadded range
    const firstBlock = Math.floor(o.offset / 127);
    const endBlock = Math.ceil((o.offset + o.numBytes) / 127);
    const padStart = firstBlock * 128;
    const padEnd = endBlock * 128;
    const skip = o.offset - firstBlock * 127; // unpadded bytes to drop at the start

    const key = await open(labelLayerPath(scratch, cfg.layers), 'r');
    const sealed = await open(o.sealedPath, 'r');
    const out = await open(tmp, 'w');
    let written = 0;
    try {
      const { size } = await sealed.stat();
      if (size < cfg.sectorSize) throw new Error(`${o.sealedPath}: ${size} bytes, expected ${cfg.sectorSize}`);
      const tree = new MerkleTreeBuilder(sha256NodeHasher, { leaves: cfg.nodes });
      const data = new Uint8Array(Math.min(CHUNK, cfg.sectorSize));
      let unpaddedPos = firstBlock * 127; // unpadded position of the next block we emit
      for (let pos = 0; pos < cfg.sectorSize; pos += data.length) {
        const [r, k] = await Promise.all([
          readExact(sealed, pos, data.length, o.sealedPath),
          readExact(key, pos, data.length, 'regenerated last layer'),
        ]);
        try {
          frDecodeBatch(r, k, data);
        } catch (e) {
          throw new Error(`${o.sealedPath}: not a replica (${(e as Error).message})`);
        }
        tree.push(data);
        const lo = Math.max(pos, padStart);
        const hi = Math.min(pos + data.length, padEnd);
        if (lo < hi) {
          const unpadded = unpadFr32(data.subarray(lo - pos, hi - pos));
          const from = unpaddedPos === firstBlock * 127 ? skip : 0;
          const take = Math.min(unpadded.length - from, o.numBytes - written);
          await out.write(unpadded, from, take, written);
          written += take;
          unpaddedPos += unpadded.length;
        }
      }
      const commD = tree.finish();
      if (!bytesEqual(commD, o.commD)) {
        throw new Error(
          `unsealed data has CommD ${Buffer.from(commD).toString('hex')}, the sector's is ${Buffer.from(o.commD).toString('hex')}`,
        );
      }
      await out.sync();
    } finally {
      await Promise.all([key.close(), sealed.close(), out.close()]);
    }
    await rename(tmp, o.outputPath);
    const t2 = performance.now();
    log.info({ sector: String(o.sectorId), offset: o.offset, bytes: written }, 'unsealed');
    return { bytesWritten: written, seconds: { labels: (t1 - t0) / 1000, decode: (t2 - t1) / 1000 } };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
