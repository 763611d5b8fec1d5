/**
 * venus-wallet with bad input, against the real processes: wrong password (and its rate limit), locked wallet,
 * unknown address, malformed hex/JSON keys, wrong key types, missing/invalid/under-privileged tokens, a corrupted
 * key row, kill -9 while keys are being created. Also the key formats operators move between wallets:
 * `lotus wallet export` hex in, the same hex out, and `sign` output as `lotus wallet sign` prints it.
 *
 * Vector: docs/spec/chain.md §Test vectors (Zondax): key 8VcW07…8Uo= is f1d2xrzc…; its signature over the CID of
 * Message A is nFuTI7…WQA= (so `sign` prints 01 ‖ those 65 bytes in hex).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { WalletAPI } from '../../src/api/wallet.js';
import { setupLogging } from '../../src/common/log.js';
import { createClient, createToken, generateSecret } from '../../src/rpc/index.js';
import { type Daemon, WalletHarness } from './wallet-harness.js';

setupLogging({ levelSpec: 'silent' });

const SECP_B64 = '8VcW07ADswS4BV2cxi5rnIadVsyTDDhY1NfDH19T8Uo=';
const SECP_ADDR = 'f1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba';
const LOTUS_HEX = Buffer.from(JSON.stringify({ Type: 'secp256k1', PrivateKey: SECP_B64 })).toString('hex');
const CID_A = '0171a0e40220e90f3daa7e7f73cbc3d708f6d39f3a5eddba82743776a85c3743f39843b71aeb';
const SIG_A = 'nFuTI7MxEXqTQ0QmmQTmqbUsNZfHFXlNjz+susVDkAk1SrRCdJKxlVZZrM4vUtVBSYgtMIeigNfpqdKGIFhoWQA=';

function apiUrl(h: WalletHarness): string {
  const ma = readFileSync(join(h.repo, 'api'), 'utf8').trim();
  const [, , host, , port] = ma.split('/');
  return `http://${host}:${port}/rpc/v0`;
}

function configToken(h: WalletHarness): string {
  const m = /Token = "([0-9a-f]+)"/.exec(readFileSync(join(h.repo, 'config.toml'), 'utf8'));
  return Buffer.from(m![1]!, 'hex').toString();
}

async function rpc(url: string, method: string, params: unknown[], token?: string) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: token } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: `Filecoin.${method}`, params }),
  });
  return { status: res.status, body: (await res.json()) as { result?: unknown; error?: { message: string } } };
}

describe('venus-wallet: keys in and out, and bad input', () => {
  const h = new WalletHarness();
  let d: Daemon;
  let bls = '';

  before(async () => {
    h.writeConfig();
    d = await h.startDaemon();
    const pw = await h.cli(['setpwd'], 'pw\npw\n');
    assert.equal(pw.code, 0, pw.stderr);
  });
  after(() => h.cleanup());

  it("import: Lotus hex from a file and from stdin, the JSON form, and the original's refusal to set a password twice", async () => {
    const file = join(h.home, 'key.hex');
    writeFileSync(file, `${LOTUS_HEX}\n`);
    const imp = await h.cli(['import', file]);
    assert.equal(imp.code, 0, imp.stderr);
    assert.equal(imp.stdout, `imported key ${SECP_ADDR} successfully!\n`);
    // importing a key already held is not an error, as in the original
    assert.equal((await h.cli(['import'], `${LOTUS_HEX}\n`)).stdout, `imported key ${SECP_ADDR} successfully!\n`);
    const json = await h.cli(
      ['import', '--format', 'json-lotus', '-'],
      JSON.stringify({ Type: 'secp256k1', PrivateKey: SECP_B64 }),
    );
    assert.equal(json.code, 0, json.stderr);
    const again = await h.cli(['setpwd'], 'other\nother\n');
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /Error: password already set/);
    const mismatch = await h.cli(['setpwd'], 'a\nb\n');
    assert.match(mismatch.stderr, /the input passwords are inconsistent/);
  });

  it('export asks for the password and prints the Lotus hex; sign prints type byte ‖ signature as lotus does', async () => {
    const wrong = await h.cli(['export', SECP_ADDR], 'nope\n');
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /Error: wrong password/);
    assert.equal(wrong.stdout, '');
    const ex = await h.cli(['export', SECP_ADDR], 'pw\n');
    assert.equal(ex.code, 0, ex.stderr);
    assert.equal(ex.stdout, `${LOTUS_HEX}\n`);
    const s = await h.cli(['sign', SECP_ADDR, CID_A], 'pw\n');
    assert.equal(s.code, 0, s.stderr);
    assert.equal(s.stdout, `01${Buffer.from(SIG_A, 'base64').toString('hex')}\n`);
    // nettype changes only the prefix printed
    assert.match((await h.cli(['--nettype', '2k', 'list'])).stdout, /^t1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba\n/);
  });

  it('malformed keys, wrong key types, unknown addresses: clear errors that never echo the key', async () => {
    const cases: [string[], string, RegExp][] = [
      [['import'], 'zz11\n', /invalid key: exported key: not hex/],
      [['import'], 'abc\n', /invalid key: exported key: odd number of hex digits/],
      [['import', '--format', 'json'], '{"Type":"secp256k1",', /invalid key: key info is not valid JSON/],
      [['import', '--format', 'json'], `{"Type":"rsa","PrivateKey":"${SECP_B64}"}`, /unknown key type "rsa"/],
      [
        ['import', '--format', 'json'],
        `{"Type":"bls","PrivateKey":"${SECP_B64.slice(4)}"}`,
        /BLS private key must be 32 bytes/,
      ],
      [
        ['import', '--format', 'json'],
        `{"Type":"delegated","PrivateKey":"${SECP_B64}"}`,
        /"delegated" .*not supported/,
      ],
      [['import', join(h.home, 'missing.key')], '', /cannot read key file .*missing\.key: ENOENT/],
      [['new', 'rsa'], '', /unknown key type "rsa": use bls or secp256k1/],
      [['sign', SECP_ADDR, 'xyz1'], 'pw\n', /hexMessage: (odd number of hex digits|not hex)/],
      [['export', 'f1notanaddress'], 'pw\n', /invalid address "f1notanaddress"/],
      [
        ['export', 'f15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq'],
        'pw\n',
        /key not found: f15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq/,
      ],
      [['sign', 'f15ihq5ibzwki2b4ep2f46avlkrqzhpqgtga7pdrq', '00'], 'pw\n', /key not found/],
      [['auth', 'api-info', '--perm', 'root'], '', /--perm flag has to be one of: read, write, sign, admin/],
    ];
    const results = await Promise.all(cases.map(([args, input]) => h.cli(args, input, 90_000)));
    results.forEach((r, i) => {
      const [args, , re] = cases[i]!;
      assert.notEqual(r.code, 0, `venus-wallet ${args.join(' ')} should fail`);
      assert.match(r.stderr, re, `venus-wallet ${args.join(' ')}`);
      assert.ok(!r.stderr.includes(SECP_B64.slice(4, 30)), 'the key is never echoed');
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for operator errors');
    });
  });

  it('tokens: missing and foreign are refused (401), read cannot sign, api-info issues working tokens', async () => {
    const url = apiUrl(h);
    assert.equal((await rpc(url, 'WalletList', [])).status, 401);
    assert.equal((await rpc(url, 'WalletList', [], 'Bearer not.a.token')).status, 401);
    const foreign = await createToken(generateSecret(), 'admin', { style: 'lotus' });
    assert.equal((await rpc(url, 'WalletList', [], `Bearer ${foreign}`)).status, 401);

    const info = await h.cli(['auth', 'api-info', '--perm', 'read']);
    assert.equal(info.code, 0, info.stderr);
    const m = /^(ey[\w-]+\.[\w-]+\.[\w-]+):(\/ip4\/127\.0\.0\.1\/tcp\/\d+\/http)\n$/.exec(info.stdout);
    assert.ok(m, info.stdout);
    const read = `Bearer ${m[1]}`;
    assert.deepEqual((await rpc(url, 'WalletList', [], read)).body.result, [SECP_ADDR]);
    const denied = await rpc(
      url,
      'WalletSign',
      [SECP_ADDR, Buffer.from(CID_A, 'hex').toString('base64'), { Type: 'unknown' }],
      read,
    );
    assert.match(denied.body.error!.message, /missing permission to invoke 'Filecoin\.WalletSign' \(need 'sign'\)/);

    // sign tokens need the password; the token then signs but cannot export
    const signInfo = await h.cli(['auth', 'api-info', '--perm', 'sign'], 'pw\n');
    const signTok = `Bearer ${signInfo.stdout.split(':')[0]}`;
    const ok = await rpc(
      url,
      'WalletSign',
      [SECP_ADDR, Buffer.from(CID_A, 'hex').toString('base64'), { Type: 'unknown' }],
      signTok,
    );
    assert.deepEqual(ok.body.result, { Type: 1, Data: SIG_A });
    assert.match((await rpc(url, 'WalletExport', [SECP_ADDR], signTok)).body.error!.message, /need 'admin'/);

    // a CLI whose config token is stale gets a clear message
    const cfgPath = join(h.repo, 'config.toml');
    const cfg = readFileSync(cfgPath, 'utf8');
    writeFileSync(cfgPath, cfg.replace(/Token = "[0-9a-f]+"/, `Token = "${Buffer.from(foreign).toString('hex')}"`));
    try {
      const r = await h.cli(['list']);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /the wallet refused the token from .*config\.toml \[JWT\] Token: .*another secret/);
    } finally {
      writeFileSync(cfgPath, cfg);
    }
  });

  it('locked: sign, export and new refuse with "wallet locked"; lock needs the password; the daemon is alone on its repo', async () => {
    assert.match((await h.cli(['lock'], 'nope\n')).stderr, /wrong password/);
    const l = await h.cli(['lock'], 'pw\n');
    assert.equal(l.stdout, 'wallet lock successfully\n');
    const [s, n] = await Promise.all([h.cli(['sign', SECP_ADDR, '00'], 'pw\n'), h.cli(['new', 'bls'])]);
    assert.match(s.stderr, /Error: wallet locked/);
    assert.match(n.stderr, /Error: wallet locked/);
    await assert.rejects(h.startDaemon([], { logName: 'second.log' }), /in use by another venus-wallet \(pid \d+\)/);
    assert.equal((await h.cli(['unlock'], 'pw\n')).code, 0);
  });

  it('a corrupted key row: clear error for that key, the others still sign', async () => {
    const bl = await h.cli(['new', 'bls']);
    bls = bl.stdout.trim();
    assert.equal(await d.stop(), 0);
    const db = new Database(join(h.repo, 'keystore.sqlit'));
    const row = db.prepare('SELECT private_key FROM wallets WHERE address = ?').get(SECP_ADDR.slice(1)) as {
      private_key: Buffer;
    };
    // flip one byte of the ciphertext inside the original's JSON-in-JSON row
    const outer = JSON.parse(row.private_key.toString());
    const inner = JSON.parse(Buffer.from(outer.PrivateKey, 'base64').toString());
    inner.ciphertext = (inner.ciphertext[0] === 'a' ? 'b' : 'a') + inner.ciphertext.slice(1);
    outer.PrivateKey = Buffer.from(JSON.stringify(inner)).toString('base64');
    db.prepare('UPDATE wallets SET private_key = ? WHERE address = ?').run(
      Buffer.from(JSON.stringify(outer)),
      SECP_ADDR.slice(1),
    );
    db.close();

    d = await h.startDaemon(['--password'], { input: 'pw\n' });
    const bad = await h.cli(['sign', SECP_ADDR, '00'], 'pw\n');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, new RegExp(`key ${SECP_ADDR} is corrupted \\(MAC mismatch\\); other keys are unaffected`));
    const good = await h.cli(['sign', bls, '00'], 'pw\n');
    assert.equal(good.code, 0, good.stderr);
    assert.equal((await h.cli(['list'])).stdout, `${SECP_ADDR}\n${bls}\n`);
    // the operator removes the broken key and imports it again from a backup
    assert.equal((await h.cli(['del', SECP_ADDR], 'pw\n')).stdout, 'success\n');
    assert.equal((await h.cli(['import'], LOTUS_HEX)).code, 0);
    assert.equal(
      (await h.cli(['sign', SECP_ADDR, CID_A], 'pw\n')).stdout,
      `01${Buffer.from(SIG_A, 'base64').toString('hex')}\n`,
    );
  });

  it('kill -9 while keys are being created leaves no half-written key', async () => {
    const url = apiUrl(h);
    const c = createClient(WalletAPI, { url, token: configToken(h) });
    const before = (await c.WalletList()).length;
    // keys being created by the API and by `new` processes when the daemon dies
    const clis = [h.cli(['new', 'bls']), h.cli(['new', 'secp256k1'])];
    const calls = Array.from({ length: 100 }, (_, i) =>
      c.WalletNew(i % 2 ? 'bls' : 'secp256k1').then(
        (a) => a,
        () => undefined,
      ),
    );
    // die as soon as the first key is confirmed, with the rest in flight
    await Promise.race(calls);
    await d.kill9();
    const made = (await Promise.all(calls)).filter((a): a is string => a !== undefined);
    assert.ok(made.length > 0 && made.length < calls.length, `${made.length} of ${calls.length} confirmed`);
    await Promise.all(clis);
    await c.close();
    assert.ok(existsSync(join(h.repo, 'keystore.sqlit')));
    const db = new Database(join(h.repo, 'keystore.sqlit'));
    assert.equal((db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check, 'ok');
    db.close();

    d = await h.startDaemon(['--password'], { input: 'pw\n' });
    const list = (await h.cli(['list'])).stdout.trim().split('\n');
    // every key the API confirmed is there; every key there (confirmed or not) decrypts and signs
    for (const a of made) assert.ok(list.includes(a), `confirmed key ${a} is missing after kill -9`);
    assert.ok(list.length >= before + made.length);
    const c2 = createClient(WalletAPI, { url: apiUrl(h), token: configToken(h) });
    try {
      for (const a of list) {
        const sig = await c2.WalletSign(a, Buffer.from('00', 'hex').toString('base64'), { Type: 'unknown' });
        assert.ok(sig.Data.length > 0, a);
      }
    } finally {
      await c2.close();
    }
  });

  it('wrong passwords are rate limited through the API', async () => {
    const c = createClient(WalletAPI, { url: apiUrl(h), token: configToken(h) });
    try {
      for (let i = 0; i < 3; i++) await assert.rejects(c.VerifyPassword(`guess${i}`), /wrong password/);
      // from now on each wrong guess doubles a waiting time (1 s, 2 s, 4 s…) during which every attempt, the right
      // password included, is refused: guessing through the API is throttled. (A slow machine may let a guess
      // through after a window has passed; the windows grow, so one is hit within a few tries.)
      let limited = '';
      for (let i = 0; i < 8 && !limited; i++) {
        await c.VerifyPassword(`again${i}`).catch((e: Error) => {
          if (/too many wrong passwords/.test(e.message)) limited = e.message;
          else assert.match(e.message, /wrong password/);
        });
      }
      assert.match(limited, /too many wrong passwords; try again in \d+s/);
      await assert.rejects(c.VerifyPassword('pw'), /too many wrong passwords/);
    } finally {
      await c.close();
    }
  });
});
