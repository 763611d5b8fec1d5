/**
 * Proof verifiers for the devnet (runtime.ts ProofVerifier).
 *
 * - ProofsVerifier: CommD from the proofs module (compute_comm_d), and seal / Window PoSt checks delegated to
 *   a vanilla-proof backend (the devnet's proof format is the serialised vanilla proof, verified in full).
 *   (vanilla.ts VanillaBackend). Without a backend every seal and PoSt proof is refused, loudly. Replica update
 *   (SnapDeals) proofs are the proofs module's vanilla update proof bytes, verified in full here, backend or not.
 * - AcceptingVerifier: builtin-actors' `testing-fake-proofs` analog, opt-in (`--insecure-accept-proofs`): any
 *   non-empty proof passes; everything else (randomness, epochs, partitions, funds) is still checked.
 */
import { logger } from '../common/log.js';
import { CID, cidToCommD, cidToCommP, cidToCommR, commDToCid } from '../fil/index.js';
import { computeCommD, whyUpdateProofFails } from '../proofs/index.js';
import { sealProofInfo } from './policy.js';
import type {
  AggregateSealVerifyInfo,
  PieceInfo,
  ProofVerifier,
  ReplicaUpdateVerifyInfo,
  SealVerifyInfo,
  WindowPoStVerifyInfo,
} from './runtime.js';

const log = logger('devnet.proofs');

/** CommD CID bytes of a sector with these pieces (zero-padded as rust-fil-proofs compute_comm_d). */
export function unsealedCidForPieces(sealProof: number, pieces: PieceInfo[]): Uint8Array {
  const info = sealProofInfo(sealProof);
  if (!info) throw new Error(`unknown seal proof type ${sealProof}`);
  const commD = computeCommD(
    info.sectorSize,
    pieces.map((p) => ({ commitment: cidToCommP(CID.decode(p.cid)), size: p.size })),
  );
  return commDToCid(commD).bytes;
}

/**
 * Why a replica update (SnapDeals) proof is refused, or undefined when it verifies: the proofs module's vanilla
 * update proof checked in full against comm_r_old (the sector key), comm_r_new and comm_d_new. Never throws.
 */
export function whyReplicaUpdateFails(info: ReplicaUpdateVerifyInfo): string | undefined {
  try {
    return whyUpdateProofFails({
      updateProof: info.updateProofType,
      commROld: cidToCommR(CID.decode(info.sectorKeyCid)),
      commRNew: cidToCommR(CID.decode(info.newSealedCid)),
      commDNew: cidToCommD(CID.decode(info.newUnsealedCid)),
      proofBytes: info.proof,
    });
  } catch (e) {
    return `malformed input: ${(e as Error).message}`;
  }
}

/** The vanilla-proof checks the proofs module provides. */
export interface VanillaProofBackend {
  verifySeal(info: SealVerifyInfo): Promise<boolean>;
  verifyAggregateSeals?(info: AggregateSealVerifyInfo): Promise<boolean>;
  verifyWindowPoSt?(info: WindowPoStVerifyInfo): Promise<boolean>;
}

export interface ProofsVerifierOptions {
  /**
   * Accept any non-empty Window PoSt (`--insecure-accept-post`), e.g. to test a poster without sealed
   * replicas. Seal proofs are still verified in full.
   */
  insecureAcceptPoSt?: boolean;
}

export class ProofsVerifier implements ProofVerifier {
  constructor(
    private readonly backend?: VanillaProofBackend,
    private readonly opts: ProofsVerifierOptions = {},
  ) {}

  unsealedCid(sealProof: number, pieces: PieceInfo[]): Uint8Array {
    return unsealedCidForPieces(sealProof, pieces);
  }

  async verifySeal(info: SealVerifyInfo): Promise<boolean> {
    if (!this.backend) {
      log.error({ sector: info.sectorNumber }, 'no seal proof verifier in this build: proof refused');
      return false;
    }
    try {
      return await this.backend.verifySeal(info);
    } catch (e) {
      log.warn({ sector: info.sectorNumber, err: (e as Error).message }, 'seal proof rejected');
      return false;
    }
  }

  async verifyAggregateSeals(info: AggregateSealVerifyInfo): Promise<boolean> {
    if (!this.backend?.verifyAggregateSeals) {
      log.error('no aggregate seal proof verifier in this build: proof refused');
      return false;
    }
    try {
      return await this.backend.verifyAggregateSeals(info);
    } catch (e) {
      log.warn({ err: (e as Error).message }, 'aggregate seal proof rejected');
      return false;
    }
  }

  async verifyWindowPoSt(info: WindowPoStVerifyInfo): Promise<boolean> {
    if (this.opts.insecureAcceptPoSt) return (info.proofs[0]?.proofBytes.length ?? 0) > 0;
    if (!this.backend?.verifyWindowPoSt) {
      log.error({ miner: info.minerId }, 'no Window PoSt verifier in this build: proof refused');
      return false;
    }
    try {
      return await this.backend.verifyWindowPoSt(info);
    } catch (e) {
      log.warn({ miner: info.minerId, err: (e as Error).message }, 'Window PoSt rejected');
      return false;
    }
  }

  async verifyReplicaUpdate(info: ReplicaUpdateVerifyInfo): Promise<boolean> {
    const why = whyReplicaUpdateFails(info);
    if (why) log.warn({ updateProof: info.updateProofType, err: why }, 'replica update proof rejected');
    return why === undefined;
  }
}

/** Accepts any non-empty proof. Only for tests of everything but the proofs; never the default. */
export class AcceptingVerifier implements ProofVerifier {
  unsealedCid(sealProof: number, pieces: PieceInfo[]): Uint8Array {
    return unsealedCidForPieces(sealProof, pieces);
  }
  async verifySeal(info: SealVerifyInfo): Promise<boolean> {
    return info.proof.length > 0;
  }
  async verifyAggregateSeals(info: AggregateSealVerifyInfo): Promise<boolean> {
    return info.proof.length > 0;
  }
  async verifyWindowPoSt(info: WindowPoStVerifyInfo): Promise<boolean> {
    return (info.proofs[0]?.proofBytes.length ?? 0) > 0;
  }
  async verifyReplicaUpdate(info: ReplicaUpdateVerifyInfo): Promise<boolean> {
    return info.proof.length > 0;
  }
}
