/**
 * The piece store over HTTP: a token is required (write for PUT), the received bytes must have the piece CID,
 * a body past its size is refused, unknown pieces are 404 with the reason, stored pieces stream back whole.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { commPToCid } from '../../fil/index.js';
import { commPOfBuffer } from '../../proofs/commp.js';
import { type MarketHarness, startMarket } from './testkit.js';

let h: MarketHarness;
before(async () => {
  h = await startMarket();
});
after(() => h.close());

const cidOf = (b: Uint8Array, size?: number) => commPToCid(commPOfBuffer(b, size).commP).toString();
const put = (cid: string, body: Uint8Array, token: string | null, query = `&size=${body.length}`) =>
  fetch(`${h.base}/resource?resource-id=${cid}${query}`, {
    method: 'PUT',
    body,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
const get = (cid: string, token: string | null) =>
  fetch(`${h.base}/resource?resource-id=${cid}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });

describe('piece store', () => {
  test('PUT then GET: the payload comes back whole with Content-Length', async () => {
    const data = new Uint8Array(randomBytes(1000));
    const cid = cidOf(data);
    const r = await put(cid, data, h.write);
    assert.equal(r.status, 200, await r.clone().text());
    assert.deepEqual(await r.json(), { PieceCid: cid, Size: 1000 });
    const g = await get(cid, h.read);
    assert.equal(g.status, 200);
    assert.equal(g.headers.get('content-length'), '1000');
    assert.deepEqual(new Uint8Array(await g.arrayBuffer()), data);
  });

  test('a token is required; PUT needs write', async () => {
    const data = new Uint8Array(randomBytes(300));
    const cid = cidOf(data);
    assert.equal((await put(cid, data, null)).status, 401);
    const ro = await put(cid, data, h.read);
    assert.equal(ro.status, 403);
    assert.match(await ro.text(), /'write' permission/);
    assert.equal((await get(cid, null)).status, 401);
    assert.equal((await put(cid, data, 'not-a-token')).status, 401);
  });

  test('bytes whose CommP is not the resource id are refused and nothing is kept', async () => {
    const data = new Uint8Array(randomBytes(500));
    const other = cidOf(new Uint8Array(randomBytes(500)));
    const r = await put(other, data, h.write);
    assert.equal(r.status, 400);
    assert.match(await r.text(), new RegExp(`have piece CID ${cidOf(data)}, not ${other}: refused`));
    assert.equal((await get(other, h.read)).status, 404);
    assert.deepEqual(
      readdirSync(h.market.pieces.dir).filter((f) => f.endsWith('.part')),
      [],
      'no temporary file left',
    );
  });

  test('the size bounds the body; the store bounds the size; a known deal bounds it to its piece', async () => {
    const data = new Uint8Array(randomBytes(600));
    const cid = cidOf(data);
    // Content-Length and size disagree
    const r1 = await put(cid, data, h.write, '&size=100');
    assert.equal(r1.status, 400);
    assert.match(await r1.text(), /differs from size/);
    // larger than the largest sector's piece (8128 in the harness)
    const big = await put(cid, new Uint8Array(9000), h.write, '');
    assert.equal(big.status, 413);
    // a deal says the piece is 256 padded bytes (254 unpadded)
    const small = new Uint8Array(randomBytes(200));
    const scid = cidOf(small, 256);
    h.addDeal({ piece_cid: scid, piece_size: 256, state: 'waiting' });
    const over = await put(scid, new Uint8Array(300), h.write);
    assert.equal(over.status, 413);
    assert.match(await over.text(), /larger than the 254 bytes/);
    // an unsealed copy comes back as the whole unpadded piece: the zero fill is not kept
    const unsealed = new Uint8Array(254);
    unsealed.set(small);
    assert.equal((await put(scid, unsealed, h.write)).status, 200);
    assert.ok(existsSync(h.market.pieces.path(scid)));
    assert.equal(h.market.pieces.size(scid), 200);
    assert.deepEqual(new Uint8Array(await (await get(scid, h.read)).arrayBuffer()), small);
  });

  test('piece-size: the CommP is checked over that piece size', async () => {
    const data = new Uint8Array(randomBytes(100));
    const cid256 = cidOf(data, 256);
    const r = await put(cid256, data, h.write, '&size=100');
    assert.equal(r.status, 400, 'the smallest piece (128) has another CID');
    assert.equal((await put(cid256, data, h.write, '&size=100&piece-size=256')).status, 200);
    const bad = await put(cid256, data, h.write, '&size=100&piece-size=300');
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /power of two/);
  });

  test('an unknown piece is 404 with the reason; a bad id is 400', async () => {
    const cid = cidOf(new Uint8Array([1, 2, 3]));
    const r = await get(cid, h.read);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /is not in the market's piece store/);
    const bad = await get('bafy-not-a-piece', h.read);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /not a piece CID/);
    const none = await fetch(`${h.base}/resource`, { headers: { Authorization: `Bearer ${h.read}` } });
    assert.equal(none.status, 400);
    assert.match(await none.text(), /resource-id is missing/);
  });
});
