/**
 * Gateway registration against the in-test gateway of testkit.ts, which speaks docs/spec/chain.md §Gateway protocol as
 * sophon-gateway does: WalletList, a verifyaddress challenge per address, InitConnect; then Gateway.WalletSign routed
 * to the wallet.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { GATEWAY_RPC_PATHS, GatewayAPI } from '../api/gateway.js';
import { setupLogging } from '../common/log.js';
import {
  checkSignature,
  encodeMessage,
  generateKey,
  messageCid,
  newMessage,
  parseAddress,
  signatureFromJSON,
  toBase64,
} from '../fil/index.js';
import { createClient, createToken, generateSecret, RpcServer } from '../rpc/index.js';
import { GatewayHub, gatewayEndpoint } from './gateway-client.js';
import { KeyStore } from './keystore.js';
import { MiniGateway } from './testkit.js';
import { Wallet } from './wallet.js';

setupLogging({ levelSpec: 'warn' });

const secret = generateSecret();
const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function startGateway(opts: ConstructorParameters<typeof MiniGateway>[0] = {}, port = 0) {
  const gw = new MiniGateway(opts);
  const server = new RpcServer({ auth: secret, paths: [...GATEWAY_RPC_PATHS] });
  server.register(GatewayAPI, gw);
  const addr = await server.listen({ host: '127.0.0.1', port });
  cleanups.push(() => server.close());
  return { gw, server, port: addr.port, multiaddr: `/ip4/127.0.0.1/tcp/${addr.port}` };
}

async function newWallet(password = 'pw') {
  const ks = new KeyStore(join(mkdtempSync(join(tmpdir(), 'gwc-')), 'keystore.sqlit'), { scryptN: 1024, scryptP: 1 });
  cleanups.push(() => ks.close());
  const w = new Wallet(ks, { network: 't' });
  if (password) await w.setPassword(password);
  return w;
}

async function startHub(wallet: Wallet, urls: string[], accounts: string[] = ['miner-ops']) {
  const hub = new GatewayHub({
    urls,
    token: await createToken(secret, 'sign', { name: 'wallet-acct' }),
    supportAccounts: accounts,
    wallet,
    retryInitialMs: 50,
    retryMaxMs: 200,
  });
  hub.start();
  cleanups.push(() => hub.stop());
  return hub;
}

function once<T extends unknown[]>(em: MiniGateway, ev: string, ms = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no ${ev} within ${ms} ms`)), ms);
    em.once(ev, (...args: unknown[]) => {
      clearTimeout(t);
      resolve(args as T);
    });
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('gateway registration (docs/spec/chain.md §Gateway protocol)', () => {
  let gw: MiniGateway;
  let gwServer: RpcServer;
  let port: number;
  let wallet: Wallet;
  let hub: GatewayHub;
  let messager: ReturnType<typeof createClient<typeof GatewayAPI>>;
  const logLines: string[] = [];

  before(async () => {
    ({ gw, port, server: gwServer } = await startGateway());
    wallet = await newWallet();
    await wallet.newKey('bls');
    await wallet.newKey('secp256k1');
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => logLines.push(c.toString()));
    setupLogging({ levelSpec: 'warn,wallet_event=info', format: 'text', dest: sink });
    const registered = once<[string, string]>(gw, 'registered');
    hub = await startHub(wallet, [`/ip4/127.0.0.1/tcp/${port}`]);
    await registered;
    await until(() => hub.status()[0]?.channelId !== undefined);
    messager = createClient(GatewayAPI, {
      url: `ws://127.0.0.1:${port}/rpc/v2`,
      token: await createToken(secret, 'admin', { name: 'miner-ops' }),
    });
    cleanups.push(() => messager.close());
  });

  after(() => setupLogging({ levelSpec: 'warn', format: 'text', dest: process.stderr }));

  it('registers every address after proving it, and logs "connect to server <channel>" with the api hub', async () => {
    const [conn] = gw.connections();
    assert.ok(conn);
    assert.equal(conn.account, 'wallet-acct');
    assert.deepEqual(conn.supportAccounts.sort(), ['miner-ops', 'wallet-acct']);
    assert.deepEqual(
      conn.addrs.sort(),
      wallet
        .list()
        .map((a) => wallet.format(a))
        .sort(),
    );
    // InitConnect reaches the wallet right after the gateway registered it
    await until(() => hub.status()[0]?.channelId === conn.channelId);
    await until(() => logLines.some((l) => l.includes(`connect to server ${conn.channelId}`)));
    const line = logLines.find((l) => l.includes(`connect to server ${conn.channelId}`))!;
    assert.match(
      line,
      /INFO\s+wallet_event\s+connect to server [0-9a-f-]{36}\s+\{"api hub":"\/ip4\/127\.0\.0\.1\/tcp\/\d+"\}/,
    );
  });

  it('routes Gateway.WalletSign for a chain message to the wallet, and the signature verifies', async () => {
    const [from] = wallet.list();
    const msg = newMessage({ to: parseAddress('t01000'), from: from!, nonce: 4, value: 10n, gasLimit: 1000 });
    const cid = messageCid(msg).bytes;
    assert.equal(await messager.WalletHas(wallet.format(from!), ['miner-ops']), true);
    const sig = await messager.WalletSign(wallet.format(from!), ['miner-ops'], toBase64(cid), {
      Type: 'message',
      Extra: toBase64(encodeMessage(msg)),
    });
    checkSignature(signatureFromJSON(sig), from!, cid);
  });

  it("passes the wallet's refusals back, and serves only its accounts and addresses", async () => {
    const [a, b] = wallet.list();
    const msg = newMessage({ to: parseAddress('t01000'), from: a!, nonce: 1 });
    // signer is not the message's From
    await assert.rejects(
      messager.WalletSign(wallet.format(b!), ['miner-ops'], toBase64(messageCid(msg).bytes), {
        Type: 'message',
        Extra: toBase64(encodeMessage(msg)),
      }),
      /is not msg sender/,
    );
    const stranger = generateKey('bls').address.toString('t');
    assert.equal(await messager.WalletHas(stranger, ['miner-ops']), false);
    assert.equal(await messager.WalletHas(wallet.format(a!), ['someone-else']), false);
    await assert.rejects(
      messager.WalletSign(wallet.format(a!), ['someone-else'], toBase64(new Uint8Array(4)), { Type: 'unknown' }),
      /no wallet connection/,
    );
  });

  it('announces new keys (verified by the gateway), removed keys, and new support accounts', async () => {
    const c = await wallet.newKey('secp256k1');
    await until(() => gw.connections()[0]!.addrs.includes(wallet.format(c)));
    assert.equal(await messager.WalletHas(wallet.format(c), ['miner-ops']), true);
    await wallet.deleteKey(c, 'pw');
    await until(() => !gw.connections()[0]!.addrs.includes(wallet.format(c)));
    await hub.addSupportAccount('market');
    assert.ok(gw.connections()[0]!.supportAccounts.includes('market'));
    assert.ok(hub.supportAccounts().includes('market'));
  });

  it('re-registers with a new channel after the gateway restarts on the same address', async () => {
    const old = gw.connections()[0]!.channelId;
    // a fresh gateway process: close the server, listen again on the same port
    await gwServer.close();
    const again = await startGateway({}, port);
    const registered = once<[string, string]>(again.gw, 'registered', 8000);
    const [channelId] = await registered;
    assert.notEqual(channelId, old);
    await until(() => hub.status()[0]?.channelId === channelId);
    gw = again.gw;
  });
});

describe('gateway registration: failures', () => {
  // refusals are logged at error level by design; keep the test output readable
  before(() => setupLogging({ levelSpec: 'silent' }));
  after(() => setupLogging({ levelSpec: 'warn' }));

  it('a locked wallet waits for unlock without trying the gateway, saying so once a minute; unlock registers it', async () => {
    const { gw, multiaddr } = await startGateway();
    const wallet = await newWallet();
    await wallet.newKey('bls');
    await wallet.lock('pw');
    const lines: string[] = [];
    const sink = new PassThrough();
    sink.on('data', (c: Buffer) => lines.push(...c.toString().split('\n').filter(Boolean)));
    setupLogging({ levelSpec: 'info', format: 'text', dest: sink });
    let attempts = 0;
    gw.on('refused', () => attempts++);
    const hub = new GatewayHub({
      urls: [multiaddr],
      token: await createToken(secret, 'sign', { name: 'wallet-acct' }),
      supportAccounts: ['miner-ops'],
      wallet,
      retryInitialMs: 20,
      retryMaxMs: 40,
      lockedWarnEveryMs: 400,
    });
    hub.start();
    cleanups.push(() => hub.stop());
    await new Promise((r) => setTimeout(r, 1000));
    setupLogging({ levelSpec: 'silent' });
    assert.equal(attempts, 0);
    assert.equal(gw.connections().length, 0);
    const warns = lines.filter((l) => /WARN/.test(l) && /wallet_event/.test(l));
    // 1000 ms at one warning per 400 ms: 3 at most (at 0, 400, 800), never one per retry
    assert.ok(warns.length >= 2 && warns.length <= 3, lines.join('\n'));
    for (const w of warns)
      assert.match(w, /wallet is locked, so it cannot register with the gateway: run `venus-wallet unlock`/);
    assert.equal(lines.filter((l) => /ERROR/.test(l)).length, 0, lines.join('\n'));
    const registered = once(gw, 'registered');
    await wallet.unlock('pw');
    await registered;
    assert.equal(gw.connections().length, 1);
  });

  it('the wallet refuses a challenge that is not sha256(gateway random ‖ its SignBytes)', async () => {
    const { gw, multiaddr } = await startGateway({ tamperChallenge: true });
    const wallet = await newWallet();
    await wallet.newKey('secp256k1');
    const refused = once<[string]>(gw, 'refused');
    await startHub(wallet, [multiaddr]);
    const [why] = await refused;
    assert.match(why, /does not match the challenge/);
  });

  it('an empty wallet registers with no addresses; a bad token keeps retrying without registering', async () => {
    const { gw, multiaddr } = await startGateway();
    const wallet = await newWallet('');
    const registered = once(gw, 'registered');
    await startHub(wallet, [multiaddr]);
    await registered;
    assert.deepEqual(gw.connections()[0]!.addrs, []);

    const other = await startGateway();
    const hub = new GatewayHub({
      urls: [other.multiaddr],
      token: await createToken(generateSecret(), 'sign', { name: 'x' }),
      supportAccounts: [],
      wallet,
      retryInitialMs: 20,
      retryMaxMs: 40,
    });
    hub.start();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(other.gw.connections().length, 0);
    assert.equal(hub.status()[0]?.channelId, undefined);
    await hub.stop();
  });

  it('gateway endpoints: multiaddrs without scheme are ws, /rpc/v1 as the original wallet dials', () => {
    assert.deepEqual(gatewayEndpoint('/ip4/10.0.0.1/tcp/45132'), { url: 'ws://10.0.0.1:45132/rpc/v1' });
    assert.deepEqual(gatewayEndpoint('/ip4/10.0.0.1/tcp/45132/http'), { url: 'ws://10.0.0.1:45132/rpc/v1' });
    assert.deepEqual(gatewayEndpoint('wss://gw.example:443'), { url: 'wss://gw.example:443/rpc/v1' });
    const tok = 'eyJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiYSJ9.c2ln';
    assert.deepEqual(gatewayEndpoint(`${tok}:/ip4/1.2.3.4/tcp/1`), { url: 'ws://1.2.3.4:1/rpc/v1', token: tok });
  });
});
