/**
 * Message execution: lotus' ApplyMessage order (inclusion gas, sender checks, gas pre-payment and nonce,
 * value transfer, method dispatch in a transaction layer, refund, burn and tip) over the devnet's actors.
 * An aborting method leaves only the gas payment and the nonce bump behind.
 */

import { logger } from '../common/log.js';
import {
  type Address,
  actorAddress,
  addressFromBytes,
  concatBytes,
  decodeProveReplicaUpdates3Params,
  encodeCbor,
  encodeProveReplicaUpdates3Return,
  expectArray,
  expectTuple,
  FilError,
  idAddress,
  type Message,
  Protocol,
} from '../fil/index.js';
import * as codec from './codec.js';
import { ActorError, ExitCode, illegalArgument, insufficientFunds } from './exitcode.js';
import { marketCronTick } from './market/activate.js';
import { invokeMarket } from './market/dispatch.js';
import * as miner from './miner.js';
import { createMinerDeposit, type Policy } from './policy.js';
import { popCronEvents, registerMiner, updatePledgeTotal } from './power.js';
import type { ProofVerifier, Randomness, Runtime } from './runtime.js';
import { type ActorRecord, BURNT_FUNDS_ACTOR, CRON_ACTOR, POWER_ACTOR, REWARD_ACTOR, type StateTree } from './state.js';
import { invokeDatacap, invokeVerifreg } from './verifreg/actor.js';

const log = logger('devnet.vm');

export interface Receipt {
  exitCode: number;
  return: Uint8Array;
  gasUsed: number;
}

export interface ApplyResult {
  receipt: Receipt;
  /** Why the message failed (the actor's message), for logs and StateCall. */
  error?: string;
  /** Paid to the block producer (kept by the reward actor on the devnet). */
  minerTip: bigint;
  /** Burnt to f099: base fee × gas used plus the over-estimation burn. */
  burned: bigint;
}

export interface ExecContext {
  policy: Policy;
  epoch: number;
  baseFee: bigint;
  rand: Randomness;
  verifier: ProofVerifier;
}

// lotus pricelist (calico+): message inclusion and return values are charged as storage at 1300 gas per byte
const GAS_STORAGE_MULTI = 1300;
const GAS_ON_CHAIN_MESSAGE_COMPUTE = 38863;
const GAS_ON_CHAIN_MESSAGE_STORAGE_BASE = 36;
const GAS_SEND_BASE = 29233;
const GAS_METHOD_INVOKE = 1_000_000;
const GAS_ACTOR_CREATE = 1_108_454 + 36 * GAS_STORAGE_MULTI;

/** Gas to put a message of `size` bytes on chain (lotus OnChainMessage). */
export function messageInclusionGas(size: number): number {
  return GAS_ON_CHAIN_MESSAGE_COMPUTE + (GAS_ON_CHAIN_MESSAGE_STORAGE_BASE + size) * GAS_STORAGE_MULTI;
}

class OutOfGas extends Error {}

/** Gas meter of one message. */
class GasTracker {
  used = 0;
  constructor(readonly limit: number) {}
  charge(amount: number, _why: string): void {
    this.used += amount;
    if (this.used > this.limit) throw new OutOfGas(`out of gas: used ${this.used} > limit ${this.limit}`);
  }
}

export interface AccountState {
  /** Hex of the key address (f1/f3) bytes. */
  address: string;
}

/** The key address behind an account actor. */
export function accountKey(rec: Readonly<ActorRecord>): Address | undefined {
  if (rec.kind !== 'account') return undefined;
  return addressFromBytes(Buffer.from((rec.state as AccountState).address, 'hex'));
}

/** Creates an account actor for a key address (f1/f3), as sending to an unknown key address does. */
export function createAccount(tree: StateTree, key: Address, balance = 0n): number {
  if (key.protocol !== Protocol.Secp256k1 && key.protocol !== Protocol.BLS) {
    throw new ActorError(ExitCode.SysErrInvalidReceiver, `cannot create an account for ${key.toString()}`);
  }
  return tree.createActor('account', { address: key.key() } satisfies AccountState, key, balance);
}

