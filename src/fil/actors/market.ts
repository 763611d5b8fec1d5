/**
 * Storage market actor (f05) params, returns and state records as DAG-CBOR tuples, in builtin-actors' field order
 * (actors/market/src/{deal,types}.rs; docs/deals-chain.md). One encoder/decoder per shape, shared by the devnet's
 * market actor, the market service and the sector-manager.
 */
import { type Address, addressFromBytes } from '../address.js';
import { BitField } from '../bitfield.js';
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
import { type CID, cborCid, FIL_COMMITMENT_UNSEALED_CODE, SHA2_256_TRUNC254_PADDED_CODE } from '../cid.js';
import { EncodingError } from '../errors.js';
import { type Signature, signatureFromBytes, signatureToBytes } from '../signature.js';

/** Market actor method numbers (builtin-actors actors/market/src/lib.rs Method). */
export const MarketMethod = {
  Constructor: 1,
  AddBalance: 2,
  WithdrawBalance: 3,
  PublishStorageDeals: 4,
  VerifyDealsForActivation: 5,
  BatchActivateDeals: 6,
  OnMinerSectorsTerminate: 7,
  CronTick: 9,
  /** frc42 method_hash("AddBalance") */
  AddBalanceExported: 822473126,
  /** frc42 method_hash("PublishStorageDeals") */
  PublishStorageDealsExported: 2236929350,
  /** The miner's notification of new sector content (miner SECTOR_CONTENT_CHANGED, frc42 "SectorContentChanged"). */
  SectorContentChanged: 2034386435,
} as const;

/** market policy DEAL_MAX_LABEL_SIZE. */
export const DEAL_MAX_LABEL_SIZE = 256;

/** A deal proposal's label: a CBOR text string or byte string (builtin-actors `Label`). */
export type DealLabel = string | Uint8Array;

export interface DealProposal {
  /** Piece CID (fil-commitment-unsealed, sha2-256-trunc254-padded). */
  pieceCid: CID;
  /** Padded piece size (a power of two ≥ 128). */
  pieceSize: number;
  verifiedDeal: boolean;
  client: Address;
  provider: Address;
  label: DealLabel;
  startEpoch: number;
  endEpoch: number;
  storagePricePerEpoch: bigint;
  providerCollateral: bigint;
  clientCollateral: bigint;
}

export interface ClientDealProposal {
  proposal: DealProposal;
  clientSignature: Signature;
}

/** Market DealState: −1 (EPOCH_UNDEFINED) where an epoch has not happened. */
export interface DealState {
  sectorNumber: number;
  sectorStartEpoch: number;
  lastUpdatedEpoch: number;
  slashEpoch: number;
}

export const EPOCH_UNDEFINED = -1;

const addr = (v: unknown, what: string): Address => addressFromBytes(expectBytes(v, what));
const big = (v: unknown, what: string): bigint => decodeBigInt(expectBytes(v, what), what);

/** Whether a CID is a piece CID (market deal.rs is_piece_cid: v1, fil-commitment-unsealed, sha2-256-trunc254-padded, 32 bytes). */
export function isPieceCid(c: CID): boolean {
  return (
    c.version === 1 &&
    c.code === FIL_COMMITMENT_UNSEALED_CODE &&
    c.multihash.code === SHA2_256_TRUNC254_PADDED_CODE &&
    c.multihash.size === 32
  );
}

/** PaddedPieceSize.validate: at least 128 and a power of two. Returns the reason, or null when valid. */
export function paddedPieceSizeProblem(size: number): string | null {
  if (!Number.isSafeInteger(size) || size < 128) return `minimum padded piece size is 128 bytes, got ${size}`;
  if ((BigInt(size) & (BigInt(size) - 1n)) !== 0n) return `padded piece size must be a power of 2, got ${size}`;
  return null;
}

export function dealProposalToTuple(p: DealProposal): unknown[] {
  return [
    p.pieceCid,
    p.pieceSize,
    p.verifiedDeal,
    p.client.bytes(),
    p.provider.bytes(),
    p.label,
    p.startEpoch,
    p.endEpoch,
    encodeBigInt(p.storagePricePerEpoch),
    encodeBigInt(p.providerCollateral),
    encodeBigInt(p.clientCollateral),
  ];
}

