/**
 * The snapup plan against the fake Venus.* manager: a 2KiB CC sector is sealed by a sealer thread (AddPieces, TreeD,
 * PC1, PC2 real; C1/C2 test doubles as in rebuild.test.ts), then a `plan = "snapup"` thread puts one deal piece into
 * it: the piece fetched and CommP-checked, the sector key read from the persist store, encoded, proved, persisted as
 * update/ and update-cache/, submitted once, waited for, indexed. The submitted proof is checked with the devnet's
 * verifier (verifyUpdateVanilla) against the sector's old comm_r; a kill at any state resumes without a second
 * message; a sector key that is not the sector on chain aborts before anything is encoded.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AllocatedSnapUpSector, SectorPieceV2, SectorUnsealInfo } from '../../api/sealer.js';
import { commPToCid, commRToCid } from '../../fil/index.js';
import {
  commPOfBuffer,
  computeCommD,
  unsealUpdatedRange,
  verifyUpdateVanilla,
  zeroCommitment,
} from '../../proofs/index.js';
import { parseWorkerConfig, type SealingThreadConfig } from '../config.js';
import { sealInit } from '../store.js';
import { SNAPUP_PIPELINE } from './planner/snapup.js';
import { crashAtEveryState, sealedSector, testBase, until as waitUntil } from './threads.test-util.js';

const base = await testBase('snapup-');

const NAME = 's-t01000-1';

/** The snap proofs take longer than the other plans' steps. */
const until = (what: string, fn: () => boolean | Promise<boolean>, ms = 60_000) => waitUntil(what, fn, ms);

let n = 0;
/** A CC sector sealed and persisted by a sealer thread, and a deal piece (1 KiB at offset 0) in a local pieces dir. */
async function sealedCC() {
  const dir = join(base, `t${n++}`);
  const snapStore = join(dir, 'snap');
  const piecesDir = join(dir, 'pieces');
  await mkdir(piecesDir, { recursive: true });
  const { remote, mgr, sealing, newThread, cleanup } = await sealedSector(dir, {
    stores: [snapStore],
    deps: { localPiecesDirs: [piecesDir] },
    ms: 60_000,
  });
  const commROld = mgr.sectors.get(1)!.pre!.CommR;

  const payload = randomBytes(1000);
  const commP = commPOfBuffer(payload, 1024).commP;
  const cid = commPToCid(commP).toString();
  await writeFile(join(piecesDir, cid), payload);
  const piece: SectorPieceV2 = {
    Piece: { Size: 1024, PieceCID: { '/': cid } },
    DealInfo: {
      DealID: 0,
      AllocationID: 7,
      PieceCID: { '/': cid },
      PieceSize: 1024,
      PayloadSize: payload.length,
      Offset: 0,
      IsBuiltinMarket: false,
      IsCompatible: false,
    },
  };
  const allocation = (over: Partial<AllocatedSnapUpSector['Public']> = {}): AllocatedSnapUpSector => ({
    Sector: mgr.sectors.get(1)!.allocated,
    Pieces: [piece],
    Public: {
      CommR: commROld,
      SealedCID: { '/': commRToCid(Uint8Array.from(commROld)).toString() },
      Activation: 100,
      Expiration: 100_000,
      ...over,
    },
    Private: { AccessInstance: 'remote' },
  });
  const snapCfg: SealingThreadConfig = { location: snapStore, plan: 'snapup', sealing };
  return { mgr, remote, snapStore, snapCfg, newThread, cleanup, commROld, payload, commP, allocation };
}

type Setup = Awaited<ReturnType<typeof sealedCC>>;

