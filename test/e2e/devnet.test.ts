/**
 * The devnet with the real programs (node dist/cli/…; `npm run build` first):
 *   venus-devnet init / run, venus-wallet run registered with the devnet gateway ([APIRegisterHub] from the
 *   devnet's snippets), the genesis keys imported into the wallet; then a signed transfer and a CreateMiner
 *   pushed to the devnet's messager land with the right receipts; a restart of the devnet keeps all state.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FullNodeAPI } from '../../src/api/full.js';
import { MessagerAPI } from '../../src/api/messager.js';
import { setupLogging } from '../../src/common/log.js';
import { decodeCreateMinerReturn, encodeCreateMinerParams } from '../../src/devnet/codec.js';
import { createMinerDeposit, makePolicy } from '../../src/devnet/policy.js';
import {
  fromBase64,
  idAddress,
  messageToJSON,
  newMessage,
  parseAddress,
  setDefaultNetwork,
} from '../../src/fil/index.js';
import { createClient } from '../../src/rpc/index.js';
import { runNode } from './common.js';
import { ROOT, WalletHarness } from './wallet-harness.js';

setupLogging({ levelSpec: 'silent' });
// the devnet runs the 2k network: addresses print with the t prefix
setDefaultNetwork('t');

const DEVNET = join(ROOT, 'dist/cli/venus-devnet.js');

function devnetCli(home: string, args: string[]) {
  return runNode([DEVNET, '--home', home, ...args], { ...process.env, NODE_ENV: 'test' }, process.cwd());
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('venus-devnet with venus-wallet: messages signed by the real wallet land; restart keeps state', () => {
  const home = mkdtempSync(join(tmpdir(), 'devnet-e2e-'));
  const wallet = new WalletHarness();
  const procs = new Set<ChildProcess>();
  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await wallet.cleanup();
    rmSync(home, { recursive: true, force: true });
  });

  async function startDevnet(log: string): Promise<{ proc: ChildProcess; multiaddr: string; url: string }> {
    const logPath = join(home, log);
    const fd = openSync(logPath, 'a');
    const proc = spawn(process.execPath, [DEVNET, '--home', home, 'run'], {
      stdio: ['ignore', fd, fd],
      env: { ...process.env, NODE_ENV: 'test' },
    });
    closeSync(fd);
    procs.add(proc);
    proc.on('exit', () => procs.delete(proc));
    const m = await waitFor(
      'devnet to listen',
      () =>
        /venus-devnet listening on (\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/http)/.exec(readFileSync(logPath, 'utf8')) ??
        undefined,
    );
    return { proc, multiaddr: m[1]!, url: `ws://127.0.0.1:${m[2]}/rpc/v0` };
  }

  let token = '';
  let owner = '';
  let worker = '';
  let secp = '';
  let height = 0;

  it('init writes funded keys, a token and snippets; run serves; the wallet registers with the gateway', async () => {
    const init = await devnetCli(home, [
      'init',
      '--block-time',
      '150ms',
      '--listen',
      '127.0.0.1:0',
      '--policy',
      'wpostChallengeWindow=20,wpostPeriodDeadlines=4,wpostChallengeLookback=5,faultDeclarationCutoff=10',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const accounts = [...init.stdout.matchAll(/^ {2}(t[13][a-z2-7]+) {2}(bls|secp256k1) {2}(\S+)$/gm)];
    assert.equal(accounts.length, 3);
    [owner, worker, secp] = accounts.map((a) => a[1]!);
    token = /^Token = "([^"]+)"$/m.exec(init.stdout)![1]!;

    const dn = await startDevnet('devnet.log');
    const snippets = readFileSync(join(home, 'snippets.toml'), 'utf8');
    const hub = /\[APIRegisterHub\][\s\S]*?SupportAccounts = \[[^\]]*\]/.exec(snippets)![0];
    assert.ok(hub.includes(dn.multiaddr));

    wallet.writeConfig(`\n${hub}\n`);
    const pw = await wallet.startDaemon();
    const set = await wallet.cli(['setpwd'], 'pw-devnet\npw-devnet\n');
    assert.equal(set.code, 0, set.stderr);
    for (const f of readdirSync(join(home, 'keys'))) {
      const r = await wallet.cli(['import', join(home, 'keys', f)]);
      assert.equal(r.code, 0, r.stderr);
    }
    // the keys were imported after the wallet registered: a restart registers them all at once
    await pw.stop();
    const d = await wallet.startDaemon(['--password'], { input: 'pw-devnet\n', logName: 'wallet2.log' });
    await d.waitForLog(/connect to server [0-9a-f-]{36}/, 20_000);
  });

  it('a transfer and a CreateMiner pushed to the messager are signed by the wallet and land with their receipts', async () => {
    const dnUrl = `ws://${/tcp\/(\d+)/.exec(readFileSync(join(home, 'api'), 'utf8'))![0].replace('tcp/', '127.0.0.1:')}/rpc/v0`;
    const msgr = createClient(MessagerAPI, { url: dnUrl, token });
    const full = createClient(FullNodeAPI, { url: dnUrl.replace('/v0', '/v1'), token });
    after(async () => {
      await msgr.close();
      await full.close();
    });
    const bob = 't1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba';
    const transfer = messageToJSON(
      newMessage({ from: parseAddress(secp), to: parseAddress(bob), value: 7n * 10n ** 18n }),
    );
    await msgr.PushMessageWithId('e2e-transfer', transfer, null);
    const create = messageToJSON(
      newMessage({
        from: parseAddress(owner),
        to: idAddress(4),
        method: 2,
        value: createMinerDeposit(makePolicy()),
        params: encodeCreateMinerParams({
          owner: parseAddress(owner),
          worker: parseAddress(worker),
          windowPoStProofType: 10,
          peer: new Uint8Array(0),
          multiaddrs: [],
        }),
      }),
    );
    await msgr.PushMessageWithId('e2e-create-miner', create, {
      expireEpoch: 0,
      gasOverEstimation: 1.2,
      maxFee: '0',
      gasOverPremium: 0,
    });
    const t = await msgr.WaitMessage('e2e-transfer', 2);
    assert.equal(t.State, 3, t.ErrorMsg);
    assert.equal(t.Receipt!.ExitCode, 0);
    assert.equal(await full.WalletBalance(bob), (7n * 10n ** 18n).toString());
    const c = await msgr.WaitMessage('e2e-create-miner', 2);
    assert.equal(c.State, 3, c.ErrorMsg);
    assert.equal(c.Receipt!.ExitCode, 0);
    const ret = decodeCreateMinerReturn(fromBase64(c.Receipt!.Return!));
    const info = await full.StateMinerInfo(ret.idAddress.toString(), null);
    assert.equal(info.Owner, await full.StateLookupID(owner, null));
    assert.equal(info.Worker, await full.StateLookupID(worker, null));
    const status = await devnetCli(home, ['status', '--json']);
    const s = JSON.parse(status.stdout);
    assert.equal(s.Miners.length, 1);
    assert.equal(s.Miners[0].Miner, ret.idAddress.toString());
    height = s.Height;
  });

  it('a restart of the devnet resumes at the same height with the same state', async () => {
    for (const p of procs) {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
    assert.ok(existsSync(join(home, 'chain.db')));
    await startDevnet('devnet2.log');
    const status = JSON.parse((await devnetCli(home, ['status', '--json'])).stdout);
    assert.ok(status.Height >= height, `${status.Height} ≥ ${height}`);
    assert.equal(status.Miners.length, 1);
    const dnUrl = `http://127.0.0.1:${/tcp\/(\d+)/.exec(readFileSync(join(home, 'api'), 'utf8'))![1]}/rpc/v0`;
    const msgr = createClient(MessagerAPI, { url: dnUrl, token });
    const rec = await msgr.GetMessageByUid('e2e-create-miner');
    assert.equal(rec.State, 3);
    assert.equal(rec.Receipt!.ExitCode, 0);
  });
});
