/**
 * The devnet messager's nonces: messages from one address, pushed in bursts while blocks are produced and the
 * wallet signs slowly, get distinct consecutive nonces and all land; a message included in the head but not yet
 * executed, a foreign message taking the nonce while the wallet signs, a foreign message replacing one in the
 * mempool, a replacement of the message itself, and a restart never make two messages share a nonce.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, test } from 'node:test';
import { MessagerErrorCode, MessageState } from '../api/messager.js';
import { setupLogging } from '../common/log.js';
import {
  blake2b256,
  keyFromPrivate,
  type Message,
  newMessage,
  type SignedMessage,
  setDefaultNetwork,
  signedMessageCid,
  signMessage,
  signWithKey,
} from '../fil/index.js';
import { Messager, type MessageSigner } from './messager.js';
import { DevnetNode } from './node.js';
import { makePolicy } from './policy.js';
import { DigestVerifier } from './testkit.js';

setupLogging({ levelSpec: process.env.TEST_LOG ?? 'silent' });
setDefaultNetwork('t');
const FIL = 10n ** 18n;
const dir = mkdtempSync(join(tmpdir(), 'devnet-messager-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const alice = keyFromPrivate('secp256k1', blake2b256(new TextEncoder().encode('messager alice')));
const bob = keyFromPrivate('secp256k1', blake2b256(new TextEncoder().encode('messager bob')));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface TestSigner extends MessageSigner {
  signed: number;
  /** false: no wallet registered (fills wait) */
  online: boolean;
  /** runs after the delay, before the signature is returned (while the fill waits for it) */
  onSign?: (n: number) => Promise<unknown> | undefined;
}

/** Signs with the test keys after `delay()` ms, so blocks can be produced while a fill waits for its signature. */
function signer(delay: () => number): TestSigner {
  const byAddr = new Map([alice, bob].map((k) => [k.address.toString(), k]));
  const s: TestSigner = {
    signed: 0,
    online: true,
    has: (a) => s.online && byAddr.has(a),
    sign: async (a, _accounts, toSign) => {
      await sleep(delay());
      await s.onSign?.(++s.signed);
      return signWithKey(byAddr.get(a)!, toSign);
    },
  };
  return s;
}

function createNode(path: string): DevnetNode {
  const node = DevnetNode.create(
    path,
    {
      policy: makePolicy(),
      blockTimeMs: 100,
      genesisTimestamp: 1_700_000_000,
      seed: '11'.repeat(32),
      accounts: [
        { address: alice.address.toString(), balance: 1000n * FIL },
        { address: bob.address.toString(), balance: 1000n * FIL },
      ],
    },
    new DigestVerifier(),
  );
  node.wallet.set(alice.address.key(), alice);
  return node;
}

const transfer = (i: number) => newMessage({ from: alice.address, to: bob.address, value: BigInt(i + 1) });

/** Mines and lets the messager catch up until every id is executed (or the round budget is spent). */
async function settle(node: DevnetNode, m: Messager, ids: string[], rounds = 80): Promise<void> {
  const done = (id: string) => m.get(id).Receipt !== null;
  for (let i = 0; i < rounds; i++) {
    await m.idle();
    if (ids.every(done)) return;
    await node.mine();
  }
  const states = ids.filter((id) => !done(id)).map((id) => `${id}: state ${m.get(id).State} ${m.get(id).ErrorMsg}`);
  assert.fail(`not executed:\n${states.join('\n')}`);
}

/** Nonces of alice's executed messages `cids` plus the messager's `ids`: exit 0, no repeat, exactly 0..n-1. */
function assertAllNonces(node: DevnetNode, m: Messager, ids: string[], foreign: string[] = []): void {
  const nonces: number[] = [];
  for (const id of ids) {
    const r = m.get(id);
    assert.equal(r.State, MessageState.OnChainMsg, `${id}: ${r.ErrorMsg}`);
    assert.equal(r.Receipt?.ExitCode, 0, id);
    assert.ok(node.searchMsg(r.SignedCid!['/']), `${id}: its signed CID is the one executed`);
    nonces.push(r.Nonce);
  }
  for (const cid of foreign) {
    assert.equal(node.searchMsg(cid)?.receipt.exitCode, 0, `foreign ${cid}`);
    nonces.push(node.getMessage(cid)!.message.nonce);
  }
  nonces.sort((a, b) => a - b);
  assert.deepEqual(
    nonces,
    nonces.map((_, i) => i),
    'every nonce from 0 once',
  );
  assert.equal(node.state.actors[node.lookupId(alice.address)!]!.nonce, nonces.length);
}