export function dealProposalFromTuple(v: unknown, what = 'DealProposal'): DealProposal {
  const t = expectTuple(v, 11, what);
  const label = t[5];
  if (typeof label !== 'string' && !(label instanceof Uint8Array)) {
    throw new EncodingError(`${what}.Label: expected a text or byte string`);
  }
  return {
    pieceCid: expectCid(t[0], `${what}.PieceCID`),
    pieceSize: expectUint(t[1], `${what}.PieceSize`),
    verifiedDeal: expectBool(t[2], `${what}.VerifiedDeal`),
    client: addr(t[3], `${what}.Client`),
    provider: addr(t[4], `${what}.Provider`),
    label,
    startEpoch: expectInt(t[6], `${what}.StartEpoch`),
    endEpoch: expectInt(t[7], `${what}.EndEpoch`),
    storagePricePerEpoch: big(t[8], `${what}.StoragePricePerEpoch`),
    providerCollateral: big(t[9], `${what}.ProviderCollateral`),
    clientCollateral: big(t[10], `${what}.ClientCollateral`),
  };
}

/** The proposal's CBOR bytes: what the client signs and what the deal's CID hashes. */
export function encodeDealProposal(p: DealProposal): Uint8Array {
  return encodeCbor(dealProposalToTuple(p));
}

export function decodeDealProposal(bytes: Uint8Array): DealProposal {
  return dealProposalFromTuple(decodeCbor(bytes));
}

/** The proposal CID (market deal_cid): CIDv1 dag-cbor blake2b-256 of the proposal bytes. */
export function dealProposalCid(p: DealProposal): CID {
  return cborCid(encodeDealProposal(p));
}

export function dealDuration(p: DealProposal): number {
  return p.endEpoch - p.startEpoch;
}

/** Storage price × duration. */
export function dealTotalStorageFee(p: DealProposal): bigint {
  return p.storagePricePerEpoch * BigInt(dealDuration(p));
}

/** What the client must have unlocked in escrow: collateral plus the total storage fee. */
export function dealClientBalanceRequirement(p: DealProposal): bigint {
  return p.clientCollateral + dealTotalStorageFee(p);
}

export function clientDealProposalToTuple(d: ClientDealProposal): unknown[] {
  return [dealProposalToTuple(d.proposal), signatureToBytes(d.clientSignature)];
}

export function clientDealProposalFromTuple(v: unknown, what = 'ClientDealProposal'): ClientDealProposal {
  const t = expectTuple(v, 2, what);
  let clientSignature: Signature;
  try {
    clientSignature = signatureFromBytes(expectBytes(t[1], `${what}.ClientSignature`));
  } catch (e) {
    throw new EncodingError(`${what}.ClientSignature: ${(e as Error).message}`);
  }
  return { proposal: dealProposalFromTuple(t[0], `${what}.Proposal`), clientSignature };
}

// --- method params and returns ---

/** AddBalance (2): the params are the bare address (serde transparent); the value sent is the deposit. */
export function encodeAddBalanceParams(providerOrClient: Address): Uint8Array {
  return encodeCbor(providerOrClient.bytes());
}

export function decodeAddBalanceParams(v: unknown): Address {
  return addr(v, 'AddBalanceParams.ProviderOrClientAddress');
}

export interface WithdrawBalanceParams {
  providerOrClient: Address;
  amount: bigint;
}

/** WithdrawBalance (3): [ProviderOrClientAddress, Amount]; returns the amount withdrawn (transparent TokenAmount). */
export function encodeMarketWithdrawBalanceParams(p: WithdrawBalanceParams): Uint8Array {
  return encodeCbor([p.providerOrClient.bytes(), encodeBigInt(p.amount)]);
}

export function decodeMarketWithdrawBalanceParams(v: unknown): WithdrawBalanceParams {
  const t = expectTuple(v, 2, 'WithdrawBalanceParams');
  return {
    providerOrClient: addr(t[0], 'WithdrawBalanceParams.ProviderOrClientAddress'),
    amount: big(t[1], 'WithdrawBalanceParams.Amount'),
  };
}

export function encodeMarketWithdrawBalanceReturn(amount: bigint): Uint8Array {
  return encodeCbor(encodeBigInt(amount));
}

export function decodeMarketWithdrawBalanceReturn(bytes: Uint8Array): bigint {
  return big(decodeCbor(bytes), 'WithdrawBalanceReturn');
}

/** PublishStorageDeals (4): [[ClientDealProposal…]]. */
export function encodePublishStorageDealsParams(deals: ClientDealProposal[]): Uint8Array {
  return encodeCbor([deals.map(clientDealProposalToTuple)]);
}

export function decodePublishStorageDealsParams(v: unknown): ClientDealProposal[] {
  const t = expectTuple(v, 1, 'PublishStorageDealsParams');
  return expectArray(t[0], 'PublishStorageDealsParams.Deals').map((d, i) =>
    clientDealProposalFromTuple(d, `Deals[${i}]`),
  );
}

