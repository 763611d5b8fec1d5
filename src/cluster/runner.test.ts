// The cluster runner end to end against fake programs (testdata/fake-program.mjs): the guide's commands in
// order, resume, a program that dies, a command not implemented yet. The real programs run in test/e2e.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { UserError } from '../common/cli.js';
import { setupLogging } from '../common/log.js';
import { parseManagerConfig } from '../manager/config.js';
import { parseWorkerConfig } from '../worker/config.js';
import { portBusy } from './home.js';
import { type ClusterOptions, FAST_POLICY } from './options.js';
import { parseMinerId, tokenAccount } from './outputs.js';
import { ProcessError } from './process-spec.js';
import { PROGRAMS, type ProgramTable } from './programs.js';
import { runCluster } from './runner.js';

setupLogging({ levelSpec: 'silent' });

const OWNER = 't3skelnvntu5m7kb656jfvr5dfy663aru76c6pxqp4qf6madrm7s4db77ysasefohdjypmoumc3niug6xmcxuq';
const FAKE = fileURLToPath(new URL('./testdata/fake-program.mjs', import.meta.url));
const fakes = Object.fromEntries(
  PROGRAMS.map((p) => [p, { command: process.execPath, prefix: [FAKE, p] }]),
) as ProgramTable;
const root = mkdtempSync(join(tmpdir(), 'cluster-runner-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

function options(home: string, env: NodeJS.ProcessEnv = {}, extra: Partial<ClusterOptions> = {}): ClusterOptions {
  return {
    home,
    sectorSize: '2KiB',
    sectors: 1,
    until: 'proven',
    untilTimeoutMs: 20_000,
    view: 'none',
    programs: fakes,
    ports: { devnet: 0, wallet: 0, manager: 0, worker: 0 },
    readyTimeoutMs: 10_000,
    env: { FAKE_CALLS: join(home, 'calls.txt'), ...env },
    ...extra,
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // an orphan that has exited but is not reaped yet (its parent was killed) is a zombie: gone for our purpose
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function calls(home: string): string[] {
  return readFileSync(join(home, 'calls.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.replaceAll(home, 'H'));
}

describe('cluster runner', () => {
  test('a fresh home: every program set up with the guide commands, run until the sector is proven, all stopped', async () => {
    const home = join(root, 'fresh');
    assert.equal(await runCluster(options(home)), 0);
    const state = JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8'));
    assert.deepEqual(state.steps, [
      'devnet-init',
      'wallet-config',
      'wallet-password',
      'wallet-keys',
      'manager-init',
      'miner-create',
      'worker-stores',
    ]);
    assert.equal(state.miner, 't01000');
    assert.equal(state.owner, OWNER);
    const c = calls(home);
    const ports = state.ports;
    assert.deepEqual(c, [
      `venus-devnet --home H/devnet init --network 2k --sector-sizes 2KiB,8MiB --listen 127.0.0.1:${ports.devnet} --policy ${FAST_POLICY}`,
      `venus-devnet --home H/devnet run --listen 127.0.0.1:${ports.devnet}`,
      'venus-wallet --repo H/wallet --nettype 2k run',
      'venus-wallet --repo H/wallet --nettype 2k setpwd',
      'venus-wallet --repo H/wallet --nettype 2k lock-state',
      'venus-wallet --repo H/wallet --nettype 2k list',
      `venus-wallet --repo H/wallet --nettype 2k import H/devnet/keys/${OWNER}.key`,
      'venus-sector-manager --home H/manager --net 2k daemon init',
      `venus-sector-manager --home H/manager --net 2k util miner create --from=${OWNER} --sector-size=2KiB`,
      `venus-sector-manager --home H/manager --net 2k daemon run --listen=127.0.0.1:${ports.manager} --poster --ext-prover --require-token`,
      'venus-worker store seal-init -l H/worker/seal-1 H/worker/seal-2 H/worker/rebuild-1',
      'venus-worker store file-init -l H/remote',
      'venus-worker daemon --config=H/worker/venus-worker.toml',
    ]);
    // the configs the runner wrote are accepted by the programs' own loaders
    const mcfg = parseManagerConfig('cfg', readFileSync(join(home, 'manager', 'sector-manager.cfg'), 'utf8'));
    assert.deepEqual(mcfg.SectorManager.Miners, [
      {
        ID: 1000,
        InitNumber: 0,
        MaxNumber: 1,
        Disabled: false,
        EnableDeals: false,
        EnableSnapUp: false,
        CleanupCCData: true,
      },
    ]);
    assert.equal(mcfg.PersistedStore.Stores[0]?.Path, join(home, 'remote'));
    assert.equal(mcfg.PoSt.Actors['1000']?.Sender, OWNER);
    const wcfg = parseWorkerConfig('toml', readFileSync(join(home, 'worker', 'venus-worker.toml'), 'utf8'));
    assert.deepEqual(
      wcfg.threads.map((t) => t.plan),
      ['sealer', 'sealer', 'rebuild'],
    );
    assert.equal(wcfg.rpcServer.port, ports.worker);
    assert.deepEqual(Object.keys(wcfg.processors).sort(), ['c2', 'pc2']);
    assert.match(readFileSync(join(home, 'wallet', 'config.toml'), 'utf8'), /SupportAccounts = \["devnet"\]/);
    // each program has its own log, with the command line; every process is gone
    for (const p of ['devnet', 'wallet', 'manager', 'worker']) {
      const log = readFileSync(join(home, 'logs', `${p}.log`), 'utf8');
      assert.match(log, /stopped by the cluster runner/, p);
    }
    for (const port of Object.values(ports) as number[]) assert.equal(await portBusy(port), false);
    assert.equal(existsSync(join(home, 'cluster.lock')), false);
  });

  test('a second run resumes: nothing is initialised twice, the daemons restart (wallet unlocked at start)', async () => {
    const home = join(root, 'fresh');
    const before = calls(home).length;
    assert.equal(await runCluster(options(home)), 0);
    const again = calls(home).slice(before);
    assert.deepEqual(
      again.map((l) => l.replace(/127\.0\.0\.1:\d+/, 'ADDR')),
      [
        'venus-devnet --home H/devnet run --listen ADDR',
        'venus-wallet --repo H/wallet --nettype 2k run --password',
        'venus-wallet --repo H/wallet --nettype 2k lock-state',
        'venus-sector-manager --home H/manager --net 2k daemon run --listen=ADDR --poster --ext-prover --require-token',
        'venus-worker daemon --config=H/worker/venus-worker.toml',
      ],
    );
    // a different sector size is refused once the miner exists
    await assert.rejects(runCluster(options(home, {}, { sectorSize: '8MiB' })), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /holds a 2KiB miner \(t01000\); run with --sector-size 2KiB, or use another --home/);
      return true;
    });
  });

  test('after the runner was killed (kill -9), a rerun stops the daemons it left and resumes', async () => {
    const home = join(root, 'orphans');
    const script = join(root, 'orphan-runner.mts');
    const runnerPath = fileURLToPath(new URL('./runner.ts', import.meta.url));
    writeFileSync(
      script,
      `import { runCluster } from ${JSON.stringify(runnerPath)};
const o = JSON.parse(process.argv[2]);
await runCluster(o);
`,
    );
    const o = options(home, {}, { until: undefined });
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(o)], { stdio: 'ignore' });
    let state: { steps: string[]; pids?: Record<string, number> } = { steps: [] };
    const t0 = Date.now();
    while (Object.keys(state.pids ?? {}).length < 4 || !state.steps.includes('worker-stores')) {
      assert.ok(Date.now() - t0 < 120_000, 'the first runner did not start its daemons'); // generous: a loaded 2-core box
      await sleep(100);
      try {
        state = JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8'));
      } catch {
        // not written yet
      }
    }
    await sleep(300); // the worker's readiness
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const left = Object.values(state.pids!);
    assert.ok(left.every(alive), 'the daemons outlive a killed runner');
    assert.equal(await runCluster(options(home)), 0);
    for (let i = 0; i < 100 && left.some(alive); i++) await sleep(100); // they may take a moment to exit
    assert.ok(!left.some(alive), 'the rerun stopped the leftovers');
  });

  test('Ctrl-C under npm (two SIGINTs 100 ms apart): every daemon stops cleanly, and the runner exits at once', async () => {
    const home = join(root, 'double-sigint');
    const script = join(root, 'sigint-runner.mts');
    const runnerPath = fileURLToPath(new URL('./runner.ts', import.meta.url));
    const logPath = fileURLToPath(new URL('../common/log.ts', import.meta.url));
    writeFileSync(
      script,
      `import { runCluster } from ${JSON.stringify(runnerPath)};
import { setupLogging } from ${JSON.stringify(logPath)};
setupLogging({ levelSpec: 'info' });
const o = JSON.parse(process.argv[2]);
process.exitCode = await runCluster(o);
`,
    );
    const o = options(home, {}, { until: undefined });
    const child = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(o)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let devnetStoppedAt = 0;
    const collect = (b: Buffer) => {
      out += b.toString();
      if (!devnetStoppedAt && /devnet: stopped/.test(out)) devnetStoppedAt = Date.now();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    const t0 = Date.now();
    while (!/all programs are running/.test(out)) {
      assert.ok(Date.now() - t0 < 120_000, `the runner did not start its programs:\n${out}`);
      assert.equal(child.exitCode, null, `the runner exited:\n${out}`);
      await sleep(100);
    }
    const pids = Object.values(JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8')).pids as number[]);
    assert.equal(pids.length, 4);
    child.kill('SIGINT');
    await sleep(100);
    child.kill('SIGINT'); // npm forwards the terminal's Ctrl-C: the same stop, not "kill them at once"
    const code = await Promise.race([exited, sleep(60_000).then(() => 'hung' as const)]);
    const exitedAt = Date.now();
    assert.notEqual(code, 'hung', out);
    assert.equal(code, 0, out);
    assert.doesNotMatch(out, /did not stop within|killing it/);
    // each daemon got SIGTERM and stopped itself (the fakes print this on SIGTERM; a SIGKILL leaves no line)
    for (const [name, program] of [
      ['devnet', 'venus-devnet'],
      ['wallet', 'venus-wallet'],
      ['manager', 'venus-sector-manager'],
      ['worker', 'venus-worker'],
    ]) {
      const log = readFileSync(join(home, 'logs', `${name}.log`), 'utf8');
      assert.match(log, new RegExp(`${program} stopping\\n=== \\S+ stopped by the cluster runner\\n$`), name);
    }
    assert.ok(!pids.some(alive), 'no daemon is left');
    // the devnet stops last; nothing may keep the runner alive after it (it used to linger ~10 s)
    assert.ok(devnetStoppedAt > 0, out);
    assert.ok(
      exitedAt - devnetStoppedAt < 1500,
      `the runner exited ${exitedAt - devnetStoppedAt} ms after its last program stopped`,
    );
  });

  test('a program that dies during setup is reported with the tail of its log; the others are stopped', async () => {
    const home = join(root, 'crash');
    const err = await runCluster(
      options(home, { FAKE_CRASH: 'venus-devnet', FAKE_CRASH_MS: '1000' }, { restart: false }),
    ).catch((e: unknown) => e);
    assert.ok(err instanceof ProcessError, String(err));
    assert.equal(err.process, 'devnet');
    assert.match(err.message, /^devnet \(venus-devnet --home .* run --listen .*\) exited with code 3 unexpectedly/);
    assert.match(err.message, /\| venus-devnet: panic: fake crash/);
    const state = JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8'));
    for (const port of Object.values(state.ports) as number[]) assert.equal(await portBusy(port), false);
  });

  test('a command not implemented yet stops the runner with a message naming it', async () => {
    const home = join(root, 'pending');
    const err = await runCluster(options(home, { FAKE_PENDING: 'venus-sector-manager init' })).catch((e) => e);
    assert.ok(err instanceof ProcessError, String(err));
    assert.equal(err.kind, 'not-implemented');
    assert.match(
      err.message,
      /^cannot go on: venus-sector-manager --home \S+ --net 2k daemon init answers "venus-sector-manager init is not implemented yet in this build"/,
    );
    // what came before is recorded, so the next run resumes from the manager
    const state = JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8'));
    assert.ok(state.steps.includes('wallet-keys'));
    assert.ok(!state.steps.includes('manager-init'));
  });

  test('a failing one-shot command: its output is quoted', async () => {
    const home = join(root, 'fail');
    const err = await runCluster(options(home, { FAKE_FAIL: 'venus-sector-manager create' })).catch((e) => e);
    assert.ok(err instanceof ProcessError, String(err));
    assert.match(
      err.message,
      /^venus-sector-manager --home .* util miner create --from=t3\w+ --sector-size=2KiB failed/,
    );
    assert.match(err.message, /\| Error: venus-sector-manager failed on purpose/);
  });

  test('--managers 2 on SQLite is refused: two managers need a shared database', async () => {
    const home = join(root, 'two-sqlite');
    await assert.rejects(runCluster(options(home, {}, { managers: 2 })), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.match(e.message, /--managers 2 needs a shared database/);
      assert.match(e.message, /--db postgres/);
      return true;
    });
    assert.equal(existsSync(join(home, 'cluster.json')), false, 'refused before anything is set up');
    await assert.rejects(runCluster(options(home, {}, { managers: 5, db: 'postgres' })), /from 1 to 4/);
    await assert.rejects(runCluster(options(home, {}, { db: 'mysql://x' as 'sqlite' })), /neither sqlite, postgres/);
  });

  test('--managers 2 --db postgres: a local PostgreSQL, each manager its own home and port, one miner, the worker lists both', async () => {
    const home = join(root, 'two-pg');
    const pg: string[] = [];
    const startPostgres = async (o: { dir: string }) => {
      pg.push(`start ${o.dir.replaceAll(home, 'H')}`);
      return {
        dsn: 'postgres://venus:s3cret@127.0.0.1:54321/venus',
        port: 54321,
        stop: async () => {
          pg.push('stop');
        },
      };
    };
    const lines: string[] = [];
    const out = { write: (s: string) => lines.push(s), isTTY: false } as unknown as NodeJS.WriteStream;
    const code = await runCluster(
      options(home, {}, { managers: 2, db: 'postgres', startPostgres, view: 'lines', out }),
    );
    assert.equal(code, 0);
    assert.deepEqual(pg, ['start H/postgres', 'stop'], 'started under the home, stopped at exit');
    const state = JSON.parse(readFileSync(join(home, 'cluster.json'), 'utf8'));
    assert.equal(state.db, 'postgres-local');
    assert.equal(state.managerPorts.length, 1);
    const [p1, p2] = [state.ports.manager, state.managerPorts[0]];
    assert.notEqual(p1, p2);
    const c = calls(home).filter((l) => l.startsWith('venus-sector-manager'));
    assert.deepEqual(c, [
      'venus-sector-manager --home H/manager --net 2k daemon init',
      `venus-sector-manager --home H/manager --net 2k util miner create --from=${OWNER} --sector-size=2KiB`,
      `venus-sector-manager --home H/manager --net 2k daemon run --listen=127.0.0.1:${p1} --poster --ext-prover --require-token`,
      'venus-sector-manager --home H/manager-2 --net 2k daemon init',
      `venus-sector-manager --home H/manager-2 --net 2k daemon run --listen=127.0.0.1:${p2} --poster --ext-prover --require-token`,
    ]);
    for (const [i, dir] of [
      [1, 'manager'],
      [2, 'manager-2'],
    ] as const) {
      const cfg = readFileSync(join(home, dir, 'sector-manager.cfg'), 'utf8');
      // the manager's own loader takes it: one shared database, a name per manager
      const parsed = parseManagerConfig('cfg', cfg);
      assert.equal(parsed.Common.DB.Driver, 'postgres');
      assert.equal(parsed.Common.DB.Postgres.DSN, 'postgres://venus:s3cret@127.0.0.1:54321/venus');
      assert.equal(parsed.Common.HA.Name, `manager-${i}`);
      assert.match(cfg, /\[Common\.DB\]\n\s+Driver = "postgres"/);
      assert.match(cfg, /\[Common\.DB\.Postgres\]\n\s+DSN = "postgres:\/\/venus:s3cret@127\.0\.0\.1:54321\/venus"/);
      assert.match(cfg, new RegExp(`\\[Common\\.HA\\]\\n\\s+Name = "manager-${i}"`));
      assert.match(cfg, /ID = 1000/, 'both seal for the one miner');
    }
    // one JWT secret: the worker's token is good on both
    assert.equal(
      readFileSync(join(home, 'manager', 'token'), 'utf8'),
      readFileSync(join(home, 'manager-2', 'token'), 'utf8'),
    );
    // the worker's own loader reads both managers (it fails over between them), one token for both
    const wcfg = parseWorkerConfig('toml', readFileSync(join(home, 'worker', 'venus-worker.toml'), 'utf8'));
    assert.deepEqual(wcfg.sectorManager.urls, [`ws://127.0.0.1:${p1}/rpc/v0`, `ws://127.0.0.1:${p2}/rpc/v0`]);
    assert.match(wcfg.sectorManager.headers.Authorization ?? '', /^Bearer /);
    // each manager has its own log; the view says who holds which duty; the DSN's password is never shown
    for (const l of ['manager-1', 'manager-2']) {
      assert.match(readFileSync(join(home, 'logs', `${l}.log`), 'utf8'), /stopped by the cluster runner/);
    }
    const shown = lines.join('');
    assert.match(shown, /managers {2}manager-1: post, commit, chain · manager-2: standby/);
    assert.doesNotMatch(shown, /s3cret/);
    // its database was thrown away at exit: the home does not resume (on any database)
    await assert.rejects(runCluster(options(home)), /kept its sectors in a throwaway PostgreSQL/);
    await assert.rejects(
      runCluster(options(home, {}, { managers: 2, db: 'postgres', startPostgres })),
      /use a new --home \(or --db postgres:\/\/… for a database that outlives the runs\)/,
    );
    assert.deepEqual(pg, ['start H/postgres', 'stop'], 'no second server for a refused run');

    // --db postgres://…: that server as it is (nothing started); such a home resumes, on that database only
    const dsnHome = join(root, 'one-dsn');
    const dsn = 'postgres://venus:other@127.0.0.1:5432/venus';
    assert.equal(await runCluster(options(dsnHome, {}, { db: dsn, startPostgres })), 0);
    assert.deepEqual(pg, ['start H/postgres', 'stop']);
    const one = readFileSync(join(dsnHome, 'manager', 'sector-manager.cfg'), 'utf8');
    assert.match(one, /DSN = "postgres:\/\/venus:other@127\.0\.0\.1:5432\/venus"/);
    assert.match(one, /Name = "manager-1"/);
    assert.equal(await runCluster(options(dsnHome, {}, { db: dsn })), 0);
    await assert.rejects(runCluster(options(dsnHome)), /keeps its sectors in PostgreSQL; run with --db postgres:\/\/…/);
  });

  test('parsing what the programs print', () => {
    assert.equal(
      parseMinerId(
        '2021-09-28T16:12:50.195+0800 INFO sealer internal/util_miner.go:285 miner actor: t01033 (t2sqliwznayjwcjke6ypex3ox5lajcwpasg7wc2fi) {"size": "512MiB"}',
      ),
      't01033',
    );
    assert.equal(parseMinerId('t01001\n'), 't01001');
    assert.equal(parseMinerId('nothing here'), undefined);
    const payload = Buffer.from('{"Allow":["read"],"name":"devnet","perm":"admin"}').toString('base64url');
    assert.equal(tokenAccount(`h.${payload}.s`), 'devnet');
    assert.equal(tokenAccount('garbage'), undefined);
  });
});