/** The submitted update, checked as the devnet checks ProveReplicaUpdates3, and decoded back to the client's bytes. */
async function checkUpdate(s: Setup) {
  const sector = s.mgr.sectors.get(1)!;
  const info = sector.snapup!;
  assert.ok(info, 'SubmitSnapUpProof accepted');
  assert.equal(info.AccessInstance, 'remote');
  const commDNew = Uint8Array.from(info.CommD);
  const want = computeCommD(2048, [
    { size: 1024, commitment: s.commP },
    { size: 1024, commitment: zeroCommitment(1024) },
  ]);
  assert.deepEqual(commDNew, want, 'comm_d_new is the pieces: the deal at 0, zeros after');
  const verify = (commROld: number[]) =>
    verifyUpdateVanilla({
      sealProof: sector.allocated.ProofType,
      commROld: Uint8Array.from(commROld),
      commRNew: Uint8Array.from(info.CommR),
      commDNew,
      proofBytes: Buffer.from(info.Proof, 'base64'),
    });
  assert.equal(verify(s.commROld), true, 'the update proof verifies against the sector on chain');
  const other = [...s.commROld];
  other[0] ^= 1;
  assert.equal(verify(other), false, 'and not against another sector');
  assert.notDeepEqual(info.CommR, s.commROld);
  assert.equal(sector.upgradePersisted, 'remote', 'SubmitPersistedEx(…, isUpgrade = true) after landing');
  // the persisted update decodes back to the client's bytes
  const out = join(s.snapStore, 'decoded');
  await unsealUpdatedRange({
    sectorSize: 2048,
    replicaPath: join(s.remote, 'update', NAME),
    sectorKeyPath: join(s.remote, 'sealed', NAME),
    commROld: Uint8Array.from(s.commROld),
    commDNew,
    outputPath: out,
    offset: 0,
    numBytes: s.payload.length,
  });
  assert.deepEqual(await readFile(out), s.payload);
  await rm(out);
}

/** A snapup thread given the allocation, once the sector is upgraded and finalized and the thread idle. */
async function upgrade(s: Awaited<ReturnType<typeof sealedCC>>) {
  s.mgr.snapups.push(s.allocation());
  const t = await s.newThread(s.snapCfg);
  await until('upgraded and finalized', () => {
    const sector = s.mgr.sectors.get(1);
    return s.mgr.snapups.length === 0 && sector?.upgradePersisted != null && sector.finalized;
  });
  await until('thread idle', () => t.info().job_id === null);
  return t;
}