/** Applies one message (already signature-checked) at ctx.epoch, in `tree`. */
export async function applyMessage(
  tree: StateTree,
  ctx: ExecContext,
  msg: Message,
  size: number,
  opts: { skipSenderChecks?: boolean } = {},
): Promise<ApplyResult> {
  const fail = (exitCode: number, error: string, gasUsed = 0): ApplyResult => ({
    receipt: { exitCode, return: new Uint8Array(0), gasUsed },
    error,
    minerTip: 0n,
    burned: 0n,
  });
  const inclusion = messageInclusionGas(size);
  if (inclusion > msg.gasLimit) {
    return fail(ExitCode.SysErrOutOfGas, `out of gas: message inclusion costs ${inclusion} > limit ${msg.gasLimit}`);
  }
  const fromId = tree.resolve(msg.from);
  const fromRec = fromId === undefined ? undefined : tree.get(fromId);
  if (!fromRec) return fail(ExitCode.SysErrSenderInvalid, `sender ${msg.from.toString()} not found`);
  if (fromRec.kind !== 'account') {
    return fail(ExitCode.SysErrSenderInvalid, `sender ${msg.from.toString()} is not an account actor`);
  }
  const gasCost = BigInt(msg.gasLimit) * msg.gasFeeCap;
  if (!opts.skipSenderChecks) {
    if (msg.nonce !== fromRec.nonce) {
      return fail(ExitCode.SysErrSenderStateInvalid, `actor nonce invalid: msg:${msg.nonce} != state:${fromRec.nonce}`);
    }
    if (fromRec.balance < gasCost) {
      return fail(ExitCode.SysErrSenderStateInvalid, `actor balance less than needed: ${fromRec.balance} < ${gasCost}`);
    }
  }
  // pre-pay the gas and bump the nonce: these stay even if the call aborts
  const sender = tree.mut(fromId!);
  const prepaid = opts.skipSenderChecks && sender.balance < gasCost ? 0n : gasCost;
  sender.balance -= prepaid;
  sender.nonce++;

  const gas = new GasTracker(msg.gasLimit);
  gas.used = inclusion;
  const layer = tree.fork();
  let receipt: Receipt;
  let error: string | undefined;
  try {
    const ret = await send(layer, ctx, gas, fromId!, msg.from, msg.to, msg.method, msg.params, msg.value, msg.nonce);
    gas.charge(ret.length * GAS_STORAGE_MULTI, 'return value');
    layer.commit();
    receipt = { exitCode: ExitCode.Ok, return: ret, gasUsed: gas.used };
  } catch (e) {
    if (e instanceof ActorError) {
      receipt = { exitCode: e.exitCode, return: new Uint8Array(0), gasUsed: Math.min(gas.used, msg.gasLimit) };
      error = e.message;
    } else if (e instanceof OutOfGas) {
      receipt = { exitCode: ExitCode.SysErrOutOfGas, return: new Uint8Array(0), gasUsed: msg.gasLimit };
      error = e.message;
    } else {
      throw e;
    }
  }

  // settle gas (lotus vm.go: burn base fee × used + over-estimation, tip the miner, refund the rest)
  const { burn, refund, tip } = settleGas(msg, receipt.gasUsed, ctx.baseFee);
  if (prepaid > 0n) {
    tree.mut(fromId!).balance += refund; // re-read: a committed layer replaced the record
    tree.mut(BURNT_FUNDS_ACTOR).balance += burn;
    tree.mut(REWARD_ACTOR).balance += tip;
  }
  return { receipt, error, minerTip: tip, burned: burn };
}

const GAS_OVERUSE_NUM = 11n;
const GAS_OVERUSE_DENOM = 10n;

/** lotus ComputeGasOverestimationBurn. */
export function gasOverestimationBurn(gasUsed: bigint, gasLimit: bigint): { refund: bigint; toBurn: bigint } {
  if (gasUsed === 0n) return { refund: 0n, toBurn: gasLimit };
  let over = gasLimit - (GAS_OVERUSE_NUM * gasUsed) / GAS_OVERUSE_DENOM;
  if (over < 0n) return { refund: gasLimit - gasUsed, toBurn: 0n };
  if (over > gasUsed) over = gasUsed;
  const toBurn = ((gasLimit - gasUsed) * over) / gasUsed;
  return { refund: gasLimit - gasUsed - toBurn, toBurn };
}

