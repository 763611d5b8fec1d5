/**
 * The proofs the daemon plugs in (prover.ts interfaces), built on the proofs module:
 *
 * - VanillaSealVerifier: a worker's proof is vanilla seal proof bytes (what its C2 writes; the JSON C1 output of
 *   earlier versions is accepted too), checked in full with the devnet's own check (proofs/prover/check.ts)
 *   before anything is sent: comm_r, comm_d, ticket, seed and replica id must be the sector's.
 * - CborAggregator: ProveCommitSectors3's aggregate in the devnet's format, a DAG-CBOR array of the proofs.
 * - LocalWindowPoStProver: Window PoSt with the proofs module's vanilla prover, as vanilla PoSt bytes ("FVPT"), one
 *   proof per distinct challenged sector (the poster's stand-ins for skipped sectors collapse into the good
 *   sector they repeat, as rust's BTreeMap of replicas does), over the chain randomness with the top two bits
 *   cleared and the miner's prover id. Sectors whose files are missing, short or corrupted, or whose proof
 *   fails, come back as faults for the poster to skip.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { logger } from '../common/log.js';
import { encodeCbor } from '../fil/index.js';
import {
  encodePoStProof,
  type FallbackPoStSectorProof,
  generateSingleVanillaProof,
  generateWindowPoStVanilla,
  type PoStProofInfo,
  type PoStReplica,
  postLeafChallenges,
  postProof,
  postRandomness,
  proverIdFromActorId,
  sealProof,
  whySealProofFails,
  whyWindowPoStFails,
} from '../proofs/index.js';
import type { SealAggregator } from './commit/index.js';
import type {
  PoStSector,
  SealVerifier,
  SealVerifyInput,
  WindowPoStInput,
  WindowPoStOutput,
  WindowPoStProver,
} from './prover.js';

const log = logger('prover');

/** Why a worker's seal proof does not prove the sector, or undefined when it does (the devnet's own check). */
export function checkSealProof(i: SealVerifyInput): string | undefined {
  return whySealProofFails(i);
}

export class VanillaSealVerifier implements SealVerifier {
  async verifySeal(i: SealVerifyInput): Promise<boolean> {
    const why = checkSealProof(i);
    if (why) log.warn({ miner: i.minerId, sector: i.sectorNumber, why }, 'seal proof does not verify');
    return why === undefined;
  }
}

export class CborAggregator implements SealAggregator {
  async aggregate(_sealProof: number, proofs: { sectorNumber: number; proof: Uint8Array }[]): Promise<Uint8Array> {
    return encodeCbor(proofs.map((p) => p.proof));
  }
}

/** Window PoSt proof bytes as the devnet takes them: vanilla PoSt bytes ("FVPT", by ascending sector). */
export function encodeWindowPoStProof(postProofId: number, proofs: readonly FallbackPoStSectorProof[]): Uint8Array {
  return encodePoStProof(postProof(postProofId), proofs);
}

/** The distinct sectors of a batch, by sector number (the poster repeats a good sector for skipped ones). */
export function distinctSectors(sectors: readonly PoStSector[]): PoStSector[] {
  const m = new Map<number, PoStSector>();
  for (const s of sectors) if (!m.has(s.sectorNumber)) m.set(s.sectorNumber, s);
  return [...m.values()].sort((a, b) => a.sectorNumber - b.sectorNumber);
}

function windowProof(id: number): PoStProofInfo {
  const info = postProof(id);
  if (info.kind !== 'window') throw new RangeError(`${info.name} is not a Window PoSt proof`);
  return info;
}

