/**
 * Test support for the actor rules: a state tree with power, burnt-funds, an owner, a BLS worker and one
 * miner, a runtime per call (each call in its own transaction layer, as the VM does), deterministic
 * randomness, and a proof verifier whose valid proofs are digests of exactly the inputs the actors must pass.
 * Used by the unit tests only.
 */
import { join } from 'node:path';
import {
  type Address,
  blake2b256,
  concatBytes,
  encodeUvarint,
  idAddress,
  type Key,
  type Message,
  newMessage,
  signMessage,
} from '../fil/index.js';
import { decodeCreateMinerReturn, encodeCreateMinerParams } from './codec.js';
import { ActorError } from './exitcode.js';
import { stringifyState } from './jsonc.js';
import { constructMinerState, handleProvingDeadline, type MinerState } from './miner.js';
import { DevnetNode } from './node.js';
import type { Policy } from './policy.js';
import { createMinerDeposit } from './policy.js';
import { newPowerState, type PowerState, popCronEvents, registerMiner, updatePledgeTotal } from './power.js';
import type {
  AggregateSealVerifyInfo,
  PieceInfo,
  ProofVerifier,
  Randomness,
  ReplicaUpdateVerifyInfo,
  Runtime,
  SealVerifyInfo,
  WindowPoStVerifyInfo,
} from './runtime.js';
import { BURNT_FUNDS_ACTOR, emptyState, POWER_ACTOR, type StateData, StateTree } from './state.js';

/** CBOR of an ID address: a byte string holding 0x00 ‖ uvarint(id). */
export function idAddressCbor(id: number): Uint8Array {
  const bin = concatBytes(Uint8Array.of(0), encodeUvarint(id));
  return concatBytes(Uint8Array.of(0x40 | bin.length), bin);
}

const i64 = (n: number) => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigInt64(0, BigInt(n));
  return b;
};

/** Deterministic stand-in randomness: distinct per source, DST, epoch and entropy. */
export const testRandomness: Randomness = {
  fromTickets: (dst, epoch, entropy) =>
    blake2b256(concatBytes(new TextEncoder().encode('ticket'), i64(dst), i64(epoch), entropy)),
  fromBeacon: (dst, epoch, entropy) =>
    blake2b256(concatBytes(new TextEncoder().encode('beacon'), i64(dst), i64(epoch), entropy)),
};

/** A sealed CID (CommR) for tests: the fil-commitment-sealed prefix and a digest of `seed`. */
export function testSealedCid(seed: number): Uint8Array {
  return concatBytes(Uint8Array.of(0x01, 0x82, 0xe2, 0x03, 0x81, 0xe8, 0x02, 0x20), blake2b256(i64(seed)));
}

/** A CommD CID for tests (top two bits of the last byte clear, as trunc254 commitments have). */
export function testUnsealedCid(seed: Uint8Array): Uint8Array {
  const d = blake2b256(seed);
  d[31]! &= 0x3f;
  return concatBytes(Uint8Array.of(0x01, 0x81, 0xe2, 0x03, 0x92, 0x20, 0x20), d);
}

/**
 * Valid seal proof = blake2b(miner ‖ number ‖ ticket ‖ seed ‖ CommR ‖ CommD); valid PoSt = blake2b(randomness ‖
 * challenged sectors). CommD of pieces = digest of the piece CIDs. A test that builds a proof from values it
 * computed itself checks that the actors hand the verifier exactly those values.
 */
