/**
 * Market actor (f05) escrow and deal publication, following builtin-actors actors/market/src/lib.rs: AddBalance,
 * WithdrawBalance and PublishStorageDeals (per-deal validation that drops invalid deals, client signature checked
 * with the client account's key, balances locked, verified deals turned into verifreg allocations from the
 * client's datacap). docs/deals-chain.md describes the rules.
 */
import { logger } from '../../common/log.js';
import {
  type Address,
  type AllocationRequest,
  addressFromBytes,
  type ClientDealProposal,
  DATACAP_TOKEN_PRECISION,
  DEAL_MAX_LABEL_SIZE,
  type DealProposal,
  dealClientBalanceRequirement,
  dealDuration,
  dealProposalCid,
  decodeAllocationsResponse,
  encodeAllocationRequests,
  encodeDealProposal,
  idAddress,
  isPieceCid,
  type PublishStorageDealsReturn,
  paddedPieceSizeProblem,
  verifySignature,
} from '../../fil/index.js';
import { forbidden, illegalArgument, illegalState, notFound } from '../exitcode.js';
import type { MinerState } from '../miner.js';
import type { Runtime } from '../runtime.js';
import { type StateTree, VERIFREG_ACTOR } from '../state.js';
import { transferDatacap } from '../verifreg/actor.js';
import { datacapBalance } from '../verifreg/state.js';
import {
  addEscrow,
  balanceCovered,
  DEAL_MAX_DURATION,
  DEAL_MIN_DURATION,
  DEAL_UPDATES_INTERVAL,
  lockBalance,
  MARKET_DEFAULT_ALLOCATION_TERM_BUFFER,
  MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION,
  MAXIMUM_VERIFIED_ALLOCATION_TERM,
  marketState,
  marketStateMut,
  nextUpdateEpoch,
  proposalToStored,
  TOTAL_FILECOIN,
  withdrawEscrow,
} from './state.js';

const log = logger('devnet.market');

/** The key address behind an account actor (the signer of its deal proposals). */
function accountKeyOf(tree: StateTree, id: number): Address | undefined {
  const rec = tree.get(id);
  if (rec?.kind !== 'account') return undefined;
  const hex = (rec.state as { address?: string }).address;
  return hex ? addressFromBytes(Buffer.from(hex, 'hex')) : undefined;
}

/** escrow_address: the nominal ID, who receives withdrawals and who may withdraw (a miner's owner/worker). */
function escrowAddress(tree: StateTree, a: Address): { nominal: number; recipient: number; approved: number[] } {
  const nominal = tree.resolve(a);
  if (nominal === undefined) throw illegalArgument(`failed to resolve address ${a.toString()}`);
  const rec = tree.get(nominal)!;
  if (rec.kind === 'miner') {
    const info = (rec.state as MinerState).info;
    return { nominal, recipient: info.owner, approved: [info.owner, info.worker] };
  }
  return { nominal, recipient: nominal, approved: [nominal] };
}

/** AddBalance (2): the value sent is added to the escrow of the given client or provider. */
export function addBalance(rt: Runtime, who: Address): void {
  if (rt.valueReceived <= 0n) {
    throw illegalArgument(`balance to add must be greater than zero was: ${rt.valueReceived}`);
  }
  const { nominal } = escrowAddress(rt.tree, who);
  addEscrow(marketStateMut(rt.tree), nominal, rt.valueReceived);
}

/** WithdrawBalance (3): up to `amount` of the unlocked escrow goes to the client, or to a provider's owner. */
export function withdrawBalance(rt: Runtime, who: Address, amount: bigint): bigint {
  if (amount < 0n) throw illegalArgument(`negative amount: ${amount}`);
  const { nominal, recipient, approved } = escrowAddress(rt.tree, who);
  if (!approved.includes(rt.caller)) {
    throw forbidden(
      `caller f0${rt.caller} may not withdraw the escrow of f0${nominal} (allowed: ${approved.map((a) => `f0${a}`).join(', ')})`,
    );
  }
  const taken = withdrawEscrow(marketStateMut(rt.tree), nominal, amount);
  rt.tree.transfer(rt.receiver, recipient, taken);
  return taken;
}

