import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../common/config.js';
import { DEFAULT_CONFIG_TEXT, dealsEnabled, formatConfig, parseManagerConfig } from '../config.js';

const TOKEN =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoibGl0YW8wNCIsInBlcm0iOiJzaWduIiwiZXh0IjoiIn0.rezCJILQkXw0hZrCYdyVVX_dB2ZqqlXWCk4izAqnld8';

const WITH_DEALS = `
[[SectorManager.Miners]]
ID = 1033
EnableDeals = true

[[SectorManager.Miners]]
ID = 1034

[DealManagerConfig.MarketAPI]
Api = "/ip4/127.0.0.1/tcp/41235/http"
Token = "${TOKEN}"

[[DealManagerConfig.LocalPieceStores]]
Name = "pieces"
Path = "/mnt/pieces"
`;

test('deal keys: EnableDeals per miner, the market endpoint, local piece stores', () => {
  const cfg = parseManagerConfig('sector-manager.cfg', WITH_DEALS);
  assert.equal(cfg.SectorManager.Miners[0]?.EnableDeals, true);
  assert.equal(cfg.SectorManager.Miners[1]?.EnableDeals, false);
  assert.equal(cfg.DealManagerConfig.MarketAPI.Api, '/ip4/127.0.0.1/tcp/41235/http');
  assert.deepEqual(cfg.DealManagerConfig.LocalPieceStores, [
    { Name: 'pieces', Path: '/mnt/pieces', Strict: false, ReadOnly: true },
  ]);
  assert.equal(dealsEnabled(cfg, 1033), true);
  assert.equal(dealsEnabled(cfg, 1034), false);
  assert.equal(dealsEnabled(cfg, 9999), false);
  // the effective config shows the deal keys, the token redacted
  const out = formatConfig(cfg);
  assert.match(out, /\n {4}EnableDeals = true\n/);
  assert.match(out, /\[DealManagerConfig\]\n {2}\[DealManagerConfig\.MarketAPI\]\n {4}Api = "\/ip4\/127\.0\.0\.1/);
  assert.ok(!out.includes(TOKEN), 'the market token is redacted');
  // a config without deals logs without the deal keys (as the guide shows it)
  const plain = formatConfig(parseManagerConfig('x.cfg', '[[SectorManager.Miners]]\nID = 1\n'));
  assert.ok(!plain.includes('EnableDeals') && !plain.includes('DealManagerConfig'), plain);
});

test('a bad market endpoint is refused naming the key', () => {
  assert.throws(
    () => parseManagerConfig('sector-manager.cfg', '[DealManagerConfig.MarketAPI]\nApi = "/ip4/300.1.1.1/tcp/1"\n'),
    (err: unknown) =>
      err instanceof ConfigError && /DealManagerConfig\.MarketAPI\.Api: .*not an IPv4 address/.test(err.message),
  );
  assert.throws(
    () => parseManagerConfig('sector-manager.cfg', '[DealManagerConfig.MarketAPI]\nApi = "ftp://x"\n'),
    /DealManagerConfig\.MarketAPI\.Api: unsupported URL scheme/,
  );
});

test('EnableDeals without a market, a relative piece store, a wrong type and an unknown key are refused', () => {
  assert.throws(
    () => parseManagerConfig('c.cfg', '[[SectorManager.Miners]]\nID = 7\nEnableDeals = true\n'),
    /SectorManager\.Miners\[0\]\.EnableDeals: deals need the market's address in \[DealManagerConfig\.MarketAPI\] Api/,
  );
  assert.throws(
    () => parseManagerConfig('c.cfg', '[[DealManagerConfig.LocalPieceStores]]\nPath = "pieces"\n'),
    /DealManagerConfig\.LocalPieceStores\.0\.Path: must be an absolute path|LocalPieceStores\[0\]\.Path/,
  );
  assert.throws(
    () => parseManagerConfig('c.cfg', '[[SectorManager.Miners]]\nID = 7\nEnableDeals = "yes"\n'),
    /EnableDeals/,
  );
  assert.throws(() => parseManagerConfig('c.cfg', '[DealManagerConfig]\nEnable = true\n'), /Enable/);
});

test('daemon init writes the deal keys commented, and uncommented they parse', () => {
  assert.match(DEFAULT_CONFIG_TEXT, /\n# {4}EnableDeals = false\n/);
  assert.match(DEFAULT_CONFIG_TEXT, /\n\[DealManagerConfig\]\n# {2}\[DealManagerConfig\.MarketAPI\]\n# {4}Api = "/);
  const text = DEFAULT_CONFIG_TEXT.split('\n')
    .map((l) => l.replace(/^#(?: Default config:)?/, ''))
    .join('\n');
  const cfg = parseManagerConfig('x.cfg', text);
  assert.equal(cfg.DealManagerConfig.LocalPieceStores[0]?.Path, '/path/to/piece/storage');
  assert.equal(cfg.DealManagerConfig.MarketAPI.Api, '/ip4/127.0.0.1/tcp/41235/http');
});