/** How the pre-paid gasLimit × feeCap splits into burn, miner tip and refund (sums to the pre-payment). */
export function settleGas(
  msg: Message,
  gasUsed: number,
  baseFee: bigint,
): { burn: bigint; tip: bigint; refund: bigint } {
  const limit = BigInt(msg.gasLimit);
  const used = BigInt(gasUsed);
  let baseFeeToPay = baseFee;
  let tipPerGas = msg.gasFeeCap - baseFee;
  if (msg.gasFeeCap < baseFee) {
    baseFeeToPay = msg.gasFeeCap;
    tipPerGas = 0n;
  }
  if (tipPerGas > msg.gasPremium) tipPerGas = msg.gasPremium;
  const { toBurn } = gasOverestimationBurn(used, limit);
  const burn = baseFeeToPay * (used + toBurn);
  const tip = tipPerGas * limit;
  const refund = msg.gasFeeCap * limit - burn - tip;
  return { burn, tip, refund: refund < 0n ? 0n : refund };
}

/** Value transfer and method invocation; throws ActorError on abort. */
async function send(
  tree: StateTree,
  ctx: ExecContext,
  gas: GasTracker,
  fromId: number,
  fromAddr: Address,
  to: Address,
  method: number,
  params: Uint8Array,
  value: bigint,
  nonce: number,
): Promise<Uint8Array> {
  if (value < 0n) throw new ActorError(ExitCode.SysErrForbidden, 'negative value');
  gas.charge(GAS_SEND_BASE, 'send');
  let toId = tree.resolve(to);
  if (toId === undefined) {
    if (to.protocol === Protocol.Secp256k1 || to.protocol === Protocol.BLS) {
      gas.charge(GAS_ACTOR_CREATE, 'create account');
      toId = createAccount(tree, to);
    } else {
      throw new ActorError(ExitCode.SysErrInvalidReceiver, `actor ${to.toString()} not found`);
    }
  }
  tree.transfer(fromId, toId, value);
  if (method === 0) return new Uint8Array(0);
  gas.charge(GAS_METHOD_INVOKE + params.length * 10, 'invoke');
  const originKey = accountKey(tree.get(fromId)!) ?? fromAddr;
  return invoke(tree, ctx, gas, { caller: fromId, receiver: toId, method, params, value, originKey, nonce });
}

interface Invocation {
  caller: number;
  receiver: number;
  method: number;
  params: Uint8Array;
  value: bigint;
  /** For new actor addresses. */
  originKey: Address;
  nonce: number;
}

function makeRuntime(tree: StateTree, ctx: ExecContext, gas: GasTracker, inv: Invocation): Runtime {
  return {
    policy: ctx.policy,
    epoch: ctx.epoch,
    receiver: inv.receiver,
    caller: inv.caller,
    valueReceived: inv.value,
    tree,
    rand: ctx.rand,
    verifier: ctx.verifier,
    addressCbor: (id) => encodeCbor(idAddress(id).bytes()),
    chargeGas: (n, why) => gas.charge(n, why),
  };
}

/** Dispatches a method to a builtin actor. */
async function invoke(tree: StateTree, ctx: ExecContext, gas: GasTracker, inv: Invocation): Promise<Uint8Array> {
  const rec = tree.get(inv.receiver)!;
  const rt = makeRuntime(tree, ctx, gas, inv);
  const p = <T>(what: string, fn: (v: unknown) => T) => codec.decodeParams(what, inv.params, fn);
  const unhandled = () =>
    new ActorError(ExitCode.ErrUnhandledMessage, `method ${inv.method} not handled by ${rec.kind} actor`);
  switch (rec.kind) {
    case 'account':
      // PubkeyAddress
      if (inv.method === 2) return codec.encodeAddressCbor(accountKey(rec)!);
      throw unhandled();
    case 'power':
      if (inv.method === 2) {
        const params = p('CreateMinerParams', codec.decodeCreateMinerParams);
        gas.charge(20_000_000, 'create miner');
        return createMiner(rt, inv, params);
      }
      throw unhandled();
    case 'miner':
      return invokeMiner(rt, inv, p);
    case 'market':
      return invokeMarket(rt, inv.method, inv.params);
    case 'datacap':
      return invokeDatacap(rt, inv.method, inv.params);
    case 'verifreg':
      return invokeVerifreg(rt, inv.method, inv.params);
    default:
      throw unhandled();
  }
}

