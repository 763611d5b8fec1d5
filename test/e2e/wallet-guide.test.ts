/**
 * The deployment guide's "Start venus-wallet" section, run as a new user would, against the real processes:
 *   nohup ./venus-wallet run > wallet.log 2>&1 &      ./venus-wallet setpwd      ./venus-wallet unlock
 *   ./venus-wallet run --password                     ./venus-wallet lock-state  ./venus-wallet new bls (twice)
 *   [APIRegisterHub] in ~/.venus_wallet/config.toml, kill -9 and restart (locked: one WARN naming `unlock`), unlock,
 *   "connect to server …" in the log.
 * The commands are typed as the guide has them (default repo ~/.venus_wallet, $HOME is a temp dir). Before the
 * first start the test writes the two config keys a test needs: a free port and a fast scrypt factor.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { GATEWAY_RPC_PATHS, GatewayAPI } from '../../src/api/gateway.js';
import { setupLogging } from '../../src/common/log.js';
import {
  checkSignature,
  encodeMessage,
  messageCid,
  newMessage,
  parseAddress,
  signatureFromJSON,
  toBase64,
} from '../../src/fil/index.js';
import { createClient, createToken, generateSecret, RpcServer } from '../../src/rpc/index.js';
import { MiniGateway } from '../../src/wallet/testkit.js';
import { WalletHarness } from './wallet-harness.js';

setupLogging({ levelSpec: 'silent' });

describe('venus-wallet: the deployment guide, word for word', () => {
  const h = new WalletHarness();
  after(() => h.cleanup());

  let owner = '';
  let worker = '';

  it("a first start with nothing prepared writes the original's defaults (port 5678, ScryptN 262144)", async () => {
    const fresh = new WalletHarness();
    after(() => fresh.cleanup());
    let started = true;
    const d = await fresh.startDaemon().catch((err: Error) => {
      // another program may hold 5678 on this machine: the repo must still be there, and the error clear
      assert.match(err.message, /\[API\] ListenAddress \/ip4\/127\.0\.0\.1\/tcp\/5678\/http: cannot listen/);
      started = false;
      return undefined;
    });
    const cfg = readFileSync(join(fresh.repo, 'config.toml'), 'utf8');
    assert.match(cfg, /\[API\]\nListenAddress = "\/ip4\/127\.0\.0\.1\/tcp\/5678\/http"/);
    assert.match(cfg, /\[Factor\]\nScryptN = 262144\nScryptP = 1/);
    assert.match(cfg, /\[JWT\]\nSecret = "[0-9a-f]{64}"/);
    assert.ok(existsSync(join(fresh.repo, 'keystore.sqlit')));
    if (started && d) {
      assert.equal(readFileSync(join(fresh.repo, 'api'), 'utf8'), '/ip4/127.0.0.1/tcp/5678/http');
      assert.equal((await fresh.cli(['lock-state'])).stdout, 'wallet state: locked\n');
      assert.equal(await d.stop(), 0);
      assert.ok(!existsSync(join(fresh.repo, 'api')), 'the api file goes with the daemon');
    }
  });

  it('first start creates the repo, config.toml, keystore.sqlit and a JWT secret; setpwd; new bls twice', async () => {
    h.writeConfig();
    const d = await h.startDaemon();
    const cfg = readFileSync(join(h.repo, 'config.toml'), 'utf8');
    assert.match(cfg, /\[JWT\]\nSecret = "[0-9a-f]{64}"\nToken = "[0-9a-f]+"/);
    assert.match(cfg, /Conn = ".*\/\.venus_wallet\/keystore\.sqlit"/);
    assert.match(readFileSync(join(h.repo, 'api'), 'utf8'), /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/http$/);

    const st0 = await h.cli(['lock-state']);
    assert.equal(st0.stdout, 'wallet state: locked\n');

    const pw = await h.cli(['setpwd'], 'secret-pw\nsecret-pw\n');
    assert.equal(pw.code, 0, pw.stderr);
    assert.equal(pw.stdout, 'Password set successfully\n');
    assert.match(pw.stderr, /Password:.*\n.*Enter Password again:/s);

    const a = await h.cli(['new', 'bls']);
    const b = await h.cli(['new', 'bls']);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^f3[a-z2-7]{84}\n$/);
    assert.match(b.stdout, /^f3[a-z2-7]{84}\n$/);
    owner = a.stdout.trim();
    worker = b.stdout.trim();
    assert.notEqual(owner, worker);

    const st = await h.cli(['lock-state']);
    assert.equal(st.stdout, 'wallet state: unlocked\n');
    const ls = await h.cli(['list']);
    assert.equal(ls.stdout, `${owner}\n${worker}\n`);
    // the password is never written anywhere in the repo
    assert.ok(!readFileSync(join(h.repo, 'config.toml'), 'utf8').includes('secret-pw'));
    assert.ok(!readFileSync(join(h.repo, 'keystore.sqlit')).includes('secret-pw'));
    await d.kill9();
  });

  it('after a restart the wallet is locked until `unlock`', async () => {
    const d = await h.startDaemon();
    assert.equal((await h.cli(['lock-state'])).stdout, 'wallet state: locked\n');
    const refused = await h.cli(['sign', owner, '0102'], 'secret-pw\n');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /Error: wallet locked\n/);

    const u = await h.cli(['unlock'], 'secret-pw\n');
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout, 'wallet unlock successfully\n');
    assert.equal((await h.cli(['lock-state'])).stdout, 'wallet state: unlocked\n');
    assert.equal((await h.cli(['ls'])).stdout, `${owner}\n${worker}\n`);
    assert.equal(await d.stop(), 0, 'SIGTERM is a clean stop');
    assert.match(d.log(), /received SIGTERM, shutting down[\s\S]*venus-wallet stopped/);
  });

  it('`run --password` asks for the password at start and unlocks', async () => {
    const d = await h.startDaemon(['--password'], { input: 'secret-pw\n' });
    assert.equal((await h.cli(['lock-state'])).stdout, 'wallet state: unlocked\n');
    const s = await h.cli(['sign', worker, 'cafe'], 'secret-pw\n');
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^02[0-9a-f]{192}\n$/, 'BLS: type byte 2 then 96 signature bytes');
    await d.stop();
    // a wrong password at start is a clear refusal, not a running daemon that cannot sign
    const bad = h.startDaemon(['--password'], { input: 'nope\n', logName: 'bad.log' });
    await assert.rejects(bad, /cannot unlock the wallet: wrong password/);
  });

  it('[APIRegisterHub]: registers with the gateway, logs "connect to server <id>", signs the messager\'s requests', async () => {
    const secret = generateSecret();
    const gw = new MiniGateway();
    const server = new RpcServer({ auth: secret, paths: [...GATEWAY_RPC_PATHS] });
    server.register(GatewayAPI, gw);
    const { port } = await server.listen(0);
    after(() => server.close());
    const token = await createToken(secret, 'sign', { name: 'wallet-user' });
    const cfgPath = join(h.repo, 'config.toml');
    const cfg = readFileSync(cfgPath, 'utf8').replace(
      /\[APIRegisterHub\][\s\S]*?(?=\n\[)/,
      `[APIRegisterHub]\nRegisterAPI = ["/ip4/127.0.0.1/tcp/${port}"]\nToken = "${token}"\nSupportAccounts = ["miner-user"]\n`,
    );
    writeFileSync(cfgPath, cfg);

    const d = await h.startDaemon(['--password'], { input: 'secret-pw\n' });
    const m = await d.waitForLog(
      /INFO\s+wallet_event\s+connect to server ([0-9a-f-]{36})\s+\{"api hub":"\/ip4\/127\.0\.0\.1\/tcp\/(\d+)"\}/,
    );
    assert.equal(Number(m[2]), port);
    const [conn] = gw.connections();
    assert.equal(conn?.channelId, m[1]);
    assert.deepEqual(conn?.addrs.sort(), [owner, worker].sort());

    // the messager's path: Gateway.WalletSign with the message CBOR, routed to this wallet
    const messager = createClient(GatewayAPI, {
      url: `ws://127.0.0.1:${port}/rpc/v2`,
      token: await createToken(secret, 'admin', { name: 'miner-user' }),
    });
    after(() => messager.close());
    const from = parseAddress(worker);
    const msg = newMessage({ to: parseAddress('f01000'), from, nonce: 0, value: 0n, gasLimit: 10_000_000 });
    const cid = messageCid(msg).bytes;
    const sig = await messager.WalletSign(worker, ['miner-user'], toBase64(cid), {
      Type: 'message',
      Extra: toBase64(encodeMessage(msg)),
    });
    checkSignature(signatureFromJSON(sig), from, cid);

    // the guide's restart: kill -9, then `nohup ./venus-wallet run` (locked): one WARN naming the fix, no errors,
    // no registration attempts; `./venus-wallet unlock` registers it under a new channel
    await d.kill9();
    const again = await h.startDaemon([], { logName: 'wallet2.log' });
    await again.waitForLog(
      /WARN\s+wallet_event\s+the wallet is locked, so it cannot register with the gateway: run `venus-wallet unlock`/,
    );
    await new Promise((r) => setTimeout(r, 2500));
    assert.doesNotMatch(again.log(), /ERROR/);
    assert.equal(
      again.log().match(/cannot register with the gateway/g)?.length,
      1,
      'one warning a minute, not one per try',
    );
    const u = await h.cli(['unlock'], 'secret-pw\n');
    assert.equal(u.code, 0, u.stderr);
    const m2 = await again.waitForLog(/connect to server ([0-9a-f-]{36})/);
    assert.notEqual(m2[1], m[1]);
    await again.stop();
  });
});
