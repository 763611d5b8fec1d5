import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../common/config.js';
import { parseWorkerConfig } from './config.js';

const STORE = '[[store]]\nlocation = "/s"\n';

function problems(text: string): string {
  try {
    parseWorkerConfig('w.toml', text, '/base');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('expected a config error');
}

test('[sealer_rpc] url (as the guide writes it) gives one manager', () => {
  const c = parseWorkerConfig('w.toml', `[sealer_rpc]\nurl = "ws://127.0.0.1:1789/rpc/v0"\n${STORE}`, '/base');
  assert.equal(c.sectorManager.url, 'ws://127.0.0.1:1789/rpc/v0');
  assert.deepEqual(c.sectorManager.urls, ['ws://127.0.0.1:1789/rpc/v0']);
  const m = parseWorkerConfig('w.toml', `[sealer_rpc]\naddr = "/ip4/10.0.0.1/tcp/1789"\n${STORE}`, '/base');
  assert.deepEqual(m.sectorManager.urls, ['http://10.0.0.1:1789/rpc/v0']);
});

test('[sealer_rpc] urls lists every manager, in order, with the headers shared', () => {
  const c = parseWorkerConfig(
    'w.toml',
    `[sealer_rpc]\nurls = ["ws://10.0.0.1:1789/rpc/v0", "/ip4/10.0.0.2/tcp/1789"]\nheaders = { Authorization = "Bearer x" }\n${STORE}`,
    '/base',
  );
  assert.deepEqual(c.sectorManager.urls, ['ws://10.0.0.1:1789/rpc/v0', 'http://10.0.0.2:1789/rpc/v0']);
  assert.equal(c.sectorManager.url, 'ws://10.0.0.1:1789/rpc/v0');
  assert.deepEqual(c.sectorManager.headers, { Authorization: 'Bearer x' });
});

test('url and urls together, an empty or long list, a bad or repeated entry: config errors naming the key', () => {
  assert.match(
    problems(`[sealer_rpc]\nurl = "ws://a:1/rpc/v0"\nurls = ["ws://b:1/rpc/v0"]\n${STORE}`),
    /sealer_rpc\.urls and sealer_rpc\.url are both set: keep one/,
  );
  assert.match(
    problems(`[sealer_rpc]\naddr = "/ip4/1.2.3.4/tcp/1"\nurls = ["ws://b:1/rpc/v0"]\n${STORE}`),
    /sealer_rpc\.urls and sealer_rpc\.addr are both set/,
  );
  assert.match(problems(`[sealer_rpc]\nurls = []\n${STORE}`), /sealer_rpc\.urls: .*>=1 items/);
  const nine = Array.from({ length: 9 }, (_, i) => `"ws://m${i}:1/rpc/v0"`).join(', ');
  assert.match(problems(`[sealer_rpc]\nurls = [${nine}]\n${STORE}`), /sealer_rpc\.urls: .*<=8 items/);
  assert.match(
    problems(`[sealer_rpc]\nurls = ["ws://a:1/rpc/v0", "ftp://b"]\n${STORE}`),
    /sealer_rpc\.urls\[1\]: expected a URL/,
  );
  assert.match(
    problems(`[sealer_rpc]\nurls = ["ws://a:1/rpc/v0", "ws://a:1/rpc/v0"]\n${STORE}`),
    /sealer_rpc\.urls\[1\]: "ws:\/\/a:1\/rpc\/v0" is listed twice/,
  );
  assert.match(
    problems(`[sealer_rpc]\nurls = [5]\n${STORE}`),
    /sealer_rpc\.urls\[0\]: expected string, received number/,
  );
  assert.match(problems(`[sealer_rpc]\nheaders = {}\n${STORE}`), /sealer_rpc\.url: missing \(required; or urls/);
});