async function invokeMiner(
  rt: Runtime,
  inv: Invocation,
  p: <T>(what: string, fn: (v: unknown) => T) => T,
): Promise<Uint8Array> {
  const M = miner.MinerMethod;
  const tree = rt.tree;
  const none = new Uint8Array(0);
  switch (inv.method) {
    case M.ControlAddresses: {
      const info = tree.stateOf<miner.MinerState>(rt.receiver).info;
      return encodeCbor([
        idAddress(info.owner).bytes(),
        idAddress(info.worker).bytes(),
        info.controlAddresses.map((c) => idAddress(c).bytes()),
      ]);
    }
    case M.ChangeWorkerAddress: {
      const params = p('ChangeWorkerAddressParams', codec.decodeChangeWorkerAddressParams);
      const newWorker = resolveWorkerAddress(tree, params.newWorker);
      const controls = params.newControlAddresses.map((a) => {
        const id = tree.resolve(a);
        if (id === undefined) throw illegalArgument(`unable to resolve control address: ${a.toString()}`);
        return id;
      });
      miner.changeWorkerAddress(rt, { newWorker, newControlAddresses: controls });
      return none;
    }
    case M.ChangePeerID:
      miner.changePeerId(
        rt,
        p('ChangePeerIDParams', (v) => codec.decodeBytesParam(expectTuple(v, 1, 'ChangePeerIDParams')[0], 'NewID')),
      );
      return none;
    case M.SubmitWindowedPoSt:
      await miner.submitWindowedPoSt(rt, p('SubmitWindowedPoStParams', codec.decodeSubmitWindowedPoStParams));
      return none;
    case M.TerminateSectors: {
      const r = miner.terminateSectors(
        rt,
        p('TerminateSectorsParams', (v) => codec.decodeDeclarations(v, 'Terminations')),
      );
      return encodeCbor([r.done]);
    }
    case M.DeclareFaults:
      miner.declareFaults(
        rt,
        p('DeclareFaultsParams', (v) => codec.decodeDeclarations(v, 'Faults')),
      );
      return none;
    case M.DeclareFaultsRecovered:
      miner.declareFaultsRecovered(
        rt,
        p('DeclareFaultsRecoveredParams', (v) => codec.decodeDeclarations(v, 'Recoveries')),
      );
      return none;
    case M.OnDeferredCronEvent:
      if (inv.caller !== POWER_ACTOR) throw new ActorError(ExitCode.ErrForbidden, 'caller is not the power actor');
      miner.handleProvingDeadline(rt);
      return none;
    case M.WithdrawBalance: {
      const amount = p('WithdrawBalanceParams', codec.decodeWithdrawBalanceParams);
      return codec.encodeBigIntReturn(miner.withdrawBalance(rt, amount));
    }
    case M.ChangeMultiaddrs:
      miner.changeMultiaddrs(
        rt,
        p('ChangeMultiaddrsParams', (v) =>
          expectArray(expectTuple(v, 1, 'ChangeMultiaddrsParams')[0], 'NewMultiaddrs').map((m, i) =>
            codec.decodeBytesParam(m, `NewMultiaddrs[${i}]`),
          ),
        ),
      );
      return none;
    case M.ConfirmChangeWorkerAddress:
      miner.confirmChangeWorkerAddress(rt);
      return none;
    case M.RepayDebt:
      miner.repayDebt(rt);
      return none;
    case M.ChangeOwnerAddress: {
      const a = p('ChangeOwnerAddressParams', (v) => codec.decodeAddressParam(v, 'NewOwner'));
      const id = tree.resolve(a);
      if (id === undefined || tree.get(id)!.kind !== 'account') {
        throw illegalArgument(`owner address must be an account: ${a.toString()}`);
      }
      miner.changeOwnerAddress(rt, id);
      return none;
    }
    case M.PreCommitSectorBatch2:
      miner.preCommitSectorBatch2(rt, p('PreCommitSectorBatchParams2', codec.decodePreCommitSectorBatch2Params));
      return none;
    case M.ProveCommitSectors3:
      return codec.encodeBatchReturn(
        await miner.proveCommitSectors3(rt, p('ProveCommitSectors3Params', codec.decodeProveCommitSectors3Params)),
      );
    case M.ProveReplicaUpdates3:
      return encodeProveReplicaUpdates3Return(
        await miner.proveReplicaUpdates3(rt, p('ProveReplicaUpdates3Params', decodeProveReplicaUpdates3Params)),
      );
    default:
      throw new ActorError(ExitCode.ErrUnhandledMessage, `miner method ${inv.method} is not supported by the devnet`);
  }
}

