/**
 * The proofs the daemon plugs in (prover.ts interfaces), built on the proofs module:
 *
 * - VanillaSealVerifier: a worker's proof is the C1 output (rust SealCommitPhase1Output, serde JSON bytes), as
 *   the devnet takes it while SNARKs are out of reach. Verified in full before anything is sent: comm_r,
 *   comm_d, ticket, seed and replica id must be the sector's, and every vanilla challenge proof must verify.
 * - CborAggregator: ProveCommitSectors3's aggregate in the devnet's format, a DAG-CBOR array of the proofs.
 * - VanillaPoStProver: Window PoSt with the proofs module's vanilla prover, in the devnet's format: the proof
 *   bytes are the serde JSON of `Vec<FallbackPoStSectorProof>`, one proof per distinct challenged sector
 *   (the poster's stand-ins for skipped sectors collapse into the good sector they repeat, as rust's
 *   BTreeMap of replicas does), over the chain randomness with the top two bits cleared and the miner's
 *   prover id. Sectors whose files are missing, short or corrupted, or whose proof fails, come back as
 *   faults for the poster to skip.
 */
import { randomBytes } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { logger } from '../common/log.js';
import { bytesEqual, encodeCbor, randomnessToFr32 } from '../fil/index.js';
import { type PoStProofInfo, postProof, sealProof } from '../proofs/index.js';
import { decodeC1Output } from '../proofs/porep/c1.js';
import { PorepVerifyError, verifyPorepProofsOrThrow } from '../proofs/porep/verify.js';
import { postLeafChallenges, postRandomness } from '../proofs/post/challenges.js';
import {
  type FallbackPoStSectorProof,
  fallbackSectorProofFromJson,
  fallbackSectorProofToJson,
  generateSingleVanillaProof,
  generateWindowPoStVanilla,
  type PoStReplica,
  PoStVerifyError,
  verifyPoStVanillaOrThrow,
} from '../proofs/post/vanilla.js';
import { generateReplicaId, proverIdFromActorId } from '../proofs/sdr/index.js';
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

/** Why a C1-output proof does not prove the sector, or undefined when it does. */
export function checkSealProof(i: SealVerifyInput): string | undefined {
  let o: ReturnType<typeof decodeC1Output>;
  try {
    o = decodeC1Output(i.proof);
  } catch (e) {
    return `not a C1 output: ${(e as Error).message}`;
  }
  if (o.registeredProof.id !== i.sealProof)
    return `proof is for seal proof ${o.registeredProof.id}, the sector is ${i.sealProof}`;
  const cfg = sealProof(i.sealProof);
  const ticket = randomnessToFr32(i.ticket);
  const seed = randomnessToFr32(i.seed);
  const replicaId = generateReplicaId(proverIdFromActorId(i.minerId), i.sectorNumber, ticket, i.commD, cfg.porepId);
  if (!bytesEqual(o.commR, i.commR)) return 'comm_r differs from the PreCommit';
  if (!bytesEqual(o.commD, i.commD)) return 'comm_d differs from the PreCommit';
  if (!bytesEqual(o.ticket, ticket)) return 'ticket differs from the sector ticket';
  if (!bytesEqual(o.seed, seed)) return 'seed differs from the chain seed';
  if (!bytesEqual(o.replicaId, replicaId)) return 'replica id differs (miner, sector number, ticket or comm_d)';
  try {
    verifyPorepProofsOrThrow(cfg, { replicaId, commD: i.commD, commR: i.commR, seed }, o.vanillaProofs);
  } catch (e) {
    if (e instanceof PorepVerifyError) return e.message;
    throw e;
  }
  return undefined;
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

/** Window PoSt proof bytes as the devnet takes them: serde JSON of the sector proofs. */
export function encodeWindowPoStProof(proofs: readonly FallbackPoStSectorProof[]): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(proofs.map(fallbackSectorProofToJson)));
}

/** The sector proofs in Window PoSt proof bytes; throws a TypeError/SyntaxError naming what is wrong. */
export function decodeWindowPoStProof(postProofId: number, bytes: Uint8Array): FallbackPoStSectorProof[] {
  const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  if (!Array.isArray(v)) throw new TypeError('proof bytes are not a JSON array of sector proofs');
  return v.map((x) => fallbackSectorProofFromJson(postProofId, x));
}

/** The distinct sectors of a batch, by sector number (the poster repeats a good sector for skipped ones). */
function distinctSectors(sectors: readonly PoStSector[]): PoStSector[] {
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

export interface VanillaPoStProverOptions {
  /** sectors proven at once (I/O overlap; default 8) */
  concurrency?: number;
}

export class VanillaPoStProver implements WindowPoStProver {
  constructor(private readonly opts: VanillaPoStProverOptions = {}) {}

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
        return { proofBytes: encodeWindowPoStProof(res.proofs), faults: [] };
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
  let proofs: FallbackPoStSectorProof[];
  try {
    windowProof(input.postProof);
    proofs = decodeWindowPoStProof(input.postProof, proofBytes);
  } catch (e) {
    return `not vanilla Window PoSt proofs: ${(e as Error).message}`;
  }
  try {
    verifyPoStVanillaOrThrow(
      input.postProof,
      {
        randomness: postRandomness(input.randomness),
        proverId: proverIdFromActorId(input.minerId),
        sectors: distinctSectors(input.sectors).map((s) => ({ sectorId: BigInt(s.sectorNumber), commR: s.commR })),
      },
      proofs,
    );
  } catch (e) {
    if (e instanceof PoStVerifyError || e instanceof RangeError) return e.message;
    throw e;
  }
  return undefined;
}
