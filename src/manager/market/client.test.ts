import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ErrorCode } from '../../rpc/index.js';
import { type ManagerConfig, parseManagerConfig } from '../config.js';
import {
  connectMarket,
  explainMarketFailure,
  isMarketUnreachable,
  MarketConnection,
  marketEndpoint,
  pieceResourceUrl,
  probeMarket,
} from './client.js';
import { FakeMarket } from './testkit.js';

let market: FakeMarket;
before(async () => {
  market = await new FakeMarket().start();
});
after(() => market.down());

function cfgWith(api: string, token = ''): ManagerConfig {
  return parseManagerConfig(
    'sector-manager.cfg',
    `[[SectorManager.Miners]]\nID = 1000\nEnableDeals = true\n[DealManagerConfig.MarketAPI]\nApi = "${api}"\nToken = "${token}"\n`,
  );
}

test('marketEndpoint: multiaddr, URL and TOKEN:multiaddr give /rpc/v1 and the /resource origin', () => {
  assert.deepEqual(marketEndpoint(cfgWith('/ip4/10.0.0.2/tcp/41235')), {
    url: 'http://10.0.0.2:41235/rpc/v1',
    base: 'http://10.0.0.2:41235',
  });
  assert.deepEqual(marketEndpoint(cfgWith('https://droplet.example:8443'), 'ws'), {
    url: 'wss://droplet.example:8443/rpc/v1',
    base: 'https://droplet.example:8443',
  });
  // an embedded token is used unless [DealManagerConfig.MarketAPI] Token is set
  assert.equal(marketEndpoint(cfgWith('abc.def.ghi:/ip4/10.0.0.2/tcp/1/http'))?.token, 'abc.def.ghi');
  assert.equal(marketEndpoint(cfgWith('abc.def.ghi:/ip4/10.0.0.2/tcp/1/http', 'x.y.z'))?.token, 'x.y.z');
  assert.equal(marketEndpoint(parseManagerConfig('c.cfg', '')), undefined);
  assert.equal(
    pieceResourceUrl('http://10.0.0.2:41235/', 'baga6ea4seaq'),
    'http://10.0.0.2:41235/resource?resource-id=baga6ea4seaq',
  );
});

test('the client sends the namespace header and the token; AssignDeals answers', async () => {
  const token = await market.token('write');
  const c = connectMarket(cfgWith(market.api, token));
  assert.ok(c);
  try {
    market.calls = [];
    const deals = await c.AssignDeals({ Miner: 1000, Number: 1 }, 2048, {
      MaxPiece: 1,
      MaxPieceSize: 0,
      MinPiece: 0,
      MinPieceSize: 0,
      MinUsedSpace: 0,
      StartEpoch: 10,
      EndEpoch: 20,
      SectorExpiration: null,
    });
    assert.deepEqual(deals, []);
    assert.deepEqual(market.calls[0]?.namespace, 'v1.IMarket');
  } finally {
    await c.close();
  }
});

test('probeMarket: a good token passes, a wrong one and a dead address name their keys', async () => {
  const good = cfgWith(market.api, await market.token('write'));
  const c = connectMarket(good);
  assert.ok(c);
  await probeMarket(good, c, 't01000');
  await c.close();

  const readOnly = cfgWith(market.api, await market.token('read'));
  const r = connectMarket(readOnly);
  assert.ok(r);
  await assert.rejects(probeMarket(readOnly, r, 't01000'), (e: Error) => {
    assert.equal(e.name, 'UserError');
    assert.match(e.message, /lacks the write permission AssignDeals needs \(\[DealManagerConfig\.MarketAPI\] Token/);
    return true;
  });
  await r.close();

  const forged = 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJwZXJtIjoiYWRtaW4ifQ.AAAA';
  const bad = cfgWith(market.api, forged);
  const b = connectMarket(bad);
  assert.ok(b);
  await assert.rejects(probeMarket(bad, b, 't01000'), (e: Error) => {
    assert.match(e.message, /token refused \(\[DealManagerConfig\.MarketAPI\] Token in sector-manager\.cfg\)/);
    assert.ok(!e.message.includes(forged), 'the token is not in the error');
    return true;
  });
  await b.close();

  // a port nobody listens on any more
  const gone = await new FakeMarket().start();
  await gone.down();
  const dead = cfgWith(gone.api, 'a.b.c');
  const d = connectMarket(dead);
  assert.ok(d);
  await assert.rejects(
    probeMarket(dead, d, 't01000'),
    /cannot use the market at \/ip4\/127\.0\.0\.1\/tcp\/\d+\/http: .*ECONNREFUSED.*\(\[DealManagerConfig\.MarketAPI\] Api in sector-manager\.cfg\)$/,
  );
  await d.close();
});

test('isMarketUnreachable / explainMarketFailure classify errors', () => {
  assert.equal(isMarketUnreachable({ code: ErrorCode.Connection }), true);
  assert.equal(isMarketUnreachable({ code: ErrorCode.Timeout }), true);
  assert.equal(isMarketUnreachable({ code: 503 }), true);
  assert.equal(isMarketUnreachable({ code: ErrorCode.App }), false);
  assert.equal(isMarketUnreachable({ code: ErrorCode.Unauthorized }), false);
  assert.match(
    explainMarketFailure('/ip4/1.2.3.4/tcp/5', { code: ErrorCode.MethodNotFound, message: 'method not found' }),
    /does not serve VENUS_MARKET v1/,
  );
});

test('MarketConnection reconnects when a reload changes the market, and is empty without one', async () => {
  let cfg = cfgWith(market.api, await market.token());
  const conn = new MarketConnection(() => cfg);
  const first = conn.get();
  assert.ok(first);
  assert.equal(conn.get(), first, 'same config, same client');
  cfg = cfgWith(market.api, await market.token('admin'));
  const second = conn.get();
  assert.ok(second && second !== first);
  cfg = parseManagerConfig('c.cfg', '');
  assert.equal(conn.get(), undefined);
  await conn.close();
});

test('a token inside the Api (TOKEN:/ip4/…) never reaches an error or the logged config', async () => {
  const { formatConfig } = await import('../config.js');
  const secret = 'eyJhbGciOiJIUzI1NiJ9.eyJwZXJtIjoid3JpdGUifQ.c2lnbmF0dXJlLXNlY3JldA';
  const cfg = cfgWith(`${secret}:/ip4/10.0.0.9/tcp/41235/http`);
  assert.ok(!formatConfig(cfg).includes('c2lnbmF0dXJlLXNlY3JldA'));
  assert.match(formatConfig(cfg), /Api = "eyJhbGciOiJIUzI1NiJ9\.eyJwZXJtIjoid3JpdGUifQ\.\*\*\*:\/ip4\/10\.0\.0\.9/);
  const msg = explainMarketFailure(cfg.DealManagerConfig.MarketAPI.Api, { code: ErrorCode.Connection, message: 'x' });
  assert.ok(!msg.includes('c2lnbmF0dXJlLXNlY3JldA'), msg);
});