/** resolve_worker_address: an account whose key is BLS (the worker key signs alongside BLS-VRF). */
function resolveWorkerAddress(tree: StateTree, raw: Address): number {
  const id = tree.resolve(raw);
  if (id === undefined) throw illegalArgument(`unable to resolve address: ${raw.toString()}`);
  const rec = tree.get(id)!;
  if (rec.kind !== 'account') throw illegalArgument(`worker actor type must be an account, was ${rec.kind}`);
  const key = accountKey(rec)!;
  if (key.protocol !== Protocol.BLS) {
    throw illegalArgument(`worker account f0${id} must have BLS pubkey, was ${key.protocol}`);
  }
  return id;
}

/** Power actor CreateMiner → init Exec → miner constructor. */
function createMiner(rt: Runtime, inv: Invocation, params: codec.CreateMinerParams): Uint8Array {
  const tree = rt.tree;
  const p = rt.policy;
  const owner = tree.resolve(params.owner);
  if (owner === undefined) throw illegalArgument(`unable to resolve owner address: ${params.owner.toString()}`);
  if (tree.get(owner)!.kind !== 'account') throw illegalArgument('owner actor type must be an account');
  const worker = resolveWorkerAddress(tree, params.worker);
  // init actor: the robust address hashes the origin, its nonce and the number of actors it created
  const robust = actorAddress(concatBytes(inv.originKey.bytes(), beU64(inv.nonce), beU64(tree.ids().length)));
  const deposit = createMinerDeposit(p);
  if (inv.value < deposit) {
    throw insufficientFunds(
      `not enough balance to lock for create miner deposit: sent balance ${inv.value} < deposit ${deposit}`,
    );
  }
  const placeholder = {} as miner.MinerState;
  const id = tree.createActor('miner', placeholder, robust);
  const st = miner.constructMinerState(
    p,
    rt.addressCbor(id),
    rt.epoch,
    {
      owner,
      worker,
      controlAddresses: [],
      windowPoStProofType: params.windowPoStProofType,
      peerId: params.peer,
      multiaddrs: params.multiaddrs,
    },
    deposit,
  );
  tree.mut(id).state = st;
  tree.transfer(POWER_ACTOR, id, inv.value);
  registerMiner(tree, id, params.windowPoStProofType);
  updatePledgeTotal(tree, deposit);
  return codec.encodeCreateMinerReturn(idAddress(id), robust);
}

function beU64(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n));
  return b;
}

/**
 * The implicit cron message at the end of an epoch: the power actor calls every miner whose deadline
 * event is due. A failing miner cron is logged and dropped, as the actors' cron does.
 */
export async function runCron(tree: StateTree, ctx: ExecContext): Promise<void> {
  const events = popCronEvents(tree, ctx.epoch);
  for (const ev of events) {
    const layer = tree.fork();
    const gas = new GasTracker(Number.MAX_SAFE_INTEGER);
    try {
      if (!layer.get(ev.minerId) || layer.get(ev.minerId)!.kind !== 'miner') continue;
      await invoke(layer, ctx, gas, {
        caller: POWER_ACTOR,
        receiver: ev.minerId,
        method: miner.MinerMethod.OnDeferredCronEvent,
        params: new Uint8Array(0),
        value: 0n,
        originKey: idAddress(CRON_ACTOR),
        nonce: 0,
      });
      layer.commit();
    } catch (e) {
      if (!(e instanceof ActorError || e instanceof FilError)) throw e;
      log.error({ miner: ev.minerId, epoch: ctx.epoch, err: (e as Error).message }, 'miner cron failed');
    }
  }
  // the cron actor's second entry: market CronTick (deal timeouts)
  const layer = tree.fork();
  try {
    marketCronTick(layer, ctx.epoch);
    layer.commit();
  } catch (e) {
    if (!(e instanceof ActorError || e instanceof FilError)) throw e;
    log.error({ epoch: ctx.epoch, err: (e as Error).message }, 'market cron failed');
  }
}
