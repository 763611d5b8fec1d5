/**
 * Storage market actor (f05) state and its policy, as builtin-actors actors/market keeps them (state.rs, policy.rs),
 * in the devnet's JSON state: proposals with ID addresses, deal states, the pending-proposal set, escrow and locked
 * balance tables, pending verified allocation IDs, the deal-ops queue and the provider → sector → deals index.
 */
import {
  type DealProposal,
  type DealState,
  dealProposalCid,
  EPOCH_UNDEFINED,
  idAddress,
  toCid,
} from '../../fil/index.js';
import { illegalState, insufficientFunds } from '../exitcode.js';
import { EPOCHS_IN_DAY, EPOCHS_IN_YEAR } from '../policy.js';
import { MARKET_ACTOR, type StateTree } from '../state.js';

/** market policy deal_duration_bounds: 180 to 1278 days. */
export const DEAL_MIN_DURATION = 180 * EPOCHS_IN_DAY;
export const DEAL_MAX_DURATION = 1278 * EPOCHS_IN_DAY;
/** Deals are processed by cron at a fixed offset within each interval (policy DEAL_UPDATES_INTERVAL, 30 days). */
export const DEAL_UPDATES_INTERVAL = 30 * EPOCHS_IN_DAY;
/** TOTAL_FILECOIN: the upper bound of deal prices and collaterals. */
export const TOTAL_FILECOIN = 2_000_000_000n * 10n ** 18n;
/** Allocation terms of verified deals (runtime policy). */
export const MARKET_DEFAULT_ALLOCATION_TERM_BUFFER = 90 * EPOCHS_IN_DAY;
export const MINIMUM_VERIFIED_ALLOCATION_TERM = 180 * EPOCHS_IN_DAY;
export const MAXIMUM_VERIFIED_ALLOCATION_TERM = 5 * EPOCHS_IN_YEAR;
export const MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION = 60 * EPOCHS_IN_DAY;
/** The "small-deals" build of devnets (2k sectors): 256 bytes; mainnet has 1 MiB. */
export const MINIMUM_VERIFIED_ALLOCATION_SIZE = 256;

/** A published proposal as stored: client and provider as actor IDs (the actors normalise them), the CID as text. */
export interface StoredDeal {
  pieceCid: string;
  pieceSize: number;
  verifiedDeal: boolean;
  client: number;
  provider: number;
  label: string | Uint8Array;
  startEpoch: number;
  endEpoch: number;
  storagePricePerEpoch: bigint;
  providerCollateral: bigint;
  clientCollateral: bigint;
  /** CID of the normalised proposal (the pending-proposal key). */
  proposalCid: string;
}

export interface MarketState {
  nextDealId: number;
  proposals: Record<string, StoredDeal>;
  states: Record<string, DealState>;
  /** proposal CID → deal ID, until cron sees the deal activated or timed out. */
  pendingProposals: Record<string, number>;
  /** actor ID → escrow / locked (attoFIL). */
  escrow: Record<string, bigint>;
  locked: Record<string, bigint>;
  /** deal ID → verified allocation ID, until activation or timeout. */
  pendingDealAllocationIds: Record<string, number>;
  /** epoch → deal IDs cron looks at then. */
  dealOpsByEpoch: Record<string, number[]>;
  /** provider → sector → deal IDs activated in it. */
  sectorDeals: Record<string, Record<string, number[]>>;
  lastCron: number;
  totalClientLockedCollateral: bigint;
  totalProviderLockedCollateral: bigint;
  totalClientStorageFee: bigint;
}

export function newMarketState(): MarketState {
  return {
    // Deal 0 stays unused, as on a network whose genesis deals take the first IDs: damocles and droplet read
    // DealID 0 with AllocationID 0 as a zero filler piece, so a real deal 0 would be sealed as padding.
    nextDealId: 1,
    proposals: {},
    states: {},
    pendingProposals: {},
    escrow: {},
    locked: {},
    pendingDealAllocationIds: {},
    dealOpsByEpoch: {},
    sectorDeals: {},
    lastCron: EPOCH_UNDEFINED,
    totalClientLockedCollateral: 0n,
    totalProviderLockedCollateral: 0n,
    totalClientStorageFee: 0n,
  };
}

/** Chains made before the market existed hold `{}` for f05: read them as the empty state. */
const initialized = (s: unknown): s is MarketState => !!s && typeof (s as MarketState).nextDealId === 'number';

export function marketState(tree: StateTree): Readonly<MarketState> {
  const s = tree.get(MARKET_ACTOR)?.state;
  return initialized(s) ? s : newMarketState();
}

