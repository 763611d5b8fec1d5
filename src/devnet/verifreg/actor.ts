/**
 * Datacap (f07) transfers and the verified registry's (f06) allocations and claims, following builtin-actors
 * actors/datacap (Transfer/TransferFrom with the FRC-46 receiver hook) and actors/verifreg (universal_receiver_hook,
 * claim_allocations). Other actors call these functions directly in the message's transaction layer.
 */
import { logger } from '../../common/log.js';
import {
  type Address,
  type AllocationRequest,
  type AllocationsResponse,
  DATACAP_TOKEN_PRECISION,
  DatacapMethod,
  type DatacapTransferReturn,
  decodeAllocationRequests,
  decodeDatacapTransferParams,
  decodeRemoveExpiredAllocationsParams,
  encodeAllocationsResponse,
  encodeBigInt,
  encodeCbor,
  encodeDatacapTransferReturn,
  encodeRemoveExpiredAllocationsReturn,
  frc42MethodNumber,
  type RemoveExpiredAllocationsParams,
  type RemoveExpiredAllocationsReturn,
  type SectorAllocationClaims,
  VerifregMethod,
} from '../../fil/index.js';
import * as codec from '../codec.js';
import { ActorError, ExitCode, forbidden, illegalArgument, insufficientFunds } from '../exitcode.js';
import {
  MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION,
  MAXIMUM_VERIFIED_ALLOCATION_TERM,
  MINIMUM_VERIFIED_ALLOCATION_SIZE,
  MINIMUM_VERIFIED_ALLOCATION_TERM,
} from '../market/state.js';
import type { Runtime } from '../runtime.js';
import { type StateTree, VERIFREG_ACTOR } from '../state.js';
import { datacapBalance, datacapStateMut, type StoredAllocation, verifregStateMut } from './state.js';

const log = logger('devnet.verifreg');

/** Adds datacap (token units) to an actor's balance: genesis grants, as verifreg AddVerifiedClient mints. */
export function mintDatacap(tree: StateTree, id: number, tokens: bigint): void {
  if (tokens <= 0n || tokens % DATACAP_TOKEN_PRECISION !== 0n) {
    throw illegalArgument(`datacap to mint must be a positive whole number of bytes, got ${tokens} token units`);
  }
  const st = datacapStateMut(tree);
  st.balances[id] = (st.balances[id] ?? 0n) + tokens;
  st.supply += tokens;
}

function burnDatacap(tree: StateTree, id: number, tokens: bigint): void {
  if (tokens === 0n) return;
  const st = datacapStateMut(tree);
  const have = st.balances[id] ?? 0n;
  if (have < tokens)
    throw new ActorError(ExitCode.ErrIllegalState, `burning ${tokens} datacap of f0${id}, has ${have}`);
  if (have === tokens) delete st.balances[id];
  else st.balances[id] = have - tokens;
  st.supply -= tokens;
}

/**
 * A datacap transfer from `from` to `to` by `operator` (the client itself for Transfer, the market for
 * TransferFrom, which verifreg lets spend any client's datacap). Only the verified registry may receive datacap;
 * its receiver hook turns the operator data into allocations, and its answer is the transfer's RecipientData.
 */
export function transferDatacap(
  tree: StateTree,
  epoch: number,
  from: number,
  to: Address,
  amount: bigint,
  operatorData: Uint8Array,
): DatacapTransferReturn {
  const toId = tree.resolve(to);
  if (toId === undefined) throw illegalArgument(`to must be ID address: cannot resolve ${to.toString()}`);
  if (toId !== VERIFREG_ACTOR && from !== VERIFREG_ACTOR) {
    throw forbidden(`transfer not allowed from f0${from} to f0${toId} (governor is f0${VERIFREG_ACTOR})`);
  }
  if (amount < 0n) throw illegalArgument(`negative transfer amount ${amount}`);
  if (amount % DATACAP_TOKEN_PRECISION !== 0n) {
    throw illegalArgument(`amount ${amount} is not a multiple of the granularity ${DATACAP_TOKEN_PRECISION}`);
  }
  const st = datacapStateMut(tree);
  const have = st.balances[from] ?? 0n;
  if (have < amount) {
    throw insufficientFunds(
      `datacap of f0${from} is ${have / DATACAP_TOKEN_PRECISION} bytes, the transfer needs ${amount / DATACAP_TOKEN_PRECISION}`,
    );
  }
  if (have === amount) delete st.balances[from];
  else st.balances[from] = have - amount;
  st.balances[toId] = (st.balances[toId] ?? 0n) + amount;
  const response = receiveAllocations(tree, epoch, from, amount, operatorData);
  const after = datacapStateMut(tree);
  return {
    fromBalance: after.balances[from] ?? 0n,
    toBalance: after.balances[toId] ?? 0n,
    recipientData: encodeAllocationsResponse(response),
  };
}

