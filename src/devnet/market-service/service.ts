/**
 * The devnet's market (droplet stand-in): `VENUS_MARKET.*` for sealers (assignment, release, market events),
 * `DevnetMarket.*` for the client CLI (direct-deal import, builtin proposals, deal list, retrieval), and the piece
 * store at /resource — all on the devnet's port with its tokens. docs/deals-market.md describes it.
 */
import type Database from 'better-sqlite3';
import { z } from 'zod';
import type { GetDealSpec } from '../../api/market.js';
import { MarketMethods } from '../../api/market.js';
import { Address, Int, List, Name, Str, Uint } from '../../api/schema.js';
import { logger } from '../../common/log.js';
import { cborCid, parseAddress, signatureFromJSON, verifySignature } from '../../fil/index.js';
import { isValidPaddedPieceSize, unpaddedPieceSize } from '../../proofs/index.js';
import { type ApiImpl, defineApi, type RpcServer, rpcError, withParams } from '../../rpc/index.js';
import { DealAssigner, minerIdOf } from './assigner.js';
import type { MarketChain, MarketMessager, PublishCodec } from './chain.js';
import { type ClientDeal, DevnetMarketAPI, type DirectDealImport, type StorageDealProposal } from './client-api.js';
import { type DealRow, DealStore } from './db.js';
import { MarketEvents } from './events.js';
import { PieceStore, type PieceStoreError, parsePieceCid, pieceRoutes } from './pieces.js';
import { Retrieval } from './retrieval.js';
import { DealTracker } from './tracker.js';

const log = logger('devnet.market');

/** The market actor (f05) and its PublishStorageDeals method number. */
export const MARKET_ACTOR_ADDRESS = 't05';
export const PUBLISH_STORAGE_DEALS = 4;

const GetDealSpecSchema = z
  .object({
    MaxPiece: Uint.optional(),
    MaxPieceSize: Uint.optional(),
    MinPiece: Uint.optional(),
    MinPieceSize: Uint.optional(),
    MinUsedSpace: Uint.optional(),
    StartEpoch: Int.optional(),
    EndEpoch: Int.optional(),
    SectorExpiration: Int.nullable().optional(),
  })
  .nullable();

/** VENUS_MARKET with the server's param checks (the wire shapes of src/api/market.ts). */
export const CheckedMarketApi = defineApi(
  'VENUS_MARKET',
  withParams(MarketMethods, {
    AssignDeals: { sid: z.object({ Miner: Uint, Number: Uint }), sectorSize: Uint, spec: GetDealSpecSchema },
    ReleaseDeals: { miner: Address, deals: List(Uint, 10_000) },
    ReleaseDirectDeals: { miner: Address, allocationIds: List(Uint, 10_000) },
    ListenMarketEvent: { policy: z.object({ Miner: Address }) },
    ResponseMarketEvent: { resp: z.object({ ID: Name(128), Payload: Str(1 << 20).nullable(), Error: Str(64 * 1024) }) },
  }),
);

export interface MarketServiceOptions {
  /** the devnet's database */
  db: Database.Database;
  /** where pieces live: <devnet home>/market/pieces */
  piecesDir: string;
  chain: MarketChain;
  /** the largest payload the piece store takes (the unpadded size of the largest sector) */
  maxPieceBytes: number;
  /** builtin-market deals: PublishStorageDeals through the messager, with the chain's codecs */
  messager?: MarketMessager;
  codec?: PublishCodec;
  /** how long a sealer has to unseal a piece (default 30 minutes) */
  unsealTimeoutMs?: number;
}

function normalizeSpec(s: Partial<GetDealSpec> | null): GetDealSpec | null {
  if (!s) return null;
  return {
    MaxPiece: s.MaxPiece ?? 0,
    MaxPieceSize: s.MaxPieceSize ?? 0,
    MinPiece: s.MinPiece ?? 0,
    MinPieceSize: s.MinPieceSize ?? 0,
    MinUsedSpace: s.MinUsedSpace ?? 0,
    StartEpoch: s.StartEpoch ?? 0,
    EndEpoch: s.EndEpoch ?? 0,
    SectorExpiration: s.SectorExpiration ?? null,
  };
}

export function clientDeal(d: DealRow): ClientDeal {
  return {
    Kind: d.kind,
    DealID: d.deal_id,
    AllocationID: d.allocation_id,
    ProposalCid: d.proposal_cid,
    PieceCID: d.piece_cid,
    PieceSize: d.piece_size,
    PayloadSize: d.payload_size,
    Client: d.client,
    Provider: d.provider,
    Verified: d.verified === 1,
    State: d.state,
    Sector: d.sector,
    Offset: d.offset,
    StartEpoch: d.start_epoch,
    EndEpoch: d.end_epoch,
    ActivationEpoch: d.activation_epoch,
    Reason: d.reason,
  };
}

