/**
 * What an actor method sees while it runs: the epoch, who called, the value sent, the state tree (already a
 * transaction layer), chain randomness, and the proof verifier.
 */
import { DomainSeparationTag } from '../fil/index.js';
import type { Policy } from './policy.js';
import type { StateTree } from './state.js';

/** Domain separation tags (go-state-types crypto/randomness.go; one definition, in src/fil). */
export const DST = DomainSeparationTag;

/** Inputs of a seal (PoRep) proof check, as builtin-actors' SealVerifyInfo. */
export interface SealVerifyInfo {
  sealProof: number;
  minerId: number;
  sectorNumber: number;
  /** SealRandomness drawn from tickets at SealRandEpoch: the full 32 bytes (the prover clears the top 2 bits). */
  ticket: Uint8Array;
  /** InteractiveSealChallengeSeed drawn from the beacon at PreCommitEpoch + PreCommitChallengeDelay. */
  seed: Uint8Array;
  /** CommR CID bytes (fil-commitment-sealed, poseidon-bls12_381-a2-fc1). */
  sealedCid: Uint8Array;
  /** CommD CID bytes (fil-commitment-unsealed, sha2-256-trunc254-padded). */
  unsealedCid: Uint8Array;
  proof: Uint8Array;
}

export interface AggregateSealVerifyInfo {
  sealProof: number;
  minerId: number;
  /** RegisteredAggregateProof (1 = SnarkPackV2). */
  aggregateProofType: number;
  proof: Uint8Array;
  /** One per sector, in the order the message lists them. */
  infos: Omit<SealVerifyInfo, 'sealProof' | 'minerId' | 'proof'>[];
}

export interface ChallengedSector {
  sealProof: number;
  sectorNumber: number;
  sealedCid: Uint8Array;
}

export interface WindowPoStVerifyInfo {
  minerId: number;
  /** WindowedPoStChallengeSeed drawn from the beacon at the deadline's Challenge epoch (full 32 bytes). */
  randomness: Uint8Array;
  /** As submitted: exactly one entry; postProof is the RegisteredPoStProof. */
  proofs: { postProof: number; proofBytes: Uint8Array }[];
  /** All sectors of the proven partitions in ascending order, faulty/skipped ones replaced by the first good sector. */
  challengedSectors: ChallengedSector[];
}

/** Inputs of a replica update (SnapDeals) proof check, as builtin-actors' ReplicaUpdateInfo. */
export interface ReplicaUpdateVerifyInfo {
  /** RegisteredUpdateProof (the sector's seal proof's update proof). */
  updateProofType: number;
  /** The sector's CommR CID bytes before the update (the CC replica, the "sector key"). */
  sectorKeyCid: Uint8Array;
  /** The updated replica's CommR CID bytes. */
  newSealedCid: Uint8Array;
  /** CommD CID bytes of the new data, computed by the chain from the pieces. */
  newUnsealedCid: Uint8Array;
  proof: Uint8Array;
}

export interface PieceInfo {
  /** Piece CID bytes (CommP). */
  cid: Uint8Array;
  /** Padded piece size. */
  size: number;
}

/**
 * The devnet's only window into proofs. The devnet's proof bytes are whatever the implementation accepts
 * (the proofs module: serialised vanilla proofs, verified in full); a later SNARK verifier plugs in here too.
 * Every method answers false for a proof it cannot accept (never throws for a bad proof).
 */
export interface ProofVerifier {
  verifySeal(info: SealVerifyInfo): Promise<boolean>;
  verifyAggregateSeals(info: AggregateSealVerifyInfo): Promise<boolean>;
  verifyWindowPoSt(info: WindowPoStVerifyInfo): Promise<boolean>;
  verifyReplicaUpdate(info: ReplicaUpdateVerifyInfo): Promise<boolean>;
  /**
   * CommD CID bytes of a sector holding these pieces (padded with zero pieces as rust-fil-proofs
   * compute_comm_d does); with no pieces, the CommD of an all-zero sector.
   */
  unsealedCid(sealProof: number, pieces: PieceInfo[]): Uint8Array;
}

/** Chain randomness as the actors draw it (lotus chain/rand): 32 bytes. */
export interface Randomness {
  fromTickets(dst: number, epoch: number, entropy: Uint8Array): Uint8Array;
  fromBeacon(dst: number, epoch: number, entropy: Uint8Array): Uint8Array;
}

export interface Runtime {
  readonly policy: Policy;
  readonly epoch: number;
  /** ID of the actor being called. */
  readonly receiver: number;
  /** ID of the immediate caller. */
  readonly caller: number;
  readonly valueReceived: bigint;
  /** The transaction layer of this message. */
  readonly tree: StateTree;
  readonly rand: Randomness;
  readonly verifier: ProofVerifier;
  /** CBOR of an ID address (randomness entropy, proving-period offset). */
  addressCbor(id: number): Uint8Array;
  /** Gas charged by the method on top of the message's base cost (e.g. proof verification). */
  chargeGas(amount: number, why: string): void;
}