/** validate_deal (stateless checks); the reason names the rule broken, or null when valid. */
function dealProblem(rt: Runtime, d: ClientDealProposal): string | null {
  const p = d.proposal;
  const clientId = rt.tree.resolve(p.client);
  const key = clientId === undefined ? undefined : accountKeyOf(rt.tree, clientId);
  if (!key) return `proposal authentication failed: client ${p.client.toString()} is not an account`;
  if (!verifySignature(d.clientSignature, key, encodeDealProposal(p))) {
    return `proposal authentication failed: the client signature does not verify with ${key.toString()}'s key`;
  }
  const labelLength = typeof p.label === 'string' ? Buffer.byteLength(p.label) : p.label.length;
  if (labelLength > DEAL_MAX_LABEL_SIZE)
    return `deal label can be at most ${DEAL_MAX_LABEL_SIZE} bytes, is ${labelLength}`;
  const sizeProblem = paddedPieceSizeProblem(p.pieceSize);
  if (sizeProblem) return `proposal piece size is invalid: ${sizeProblem}`;
  if (!isPieceCid(p.pieceCid)) return `proposal PieceCID ${p.pieceCid.toString()} is not a piece CID`;
  if (p.endEpoch <= p.startEpoch) return 'proposal end before proposal start';
  if (rt.epoch > p.startEpoch) return `deal start epoch ${p.startEpoch} has already elapsed (epoch ${rt.epoch})`;
  const dur = dealDuration(p);
  if (dur < DEAL_MIN_DURATION || dur > DEAL_MAX_DURATION) {
    return `deal duration ${dur} out of bounds [${DEAL_MIN_DURATION}, ${DEAL_MAX_DURATION}]`;
  }
  const bounded = (v: bigint, what: string) =>
    v < 0n || v > TOTAL_FILECOIN ? `${what} ${v} out of bounds [0, ${TOTAL_FILECOIN}]` : null;
  return (
    bounded(p.storagePricePerEpoch, 'storage price') ??
    bounded(p.providerCollateral, 'provider collateral') ??
    bounded(p.clientCollateral, 'client collateral')
  );
}

/** alloc_request_for_deal: the allocation a verified deal makes (term from the deal, expiring at its start). */
export function allocationRequestForDeal(p: DealProposal, providerId: number, epoch: number): AllocationRequest {
  const termMin = p.endEpoch - p.startEpoch;
  return {
    provider: providerId,
    data: p.pieceCid,
    size: p.pieceSize,
    termMin,
    termMax: Math.min(termMin + MARKET_DEFAULT_ALLOCATION_TERM_BUFFER, MAXIMUM_VERIFIED_ALLOCATION_TERM),
    expiration: Math.min(p.startEpoch, epoch + MAXIMUM_VERIFIED_ALLOCATION_EXPIRATION),
  };
}

/**
 * PublishStorageDeals (4): every deal for the same provider, sent by its worker or a control address. Invalid
 * deals are dropped (logged with the reason); if none is left the call aborts naming each reason.
 */
