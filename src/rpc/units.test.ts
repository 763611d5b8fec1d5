// Unit tests: tokens (against venus-wallet's published secret/token pair), repo files, endpoints, wire helpers.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  channel,
  createToken,
  defineApi,
  formatApiInfo,
  keystoreFileName,
  loadOrInitRepoAuth,
  localAuth,
  method,
  multiaddrToUrl,
  PushChannel,
  parseApiInfo,
  parseListenAddress,
  parseMultiaddr,
  permsFor,
  toErrorObject,
  toJson,
  urlToMultiaddr,
  wire,
} from './index.js';

// venus-wallet config/config.toml [JWT] (hex-decoded), docs/spec/chain.md §Tokens: a Lotus-style admin token.
const VW_SECRET = Buffer.from('7c40ce66a492e35ac828e8333a5703e38b23add87f29bd8fc7343989e08b3458', 'hex');
const VW_TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJBbGxvdyI6WyJyZWFkIiwid3JpdGUiLCJzaWduIiwiYWRtaW4iXX0.' +
  'q3xz5oucOoT3xwMTct8pWMBrvhi_gizOz6QBgK-nOwc';

test('venus-wallet token vector: verifies, and createToken reproduces it byte for byte', async () => {
  const v = await localAuth(new Uint8Array(VW_SECRET)).verify(VW_TOKEN);
  assert.deepEqual(v.perms, ['read', 'write', 'sign', 'admin']);
  assert.equal(v.perm, 'admin');
  assert.equal(v.name, '');
  assert.equal(await createToken(new Uint8Array(VW_SECRET), 'admin', { style: 'lotus' }), VW_TOKEN);
  // one changed signature character → refused (not the last: its low bits are base64 padding)
  const i = VW_TOKEN.length - 10;
  const bad = VW_TOKEN.slice(0, i) + (VW_TOKEN[i] === 'A' ? 'B' : 'A') + VW_TOKEN.slice(i + 1);
  await assert.rejects(localAuth(new Uint8Array(VW_SECRET)).verify(bad), { code: 401 });
});

test('token styles: venus {name, perm, ext}, lotus {Allow}, both', async () => {
  const secret = new Uint8Array(32).fill(7);
  const payload = (t: string) => JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString());
  assert.deepEqual(payload(await createToken(secret, 'sign', { style: 'venus', name: 'acct', ext: 'e' })), {
    name: 'acct',
    perm: 'sign',
    ext: 'e',
  });
  assert.deepEqual(payload(await createToken(secret, 'write', { style: 'lotus' })), { Allow: ['read', 'write'] });
  const both = await createToken(secret, 'read', { name: 'n' });
  assert.deepEqual(payload(both), { Allow: ['read'], name: 'n', perm: 'read', ext: '' });
  const v = await localAuth(secret).verify(both);
  assert.deepEqual({ name: v.name, perm: v.perm, perms: v.perms }, { name: 'n', perm: 'read', perms: ['read'] });
  await assert.rejects(createToken(secret, 'root' as 'read'), /unknown permission "root"/);
});

test('permissions inherit downwards', () => {
  assert.deepEqual(permsFor('admin'), ['read', 'write', 'sign', 'admin']);
  assert.deepEqual(permsFor('sign'), ['read', 'write', 'sign']);
  assert.deepEqual(permsFor('read'), ['read']);
});

