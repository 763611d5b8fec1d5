/**
 * The JSON proposal the client CLI sends ↔ the market actor's CBOR (src/fil/actors/market.ts): what the client
 * signs, PublishStorageDeals' params, and the deal ids its return gives.
 */
import {
  type ClientDealProposal,
  type DealProposal,
  decodePublishStorageDealsReturn,
  encodeDealProposal,
  encodePublishStorageDealsParams,
  parseAddress,
  signatureFromJSON,
  toCid,
} from '../../fil/index.js';
import type { PublishCodec } from './chain.js';
import type { DealProposalJson, StorageDealProposal } from './client-api.js';

function bigint(s: string, what: string): bigint {
  if (!/^[0-9]{1,80}$/.test(s)) throw new Error(`${what} must be a non-negative decimal integer, got "${s}"`);
  return BigInt(s);
}

export function proposalFromJson(p: DealProposalJson): DealProposal {
  return {
    pieceCid: toCid(p.PieceCID['/'], 'PieceCID'),
    pieceSize: p.PieceSize,
    verifiedDeal: p.VerifiedDeal,
    client: parseAddress(p.Client),
    provider: parseAddress(p.Provider),
    label: p.Label,
    startEpoch: p.StartEpoch,
    endEpoch: p.EndEpoch,
    storagePricePerEpoch: bigint(p.StoragePricePerEpoch, 'StoragePricePerEpoch'),
    providerCollateral: bigint(p.ProviderCollateral, 'ProviderCollateral'),
    clientCollateral: bigint(p.ClientCollateral, 'ClientCollateral'),
  };
}

export function proposalToJson(p: DealProposal): DealProposalJson {
  return {
    PieceCID: { '/': p.pieceCid.toString() },
    PieceSize: p.pieceSize,
    VerifiedDeal: p.verifiedDeal,
    Client: p.client.toString(),
    Provider: p.provider.toString(),
    Label: typeof p.label === 'string' ? p.label : '',
    StartEpoch: p.startEpoch,
    EndEpoch: p.endEpoch,
    StoragePricePerEpoch: p.storagePricePerEpoch.toString(),
    ProviderCollateral: p.providerCollateral.toString(),
    ClientCollateral: p.clientCollateral.toString(),
  };
}

function clientDealProposal(d: StorageDealProposal): ClientDealProposal {
  return { proposal: proposalFromJson(d.Proposal), clientSignature: signatureFromJSON(d.ClientSignature) };
}

export const actorPublishCodec: PublishCodec = {
  proposalBytes: (p) => encodeDealProposal(proposalFromJson(p)),
  publishParams: (deals) => encodePublishStorageDealsParams(deals.map(clientDealProposal)),
  publishReturn: (ret) => decodePublishStorageDealsReturn(ret).ids,
};
