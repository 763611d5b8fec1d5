/**
 * Sealing threads against a fake Venus.* manager over the real JSON-RPC server and client. AddPieces, TreeD,
 * PC1 (SDR labels) and PC2 are the real proofs on 2KiB sectors; C1 and C2 are test doubles here
 * (threads.test-util.ts) because this test is about the state machine, not about proofs.
 */
import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { chmod, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { zeroCommitment } from '../../proofs/index.js';
import { whySealProofFails } from '../../proofs/prover/index.js';
import { RpcError } from '../../rpc/index.js';
import type { SealingThreadConfig } from '../config.js';
import { BUILTIN, type Sealer, StageRunner } from '../processor/index.js';
import { SEALER_PIPELINE, STATES } from './states.js';
import { SealingThread } from './thread.js';
import { crashAtEveryState, TEST_STAGES, testBase, testSealer, threadHarness, until } from './threads.test-util.js';

const root = new URL('../../../', import.meta.url).pathname;
const base = await testBase('sealing-');

let n = 0;
async function setup(opts: { sectors?: number; sealer?: Sealer; maxRetries?: number } = {}) {
  const dir = join(base, `t${n++}`);
  const location = join(dir, 'store');
  const h = await threadHarness(dir, {
    stores: [location],
    sectors: opts.sectors ?? 1,
    sealing: { maxRetries: opts.maxRetries ?? 3 },
    deps: { sealer: opts.sealer ?? testSealer },
  });
  const cfg: SealingThreadConfig = { location, plan: 'sealer', sealing: h.sealing };
  const newThread = () => h.newThread(cfg, 0);
  return { dir, location, remote: h.remote, mgr: h.mgr, cfg, deps: h.deps, newThread, cleanup: h.cleanup };
}

const PIPELINE = SEALER_PIPELINE;

async function assertPersisted(remote: string, name: string) {
  assert.equal((await stat(join(remote, 'sealed', name))).size, 2048);
  assert.deepEqual((await readdir(join(remote, 'cache', name))).sort(), [
    'p_aux',
    'sc-02-data-tree-r-last.dat',
    't_aux',
  ]);
}

describe('sealing thread', () => {
  it('seals CC sectors from allocation to finalized with the real stages, persisting files in the original layout', async () => {
    const builtin: Sealer = {
      run: (stage, task) => (BUILTIN[stage] as (t: unknown) => Promise<never>)(task),
      where: () => 'builtin',
      stop: async () => {},
    };
    const s = await setup({ sectors: 2, sealer: builtin });
    try {
      // finalize empties data/ but never removes it: a kill in between would leave a store that refuses to open
      const dataEvents: string[] = [];
      const watcher = watch(s.location, (event, file) => {
        if (file === 'data') dataEvents.push(event);
      });
      const t = await s.newThread();
      await until('two finalized sectors', () => [...s.mgr.sectors.values()].filter((x) => x.finalized).length === 2);
      await until('thread idle', () => t.info().job_id === null);
      const s1 = s.mgr.sectors.get(1)!;
      assert.deepEqual(
        s1.states.filter((r) => r.Failure === null).map((r) => r.StateChange.Next),
        PIPELINE,
      );
      assert.deepEqual(s1.states[0]!.Worker, { Instance: 'test-worker', Location: s.location });
      assert.equal(s1.persisted, 'remote');
      assert.equal(s1.abortReason, null);
      assert.deepEqual(s.mgr.messages, [
        { kind: 'precommit', number: 1 },
        { kind: 'prove', number: 1 },
        { kind: 'precommit', number: 2 },
        { kind: 'prove', number: 2 },
      ]);
      await assertPersisted(s.remote, 's-t01000-1');
      await assertPersisted(s.remote, 's-t01000-2');
      // what the manager got: CommR from PC2, and a seal proof that verifies against it (the devnet's check)
      assert.equal(s1.pre!.CommR.length, 32);
      const b64 = (v: string) => new Uint8Array(Buffer.from(v, 'base64'));
      const proof = b64(s1.proof!);
      assert.equal(Buffer.from(proof.subarray(0, 4)).toString(), 'FVSP', 'vanilla seal proof bytes');
      const check = {
        sealProof: 5,
        minerId: 1000,
        sectorNumber: 1,
        ticket: b64(s1.ticket!.Ticket),
        seed: b64(s1.seed!.Seed),
        commR: Uint8Array.from(s1.pre!.CommR),
        commD: zeroCommitment(2048),
        proof,
      };
      assert.equal(whySealProofFails(check), undefined);
      assert.match(whySealProofFails({ ...check, sectorNumber: 2 }) ?? '', /./, 'not a proof of sector 2');
      // the local store is wiped once finalized
      assert.deepEqual(await readdir(join(s.location, 'data')), []);
      watcher.close();
      assert.deepEqual(dataEvents, [], 'data/ itself was never removed or re-created');
      assert.deepEqual(await readdir(join(s.location, 'meta')), []);
      assert.equal(t.info().thread_state.state, 'Idle');
    } finally {
      await s.cleanup();
    }
  });

  it('redoes the step in flight after a crash at any state, without skipping, reusing or resending', async () => {
    const s = await setup({ sectors: 1 });
    const docPath = join(s.location, 'meta', 'sector.json');
    try {
      await crashAtEveryState({ mgr: s.mgr, docPath, states: PIPELINE, newThread: s.newThread });
      await until('finalized', async () => {
        return s.mgr.sectors.get(1)?.finalized === true && (await readdir(join(s.location, 'meta'))).length === 0;
      });
      assert.equal(s.mgr.nextNumber, 2, 'one sector number used');
      // the submissions were redone after the crashes, and the manager sent each message once
      assert.ok(s.mgr.calls.filter((c) => c === 'SubmitPreCommit').length >= 2);
      assert.ok(s.mgr.calls.filter((c) => c === 'SubmitProof').length >= 2);
      assert.deepEqual(s.mgr.messages, [
        { kind: 'precommit', number: 1 },
        { kind: 'prove', number: 1 },
      ]);
      await assertPersisted(s.remote, 's-t01000-1');
      assert.deepEqual(await readdir(join(s.location, 'data')), []);
    } finally {
      await s.cleanup();
    }
  });

  it('an allocation whose answer is lost is handed back to the same seal store: no number skipped', async () => {
    const s = await setup({ sectors: 2 });
    try {
      s.mgr.loseNextAllocation = true;
      const t = await s.newThread();
      await until('sector 1 finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      await until('sector 2 finalized', () => s.mgr.sectors.get(2)?.finalized === true);
      assert.equal(s.mgr.nextNumber, 3);
      assert.equal(t.info().last_error, null);
    } finally {
      await s.cleanup();
    }
  });

  it('retries temporary manager failures, and an unreachable manager, then carries on', async () => {
    const s = await setup({ sectors: 1, maxRetries: 5 });
    try {
      s.mgr.failNext('AssignTicket', undefined, 2);
      s.mgr.failNext('SubmitPersistedEx', undefined, 1);
      const t = await s.newThread();
      await until('pre-commit polling', () => s.mgr.calls.includes('PollPreCommitState'));
      await s.mgr.down();
      await until('temporary error shown', () =>
        /temporary \(retry \d\/5\): Venus\.PollPreCommitState/.test(t.info().last_error ?? ''),
      );
      assert.equal(t.info().thread_state.state, 'Running');
      await s.mgr.listen();
      await until('finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      const s1 = s.mgr.sectors.get(1)!;
      const temps = s1.states.filter((r) => r.Failure?.Level === 'Temporary');
      assert.ok(temps.some((r) => /AssignTicket: injected failure/.test(r.Failure!.Desc)));
      assert.ok(temps.some((r) => /SubmitPersistedEx: injected failure/.test(r.Failure!.Desc)));
      assert.equal(s.mgr.calls.filter((c) => c === 'AssignTicket').length, 3);
      assert.deepEqual(s.mgr.messages.length, 2);
    } finally {
      await s.cleanup();
    }
  });

  it('pauses after max_retries temporary failures, with the last error; resume continues', async () => {
    const s = await setup({ sectors: 1, maxRetries: 2 });
    try {
      s.mgr.failNext('WaitSeed', () => new RpcError(1, 'chain head too old'), 3);
      const t = await s.newThread();
      await until('paused', () => t.info().thread_state.state === 'Paused');
      const i = t.info();
      assert.equal(i.job_state, 'PersistanceSubmitted');
      assert.equal(i.job_stage, 'WaitSeed');
      assert.equal(i.job_id, 's-t01000-1');
      assert.match(i.last_error!, /WaitSeed: .*chain head too old \(still failing after 2 retries\)/);
      assert.equal(t.resume(), true);
      await until('finalized', () => s.mgr.sectors.get(1)?.finalized === true);
    } finally {
      await s.cleanup();
    }
  });

  it('a remote store it cannot write pauses the thread with a clear error; resume after the fix continues', async () => {
    const s = await setup({ sectors: 1 });
    try {
      // as root a chmod does not stop writes: put a file where the sealed/ directory must go
      await writeFile(join(s.remote, 'sealed'), 'not a directory');
      if (process.getuid?.() !== 0) await chmod(s.remote, 0o555);
      const t = await s.newThread();
      await until('paused', () => t.info().thread_state.state === 'Paused');
      assert.equal(t.info().job_state, 'PCLanded');
      assert.equal(t.info().job_stage, 'PersistFiles');
      assert.match(t.info().last_error!, /persist to "remote" \(.*remote\): .*(ENOTDIR|EEXIST|EACCES)/);
      await chmod(s.remote, 0o755);
      await rm(join(s.remote, 'sealed'));
      assert.equal(t.resume(), true);
      await until('finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      await assertPersisted(s.remote, 's-t01000-1');
    } finally {
      await s.cleanup();
    }
  });

  it('operator pause and resume; resume -s Aborted drops the sector and reports it', async () => {
    const s = await setup({ sectors: 2 });
    s.mgr.landAfter = 1_000_000; // the pre-commit never lands
    try {
      const t = await s.newThread();
      await until('polling', () => t.info().job_state === 'PCSubmitted');
      assert.equal(t.pause(), true);
      await until('paused', () => t.info().thread_state.state === 'Paused');
      assert.equal(t.info().last_error, null, 'an operator pause is not an error');
      assert.throws(() => t.resume('Bogus'), /unknown state "Bogus"/);
      assert.equal(t.resume('Aborted'), true);
      await until('aborted', () => s.mgr.sectors.get(1)?.abortReason !== null);
      assert.match(s.mgr.sectors.get(1)!.abortReason!, /aborted by the operator/);
      await until('next sector', () => t.info().job_id === 's-t01000-2');
      assert.equal(t.resume(), false, 'not paused');
    } finally {
      await s.cleanup();
    }
  });

  it('drops a sector the manager has finalized or aborted', async () => {
    const s = await setup({ sectors: 1 });
    s.mgr.landAfter = 1_000_000;
    try {
      const t = await s.newThread();
      await until('polling', () => t.info().job_state === 'PCSubmitted');
      const s1 = s.mgr.sectors.get(1)!;
      s1.finalized = true;
      s1.abortReason = 'removed by the operator';
      s.mgr.landAfter = 0; // the next poll moves the thread on, and its ReportState hears the news
      await until('dropped', () => t.info().job_id === null);
      assert.deepEqual(await readdir(join(s.location, 'data')), []);
      assert.equal(s.mgr.calls.includes('ReportAborted'), false, 'the manager told us: no ReportAborted');
    } finally {
      await s.cleanup();
    }
  });

  it('a processor that crashes mid-PC2 is restarted and the retry succeeds', async () => {
    const mark = join(base, 'pc2-crashed');
    // crashes on its first task (leaving .pc2_running behind), then runs the real `venus-worker processor pc2`
    const script = `
const fs = require('node:fs');
if (!fs.existsSync(${JSON.stringify(mark)})) {
  process.stdout.write('pc2 processor ready\\n');
  require('node:readline').createInterface({ input: process.stdin }).on('line', () => {
    fs.writeFileSync(${JSON.stringify(mark)}, '');
    process.exit(9);
  });
} else {
  const c = require('node:child_process').spawn(process.execPath,
    ['--import', 'tsx', ${JSON.stringify(join(root, 'src/cli/venus-worker.ts'))}, 'processor', 'pc2'], { stdio: 'inherit' });
  c.on('exit', (code) => process.exit(code ?? 1));
}`;
    const runner = await StageRunner.create(
      {
        processors: {
          pc2: [
            {
              stage: 'pc2',
              bin: process.execPath,
              args: ['-e', script],
              stableWaitMs: 20_000,
              cgroup: null,
              numaPreferred: null,
              envs: {},
              concurrent: null,
              locks: [],
              autoRestart: true,
              inheritEnvs: true,
            },
          ],
        },
        extLocks: {},
      },
      {
        restartDelayMs: 50,
        builtin: TEST_STAGES,
      },
    );
    const s = await setup({ sectors: 1, sealer: runner });
    try {
      await s.newThread();
      await until('finalized', () => s.mgr.sectors.get(1)?.finalized === true, 60_000);
      const temps = s.mgr.sectors.get(1)!.states.filter((r) => r.Failure?.Level === 'Temporary');
      assert.equal(temps.length, 1);
      assert.match(temps[0]!.Failure!.Desc, /PC2: child process exited: pc2 \(exit code 9\)/);
      await assertPersisted(s.remote, 's-t01000-1');
    } finally {
      await s.cleanup();
      await runner.stop();
    }
  });

  it('a damaged sector document pauses the thread (critical); a store without .holder is refused', async () => {
    const s = await setup({ sectors: 1 });
    try {
      await writeFile(join(s.location, 'meta', 'sector.json'), '{"version": 1, "pl');
      const t = await s.newThread();
      await until('paused', () => t.info().thread_state.state === 'Paused');
      assert.match(t.info().last_error!, /load sector document: sector document .*sector\.json is damaged/);
      await rm(join(s.location, '.holder'));
      await assert.rejects(
        new SealingThread(1, s.cfg, s.deps).start(),
        /has no \.holder: it is not formatted or its disk is not mounted/,
      );
    } finally {
      await s.cleanup();
    }
  });

  it('state names and indexes are the original ones', () => {
    assert.equal(STATES.indexOf('PCSubmitted'), 9);
    assert.equal(STATES.indexOf('Aborted'), 18);
  });
});
