/**
 * Fault injection: `venus-worker daemon` (two seal stores, external pc2 and c2 processors) sealing two 2KiB
 * sectors with the real stages, killed with SIGKILL (its whole process group, processors included) at each
 * state of the pipeline in turn and restarted. The manager is the sealing tests' fake (src/worker/sealing/
 * testkit.ts) over real JSON-RPC: it records every ReportState, and the kill happens while the worker waits for
 * the answer, i.e. right after it saved the new state and before that state's step runs.
 *
 * Checked: every sector ends finalized with its files in the remote store, no sector number is skipped or
 * reused, and no pre-commit or proof message is sent twice.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setupLogging } from '../../src/common/log.js';
import type { State } from '../../src/worker/sealing/index.js';
import { SEALER_PIPELINE } from '../../src/worker/sealing/states.js';
import { FakeManager } from '../../src/worker/sealing/testkit.js';
import { fileInit, sealInit } from '../../src/worker/store.js';
import { EXTERNAL_PC2_C2, ROOT } from './worker-harness.js';

setupLogging({ levelSpec: process.env.E2E_LOG ?? 'silent' });

const CLI = join(ROOT, 'src/cli/venus-worker.ts');
const base = await mkdtemp(join(tmpdir(), 'worker-sigkill-'));
after(() => rm(base, { recursive: true, force: true }));

const PIPELINE = SEALER_PIPELINE;

async function until(what: string, fn: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('SIGKILL at every state of the pipeline: sectors still finish, nothing skipped, reused or sent twice', {
  timeout: 540_000,
}, async () => {
  const stores = [join(base, 's1'), join(base, 's2')];
  const remote = join(base, 'remote');
  await sealInit(stores);
  await fileInit([remote]);
  const mgr = new FakeManager({ sectors: 2 });
  mgr.stores.set(remote, remote);
  await mgr.listen();
  const file = join(base, 'venus-worker.toml');
  await writeFile(
    file,
    `[sealer_rpc]
url = "${mgr.url}"
[sealing]
recover_interval = "100ms"
seal_interval = "100ms"
rpc_polling_interval = "50ms"
[[store]]
location = "${stores[0]}"
[[store]]
location = "${stores[1]}"
[remote]
path = "${remote}"
[worker_server]
host = "127.0.0.1"
port = 0
${EXTERNAL_PC2_C2}`,
  );

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const start = () => {
    // its own process group, killed whole as a machine crash would; its processors lead groups of their own and
    // exit at once when the worker's end of their stdin closes (src/common/extproc/lifeline.ts)
    child = spawn(process.execPath, ['--import', 'tsx', CLI, 'daemon', '--config', file], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'ignore', process.env.E2E_LOG ? 'inherit' : 'ignore'],
      env: { ...process.env, RUST_LOG: process.env.E2E_LOG ?? 'warn', FIL_PROOFS_PARENT_CACHE: join(base, 'parents') },
    });
    const c = child;
    exited = new Promise((resolve) => c.once('exit', () => resolve()));
  };
  const kills: State[] = [];
  let target = 0;
  let killed = false;
  mgr.onReport = (_sid, req) => {
    if (killed || req.Failure !== null) return;
    if (req.StateChange.Next === PIPELINE[target]) {
      killed = true;
      kills.push(PIPELINE[target]!);
      target++;
      process.kill(-child!.pid!, 'SIGKILL');
    }
  };
  const done = () => [...mgr.sectors.values()].filter((s) => s.finalized).length === 2;
  try {
    start();
    while (!done()) {
      await until('a kill or the end', () => killed || done(), 240_000);
      if (!killed) break;
      await exited;
      killed = false;
      if (target >= PIPELINE.length) mgr.onReport = null;
      start();
    }
    await until('both sectors finalized', done, 240_000);
    // the worker wipes a store right after ReportFinalized returns
    const wiped = async () => (await Promise.all(stores.map((s) => readdir(join(s, 'data'))))).every((d) => !d.length);
    let clean = false;
    for (let i = 0; i < 500 && !clean; i++) {
      clean = await wiped();
      if (!clean) await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    if (child && (child as ChildProcess).exitCode === null) process.kill(-(child as ChildProcess).pid!, 'SIGKILL');
    await exited;
    await mgr.down();
  }

  // a kill at each state (a state the other thread passed while the worker was down may be skipped)
  assert.ok(kills.length >= PIPELINE.length - 2, `killed at ${kills.join(', ')}`);
  assert.equal(mgr.nextNumber, 3, 'sector numbers 1 and 2, nothing skipped or reused');
  for (const n of [1, 2]) {
    const s = mgr.sectors.get(n)!;
    assert.equal(s.abortReason, null);
    assert.equal(mgr.messages.filter((m) => m.number === n && m.kind === 'precommit').length, 1);
    assert.equal(mgr.messages.filter((m) => m.number === n && m.kind === 'prove').length, 1);
    const name = `s-t01000-${n}`;
    assert.equal((await stat(join(remote, 'sealed', name))).size, 2048);
    assert.deepEqual((await readdir(join(remote, 'cache', name))).sort(), [
      'p_aux',
      'sc-02-data-tree-r-last.dat',
      't_aux',
    ]);
  }
  for (const s of stores) assert.deepEqual(await readdir(join(s, 'data')), []);
});
