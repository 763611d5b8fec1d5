/**
 * Verified registry (f06) and datacap token (f07) state in the devnet's JSON state, as builtin-actors keeps them
 * (actors/verifreg/src/state.rs, actors/datacap): allocations per client, claims per provider (IDs from one
 * counter, starting at 1), and datacap balances in token units (10^18 per byte).
 */
import type { Allocation, VerifregClaim } from '../../fil/index.js';
import { toCid } from '../../fil/index.js';
import { DATACAP_ACTOR, type StateTree, VERIFREG_ACTOR } from '../state.js';

/** An allocation as stored: the piece CID as text. */
export type StoredAllocation = Omit<Allocation, 'data'> & { data: string };
export type StoredClaim = Omit<VerifregClaim, 'data'> & { data: string };

export interface VerifregState {
  /** NO_ALLOCATION_ID is 0; IDs start at 1. */
  nextAllocationId: number;
  /** client ID → allocation ID → allocation. */
  allocations: Record<string, Record<string, StoredAllocation>>;
  /** provider ID → claim ID (the allocation's ID) → claim. */
  claims: Record<string, Record<string, StoredClaim>>;
}

export interface DatacapState {
  /** actor ID → token units. */
  balances: Record<string, bigint>;
  supply: bigint;
}

const newVerifreg = (): VerifregState => ({ nextAllocationId: 1, allocations: {}, claims: {} });
const newDatacap = (): DatacapState => ({ balances: {}, supply: 0n });
const vrOk = (s: unknown): s is VerifregState => !!s && typeof (s as VerifregState).nextAllocationId === 'number';
const dcOk = (s: unknown): s is DatacapState => !!s && typeof (s as DatacapState).balances === 'object';

/** Chains made before these actors existed hold `{}`: read them as empty. */
export function verifregState(tree: StateTree): Readonly<VerifregState> {
  const s = tree.get(VERIFREG_ACTOR)?.state;
  return vrOk(s) ? s : newVerifreg();
}

export function verifregStateMut(tree: StateTree): VerifregState {
  const rec = tree.mut<VerifregState>(VERIFREG_ACTOR);
  if (!vrOk(rec.state)) rec.state = newVerifreg();
  return rec.state;
}

export function datacapState(tree: StateTree): Readonly<DatacapState> {
  const s = tree.get(DATACAP_ACTOR)?.state;
  return dcOk(s) ? s : newDatacap();
}

export function datacapStateMut(tree: StateTree): DatacapState {
  const rec = tree.mut<DatacapState>(DATACAP_ACTOR);
  if (!dcOk(rec.state)) rec.state = newDatacap();
  return rec.state;
}

export const datacapBalance = (tree: StateTree, id: number): bigint => datacapState(tree).balances[id] ?? 0n;

export function toAllocation(a: StoredAllocation): Allocation {
  return { ...a, data: toCid(a.data) };
}

export function toClaim(c: StoredClaim): VerifregClaim {
  return { ...c, data: toCid(c.data) };
}
