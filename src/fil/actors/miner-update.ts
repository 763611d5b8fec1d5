/**
 * Miner ProveReplicaUpdates3 (SnapDeals: data put into a committed-capacity sector without sealing again) params and
 * return as DAG-CBOR tuples, in builtin-actors' field order (actors/miner/src/types.rs; docs/snap-chain.md). One
 * encoder/decoder, shared by the devnet's miner actor and the sector-manager.
 */
import { type Address, addressFromBytes } from '../address.js';
import {
  decodeCbor,
  encodeCbor,
  expectArray,
  expectBool,
  expectBytes,
  expectCid,
  expectInt,
  expectTuple,
  expectUint,
} from '../cbor.js';
import { CID } from '../cid.js';

/** The miner method number (builtin-actors actors/miner/src/lib.rs Method::ProveReplicaUpdates3). */
export const PROVE_REPLICA_UPDATES3_METHOD = 35;

/** A piece going into the sector (the same PieceActivationManifest as ProveCommitSectors3's). */
export interface UpdatePieceManifest {
  /** Piece CID bytes (CommP). */
  cid: Uint8Array;
  /** Padded piece size. */
  size: number;
  verifiedAllocationKey: { client: number; id: number } | null;
  notify: { address: Address; payload: Uint8Array }[];
}

/** SectorUpdateManifest = [Sector, Deadline, Partition, NewSealedCID, Pieces]. */
export interface SectorUpdateManifest {
  sector: number;
  deadline: number;
  partition: number;
  /** The updated replica's CommR CID bytes. */
  newSealedCid: Uint8Array;
  pieces: UpdatePieceManifest[];
}

/**
 * ProveReplicaUpdates3Params = [SectorUpdates, SectorProofs, AggregateProof, UpdateProofsType,
 * AggregateProofType|null, RequireActivationSuccess, RequireNotificationSuccess].
 */
export interface ProveReplicaUpdates3Params {
  sectorUpdates: SectorUpdateManifest[];
  /** One proof per update (or none with an aggregate). */
  sectorProofs: Uint8Array[];
  aggregateProof: Uint8Array;
  /** RegisteredUpdateProof (StackedDrg2KiBV1 = 0, …). */
  updateProofsType: number;
  aggregateProofType: number | null;
  requireActivationSuccess: boolean;
  requireNotificationSuccess: boolean;
}

/** The return (ProveReplicaUpdates3Return, serde-transparent over BatchReturn): [SuccessCount, [[Idx, Code]…]]. */
export interface UpdateBatchReturn {
  successCount: number;
  failCodes: { idx: number; code: number }[];
}

function pieceTuple(p: UpdatePieceManifest): unknown[] {
  return [
    CID.decode(p.cid),
    p.size,
    p.verifiedAllocationKey ? [p.verifiedAllocationKey.client, p.verifiedAllocationKey.id] : null,
    p.notify.map((n) => [n.address.bytes(), n.payload]),
  ];
}

export function encodeProveReplicaUpdates3Params(p: ProveReplicaUpdates3Params): Uint8Array {
  return encodeCbor([
    p.sectorUpdates.map((u) => [
      u.sector,
      u.deadline,
      u.partition,
      CID.decode(u.newSealedCid),
      u.pieces.map(pieceTuple),
    ]),
    p.sectorProofs,
    p.aggregateProof,
    p.updateProofsType,
    p.aggregateProofType,
    p.requireActivationSuccess,
    p.requireNotificationSuccess,
  ]);
}

function decodePiece(v: unknown, what: string): UpdatePieceManifest {
  const t = expectTuple(v, 4, what);
  let key: UpdatePieceManifest['verifiedAllocationKey'] = null;
  if (t[2] !== null) {
    const k = expectTuple(t[2], 2, `${what}.VerifiedAllocationKey`);
    key = { client: expectUint(k[0], `${what}.VerifiedAllocationKey.Client`), id: expectUint(k[1], 'ID') };
  }
  return {
    cid: expectCid(t[0], `${what}.CID`).bytes,
    size: expectUint(t[1], `${what}.Size`),
    verifiedAllocationKey: key,
    notify: expectArray(t[3], `${what}.Notify`).map((n, i) => {
      const nt = expectTuple(n, 2, `${what}.Notify[${i}]`);
      return {
        address: addressFromBytes(expectBytes(nt[0], `${what}.Notify[${i}].Address`)),
        payload: expectBytes(nt[1], `${what}.Notify[${i}].Payload`),
      };
    }),
  };
}

/** Decodes the params from a decoded CBOR value (throws EncodingError naming the bad field). */
export function decodeProveReplicaUpdates3Params(v: unknown): ProveReplicaUpdates3Params {
  const t = expectTuple(v, 7, 'ProveReplicaUpdates3Params');
  return {
    sectorUpdates: expectArray(t[0], 'SectorUpdates').map((u, i) => {
      const w = `SectorUpdates[${i}]`;
      const ut = expectTuple(u, 5, w);
      return {
        sector: expectUint(ut[0], `${w}.Sector`),
        deadline: expectUint(ut[1], `${w}.Deadline`),
        partition: expectUint(ut[2], `${w}.Partition`),
        newSealedCid: expectCid(ut[3], `${w}.NewSealedCID`).bytes,
        pieces: expectArray(ut[4], `${w}.Pieces`).map((p, j) => decodePiece(p, `${w}.Pieces[${j}]`)),
      };
    }),
    sectorProofs: expectArray(t[1], 'SectorProofs').map((p, i) => expectBytes(p, `SectorProofs[${i}]`)),
    aggregateProof: expectBytes(t[2], 'AggregateProof'),
    updateProofsType: expectInt(t[3], 'UpdateProofsType'),
    aggregateProofType: t[4] === null ? null : expectInt(t[4], 'AggregateProofType'),
    requireActivationSuccess: expectBool(t[5], 'RequireActivationSuccess'),
    requireNotificationSuccess: expectBool(t[6], 'RequireNotificationSuccess'),
  };
}

export function encodeProveReplicaUpdates3Return(r: UpdateBatchReturn): Uint8Array {
  return encodeCbor([r.successCount, r.failCodes.map((f) => [f.idx, f.code])]);
}

export function decodeProveReplicaUpdates3Return(bytes: Uint8Array): UpdateBatchReturn {
  const t = expectTuple(decodeCbor(bytes), 2, 'ProveReplicaUpdates3Return');
  return {
    successCount: expectUint(t[0], 'SuccessCount'),
    failCodes: expectArray(t[1], 'FailCodes').map((f, i) => {
      const ft = expectTuple(f, 2, `FailCodes[${i}]`);
      return { idx: expectUint(ft[0], `FailCodes[${i}].Idx`), code: expectUint(ft[1], `FailCodes[${i}].Code`) };
    }),
  };
}
