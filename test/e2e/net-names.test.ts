/**
 * Network names on the command line: the guide's `--net=forcenet` and the original's spellings are accepted, an
 * unknown name is refused with the list, by venus-sector-manager and venus-devnet alike (src/fil/network.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli } from './common.js';

const dir = mkdtempSync(join(tmpdir(), 'net-names-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const vsm = 'src/cli/venus-sector-manager.ts';
const devnet = 'src/cli/venus-devnet.ts';

test('venus-sector-manager --net bogus is refused with the list of networks', async () => {
  const home = join(dir, 'm-bogus');
  const r = await runCli(vsm, ['--home', home, '--net', 'bogus', 'daemon', 'init']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /unknown network "bogus" \(one of mainnet.*forcenet.*\)/);
  assert.ok(!existsSync(join(home, 'sector-manager.cfg')), 'nothing written for a refused --net');
});

test("venus-sector-manager accepts the guide's --net=forcenet and the original's spellings", async () => {
  for (const net of ['forcenet', 'force', 'cali', 'calibnet', '2k']) {
    const home = join(dir, `m-${net}`);
    const r = await runCli(vsm, ['--home', home, `--net=${net}`, 'daemon', 'init']);
    assert.equal(r.code, 0, `${net}: ${r.stderr}`);
    assert.match(r.stdout, /config written/);
  }
});

test('venus-devnet init refuses an unknown network and names why a public one does not run here', async () => {
  const bogus = await runCli(devnet, ['--home', join(dir, 'd1'), 'init', '--network', 'bogus']);
  assert.notEqual(bogus.code, 0);
  assert.match(bogus.stderr, /unknown network "bogus" \(one of /);
  const cali = await runCli(devnet, ['--home', join(dir, 'd2'), 'init', '--network', 'cali']);
  assert.notEqual(cali.code, 0);
  assert.match(cali.stderr, /the devnet runs the 2k network, not calibnet \("cali"\)/);
});