export interface PublishStorageDealsReturn {
  /** New deal IDs, one per valid deal, in input order. */
  ids: number[];
  /** Indexes (into the params' deals) of the deals that were valid and published. */
  validDeals: number[];
}

export function encodePublishStorageDealsReturn(r: PublishStorageDealsReturn): Uint8Array {
  return encodeCbor([r.ids, BitField.fromNumbers(r.validDeals).encode()]);
}

export function decodePublishStorageDealsReturn(bytes: Uint8Array): PublishStorageDealsReturn {
  const t = expectTuple(decodeCbor(bytes), 2, 'PublishStorageDealsReturn');
  return {
    ids: expectArray(t[0], 'PublishStorageDealsReturn.IDs').map((d, i) => expectUint(d, `IDs[${i}]`)),
    validDeals: BitField.decode(expectBytes(t[1], 'PublishStorageDealsReturn.ValidDeals')).toArray(),
  };
}

/**
 * The payload of a market notification in a PieceActivationManifest (ProveCommitSectors3): the deal ID as a
 * bare CBOR unsigned integer (the market's sector_content_changed deserializes it as DealID).
 */
export function encodeDealIdPayload(dealId: number): Uint8Array {
  if (!Number.isSafeInteger(dealId) || dealId < 0)
    throw new EncodingError(`deal id must be an unsigned integer, got ${dealId}`);
  return encodeCbor(dealId);
}

export function decodeDealIdPayload(bytes: Uint8Array): number {
  return expectUint(decodeCbor(bytes), 'deal id');
}

export function encodeDealState(s: DealState): Uint8Array {
  return encodeCbor([s.sectorNumber, s.sectorStartEpoch, s.lastUpdatedEpoch, s.slashEpoch]);
}

export function decodeDealState(bytes: Uint8Array): DealState {
  const t = expectTuple(decodeCbor(bytes), 4, 'DealState');
  return {
    sectorNumber: expectUint(t[0], 'DealState.SectorNumber'),
    sectorStartEpoch: expectInt(t[1], 'DealState.SectorStartEpoch'),
    lastUpdatedEpoch: expectInt(t[2], 'DealState.LastUpdatedEpoch'),
    slashEpoch: expectInt(t[3], 'DealState.SlashEpoch'),
  };
}

/** GetBalance return: [Balance, Locked]. */
export function decodeGetBalanceReturn(bytes: Uint8Array): { balance: bigint; locked: bigint } {
  const t = expectTuple(decodeCbor(bytes), 2, 'GetBalanceReturn');
  return { balance: big(t[0], 'Balance'), locked: big(t[1], 'Locked') };
}

// --- SectorContentChanged (miner → market notification) ---

export interface PieceChange {
  data: CID;
  size: number;
  payload: Uint8Array;
}

export interface SectorChanges {
  sector: number;
  minimumCommitmentEpoch: number;
  added: PieceChange[];
}

/** SectorContentChangedParams (transparent Vec<SectorChanges>): [[Sector, MinimumCommitmentEpoch, [[Data, Size, Payload]…]]…]. */
export function encodeSectorContentChangedParams(sectors: SectorChanges[]): Uint8Array {
  return encodeCbor(
    sectors.map((s) => [s.sector, s.minimumCommitmentEpoch, s.added.map((p) => [p.data, p.size, p.payload])]),
  );
}

export function decodeSectorContentChangedParams(v: unknown): SectorChanges[] {
  return expectArray(v, 'SectorContentChangedParams').map((s, i) => {
    const t = expectTuple(s, 3, `Sectors[${i}]`);
    return {
      sector: expectUint(t[0], `Sectors[${i}].Sector`),
      minimumCommitmentEpoch: expectInt(t[1], `Sectors[${i}].MinimumCommitmentEpoch`),
      added: expectArray(t[2], `Sectors[${i}].Added`).map((p, j) => {
        const pt = expectTuple(p, 3, `Sectors[${i}].Added[${j}]`);
        return {
          data: expectCid(pt[0], 'Data'),
          size: expectUint(pt[1], 'Size'),
          payload: expectBytes(pt[2], 'Payload'),
        };
      }),
    };
  });
}

/** SectorContentChangedReturn: per sector the accepted flag of each added piece (SectorReturn and PieceReturn are transparent). */
export function encodeSectorContentChangedReturn(accepted: boolean[][]): Uint8Array {
  return encodeCbor(accepted);
}

export function decodeSectorContentChangedReturn(bytes: Uint8Array): boolean[][] {
  return expectArray(decodeCbor(bytes), 'SectorContentChangedReturn').map((s, i) =>
    expectArray(s, `Sectors[${i}].Added`).map((a, j) => expectBool(a, `Sectors[${i}].Added[${j}]`)),
  );
}
