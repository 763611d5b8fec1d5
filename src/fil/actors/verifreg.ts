/**
 * Verified registry actor (f06) records and params as DAG-CBOR tuples, in builtin-actors' field order
 * (actors/verifreg/src/{types,state}.rs; docs/deals-chain.md). Allocations are made by sending datacap to f06
 * with AllocationRequests as the operator data (datacap.ts); a miner claims them in ProveCommitSectors3.
 */
import {
  decodeBigInt,
  decodeCbor,
  encodeBigInt,
  encodeCbor,
  expectArray,
  expectBool,
  expectBytes,
  expectCid,
  expectInt,
  expectTuple,
  expectUint,
} from '../cbor.js';
import type { CID } from '../cid.js';

/** Verified registry method numbers (builtin-actors actors/verifreg/src/lib.rs Method). */
export const VerifregMethod = {
  Constructor: 1,
  AddVerifier: 2,
  RemoveVerifier: 3,
  AddVerifiedClient: 4,
  RemoveVerifiedClientDataCap: 7,
  RemoveExpiredAllocations: 8,
  ClaimAllocations: 9,
  GetClaims: 10,
  ExtendClaimTerms: 11,
  RemoveExpiredClaims: 12,
  /** frc42 method_hash("Receive"): the FRC-46 token receiver hook datacap calls on a transfer. */
  UniversalReceiverHook: 3726118371,
} as const;

/** A request to allocate datacap to a provider for one piece (verifreg AllocationRequest). */
export interface AllocationRequest {
  /** Provider's actor ID (a miner). */
  provider: number;
  /** Piece CID. */
  data: CID;
  /** Padded piece size. */
  size: number;
  termMin: number;
  termMax: number;
  /** Last epoch at which the allocation can be claimed. */
  expiration: number;
}

/** A request to extend an existing claim's maximum term. */
export interface ClaimExtensionRequest {
  provider: number;
  claim: number;
  termMax: number;
}

export interface AllocationRequests {
  allocations: AllocationRequest[];
  extensions: ClaimExtensionRequest[];
}

/** An allocation in verifreg state (the client and provider are actor IDs). */
export interface Allocation {
  client: number;
  provider: number;
  data: CID;
  size: number;
  termMin: number;
  termMax: number;
  expiration: number;
}

/** A claim in verifreg state: a provider's commitment to store an allocation's piece in a sector. */
export interface VerifregClaim {
  provider: number;
  client: number;
  data: CID;
  size: number;
  termMin: number;
  termMax: number;
  termStart: number;
  sector: number;
}

/** fil_actors_runtime BatchReturn. */
export interface ActorBatchReturn {
  successCount: number;
  failCodes: { idx: number; code: number }[];
}

export function batchReturnToTuple(b: ActorBatchReturn): unknown[] {
  return [b.successCount, b.failCodes.map((f) => [f.idx, f.code])];
}

export function batchReturnFromTuple(v: unknown, what = 'BatchReturn'): ActorBatchReturn {
  const t = expectTuple(v, 2, what);
  return {
    successCount: expectUint(t[0], `${what}.SuccessCount`),
    failCodes: expectArray(t[1], `${what}.FailCodes`).map((f, i) => {
      const ft = expectTuple(f, 2, `${what}.FailCodes[${i}]`);
      return { idx: expectUint(ft[0], 'Idx'), code: expectUint(ft[1], 'Code') };
    }),
  };
}

export function allocationRequestToTuple(r: AllocationRequest): unknown[] {
  return [r.provider, r.data, r.size, r.termMin, r.termMax, r.expiration];
}

export function allocationRequestFromTuple(v: unknown, what = 'AllocationRequest'): AllocationRequest {
  const t = expectTuple(v, 6, what);
  return {
    provider: expectUint(t[0], `${what}.Provider`),
    data: expectCid(t[1], `${what}.Data`),
    size: expectUint(t[2], `${what}.Size`),
    termMin: expectInt(t[3], `${what}.TermMin`),
    termMax: expectInt(t[4], `${what}.TermMax`),
    expiration: expectInt(t[5], `${what}.Expiration`),
  };
}