/** Why a sector cannot be proven with this PoSt proof before reading it (size, files), or undefined. */
async function precheck(info: PoStProofInfo, s: PoStSector): Promise<string | undefined> {
  let size: number;
  try {
    size = sealProof(s.sealProof).sectorSize;
  } catch {
    return `unknown seal proof ${s.sealProof}`;
  }
  if (size !== info.sectorSize) return `sector size ${size} does not match ${info.name}`;
  try {
    const st = await stat(s.sealedPath);
    if (!st.isFile()) return `${s.sealedPath} is not a file`;
    if (st.size !== size) return `${s.sealedPath}: size ${st.size}, expected ${size}`;
    if (!(await stat(s.cacheDir)).isDirectory()) return `${s.cacheDir} is not a directory`;
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

const replicaOf = (s: PoStSector): PoStReplica => ({
  sectorId: BigInt(s.sectorNumber),
  commR: s.commR,
  cacheDir: s.cacheDir,
  sealedPath: s.sealedPath,
});

export interface LocalWindowPoStProverOptions {
  /** sectors proven at once (I/O overlap; default 8) */
  concurrency?: number;
}

export class LocalWindowPoStProver implements WindowPoStProver {
  constructor(private readonly opts: LocalWindowPoStProverOptions = {}) {}

  /** Why a sector cannot be proven before reading it (proof kind, size, files), or undefined. */
  async precheck(postProofId: number, s: PoStSector): Promise<string | undefined> {
    try {
      return await precheck(windowProof(postProofId), s);
    } catch (e) {
      return (e as Error).message;
    }
  }

  async generateWindowPoSt(input: WindowPoStInput): Promise<WindowPoStOutput> {
    const info = windowProof(input.postProof);
    const sectors = distinctSectors(input.sectors);
    if (sectors.length === 0) throw new RangeError('no sectors to prove');
    const faults = new Map<number, string>();
    const replicas: PoStReplica[] = [];
    for (const s of sectors) {
      const why = await precheck(info, s);
      if (why) faults.set(s.sectorNumber, why);
      else replicas.push(replicaOf(s));
    }
    if (replicas.length > 0) {
      const res = await generateWindowPoStVanilla({
        proof: info,
        randomness: postRandomness(input.randomness),
        proverId: proverIdFromActorId(input.minerId),
        replicas,
        ...(this.opts.concurrency !== undefined ? { concurrency: this.opts.concurrency } : {}),
      });
      for (const f of res.faults) faults.set(Number(f.sectorId), f.error);
      if (faults.size === 0) {
        log.info({ miner: input.minerId, sectors: res.proofs.length }, 'window post vanilla proofs generated');
        return { proofBytes: encodeWindowPoStProof(info.id, res.proofs), faults: [] };
      }
    }
    for (const [n, why] of faults) log.warn({ miner: input.minerId, sector: n, why }, 'faulty sector');
    return { proofBytes: new Uint8Array(0), faults: [...faults.keys()].sort((a, b) => a - b) };
  }

  async verifyWindowPoSt(input: WindowPoStInput, proofBytes: Uint8Array): Promise<boolean> {
    const why = checkWindowPoStProof(input, proofBytes);
    if (why) log.warn({ miner: input.minerId, why }, 'window post does not verify');
    return why === undefined;
  }

  /** One vanilla proof of the sector (every challenge of a sector) at fresh random randomness. */
  async checkSector(s: PoStSector, _minerId: number, postProofId: number): Promise<string | undefined> {
    let info: PoStProofInfo;
    try {
      info = windowProof(postProofId);
    } catch (e) {
      return (e as Error).message;
    }
    const why = await precheck(info, s);
    if (why) return why;
    const rand = postRandomness(randomBytes(32));
    try {
      await generateSingleVanillaProof(info, replicaOf(s), postLeafChallenges(info, rand, s.sectorNumber));
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }
}

/** Why Window PoSt proof bytes do not prove the input's sectors, or undefined when they do. */
export function checkWindowPoStProof(input: WindowPoStInput, proofBytes: Uint8Array): string | undefined {
  try {
    windowProof(input.postProof);
  } catch (e) {
    return (e as Error).message;
  }
  return whyWindowPoStFails({
    minerId: input.minerId,
    randomness: input.randomness,
    proofs: [{ postProof: input.postProof, proofBytes }],
    sectors: input.sectors,
  });
}
