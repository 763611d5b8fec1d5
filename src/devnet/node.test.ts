import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  blake2b256,
  encodeCbor,
  generateKey,
  idAddress,
  type Key,
  keyFromPrivate,
  type Message,
  newMessage,
  parseAddress,
  signMessage,
} from '../fil/index.js';
import { decodeCreateMinerReturn, encodeCreateMinerParams } from './codec.js';
import { ExitCode } from './exitcode.js';
import type { MinerState } from './miner.js';
import { DevnetNode } from './node.js';
import { createMinerDeposit, makePolicy } from './policy.js';
import { DigestVerifier } from './testkit.js';

const FIL = 10n ** 18n;

describe('devnet node: messages, receipts, persistence', () => {
  let dir: string;
  let node: DevnetNode;
  let alice: Key;
  let worker: Key;
  const policy = makePolicy();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'devnet-node-'));
    alice = keyFromPrivate('secp256k1', blake2b256(new TextEncoder().encode('alice')));
    worker = generateKey('bls');
    node = DevnetNode.create(
      join(dir, 'chain.db'),
      {
        policy,
        blockTimeMs: 100,
        genesisTimestamp: 1_700_000_000,
        seed: '00'.repeat(32),
        accounts: [
          { address: alice.address.toString(), balance: 1000n * FIL },
          { address: worker.address.toString(), balance: 1000n * FIL },
        ],
      },
      new DigestVerifier(),
    );
  });
  after(async () => {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(key: Key, m: Partial<Message> & Pick<Message, 'to'>) {
    const msg = await node.estimateMessageGas(
      newMessage({ from: key.address, nonce: node.mpoolNonce(key.address), ...m }),
    );
    const sm = signMessage(key, msg);
    return node.mpoolPush(sm);
  }

  test('genesis: accounts from f01000, builtin actors, block 0', () => {
    assert.equal(node.head.height, 0);
    assert.equal(node.lookupId(alice.address), 1000);
    assert.equal(node.lookupId(worker.address), 1001);
    assert.equal(node.state.actors[1000]!.balance, 1000n * FIL);
    assert.equal(node.state.actors[4]!.kind, 'power');
  });

  test('a signed transfer lands with exit 0, creates the receiving account and charges gas', async () => {
    const bob = keyFromPrivate('secp256k1', blake2b256(new TextEncoder().encode('bob')));
    const cid = await send(alice, { to: bob.address, value: 5n * FIL });
    await node.mine(); // includes
    assert.equal(node.searchMsg(cid), undefined);
    await node.mine(); // executes
    const r = node.searchMsg(cid)!;
    assert.equal(r.receipt.exitCode, 0);
    assert.equal(r.height, 2);
    const bobId = node.lookupId(bob.address)!;
    assert.equal(node.state.actors[bobId]!.balance, 5n * FIL);
    const spent = 1000n * FIL - node.state.actors[1000]!.balance;
    assert.ok(spent > 5n * FIL, 'gas was paid');
    assert.equal(node.state.actors[1000]!.nonce, 1);
    // total supply is conserved: what alice lost went to bob, the burnt-funds actor and the reward actor
    const burnt = node.state.actors[99]!.balance;
    const tip = node.state.actors[2]!.balance;
    assert.equal(spent, 5n * FIL + burnt + tip);
    // waiting with confidence
    const w = await node.waitMsg(cid, 0);
    assert.equal(w.height, 2);
  });

  test('mempool refuses bad nonces, bad signatures and unfunded messages', async () => {
    const base = await node.estimateMessageGas(
      newMessage({ from: alice.address, to: worker.address, value: 1n, nonce: node.mpoolNonce(alice.address) }),
    );
    assert.throws(() => node.mpoolPush(signMessage(alice, { ...base, nonce: 0 })), /nonce too low/);
    const forged = signMessage(worker, base);
    assert.throws(() => node.mpoolPush(forged), /signature/);
    const tooMuch = signMessage(alice, { ...base, value: 10_000n * FIL });
    assert.throws(() => node.mpoolPush(tooMuch), /not enough funds/);
  });

  let minerId: number;
  test('CreateMiner through the power actor returns [IDAddress, RobustAddress] and locks the deposit', async () => {
    const params = encodeCreateMinerParams({
      owner: alice.address,
      worker: worker.address,
      windowPoStProofType: 10,
      peer: new Uint8Array(0),
      multiaddrs: [],
    });
    const cid = await send(alice, { to: idAddress(4), method: 2, params, value: createMinerDeposit(policy) });
    await node.mine();
    await node.mine();
    const r = node.searchMsg(cid)!;
    assert.equal(r.receipt.exitCode, 0, node.receiptError(cid));
    const ret = decodeCreateMinerReturn(r.receipt.return);
    minerId = ret.idAddress.id();
    assert.equal(ret.robustAddress.protocol, 2);
    assert.equal(node.lookupId(ret.robustAddress), minerId);
    const st = node.state.actors[minerId]!.state as MinerState;
    assert.equal(st.info.owner, 1000);
    assert.equal(st.info.worker, 1001);
    assert.equal(st.lockedFunds, createMinerDeposit(policy));
  });

  test('a failing call is included with its exit code; only gas and the nonce change', async () => {
    // a secp256k1 worker is refused: estimation reports the failure…
    const bad = encodeCreateMinerParams({
      owner: alice.address,
      worker: alice.address,
      windowPoStProofType: 10,
      peer: new Uint8Array(0),
      multiaddrs: [],
    });
    await assert.rejects(
      node.estimateMessageGas(newMessage({ from: alice.address, to: idAddress(4), method: 2, params: bad })),
      /exit ErrIllegalArgument\(16\)/,
    );
    // …and pushed anyway with a hand-set gas limit, it lands with exit 16
    const nonce = node.mpoolNonce(alice.address);
    const m = newMessage({
      from: alice.address,
      to: idAddress(4),
      method: 2,
      params: bad,
      nonce,
      gasLimit: 50_000_000,
      gasFeeCap: 10n ** 9n,
      gasPremium: 100_000n,
    });
    const actorsBefore = Object.keys(node.state.actors).length;
    const cid = node.mpoolPush(signMessage(alice, m));
    await node.mine();
    await node.mine();
    const r = node.searchMsg(cid)!;
    assert.equal(r.receipt.exitCode, ExitCode.ErrIllegalArgument);
    assert.match(node.receiptError(cid)!, /must have BLS pubkey/);
    assert.equal(Object.keys(node.state.actors).length, actorsBefore);
    assert.equal(node.state.actors[1000]!.nonce, nonce + 1);
    // an unknown method on the miner
    const cid2 = await (async () => {
      const mm = newMessage({
        from: alice.address,
        to: idAddress(minerId),
        method: 99,
        params: encodeCbor([]),
        nonce: node.mpoolNonce(alice.address),
        gasLimit: 50_000_000,
        gasFeeCap: 10n ** 9n,
        gasPremium: 100_000n,
      });
      return node.mpoolPush(signMessage(alice, mm));
    })();
    await node.mine();
    await node.mine();
    assert.equal(node.searchMsg(cid2)!.receipt.exitCode, ExitCode.ErrUnhandledMessage);
  });

  test('restart resumes at the same height with the same state', async () => {
    const height = node.head.height;
    const headCid = node.head.cid.toString();
    const balances = JSON.stringify(Object.values(node.state.actors).map((a) => [a.id, a.balance.toString(), a.nonce]));
    await node.close();
    node = DevnetNode.open(join(dir, 'chain.db'), new DigestVerifier());
    assert.equal(node.head.height, height);
    assert.equal(node.head.cid.toString(), headCid);
    assert.equal(
      JSON.stringify(Object.values(node.state.actors).map((a) => [a.id, a.balance.toString(), a.nonce])),
      balances,
    );
    assert.equal((node.state.actors[minerId]!.state as MinerState).info.worker, 1001);
    // and keeps going
    const next = await node.mine();
    assert.equal(next.height, height + 1);
    assert.equal(next.block.parents[0]!.toString(), headCid);
    assert.equal(node.lookupId(parseAddress(`t0${minerId}`)), minerId);
  });
});
