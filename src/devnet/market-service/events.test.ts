/**
 * Market events over a WebSocket, as a damocles sealer sees them: ListenMarketEvent → InitConnect; a client's
 * retrieval of a piece with no unsealed copy → SectorsUnsealPiece (JSON UnsealRequest, base64) → the sealer
 * uploads to the piece store and answers → the piece is ready. An error answer reaches the client; a request
 * made while no sealer listens waits for one; a sealer that drops hands its request to the next.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { MarketApi, type MarketRequestEvent, type UnsealRequest } from '../../api/market.js';
import { commPToCid, fromBase64, toBase64 } from '../../fil/index.js';
import { commPOfBuffer } from '../../proofs/commp.js';
import { createClient } from '../../rpc/index.js';
import { DevnetMarketAPI } from './client-api.js';
import { type MarketHarness, startMarket } from './testkit.js';

let h: MarketHarness;
before(async () => {
  h = await startMarket();
});
after(() => h.close());

function sealer() {
  return createClient(MarketApi, { url: `${h.base.replace('http', 'ws')}/rpc/v1`, token: h.write });
}
const client = () => createClient(DevnetMarketAPI, { url: `${h.base}/rpc/v1`, token: h.write });

async function next(it: AsyncIterator<MarketRequestEvent>): Promise<MarketRequestEvent> {
  const r = await it.next();
  assert.ok(!r.done, 'channel ended');
  return r.value;
}

async function waitState(cid: string, want: string) {
  const c = client();
  try {
    for (let i = 0; i < 100; i++) {
      const s = await c.RetrievePiece(cid, false);
      if (s.State === want) return s;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`piece ${cid} never became ${want}`);
  } finally {
    await c.close();
  }
}

function piece(n = 200) {
  const data = new Uint8Array(randomBytes(n));
  return { data, cid: commPToCid(commPOfBuffer(data, 256).commP).toString() };
}

describe('market events', () => {
  test('listen → SectorsUnsealPiece → upload + response → ready', async () => {
    const s = sealer();
    const sub = await s.ListenMarketEvent({ Miner: 't01000' });
    const it = sub[Symbol.asyncIterator]();
    assert.equal((await next(it)).Method, 'InitConnect');
    const p = piece();
    h.addDeal({ piece_cid: p.cid, sector: 5, offset: 1024, payload_size: p.data.length });
    const c = client();
    assert.equal((await c.RetrievePiece(p.cid, false)).State, 'unsealing');
    const ev = await next(it);
    assert.equal(ev.Method, 'SectorsUnsealPiece');
    const req = JSON.parse(new TextDecoder().decode(fromBase64(ev.Payload))) as UnsealRequest;
    assert.deepEqual(req, {
      PieceCid: { '/': p.cid },
      Miner: 't01000',
      Sid: 5,
      Offset: 1016,
      Size: 254,
      Dest: `market://pieces/${p.cid}`,
    });
    // still unsealing until the sealer answers
    assert.equal((await c.RetrievePiece(p.cid, false)).State, 'unsealing');
    const up = await fetch(`${h.base}/resource?resource-id=${p.cid}&store=pieces`, {
      method: 'PUT',
      body: p.data,
      headers: { Authorization: `Bearer ${h.write}` },
    });
    assert.equal(up.status, 200, await up.clone().text());
    await s.ResponseMarketEvent({ ID: ev.ID, Payload: null, Error: '' });
    const st = await waitState(p.cid, 'ready');
    assert.equal(st.PayloadSize, 200);
    // --unseal asks again although a copy exists
    assert.equal((await c.RetrievePiece(p.cid, true)).State, 'unsealing');
    const again = await next(it);
    assert.equal(again.Method, 'SectorsUnsealPiece');
    // answered without a fresh upload: the old copy does not count
    await s.ResponseMarketEvent({ ID: again.ID, Payload: toBase64(new Uint8Array([1])), Error: '' });
    assert.match((await waitState(p.cid, 'failed')).Error, /no piece reached the piece store/);
    assert.equal((await c.RetrievePiece(p.cid, true)).State, 'unsealing');
    const third = await next(it);
    const up2 = await fetch(`${h.base}/resource?resource-id=${p.cid}&size=200`, {
      method: 'PUT',
      body: p.data,
      headers: { Authorization: `Bearer ${h.write}` },
    });
    assert.equal(up2.status, 200);
    await s.ResponseMarketEvent({ ID: third.ID, Payload: null, Error: '' });
    await waitState(p.cid, 'ready');
    await c.close();
    await s.close();
  });

  test("the sealer's error reaches the client; an answer without the upload is a failure", async () => {
    const s = sealer();
    const it = (await s.ListenMarketEvent({ Miner: 't01000' }))[Symbol.asyncIterator]();
    await next(it);
    const p = piece();
    h.addDeal({ piece_cid: p.cid });
    const c = client();
    await c.RetrievePiece(p.cid, false);
    const ev = await next(it);
    await s.ResponseMarketEvent({ ID: ev.ID, Payload: null, Error: 'sector 5 has no sealed file' });
    const st = await waitState(p.cid, 'failed');
    assert.match(st.Error, /sector 5 has no sealed file/);
    await c.RetrievePiece(p.cid, false);
    const ev2 = await next(it);
    await s.ResponseMarketEvent({ ID: ev2.ID, Payload: null, Error: '' });
    assert.match((await waitState(p.cid, 'failed')).Error, /no piece reached the piece store/);
    await assert.rejects(s.ResponseMarketEvent({ ID: ev2.ID, Payload: null, Error: '' }), /no pending market event/);
    await c.close();
    await s.close();
  });

  test('a request waits for a sealer of its miner; a dropped sealer hands it on', async () => {
    const p = piece();
    h.addDeal({ piece_cid: p.cid, provider: 't02000', provider_id: 2000 });
    const c = client();
    assert.equal((await c.RetrievePiece(p.cid, false)).State, 'unsealing');
    const other = sealer();
    const otherIt = (await other.ListenMarketEvent({ Miner: 't01000' }))[Symbol.asyncIterator]();
    await next(otherIt); // InitConnect only: the request is for t02000
    const s1 = sealer();
    const it1 = (await s1.ListenMarketEvent({ Miner: 't02000' }))[Symbol.asyncIterator]();
    assert.equal((await next(it1)).Method, 'InitConnect');
    const ev = await next(it1);
    assert.equal(ev.Method, 'SectorsUnsealPiece');
    await s1.close(); // gone without answering
    const s2 = sealer();
    const it2 = (await s2.ListenMarketEvent({ Miner: 't02000' }))[Symbol.asyncIterator]();
    await next(it2);
    const ev2 = await next(it2);
    assert.equal(ev2.ID, ev.ID, 'the same request, resent');
    await fetch(`${h.base}/resource?resource-id=${p.cid}&size=200`, {
      method: 'PUT',
      body: p.data,
      headers: { Authorization: `Bearer ${h.write}` },
    });
    await s2.ResponseMarketEvent({ ID: ev2.ID, Payload: null, Error: '' });
    await waitState(p.cid, 'ready');
    await Promise.all([c.close(), s2.close(), other.close()]);
  });

  test('no token, no market events', async () => {
    const anon = createClient(MarketApi, { url: `${h.base.replace('http', 'ws')}/rpc/v1` });
    await assert.rejects(anon.ListenMarketEvent({ Miner: 't01000' }), /needs a token/);
    await assert.rejects(anon.ResponseMarketEvent({ ID: 'x', Payload: null, Error: '' }), /needs a token/);
    await anon.close();
  });

  test('a piece in no active deal and no store is a clear failure', async () => {
    const c = client();
    const p = piece();
    const st = await c.RetrievePiece(p.cid, false);
    assert.equal(st.State, 'failed');
    assert.match(st.Error, /is in no deal and not in the piece store/);
    h.addDeal({ piece_cid: p.cid, state: 'sealing' });
    assert.match(
      (await c.RetrievePiece(p.cid, false)).Error,
      /no active deal to unseal it from \(deals: ddo sealing\)/,
    );
    await assert.rejects(c.RetrievePiece('nope', false), /not a piece CID/);
    await c.close();
  });
});
