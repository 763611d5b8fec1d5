/**
 * CBOR tuples of the actor method params and returns the devnet executes (builtin-actors / go-state-types
 * field order; docs/spec/chain.md §Actor methods). Decoding errors become ErrSerialization (21), as in the actors.
 */
import {
  type Address,
  addressFromBytes,
  CID,
  decodeBigInt,
  decodeCbor,
  EncodingError,
  encodeBigInt,
  encodeCbor,
  expectArray,
  expectBool,
  expectBytes,
  expectCid,
  expectInt,
  expectTuple,
  expectUint,
  FilError,
} from '../fil/index.js';
import { bitfieldFromBytes, bitfieldToBytes } from './bitfield.js';
import { ActorError, ExitCode } from './exitcode.js';
import type {
  BatchReturn,
  PieceActivationManifest,
  PoStPartition,
  ProveCommitSectors3Params,
  RecoveryDeclaration,
  SectorPreCommitInfo,
  SubmitWindowedPoStParams,
} from './miner.js';

/** Runs a decoder; malformed params abort with ErrSerialization. */
export function decodeParams<T>(what: string, params: Uint8Array, fn: (v: unknown) => T): T {
  try {
    if (params.length === 0) throw new EncodingError('no parameters');
    return fn(decodeCbor(params));
  } catch (e) {
    if (e instanceof ActorError) throw e;
    if (e instanceof FilError || e instanceof Error) {
      throw new ActorError(ExitCode.ErrSerialization, `failed to decode ${what}: ${e.message}`);
    }
    throw e;
  }
}

const addr = (v: unknown, what: string): Address => addressFromBytes(expectBytes(v, what));
const big = (v: unknown, what: string): bigint => decodeBigInt(expectBytes(v, what), what);
const cidBytes = (v: unknown, what: string): Uint8Array => expectCid(v, what).bytes;
const bitfield = (v: unknown, what: string) => bitfieldFromBytes(expectBytes(v, what));

// --- power ---

export interface CreateMinerParams {
  owner: Address;
  worker: Address;
  windowPoStProofType: number;
  peer: Uint8Array;
  multiaddrs: Uint8Array[];
}

export function decodeCreateMinerParams(v: unknown): CreateMinerParams {
  const t = expectTuple(v, 5, 'CreateMinerParams');
  return {
    owner: addr(t[0], 'CreateMinerParams.Owner'),
    worker: addr(t[1], 'CreateMinerParams.Worker'),
    windowPoStProofType: expectInt(t[2], 'CreateMinerParams.WindowPoStProofType'),
    peer: expectBytes(t[3], 'CreateMinerParams.Peer'),
    multiaddrs: expectArray(t[4], 'CreateMinerParams.Multiaddrs').map((m, i) =>
      expectBytes(m, `CreateMinerParams.Multiaddrs[${i}]`),
    ),
  };
}

export function encodeCreateMinerParams(p: CreateMinerParams): Uint8Array {
  return encodeCbor([p.owner.bytes(), p.worker.bytes(), p.windowPoStProofType, p.peer, p.multiaddrs]);
}

export function encodeCreateMinerReturn(id: Address, robust: Address): Uint8Array {
  return encodeCbor([id.bytes(), robust.bytes()]);
}

export function decodeCreateMinerReturn(b: Uint8Array): { idAddress: Address; robustAddress: Address } {
  const t = expectTuple(decodeCbor(b), 2, 'CreateMinerReturn');
  return { idAddress: addr(t[0], 'IDAddress'), robustAddress: addr(t[1], 'RobustAddress') };
}

// --- miner ---

export function decodeSectorPreCommitInfo(v: unknown, what = 'SectorPreCommitInfo'): SectorPreCommitInfo {
  const t = expectTuple(v, 7, what);
  return {
    sealProof: expectInt(t[0], `${what}.SealProof`),
    sectorNumber: expectUint(t[1], `${what}.SectorNumber`),
    sealedCid: cidBytes(t[2], `${what}.SealedCID`),
    sealRandEpoch: expectInt(t[3], `${what}.SealRandEpoch`),
    dealIds: expectArray(t[4], `${what}.DealIDs`).map((d, i) => expectUint(d, `${what}.DealIDs[${i}]`)),
    expiration: expectInt(t[5], `${what}.Expiration`),
    unsealedCid: t[6] === null ? null : cidBytes(t[6], `${what}.UnsealedCid`),
  };
}

