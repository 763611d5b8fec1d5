/**
 * A deal sector's PieceActivationManifests for ProveCommitSectors3, as damocles' modules/util/piece/piece.go builds
 * them (docs/deals-manager.md §Messages): one per deal piece, in the sector's piece order; pledge fillers have none
 * (they still count in the CommD the PreCommit declared).
 *
 * - direct (DDO) deal: VerifiedAllocationKey{Client: the client's actor id, ID: its AllocationID}, no notification;
 * - builtin-market deal: a notification to the market actor (f05) with CBOR(deal id), plus a VerifiedAllocationKey
 *   when the chain has an allocation for the pending deal (StateGetAllocationIdForPendingDeal ≠ 0).
 *
 * The chain recomputes the sector's CommD from the manifest's pieces, padding with zero pieces only to align each
 * piece and to fill the end. A market's fillers are exactly that padding, so leaving them out is safe — unless a
 * filler stands where no padding would (a deal dropped from the sector at AcquireDeals left one in its place): then
 * every piece gets a manifest entry, fillers without key or notification (as Lotus sends them), so the chain's
 * CommD is the one the PreCommit declared.
 */
import { FullNodeDealAPI, type TipSetKey } from '../../api/full.js';
import { type SectorState, sectorName } from '../../api/sealer.js';
import { bytesEqual, CID, cidToCommP, idAddress } from '../../fil/index.js';
import { computeCommD, sealProof } from '../../proofs/index.js';
import { type ApiClient, bindApi, type RpcClient } from '../../rpc/index.js';
import type { ChainAPI } from '../chain.js';
import { encodeDealIdNotifyPayload, MARKET_ACTOR_ID, type PieceActivation } from '../params.js';
import { dealName, dealPieces } from './lifetime.js';

export type DealChainAPI = Pick<ApiClient<typeof FullNodeDealAPI>, 'StateGetAllocationIdForPendingDeal'>;

/** The chain client's StateGetAllocationIdForPendingDeal: its own, or bound to its RPC connection; else undefined. */
export function dealChainOf(chain: unknown): DealChainAPI | undefined {
  const c = chain as Partial<DealChainAPI> & { rpc?: RpcClient };
  if (typeof c?.StateGetAllocationIdForPendingDeal === 'function') return c as DealChainAPI;
  if (c?.rpc && typeof c.rpc.call === 'function') return bindApi(FullNodeDealAPI, c.rpc);
  return undefined;
}

/** The actor id an ID address names ("f01234" → 1234). */
function actorId(addr: string, what: string): number {
  const m = /^[ft]0(\d{1,19})$/.exec(addr);
  if (!m) throw new Error(`${what}: ${addr} is not an ID address`);
  return Number(m[1]);
}

export async function activationPieces(
  s: SectorState,
  chain: Pick<ChainAPI, 'StateLookupID'>,
  dealChain: DealChainAPI | undefined,
  tsk: TipSetKey,
  clients: Map<string, number> = new Map(),
): Promise<PieceActivation[]> {
  const name = sectorName(s.ID);
  const clientId = async (client: string | undefined, what: string): Promise<number> => {
    if (!client) throw new Error(`${name}: ${what} has no client`);
    const known = clients.get(client);
    if (known !== undefined) return known;
    const id = actorId(await chain.StateLookupID(client, tsk), `${name}: ${what}'s client ${client}`);
    clients.set(client, id);
    return id;
  };
  const out: PieceActivation[] = [];
  const all = s.Pieces ?? [];
  const deals = dealPieces(all);
  const commDOf = (ps: typeof all) =>
    computeCommD(
      sealProof(s.SectorType).sectorSize,
      ps.map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) })),
    );
  const withFillers = deals.length > 0 && !bytesEqual(commDOf(deals), commDOf(all));
  for (const p of withFillers ? all : deals) {
    if (!deals.includes(p)) {
      out.push({ cid: CID.parse(p.Piece.PieceCID['/']), size: p.Piece.Size, verifiedAllocationKey: null, notify: [] });
      continue;
    }
    const d = p.DealInfo!;
    const what = dealName(p);
    const piece = { cid: CID.parse(p.Piece.PieceCID['/']), size: p.Piece.Size };
    if (!d.IsBuiltinMarket) {
      out.push({
        ...piece,
        verifiedAllocationKey: { client: await clientId(d.Client, what), id: d.AllocationID },
        notify: [],
      });
      continue;
    }
    if (!dealChain)
      throw new Error(`${name}: ${what} needs Filecoin.StateGetAllocationIdForPendingDeal, which the chain node lacks`);
    const alloc = await dealChain.StateGetAllocationIdForPendingDeal(d.DealID, tsk);
    out.push({
      ...piece,
      verifiedAllocationKey: alloc > 0 ? { client: await clientId(d.Client, what), id: alloc } : null,
      notify: [{ address: idAddress(MARKET_ACTOR_ID), payload: encodeDealIdNotifyPayload(d.DealID) }],
    });
  }
  return out;
}