test('a message pushed while the previous one is in the head (included, not executed) takes the next nonce', async () => {
  const node = createNode(join(dir, 'head.db'));
  const m = new Messager(
    node,
    signer(() => 0),
  );
  try {
    const a = m.push('a', transfer(0), null, 'acct');
    await m.idle();
    await node.mine(); // a is in the head now; alice's state nonce moves only when the next tipset executes it
    assert.equal(node.state.actors[node.lookupId(alice.address)!]!.nonce, 0);
    assert.equal(node.mpoolNonce(alice.address), 1, 'MpoolGetNonce counts the head');
    const b = m.push('b', transfer(1), null, 'acct');
    await m.idle();
    assert.equal(m.get(b).Nonce, 1);
    // and the mempool refuses a nonce the head already holds
    const dup = signMessage(alice, await node.estimateMessageGas({ ...transfer(9), nonce: 0 }));
    assert.throws(() => node.mpoolPush(dup), /nonce too low: 0 < 1/);
    await settle(node, m, [a, b]);
    assertAllNonces(node, m, [a, b]);
  } finally {
    m.close();
    await m.idle();
    await node.close();
  }
});

test('bursts of messages from one address while blocks are produced, the wallet is slow and others push: all land, every nonce once', async () => {
  const node = createNode(join(dir, 'burst.db'));
  const s = signer(() => Math.floor(Math.random() * 8));
  const m = new Messager(node, s);
  const foreign: string[] = [];
  // every 5th signature: a MpoolPushMessage from alice elsewhere takes the nonce the fill waits to use
  s.onSign = (n) => {
    // with a low premium: a fill that went on with the same nonce would evict it from the mempool (RBF)
    if (n % 5 === 0)
      return node.mpoolPushMessage({ ...transfer(1000 + n), gasPremium: 1000n }).then((sm) => foreign.push(cidOf(sm)));
    return undefined;
  };
  let mining = true;
  const miner = (async () => {
    while (mining) {
      await node.mine();
      await sleep(3);
    }
  })();
  const ids: string[] = [];
  try {
    for (let burst = 0; burst < 6; burst++) {
      for (let i = 0; i < 5; i++) ids.push(m.push(`m${burst}-${i}`, transfer(burst * 5 + i), null, 'acct'));
      await sleep(Math.floor(Math.random() * 20));
    }
    await m.idle();
  } finally {
    mining = false;
    await miner;
  }
  try {
    await settle(node, m, ids);
    assert.ok(foreign.length > 0, 'foreign messages raced the fills');
    assertAllNonces(node, m, ids, foreign);
  } finally {
    m.close();
    await m.idle();
    await node.close();
  }
});

test('a pending message replaced in the mempool: by another call it is filled again, by itself (more gas) it follows the replacement', async () => {
  const node = createNode(join(dir, 'replace.db'));
  const m = new Messager(
    node,
    signer(() => 0),
  );
  try {
    // another call with the same nonce and a higher premium evicts ours from the mempool
    const a = m.push('a', transfer(0), null, 'acct');
    await m.idle();
    const ours = m.get('a');
    const other = signMessage(
      alice,
      bump({ ...transfer(77), nonce: ours.Nonce }, await node.estimateMessageGas(transfer(77))),
    );
    node.mpoolPush(other);
    await node.mine();
    await node.mine();
    await m.idle();
    const refilled = m.get(a);
    assert.ok(refilled.Nonce > ours.Nonce || refilled.State === MessageState.UnFillMsg, JSON.stringify(refilled));
    await settle(node, m, [a]);
    assertAllNonces(node, m, [a], [cidOf(other)]);

    // the same call re-signed with more gas (`mpool replace`): the record follows the replacement
    const b = m.push('b', transfer(1), null, 'acct');
    await m.idle();
    const mine = m.get(b);
    const replacement = signMessage(
      alice,
      bump({ ...transfer(1), nonce: mine.Nonce, gasLimit: mine.GasLimit }, await node.estimateMessageGas(transfer(1))),
    );
    node.mpoolPush(replacement);
    const waiting = m.wait(b, 1);
    for (let i = 0; i < 4; i++) await node.mine();
    const rec = await waiting;
    assert.equal(rec.State, MessageState.NonceConflictMsg);
    assert.equal(rec.SignedCid?.['/'], cidOf(replacement));
    assert.equal(rec.Receipt?.ExitCode, 0);
    assert.ok(rec.Confidence > 1);
    assert.equal(rec.Nonce, mine.Nonce);
  } finally {
    m.close();
    await m.idle();
    await node.close();
  }
});

test('across a restart: messages filled, pending and not yet filled keep distinct consecutive nonces', async () => {
  const path = join(dir, 'restart.db');
  let node = createNode(path);
  const s1 = signer(() => 1);
  // the wallet goes away after 4 signatures: the rest stay UnFillMsg over the restart
  s1.onSign = (n) => {
    if (n >= 4) s1.online = false;
    return undefined;
  };
  let m = new Messager(node, s1);
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) ids.push(m.push(`r${i}`, transfer(i), null, 'acct'));
  await m.idle();
  await node.mine(); // some in the head
  await m.idle();
  const before = ids.map((id) => m.get(id).State);
  assert.ok(before.includes(MessageState.FillMsg) && before.includes(MessageState.UnFillMsg), `${before}`);
  m.close();
  await m.idle();
  await node.close();

  node = DevnetNode.open(path, new DigestVerifier());
  m = new Messager(
    node,
    signer(() => Math.floor(Math.random() * 4)),
  );
  try {
    for (let i = 8; i < 14; i++) ids.push(m.push(`r${i}`, transfer(i), null, 'acct'));
    assert.equal(m.push('r0', transfer(0), null, 'acct'), 'r0', 'a known id is not pushed twice');
    await settle(node, m, ids);
    assertAllNonces(node, m, ids);
  } finally {
    m.close();
    await m.idle();
    await node.close();
  }
});

