/**
 * The control API's safety (security review C1), against a running daemon with real processor children:
 * no token, a foreign token or a read token cannot pause, resume (-s Aborted), or set the children's
 * environment; WorkerSetEnv sets only allow-listed variables; children start from the daemon's environment at
 * start, never the live process.env; the manager's tokens work when `manager_secret_path` is set; /metrics
 * needs a token when `open_metrics = false`; a taken port is one line naming the key.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkerAPI } from '../api/worker.js';
import { createClient, createToken, generateSecret, loadOrInitRepoAuth } from '../rpc/index.js';
import { loadWorkerConfig, parseWorkerConfig } from './config.js';
import { whyEnvRefused } from './control-env.js';
import { WorkerDaemon } from './daemon.js';
import { workerCli } from './daemon.test-util.js';
import { FakeManager } from './sealing/testkit.js';
import { testBase, until } from './sealing/threads.test-util.js';
import { fileInit, sealInit } from './store.js';

const base = await testBase('worker-control-');

/** A c2 "processor" that records its environment in <dir>/env-<pid>.json, then waits for tasks. */
const PROBE = `
const { writeFileSync } = require('node:fs');
writeFileSync(require('node:path').join(process.argv[1], 'env-' + process.pid + '.json'), JSON.stringify(process.env));
process.stdout.write('c2 processor ready\\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
`;

async function probes(dir: string): Promise<Map<number, Record<string, string>>> {
  const out = new Map<number, Record<string, string>>();
  for (const f of await readdir(dir)) {
    const m = /^env-(\d+)\.json$/.exec(f);
    if (m) out.set(Number(m[1]), JSON.parse(await readFile(join(dir, f), 'utf8')) as Record<string, string>);
  }
  return out;
}