/** validate_new_allocation: size, term bounds and expiration (the reason names the rule). */
export function allocationRequestProblem(req: AllocationRequest, epoch: number): string | null {
  if (req.size < MINIMUM_VERIFIED_ALLOCATION_SIZE) {
    return `allocation size ${req.size} below minimum ${MINIMUM_VERIFIED_ALLOCATION_SIZE}`;
  }
  if (req.termMin < MINIMUM_VERIFIED_ALLOCATION_TERM) {
    return `allocation term min ${req.termMin} below limit ${MINIMUM_VERIFIED_ALLOCATION_TERM}`;
  }
  if (req.termMax > MAXIMUM_VERIFIED_ALLOCATION_TERM) {
    return `allocation term max ${req.termMax} above limit ${MAXIMUM_VERIFIED_ALLOCATION_TERM}`;
  }
  if (req.termMin > req.termMax) return `allocation term min ${req.termMin} exceeds term max ${req.termMax}`;
  if (req.expiration < epoch) {
    return `allocation expiration epoch ${req.expiration} has passed current epoch ${epoch}`;
  }
  const max = epoch + MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION;
  if (req.expiration > max) return `allocation expiration ${req.expiration} exceeds maximum ${max}`;
  return null;
}

/** verifreg universal_receiver_hook: datacap received from `client` becomes allocations, all or nothing. */
function receiveAllocations(
  tree: StateTree,
  epoch: number,
  client: number,
  amount: bigint,
  operatorData: Uint8Array,
): AllocationsResponse {
  let reqs: ReturnType<typeof decodeAllocationRequests>;
  try {
    reqs = decodeAllocationRequests(operatorData);
  } catch (e) {
    throw new ActorError(ExitCode.ErrSerialization, `failed to decode allocation requests: ${(e as Error).message}`);
  }
  if (reqs.extensions.length > 0) {
    throw illegalArgument('claim extensions are not supported by the devnet verified registry');
  }
  let total = 0n;
  for (const [i, req] of reqs.allocations.entries()) {
    const problem = allocationRequestProblem(req, epoch);
    if (problem) throw illegalArgument(`allocation request ${i}: ${problem}`);
    const rec = tree.get(req.provider);
    if (!rec) throw illegalArgument(`allocation request ${i}: no code CID for provider ${req.provider}`);
    if (rec.kind !== 'miner') {
      throw illegalArgument(
        `allocation request ${i}: allocation provider ${req.provider} must be a miner actor, was ${rec.kind}`,
      );
    }
    total += BigInt(req.size);
  }
  const received = amount / DATACAP_TOKEN_PRECISION;
  if (total !== received) {
    throw illegalArgument(`total allocation size ${total} must match data cap amount received ${received}`);
  }
  const st = verifregStateMut(tree);
  const ids: number[] = [];
  const mine = (st.allocations[client] ??= {});
  for (const req of reqs.allocations) {
    const id = st.nextAllocationId++;
    mine[id] = {
      client,
      provider: req.provider,
      data: req.data.toString(),
      size: req.size,
      termMin: req.termMin,
      termMax: req.termMax,
      expiration: req.expiration,
    } satisfies StoredAllocation;
    ids.push(id);
    log.info(
      { client, provider: req.provider, allocation: id, piece: req.data.toString(), size: req.size },
      'allocation created',
    );
  }
  const ok = { successCount: ids.length, failCodes: [] };
  return { allocationResults: ok, extensionResults: { successCount: 0, failCodes: [] }, newAllocations: ids };
}

