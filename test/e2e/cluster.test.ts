// `npm start`, shortened: the one-command cluster with the real programs seals one 2KiB sector on a fast devnet
// clock and exits once a Window PoSt has proven it; then the chain state is checked with the devnet alone
// (`venus-devnet status --json`), not the runner's own word or its logs.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = (name: string) => join(root, 'dist', 'cli', `${name}.js`);
const home = mkdtempSync(join(tmpdir(), 'cluster-e2e-'));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(home, { recursive: true, force: true });
});

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    c.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    c.stderr.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const t = setTimeout(() => c.kill('SIGINT'), timeoutMs);
    c.once('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

test('npm start (shortened): two 2KiB sectors (two seal stores, external pc2/c2) sealed and proven by Window PoSt on the devnet', {
  timeout: 9 * 60_000,
}, async () => {
  const t0 = Date.now();
  const r = await run(
    [
      cli('venus-cluster'),
      '--home',
      home,
      '--sectors',
      '2',
      '--until',
      'proven',
      '--timeout',
      '7m',
      '--view',
      'lines',
      '--block-time',
      '250ms',
      '--devnet-policy',
      'wpostChallengeWindow=20,wpostPeriodDeadlines=4,wpostChallengeLookback=5,faultDeclarationCutoff=10',
    ],
    8 * 60_000,
  );
  assert.equal(r.code, 0, r.out.slice(-6000));
  assert.match(r.out, /2 sector\(s\) proven by Window PoSt: done/);
  const seconds = (Date.now() - t0) / 1000;
  process.stdout.write(`# cluster: 2 sectors sealed and proven in ${seconds.toFixed(0)} s\n`);

  // every program had its own log, and nothing is left running
  const state = JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8'));
  for (const p of ['devnet', 'wallet', 'manager', 'worker']) {
    assert.ok(existsSync(join(home, 'logs', `${p}.log`)), p);
  }
  for (const port of Object.values(state.ports) as number[]) assert.equal(await listening(port), false, `port ${port}`);
  // the sealed sectors sit in the remote store
  for (const n of [1, 2]) {
    assert.ok(existsSync(join(home, 'remote', 'sealed', `s-${state.miner}-${n}`)), `sector ${n} in the remote store`);
  }

  // the chain, read back by the devnet alone after a restart
  const devnet = spawn(process.execPath, [cli('venus-devnet'), '--home', join(home, 'devnet'), 'run'], {
    stdio: 'ignore',
  });
  children.push(devnet);
  let status:
    | {
        Miners: {
          Miner: string;
          Sectors: { Active: number };
          LastWindowPoStEpoch: number | null;
          RawBytePower: string;
        }[];
      }
    | undefined;
  for (let i = 0; i < 100 && !status; i++) {
    const s = await run([cli('venus-devnet'), '--home', join(home, 'devnet'), 'status', '--json'], 20_000);
    if (s.code === 0) status = JSON.parse(s.out.slice(s.out.indexOf('{')));
    else await sleep(200);
  }
  devnet.kill('SIGTERM');
  assert.ok(status, 'venus-devnet status --json');
  const miner = status.Miners.find((m) => m.Miner === state.miner);
  assert.ok(miner, `miner ${state.miner} on chain`);
  assert.equal(miner.Sectors.Active, 2);
  assert.notEqual(miner.LastWindowPoStEpoch, null);
  assert.equal(miner.RawBytePower, '4096');
});
