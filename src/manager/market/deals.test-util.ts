/** The market answers the deal tests share: droplet's layout for a 2KiB sector. */
import type { MarketDealInfoV2 } from '../../api/market.js';
import { commPToCid } from '../../fil/index.js';
import { commPOfBuffer, zeroCommitment } from '../../proofs/index.js';

const cidOf = (commP: Uint8Array) => ({ '/': commPToCid(commP).toString() });
export const DDO_PIECE = cidOf(commPOfBuffer(Buffer.alloc(400, 1), 512).commP);
export const MARKET_PIECE = cidOf(commPOfBuffer(Buffer.alloc(900, 2), 1024).commP);
export const FILLER_512 = cidOf(zeroCommitment(512));

/** droplet's layout for a 2KiB sector: a DDO deal, a zero filler, a builtin-market deal. */
export function answer(o: { ddoStart?: number; marketEnd?: number } = {}): MarketDealInfoV2[] {
  return [
    {
      DealID: 0,
      PublishCid: null,
      AllocationID: 7,
      PieceCID: DDO_PIECE,
      PieceSize: 512,
      Client: 't01001',
      Provider: 't01000',
      Offset: 0,
      Length: 512,
      PayloadSize: 400,
      StartEpoch: o.ddoStart ?? 5000,
      EndEpoch: 650_000,
    },
    {
      DealID: 0,
      PublishCid: null,
      AllocationID: 0,
      PieceCID: FILLER_512,
      PieceSize: 512,
      Client: '',
      Provider: '',
      Offset: 512,
      Length: 512,
      PayloadSize: 508,
      StartEpoch: 0,
      EndEpoch: 0,
    },
    {
      DealID: 12,
      PublishCid: { '/': 'bafy2bzacea3wsdh6y3a36tb3skempjoxqpuyompjbmfeyf34fi3uy6uue42v4' },
      AllocationID: 0,
      PieceCID: MARKET_PIECE,
      PieceSize: 1024,
      Client: 't01002',
      Provider: 't01000',
      Offset: 1024,
      Length: 1024,
      PayloadSize: 900,
      StartEpoch: 6000,
      EndEpoch: o.marketEnd ?? 700_000,
    },
  ];
}
