import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { MARKET_API_NAMESPACE, MARKET_API_NAMESPACE_HEADER, MarketApi } from '../../api/market.js';
import { createClient, createToken } from '../../rpc/index.js';
import { addSealedSector, MINER, makeTasks, tempDb } from '../unseal/fixture.test-util.js';
import { MarketEvents, parseUnsealRequest } from './events.js';
import { EventMarket, state, unsealEvent, until, worker } from './events.test-util.js';

const market = new EventMarket();
before(() => market.start());
after(() => market.server.close());

test('listen → SectorsUnsealPiece → task → the worker finishes it → ResponseMarketEvent "finished"', async () => {
  const { db } = tempDb();
  const { b, sid } = addSealedSector(db, 20);
  const tasks = makeTasks(db);
  const token = await createToken(market.secret, 'write', { name: 'vsm' });
  const client = createClient(MarketApi, {
    url: `ws://127.0.0.1:${market.port}/rpc/v1`,
    token,
    headers: { [MARKET_API_NAMESPACE_HEADER]: MARKET_API_NAMESPACE },
  });
  const events = new MarketEvents({
    tasks,
    miners: () => [MINER],
    client: () => client,
    answerWithinMs: 400,
    backoff: { minMs: 50, maxMs: 200 },
    registry: new Registry(),
  });
  try {
    events.start();
    await until('a subscription', () => market.subs.some((s) => /^[ft]01000$/.test(s.miner) && !s.ch.closed));
    assert.equal(market.namespaces.at(-1), MARKET_API_NAMESPACE);
    const before = market.responses.length;

    // a good request: a task, no answer until the outcome
    market.send(
      unsealEvent('ev-ok', {
        PieceCid: { '/': b },
        Miner: 't01000',
        Sid: 20,
        Offset: 1016,
        Size: 1016,
        Dest: `market://store/${b}`,
      }),
    );
    await until('the task', () => tasks.recent(1).length === 1);
    const task = tasks.recent(1)[0]!;
    assert.deepEqual(task.events, ['ev-ok']);
    assert.ok(tasks.allocate({ AllowedMiners: [MINER], AllowedProofTypes: null }, worker));
    assert.equal(market.responses.length, before, 'InitConnect and the held request are not answered yet');
    tasks.achieve(sid, { '/': b }, '', worker);
    const ok = await market.response('ev-ok');
    assert.equal(ok.Error, '');
    assert.equal(state(ok), 'finished');

    // an unknown sector is answered with an error at once
    market.send(
      unsealEvent('ev-unknown', {
        PieceCid: { '/': b },
        Miner: 't01000',
        Sid: 77,
        Offset: 0,
        Size: 1016,
        Dest: 'file:///tmp/x',
      }),
    );
    const unknown = await market.response('ev-unknown');
    assert.match(unknown.Error, /s-t01000-77 is unknown/);
    assert.equal(state(unknown), 'failed');

    // a payload that is not JSON, a request for another miner, an odd size, an unknown method
    market.send({ ID: 'ev-bad', Method: 'SectorsUnsealPiece', Payload: Buffer.from('{nope').toString('base64') });
    assert.match((await market.response('ev-bad')).Error, /payload is not JSON/);
    market.send(
      unsealEvent('ev-other', {
        PieceCid: { '/': b },
        Miner: 't01001',
        Sid: 20,
        Offset: 1016,
        Size: 1016,
        Dest: 'file:///tmp/x',
      }),
    );
    assert.match((await market.response('ev-other')).Error, /miner t01001 came on the listener of [ft]01000/);
    market.send(
      unsealEvent('ev-size', {
        PieceCid: { '/': b },
        Miner: 't01000',
        Sid: 20,
        Offset: 1016,
        Size: 1000,
        Dest: 'file:///tmp/x',
      }),
    );
    assert.match((await market.response('ev-size')).Error, /Size 1000 is not an unpadded piece size/);
    market.send({ ID: 'ev-what', Method: 'SectorsSomethingElse', Payload: '' });
    assert.match((await market.response('ev-what')).Error, /unknown market event method/);

    // a task that takes longer than answerWithinMs: answered with its state, the outcome kept for the next ask
    market.send(
      unsealEvent('ev-slow', {
        PieceCid: { '/': b },
        Miner: 't01000',
        Sid: 20,
        Offset: 1016,
        Size: 1016,
        Dest: 'file:///tmp/slow',
      }),
    );
    const slow = await market.response('ev-slow');
    assert.equal(slow.Error, '');
    assert.equal(state(slow), 'set_up');
    tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, worker);
    tasks.achieve(sid, { '/': b }, 'unsealed bytes do not match the piece CID', worker);
    market.send(
      unsealEvent('ev-slow-2', {
        PieceCid: { '/': b },
        Miner: 't01000',
        Sid: 20,
        Offset: 1016,
        Size: 1016,
        Dest: 'file:///tmp/slow',
      }),
    );
    const slow2 = await market.response('ev-slow-2');
    assert.match(slow2.Error, /do not match the piece CID/);
    assert.equal(market.responses.filter((r) => r.ID === 'init').length, 0, 'InitConnect is never answered');
  } finally {
    events.stop();
    await client.close();
  }
});