export function encodeSectorPreCommitInfo(s: SectorPreCommitInfo): unknown[] {
  return [
    s.sealProof,
    s.sectorNumber,
    CID.decode(s.sealedCid),
    s.sealRandEpoch,
    s.dealIds,
    s.expiration,
    s.unsealedCid ? CID.decode(s.unsealedCid) : null,
  ];
}

export function decodePreCommitSectorBatch2Params(v: unknown): { sectors: SectorPreCommitInfo[] } {
  const t = expectTuple(v, 1, 'PreCommitSectorBatchParams2');
  return {
    sectors: expectArray(t[0], 'Sectors').map((s, i) => decodeSectorPreCommitInfo(s, `Sectors[${i}]`)),
  };
}

export function encodePreCommitSectorBatch2Params(sectors: SectorPreCommitInfo[]): Uint8Array {
  return encodeCbor([sectors.map(encodeSectorPreCommitInfo)]);
}

function decodePieceManifest(v: unknown, what: string): PieceActivationManifest {
  const t = expectTuple(v, 4, what);
  let key: PieceActivationManifest['verifiedAllocationKey'] = null;
  if (t[2] !== null) {
    const k = expectTuple(t[2], 2, `${what}.VerifiedAllocationKey`);
    key = { client: expectUint(k[0], 'Client'), id: expectUint(k[1], 'ID') };
  }
  return {
    cid: cidBytes(t[0], `${what}.CID`),
    size: expectUint(t[1], `${what}.Size`),
    verifiedAllocationKey: key,
    notify: expectArray(t[3], `${what}.Notify`).map((n, i) => {
      const nt = expectTuple(n, 2, `${what}.Notify[${i}]`);
      return { address: addr(nt[0], 'Address'), payload: expectBytes(nt[1], 'Payload') };
    }),
  };
}

export function decodeProveCommitSectors3Params(v: unknown): ProveCommitSectors3Params {
  const t = expectTuple(v, 6, 'ProveCommitSectors3Params');
  return {
    sectorActivations: expectArray(t[0], 'SectorActivations').map((a, i) => {
      const at = expectTuple(a, 2, `SectorActivations[${i}]`);
      return {
        sectorNumber: expectUint(at[0], `SectorActivations[${i}].SectorNumber`),
        pieces: expectArray(at[1], `SectorActivations[${i}].Pieces`).map((p, j) =>
          decodePieceManifest(p, `SectorActivations[${i}].Pieces[${j}]`),
        ),
      };
    }),
    sectorProofs: expectArray(t[1], 'SectorProofs').map((p, i) => expectBytes(p, `SectorProofs[${i}]`)),
    aggregateProof: expectBytes(t[2], 'AggregateProof'),
    aggregateProofType: t[3] === null ? null : expectInt(t[3], 'AggregateProofType'),
    requireActivationSuccess: expectBool(t[4], 'RequireActivationSuccess'),
    requireNotificationSuccess: expectBool(t[5], 'RequireNotificationSuccess'),
  };
}

export function encodeProveCommitSectors3Params(p: ProveCommitSectors3Params): Uint8Array {
  return encodeCbor([
    p.sectorActivations.map((a) => [
      a.sectorNumber,
      a.pieces.map((pc) => [
        CID.decode(pc.cid),
        pc.size,
        pc.verifiedAllocationKey ? [pc.verifiedAllocationKey.client, pc.verifiedAllocationKey.id] : null,
        pc.notify.map((n) => [(n.address as Address).bytes(), n.payload]),
      ]),
    ]),
    p.sectorProofs,
    p.aggregateProof,
    p.aggregateProofType,
    p.requireActivationSuccess,
    p.requireNotificationSuccess,
  ]);
}

export function encodeBatchReturn(b: BatchReturn): Uint8Array {
  return encodeCbor([b.successCount, b.failCodes.map((f) => [f.idx, f.code])]);
}

