/**
 * The wallet password as a server-side guard (an admin token alone cannot take or destroy a key, nor mint a
 * sign/admin token), the wrong-password backoff counted per caller, and no fragment of a key in any reply or log.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { WalletAPI } from '../api/wallet.js';
import { setupLogging } from '../common/log.js';
import { createClient, createToken, generateSecret, RpcServer } from '../rpc/index.js';
import { GatewayHub } from './gateway-client.js';
import { KeyStore } from './keystore.js';
import { WalletService } from './service.js';
import { Wallet } from './wallet.js';

const logs: string[] = [];
const sink = new PassThrough();
sink.on('data', (c: Buffer) => logs.push(c.toString()));
setupLogging({ levelSpec: 'debug', format: 'json', dest: sink });

const SECP_KEY = { Type: 'secp256k1' as const, PrivateKey: '8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=' };

describe('wallet API: the password guards keys, and nothing leaks them', () => {
  const secret = generateSecret();
  let server: RpcServer;
  let url: string;
  let ks: KeyStore;
  let operator: string;
  let addr: string;
  let service: WalletService;
  const client = (token: string) => createClient(WalletAPI, { url, token });

  before(async () => {
    ks = new KeyStore(join(mkdtempSync(join(tmpdir(), 'wsec-')), 'keystore.sqlit'), { scryptN: 1024, scryptP: 1 });
    const wallet = new Wallet(ks, { network: 't' });
    const hub = new GatewayHub({ urls: [], token: '', supportAccounts: [], wallet });
    server = new RpcServer({ auth: secret, paths: ['/rpc/v0'] });
    service = new WalletService({ wallet, secret, hub, logLevelSpec: 'debug' });
    server.register(WalletAPI, service);
    const { port } = await server.listen(0);
    url = `http://127.0.0.1:${port}/rpc/v0`;
    operator = await createToken(secret, 'admin', { style: 'lotus' });
    await client(operator).SetPassword('right');
    addr = await client(operator).WalletImport(SECP_KEY);
  });
  after(async () => {
    await server.close();
    ks.close();
  });

  it('an admin token without the password cannot export, delete or mint sign/admin tokens', async () => {
    const admin = client(operator);
    // the original's one-param call is refused by arity; a wrong password by the wallet
    const raw = async (method: string, params: unknown[]) => {
      const r = await fetch(url, {
        method: 'POST',
        headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: `Filecoin.${method}`, params }),
      });
      return ((await r.json()) as { error?: { message: string }; result?: unknown }).error?.message ?? 'no error';
    };
    assert.match(await raw('WalletExport', [addr]), /wrong param count/);
    assert.match(await raw('WalletDelete', [addr]), /wrong param count/);
    assert.match(await raw('AuthNew', [['admin']]), /wrong param count/);
    await assert.rejects(admin.WalletExport(addr, 'guess'), /wrong password/);
    await assert.rejects(admin.WalletDelete(addr, ''), /wrong password/);
    // (a third wrong password from the same caller would start its backoff: another admin token tries this one)
    const other = client(await createToken(secret, 'admin', { name: 'other' }));
    await assert.rejects(other.AuthNew(['sign'], 'guess'), /wrong password/);
    // state intact: the key is still there; read tokens need no password
    assert.equal(await admin.WalletHas(addr), true);
    assert.ok((await admin.AuthNew(['read'], '')).length > 0);
    // with the password, all three work
    assert.deepEqual(await admin.WalletExport(addr, 'right'), SECP_KEY);
    const tok = Buffer.from(await admin.AuthNew(['admin'], 'right'), 'base64').toString();
    assert.deepEqual(await admin.AuthVerify(tok), ['read', 'write', 'sign', 'admin']);
  });

  it('a client guessing passwords only delays itself: the operator still unlocks and exports', async () => {
    const attacker = client(await createToken(secret, 'admin', { name: 'intruder' }));
    for (let i = 0; i < 3; i++) await assert.rejects(attacker.VerifyPassword(`guess${i}`), /wrong password/);
    await assert.rejects(attacker.VerifyPassword('guess3'), /wrong password/);
    await assert.rejects(attacker.VerifyPassword('right'), /too many wrong passwords; try again in \d+s/);
    // the operator's own token is another source
    const admin = client(operator);
    await admin.Lock('right');
    await admin.Unlock('right');
    assert.deepEqual(await admin.WalletExport(addr, 'right'), SECP_KEY);
  });

  it('LogSetLevel keeps one entry per subsystem however often it is called', async () => {
    const admin = client(operator);
    for (let i = 0; i < 50; i++) await admin.LogSetLevel('wallet', i % 2 ? 'debug' : 'info');
    await admin.LogSetLevel('rpc', 'warn');
    assert.equal((service as unknown as { logSpec: string }).logSpec, 'debug,wallet=debug,rpc=warn');
    await assert.rejects(admin.LogSetLevel('x'.repeat(65), 'info'), /too long/);
    await admin.LogSetLevel('*', 'debug');
    assert.equal((service as unknown as { logSpec: string }).logSpec, 'debug');
  });

  it('malformed keys are refused without a fragment of the key in the reply or the log', async () => {
    const admin = client(operator);
    const frag = 'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo';
    const bad = [
      `{"Type":"bls","PrivateKey":${frag}}`, // not JSON: V8 quotes the text around the error
      `{"Type":"bls","PrivateKey":"${frag}"}`, // not base64 of a valid length
      `{"Type":"${frag}","PrivateKey":"AA=="}`, // the key pasted into Type
      { Type: 'bls', PrivateKey: `${frag}!` },
      { Type: frag, PrivateKey: 'AAAA' },
    ];
    const errors: string[] = [];
    for (const k of bad) {
      await admin.WalletImport(k as never).then(
        () => assert.fail('a malformed key was imported'),
        (e: Error) => errors.push(e.message),
      );
    }
    for (const e of errors)
      assert.match(e, /invalid key|unknown key type|invalid params: key(\.Type|\.PrivateKey)? must be/);
    const all = `${errors.join('\n')}\n${logs.join('')}`;
    for (let i = 0; i + 6 <= frag.length; i++) {
      assert.ok(!all.includes(frag.slice(i, i + 6)), `fragment ${frag.slice(i, i + 6)} leaked:\n${all}`);
    }
  });
});
