/**
 * The daemon with its control API, driven through the real `venus-worker worker …` commands, against the
 * fake manager of the sealing tests (over real JSON-RPC).
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkerAPI } from '../api/worker.js';
import { parseExposition } from '../common/metrics.js';
import { createClient } from '../rpc/index.js';
import { loadWorkerConfig } from './config.js';
import { WorkerDaemon } from './daemon.js';
import { workerCli } from './daemon.test-util.js';
import { FakeManager } from './sealing/testkit.js';
import { testBase, until } from './sealing/threads.test-util.js';
import { fileInit, sealInit } from './store.js';

const base = await testBase('worker-daemon-');
/** The admin token the daemon under test wrote (venus-worker-auth/ next to its config). */
let workerToken = '';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Runs the CLI with the daemon's admin token. */
const cli = (...args: string[]) => workerCli({ VENUS_WORKER_TOKEN: workerToken }, ...args);

describe('venus-worker daemon', () => {
  it('runs a thread per seal store; worker list/pause/resume drive them over VenusWorker.*', async () => {
    const stores = [join(base, 's1'), join(base, 's2')];
    const remote = join(base, 'remote');
    await sealInit(stores);
    await fileInit([remote]);
    const mgr = new FakeManager({ sectors: 3 });
    mgr.stores.set(remote, remote);
    mgr.landAfter = 1_000_000; // pre-commits never land: threads sit in PCSubmitted
    await mgr.listen();
    const port = await freePort();
    const file = join(base, 'venus-worker.toml');
    await writeFile(
      file,
      `[sealer_rpc]
url = "${mgr.url}"
[sealing]
max_retries = 3
recover_interval = "50ms"
seal_interval = "50ms"
rpc_polling_interval = "20ms"
[[store]]
location = "./s1"
[[store]]
location = "./s2"
[limit]
pc2 = 1
[remote]
path = "./remote"
[worker_server]
host = "127.0.0.1"
port = ${port}
`,
    );
    const cfg = loadWorkerConfig(file, base);
    const daemon = await WorkerDaemon.start(cfg);
    try {
      workerToken = (await readFile(join(base, 'venus-worker-auth', 'token'), 'utf8')).trim();
      const api = createClient(WorkerAPI, { url: `http://127.0.0.1:${port}/`, token: workerToken });
      await until('both threads waiting for the pre-commit', async () => {
        const l = await api.WorkerList();
        return l.every((t) => t.job_state === 'PCSubmitted');
      });
      await api.close();
      assert.ok(mgr.calls.includes('WorkerPing'));

      let r = await cli('worker', '-c', file, 'list');
      assert.equal(r.status, 0, r.stderr);
      const lines = r.stdout.trim().split('\n');
      assert.match(lines[0]!, /^#\s+location\s+sector\s+state\s+stage\s+thread\s+elapsed\s+last error$/);
      assert.match(
        lines[1]!,
        /^0\s+.*\/s1\s+s-t01000-[12]\s+PCSubmitted\s+WaitPCLanded\s+Waiting\(PreCommit Pending, next check \d\d:\d\d:\d\d\)\s+\d+s\s+-$/,
      );
      assert.match(
        lines[2]!,
        /^1\s+.*\/s2\s+s-t01000-[12]\s+PCSubmitted\s+WaitPCLanded\s+Waiting\(PreCommit Pending, next check \d\d:\d\d:\d\d\)\s+\d+s\s+-$/,
      );

      r = await cli('worker', '-H', `127.0.0.1:${port}`, 'pause', '-i', '1');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, 'thread 1 pausing\n');
      await until('paused', () => daemon.threads[1]!.info().thread_state.state === 'Paused');
      const api2 = createClient(WorkerAPI, { url: `http://127.0.0.1:${port}/rpc/v0`, token: workerToken });
      const list = await api2.WorkerList();
      assert.equal(list[1]!.thread_state.state, 'Paused');
      assert.equal(list[0]!.thread_state.state, 'Waiting', 'waiting for its PreCommit to land');
      await assert.rejects(api2.WorkerResume(7, null), /no sealing thread #7 \(this worker has 2\)/);
      await assert.rejects(api2.WorkerResume(1, 'Bogus'), /unknown state "Bogus"/);
      await api2.close();

      // /metrics on the control port: RPC calls served, the threads per state, the sealing phases timed per size
      const text = await fetch(`http://127.0.0.1:${port}/metrics`).then((res) => res.text());
      const samples = parseExposition(text);
      const one = (name: string, labels: Record<string, string>) =>
        samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      assert.equal(one('venus_sealing_threads', { state: 'Paused', program: 'venus-worker' })?.value, 1);
      assert.equal(one('venus_sealing_threads', { state: 'Waiting' })?.value, 1);
      assert.ok(one('venus_rpc_calls_total', { method: 'VenusWorker.WorkerList' })!.value >= 2);
      // the manager in use, by host:port (docs/worker-failover.md)
      assert.equal(
        one('venus_worker_sealer_rpc_active', { url: `127.0.0.1:${mgr.port}`, program: 'venus-worker' })?.value,
        1,
      );
      for (const phase of ['pc1', 'pc2']) {
        const n = one('venus_sector_phase_duration_seconds_count', { phase, sector_size: '2KiB' });
        assert.ok(n && n.value >= 2, `${phase} timed for both sectors:\n${text}`);
      }
      const [bogus, unreachable] = await Promise.all([
        cli('worker', '-H', `127.0.0.1:${port}`, 'resume', '-i', '1', '-s', 'Bogus'),
        cli('worker', '-H', '127.0.0.1:1', 'list'),
      ]);
      assert.equal(bogus.status, 1);
      assert.match(bogus.stderr, /-s\/--state: unknown state "Bogus" \(expected one of Empty, Allocated/);
      assert.equal(unreachable.status, 1);
      assert.match(unreachable.stderr, /cannot reach the worker at http:\/\/127\.0\.0\.1:1\/rpc\/v0/);
      const dropped = list[1]!.job_id!;
      r = await cli('worker', '-H', `127.0.0.1:${port}`, 'resume', '-i', '1', '-s', 'Aborted');
      assert.equal(r.status, 0, r.stderr);
      await until('aborted and the next sector taken', () => daemon.threads[1]!.info().job_id === 's-t01000-3');
      assert.match(mgr.sectors.get(Number(dropped.split('-')[2]))!.abortReason!, /aborted by the operator/);
    } finally {
      await daemon.stop();
      await mgr.down();
    }
  });

  it('refuses to start with a seal store without .holder, or a persist store without one', async () => {
    const bare = join(base, 'bare');
    const remote = join(base, 'remote2');
    await fileInit([remote]);
    const files = ['bad1.toml', 'bad2.toml', 'bad3.toml'].map((f) => join(base, f));
    await writeFile(
      files[0]!,
      `[sealer_rpc]\nurl = "http://127.0.0.1:1/rpc/v0"\n[[store]]\nlocation = "${bare}"\n[remote]\npath = "${remote}"\n[worker_server]\nport = 0\n`,
    );
    await writeFile(
      files[1]!,
      `[sealer_rpc]\nurl = "http://127.0.0.1:1/rpc/v0"\n[[store]]\nlocation = "${bare}"\n[remote]\npath = "${join(base, 'nope')}"\n`,
    );
    await writeFile(files[2]!, '[sealer_rpc]\nurl = 5\n');
    const [noHolder, noRemote, badConfig, noConfig] = await Promise.all([
      ...files.map((f) => cli('daemon', '--config', f)),
      cli('daemon'),
    ]);
    assert.equal(noHolder!.status, 1);
    assert.match(
      noHolder!.stderr,
      /seal store .*bare does not exist: format it with "venus-worker store seal-init -l .*bare"/,
    );
    assert.equal(noRemote!.status, 1);
    assert.match(noRemote!.stderr, /persist store .*nope has no \.holder/);
    assert.equal(badConfig!.status, 1);
    assert.match(
      badConfig!.stderr,
      /bad3\.toml: invalid configuration:\n\s+sealer_rpc\.url: expected string, received number/,
    );
    assert.equal(noConfig!.status, 1);
    assert.match(noConfig!.stderr, /give the config file with --config FILE/);
  });
});