/** AllocationRequests {Allocations, Extensions}: the operator data of a datacap transfer to f06. */
export function encodeAllocationRequests(r: AllocationRequests): Uint8Array {
  return encodeCbor([
    r.allocations.map(allocationRequestToTuple),
    r.extensions.map((e) => [e.provider, e.claim, e.termMax]),
  ]);
}

export function decodeAllocationRequests(bytes: Uint8Array): AllocationRequests {
  const t = expectTuple(decodeCbor(bytes), 2, 'AllocationRequests');
  return {
    allocations: expectArray(t[0], 'AllocationRequests.Allocations').map((a, i) =>
      allocationRequestFromTuple(a, `Allocations[${i}]`),
    ),
    extensions: expectArray(t[1], 'AllocationRequests.Extensions').map((e, i) => {
      const et = expectTuple(e, 3, `Extensions[${i}]`);
      return {
        provider: expectUint(et[0], `Extensions[${i}].Provider`),
        claim: expectUint(et[1], `Extensions[${i}].Claim`),
        termMax: expectInt(et[2], `Extensions[${i}].TermMax`),
      };
    }),
  };
}

export interface AllocationsResponse {
  allocationResults: ActorBatchReturn;
  extensionResults: ActorBatchReturn;
  /** IDs of the new allocations, in request order. */
  newAllocations: number[];
}

/** AllocationsResponse: the verifreg receiver hook's return, carried back as the datacap transfer's RecipientData. */
export function encodeAllocationsResponse(r: AllocationsResponse): Uint8Array {
  return encodeCbor([
    batchReturnToTuple(r.allocationResults),
    batchReturnToTuple(r.extensionResults),
    r.newAllocations,
  ]);
}

export function decodeAllocationsResponse(bytes: Uint8Array): AllocationsResponse {
  const t = expectTuple(decodeCbor(bytes), 3, 'AllocationsResponse');
  return {
    allocationResults: batchReturnFromTuple(t[0], 'AllocationResults'),
    extensionResults: batchReturnFromTuple(t[1], 'ExtensionResults'),
    newAllocations: expectArray(t[2], 'NewAllocations').map((a, i) => expectUint(a, `NewAllocations[${i}]`)),
  };
}

export function encodeAllocation(a: Allocation): Uint8Array {
  return encodeCbor([a.client, a.provider, a.data, a.size, a.termMin, a.termMax, a.expiration]);
}

export function decodeAllocation(bytes: Uint8Array): Allocation {
  const t = expectTuple(decodeCbor(bytes), 7, 'Allocation');
  return {
    client: expectUint(t[0], 'Allocation.Client'),
    provider: expectUint(t[1], 'Allocation.Provider'),
    data: expectCid(t[2], 'Allocation.Data'),
    size: expectUint(t[3], 'Allocation.Size'),
    termMin: expectInt(t[4], 'Allocation.TermMin'),
    termMax: expectInt(t[5], 'Allocation.TermMax'),
    expiration: expectInt(t[6], 'Allocation.Expiration'),
  };
}

export function encodeVerifregClaim(c: VerifregClaim): Uint8Array {
  return encodeCbor([c.provider, c.client, c.data, c.size, c.termMin, c.termMax, c.termStart, c.sector]);
}

export function decodeVerifregClaim(bytes: Uint8Array): VerifregClaim {
  const t = expectTuple(decodeCbor(bytes), 8, 'Claim');
  return {
    provider: expectUint(t[0], 'Claim.Provider'),
    client: expectUint(t[1], 'Claim.Client'),
    data: expectCid(t[2], 'Claim.Data'),
    size: expectUint(t[3], 'Claim.Size'),
    termMin: expectInt(t[4], 'Claim.TermMin'),
    termMax: expectInt(t[5], 'Claim.TermMax'),
    termStart: expectInt(t[6], 'Claim.TermStart'),
    sector: expectUint(t[7], 'Claim.Sector'),
  };
}

// --- ClaimAllocations (9): miner → verifreg at activation ---

export interface AllocationClaim {
  client: number;
  allocationId: number;
  data: CID;
  size: number;
}

export interface SectorAllocationClaims {
  sector: number;
  expiry: number;
  claims: AllocationClaim[];
}

