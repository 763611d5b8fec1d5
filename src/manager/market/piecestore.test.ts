import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { commPToCid } from '../../fil/index.js';
import { commPOfBuffer } from '../../proofs/index.js';
import { createToken, RpcServer } from '../../rpc/index.js';
import { type ManagerConfig, parseManagerConfig } from '../config.js';
import { PieceStoreProxy, pieceNameOf } from './piecestore.js';

const secret = new Uint8Array(32).fill(5);
const payload = Buffer.alloc(1000, 3);
const HIT = commPToCid(commPOfBuffer(payload).commP).toString();
const CAR = commPToCid(commPOfBuffer(Buffer.alloc(300, 4)).commP).toString();
const MISS = commPToCid(commPOfBuffer(Buffer.alloc(100, 9)).commP).toString();

let server: RpcServer;
let port: number;
let token: string;
let cfg: ManagerConfig;
let withMarket: ManagerConfig;
let current: ManagerConfig;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vsm-pieces-'));
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  mkdirSync(a);
  mkdirSync(b);
  writeFileSync(join(a, HIT), payload);
  writeFileSync(join(b, `${CAR}.car`), Buffer.alloc(300, 4));
  writeFileSync(join(dir, 'secret'), 'SECRET-CONTENT');
  const stores = `[[DealManagerConfig.LocalPieceStores]]\nPath = "${a}"\n[[DealManagerConfig.LocalPieceStores]]\nPath = "${b}"\n`;
  cfg = parseManagerConfig('c.cfg', stores);
  withMarket = parseManagerConfig(
    'c.cfg',
    `${stores}[DealManagerConfig.MarketAPI]\nApi = "/ip4/10.1.2.3/tcp/41235/http"\nToken = "x.y.z"\n`,
  );
  current = cfg;
  server = new RpcServer({ auth: secret });
  new PieceStoreProxy(() => current).mount(server);
  port = (await server.listen({ host: '127.0.0.1', port: 0 })).port;
  token = await createToken(secret, 'write', { name: 'w1' });
});
after(() => server.close());

function get(
  path: string,
  o: { method?: string; token?: string | null } = {},
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const t = o.token === undefined ? token : o.token;
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers: t ? { Authorization: `Bearer ${t}` } : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('a piece in a local store is served with its length; HEAD gives the length only; <cid>.car too', async () => {
  const r = await get(`/piecestore/${HIT}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], '1000');
  assert.ok(r.body.equals(payload));
  const h = await get(`/piecestore/${HIT}`, { method: 'HEAD' });
  assert.equal(h.status, 200);
  assert.equal(h.headers['content-length'], '1000');
  assert.equal(h.body.length, 0);
  const car = await get(`/piecestore/${CAR}`);
  assert.equal(car.status, 200);
  assert.equal(car.body.length, 300);
});

test('not local: a redirect to the market /resource, or a clear 404 without a market', async () => {
  current = withMarket;
  try {
    const r = await get(`/piecestore/${MISS}`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, `http://10.1.2.3:41235/resource?resource-id=${MISS}`);
    const h = await get(`/piecestore/${MISS}`, { method: 'HEAD' });
    assert.equal(h.status, 302);
    // a local copy wins over the market
    assert.equal((await get(`/piecestore/${HIT}`)).status, 200);
  } finally {
    current = cfg;
  }
  const r = await get(`/piecestore/${MISS}`);
  assert.equal(r.status, 404);
  assert.match(
    r.body.toString(),
    new RegExp(`^piece ${MISS} is in none of the 2 local piece store\\(s\\) .* no market is configured`),
  );
});

test('names that are not CIDs (path traversal) are refused before any file is touched', async () => {
  for (const p of [
    '/piecestore/..%2Fsecret',
    '/piecestore/../secret',
    `/piecestore/${HIT}%2F..%2F..%2Fsecret`,
    '/piecestore/%2e%2e',
    '/piecestore/',
    `/piecestore/${'a'.repeat(500)}`,
    '/piecestore/%E0%A4%A',
  ]) {
    const r = await get(p);
    assert.equal(r.status, 400, `${p}: ${r.status} ${r.body}`);
    assert.ok(!r.body.toString().includes('SECRET-CONTENT'), p);
  }
  assert.deepEqual(pieceNameOf('/piecestore/..%2Fsecret'), { error: '"../secret" is not a piece CID' });
  assert.deepEqual(pieceNameOf(`/piecestore/${HIT}?x=1`), { cid: HIT });
});

test('a token is required (header only; not in the URL; a forged one refused)', async () => {
  assert.equal((await get(`/piecestore/${HIT}`, { token: null })).status, 401);
  assert.equal((await get(`/piecestore/${HIT}?token=${token}`, { token: null })).status, 401);
  const forged = await createToken(new Uint8Array(32).fill(6), 'admin', { name: 'x' });
  const r = await get(`/piecestore/${HIT}`, { token: forged });
  assert.equal(r.status, 401);
  assert.ok(!r.body.toString().includes(forged));
  assert.equal(
    (await get(`/piecestore/${HIT}`, { token: await createToken(secret, 'read', { name: 'r' }) })).status,
    200,
  );
});