export function marketStateMut(tree: StateTree): MarketState {
  const rec = tree.mut<MarketState>(MARKET_ACTOR);
  if (!initialized(rec.state)) rec.state = newMarketState();
  return rec.state;
}

export function storedToProposal(d: StoredDeal): DealProposal {
  return {
    pieceCid: toCid(d.pieceCid),
    pieceSize: d.pieceSize,
    verifiedDeal: d.verifiedDeal,
    client: idAddress(d.client),
    provider: idAddress(d.provider),
    label: d.label,
    startEpoch: d.startEpoch,
    endEpoch: d.endEpoch,
    storagePricePerEpoch: d.storagePricePerEpoch,
    providerCollateral: d.providerCollateral,
    clientCollateral: d.clientCollateral,
  };
}

/** A normalised proposal (ID addresses) as stored. */
export function proposalToStored(p: DealProposal): StoredDeal {
  return {
    pieceCid: p.pieceCid.toString(),
    pieceSize: p.pieceSize,
    verifiedDeal: p.verifiedDeal,
    client: p.client.id(),
    provider: p.provider.id(),
    label: p.label,
    startEpoch: p.startEpoch,
    endEpoch: p.endEpoch,
    storagePricePerEpoch: p.storagePricePerEpoch,
    providerCollateral: p.providerCollateral,
    clientCollateral: p.clientCollateral,
    proposalCid: dealProposalCid(p).toString(),
  };
}

export const dealStorageFee = (d: StoredDeal): bigint => d.storagePricePerEpoch * BigInt(d.endEpoch - d.startEpoch);

// --- balance tables (state.rs) ---

export const escrowOf = (st: Readonly<MarketState>, id: number): bigint => st.escrow[id] ?? 0n;
export const lockedOf = (st: Readonly<MarketState>, id: number): bigint => st.locked[id] ?? 0n;

function setEntry(table: Record<string, bigint>, id: number, v: bigint): void {
  if (v === 0n) delete table[id];
  else table[id] = v;
}

/** balance_covered: escrow − locked ≥ amount. */
export function balanceCovered(st: Readonly<MarketState>, id: number, amount: bigint): boolean {
  return escrowOf(st, id) - lockedOf(st, id) >= amount;
}

export function addEscrow(st: MarketState, id: number, amount: bigint): void {
  setEntry(st.escrow, id, escrowOf(st, id) + amount);
}

/** withdraw_balance_from_escrow_table: takes min(amount, escrow − locked); returns what was taken. */
export function withdrawEscrow(st: MarketState, id: number, amount: bigint): bigint {
  const available = escrowOf(st, id) - lockedOf(st, id);
  if (available < 0n) throw illegalState(`negative available balance for f0${id}: ${available}`);
  const take = amount < available ? amount : available;
  setEntry(st.escrow, id, escrowOf(st, id) - take);
  return take;
}

/** maybe_lock_balance: locks `amount` of escrow, refusing if not covered. */
export function lockBalance(st: MarketState, id: number, amount: bigint): void {
  if (amount < 0n) throw illegalState(`cannot lock negative amount ${amount}`);
  const avail = escrowOf(st, id) - lockedOf(st, id);
  if (avail < amount) throw insufficientFunds(`insufficient balance for f0${id} to lock ${amount}: available ${avail}`);
  setEntry(st.locked, id, lockedOf(st, id) + amount);
}

export function unlockBalance(st: MarketState, id: number, amount: bigint): void {
  if (amount < 0n) throw illegalState(`unlock negative amount: ${amount}`);
  const l = lockedOf(st, id);
  if (l < amount) throw illegalState(`unlocking ${amount} from f0${id} with only ${l} locked`);
  setEntry(st.locked, id, l - amount);
}

/** slash_balance: removes `amount` from both escrow and locked (the caller burns it). */
export function slashBalance(st: MarketState, id: number, amount: bigint): void {
  unlockBalance(st, id, amount);
  const e = escrowOf(st, id);
  if (e < amount) throw illegalState(`slashing ${amount} from f0${id} with only ${e} in escrow`);
  setEntry(st.escrow, id, e - amount);
}

/** next_update_epoch: the deal's fixed offset within each DEAL_UPDATES_INTERVAL, no sooner than `earliest`. */
export function nextUpdateEpoch(id: number, interval: number, earliest: number): number {
  const offset = id % interval;
  const rem = (earliest - offset) % interval;
  const q = Math.trunc((earliest - offset) / interval);
  if (rem === 0 || earliest - offset < 0) return interval * q + offset;
  return interval * (q + 1) + offset;
}