test('repo auth files: Lotus keystore name and KeyInfo, admin token, idempotent, 0600', async () => {
  // RFC 4648 base32 of "auth-jwt-private" (checked with Python's base64.b32encode)
  assert.equal(keystoreFileName('auth-jwt-private'), 'MF2XI2BNNJ3XILLQOJUXMYLUMU');
  const dir = await mkdtemp(join(tmpdir(), 'rpc-repo-'));
  try {
    const a = await loadOrInitRepoAuth(dir);
    assert.equal(a.secretPath, join(dir, 'keystore', 'MF2XI2BNNJ3XILLQOJUXMYLUMU'));
    const ki = JSON.parse(await readFile(a.secretPath, 'utf8'));
    assert.equal(ki.Type, 'jwt-hmac-secret');
    assert.equal(Buffer.from(ki.PrivateKey, 'base64').length, 32);
    assert.equal((await stat(a.secretPath)).mode & 0o777, 0o600);
    assert.equal((await stat(a.tokenPath)).mode & 0o777, 0o600);
    assert.equal(await readFile(join(dir, 'token'), 'utf8'), a.token);
    assert.equal((await localAuth(a.secret).verify(a.token)).perm, 'admin');
    const b = await loadOrInitRepoAuth(dir);
    assert.deepEqual(b.secret, a.secret);
    assert.equal(b.token, a.token);
    // a token that no longer matches the secret is re-issued
    await writeFile(a.tokenPath, VW_TOKEN);
    const c = await loadOrInitRepoAuth(dir);
    assert.notEqual(c.token, VW_TOKEN);
    assert.equal((await localAuth(c.secret).verify(c.token)).perm, 'admin');
    await writeFile(a.secretPath, '{"Type":"bls","PrivateKey":"AA=="}');
    await assert.rejects(loadOrInitRepoAuth(dir), /expected \{"Type":"jwt-hmac-secret"/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('multiaddr → URL as venus-shared DialArgs does', () => {
  assert.equal(multiaddrToUrl('/ip4/127.0.0.1/tcp/1234/http'), 'http://127.0.0.1:1234');
  assert.equal(multiaddrToUrl('/ip4/127.0.0.1/tcp/1234'), 'ws://127.0.0.1:1234', 'no scheme → ws');
  assert.equal(multiaddrToUrl('/ip4/10.0.0.2/tcp/1789', { defaultScheme: 'http' }), 'http://10.0.0.2:1789');
  assert.equal(multiaddrToUrl('/ip6/::1/tcp/5678/ws'), 'ws://[::1]:5678');
  assert.equal(multiaddrToUrl('/dns/node.example.com/tcp/443/wss'), 'wss://node.example.com:443');
  assert.equal(multiaddrToUrl('/dns4/gw/tcp/45132/https'), 'https://gw:45132');
  assert.equal(multiaddrToUrl('/ip4/1.2.3.4/tcp/80/tls/http'), 'https://1.2.3.4:80');
  assert.deepEqual(parseMultiaddr('/ip4/1.2.3.4/tcp/1234/http/version/v1'), {
    scheme: 'http',
    host: '1.2.3.4',
    port: 1234,
    version: 'v1',
  });
  assert.throws(() => parseMultiaddr('/ip4/300.1.1.1/tcp/1'), /"300.1.1.1" is not an IPv4 address/);
  assert.throws(() => parseMultiaddr('/ip4/1.1.1.1/tcp/99999'), /not a TCP port/);
  assert.throws(() => parseMultiaddr('/ip4/1.1.1.1/udp/1'), /unsupported component \/udp/);
  assert.throws(() => parseMultiaddr('/ip4/1.1.1.1'), /no \/tcp port/);
  assert.throws(() => parseMultiaddr('ip4/1.1.1.1/tcp/1'), /must start with "\/"/);
});

test('URL → multiaddr', () => {
  assert.equal(urlToMultiaddr('http://127.0.0.1:5678/rpc/v0'), '/ip4/127.0.0.1/tcp/5678/http');
  assert.equal(urlToMultiaddr('ws://[::1]:1234'), '/ip6/::1/tcp/1234/ws');
  assert.equal(urlToMultiaddr('wss://node.example.com/rpc/v1'), '/dns/node.example.com/tcp/443/wss');
  assert.throws(() => urlToMultiaddr('ftp://x'), /unsupported URL scheme "ftp"/);
});

test('API-info strings: token, multiaddr or URL, RPC path', () => {
  const info = `${VW_TOKEN}:/ip4/127.0.0.1/tcp/5678/http`;
  assert.deepEqual(parseApiInfo(info), {
    token: VW_TOKEN,
    url: 'http://127.0.0.1:5678/rpc/v0',
    addr: '/ip4/127.0.0.1/tcp/5678/http',
  });
  assert.equal(formatApiInfo(VW_TOKEN, '/ip4/127.0.0.1/tcp/5678/http'), info);
  assert.equal(parseApiInfo('/ip4/127.0.0.1/tcp/1234', { version: 'v1' }).url, 'ws://127.0.0.1:1234/rpc/v1');
  assert.equal(parseApiInfo('/ip4/127.0.0.1/tcp/1234/http/version/v2').url, 'http://127.0.0.1:1234/rpc/v2');
  assert.equal(parseApiInfo('http://127.0.0.1:1234/').url, 'http://127.0.0.1:1234/rpc/v0');
  assert.equal(parseApiInfo(`${VW_TOKEN}:ws://h:1/custom`).url, 'ws://h:1/custom');
  assert.equal(parseApiInfo('http://h:1/').token, undefined);
  assert.throws(() => parseApiInfo(''), /empty API info/);
  assert.throws(() => parseApiInfo('nonsense'), /invalid API address "nonsense"/);
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress('/ip4/0.0.0.0/tcp/5678/http'), { host: '0.0.0.0', port: 5678 });
  assert.deepEqual(parseListenAddress('127.0.0.1:1789'), { host: '127.0.0.1', port: 1789 });
  assert.deepEqual(parseListenAddress(':17890'), { host: '0.0.0.0', port: 17890 });
  assert.deepEqual(parseListenAddress('[::1]:80'), { host: '::1', port: 80 });
  assert.deepEqual(parseListenAddress(0), { host: '127.0.0.1', port: 0 });
  assert.throws(() => parseListenAddress('localhost'), /invalid listen address/);
});

test('wire helpers: base64, big integers, CIDs, null lists', () => {
  // "byte array" as Go's encoding/json writes it (docs/spec/chain.md §JSON conventions)
  assert.equal(wire.bytesToBase64(new TextEncoder().encode('byte array')), 'Ynl0ZSBhcnJheQ==');
  assert.deepEqual(wire.base64ToBytes('Ynl0ZSBhcnJheQ=='), new TextEncoder().encode('byte array'));
  assert.equal(wire.base64ToBytes(null).length, 0);
  assert.throws(() => wire.base64ToBytes('Ynl0ZSBhcnJheQ'), /not std base64 with padding/);
  assert.throws(() => wire.base64ToBytes('a_b-'), /not std base64/);
  assert.equal(wire.parseBigInt('-123456789012345678901234567890'), -123456789012345678901234567890n);
  assert.equal(wire.parseBigInt(42), 42n);
  assert.throws(() => wire.parseBigInt('1.5'), /expected a decimal integer string/);
  assert.equal(wire.bigintToString(10n ** 30n), '1000000000000000000000000000000');
  assert.deepEqual(wire.cidToJson('bafy2bzace'), { '/': 'bafy2bzace' });
  assert.equal(wire.cidFromJson({ '/': 'bafy2bzace' }), 'bafy2bzace');
  assert.equal(wire.optionalCidFromJson(null), null);
  assert.throws(() => wire.cidFromJson('bafy'), /expected \{"\/": "<cid>"\}/);
  assert.deepEqual(wire.listFromJson(null), []);
  assert.equal(wire.listToJson([]), null);
  assert.equal(toJson({ a: 1n, b: Buffer.from([255]), c: new Uint8Array([0, 1]) }), '{"a":"1","b":"/w==","c":"AAE="}');
});

test('error mapping: codes kept, bugs and OS errors hidden', () => {
  assert.deepEqual(toErrorObject(Object.assign(new Error('x'), { code: 11001 }), 'M').error, {
    code: 11001,
    message: 'x',
  });
  assert.deepEqual(toErrorObject(new Error('wallet locked'), 'M').error, { code: 1, message: 'wallet locked' });
  for (const e of [new TypeError('t'), Object.assign(new Error('ENOENT: /secret/path'), { code: 'ENOENT' }), 'str']) {
    const o = toErrorObject(e, 'Filecoin.X');
    assert.equal(o.internal, true);
    assert.equal(o.error.message, 'internal error while handling Filecoin.X; see the server log');
  }
});

test('declarations: names, perms and counts are checked', () => {
  assert.throws(() => defineApi('Filecoin', { walletList: method<[], string[]>('read') }), /must be PascalCase/);
  assert.throws(() => method<[], void>('root' as 'read'), /unknown permission "root"/);
  const api = defineApi('Filecoin', {
    WalletHas: method<[addr: string], boolean>('read', 1, { timeoutMs: 5 }),
    ChainNotify: channel<[], unknown[]>('read'),
  });
  assert.deepEqual(api.methods.WalletHas, { kind: 'method', perm: 'read', arity: 1, timeoutMs: 5 });
  assert.deepEqual(api.methods.ChainNotify, { kind: 'channel', perm: 'read', arity: 0 });
});

test('PushChannel: queued values, end, fail, early return', async () => {
  const ch = new PushChannel<number>();
  ch.push(1);
  const pending = ch.next();
  assert.deepEqual(await pending, { value: 1, done: false });
  const waiting = ch.next();
  ch.push(2);
  assert.deepEqual(await waiting, { value: 2, done: false });
  ch.push(3);
  ch.end();
  assert.equal(ch.push(4), false);
  assert.deepEqual(await ch.next(), { value: 3, done: false });
  assert.deepEqual(await ch.next(), { value: undefined, done: true });

  const f = new PushChannel<number>();
  const w = f.next();
  f.fail(new Error('boom'));
  await assert.rejects(w, /boom/);

  let returned = 0;
  const r = new PushChannel<number>();
  r.onReturn(() => returned++);
  r.push(1);
  for await (const _ of r) break;
  assert.equal(returned, 1);
  assert.equal(r.closed, true);
});
