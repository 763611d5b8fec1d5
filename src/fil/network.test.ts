import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { findNetwork, NETWORK_SPELLINGS, parseNetwork, prefixOfChainName, UnknownNetworkError } from './network.js';

describe('network names', () => {
  it("accepts the guide's and the original's spellings", () => {
    assert.equal(parseNetwork('forcenet').name, 'force');
    assert.equal(parseNetwork('force').name, 'force');
    assert.equal(parseNetwork('cali').name, 'calibnet');
    assert.equal(parseNetwork('calibnet').name, 'calibnet');
    assert.equal(parseNetwork('calibrationnet').name, 'calibnet');
    assert.equal(parseNetwork('2k').name, '2k');
    assert.equal(parseNetwork(' MainNet ').name, 'mainnet');
    assert.equal(parseNetwork('butterfly').name, 'butterfly');
    assert.equal(parseNetwork('interop').name, 'interop');
    assert.equal(parseNetwork('nerpa').name, 'nerpa');
  });

  it('gives f on mainnet and t on every test network', () => {
    assert.equal(parseNetwork('mainnet').prefix, 'f');
    assert.equal(parseNetwork('testnetnet').prefix, 'f');
    for (const n of ['forcenet', 'cali', '2k', 'butterfly', 'interop', 'integrationnet'])
      assert.equal(parseNetwork(n).prefix, 't', n);
  });

  it('refuses an unknown name with the list', () => {
    assert.equal(findNetwork('bogus'), undefined);
    assert.throws(
      () => parseNetwork('bogus'),
      (e: Error) =>
        e instanceof UnknownNetworkError &&
        e.message.startsWith('unknown network "bogus" (one of mainnet') &&
        e.message.includes('forcenet') &&
        e.message.includes('cali'),
    );
    assert.ok(NETWORK_SPELLINGS.includes('calibnet'));
  });

  it("reads a chain's own name leniently (Lotus mainnet says testnetnet)", () => {
    assert.equal(prefixOfChainName('testnetnet'), 'f');
    assert.equal(prefixOfChainName('2k'), 't');
    assert.equal(prefixOfChainName('calibrationnet'), 't');
    assert.equal(prefixOfChainName('my-private-net'), 't');
    assert.equal(prefixOfChainName(undefined), 'f');
  });
});