describe('worker control API (C1)', () => {
  it('tokens and permissions, the env allow-list, children environment snapshot, manager tokens', async () => {
    const dir = join(base, 'c1');
    const stores = [join(dir, 's1')];
    const remote = join(dir, 'remote');
    const probeDir = join(dir, 'probes');
    await mkdir(probeDir, { recursive: true });
    await sealInit(stores);
    await fileInit([remote]);
    const mgrAuth = await loadOrInitRepoAuth(join(dir, 'manager-home'));
    const mgr = new FakeManager({ sectors: 1 });
    mgr.stores.set(remote, remote);
    mgr.landAfter = 1_000_000; // the pre-commit never lands: the thread waits in PCSubmitted, c2 is never used
    await mgr.listen();
    const file = join(dir, 'venus-worker.toml');
    await writeFile(
      file,
      `[sealer_rpc]
url = "${mgr.url}"
[sealing]
recover_interval = "50ms"
seal_interval = "50ms"
rpc_polling_interval = "20ms"
[[store]]
location = "${stores[0]}"
[remote]
path = "${remote}"
[worker_server]
port = 0
manager_secret_path = ${JSON.stringify(mgrAuth.secretPath)}
[[processors.c2]]
bin = ${JSON.stringify(process.execPath)}
args = ["-e", ${JSON.stringify(PROBE)}, ${JSON.stringify(probeDir)}]
stable_wait = "30s"
`,
    );
    const cfg = loadWorkerConfig(file, dir);
    assert.equal(cfg.rpcServer.host, '127.0.0.1'); // loopback unless told
    const daemon = await WorkerDaemon.start(cfg, { restartDelayMs: 50 });
    // changed after the daemon started: must never reach a child
    process.env.X_LIVE_PROBE = 'leaked';
    const url = `http://127.0.0.1:${daemon.address.port}/rpc/v0`;
    const clients: { close(): Promise<void> }[] = [];
    const client = (token?: string) => {
      const c = createClient(WorkerAPI, { url, token, timeoutMs: 10_000 });
      clients.push(c);
      return c;
    };
    try {
      // the worker's own secret and admin token, 0600
      const tokenFile = join(dir, 'venus-worker-auth', 'token');
      assert.equal((await stat(tokenFile)).mode & 0o777, 0o600);
      const admin = client((await readFile(tokenFile, 'utf8')).trim());
      await until('the sector waits for its pre-commit', async () => {
        const l = await admin.WorkerList();
        return l[0]!.job_state === 'PCSubmitted';
      });
      const sector = [...mgr.sectors.values()][0]!;

      // no token / a garbage token / a token from another secret: nothing is served
      const foreign = await createToken(generateSecret(), 'admin');
      for (const c of [client(), client('garbage'), client(foreign)]) {
        await assert.rejects(c.WorkerList(), /missing token|malformed token|signature does not match/);
        await assert.rejects(c.WorkerSetEnv('NODE_OPTIONS', '--import=data:text/javascript,1'), /token/);
        await assert.rejects(c.WorkerPause(0), /token/);
        await assert.rejects(c.WorkerResume(0, 'Aborted'), /token/);
      }
      // a read token (the worker's or the manager's) lists, and cannot pause, abort or touch the environment
      const ownSecret = await loadOrInitRepoAuth(join(dir, 'venus-worker-auth'));
      for (const tok of [await createToken(ownSecret.secret, 'read'), await createToken(mgrAuth.secret, 'write')]) {
        const reader = client(tok);
        assert.equal((await reader.WorkerList()).length, 1);
        await assert.rejects(reader.WorkerPause(0), /missing permission to invoke 'VenusWorker.WorkerPause'/);
        await assert.rejects(reader.WorkerResume(0, 'Aborted'), /missing permission/);
        await assert.rejects(reader.WorkerSetEnv('RUST_LOG', 'x'), /missing permission/);
      }
      // neither paused nor aborted (it may be working or waiting for the chain)
      assert.ok(['Running', 'Waiting'].includes(daemon.threads[0]!.info().thread_state.state));
      assert.equal(sector.abortReason, null);

      // admin: only allow-listed variables
      for (const name of ['NODE_OPTIONS', 'LD_PRELOAD', 'LD_LIBRARY_PATH', 'PATH', 'VENUS_CGROUP_ROOT', 'lower']) {
        await assert.rejects(admin.WorkerSetEnv(name, 'x'), /WorkerSetEnv: /, name);
        await assert.rejects(admin.WorkerRemoveEnv(name), /WorkerRemoveEnv: /, name);
      }
      await assert.rejects(admin.WorkerSetEnv('RUST_LOG', 'x'.repeat(5000)), /longer than 4096 bytes/);
      assert.equal(await admin.WorkerSetEnv('RUST_LOG', 'trace-probe'), null);
      assert.equal(await admin.WorkerSetEnv('FIL_PROOFS_USE_GPU_TREE_BUILDER', '1'), null);

      // the child restarts (a crash) with the allow-listed change and without anything set after start
      const first = await probes(probeDir);
      assert.equal(first.size, 1);
      const [pid1] = [...first.keys()];
      assert.equal(first.get(pid1!)!.X_LIVE_PROBE, undefined);
      process.kill(pid1!, 'SIGKILL');
      await until('the c2 child restarted', async () => (await probes(probeDir)).size === 2);
      const env2 = [...(await probes(probeDir)).entries()].find(([p]) => p !== pid1)![1];
      assert.equal(env2.RUST_LOG, 'trace-probe');
      assert.equal(env2.FIL_PROOFS_USE_GPU_TREE_BUILDER, '1');
      assert.equal(env2.X_LIVE_PROBE, undefined);
      assert.notEqual(env2.NODE_OPTIONS, '--import=data:text/javascript,1');

      // the manager's admin token (its dashboard) pauses, and resume -s Aborted drops the sector
      const mgrAdmin = client(mgrAuth.token);
      assert.equal(await mgrAdmin.WorkerPause(0), true);
      await until('paused', () => daemon.threads[0]!.info().thread_state.state === 'Paused');
      assert.equal(await mgrAdmin.WorkerResume(0, 'Aborted'), true);
      await until('aborted', () => sector.abortReason !== null);
      assert.equal((await admin.WorkerList()).length, 1); // still answering

      // the CLI finds the token through the config; without one it says where to get one
      const hostPort = `127.0.0.1:${daemon.address.port}`;
      const listed = await workerCli({}, 'worker', '-c', file, '-H', hostPort, 'list');
      assert.equal(listed.status, 0, listed.stderr);
      const refused = await workerCli({ VENUS_WORKER_TOKEN: '' }, 'worker', '-H', hostPort, 'list');
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, /the worker refused the call: missing token.*-c/);

      // another daemon (with its own seal store: one worker per seal store) on the same port: one line naming the key
      const file2 = join(dir, 'second.toml');
      await sealInit([join(dir, 's2')]);
      await writeFile(
        file2,
        (await readFile(file, 'utf8'))
          .replace('port = 0', `port = ${daemon.address.port}`)
          .replace(`location = "${stores[0]}"`, `location = "${join(dir, 's2')}"`)
          .replace(/\[\[processors[\s\S]*$/, ''),
      );
      const taken = await workerCli({}, 'daemon', '--config', file2);
      assert.equal(taken.status, 1);
      assert.equal(
        taken.stderr.trim(),
        `Error: [worker_server] port: 127.0.0.1:${daemon.address.port} is already in use (another venus-worker?): stop it or set another port`,
      );
      assert.equal((await admin.WorkerList()).length, 1);
    } finally {
      delete process.env.X_LIVE_PROBE;
      for (const c of clients) await c.close();
      await daemon.stop();
      await mgr.down();
    }
  });

  it('/metrics needs a token with open_metrics = false; the default bind is loopback', async () => {
    const dir = join(base, 'metrics');
    await sealInit([join(dir, 's1')]);
    const mgr = new FakeManager({ sectors: 0 });
    await mgr.listen();
    const cfg = parseWorkerConfig(
      join(dir, 'w.toml'),
      `[sealer_rpc]\nurl = "${mgr.url}"\n[[store]]\nlocation = "s1"\n[worker_server]\nport = 0\nopen_metrics = false\n`,
      dir,
    );
    const daemon = await WorkerDaemon.start(cfg);
    try {
      const m = `http://127.0.0.1:${daemon.address.port}/metrics`;
      const bare = await fetch(m);
      assert.equal(bare.status, 401);
      assert.match(await bare.text(), /missing token/);
      const token = (await readFile(join(dir, 'venus-worker-auth', 'token'), 'utf8')).trim();
      const ok = await fetch(m, { headers: { Authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /venus_sealing_threads/);
    } finally {
      await daemon.stop();
      await mgr.down();
    }
    const dflt = parseWorkerConfig('w.toml', `[sealer_rpc]\nurl = "${mgr.url}"\n[[store]]\nlocation = "s1"\n`, dir);
    assert.equal(dflt.rpcServer.host, '127.0.0.1');
    assert.equal(dflt.rpcServer.openMetrics, true);
    const wide = parseWorkerConfig(
      'w.toml',
      `[sealer_rpc]\nurl = "${mgr.url}"\n[[store]]\nlocation = "s1"\n[worker_server]\nhost = "0.0.0.0"\n`,
      dir,
    );
    assert.equal(wide.rpcServer.openMetrics, false);
  });

  it('the allow-list', () => {
    for (const ok of ['RUST_LOG', 'FIL_PROOFS_MAXIMIZE_CACHING', 'BELLMAN_NO_GPU', 'CUDA_VISIBLE_DEVICES', 'TMPDIR']) {
      assert.equal(whyEnvRefused(ok), null, ok);
    }
    for (const bad of [
      'NODE_OPTIONS',
      'LD_PRELOAD',
      'LD_AUDIT',
      'PATH',
      'HOME',
      'FIL_PROOFS',
      'rust_log',
      '',
      'A'.repeat(200),
    ]) {
      assert.notEqual(whyEnvRefused(bad), null, bad);
    }
  });
});
