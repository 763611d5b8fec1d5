/**
 * The rebuild plan (docs/rebuild.md) against the fake Venus.* manager: a 2KiB CC sector is sealed by a sealer thread
 * (AddPieces, TreeD, PC1, PC2 real; C1/C2 test doubles as in thread.test.ts), its persisted files are deleted, and a
 * `plan = "rebuild"` thread seals it again from the same ticket: byte-identical files, no message, checked against
 * the sealed CID; a kill at any state resumes; a wrong sealed CID aborts with both values.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { commRToCid } from '../../fil/index.js';
import { parseWorkerConfig, type SealingThreadConfig } from '../config.js';
import { REBUILD_PIPELINE } from './planner/rebuild.js';
import { crashAtEveryState, sealedSector, testBase, until } from './threads.test-util.js';

const base = await testBase('rebuild-');

const NAME = 's-t01000-1';
const sha = async (f: string) =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

let n = 0;
/** A sector sealed and persisted by a sealer thread; then its persisted sealed file and cache are lost. */
async function sealedThenLost() {
  const dir = join(base, `t${n++}`);
  const rebuildStore = join(dir, 'rebuild');
  const { remote, mgr, sealing, newThread, cleanup } = await sealedSector(dir, { stores: [rebuildStore] });
  const sealedFile = join(remote, 'sealed', NAME);
  const original = {
    sealed: await sha(sealedFile),
    pAux: await sha(join(remote, 'cache', NAME, 'p_aux')),
    commR: mgr.sectors.get(1)!.pre!.CommR,
  };
  await rm(sealedFile);
  await rm(join(remote, 'cache', NAME), { recursive: true });
  const rebuildCfg: SealingThreadConfig = { location: rebuildStore, plan: 'rebuild', sealing };
  return { mgr, remote, sealedFile, original, rebuildStore, rebuildCfg, newThread, cleanup };
}

const sealedCid = (commR: number[]) => ({ '/': commRToCid(Uint8Array.from(commR)).toString() });