export function publishStorageDeals(rt: Runtime, deals: ClientDealProposal[]): PublishStorageDealsReturn {
  const tree = rt.tree;
  if (deals.length === 0) throw illegalArgument('Empty deals parameter');
  const providerRaw = deals[0]!.proposal.provider;
  const providerId = tree.resolve(providerRaw);
  if (providerId === undefined) throw notFound(`failed to resolve provider address ${providerRaw.toString()}`);
  const provRec = tree.get(providerId)!;
  if (provRec.kind !== 'miner') throw illegalArgument('deal provider is not a storage miner actor');
  const info = (provRec.state as MinerState).info;
  if (![info.owner, info.worker, ...info.controlAddresses].includes(rt.caller)) {
    throw forbidden(`caller f0${rt.caller} is not worker or control address of provider f0${providerId}`);
  }

  const problems: string[] = [];
  const drop = (i: number, why: string) => {
    problems.push(`deal ${i}: ${why}`);
    log.info({ provider: providerId, deal: i, reason: why }, 'invalid deal dropped');
  };
  const st = marketState(tree);
  const clientLockup = new Map<number, bigint>();
  const datacapLeft = new Map<number, bigint>();
  const allocReqs = new Map<number, { cid: string; req: AllocationRequest }[]>();
  const seen = new Set<string>();
  let providerLockup = 0n;
  const valid: { proposal: DealProposal; cid: string }[] = [];
  const validIdx: number[] = [];

  for (const [i, d] of deals.entries()) {
    const problem = dealProblem(rt, d);
    if (problem) {
      drop(i, problem);
      continue;
    }
    const p = d.proposal;
    if (!p.provider.equals(idAddress(providerId)) && !p.provider.equals(providerRaw)) {
      drop(i, 'cannot publish deals from multiple providers in one batch');
      continue;
    }
    const clientId = tree.resolve(p.client)!;
    const lockup = (clientLockup.get(clientId) ?? 0n) + dealClientBalanceRequirement(p);
    if (!balanceCovered(st, clientId, lockup)) {
      drop(i, `insufficient client funds to cover proposal cost: f0${clientId} needs ${lockup} unlocked in escrow`);
      continue;
    }
    const provLockup = providerLockup + p.providerCollateral;
    if (!balanceCovered(st, providerId, provLockup)) {
      drop(
        i,
        `insufficient provider funds to cover proposal cost: f0${providerId} needs ${provLockup} unlocked in escrow`,
      );
      continue;
    }
    const normalised: DealProposal = { ...p, provider: idAddress(providerId), client: idAddress(clientId) };
    const cid = dealProposalCid(normalised).toString();
    if (st.pendingProposals[cid] !== undefined || seen.has(cid)) {
      drop(i, 'cannot publish duplicate deal proposal');
      continue;
    }
    if (p.verifiedDeal) {
      const left = datacapLeft.get(clientId) ?? datacapBalance(tree, clientId);
      const need = BigInt(p.pieceSize) * DATACAP_TOKEN_PRECISION;
      if (left < need) {
        datacapLeft.set(clientId, left);
        drop(
          i,
          `client f0${clientId} has ${left / DATACAP_TOKEN_PRECISION} bytes of datacap, the verified deal needs ${p.pieceSize}`,
        );
        continue;
      }
      datacapLeft.set(clientId, left - need);
      const reqs = allocReqs.get(clientId) ?? [];
      reqs.push({ cid, req: allocationRequestForDeal(normalised, providerId, rt.epoch) });
      allocReqs.set(clientId, reqs);
    }
    providerLockup = provLockup;
    clientLockup.set(clientId, lockup);
    seen.add(cid);
    valid.push({ proposal: normalised, cid });
    validIdx.push(i);
  }

  // one datacap transfer per client to the verified registry: the allocations of its verified deals
  const allocationOf = new Map<string, number>();
  for (const [clientId, reqs] of allocReqs) {
    const bytes = reqs.reduce((s, r) => s + BigInt(r.req.size), 0n);
    const ret = transferDatacap(
      tree,
      rt.epoch,
      clientId,
      idAddress(VERIFREG_ACTOR),
      bytes * DATACAP_TOKEN_PRECISION,
      encodeAllocationRequests({ allocations: reqs.map((r) => r.req), extensions: [] }),
    );
    const ids = decodeAllocationsResponse(ret.recipientData).newAllocations;
    if (ids.length !== reqs.length) {
      throw illegalState(`datacap transfer returned ${ids.length} allocation IDs for ${reqs.length} requests`);
    }
    for (const [k, r] of reqs.entries()) allocationOf.set(r.cid, ids[k]!);
  }

  if (valid.length === 0) throw illegalArgument(`All deal proposals invalid: ${problems.join('; ')}`);

  const mst = marketStateMut(tree);
  const ids: number[] = [];
  for (const v of valid) {
    const p = v.proposal;
    lockBalance(mst, p.client.id(), dealClientBalanceRequirement(p));
    lockBalance(mst, p.provider.id(), p.providerCollateral);
    mst.totalClientLockedCollateral += p.clientCollateral;
    mst.totalClientStorageFee += p.storagePricePerEpoch * BigInt(dealDuration(p));
    mst.totalProviderLockedCollateral += p.providerCollateral;
    const id = mst.nextDealId++;
    mst.pendingProposals[v.cid] = id;
    mst.proposals[id] = proposalToStored(p);
    const alloc = allocationOf.get(v.cid);
    if (alloc !== undefined) mst.pendingDealAllocationIds[id] = alloc;
    const at = nextUpdateEpoch(id, DEAL_UPDATES_INTERVAL, p.startEpoch);
    (mst.dealOpsByEpoch[at] ??= []).push(id);
    ids.push(id);
    log.info(
      {
        deal: id,
        provider: providerId,
        client: p.client.id(),
        piece: p.pieceCid.toString(),
        size: p.pieceSize,
        verified: p.verifiedDeal,
        allocation: alloc,
      },
      'deal published',
    );
  }
  return { ids, validDeals: validIdx };
}
