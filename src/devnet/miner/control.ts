/** Worker/owner/peer changes, 16 WithdrawBalance, 22 RepayDebt. Part of the devnet miner actor (../miner.ts). */
import { forbidden, illegalArgument, illegalState } from '../exitcode.js';
import { updatePledgeTotal } from '../power.js';
import type { Runtime } from '../runtime.js';
import { checkPeerInfo } from './construct.js';
import { processPendingWorker } from './cron.js';
import {
  burn,
  checkBalanceInvariants,
  controlOrWorkerOrOwner,
  getAvailableBalance,
  minerStateMut,
  repayDebtsOrAbort,
  unlockVestedFunds,
  validateCallerIs,
} from './state.js';
import type { ChangeWorkerAddressParams } from './types.js';

// 3 ChangeWorkerAddress, 21 ConfirmChangeWorkerAddress, 23 ChangeOwnerAddress, 4/18 peer info

/** `newWorker` must already be resolved to a BLS account by the caller (resolve_worker_address). */
export function changeWorkerAddress(rt: Runtime, params: ChangeWorkerAddressParams): void {
  const p = rt.policy;
  if (params.newControlAddresses.length > p.maxControlAddresses) {
    throw illegalArgument(
      `control addresses length ${params.newControlAddresses.length} exceeds max control addresses length ${p.maxControlAddresses}`,
    );
  }
  const st = minerStateMut(rt);
  validateCallerIs(rt, [st.info.owner]);
  st.info.controlAddresses = params.newControlAddresses.slice();
  if (params.newWorker !== st.info.worker && st.info.pendingWorkerKey === null) {
    st.info.pendingWorkerKey = { newWorker: params.newWorker, effectiveAt: rt.epoch + p.workerKeyChangeDelay };
  }
}

export function confirmChangeWorkerAddress(rt: Runtime): void {
  const st = minerStateMut(rt);
  validateCallerIs(rt, [st.info.owner]);
  processPendingWorker(st, rt.epoch);
}

export function changeOwnerAddress(rt: Runtime, newOwner: number): void {
  const st = minerStateMut(rt);
  const info = st.info;
  if (rt.caller === info.owner) {
    // proposing the current owner revokes a pending proposal
    info.pendingOwnerAddress = newOwner === info.owner ? null : newOwner;
    return;
  }
  if (info.pendingOwnerAddress !== null && rt.caller === info.pendingOwnerAddress) {
    if (newOwner !== info.pendingOwnerAddress) {
      throw illegalArgument(`expected confirmation of ${info.pendingOwnerAddress}, got ${newOwner}`);
    }
    if (info.beneficiary === info.owner) info.beneficiary = newOwner;
    info.owner = newOwner;
    info.pendingOwnerAddress = null;
    return;
  }
  throw forbidden('caller is neither the owner nor the proposed owner');
}

export function changePeerId(rt: Runtime, peerId: Uint8Array): void {
  const st = minerStateMut(rt);
  checkPeerInfo(rt.policy, peerId, []);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  st.info.peerId = peerId;
}

export function changeMultiaddrs(rt: Runtime, multiaddrs: Uint8Array[]): void {
  const st = minerStateMut(rt);
  checkPeerInfo(rt.policy, new Uint8Array(0), multiaddrs);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  st.info.multiaddrs = multiaddrs;
}

// ---------------------------------------------------------------------------------------------------
// 16 WithdrawBalance, 22 RepayDebt

export function withdrawBalance(rt: Runtime, amountRequested: bigint): bigint {
  if (amountRequested < 0n) throw illegalArgument(`negative fund requested for withdrawal: ${amountRequested}`);
  const st = minerStateMut(rt);
  const info = st.info;
  validateCallerIs(rt, [info.owner, info.beneficiary]);
  const newlyVested = unlockVestedFunds(st, rt.epoch);
  const balance = rt.tree.get(rt.receiver)!.balance;
  const available = getAvailableBalance(st, balance);
  const feeToBurn = repayDebtsOrAbort(st, balance);
  let amount = available < amountRequested ? available : amountRequested;
  if (amount < 0n) throw illegalState(`negative amount to withdraw: ${amount}`);
  if (info.beneficiary !== info.owner) {
    const t = info.beneficiaryTerm;
    const remaining = t.expiration > rt.epoch && t.quota > t.usedQuota ? t.quota - t.usedQuota : 0n;
    if (remaining === 0n) {
      throw forbidden(
        `beneficiary expiration of epoch ${t.expiration} passed or quota of ${t.quota} depleted with ${t.usedQuota} used`,
      );
    }
    if (amount > remaining) amount = remaining;
    t.usedQuota += amount;
  }
  if (amount > 0n) rt.tree.transfer(rt.receiver, info.beneficiary, amount);
  burn(rt, feeToBurn);
  updatePledgeTotal(rt.tree, -newlyVested);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
  return amount;
}

export function repayDebt(rt: Runtime): void {
  const st = minerStateMut(rt);
  validateCallerIs(rt, controlOrWorkerOrOwner(st.info));
  const balance = rt.tree.get(rt.receiver)!.balance;
  const fee = repayDebtsOrAbort(st, balance);
  burn(rt, fee);
  checkBalanceInvariants(st, rt.tree.get(rt.receiver)!.balance);
}
