import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { devnetNetwork, initHome } from './home.js';
import { describeProvingPolicy, makePolicy } from './policy.js';
import { AcceptingVerifier } from './verifier.js';

const dir = mkdtempSync(join(tmpdir(), 'devnet-home-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test("init allows the guide's 512MiB by default, besides 2KiB and 8MiB", async () => {
  const r = await initHome({ home: join(dir, 'a'), listen: '127.0.0.1:0' }, new AcceptingVerifier());
  assert.deepEqual(r.policy.sectorSizes, [2048, 8 << 20, 512 << 20]);
  const only = await initHome(
    { home: join(dir, 'b'), listen: '127.0.0.1:0', sectorSizes: [2048] },
    new AcceptingVerifier(),
  );
  assert.deepEqual(only.policy.sectorSizes, [2048]);
});

test('the proving-period policy in one line: the 2k default and a short one', () => {
  assert.equal(
    describeProvingPolicy(makePolicy({ sectorSizes: [2048, 8 << 20, 512 << 20] }), 1000),
    'proving period 48 deadlines × 60 epochs = 2880 epochs (48m0s at 1000ms blocks; a deadline every 1m0s), challenge lookback 20 epochs; sector sizes 2KiB, 8MiB, 512MiB',
  );
  assert.match(
    describeProvingPolicy(
      makePolicy({ wpostChallengeWindow: 20, wpostPeriodDeadlines: 12, wpostChallengeLookback: 5 }),
      1000,
    ),
    /^proving period 12 deadlines × 20 epochs = 240 epochs \(4m0s at 1000ms blocks; a deadline every 20s\)/,
  );
});

test('init --network takes the network table: 2k and devnet run, a public network and an unknown name are refused', () => {
  assert.equal(devnetNetwork('2k'), '2k');
  assert.equal(devnetNetwork('devnet'), '2k');
  assert.throws(() => devnetNetwork('forcenet'), /the devnet runs the 2k network, not force \("forcenet"\)/);
  assert.throws(() => devnetNetwork('bogus'), /unknown network "bogus" \(one of /);
});

test('init creates a funded deal client with 64 GiB of datacap, its key in keys/client.key', async () => {
  const { existsSync, readFileSync } = await import('node:fs');
  const { importKeyInfo, keyFromPrivate, parseAddress } = await import('../fil/index.js');
  const { DevnetNode } = await import('./node.js');
  const { datacapBalance } = await import('./verifreg/state.js');
  const home = join(dir, 'client');
  const r = await initHome({ home, listen: '127.0.0.1:0' }, new AcceptingVerifier());
  const c = r.settings.client!;
  assert.equal(r.settings.accounts.length, 3, 'the three operator accounts are unchanged');
  assert.equal(c.keyFile, join(home, 'keys', 'client.key'));
  assert.ok(existsSync(c.keyFile));
  const ki = importKeyInfo(readFileSync(c.keyFile, 'utf8'));
  assert.equal(keyFromPrivate(ki.type, ki.privateKey).address.toString(), c.address);
  const node = DevnetNode.open(join(home, 'chain.db'), new AcceptingVerifier());
  try {
    const id = node.lookupId(parseAddress(c.address))!;
    assert.equal(node.view().get(id)!.balance, 1_000_000n * 10n ** 18n);
    assert.equal(datacapBalance(node.view(), id), (64n << 30n) * 10n ** 18n);
  } finally {
    await node.close();
  }
});