describe('rebuild plan', () => {
  it('seals a lost CC sector again from its ticket: byte-identical files, checked against the chain, no message', async () => {
    const s = await sealedThenLost();
    try {
      const calls = s.mgr.calls.length;
      s.mgr.setForRebuild(1, { SealedCID: sealedCid(s.original.commR) });
      const t = await s.newThread(s.rebuildCfg);
      await until('rebuilt and finalized', () => s.mgr.sectors.get(1)?.finalized === true);
      await until('thread idle', () => t.info().job_id === null);
      const s1 = s.mgr.sectors.get(1)!;
      const rebuilt = s1.states.slice(-REBUILD_PIPELINE.length);
      assert.deepEqual(
        rebuilt.map((r) => r.StateChange.Next),
        REBUILD_PIPELINE,
      );
      assert.equal(rebuilt[0]!.StateChange.Event, 'AllocatedRebuildSector');
      assert.deepEqual(rebuilt[0]!.Worker, { Instance: 'test-worker', Location: s.rebuildStore });
      assert.equal(await sha(s.sealedFile), s.original.sealed, 'the sealed file is byte-identical');
      assert.equal(await sha(join(s.remote, 'cache', NAME, 'p_aux')), s.original.pAux);
      assert.equal(s1.persisted, 'remote');
      // the sector is on chain already: no ticket drawn, nothing submitted, no message
      const after = s.mgr.calls.slice(calls);
      for (const m of ['AssignTicket', 'SubmitPreCommit', 'WaitSeed', 'SubmitProof', 'ReportAborted'])
        assert.equal(after.includes(m), false, `${m} called`);
      assert.equal(s.mgr.messages.length, 2, 'the sealing messages only');
      assert.ok(after.includes('SubmitPersistedEx') && after.includes('ReportFinalized'));
      assert.deepEqual(await readdir(join(s.rebuildStore, 'data')), []);
      assert.deepEqual(await readdir(join(s.rebuildStore, 'meta')), []);
      assert.equal(t.info().plan, 'rebuild');
    } finally {
      await s.cleanup();
    }
  });

  it('a kill at any state resumes the step in flight, with the same result', async () => {
    const s = await sealedThenLost();
    const docPath = join(s.rebuildStore, 'meta', 'sector.json');
    try {
      s.mgr.setForRebuild(1, { SealedCID: sealedCid(s.original.commR) });
      await crashAtEveryState({
        mgr: s.mgr,
        docPath,
        states: REBUILD_PIPELINE,
        newThread: () => s.newThread(s.rebuildCfg),
        plan: 'rebuild',
      });
      await until('finalized', async () => {
        return s.mgr.sectors.get(1)?.finalized === true && (await readdir(join(s.rebuildStore, 'meta'))).length === 0;
      });
      assert.equal(await sha(s.sealedFile), s.original.sealed);
      assert.equal(s.mgr.calls.filter((c) => c === 'AllocateRebuildSector').length >= 1, true);
      assert.equal(s.mgr.calls.includes('AssignTicket'), true, 'only by the sealer thread');
      assert.equal(s.mgr.calls.filter((c) => c === 'AssignTicket').length, 1);
      assert.equal(s.mgr.messages.length, 2);
    } finally {
      await s.cleanup();
    }
  });

  it('an allocation whose answer was lost is handed back to the same seal store', async () => {
    const s = await sealedThenLost();
    try {
      s.mgr.setForRebuild(1, { SealedCID: sealedCid(s.original.commR) });
      const t = await s.newThread(s.rebuildCfg);
      await until('allocated', () => s.mgr.rebuilds.length === 0 && t.info().job_id === NAME);
      await t.stop();
      // the document is lost with the answer (a kill between the allocation and the save)
      await rm(join(s.rebuildStore, 'meta', 'sector.json'), { force: true });
      await s.newThread(s.rebuildCfg);
      await until('rebuilt', () => s.mgr.sectors.get(1)?.finalized === true);
      assert.equal(await sha(s.sealedFile), s.original.sealed);
    } finally {
      await s.cleanup();
    }
  });

  it('a comm_r that differs from the chain aborts with both values and persists nothing', async () => {
    const s = await sealedThenLost();
    try {
      const wrong = [...s.original.commR];
      wrong[0] = (wrong[0]! + 1) % 256;
      s.mgr.setForRebuild(1, { SealedCID: sealedCid(wrong) });
      await s.newThread(s.rebuildCfg);
      await until('aborted', () => s.mgr.sectors.get(1)?.abortReason != null);
      const reason = s.mgr.sectors.get(1)!.abortReason!;
      const got = sealedCid(s.original.commR)['/'];
      const want = sealedCid(wrong)['/'];
      assert.match(reason, new RegExp(`rebuilt comm_r ${got} differs from the chain's sealed CID ${want}`));
      await assert.rejects(readFile(s.sealedFile), /ENOENT/);
      assert.equal(s.mgr.calls.includes('StoreReserveSpace'), true, 'only by the sealer thread');
      assert.equal(s.mgr.calls.filter((c) => c === 'StoreReserveSpace').length, 1);
      await until('store wiped', async () => (await readdir(join(s.rebuildStore, 'data'))).length === 0);
    } finally {
      await s.cleanup();
    }
  });

  it('an upgraded sector without its sector key is refused and reported; a thread keeps asking for tasks', async () => {
    const s = await sealedThenLost();
    try {
      s.mgr.setForRebuild(1, { SealedCID: sealedCid(s.original.commR), IsSnapUp: true });
      const t = await s.newThread(s.rebuildCfg);
      await until('reported', () => s.mgr.sectors.get(1)?.abortReason != null);
      assert.match(
        s.mgr.sectors.get(1)!.abortReason!,
        /^an upgraded sector without its sector key's commitment: UpgradePublic.CommR/,
      );
      assert.match(t.info().last_error ?? '', /s-t01000-1: an upgraded sector without its sector key/);
      assert.equal(t.info().job_id, null);
      const asked = s.mgr.calls.filter((c) => c === 'AllocateRebuildSector').length;
      await until('asks again', () => s.mgr.calls.filter((c) => c === 'AllocateRebuildSector').length > asked);
    } finally {
      await s.cleanup();
    }
  });
});

describe('rebuild plan config', () => {
  const cfg = (plan: string) =>
    parseWorkerConfig(
      'venus-worker.toml',
      `[sealer_rpc]\nurl = "http://127.0.0.1:1/rpc/v0"\n[[sealing_thread]]\nlocation = "/s1"\n[[sealing_thread]]\nlocation = "/s2"\nplan = "${plan}"\n[remote]\npath = "/r"\n`,
      '/base',
    );
  it('plan = "rebuild" per sealing thread; others stay sealer', () => {
    const c = cfg('rebuild');
    assert.deepEqual(
      c.threads.map((t) => t.plan),
      ['sealer', 'rebuild'],
    );
  });
  it('an unknown plan is refused by name', () => {
    assert.throws(() => cfg('wdpost'), /sealing_thread\[1\]\.plan: "wdpost" is not supported by this build/);
  });
});
