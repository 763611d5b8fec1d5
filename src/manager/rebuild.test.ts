/**
 * Sector rebuild in the manager (docs/rebuild.md): SectorSetForRebuild's refusals, the task a rebuild thread gets,
 * its hand-out again to the same seal store, a task surviving a restart, and the end of a rebuild.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { type SectorID, SectorWorkerJob, sectorName } from '../api/sealer.js';
import { commRToCid } from '../fil/index.js';
import type { RpcError } from '../rpc/index.js';
import {
  type Harness,
  makeHarness,
  preCommitInfoFor,
  proofFor,
  testCommR,
  writeSectorFiles,
} from './harness.test-util.js';

const W1 = { Instance: 'w1', Location: '/seal/rebuild' };
const W2 = { Instance: 'w2', Location: '/seal/rebuild' };
const SPEC = { AllowedMiners: null, AllowedProofTypes: null };
const worker = (name: string) => ({ admin: false, name });

/** One sector through the sealer calls to active on chain and finalized, as a sealer-plan thread does it. */
async function sealOne(h: Harness): Promise<SectorID> {
  const s = h.sealer;
  const sector = (await s.allocateSector(SPEC))!;
  const sid = sector.ID;
  const ticket = await s.assignTicket(sid);
  await s.submitPreCommit(sector, preCommitInfoFor(sid, ticket), false);
  await h.commit.idle();
  await h.chain.mine(3);
  s.storeReserveSpace(sid, 4096, null);
  writeSectorFiles(h.storeDir, sid);
  assert.equal(await s.submitPersistedEx(sid, 'store-1', false), true);
  await h.chain.mine(20);
  const seed = (await s.waitSeed(sid, 5)).Seed!;
  await s.submitProof(sid, { Proof: proofFor(sid, ticket.Ticket, seed.Seed) }, false);
  await h.commit.idle();
  await h.chain.mine(3);
  assert.ok(h.chain.miners.get(1000)!.sectors.has(sid.Number), 'active on chain');
  await s.reportFinalized(sid);
  return sid;
}

const refused = (re: RegExp) => (e: RpcError) => {
  assert.match(e.message, re);
  return true;
};

test('rebuild: only a sealed sector the chain has, not twice, a snapped one only with its update record', async () => {
  const h = makeHarness();
  const s = h.sealer;
  try {
    await assert.rejects(
      s.sectorSetForRebuild({ Miner: 1000, Number: 42 }, { PiecesAvailable: false }),
      (e: RpcError) => e.code === 11001 && /no state for it \(only sectors it sealed can be rebuilt\)/.test(e.message),
    );
    const sealing = (await s.allocateSector(SPEC))!;
    await assert.rejects(
      s.sectorSetForRebuild(sealing.ID, { PiecesAvailable: false }),
      refused(/cannot rebuild s-t01000-1: it is still being sealed/),
    );
    await s.reportAborted(sealing.ID, 'given up');
    await assert.rejects(
      s.sectorSetForRebuild(sealing.ID, { PiecesAvailable: false }),
      refused(/its sealing was aborted \(given up\)/),
    );

    const sid = await sealOne(h);
    // snapped on chain (a sector key) but not by this manager: refused with the reason, nothing recorded
    const onChain = h.chain.miners.get(1000)!.sectors.get(sid.Number)!;
    onChain.SectorKeyCID = onChain.SealedCID;
    await assert.rejects(
      s.sectorSetForRebuild(sid, { PiecesAvailable: false }),
      refused(/the chain and the sector state disagree on whether it was upgraded/),
    );
    onChain.SectorKeyCID = null;
    assert.equal(h.db.getSector(sid)!.online, false, 'a refusal changes nothing');

    // gone from chain (terminated or expired)
    h.chain.miners.get(1000)!.sectors.delete(sid.Number);
    await assert.rejects(
      s.sectorSetForRebuild(sid, { PiecesAvailable: false }),
      refused(/the chain has no such sector/),
    );
    h.chain.miners.get(1000)!.sectors.set(sid.Number, onChain);

    // deal pieces need --pieces-available
    const st = h.db.getSector(sid)!;
    st.state.Pieces = [
      {
        Piece: { Size: 2048, PieceCID: { '/': 'baga6ea4seaqpiece' } },
        DealInfo: { DealID: 0, AllocationID: 7 } as never,
      },
    ];
    h.db.putSector(st.state, false);
    await assert.rejects(s.sectorSetForRebuild(sid, { PiecesAvailable: false }), refused(/--pieces-available/));
    assert.equal(await s.sectorSetForRebuild(sid, { PiecesAvailable: true }), true);
    await assert.rejects(
      s.sectorSetForRebuild(sid, { PiecesAvailable: true }),
      refused(/a rebuild is already under way \(waiting for a rebuild thread\)/),
    );
    const r = h.db.getSector(sid)!;
    assert.equal(r.online, true);
    assert.equal(r.state.NeedRebuild, true);
    assert.deepEqual(
      s.listSectors('online', SectorWorkerJob.Rebuild).map((x) => sectorName(x.ID)),
      [sectorName(sid)],
    );
  } finally {
    h.commit.stop();
  }
});