export interface ClaimOutcome {
  /** Per sector: the claimed verified space, or the failure (exit code and reason). */
  sectors: ({ ok: true; claimedSpace: bigint } | { ok: false; code: number; reason: string })[];
}

/**
 * verifreg claim_allocations for `provider`: every claim of a sector must name a live allocation of this provider with
 * the same piece and size, unexpired, whose term fits the sector's remaining life; then the claims are recorded,
 * the allocations removed and the datacap burnt. A sector with a bad claim fails as a whole.
 */
export function claimAllocations(
  tree: StateTree,
  epoch: number,
  provider: number,
  sectors: SectorAllocationClaims[],
): ClaimOutcome {
  const out: ClaimOutcome = { sectors: [] };
  if (sectors.every((s) => s.claims.length === 0)) {
    for (const _ of sectors) out.sectors.push({ ok: true, claimedSpace: 0n });
    return out;
  }
  const st = verifregStateMut(tree);
  let burnt = 0n;
  for (const sector of sectors) {
    const problem = sectorClaimProblem(st.allocations, provider, epoch, sector);
    if (problem) {
      log.info({ provider, sector: sector.sector, reason: problem.reason }, 'claim refused');
      out.sectors.push({ ok: false, ...problem });
      continue;
    }
    let space = 0n;
    for (const c of sector.claims) {
      const a = st.allocations[c.client]![c.allocationId]!;
      const claims = (st.claims[provider] ??= {});
      if (claims[c.allocationId]) throw illegalArgument(`claim ${c.allocationId} already exists`);
      claims[c.allocationId] = {
        provider,
        client: a.client,
        data: a.data,
        size: a.size,
        termMin: a.termMin,
        termMax: a.termMax,
        termStart: epoch,
        sector: sector.sector,
      };
      delete st.allocations[c.client]![c.allocationId];
      if (Object.keys(st.allocations[c.client]!).length === 0) delete st.allocations[c.client];
      space += BigInt(a.size);
      log.info({ provider, client: a.client, allocation: c.allocationId, sector: sector.sector }, 'allocation claimed');
    }
    burnt += space;
    out.sectors.push({ ok: true, claimedSpace: space });
  }
  burnDatacap(tree, VERIFREG_ACTOR, burnt * DATACAP_TOKEN_PRECISION);
  return out;
}

function sectorClaimProblem(
  allocations: Record<string, Record<string, StoredAllocation>>,
  provider: number,
  epoch: number,
  sector: SectorAllocationClaims,
): { code: number; reason: string } | null {
  const seen = new Set<string>();
  for (const c of sector.claims) {
    const key = `${c.client}/${c.allocationId}`;
    const a = allocations[c.client]?.[c.allocationId];
    if (!a || seen.has(key)) {
      return { code: ExitCode.ErrNotFound, reason: `no allocation ${c.allocationId} for client f0${c.client}` };
    }
    seen.add(key);
    const lifetime = sector.expiry - epoch;
    const why =
      a.provider !== provider
        ? `allocation ${c.allocationId} is for provider f0${a.provider}, not f0${provider}`
        : a.data !== c.data.toString()
          ? `allocation ${c.allocationId} is for piece ${a.data}, the sector activates ${c.data.toString()}`
          : a.size !== c.size
            ? `allocation ${c.allocationId} has size ${a.size}, the piece has ${c.size}`
            : epoch > a.expiration
              ? `allocation ${c.allocationId} expired at ${a.expiration}`
              : lifetime < a.termMin
                ? `sector ${sector.sector} lives ${lifetime} epochs, allocation ${c.allocationId} needs at least ${a.termMin}`
                : lifetime > a.termMax
                  ? `sector ${sector.sector} lives ${lifetime} epochs, allocation ${c.allocationId} allows at most ${a.termMax}`
                  : null;
    if (why) return { code: ExitCode.ErrForbidden, reason: `failed to claim: ${why}` };
  }
  return null;
}

