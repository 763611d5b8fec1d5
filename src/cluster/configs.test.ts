import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseManagerConfig } from '../manager/config.js';
import { parseWorkerConfig } from '../worker/config.js';
import { managerConfigToml, workerConfigToml } from './configs.js';

const worker = {
  name: 'w',
  port: 17000,
  managerPorts: [1789],
  sealStores: ['/tmp/seal-1', '/tmp/seal-2'],
  rebuildStore: '/tmp/rebuild-1',
  remoteName: 'remote',
  remotePath: '/tmp/remote',
};

test('--deals: the sector-manager gets EnableDeals and the market; the worker enable_deals, the piece token, an unseal thread', () => {
  const base = {
    chainApi: '/ip4/127.0.0.1/tcp/1234',
    token: 'chain-token',
    miner: 't01000',
    sender: 't01001',
    storeName: 'remote',
    storePath: '/tmp/remote',
  };
  const cc = parseManagerConfig('cc.cfg', managerConfigToml(base));
  assert.equal(cc.SectorManager.Miners[0]!.EnableDeals, false);
  assert.equal(cc.DealManagerConfig.MarketAPI.Api, '');
  const deals = parseManagerConfig(
    'deals.cfg',
    managerConfigToml({ ...base, market: { api: '/ip4/127.0.0.1/tcp/1234', token: 'market-token' } }),
  );
  assert.equal(deals.SectorManager.Miners[0]!.EnableDeals, true);
  assert.equal(deals.SectorManager.Miners[0]!.EnableSnapUp, true);
  assert.deepEqual(deals.DealManagerConfig.MarketAPI, { Api: '/ip4/127.0.0.1/tcp/1234', Token: 'market-token' });

  const plain = parseWorkerConfig('w.toml', workerConfigToml(worker));
  assert.equal(plain.sealing.enableDeals, false);
  assert.deepEqual(
    plain.threads.map((t) => t.plan),
    ['sealer', 'sealer', 'rebuild'],
  );
  const w = parseWorkerConfig(
    'w.toml',
    workerConfigToml({
      ...worker,
      deals: { pieceToken: 'market-token', unsealStore: '/tmp/unseal-1', snapupStore: '/tmp/snapup-1' },
    }),
  );
  assert.equal(w.sealing.enableDeals, true);
  assert.equal(w.sectorManager.pieceToken, 'market-token');
  assert.deepEqual(
    w.threads.map((t) => [t.location, t.plan]),
    [
      ['/tmp/seal-1', 'sealer'],
      ['/tmp/seal-2', 'sealer'],
      ['/tmp/rebuild-1', 'rebuild'],
      ['/tmp/unseal-1', 'unseal'],
      ['/tmp/snapup-1', 'snapup'],
    ],
  );
});

test('--lease-ttl: [Common.HA] LeaseTTL beside the name, read by the manager; absent, the manager default', () => {
  const base = { chainApi: '/ip4/127.0.0.1/tcp/1234', token: 't', miner: 't01000', sender: 't01001' };
  const withTtl = parseManagerConfig(
    'a.cfg',
    managerConfigToml({ ...base, storeName: 'remote', storePath: '/tmp/remote', haName: 'manager-1', leaseTtl: '1s' }),
  );
  assert.deepEqual(withTtl.Common.HA, { Name: 'manager-1', LeaseTTL: '1s' });
  const without = parseManagerConfig(
    'b.cfg',
    managerConfigToml({ ...base, storeName: 'remote', storePath: '/tmp/remote', haName: 'manager-2' }),
  );
  assert.deepEqual(without.Common.HA, { Name: 'manager-2', LeaseTTL: '30s' });
});