describe('snapup plan', () => {
  it('upgrades a CC sector with a deal piece: one message, a proof the chain accepts, the update persisted', async () => {
    const s = await sealedCC();
    try {
      await upgrade(s);
      const sector = s.mgr.sectors.get(1)!;
      const states = sector.states.slice(-SNAPUP_PIPELINE.length);
      assert.deepEqual(
        states.map((r) => r.StateChange.Next),
        SNAPUP_PIPELINE,
      );
      assert.equal(states[0]!.StateChange.Event, 'AllocatedSnapUpSector');
      assert.deepEqual(states[0]!.Worker, { Instance: 'test-worker', Location: s.snapStore });
      await checkUpdate(s);
      for (const f of ['p_aux', 't_aux', 'sc-02-data-tree-r-last.dat']) {
        await access(join(s.remote, 'update-cache', NAME, f));
      }
      assert.deepEqual(
        s.mgr.messages.map((m) => m.kind),
        ['precommit', 'prove', 'snapup'],
      );
      assert.deepEqual(await readdir(join(s.snapStore, 'data')), [], 'the seal store is wiped');
    } finally {
      await s.cleanup();
    }
  });

  it('a sector key that is not the sector on chain aborts before encoding: nothing submitted, deals released', async () => {
    const s = await sealedCC();
    try {
      const wrong = [...s.commROld];
      wrong[3] ^= 0xff;
      s.mgr.snapups.push(s.allocation({ CommR: wrong }));
      await s.newThread(s.snapCfg);
      await until('aborted', () => s.mgr.sectors.get(1)?.abortReason != null);
      const why = s.mgr.sectors.get(1)!.abortReason!;
      assert.match(why, /has comm_r [0-9a-f]{64}, the sector's on chain is [0-9a-f]{64}: not encoded/);
      assert.equal(s.mgr.calls.includes('SubmitSnapUpProof'), false);
      await assert.rejects(access(join(s.remote, 'update', NAME)));
    } finally {
      await s.cleanup();
    }
  });

  it('files the manager misses are persisted again; a message that failed on chain is sent again', async () => {
    const s = await sealedCC();
    try {
      s.mgr.snapups.push(s.allocation());
      let lost = false;
      s.mgr.onReport = (_sid, req) => {
        // the update files vanish from the persist store before the manager checks them (once)
        if (req.StateChange.Next === 'Persisted' && !lost) {
          lost = true;
          void rm(join(s.remote, 'update', NAME), { force: true });
        }
      };
      s.mgr.failProofs = 1;
      await s.newThread(s.snapCfg);
      await until('upgraded and finalized', () => {
        const sector = s.mgr.sectors.get(1);
        return sector?.upgradePersisted != null && sector.finalized;
      });
      const events = s.mgr.sectors.get(1)!.states.map((r) => r.StateChange.Event);
      assert.ok(events.includes('RePersist'), 'persisted again after FilesMissed');
      assert.ok(events.includes('ReSubmitProof'), 'submitted again after the message failed');
      await checkUpdate(s);
      assert.deepEqual(
        s.mgr.messages.map((m) => m.kind),
        ['precommit', 'prove', 'snapup', 'snapup'],
        'the failed message and its resend',
      );
    } finally {
      await s.cleanup();
    }
  });

  it('a kill at any state resumes the step in flight: the same update, one message', async () => {
    const s = await sealedCC();
    const docPath = join(s.snapStore, 'meta', 'sector.json');
    try {
      s.mgr.snapups.push(s.allocation());
      await crashAtEveryState({
        mgr: s.mgr,
        docPath,
        states: SNAPUP_PIPELINE,
        newThread: () => s.newThread(s.snapCfg),
        plan: 'snapup',
        ms: 60_000,
      });
      await until('finalized', async () => {
        const sector = s.mgr.sectors.get(1);
        if (!sector?.upgradePersisted || !sector.finalized) return false;
        return (await readdir(join(s.snapStore, 'meta'))).length === 0;
      });
      await checkUpdate(s);
      assert.deepEqual(
        s.mgr.messages.map((m) => m.kind),
        ['precommit', 'prove', 'snapup'],
        'SubmitSnapUpProof sent once; a resubmission after a kill is DuplicateSubmit',
      );
      assert.ok(s.mgr.calls.filter((c) => c === 'SubmitSnapUpProof').length >= 2, 'it was resubmitted');
    } finally {
      await s.cleanup();
    }
  });
});

/** The sector upgraded by a snapup thread (as the first test), for what comes after: unseal and rebuild. */
async function upgraded() {
  const s = await sealedCC();
  const t = await upgrade(s);
  await t.stop();
  const info = s.mgr.sectors.get(1)!.snapup!;
  return { ...s, commRNew: info.CommR, commDNew: info.CommD };
}

describe('an upgraded sector afterwards', () => {
  it('unseal decodes the updated replica: with the sector key kept, and sealed again from the ticket once removed', async () => {
    const s = await upgraded();
    try {
      const unsealStore = join(s.remote, '..', 'unseal');
      await sealInit([unsealStore]);
      const sector = s.mgr.sectors.get(1)!;
      const cid = commPToCid(s.commP).toString();
      const task = (): SectorUnsealInfo => ({
        Sector: sector.allocated,
        PieceCid: { '/': cid },
        Offset: 0,
        Size: 1016,
        PrivateInfo: { AccessInstance: 'remote' },
        Ticket: sector.ticket!,
        CommD: s.commDNew,
        Dest: null,
        State: 'set_up',
        ErrorInfo: '',
        Upgrade: { CommROld: s.commROld, SectorKeyInstance: 'remote' },
      });
      const want = Buffer.concat([s.payload, Buffer.alloc(16)]);
      const cfg: SealingThreadConfig = { ...s.snapCfg, location: unsealStore, plan: 'unseal' };
      for (const [i, keyKept] of [true, false].entries()) {
        // CleanupCCData: the sector key goes once the update is on chain
        if (!keyKept) await rm(join(s.remote, 'sealed', NAME));
        const out = join(unsealStore, '..', `piece-${i}.bin`);
        s.mgr.unsealDests = [`file://${out}`];
        s.mgr.unsealTasks = [task()];
        const t = await s.newThread(cfg);
        await until('the piece unsealed and reported', () => s.mgr.achieved.length === i + 1);
        assert.deepEqual(s.mgr.achieved[i], { sid: sector.allocated.ID, pieceCid: cid, errInfo: '' });
        assert.deepEqual(
          await readFile(out),
          want,
          `the client's bytes (sector key ${keyKept ? 'kept' : 'sealed again'})`,
        );
        await until('the unseal store wiped', async () => (await readdir(join(unsealStore, 'meta'))).length === 0);
        await t.stop();
      }
      // a wrong sector key decodes to other bytes: the CommP check answers the task with the reason
      s.mgr.unsealDests = [`file://${join(unsealStore, '..', 'wrong.bin')}`];
      s.mgr.unsealTasks = [
        { ...task(), Ticket: { ...sector.ticket!, Ticket: Buffer.alloc(32, 9).toString('base64') } },
      ];
      await s.newThread(cfg);
      await until('the unseal answered', () => s.mgr.achieved.length === 3);
      assert.match(s.mgr.achieved[2]!.errInfo, /have CommP [0-9a-f]{64}, not the piece CID's/);
    } finally {
      await s.cleanup();
    }
  });

  it('rebuild: the CC sector sealed again (checked against the sector key), the deals encoded again, byte-identical', async () => {
    const s = await upgraded();
    try {
      const updated = join(s.remote, 'update', NAME);
      const original = {
        replica: await readFile(updated),
        pAux: await readFile(join(s.remote, 'update-cache', NAME, 'p_aux')),
      };
      // everything lost: the update and the sector key (CleanupCCData)
      for (const d of ['update', 'update-cache', 'sealed', 'cache'])
        await rm(join(s.remote, d, NAME), { recursive: true, force: true });
      const sector = s.mgr.sectors.get(1)!;
      sector.upgradePersisted = null;
      const rebuildStore = join(s.remote, '..', 'rebuild');
      await sealInit([rebuildStore]);
      const task = {
        SealedCID: { '/': commRToCid(Uint8Array.from(s.commRNew)).toString() },
        IsSnapUp: true,
        UpgradePublic: {
          CommR: s.commROld,
          SealedCID: { '/': commRToCid(Uint8Array.from(s.commROld)).toString() },
          Activation: 100,
          Expiration: 100_000,
        },
        PiecesV2: s.allocation().Pieces,
      };
      s.mgr.setForRebuild(1, task);
      const cfg: SealingThreadConfig = { ...s.snapCfg, location: rebuildStore, plan: 'rebuild' };
      const first = await s.newThread(cfg);
      await until('rebuilt', () => sector.upgradePersisted === 'remote' && sector.finalized);
      await until('thread idle', () => first.info().job_id === null);
      await first.stop();
      assert.deepEqual(await readFile(updated), original.replica, 'the updated replica, byte-identical');
      assert.deepEqual(await readFile(join(s.remote, 'update-cache', NAME, 'p_aux')), original.pAux);
      assert.equal(sector.abortReason, null);
      const events = sector.states.map((r) => r.StateChange.Event);
      assert.ok(events.includes('SnapEncode'), 'the deals were encoded again');
      assert.equal(
        s.mgr.messages.filter((m) => m.kind === 'snapup').length,
        1,
        'no message: the update is on chain already',
      );

      // deal pieces that are not the ones on chain: aborted with both CIDs, nothing persisted
      await rm(updated);
      sector.upgradePersisted = null;
      const other = [...s.commRNew];
      other[0] ^= 1;
      s.mgr.setForRebuild(1, { ...task, SealedCID: { '/': commRToCid(Uint8Array.from(other)).toString() } });
      const second = join(s.remote, '..', 'rebuild2');
      await sealInit([second]);
      await s.newThread({ ...cfg, location: second });
      await until('aborted', () => sector.abortReason != null);
      assert.match(sector.abortReason!, /re-encoded comm_r \S+ differs from the chain's sealed CID \S+: not persisted/);
      await assert.rejects(access(updated), 'nothing persisted');
      assert.equal(sector.upgradePersisted, null);
    } finally {
      await s.cleanup();
    }
  });
});

describe('snapup plan config', () => {
  const cfg = (extra: string) =>
    parseWorkerConfig(
      'venus-worker.toml',
      `[sealer_rpc]\nurl = "http://127.0.0.1:1/rpc/v0"\n[[sealing_thread]]\nlocation = "/s1"\nplan = "snapup"\n[remote]\npath = "/r"\n${extra}`,
      '/base',
    );
  it('plan = "snapup" per sealing thread; snap_encode and snap_prove take limits (damocles\' stage names)', () => {
    const c = cfg('[processors.limitation.concurrent]\nsnap_encode = 1\nsnap_prove = 2\n');
    assert.equal(c.threads[0]!.plan, 'snapup');
    assert.equal(c.limits.concurrent.snap_encode, 1);
    assert.equal(c.limits.concurrent.snap_prove, 2);
  });
  it('an external snap_prove processor is refused with the reason', () => {
    assert.throws(() => cfg('[[processors.snap_prove]]\nbin = "/x"\n'), /snap_prove.*in-process/);
  });
});