export class MarketService {
  readonly store: DealStore;
  readonly assigner: DealAssigner;
  readonly events = new MarketEvents();
  readonly pieces: PieceStore;
  readonly tracker: DealTracker;
  readonly retrieval: Retrieval;

  constructor(private readonly o: MarketServiceOptions) {
    this.store = new DealStore(o.db);
    this.assigner = new DealAssigner(this.store, () => o.chain.height());
    this.pieces = new PieceStore({
      dir: o.piecesDir,
      maxBytes: o.maxPieceBytes,
      pieceOf: (cid) => {
        const d = this.store.byPiece(cid)[0];
        return d && { pieceSize: d.piece_size, payloadSize: d.payload_size };
      },
      onStored: (cid) => this.retrieval.stored(cid),
    });
    this.tracker = new DealTracker(this.store, o.chain, o.messager, o.codec);
    this.retrieval = new Retrieval(this.store, this.pieces, this.events, o.unsealTimeoutMs ?? 30 * 60_000);
  }

  /** Serves both APIs and /resource on the devnet's server. */
  mount(server: RpcServer): void {
    server.register(CheckedMarketApi, this.marketImpl());
    server.register(DevnetMarketAPI, this.clientImpl());
    const routes = pieceRoutes(this.pieces, (req) => server.authenticate(req));
    const opts = { maxBodyBytes: this.o.maxPieceBytes };
    server.route('GET', '/resource', routes.get);
    server.route('HEAD', '/resource', routes.get);
    server.route('PUT', '/resource', routes.put, opts);
  }

  /** A new head: follow the deals on chain. */
  onHead(): Promise<void> {
    return this.tracker.kick();
  }

  /** Ends the market events and waits for a running tracking pass. */
  close(): Promise<void> {
    this.events.close();
    return this.tracker.stop();
  }

  marketImpl(): ApiImpl<typeof CheckedMarketApi> {
    return {
      AssignDeals: (sid, sectorSize, spec) => this.assigner.assign(sid, sectorSize, normalizeSpec(spec)),
      ReleaseDeals: (miner, deals) => this.assigner.releaseDeals(miner, deals ?? []),
      ReleaseDirectDeals: (miner, ids) => this.assigner.releaseDirectDeals(miner, ids ?? []),
      // read permission as droplet declares them, but never anonymous: whoever listens gets the miner's unseal
      // requests, and whoever answers ends them
      ListenMarketEvent: (policy, ctx) => {
        if (!ctx.token) throw rpcError('ListenMarketEvent needs a token: send "Authorization: Bearer <token>"', 401);
        return this.events.listen(policy, ctx);
      },
      ResponseMarketEvent: (resp, ctx) => {
        if (!ctx.token) throw rpcError('ResponseMarketEvent needs a token: send "Authorization: Bearer <token>"', 401);
        return this.events.respond(resp);
      },
    };
  }

  clientImpl(): ApiImpl<typeof DevnetMarketAPI> {
    return {
      ImportDirectDeal: (deal) => this.importDirectDeal(deal),
      ProposeStorageDeal: (deal) => this.proposeStorageDeal(deal),
      ListDeals: () => this.store.all().map(clientDeal),
      RetrievePiece: (cid, unseal) => this.retrieval.status(this.pieceCid(cid), unseal),
    };
  }

  private pieceCid(s: string): string {
    try {
      return parsePieceCid(s);
    } catch (e) {
      throw rpcError((e as PieceStoreError).message);
    }
  }

  /** Checks what a client says about a piece against the piece store; returns the canonical CID. */
  private checkPiece(cidJson: { '/': string }, pieceSize: number, payloadSize: number): string {
    const cid = this.pieceCid(cidJson['/']);
    if (!isValidPaddedPieceSize(pieceSize)) throw rpcError(`PieceSize must be a power of two ≥ 128, got ${pieceSize}`);
    if (payloadSize < 1 || payloadSize > unpaddedPieceSize(pieceSize))
      throw rpcError(
        `PayloadSize ${payloadSize} does not fit a piece of ${pieceSize} bytes (1..${unpaddedPieceSize(pieceSize)})`,
      );
    const stored = this.pieces.size(cid);
    if (stored === undefined)
      throw rpcError(`piece ${cid} is not in the piece store: PUT /resource?resource-id=${cid} first`);
    if (stored !== payloadSize)
      throw rpcError(`piece ${cid} holds ${stored} bytes in the piece store, not ${payloadSize}`);
    return cid;
  }

  private checkEpochs(start: number, end: number): void {
    const h = this.o.chain.height();
    if (start <= h) throw rpcError(`StartEpoch ${start} has passed (head ${h})`);
    if (end <= start) throw rpcError(`EndEpoch ${end} must be after StartEpoch ${start}`);
  }

