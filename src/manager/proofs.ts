/**
 * The proofs the daemon plugs in (prover.ts interfaces), built on the proofs module:
 *
 * - VanillaSealVerifier: a worker's proof is the C1 output (rust SealCommitPhase1Output, serde JSON bytes), as
 *   the devnet takes it while SNARKs are out of reach. Verified in full before anything is sent: comm_r,
 *   comm_d, ticket, seed and replica id must be the sector's, and every vanilla challenge proof must verify.
 * - CborAggregator: ProveCommitSectors3's aggregate in the devnet's format, a DAG-CBOR array of the proofs.
 * - FilePoStProver: Window PoSt through a vanilla prover the proofs module will provide; until then it checks
 *   the sector files and refuses to produce a proof, saying why (the poster logs it and retries).
 */
import { stat } from 'node:fs/promises';
import { logger } from '../common/log.js';
import { bytesEqual, encodeCbor, randomnessToFr32 } from '../fil/index.js';
import { sealProof } from '../proofs/index.js';
import { decodeC1Output } from '../proofs/porep/c1.js';
import { PorepVerifyError, verifyPorepProofsOrThrow } from '../proofs/porep/verify.js';
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

export class FilePoStProver implements WindowPoStProver {
  async generateWindowPoSt(input: WindowPoStInput): Promise<WindowPoStOutput> {
    const faults: number[] = [];
    for (const s of input.sectors) if (await this.checkSector(s)) faults.push(s.sectorNumber);
    if (faults.length) return { proofBytes: new Uint8Array(0), faults: [...new Set(faults)] };
    throw new Error('no Window PoSt vanilla prover in this build (proofs module): cannot generate the proof');
  }

  async verifyWindowPoSt(): Promise<boolean> {
    return false;
  }

  async checkSector(s: PoStSector): Promise<string | undefined> {
    try {
      await stat(s.sealedPath);
      await stat(s.cacheDir);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }
}