export function encodeClaimAllocationsParams(sectors: SectorAllocationClaims[], allOrNothing: boolean): Uint8Array {
  return encodeCbor([
    sectors.map((s) => [s.sector, s.expiry, s.claims.map((c) => [c.client, c.allocationId, c.data, c.size])]),
    allOrNothing,
  ]);
}

export function decodeClaimAllocationsParams(v: unknown): { sectors: SectorAllocationClaims[]; allOrNothing: boolean } {
  const t = expectTuple(v, 2, 'ClaimAllocationsParams');
  return {
    sectors: expectArray(t[0], 'Sectors').map((s, i) => {
      const st = expectTuple(s, 3, `Sectors[${i}]`);
      return {
        sector: expectUint(st[0], `Sectors[${i}].Sector`),
        expiry: expectInt(st[1], `Sectors[${i}].Expiry`),
        claims: expectArray(st[2], `Sectors[${i}].Claims`).map((c, j) => {
          const ct = expectTuple(c, 4, `Sectors[${i}].Claims[${j}]`);
          return {
            client: expectUint(ct[0], 'Client'),
            allocationId: expectUint(ct[1], 'AllocationID'),
            data: expectCid(ct[2], 'Data'),
            size: expectUint(ct[3], 'Size'),
          };
        }),
      };
    }),
    allOrNothing: expectBool(t[1], 'AllOrNothing'),
  };
}

/** ClaimAllocationsReturn: [SectorResults, [ClaimedSpace…]] (SectorClaimSummary is a transparent big int). */
export function encodeClaimAllocationsReturn(results: ActorBatchReturn, claimedSpace: bigint[]): Uint8Array {
  return encodeCbor([batchReturnToTuple(results), claimedSpace.map(encodeBigInt)]);
}

export function decodeClaimAllocationsReturn(bytes: Uint8Array): { results: ActorBatchReturn; claimedSpace: bigint[] } {
  const t = expectTuple(decodeCbor(bytes), 2, 'ClaimAllocationsReturn');
  return {
    results: batchReturnFromTuple(t[0], 'SectorResults'),
    claimedSpace: expectArray(t[1], 'SectorClaims').map((c, i) =>
      decodeBigInt(expectBytes(c, `SectorClaims[${i}]`), `SectorClaims[${i}]`),
    ),
  };
}

// --- RemoveExpiredAllocations (8): anyone returns a client's expired allocations' datacap to it ---

export interface RemoveExpiredAllocationsParams {
  client: number;
  /** Empty: every expired allocation of the client. */
  allocationIds: number[];
}

export function encodeRemoveExpiredAllocationsParams(p: RemoveExpiredAllocationsParams): Uint8Array {
  return encodeCbor([p.client, p.allocationIds]);
}

export function decodeRemoveExpiredAllocationsParams(v: unknown): RemoveExpiredAllocationsParams {
  const t = expectTuple(v, 2, 'RemoveExpiredAllocationsParams');
  return {
    client: expectUint(t[0], 'RemoveExpiredAllocationsParams.Client'),
    allocationIds: expectArray(t[1], 'RemoveExpiredAllocationsParams.AllocationIDs').map((a, i) =>
      expectUint(a, `AllocationIDs[${i}]`),
    ),
  };
}

export interface RemoveExpiredAllocationsReturn {
  considered: number[];
  results: ActorBatchReturn;
  /** Bytes of datacap returned to the client. */
  datacapRecovered: bigint;
}

export function encodeRemoveExpiredAllocationsReturn(r: RemoveExpiredAllocationsReturn): Uint8Array {
  return encodeCbor([r.considered, batchReturnToTuple(r.results), encodeBigInt(r.datacapRecovered)]);
}

export function decodeRemoveExpiredAllocationsReturn(bytes: Uint8Array): RemoveExpiredAllocationsReturn {
  const t = expectTuple(decodeCbor(bytes), 3, 'RemoveExpiredAllocationsReturn');
  return {
    considered: expectArray(t[0], 'Considered').map((a, i) => expectUint(a, `Considered[${i}]`)),
    results: batchReturnFromTuple(t[1], 'Results'),
    datacapRecovered: decodeBigInt(expectBytes(t[2], 'DataCapRecovered'), 'DataCapRecovered'),
  };
}
