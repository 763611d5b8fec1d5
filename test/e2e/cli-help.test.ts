import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const bins = ['venus-wallet', 'venus-sector-manager', 'venus-worker', 'venus-devnet'];

for (const bin of bins) {
  test(`${bin} --help lists its subcommands and exits 0`, () => {
    const r = spawnSync(process.execPath, [`dist/cli/${bin}.js`, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`Usage: ${bin}`));
    assert.match(r.stdout, /Commands:/);
  });
}

test('an unknown subcommand is refused with a non-zero exit', () => {
  const r = spawnSync(process.execPath, ['dist/cli/venus-wallet.js', 'frobnicate'], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /unknown command/);
});