/** `m` with the gas of `est` and a premium high enough to replace a message in the mempool. */
function bump(m: Message, est: Message): Message {
  const gasPremium = est.gasPremium * 2n + 1000n;
  return {
    ...m,
    gasLimit: m.gasLimit || est.gasLimit,
    gasPremium,
    gasFeeCap: est.gasFeeCap > gasPremium ? est.gasFeeCap : gasPremium,
  };
}

function cidOf(sm: SignedMessage): string {
  return signedMessageCid(sm).toString();
}

test('no wallet for the sender: the message waits with the reason in its record, a WARN once per message, then once a minute per address', async () => {
  const node = createNode(join(dir, 'nowallet.db'));
  const s = signer(() => 0);
  s.online = false;
  const m = new Messager(node, s);
  const lines: { level: string; msg: string }[] = [];
  setupLogging({
    levelSpec: 'info',
    format: 'json',
    dest: new Writable({
      write(chunk, _enc, cb) {
        for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    }),
  });
  try {
    const a = m.push('wait-a', transfer(0), null, 'devnet');
    await m.idle();
    const b = m.push('wait-b', transfer(1), null, 'devnet');
    await m.idle();
    for (let i = 0; i < 5; i++) {
      await node.mine();
      await m.idle();
    }
    const rec = m.get(a);
    assert.equal(rec.State, MessageState.UnFillMsg);
    assert.equal(
      rec.ErrorMsg,
      `no wallet registered for account "devnet" holds ${alice.address.toString()} (is venus-wallet running, unlocked and registered?)`,
    );
    assert.equal(rec.ErrorCode, MessagerErrorCode.WalletUnavailable, 'the reason as a code the manager reads');
    const warns = lines.filter((l) => l.level === 'warn' && / waits: no wallet registered/.test(l.msg));
    assert.deepEqual(
      warns.map((w) => w.msg.split(' from ')[0]),
      ['message wait-a', 'message wait-b'],
      'one WARN per message, none on the following heads (within a minute)',
    );
    assert.match(warns[0]!.msg, new RegExp(`^message wait-a from ${alice.address.toString()} waits: `));
    s.online = true; // venus-wallet unlocked and registered
    await settle(node, m, [a, b]);
    assert.equal(m.get(a).ErrorMsg, '');
    assert.equal(m.get(a).ErrorCode, undefined);
  } finally {
    setupLogging({ levelSpec: process.env.TEST_LOG ?? 'silent', format: 'text', dest: process.stderr });
    m.close();
    await m.idle();
    await node.close();
  }
});

test('SendSpec.expireEpoch: a message is not sent from a head at that epoch on, also when the head gets there while the wallet signs; one before it lands', async () => {
  const node = createNode(join(dir, 'expire.db'));
  const s = signer(() => 0);
  const m = new Messager(node, s);
  const spec = (expireEpoch: number) => ({
    expireEpoch,
    gasOverEstimation: 0,
    maxFee: '0',
    maxFeeCap: '0',
    gasOverPremium: 0,
  });
  try {
    for (let i = 0; i < 3; i++) await node.mine();
    const h = node.head.height;
    // expired already: never signed, never in the mempool
    const late = m.push('late', transfer(0), spec(h), 'acct');
    await m.idle();
    assert.equal(m.get(late).State, MessageState.FailedMsg);
    assert.equal(m.get(late).ErrorMsg, `expired: not sent from epoch ${h} on (head ${h})`);
    assert.equal(m.get(late).ErrorCode, MessagerErrorCode.Expired);
    assert.equal(m.get(late).SignedCid, null);
    assert.equal(s.signed, 0, 'not signed');
    // the head reaches the expiry while the wallet signs: not pushed either
    s.onSign = () => node.mine();
    const racing = m.push('racing', transfer(1), spec(h + 1), 'acct');
    await m.idle();
    assert.equal(m.get(racing).State, MessageState.FailedMsg, m.get(racing).ErrorMsg);
    assert.match(m.get(racing).ErrorMsg, /^expired: not sent from epoch \d+ on/);
    assert.equal(node.mpoolNonce(alice.address), 0, 'nothing in the mempool');
    // in time: sent and landed (0: no expiry, as before)
    s.onSign = undefined;
    const ok = m.push('ok', transfer(2), spec(node.head.height + 5), 'acct');
    const plain = m.push('plain', transfer(3), spec(0), 'acct');
    await settle(node, m, [ok, plain]);
    assertAllNonces(node, m, [ok, plain]);
  } finally {
    m.close();
    await m.idle();
    await node.close();
  }
});