export class DigestVerifier implements ProofVerifier {
  calls = 0;
  static sealProof(i: Omit<SealVerifyInfo, 'proof' | 'sealProof'>): Uint8Array {
    return blake2b256(concatBytes(i64(i.minerId), i64(i.sectorNumber), i.ticket, i.seed, i.sealedCid, i.unsealedCid));
  }
  static postProof(i: Omit<WindowPoStVerifyInfo, 'proofs'>): Uint8Array {
    const parts = i.challengedSectors.map((s) => concatBytes(i64(s.sectorNumber), s.sealedCid));
    return blake2b256(concatBytes(i64(i.minerId), i.randomness, ...parts));
  }
  /** Valid update proof = blake2b(update proof type ‖ sector key CID ‖ new CommR ‖ new CommD). */
  static updateProof(i: Omit<ReplicaUpdateVerifyInfo, 'proof'>): Uint8Array {
    return blake2b256(concatBytes(i64(i.updateProofType), i.sectorKeyCid, i.newSealedCid, i.newUnsealedCid));
  }
  async verifyReplicaUpdate(i: ReplicaUpdateVerifyInfo): Promise<boolean> {
    this.calls++;
    const want = DigestVerifier.updateProof(i);
    return i.proof.length === want.length && i.proof.every((v, k) => v === want[k]);
  }
  async verifySeal(i: SealVerifyInfo): Promise<boolean> {
    this.calls++;
    const want = DigestVerifier.sealProof(i);
    return i.proof.length === want.length && i.proof.every((v, k) => v === want[k]);
  }
  async verifyAggregateSeals(a: AggregateSealVerifyInfo): Promise<boolean> {
    this.calls++;
    const want = blake2b256(concatBytes(...a.infos.map((i) => DigestVerifier.sealProof({ ...i, minerId: a.minerId }))));
    return a.proof.length === want.length && a.proof.every((v, k) => v === want[k]);
  }
  async verifyWindowPoSt(i: WindowPoStVerifyInfo): Promise<boolean> {
    this.calls++;
    const want = DigestVerifier.postProof(i);
    const got = i.proofs[0]?.proofBytes ?? new Uint8Array(0);
    return got.length === want.length && got.every((v, k) => v === want[k]);
  }
  unsealedCid(_sealProof: number, pieces: PieceInfo[]): Uint8Array {
    return testUnsealedCid(concatBytes(new TextEncoder().encode('commd'), ...pieces.map((p) => p.cid)));
  }
}

export interface CallOpts {
  caller: number;
  epoch: number;
  value?: bigint;
  receiver?: number;
}

export interface CallResult<T> {
  exitCode: number;
  message?: string;
  ret?: T;
}

export const OWNER = 1000;
export const WORKER = 1001;
export const MINER = 1002;
export const OTHER = 1003;

/** A chain state with power, burnt funds, three accounts and one miner created at `createdAt`. */
export class ActorHarness {
  readonly data: StateData = emptyState();
  readonly root = new StateTree(this.data);
  readonly verifier = new DigestVerifier();

  constructor(
    readonly policy: Policy,
    createdAt = 0,
    minerBalance = 10n ** 21n,
  ) {
    const t = this.root;
    t.createSingleton(POWER_ACTOR, 'power', newPowerState());
    t.createSingleton(BURNT_FUNDS_ACTOR, 'burnt', {});
    t.createActor('account', {}, undefined, 10n ** 24n); // owner 1000
    t.createActor('account', {}, undefined, 10n ** 24n); // worker 1001
    const deposit = createMinerDeposit(policy);
    const st = constructMinerState(
      policy,
      idAddressCbor(MINER),
      createdAt,
      {
        owner: OWNER,
        worker: WORKER,
        controlAddresses: [],
        windowPoStProofType: 10,
        peerId: new Uint8Array(0),
        multiaddrs: [],
      },
      deposit,
    );
    t.createActor('miner', st, undefined, minerBalance + deposit);
    t.createActor('account', {}, undefined, 10n ** 24n); // other 1003
    registerMiner(t, MINER, 10);
    // the create-miner deposit is locked pledge: counted in the network total, released as it vests
    updatePledgeTotal(t, deposit);
    t.flush();
  }

  runtime(tree: StateTree, o: CallOpts): Runtime {
    return {
      policy: this.policy,
      epoch: o.epoch,
      receiver: o.receiver ?? MINER,
      caller: o.caller,
      valueReceived: o.value ?? 0n,
      tree,
      rand: testRandomness,
      verifier: this.verifier,
      addressCbor: idAddressCbor,
      chargeGas: () => {},
    };
  }

  /** Runs an actor method in its own layer: committed on success, dropped on abort. */
  async call<T>(o: CallOpts, fn: (rt: Runtime) => T | Promise<T>): Promise<CallResult<T>> {
    const layer = this.root.fork();
    try {
      if (o.value) layer.transfer(o.caller, o.receiver ?? MINER, o.value);
      const ret = await fn(this.runtime(layer, o));
      layer.commit();
      this.root.flush();
      return { exitCode: 0, ret };
    } catch (e) {
      if (e instanceof ActorError) return { exitCode: e.exitCode, message: e.message };
      throw e;
    }
  }

