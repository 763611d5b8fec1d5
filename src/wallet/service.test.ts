/**
 * The wallet's JSON-RPC API (src/api/wallet.ts) served by RpcServer: wire shapes, the original's permissions,
 * tokens in the original's [JWT] form, and the errors callers see.
 *
 * Vector: venus-wallet config/config.toml [JWT] (docs/spec/chain.md §Tokens): Secret 7c40ce66…3458 signs
 * {"Allow":["read","write","sign","admin"]} as eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6Wy…q3xz5oucOoT3xwMTct8pWMBrvhi_gizOz6QBgK-nOwc.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WalletAPI } from '../api/wallet.js';
import { setupLogging } from '../common/log.js';
import { fromHex, toBase64 } from '../fil/index.js';
import { createClient, createToken, generateSecret, type Perm, RpcServer } from '../rpc/index.js';
import { GatewayHub } from './gateway-client.js';
import { KeyStore } from './keystore.js';
import { randomJwtConfig } from './repo.js';
import { WalletService } from './service.js';
import { Wallet } from './wallet.js';

setupLogging({ levelSpec: 'silent' });

const ORIGINAL_SECRET = '7c40ce66a492e35ac828e8333a5703e38b23add87f29bd8fc7343989e08b3458';
const ORIGINAL_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIiwid3JpdGUiLCJzaWduIiwiYWRtaW4iXX0.q3xz5oucOoT3xwMTct8pWMBrvhi_gizOz6QBgK-nOwc';

const SECP_KEY = { Type: 'secp256k1' as const, PrivateKey: '8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=' };
const MSG_A = fromHex(
  '8a005501fd1d0f4dfcd7e99afcb99a8326b7dc459d32c62855011eaf1c8a4bbfeeb0870b1745b1f57503470b71160144000186a01961a84200014200010040',
);
const CID_A = fromHex('0171a0e40220e90f3daa7e7f73cbc3d708f6d39f3a5eddba82743776a85c3743f39843b71aeb');
const SIG_A = 'nFuTI7MxEXqTQ0QmmQTmqbUsNZfHFXlNjz+susVDkAk1SrRCdJKxlVZZrM4vUtVBSYgtMIeigNfpqdKGIFhoWQA=';

describe('wallet API over JSON-RPC', () => {
  const secret = new Uint8Array(Buffer.from(ORIGINAL_SECRET, 'hex'));
  let server: RpcServer;
  let url: string;
  let ks: KeyStore;
  const saved: string[][] = [];
  const client = (token?: string) => createClient(WalletAPI, token ? { url, token } : { url });
  const tokenFor = (perm: Perm) => createToken(secret, perm, { style: 'lotus' });

  before(async () => {
    ks = new KeyStore(join(mkdtempSync(join(tmpdir(), 'wsvc-')), 'keystore.sqlit'), { scryptN: 1024, scryptP: 1 });
    const wallet = new Wallet(ks, { network: 't' });
    const hub = new GatewayHub({ urls: [], token: '', supportAccounts: ['a1'], wallet });
    server = new RpcServer({ auth: secret, paths: ['/rpc/v0'] });
    server.register(WalletAPI, new WalletService({ wallet, secret, hub, saveSupportAccounts: (a) => saved.push(a) }));
    const { port } = await server.listen(0);
    url = `http://127.0.0.1:${port}/rpc/v0`;
  });
  after(async () => {
    await server.close();
    ks.close();
  });

  it('the original config.toml token is what this wallet issues from the same secret, and it is admin', async () => {
    assert.equal(await tokenFor('admin'), ORIGINAL_TOKEN);
    const c = client(ORIGINAL_TOKEN);
    assert.deepEqual(await c.AuthVerify(ORIGINAL_TOKEN), ['read', 'write', 'sign', 'admin']);
    const fresh = await randomJwtConfig();
    assert.match(fresh.Secret, /^[0-9a-f]{64}$/);
    assert.match(Buffer.from(fresh.Token, 'hex').toString(), /^eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJBbGxvdyI6/);
  });

  it('password, import, sign with the exact JSON shapes', async () => {
    const c = client(ORIGINAL_TOKEN);
    assert.equal(await c.LockState(), true);
    await assert.rejects(c.WalletNew('bls'), /password not set/);
    assert.equal(await c.SetPassword('pw'), null);
    assert.equal(await c.LockState(), false);
    await assert.rejects(c.SetPassword('other'), /password already set/);
    const addr = await c.WalletImport(SECP_KEY);
    assert.equal(addr, 't1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba');
    // either network prefix is accepted on input
    assert.equal(await c.WalletHas('f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba'), true);
    assert.deepEqual(await c.WalletList(), [addr]);
    const sig = await c.WalletSign(addr, toBase64(CID_A), { Type: 'message', Extra: toBase64(MSG_A) });
    assert.deepEqual(sig, { Type: 1, Data: SIG_A });
    assert.deepEqual(await c.WalletExport(addr, 'pw'), SECP_KEY);
    const v = await c.Version();
    assert.equal(v.APIVersion, 65792);
    assert.equal(typeof v.Version, 'string');
  });

  it("permissions are the original's: read lists, sign signs, admin manages keys and passwords", async () => {
    const read = client(await tokenFor('read'));
    const sign = client(await tokenFor('sign'));
    const [addr] = await read.WalletList();
    assert.equal(await read.WalletHas(addr!), true);
    await assert.rejects(
      read.WalletSign(addr!, toBase64(CID_A), { Type: 'unknown' }),
      /missing permission to invoke 'Filecoin\.WalletSign' \(need 'sign'\)/,
    );
    assert.equal((await sign.WalletSign(addr!, toBase64(CID_A), { Type: 'unknown' })).Data, SIG_A);
    for (const call of [
      () => sign.WalletNew('bls'),
      () => sign.WalletExport(addr!, 'pw'),
      () => sign.WalletDelete(addr!, 'pw'),
      () => sign.Unlock('pw'),
      () => sign.LockState(),
      () => sign.AuthNew(['read'], ''),
    ]) {
      await assert.rejects(call(), /missing permission to invoke .* \(need 'admin'\)/);
    }
  });

  it('missing and foreign tokens are refused with 401', async () => {
    await assert.rejects(
      client().WalletList(),
      (e: Error & { code?: number }) => e.code === 401 && /missing token/.test(e.message),
    );
    const foreign = await createToken(generateSecret(), 'admin', { style: 'lotus' });
    await assert.rejects(client(foreign).WalletList(), (e: Error & { code?: number }) => e.code === 401);
    await assert.rejects(client('not-a-jwt').WalletList(), (e: Error & { code?: number }) => e.code === 401);
  });

  it('AuthNew issues tokens for exactly the asked permissions', async () => {
    const c = client(ORIGINAL_TOKEN);
    const b64 = await c.AuthNew(['read', 'write', 'sign'], 'pw');
    const token = Buffer.from(b64, 'base64').toString();
    assert.deepEqual(await c.AuthVerify(token), ['read', 'write', 'sign']);
    await assert.rejects(c.AuthNew(['root' as Perm], ''), /unknown permission "root"/);
    await assert.rejects(c.AuthVerify('x.y.z'), /JWT Verification failed/);
  });

  it('bad input gets clear errors that never echo the key', async () => {
    const c = client(ORIGINAL_TOKEN);
    const secretish = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
    await assert.rejects(c.WalletImport({ Type: 'rsa' as 'bls', PrivateKey: secretish }), (e: Error) => {
      assert.match(e.message, /unknown key type "rsa"/);
      assert.ok(!e.message.includes(secretish));
      return true;
    });
    await assert.rejects(c.WalletImport({ Type: 'bls', PrivateKey: '%%%' }), /invalid key: .*not base64/);
    await assert.rejects(c.WalletImport({ Type: 'bls', PrivateKey: secretish }), /invalid key: .*zero/);
    await assert.rejects(c.WalletSign('f1xyz', toBase64(CID_A), { Type: 'unknown' }), /invalid address "f1xyz"/);
    await assert.rejects(
      c.WalletSign('t1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba', '***', { Type: 'unknown' }),
      /toSign: not base64/,
    );
    await assert.rejects(
      c.WalletSign('t1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba', toBase64(CID_A), null as never),
      /meta must be an object/,
    );
    await assert.rejects(
      c.WalletExport('t3vxrizeiel2e2bxg3jhk62dlcutyc26fjnw6ua2sptu32dtjpwxbjawg666nqdngrkvvn45h7yb4qiya6ls7q', 'pw'),
      /key not found: t3vxriz/,
    );
    await assert.rejects(c.WalletNew('delegated' as 'bls'), /"delegated" .* not supported/);
  });

  it('locked: signing refuses with "wallet locked"; lock and unlock need the password', async () => {
    const c = client(ORIGINAL_TOKEN);
    const [addr] = await c.WalletList();
    await assert.rejects(c.Lock('nope'), /wrong password/);
    await c.Lock('pw');
    await assert.rejects(c.WalletSign(addr!, toBase64(CID_A), { Type: 'unknown' }), /^.*wallet locked$/);
    await assert.rejects(c.WalletExport(addr!, 'pw'), /wallet locked/);
    await assert.rejects(c.WalletNew('bls'), /wallet locked/);
    await c.Unlock('pw');
    await c.ChangePassword('pw', 'pw2');
    await assert.rejects(c.VerifyPassword('pw'), /wrong password/);
    await c.VerifyPassword('pw2');
  });

  it('AddSupportAccount is kept and persisted; duplicates are refused', async () => {
    const c = client(ORIGINAL_TOKEN);
    await c.AddSupportAccount('a2');
    assert.deepEqual(saved.at(-1), ['a1', 'a2']);
    await assert.rejects(c.AddSupportAccount('a1'), /already supported/);
  });
});
