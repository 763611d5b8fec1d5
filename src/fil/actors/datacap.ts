/**
 * Datacap token actor (f07) params and returns (FRC-46 token methods as builtin-actors exports them,
 * actors/datacap/src/lib.rs; docs/deals-chain.md). One datacap byte is 10^18 token units. A client makes
 * verified allocations by TransferExported to the verified registry (f06) with AllocationRequests as operator data.
 */
import { type Address, addressFromBytes, idAddress } from '../address.js';
import { decodeBigInt, decodeCbor, encodeBigInt, encodeCbor, expectBytes, expectTuple } from '../cbor.js';
import { type AllocationRequest, encodeAllocationRequests } from './verifreg.js';

/** Datacap method numbers: FRC-42 hashes of the exported names (frc42_dispatch::method_hash!). */
export const DatacapMethod = {
  Constructor: 1,
  /** method_hash("Mint") */
  MintExported: 116935346,
  /** method_hash("Balance") */
  BalanceExported: 3261979605,
  /** method_hash("Transfer") */
  TransferExported: 80475954,
  /** method_hash("TransferFrom") */
  TransferFromExported: 3621052141,
} as const;

/** Token units per datacap byte (FRC-46 granularity, TokenAmount::from_whole(1)). */
export const DATACAP_TOKEN_PRECISION = 10n ** 18n;

/** The verified registry's ID (f06), the recipient of allocation transfers. */
export const VERIFIED_REGISTRY_ID = 6;
export const DATACAP_ACTOR_ID = 7;

/** Token units of `bytes` datacap. */
export const datacapToTokens = (bytes: bigint): bigint => bytes * DATACAP_TOKEN_PRECISION;
/** Whole datacap bytes of a token amount (truncated). */
export const tokensToDatacap = (tokens: bigint): bigint => tokens / DATACAP_TOKEN_PRECISION;

export interface DatacapTransferParams {
  to: Address;
  /** Token units (bytes × 10^18). */
  amount: bigint;
  operatorData: Uint8Array;
}

/** TransferExported params (frc46 TransferParams): [To, Amount, OperatorData]. */
export function encodeDatacapTransferParams(p: DatacapTransferParams): Uint8Array {
  return encodeCbor([p.to.bytes(), encodeBigInt(p.amount), p.operatorData]);
}

export function decodeDatacapTransferParams(v: unknown): DatacapTransferParams {
  const t = expectTuple(v, 3, 'TransferParams');
  return {
    to: addressFromBytes(expectBytes(t[0], 'TransferParams.To')),
    amount: decodeBigInt(expectBytes(t[1], 'TransferParams.Amount'), 'TransferParams.Amount'),
    operatorData: expectBytes(t[2], 'TransferParams.OperatorData'),
  };
}

export interface DatacapTransferReturn {
  fromBalance: bigint;
  toBalance: bigint;
  /** The receiver hook's return (for f06: AllocationsResponse CBOR). */
  recipientData: Uint8Array;
}

/** frc46 TransferReturn: [FromBalance, ToBalance, RecipientData]. */
export function encodeDatacapTransferReturn(r: DatacapTransferReturn): Uint8Array {
  return encodeCbor([encodeBigInt(r.fromBalance), encodeBigInt(r.toBalance), r.recipientData]);
}

export function decodeDatacapTransferReturn(bytes: Uint8Array): DatacapTransferReturn {
  const t = expectTuple(decodeCbor(bytes), 3, 'TransferReturn');
  return {
    fromBalance: decodeBigInt(expectBytes(t[0], 'FromBalance'), 'FromBalance'),
    toBalance: decodeBigInt(expectBytes(t[1], 'ToBalance'), 'ToBalance'),
    recipientData: expectBytes(t[2], 'RecipientData'),
  };
}

/**
 * The params of a client's datacap TransferExported to f06 that creates `allocations`: the amount is the sum of
 * the padded sizes in token units, as the verified registry requires it exactly.
 */
export function allocationTransferParams(allocations: AllocationRequest[]): Uint8Array {
  const bytes = allocations.reduce((s, a) => s + BigInt(a.size), 0n);
  return encodeDatacapTransferParams({
    to: idAddress(VERIFIED_REGISTRY_ID),
    amount: datacapToTokens(bytes),
    operatorData: encodeAllocationRequests({ allocations, extensions: [] }),
  });
}

/** BalanceExported params: the owner's address (transparent). Return: the token amount. */
export const encodeDatacapBalanceParams = (owner: Address): Uint8Array => encodeCbor(owner.bytes());
export const decodeDatacapBalanceReturn = (bytes: Uint8Array): bigint =>
  decodeBigInt(expectBytes(decodeCbor(bytes), 'Balance'), 'Balance');