test('the market goes away and comes back: the subscription is opened again', async () => {
  const { db } = tempDb();
  const { a } = addSealedSector(db, 21);
  const tasks = makeTasks(db);
  const m = new EventMarket();
  await m.start();
  const token = await createToken(m.secret, 'write');
  const client = createClient(MarketApi, { url: `ws://127.0.0.1:${m.port}/rpc/v1`, token });
  const registry = new Registry();
  const events = new MarketEvents({
    tasks,
    miners: () => [MINER],
    client: () => client,
    backoff: { minMs: 50, maxMs: 200 },
    registry,
  });
  try {
    events.start();
    await until('first subscription', () => m.subs.length === 1);
    await until('connected', () => events.connected().includes(MINER));
    await m.server.close();
    await until('disconnected', () => !events.connected().includes(MINER));
    await sleep(300); // a few failed attempts while it is down
    const port = m.port;
    m.subs = [];
    await m.start(port);
    await until('subscription again', () => m.subs.length === 1, 10_000);
    m.send(
      unsealEvent('after', {
        PieceCid: { '/': a },
        Miner: 't01000',
        Sid: 21,
        Offset: 0,
        Size: 1016,
        Dest: 'file:///tmp/a',
      }),
    );
    await until('the task', () => tasks.recent(1).length === 1);
    // one outage, however many retries it took: one WARN, one count
    assert.match(await registry.metrics(), /venus_market_events_outages_total\{miner="[ft]01000"\} 1\n/);
  } finally {
    events.stop();
    await client.close();
    await m.server.close();
  }
});

test('parseUnsealRequest refuses what droplet never sends', () => {
  const ok = { PieceCid: { '/': 'baga6ea4seaq' }, Miner: 'f01000', Sid: 1, Offset: 0, Size: 127, Dest: 'file:///x' };
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64');
  assert.equal(parseUnsealRequest(enc(ok), 1000).Sid, 1);
  assert.throws(() => parseUnsealRequest('***', 1000), /base64/);
  assert.throws(() => parseUnsealRequest(enc({ ...ok, Sid: '1' }), 1000), /UnsealRequest.Sid/);
  assert.throws(() => parseUnsealRequest(enc({ ...ok, Sid: -1 }), 1000), /UnsealRequest.Sid/);
  assert.throws(() => parseUnsealRequest(enc({ ...ok, Dest: '' }), 1000), /UnsealRequest.Dest/);
  assert.throws(() => parseUnsealRequest(enc({ ...ok, Offset: 100 }), 1000), /Offset 100/);
  assert.throws(() => parseUnsealRequest(enc({ ...ok, Size: 127 * 3 }), 1000), /Size 381/);
  assert.throws(() => parseUnsealRequest(enc({ ...ok, Miner: 't3abc' }), 1000), /miner t3abc/);
});
