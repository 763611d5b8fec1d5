/**
 * Actor method params the manager sends, as CBOR tuples (docs/spec/chain.md §Actor methods, current actors), and the
 * returns it reads. Written here rather than shared with the devnet so a mistake on either side shows up as a
 * decode failure in the end-to-end test instead of cancelling out.
 */
import {
  type Address,
  addressFromBytes,
  type BitField,
  type CID,
  commDToCid,
  commRToCid,
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBytes,
  expectTuple,
  expectUint,
} from '../fil/index.js';

/** Method numbers (builtin-actors miner and power actors). */
export const MinerMethod = {
  ChangeWorkerAddress: 3,
  SubmitWindowedPoSt: 5,
  TerminateSectors: 9,
  DeclareFaults: 10,
  DeclareFaultsRecovered: 11,
  WithdrawBalance: 16,
  PreCommitSectorBatch2: 28,
  ProveCommitSectors3: 34,
} as const;
export const PowerMethod = { CreateMiner: 2 } as const;
export const POWER_ACTOR = 'f04';

/** RegisteredAggregationProof: SnarkPackV2. */
export const AGGREGATE_SNARKPACK_V2 = 1;

export interface PreCommitEntry {
  sealProof: number;
  sectorNumber: number;
  commR: Uint8Array;
  sealRandEpoch: number;
  dealIds: number[];
  expiration: number;
  /** CommD; null for a CC sector (the actor computes the zero CommD) */
  commD: Uint8Array | null;
}

/** PreCommitSectorBatchParams2 = [[SectorPreCommitInfo…]], SectorPreCommitInfo a 7-tuple. */
export function encodePreCommitSectorBatch2(sectors: readonly PreCommitEntry[]): Uint8Array {
  return encodeCbor([
    sectors.map((s) => [
      s.sealProof,
      s.sectorNumber,
      commRToCid(s.commR),
      s.sealRandEpoch,
      s.dealIds,
      s.expiration,
      s.commD ? commDToCid(s.commD) : null,
    ]),
  ]);
}

/** The market actor: builtin-market deal pieces notify it with their deal id. */
export const MARKET_ACTOR_ID = 5;

/**
 * PieceActivationManifest = [CID, Size, VerifiedAllocationKey|null, [DataActivationNotification…]];
 * VerifiedAllocationKey = [Client (actor id), ID (allocation id)], DataActivationNotification = [Address, Payload].
 */
export interface PieceActivation {
  cid: CID;
  size: number;
  verifiedAllocationKey?: { client: number; id: number } | null;
  notify?: { address: Address; payload: Uint8Array }[];
}

export interface SectorActivation {
  sectorNumber: number;
  /** one per deal piece (and per filler when the layout needs it: market/manifest.ts); none for a CC sector */
  pieces: PieceActivation[];
}

/**
 * The notification payload a builtin-market deal piece sends the market actor: CBOR of the deal id (a uint),
 * as damocles' cborutil.Dump(dealID). Encoded here (not shared with the devnet's decoder) for the reason above.
 */
export function encodeDealIdNotifyPayload(dealId: number): Uint8Array {
  if (!Number.isSafeInteger(dealId) || dealId < 0) throw new RangeError(`deal id ${dealId} is not a uint`);
  return encodeCbor(dealId);
}

/**
 * ProveCommitSectors3Params = [SectorActivations, SectorProofs, AggregateProof, AggregateProofType|null,
 * RequireActivationSuccess, RequireNotificationSuccess]. Exactly one of `proofs` (one per sector) or
 * `aggregate` is given.
 */
export function encodeProveCommitSectors3(p: {
  activations: readonly SectorActivation[];
  proofs: readonly Uint8Array[];
  aggregate: Uint8Array | null;
  requireActivationSuccess: boolean;
}): Uint8Array {
  return encodeCbor([
    p.activations.map((a) => [
      a.sectorNumber,
      a.pieces.map((pc) => [
        pc.cid,
        pc.size,
        pc.verifiedAllocationKey ? [pc.verifiedAllocationKey.client, pc.verifiedAllocationKey.id] : null,
        (pc.notify ?? []).map((n) => [n.address.bytes(), n.payload]),
      ]),
    ]),
    p.aggregate ? [] : [...p.proofs],
    p.aggregate ?? new Uint8Array(0),
    p.aggregate ? AGGREGATE_SNARKPACK_V2 : null,
    p.requireActivationSuccess,
    false,
  ]);
}

export interface PoStPartition {
  index: number;
  skipped: BitField;
}

/** SubmitWindowedPoStParams = [Deadline, [[Index, Skipped]], [[PoStProof, ProofBytes]], ChainCommitEpoch, ChainCommitRand]. */
export function encodeSubmitWindowedPoSt(p: {
  deadline: number;
  partitions: readonly PoStPartition[];
  proofs: readonly { postProof: number; proofBytes: Uint8Array }[];
  chainCommitEpoch: number;
  chainCommitRand: Uint8Array;
}): Uint8Array {
  return encodeCbor([
    p.deadline,
    p.partitions.map((x) => [x.index, x.skipped.encode()]),
    p.proofs.map((x) => [x.postProof, x.proofBytes]),
    p.chainCommitEpoch,
    p.chainCommitRand,
  ]);
}

export interface Declaration {
  deadline: number;
  partition: number;
  sectors: BitField;
}

/** DeclareFaultsRecoveredParams / DeclareFaultsParams = [[[Deadline, Partition, Sectors]…]]. */
export function encodeDeclarations(decls: readonly Declaration[]): Uint8Array {
  return encodeCbor([decls.map((d) => [d.deadline, d.partition, d.sectors.encode()])]);
}

/** CreateMinerParams = [Owner, Worker, WindowPoStProofType, Peer, Multiaddrs]. */
export function encodeCreateMiner(p: {
  owner: Address;
  worker: Address;
  windowPoStProofType: number;
  peer: Uint8Array;
  multiaddrs: Uint8Array[];
}): Uint8Array {
  return encodeCbor([p.owner.bytes(), p.worker.bytes(), p.windowPoStProofType, p.peer, p.multiaddrs]);
}

/** CreateMinerReturn = [IDAddress, RobustAddress]. */
export function decodeCreateMinerReturn(b: Uint8Array): { idAddress: Address; robustAddress: Address } {
  const t = expectTuple(decodeCbor(b), 2, 'CreateMinerReturn');
  return {
    idAddress: addressFromBytes(expectBytes(t[0], 'IDAddress')),
    robustAddress: addressFromBytes(expectBytes(t[1], 'RobustAddress')),
  };
}

/** BatchReturn = [SuccessCount, [[Idx, Code]…]] (ProveCommitSectors3's return). */
export function decodeBatchReturn(b: Uint8Array): { successCount: number; failCodes: { idx: number; code: number }[] } {
  const t = expectTuple(decodeCbor(b), 2, 'BatchReturn');
  return {
    successCount: expectUint(t[0], 'SuccessCount'),
    failCodes: expectArray(t[1], 'FailCodes').map((f, i) => {
      const ft = expectTuple(f, 2, `FailCodes[${i}]`);
      return { idx: expectUint(ft[0], 'Idx'), code: expectUint(ft[1], 'Code') };
    }),
  };
}
