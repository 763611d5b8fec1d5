/**
 * Unseal of an updated (snapped) sector: the original, unpadded bytes of a range, from the updated replica
 * and the sector key (rust-fil-proofs `decode_from_range`, then Fr32 unpadding as `unseal_range` does). No
 * SDR layer is regenerated: the sector key is the CC replica itself. `offset` and `numBytes` count unpadded
 * bytes, as piece positions are given; the 127-byte blocks covering the range are decoded.
 */
import { open, readFile, rename, rm } from 'node:fs/promises';
import { unpadFr32 } from '../fr32.js';
import { decodeSector } from './encode.js';

const BLOCKS_PER_STEP = 65536;

export interface UnsealUpdatedOptions {
  sectorSize: number;
  /** The updated replica and the sector key (the CC replica before the update). */
  replicaPath: string;
  sectorKeyPath: string;
  commROld: Uint8Array;
  commDNew: Uint8Array;
  /** Where the unsealed bytes go (written to `<outputPath>.tmp`, then renamed). */
  outputPath: string;
  /** First unpadded byte of the range. */
  offset: number;
  /** Unpadded bytes to write. */
  numBytes: number;
  threads?: number;
}

/** Decodes the unpadded range [offset, offset + numBytes) of an updated sector into `outputPath`. */
export async function unsealUpdatedRange(o: UnsealUpdatedOptions): Promise<{ bytesWritten: number }> {
  const capacity = (o.sectorSize / 128) * 127;
  if (
    !Number.isSafeInteger(o.offset) ||
    !Number.isSafeInteger(o.numBytes) ||
    o.offset < 0 ||
    o.numBytes < 0 ||
    o.offset + o.numBytes > capacity
  )
    throw new RangeError(`range [${o.offset}, +${o.numBytes}) is outside the sector's ${capacity} unpadded bytes`);
  const tmp = `${o.outputPath}.tmp`;
  const padded = `${tmp}.padded`;
  const out = await open(tmp, 'w');
  try {
    const end = o.offset + o.numBytes;
    // 8 MiB of padded data per step: memory stays flat for a whole-sector range
    for (let block = Math.floor(o.offset / 127); block * 127 < end; block += BLOCKS_PER_STEP) {
      const last = Math.min(block + BLOCKS_PER_STEP, Math.ceil(end / 127));
      await decodeSector({
        sectorSize: o.sectorSize,
        replicaPath: o.replicaPath,
        sectorKeyPath: o.sectorKeyPath,
        commROld: o.commROld,
        commDNew: o.commDNew,
        outDataPath: padded,
        nodeOffset: block * 4,
        nodeCount: (last - block) * 4,
        threads: o.threads,
      });
      const unpadded = unpadFr32(new Uint8Array(await readFile(padded)));
      const from = Math.max(o.offset, block * 127) - block * 127;
      const to = Math.min(end, last * 127) - block * 127;
      await out.write(unpadded.subarray(from, to));
    }
    await out.sync();
    await out.close();
    await rename(tmp, o.outputPath);
    return { bytesWritten: o.numBytes };
  } catch (e) {
    await out.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  } finally {
    await rm(padded, { force: true });
  }
}