test('rebuild: the task carries ticket, pieces, proof type and the chain sealed CID; handed again to the same seal store only', async () => {
  const h = makeHarness();
  const s = h.sealer;
  try {
    assert.equal(await s.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w1')), null, 'no task yet');
    const sid = await sealOne(h);
    const ticket = h.db.getSector(sid)!.state.Ticket!;
    assert.equal(await s.sectorSetForRebuild(sid, { PiecesAvailable: false }), true);
    assert.equal(await s.allocateRebuildSector({ AllowedMiners: [2000], AllowedProofTypes: null, Worker: W1 }), null);
    assert.equal(await s.allocateRebuildSector({ AllowedMiners: null, AllowedProofTypes: [8], Worker: W1 }), null);

    const info = await s.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w1'));
    assert.deepEqual(info, {
      Sector: { ID: sid, ProofType: 5 },
      Ticket: ticket,
      Pieces: null,
      PiecesV2: null,
      IsSnapUp: false,
      UpgradePublic: null,
      SealedCID: { '/': commRToCid(testCommR(sid)).toString() },
    });
    // the worker lost the answer (killed before saving it): the same store gets the same task
    assert.deepEqual(await s.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w1')), info);
    // another store, or another worker naming the same store, gets nothing
    assert.equal(await s.allocateRebuildSector({ ...SPEC, Worker: { ...W1, Location: '/other' } }, worker('w1')), null);
    assert.equal(await s.allocateRebuildSector({ ...SPEC, Worker: W2 }, worker('w2')), null);
    assert.equal(await s.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w2')), null);
    // the sector answers its rebuild worker now
    const report = {
      Worker: W1,
      StateChange: { Prev: 'Empty', Next: 'Allocated', Event: 'AllocatedRebuildSector' },
      Failure: null,
    };
    assert.deepEqual(await s.reportState(sid, report, worker('w1')), { Id: sid, Finalized: false, AbortReason: null });
    await assert.rejects(s.reportState(sid, report, worker('w2')), /bound to worker "w1"/);
  } finally {
    h.commit.stop();
  }
});

test('rebuild: a task survives a manager restart; persisted and finalized ends it, the files indexed again', async () => {
  let h = makeHarness();
  try {
    const sid = await sealOne(h);
    // the files are lost
    rmSync(join(h.storeDir, 'sealed', sectorName(sid)));
    assert.equal(await h.sealer.sectorSetForRebuild(sid, { PiecesAvailable: false }), true);
    const info = await h.sealer.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w1'));
    assert.ok(info);
    h = h.restart();
    const s = h.sealer;
    assert.deepEqual(await s.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w1')), info, 'after a restart');
    // the rebuild thread persists the files again, then reports the sector finalized
    assert.ok(s.storeReserveSpace(sid, 4096, null, worker('w1')));
    assert.equal(await s.submitPersistedEx(sid, 'store-1', false, worker('w1')), false, 'no sealed file yet');
    writeSectorFiles(h.storeDir, sid);
    assert.equal(await s.submitPersistedEx(sid, 'store-1', false, worker('w1')), true);
    await s.reportFinalized(sid, worker('w1'));
    const r = h.db.getSector(sid)!;
    assert.equal(r.online, false);
    assert.equal(r.state.NeedRebuild, false);
    assert.equal(r.state.Finalized, true);
    assert.equal(r.state.AbortReason, '');
    assert.deepEqual(h.db.findSector('normal', sid), { SealedFile: 'store-1', CacheDir: 'store-1' });
    assert.equal(h.db.getReservation(sid), undefined, 'reservation released');
    assert.deepEqual(
      h.db
        .sectorEvents(sid)
        .map((e) => e.state)
        .slice(-3),
      ['RebuildSet', 'RebuildAllocated', 'Rebuilt'],
    );
    assert.equal(await s.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w1')), null, 'the task is over');
    // it can be set again later (files lost a second time)
    assert.equal(await s.sectorSetForRebuild(sid, { PiecesAvailable: false }), true);
  } finally {
    h.commit.stop();
  }
});

test('rebuild: an aborted rebuild leaves the sector as it was (not aborted), and it may be set again', async () => {
  const h = makeHarness();
  const s = h.sealer;
  try {
    const sid = await sealOne(h);
    await s.sectorSetForRebuild(sid, { PiecesAvailable: false });
    await s.allocateRebuildSector({ ...SPEC, Worker: W1 }, worker('w1'));
    await s.reportAborted(sid, 'rebuilt comm_r differs from the chain', worker('w1'));
    const r = h.db.getSector(sid)!;
    assert.equal(r.online, false);
    assert.equal(r.state.AbortReason, '', 'the sector itself was sealed and proven');
    assert.equal(r.state.NeedRebuild, false);
    const last = h.db.sectorEvents(sid).at(-1)!;
    assert.equal(last.state, 'RebuildAborted');
    assert.equal(last.failure, 'rebuilt comm_r differs from the chain');
    // the worker hears the sector is over
    const report = {
      Worker: W1,
      StateChange: { Prev: 'PC2Done', Next: 'SealedChecked', Event: 'CheckSealed' },
      Failure: null,
    };
    assert.deepEqual(await s.reportState(sid, report, worker('w1')), { Id: sid, Finalized: true, AbortReason: null });
    assert.equal(await s.sectorSetForRebuild(sid, { PiecesAvailable: false }), true);
  } finally {
    h.commit.stop();
  }
});
