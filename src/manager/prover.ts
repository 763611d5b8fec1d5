/**
 * The manager's window into proofs, kept behind interfaces: the daemon plugs in the proofs module (vanilla
 * proofs for now, SNARKs later), tests plug in whatever they need. Randomness is passed as drawn from the
 * chain (32 bytes); implementations clear the top two bits of the last byte before using it as a field
 * element, as the original's prover does.
 */

export interface SealVerifyInput {
  sealProof: number;
  minerId: number;
  sectorNumber: number;
  ticket: Uint8Array;
  seed: Uint8Array;
  commR: Uint8Array;
  commD: Uint8Array;
  proof: Uint8Array;
}

/** Local check of a worker's proof before it is sent (SubmitProof answers Rejected when this says false). */
export interface SealVerifier {
  verifySeal(input: SealVerifyInput): Promise<boolean>;
}

export interface PoStSector {
  sectorNumber: number;
  sealProof: number;
  commR: Uint8Array;
  sealedPath: string;
  cacheDir: string;
}

export interface WindowPoStInput {
  minerId: number;
  /** RegisteredPoStProof of the miner (StateMinerInfo.WindowPoStProofType) */
  postProof: number;
  /** WindowedPoStChallengeSeed at the deadline's Challenge epoch, 32 bytes as the chain returns it */
  randomness: Uint8Array;
  /** the sectors of the batch's partitions, ascending; skipped ones already replaced by a good sector */
  sectors: PoStSector[];
}

export interface WindowPoStOutput {
  /** one proof per message as the miner actor takes it (PoStProof bytes) */
  proofBytes: Uint8Array;
  /**
   * sectors the prover could not prove (missing, short or corrupted files, a failing proof): the caller
   * skips them and retries; proofBytes is then empty
   */
  faults: number[];
}

export interface WindowPoStProver {
  generateWindowPoSt(input: WindowPoStInput): Promise<WindowPoStOutput>;
  verifyWindowPoSt(input: WindowPoStInput, proofBytes: Uint8Array): Promise<boolean>;
  /**
   * StrictCheck's extra: one vanilla proof of the sector at a random challenge. Returns why it failed,
   * or undefined when the sector is provable.
   */
  checkSector(sector: PoStSector, minerId: number, postProof: number): Promise<string | undefined>;
}
