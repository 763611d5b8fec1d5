import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initHome as initDevnet } from '../devnet/home.js';
import { DevnetService } from '../devnet/service.js';
import { AcceptingVerifier } from '../devnet/verifier.js';
import { createToken } from '../rpc/index.js';
import { initHome } from './config.js';
import { startDaemon } from './daemon.js';
import { explainProbeFailure } from './probe.js';

let dir: string;
let devnet: DevnetService;
let token: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vsm-probe-'));
  const res = await initDevnet(
    { home: join(dir, 'devnet'), blockTimeMs: 200, listen: '127.0.0.1:0' },
    new AcceptingVerifier(),
  );
  token = res.token;
  devnet = await DevnetService.start({ home: join(dir, 'devnet'), verifier: new AcceptingVerifier() });
});
after(async () => {
  await devnet.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A manager home whose [Chain] and [Messager] point at the devnet with these addresses and tokens. */
function home(name: string, s: { chainApi?: string; chainToken?: string; msgApi?: string; msgToken?: string }): string {
  const h = join(dir, name);
  const { file } = initHome(h);
  // the guide's form: /ip4/…/tcp/… without /http
  const ma = devnet.multiaddr.replace(/\/http$/, '');
  const text = readFileSync(file, 'utf8')
    .replace('[Chain]\n', `[Chain]\nApi = "${s.chainApi ?? ma}"\nToken = "${s.chainToken ?? token}"\n`)
    .replace('[Messager]\n', `[Messager]\nApi = "${s.msgApi ?? ma}"\nToken = "${s.msgToken ?? token}"\n`);
  writeFileSync(file, text);
  return h;
}

test('daemon run: a wrong [Messager] Token is reported at start, in one line naming the key', async () => {
  const forged = await createToken(new Uint8Array(32).fill(9), 'admin', { name: 'devnet' });
  const h = home('bad-msg-token', { msgToken: forged });
  await assert.rejects(startDaemon({ home: h, listen: '127.0.0.1:0', poster: true }), (e: Error) => {
    assert.equal(e.name, 'UserError');
    assert.match(
      e.message,
      /^cannot reach the messager at ws:\/\/127\.0\.0\.1:\d+\/rpc\/v0: token refused \(\[Messager\] Token in sector-manager\.cfg\): token signature does not match/,
    );
    assert.ok(!e.message.includes('\n'), 'one line');
    assert.ok(!e.message.includes(forged), 'the token is not in the error');
    return true;
  });
});

test('daemon run: a wrong [Chain] Token and a wrong [Messager] Api name their keys', async () => {
  const forged = await createToken(new Uint8Array(32).fill(3), 'admin', { name: 'devnet' });
  await assert.rejects(
    startDaemon({ home: home('bad-chain-token', { chainToken: forged }), listen: '127.0.0.1:0', poster: false }),
    /^UserError: cannot reach the chain node at .*: token refused \(\[Chain\] Token in sector-manager\.cfg\)/,
  );
  await assert.rejects(
    startDaemon({
      home: home('bad-msg-api', { msgApi: '/ip4/127.0.0.1/tcp/1' }),
      listen: '127.0.0.1:0',
      poster: false,
    }),
    /cannot reach the messager at ws:\/\/127\.0\.0\.1:1\/rpc\/v0: .*ECONNREFUSED.* \(\[Messager\] Api in sector-manager\.cfg\)/,
  );
});

test('daemon run: the right tokens pass the probe', async () => {
  const d = await startDaemon({ home: home('good', {}), listen: '127.0.0.1:0', poster: false });
  await d.close();
});

test('explainProbeFailure: permission and unknown errors name the section', () => {
  assert.match(
    explainProbeFailure('Messager', '/ip4/10.0.0.1/tcp/39812', { code: 1, message: 'permission denied: need read' }),
    /^cannot reach the messager at ws:\/\/10\.0\.0\.1:39812\/rpc\/v0: the token lacks a permission \(\[Messager\] Token/,
  );
  assert.match(
    explainProbeFailure('Chain', '/ip4/10.0.0.1/tcp/3453', new Error('boom')),
    /boom \(check \[Chain\] Api and Token in sector-manager\.cfg\)$/,
  );
});
