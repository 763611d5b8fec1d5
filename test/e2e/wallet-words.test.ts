/**
 * The guide's words around venus-wallet, against the real processes: network names as the guide and the other
 * programs spell them, `t` addresses on test networks (remembered across a restart), no password prompt when the
 * daemon is down, and the npx process story (killing the `npm exec` process found with `ps -ef | grep wallet`
 * stops the daemon too).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BIN, Daemon, WalletHarness } from './wallet-harness.js';

/** CLI and log waits: the test machine may be shared and slow. */
const SLOW = 60_000;

describe('venus-wallet: network names, prefixes, prompts and processes', () => {
  const h = new WalletHarness();
  after(() => h.cleanup());

  it("--nettype takes the guide's and the original's spellings and refuses an unknown one with the list", async () => {
    const bogus = await h.cli(['--nettype', 'bogus', 'list'], '', SLOW);
    assert.notEqual(bogus.code, 0);
    assert.match(
      bogus.stderr,
      /invalid network name "bogus" \(one of mainnet, .*2k, .*cali, calibnet, .*force, forcenet/,
    );
    for (const net of ['forcenet', 'force', 'cali', 'calibnet', '2k', 'mainnet']) {
      // accepted: the command goes on to look for the wallet (none here)
      const r = await h.cli(['--nettype', net, 'list'], '', SLOW);
      assert.doesNotMatch(r.stderr, /invalid network name/, net);
      assert.match(r.stderr, /no wallet repo at/, net);
    }
  });

  it('with the daemon down, unlock/setpwd/lock/export fail at once without asking for a password', async () => {
    h.writeConfig();
    const d = await h.startDaemon(['--nettype', '2k']);
    await d.stop();
    for (const args of [['unlock'], ['setpwd'], ['lock'], ['export', 't1d2xrzcslx7xlbbylc5c3d5lvandqw4iwl6epxba']]) {
      // stdin has no password: a prompt would fail with "no password given on stdin" instead
      const r = await h.cli(args, '', SLOW);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.doesNotMatch(r.stderr, /Password/, args.join(' '));
      assert.match(r.stderr, /Is the venus-wallet running\?/, args.join(' '));
    }
  });

  it('test networks print t addresses; `run --nettype 2k` is remembered, and the other commands follow the daemon', async () => {
    // the repo remembers 2k from the previous test's start
    assert.equal(readFileSync(join(h.repo, 'nettype'), 'utf8'), '2k\n');
    assert.equal(statSync(join(h.repo, 'config.toml')).mode & 0o777, 0o600);
    const d = await h.startDaemon();
    after(() => d.stop());
    assert.match(d.log(), /network 2k \(from .*nettype\): addresses print as t/);
    assert.equal((await h.cli(['setpwd'], 'pw\npw\n', SLOW)).code, 0);
    const a = await h.cli(['new', 'bls'], '', SLOW);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /^t3[a-z2-7]{84}\n$/);
    assert.equal((await h.cli(['list'], '', SLOW)).stdout, a.stdout);
    // an explicit --nettype on a command still decides how it prints
    assert.equal((await h.cli(['--nettype', 'mainnet', 'list'], '', SLOW)).stdout, a.stdout.replace(/^t/, 'f'));
    // export needs the password, checked by the daemon
    const ex = await h.cli(['export', a.stdout.trim()], 'wrong\n', SLOW);
    assert.match(ex.stderr, /wrong password/);
    assert.equal((await h.cli(['export', a.stdout.trim()], 'pw\n', SLOW)).code, 0);
    await d.stop();
  });

  it('started through npm exec: killing the npm process (the first `ps -ef | grep wallet` line) stops the daemon', async () => {
    // npx runs: npm exec venus-wallet run → sh -c venus-wallet run → node …/venus-wallet.js run
    const npm = join(h.home, 'npm');
    writeFileSync(npm, `#!/bin/sh\nsh -c '"${process.execPath}" "${BIN}" run' venus-wallet\n`);
    chmodSync(npm, 0o755);
    const logPath = join(h.home, 'npx.log');
    const fd = openSync(logPath, 'a');
    const p = spawn(npm, ['exec', 'venus-wallet', 'run'], {
      env: { ...h.env(), npm_command: 'exec', npm_lifecycle_event: 'npx' },
      cwd: h.home,
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    h.daemons.add(p);
    // the log outlives the npm process this test kills: wait on the log alone
    const d = new Daemon(p, logPath, new Promise<number | null>(() => {}));
    const m = await d.waitForLog(
      /started through npm \(pid (\d+)\): stopping npm stops this daemon \(pid (\d+)\)/,
      SLOW,
    );
    assert.equal(Number(m[1]), p.pid);
    const daemonPid = Number(m[2]);
    after(() => {
      try {
        process.kill(daemonPid, 'SIGKILL');
      } catch {
        // already gone, as it should be
      }
    });
    p.kill('SIGKILL');
    await d.waitForLog(/which started this daemon, is gone; shutting down[\s\S]*venus-wallet stopped/, SLOW);
    const end = Date.now() + 5000;
    const alive = () => {
      try {
        process.kill(daemonPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    while (alive() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(), false, 'the daemon exited with its npm');
  });
});