  /** Runs the power actor's cron for every epoch in (from, to], as the chain does at the end of each epoch. */
  async cron(from: number, to: number): Promise<void> {
    for (let e = from + 1; e <= to; e++) {
      // epochs without due events change nothing but the queue cursor: jump to the next due one
      const queue = this.root.stateOf<PowerState>(POWER_ACTOR).cronEventQueue;
      const next = Math.min(...Object.keys(queue).map(Number));
      if (next > e) e = Math.min(next, to);
      const layer = this.root.fork();
      const events = popCronEvents(layer, e);
      layer.commit();
      this.root.flush();
      for (const ev of events) {
        const r = await this.call({ caller: POWER_ACTOR, epoch: e, receiver: ev.minerId }, (rt) =>
          handleProvingDeadline(rt),
        );
        if (r.exitCode !== 0) throw new Error(`cron for miner ${ev.minerId} at ${e} failed: ${r.message}`);
      }
    }
  }

  get miner(): MinerState {
    return this.root.stateOf<MinerState>(MINER) as MinerState;
  }

  balance(id: number): bigint {
    return this.root.get(id)!.balance;
  }

  /** The whole state as text, to check that a failed call changed nothing. */
  snapshot(): string {
    return stringifyState(this.data);
  }
}

// ----- whole-node fixtures (node.test, lifecycle.test, vanilla.test)

export const FIL = 10n ** 18n;

/** A short proving period (4 deadlines of 20 epochs) so tests reach Window PoSt quickly. */
export const SHORT_PERIOD = {
  wpostChallengeWindow: 20,
  wpostPeriodDeadlines: 4,
  wpostChallengeLookback: 5,
  faultDeclarationCutoff: 10,
} as const;

/** A devnet node in `dir` whose genesis gives each key 1000 FIL (ids from 1000, in order). */
export function testNode(dir: string, o: { policy: Policy; seed: string; keys: Key[]; verifier: ProofVerifier }) {
  return DevnetNode.create(
    join(dir, 'chain.db'),
    {
      policy: o.policy,
      blockTimeMs: 100,
      genesisTimestamp: 1_700_000_000,
      seed: o.seed.repeat(32),
      accounts: o.keys.map((k) => ({ address: k.address.toString(), balance: 1000n * FIL })),
    },
    o.verifier,
  );
}

/** Signs, pushes and mines until the message has executed: its receipt, error and inclusion epoch. */
export async function applyMessage(
  node: DevnetNode,
  key: Key,
  m: Partial<Message> & Pick<Message, 'to'>,
  gasLimit = 2_000_000_000,
) {
  const msg = newMessage({
    from: key.address,
    nonce: node.mpoolNonce(key.address),
    gasLimit,
    gasFeeCap: 10n ** 9n,
    gasPremium: 100_000n,
    ...m,
  });
  const cid = node.mpoolPush(signMessage(key, msg));
  await node.mine();
  const included = node.head.height;
  await node.mine();
  const r = node.searchMsg(cid);
  if (!r) throw new Error(`message ${cid} did not execute`);
  return { ...r.receipt, error: node.receiptError(cid), epoch: included };
}

/** CreateMiner through the power actor (2KiB sectors' Window PoSt type), signed by `owner`: the new miner's address. */
export async function createTestMiner(
  node: DevnetNode,
  policy: Policy,
  owner: Key,
  worker: Key,
  gasLimit?: number,
): Promise<Address> {
  const r = await applyMessage(
    node,
    owner,
    {
      to: idAddress(POWER_ACTOR),
      method: 2,
      value: createMinerDeposit(policy),
      params: encodeCreateMinerParams({
        owner: owner.address,
        worker: worker.address,
        windowPoStProofType: 10,
        peer: new Uint8Array(0),
        multiaddrs: [],
      }),
    },
    gasLimit,
  );
  if (r.exitCode !== 0) throw new Error(`CreateMiner exited ${r.exitCode}: ${r.error}`);
  return decodeCreateMinerReturn(r.return).idAddress;
}
