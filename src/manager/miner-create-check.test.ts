import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initHome as initDevnet } from '../devnet/home.js';
import { DevnetService } from '../devnet/service.js';
import { AcceptingVerifier } from '../devnet/verifier.js';
import { initHome } from './config.js';
import { checkMinerSectorSize } from './miner-create-check.js';

test('checkMinerSectorSize: an accepted size passes, a refused one names the accepted sizes and the devnet flag', () => {
  const params = { NetworkName: '2k', SupportedProofTypes: [5, 6] };
  checkMinerSectorSize(params, 2048, 5);
  assert.throws(
    () => checkMinerSectorSize(params, 512 << 20, 7),
    (e: Error) =>
      e.name === 'UserError' &&
      e.message ===
        '--sector-size 512MiB: the chain (2k) does not accept 512MiB sectors (seal proof 7); it accepts 2KiB, 8MiB. Nothing was sent; on venus-devnet, create the devnet with `venus-devnet init --sector-sizes 2KiB,8MiB,512MiB`',
  );
  // a chain that does not list its proof types is not second-guessed
  checkMinerSectorSize({ NetworkName: 'calibrationnet', SupportedProofTypes: null }, 512 << 20, 7);
});

let dir: string;
let devnet: DevnetService;
let token: string;
let from: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vsm-create-check-'));
  // a devnet that accepts only 2KiB sectors
  const r = await initDevnet(
    { home: join(dir, 'devnet'), blockTimeMs: 200, listen: '127.0.0.1:0', sectorSizes: [2048] },
    new AcceptingVerifier(),
  );
  token = r.token;
  from = r.settings.accounts[0]!.address;
  devnet = await DevnetService.start({ home: join(dir, 'devnet'), verifier: new AcceptingVerifier() });
});
after(async () => {
  await devnet.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('util miner create with a size the devnet refuses: refused before anything is sent', async () => {
  const home = join(dir, 'manager');
  const { file } = initHome(home);
  const ma = devnet.multiaddr;
  writeFileSync(
    file,
    readFileSync(file, 'utf8')
      .replace('[Chain]\n', `[Chain]\nApi = "${ma}"\nToken = "${token}"\n`)
      .replace('[Messager]\n', `[Messager]\nApi = "${ma}"\nToken = "${token}"\n`),
  );
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/venus-sector-manager.ts',
        '--home',
        home,
        '--net=forcenet',
        'util',
        'miner',
        'create',
        `--from=${from}`,
        '--sector-size=512MiB',
      ],
      { env: { ...process.env, LOG_FORMAT: 'text' } },
    );
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    p.on('close', (code) => resolve({ code, stderr }));
  });
  assert.notEqual(r.code, 0);
  assert.match(
    r.stderr,
    /--sector-size 512MiB: the chain \(2k\) does not accept 512MiB sectors .*accepts 2KiB\. Nothing was sent/,
  );
  assert.match(r.stderr, /venus-devnet init --sector-sizes 2KiB,512MiB/);
  const res = await fetch(devnet.url('v0'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', method: 'Message.ListMessageByAddress', params: [from], id: 1 }),
  });
  const body = (await res.json()) as { result: unknown[] | null };
  assert.equal(body.result, null, 'no CreateMiner message was pushed');
});