/** Messages to f07. */
export function invokeDatacap(rt: Runtime, method: number, params: Uint8Array): Uint8Array {
  const p = <T>(what: string, fn: (v: unknown) => T) => codec.decodeParams(what, params, fn);
  switch (method) {
    case DatacapMethod.TransferExported: {
      const t = p('TransferParams', decodeDatacapTransferParams);
      return encodeDatacapTransferReturn(transferDatacap(rt.tree, rt.epoch, rt.caller, t.to, t.amount, t.operatorData));
    }
    case DatacapMethod.BalanceExported: {
      const a = p('BalanceParams', (v) => codec.decodeAddressParam(v, 'Owner'));
      const id = rt.tree.resolve(a);
      const bal = id === undefined ? 0n : datacapBalance(rt.tree, id);
      return encodeCbor(encodeBigInt(bal));
    }
    default:
      throw new ActorError(ExitCode.ErrUnhandledMessage, `datacap method ${method} is not supported by the devnet`);
  }
}

/**
 * verifreg remove_expired_allocations (anyone may call): the named allocations of `client` (all its expired ones when
 * none are named) that are past their expiration are removed and their datacap goes back to the client. A named
 * allocation that is missing fails with 17, one not yet expired with 18.
 */
export function removeExpiredAllocations(
  tree: StateTree,
  epoch: number,
  p: RemoveExpiredAllocationsParams,
): RemoveExpiredAllocationsReturn {
  const st = verifregStateMut(tree);
  const mine = st.allocations[p.client] ?? {};
  const expired = (id: number) => mine[id] !== undefined && epoch > mine[id]!.expiration;
  let considered: number[];
  const results = { successCount: 0, failCodes: [] as { idx: number; code: number }[] };
  const remove: number[] = [];
  if (p.allocationIds.length === 0) {
    considered = Object.keys(mine)
      .map(Number)
      .filter(expired)
      .sort((a, b) => a - b);
    remove.push(...considered);
    results.successCount = considered.length;
  } else {
    considered = p.allocationIds.slice();
    for (const [i, id] of p.allocationIds.entries()) {
      if (mine[id] === undefined) results.failCodes.push({ idx: i, code: ExitCode.ErrNotFound });
      else if (!expired(id)) results.failCodes.push({ idx: i, code: ExitCode.ErrForbidden });
      else {
        results.successCount++;
        remove.push(id);
      }
    }
  }
  let recovered = 0n;
  for (const id of remove) {
    recovered += BigInt(mine[id]!.size);
    delete mine[id];
  }
  if (st.allocations[p.client] && Object.keys(st.allocations[p.client]!).length === 0) delete st.allocations[p.client];
  if (recovered > 0n) {
    const dc = datacapStateMut(tree);
    const tokens = recovered * DATACAP_TOKEN_PRECISION;
    const have = dc.balances[VERIFREG_ACTOR] ?? 0n;
    if (have < tokens) throw new ActorError(ExitCode.ErrIllegalState, `verifreg holds ${have} datacap, owes ${tokens}`);
    if (have === tokens) delete dc.balances[VERIFREG_ACTOR];
    else dc.balances[VERIFREG_ACTOR] = have - tokens;
    dc.balances[p.client] = (dc.balances[p.client] ?? 0n) + tokens;
    log.info({ client: p.client, allocations: remove, bytes: recovered.toString() }, 'expired allocations removed');
  }
  return { considered, results, datacapRecovered: recovered };
}

/** Messages to f06: RemoveExpiredAllocations; allocations come from datacap transfers, claims from miner activation. */
export function invokeVerifreg(rt: Runtime, method: number, params: Uint8Array): Uint8Array {
  if (method === VerifregMethod.RemoveExpiredAllocations || method === REMOVE_EXPIRED_ALLOCATIONS_EXPORTED) {
    const p = codec.decodeParams('RemoveExpiredAllocationsParams', params, decodeRemoveExpiredAllocationsParams);
    return encodeRemoveExpiredAllocationsReturn(removeExpiredAllocations(rt.tree, rt.epoch, p));
  }
  throw new ActorError(ExitCode.ErrUnhandledMessage, `verifreg method ${method} is not supported by the devnet`);
}

/** frc42 method_hash("RemoveExpiredAllocations"). */
const REMOVE_EXPIRED_ALLOCATIONS_EXPORTED = frc42MethodNumber('RemoveExpiredAllocations');