  async importDirectDeal(p: DirectDealImport): Promise<ClientDeal> {
    const providerId = minerIdOf(p.Provider, 'Provider');
    const cid = this.checkPiece(p.PieceCID, p.PieceSize, p.PayloadSize);
    const existing = this.store.byAllocation(p.AllocationID);
    if (existing) {
      if (existing.piece_cid !== cid)
        throw rpcError(`allocation ${p.AllocationID} is already imported for ${existing.piece_cid}`);
      return clientDeal(existing);
    }
    this.checkEpochs(p.StartEpoch, p.EndEpoch);
    const a = await this.o.chain.allocation(p.Client, p.AllocationID);
    if (!a) throw rpcError(`client ${p.Client} has no allocation ${p.AllocationID} on chain`);
    if (a.Provider !== providerId)
      throw rpcError(`allocation ${p.AllocationID} is for t0${a.Provider}, not ${p.Provider}`);
    if (a.Data['/'] !== cid) throw rpcError(`allocation ${p.AllocationID} is for piece ${a.Data['/']}, not ${cid}`);
    if (a.Size !== p.PieceSize)
      throw rpcError(`allocation ${p.AllocationID} is for ${a.Size} bytes, not ${p.PieceSize}`);
    if (a.Expiration <= this.o.chain.height())
      throw rpcError(`allocation ${p.AllocationID} expired at ${a.Expiration}`);
    const row = this.store.insert({
      kind: 'ddo',
      deal_id: 0,
      allocation_id: p.AllocationID,
      proposal_cid: null,
      publish_cid: null,
      msg_id: null,
      proposal: null,
      piece_cid: cid,
      piece_size: p.PieceSize,
      payload_size: p.PayloadSize,
      client: p.Client,
      provider: `t0${providerId}`,
      provider_id: providerId,
      verified: 1,
      start_epoch: p.StartEpoch,
      end_epoch: p.EndEpoch,
      term_min: a.TermMin,
      term_max: a.TermMax,
      alloc_expiration: a.Expiration,
      state: 'waiting',
      sector: null,
      offset: null,
      activation_epoch: null,
      reason: null,
    });
    log.info(
      { allocation: p.AllocationID, piece: cid, provider: row.provider, client: p.Client },
      'direct deal imported',
    );
    return clientDeal(row);
  }

  async proposeStorageDeal(p: StorageDealProposal): Promise<ClientDeal> {
    const { messager, codec } = this.o;
    if (!messager || !codec) throw rpcError('this market cannot publish builtin-market deals (no messager or codecs)');
    const prop = p.Proposal;
    const providerId = minerIdOf(prop.Provider, 'Provider');
    const cid = this.checkPiece(prop.PieceCID, prop.PieceSize, p.PayloadSize);
    let client: ReturnType<typeof parseAddress>;
    try {
      client = parseAddress(prop.Client);
    } catch (e) {
      throw rpcError(`Client: ${(e as Error).message}`);
    }
    if (client.protocol === 0) throw rpcError('Client must be the account key address (t1…/t3…) that signed');
    let bytes: Uint8Array;
    try {
      bytes = codec.proposalBytes(prop);
    } catch (e) {
      throw rpcError(`bad proposal: ${(e as Error).message}`);
    }
    const proposalCid = cborCid(bytes).toString();
    const existing = this.store.byProposal(proposalCid);
    if (existing) return clientDeal(existing);
    this.checkEpochs(prop.StartEpoch, prop.EndEpoch);
    let sig: ReturnType<typeof signatureFromJSON>;
    try {
      sig = signatureFromJSON(p.ClientSignature, 'ClientSignature');
    } catch (e) {
      throw rpcError((e as Error).message);
    }
    if (!verifySignature(sig, client, bytes)) throw rpcError(`the client signature does not verify for ${prop.Client}`);
    const worker = await this.o.chain.minerWorker(`t0${providerId}`).catch((e: Error) => {
      throw rpcError(`provider ${prop.Provider}: ${e.message}`);
    });
    const msgId = `market-publish-${proposalCid}`;
    messager.push(msgId, worker, MARKET_ACTOR_ADDRESS, PUBLISH_STORAGE_DEALS, codec.publishParams([p]));
    const row = this.store.insert({
      kind: 'market',
      deal_id: 0,
      allocation_id: 0,
      proposal_cid: proposalCid,
      publish_cid: null,
      msg_id: msgId,
      proposal: JSON.stringify(p),
      piece_cid: cid,
      piece_size: prop.PieceSize,
      payload_size: p.PayloadSize,
      client: prop.Client,
      provider: `t0${providerId}`,
      provider_id: providerId,
      verified: prop.VerifiedDeal ? 1 : 0,
      start_epoch: prop.StartEpoch,
      end_epoch: prop.EndEpoch,
      term_min: null,
      term_max: null,
      alloc_expiration: null,
      state: 'publishing',
      sector: null,
      offset: null,
      activation_epoch: null,
      reason: null,
    });
    log.info({ proposal: proposalCid, piece: cid, provider: row.provider, worker }, 'publishing storage deal');
    return clientDeal(row);
  }
}