export function decodeBatchReturn(bytes: Uint8Array): BatchReturn {
  const t = expectTuple(decodeCbor(bytes), 2, 'BatchReturn');
  return {
    successCount: expectUint(t[0], 'SuccessCount'),
    failCodes: expectArray(t[1], 'FailCodes').map((f) => {
      const ft = expectTuple(f, 2, 'FailCode');
      return { idx: expectUint(ft[0], 'Idx'), code: expectUint(ft[1], 'Code') };
    }),
  };
}

export function decodeSubmitWindowedPoStParams(v: unknown): SubmitWindowedPoStParams {
  const t = expectTuple(v, 5, 'SubmitWindowedPoStParams');
  return {
    deadline: expectUint(t[0], 'Deadline'),
    partitions: expectArray(t[1], 'Partitions').map((p, i): PoStPartition => {
      const pt = expectTuple(p, 2, `Partitions[${i}]`);
      return {
        index: expectUint(pt[0], `Partitions[${i}].Index`),
        skipped: bitfield(pt[1], `Partitions[${i}].Skipped`),
      };
    }),
    proofs: expectArray(t[2], 'Proofs').map((p, i) => {
      const pt = expectTuple(p, 2, `Proofs[${i}]`);
      return { postProof: expectInt(pt[0], `Proofs[${i}].PoStProof`), proofBytes: expectBytes(pt[1], 'ProofBytes') };
    }),
    chainCommitEpoch: expectInt(t[3], 'ChainCommitEpoch'),
    chainCommitRand: expectBytes(t[4], 'ChainCommitRand'),
  };
}

export function encodeSubmitWindowedPoStParams(p: SubmitWindowedPoStParams): Uint8Array {
  return encodeCbor([
    p.deadline,
    p.partitions.map((x) => [x.index, bitfieldToBytes(x.skipped)]),
    p.proofs.map((x) => [x.postProof, x.proofBytes]),
    p.chainCommitEpoch,
    p.chainCommitRand,
  ]);
}

/** DeclareFaultsRecoveredParams / DeclareFaultsParams / TerminateSectorsParams: [[Deadline, Partition, Sectors]]. */
export function decodeDeclarations(v: unknown, what: string): RecoveryDeclaration[] {
  const t = expectTuple(v, 1, what);
  return expectArray(t[0], what).map((d, i) => {
    const dt = expectTuple(d, 3, `${what}[${i}]`);
    return {
      deadline: expectUint(dt[0], 'Deadline'),
      partition: expectUint(dt[1], 'Partition'),
      sectors: bitfield(dt[2], 'Sectors'),
    };
  });
}

export function encodeDeclarations(decls: RecoveryDeclaration[]): Uint8Array {
  return encodeCbor([decls.map((d) => [d.deadline, d.partition, bitfieldToBytes(d.sectors)])]);
}

export function decodeChangeWorkerAddressParams(v: unknown): { newWorker: Address; newControlAddresses: Address[] } {
  const t = expectTuple(v, 2, 'ChangeWorkerAddressParams');
  return {
    newWorker: addr(t[0], 'NewWorker'),
    newControlAddresses: expectArray(t[1], 'NewControlAddrs').map((a, i) => addr(a, `NewControlAddrs[${i}]`)),
  };
}

export function encodeChangeWorkerAddressParams(newWorker: Address, controls: Address[]): Uint8Array {
  return encodeCbor([newWorker.bytes(), controls.map((c) => c.bytes())]);
}

export function decodeWithdrawBalanceParams(v: unknown): bigint {
  const t = expectTuple(v, 1, 'WithdrawBalanceParams');
  return big(t[0], 'AmountRequested');
}

export function encodeWithdrawBalanceParams(amount: bigint): Uint8Array {
  return encodeCbor([encodeBigInt(amount)]);
}

export const encodeBigIntReturn = (v: bigint): Uint8Array => encodeCbor(encodeBigInt(v));
export const encodeAddressCbor = (a: Address): Uint8Array => encodeCbor(a.bytes());
export const decodeAddressParam = (v: unknown, what: string): Address => addr(v, what);
export const decodeBytesParam = (v: unknown, what: string): Uint8Array => expectBytes(v, what);
export const decodeBigIntParam = big;
