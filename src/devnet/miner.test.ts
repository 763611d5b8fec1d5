import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { blake2b256, concatBytes } from '../fil/index.js';
import { ExitCode } from './exitcode.js';
import {
  activeSectorNumbers,
  changeWorkerAddress,
  confirmChangeWorkerAddress,
  declareFaultsRecovered,
  findSector,
  minerDeadlineInfo,
  preCommitSectorBatch2,
  proveCommitSectors3,
  type SectorPreCommitInfo,
  submitWindowedPoSt,
  withdrawBalance,
} from './miner.js';
import { initialPledgeForPower, makePolicy, preCommitDepositForSector } from './policy.js';
import { minerPower } from './power.js';
import { DST } from './runtime.js';
import {
  ActorHarness,
  DigestVerifier,
  idAddressCbor,
  MINER,
  OTHER,
  OWNER,
  testRandomness,
  testSealedCid,
  testUnsealedCid,
  WORKER,
} from './testkit.js';

const policy = makePolicy();
const entropy = idAddressCbor(MINER);
const PC_EPOCH = 1000;

function pci(n: number, over: Partial<SectorPreCommitInfo> = {}): SectorPreCommitInfo {
  return {
    sealProof: 5, // 2KiB V1_1
    sectorNumber: n,
    sealedCid: testSealedCid(n),
    sealRandEpoch: PC_EPOCH - 900,
    dealIds: [],
    expiration: PC_EPOCH + 700_000,
    unsealedCid: null,
    ...over,
  };
}

function sealProofFor(h: ActorHarness, n: number): Uint8Array {
  const pc = h.miner.preCommittedSectors[n]!;
  return DigestVerifier.sealProof({
    minerId: MINER,
    sectorNumber: n,
    ticket: testRandomness.fromTickets(DST.SealRandomness, pc.info.sealRandEpoch, entropy),
    seed: testRandomness.fromBeacon(DST.InteractiveSealChallengeSeed, pc.preCommitEpoch + 10, entropy),
    sealedCid: pc.info.sealedCid,
    unsealedCid: h.verifier.unsealedCid(5, []),
  });
}

async function precommit(h: ActorHarness, infos: SectorPreCommitInfo[], epoch = PC_EPOCH) {
  return h.call({ caller: WORKER, epoch }, (rt) => preCommitSectorBatch2(rt, { sectors: infos }));
}

async function prove(h: ActorHarness, numbers: number[], epoch: number, proofs?: Uint8Array[], requireAll = false) {
  return h.call({ caller: WORKER, epoch }, (rt) =>
    proveCommitSectors3(rt, {
      sectorActivations: numbers.map((n) => ({ sectorNumber: n, pieces: [] })),
      sectorProofs: proofs ?? numbers.map((n) => sealProofFor(h, n)),
      aggregateProof: new Uint8Array(0),
      aggregateProofType: null,
      requireActivationSuccess: requireAll,
      requireNotificationSuccess: false,
    }),
  );
}

/** Asserts a call failed with `code` and left the state exactly as it was. */
async function rejects(h: ActorHarness, code: number, run: () => Promise<{ exitCode: number; message?: string }>) {
  const before = h.snapshot();
  const r = await run();
  assert.equal(r.exitCode, code, `want exit ${code}, got ${r.exitCode}: ${r.message}`);
  assert.equal(h.snapshot(), before, 'a failed call must change nothing');
  return r;
}

describe('PreCommitSectorBatch2', () => {
  test('allocates numbers, locks deposits and enrolls the deadline cron', async () => {
    const h = new ActorHarness(policy);
    const locked0 = h.miner.lockedFunds;
    const r = await precommit(h, [pci(1), pci(2)]);
    assert.equal(r.exitCode, 0, r.message);
    const m = h.miner;
    assert.deepEqual(m.allocatedSectors, [1, 2]);
    assert.equal(m.preCommitDeposits, 2n * preCommitDepositForSector(policy, 2048));
    assert.equal(m.lockedFunds, locked0);
    assert.equal(m.preCommittedSectors[1]!.preCommitEpoch, PC_EPOCH);
    assert.ok(m.deadlineCronActive);
  });

  test('duplicate sector numbers are rejected with ErrIllegalArgument and change nothing', async () => {
    const h = new ActorHarness(policy);
    await rejects(h, ExitCode.ErrIllegalArgument, () => precommit(h, [pci(7), pci(7)]));
    assert.equal((await precommit(h, [pci(7)])).exitCode, 0);
    const r = await rejects(h, ExitCode.ErrIllegalArgument, () => precommit(h, [pci(8), pci(7)], PC_EPOCH + 1));
    assert.match(r.message!, /already allocated/);
  });

  test('expired or future tickets, bad CIDs, short lifetimes and foreign proof types are illegal arguments', async () => {
    const h = new ActorHarness(policy);
    const ia = ExitCode.ErrIllegalArgument;
    // ticket older than MaxPreCommitRandomnessLookback (3780)
    await rejects(h, ia, () => precommit(h, [pci(1, { sealRandEpoch: PC_EPOCH - 3781 })]));
    assert.equal((await precommit(h, [pci(1, { sealRandEpoch: PC_EPOCH - 3780 })])).exitCode, 0);
    await rejects(h, ia, () => precommit(h, [pci(2, { sealRandEpoch: PC_EPOCH })]));
    await rejects(h, ia, () => precommit(h, [pci(2, { sealedCid: testSealedCid(2).slice(1) })]));
    await rejects(h, ia, () => precommit(h, [pci(2, { expiration: PC_EPOCH + 500_000 })]));
    await rejects(h, ia, () => precommit(h, [pci(2, { sealProof: 8 })])); // 32GiB is not a 2k network size
    await rejects(h, ia, () => precommit(h, [pci(2, { sealProof: 6 })])); // 8MiB: allowed, but not this miner's PoSt type
    await rejects(h, ia, () => precommit(h, []));
  });

  test('only the owner, worker or a control address may pre-commit', async () => {
    const h = new ActorHarness(policy);
    await rejects(h, ExitCode.ErrForbidden, () =>
      h.call({ caller: OTHER, epoch: PC_EPOCH }, (rt) => preCommitSectorBatch2(rt, { sectors: [pci(1)] })),
    );
  });

  test('a deposit beyond the available balance is ErrInsufficientFunds', async () => {
    const deposit = preCommitDepositForSector(policy, 2048);
    const h = new ActorHarness(policy, 0, deposit);
    await rejects(h, ExitCode.ErrInsufficientFunds, () => precommit(h, [pci(1), pci(2)]));
    assert.equal((await precommit(h, [pci(1)])).exitCode, 0);
  });
});

describe('ProveCommitSectors3', () => {
  test('the seed must be reached: proving at or before PreCommitEpoch + PreCommitChallengeDelay is forbidden', async () => {
    const h = new ActorHarness(policy);
    await precommit(h, [pci(1)]);
    await rejects(h, ExitCode.ErrForbidden, () => prove(h, [1], PC_EPOCH + 10));
    assert.equal((await prove(h, [1], PC_EPOCH + 11)).exitCode, 0);
  });

  test('a wrong proof is rejected (all sectors invalid) and changes nothing', async () => {
    const h = new ActorHarness(policy);
    await precommit(h, [pci(1)]);
    const bad = sealProofFor(h, 1);
    bad[0]! ^= 1;
    await rejects(h, ExitCode.ErrIllegalArgument, () => prove(h, [1], PC_EPOCH + 20, [bad]));
    await rejects(h, ExitCode.ErrIllegalArgument, () => prove(h, [1], PC_EPOCH + 20, [bad], true));
    // a proof for another sector's inputs is wrong too
    await precommit(h, [pci(2)], PC_EPOCH + 1);
    await rejects(h, ExitCode.ErrIllegalArgument, () => prove(h, [1], PC_EPOCH + 20, [sealProofFor(h, 2)]));
  });

  test('in a batch, invalid proofs fail only their sector unless activation success is required', async () => {
    const h = new ActorHarness(policy);
    await precommit(h, [pci(1), pci(2)]);
    const bad = new Uint8Array(32);
    const r = await prove(h, [1, 2], PC_EPOCH + 20, [sealProofFor(h, 1), bad]);
    assert.equal(r.exitCode, 0, r.message);
    assert.deepEqual(r.ret, { successCount: 1, failCodes: [{ idx: 1, code: ExitCode.ErrIllegalArgument }] });
    assert.ok(h.miner.sectors[1]);
    assert.ok(h.miner.preCommittedSectors[2]);
  });

  test('unknown pre-commit is ErrNotFound; too late is an illegal argument', async () => {
    const h = new ActorHarness(policy);
    await rejects(h, ExitCode.ErrNotFound, () => prove(h, [9], PC_EPOCH + 20, [new Uint8Array(32)]));
    await precommit(h, [pci(1)]);
    const tooLate = PC_EPOCH + 30 * 2880 + 10 + 1;
    await rejects(h, ExitCode.ErrIllegalArgument, () => prove(h, [1], tooLate));
  });

  test('activation releases the deposit, locks the pledge, and fails cleanly when the pledge is not covered', async () => {
    const deposit = preCommitDepositForSector(policy, 2048);
    const pledge = initialPledgeForPower(policy, 2048n);
    const poor = new ActorHarness(policy, 0, deposit);
    await precommit(poor, [pci(1)]);
    await rejects(poor, ExitCode.ErrInsufficientFunds, () => prove(poor, [1], PC_EPOCH + 11));

    const h = new ActorHarness(policy);
    await precommit(h, [pci(1)]);
    assert.equal((await prove(h, [1], PC_EPOCH + 11)).exitCode, 0);
    assert.equal(h.miner.preCommitDeposits, 0n);
    assert.equal(h.miner.initialPledge, pledge);
    assert.equal(h.miner.sectors[1]!.activation, PC_EPOCH + 11);
    // power is not active until the first Window PoSt
    assert.equal(minerPower(h.root, policy, MINER).claim!.rawBytePower, 0n);
  });
});

describe('ProveCommitSectors3: pieces and aggregation', () => {
  test('the pieces of the activation manifest must give the pre-committed CommD', async () => {
    const h = new ActorHarness(policy);
    const piece = { cid: testUnsealedCid(new Uint8Array([1])), size: 2048 };
    const commD = h.verifier.unsealedCid(5, [piece]);
    await precommit(h, [pci(1, { unsealedCid: commD })]);
    const proof = DigestVerifier.sealProof({
      minerId: MINER,
      sectorNumber: 1,
      ticket: testRandomness.fromTickets(DST.SealRandomness, PC_EPOCH - 900, entropy),
      seed: testRandomness.fromBeacon(DST.InteractiveSealChallengeSeed, PC_EPOCH + 10, entropy),
      sealedCid: testSealedCid(1),
      unsealedCid: commD,
    });
    const withPieces = (pieces: { cid: Uint8Array; size: number }[]) =>
      h.call({ caller: WORKER, epoch: PC_EPOCH + 20 }, (rt) =>
        proveCommitSectors3(rt, {
          sectorActivations: [
            { sectorNumber: 1, pieces: pieces.map((p) => ({ ...p, verifiedAllocationKey: null, notify: [] })) },
          ],
          sectorProofs: [proof],
          aggregateProof: new Uint8Array(0),
          aggregateProofType: null,
          requireActivationSuccess: false,
          requireNotificationSuccess: false,
        }),
      );
    const r = await rejects(h, ExitCode.ErrIllegalArgument, () => withPieces([]));
    assert.match(r.message!, /unsealed CID does not match pieces/);
    await rejects(h, ExitCode.ErrIllegalArgument, () =>
      withPieces([{ ...piece, cid: testUnsealedCid(new Uint8Array([2])) }]),
    );
    assert.equal((await withPieces([piece])).exitCode, 0);
  });

  test('an aggregate proof covers 4..819 sectors and fails as a whole', async () => {
    const h = new ActorHarness(policy);
    const nums = [1, 2, 3, 4];
    await precommit(
      h,
      nums.map((n) => pci(n)),
    );
    const agg = (proofs: Uint8Array[], n = nums, type: number | null = 1) =>
      h.call({ caller: WORKER, epoch: PC_EPOCH + 20 }, (rt) =>
        proveCommitSectors3(rt, {
          sectorActivations: n.map((sectorNumber) => ({ sectorNumber, pieces: [] })),
          sectorProofs: [],
          aggregateProof: blake2b256(concatBytes(...proofs)),
          aggregateProofType: type,
          requireActivationSuccess: false,
          requireNotificationSuccess: false,
        }),
      );
    const proofs = nums.map((n) => sealProofFor(h, n));
    await rejects(h, ExitCode.ErrIllegalArgument, () => agg(proofs.slice(0, 3), [1, 2, 3])); // too few
    await rejects(h, ExitCode.ErrIllegalArgument, () => agg(proofs, nums, 0)); // SnarkPackV1
    await rejects(h, ExitCode.ErrIllegalArgument, () => agg([proofs[1]!, proofs[0]!, proofs[2]!, proofs[3]!]));
    const r = await agg(proofs);
    assert.equal(r.exitCode, 0, r.message);
    assert.deepEqual(r.ret, { successCount: 4, failCodes: [] });
    assert.deepEqual(Object.keys(h.miner.sectors).map(Number), nums);
  });
});

describe('deadlines and partitions', () => {
  test('new sectors fill partitions of WindowPoStPartitionSectors, then the next mutable deadline', async () => {
    const h = new ActorHarness(policy);
    const nums = [1, 2, 3, 4, 5, 6, 7];
    await precommit(
      h,
      nums.map((n) => pci(n)),
    );
    const at = PC_EPOCH + 20;
    const cur = minerDeadlineInfo(policy, h.miner, at).index;
    assert.equal((await prove(h, nums, at)).exitCode, 0);
    // every deadline starts empty: the lowest-index mutable deadlines (not the current or the next) get
    // two sectors each (2KiB partitions hold 2), the last gets the odd one
    const mutable = [...Array(48).keys()].filter((d) => d !== cur && d !== (cur + 1) % 48);
    const expect = [0, 0, 1, 1, 2, 2, 3].map((i) => mutable[i]!);
    assert.deepEqual(
      nums.map((n) => findSector(h.miner, n)),
      expect.map((d) => ({ deadline: d, partition: 0 })),
    );
    const dl = h.miner.deadlines[mutable[0]!]!;
    assert.deepEqual(dl.partitions[0]!.unproven, [1, 2]);
    assert.equal(dl.liveSectors, 2);
    // a later sector fills deadline mutable[3]'s open partition before anything else
    await precommit(h, [pci(8)], at + 1);
    assert.equal((await prove(h, [8], at + 20)).exitCode, 0);
    assert.deepEqual(findSector(h.miner, 8), { deadline: mutable[3]!, partition: 0 });
  });
});

describe('Window PoSt and the deadline cron', () => {
  /** Sectors 1,2 in deadline A and 3,4 in deadline B, proven at PC_EPOCH+20; returns the deadline indexes. */
  async function setup() {
    const h = new ActorHarness(policy);
    await precommit(h, [pci(1), pci(2), pci(3), pci(4)]);
    const at = PC_EPOCH + 20;
    assert.equal((await prove(h, [1, 2, 3, 4], at)).exitCode, 0);
    const a = findSector(h.miner, 1)!.deadline;
    const b = findSector(h.miner, 3)!.deadline;
    assert.notEqual(a, b);
    return { h, a, b, at };
  }

  /** The next opening of deadline `idx` after `from`, as DeadlineInfo. */
  function nextOpen(h: ActorHarness, idx: number, from: number) {
    const cur = minerDeadlineInfo(policy, h.miner, from);
    let open = cur.periodStart + idx * 60;
    if (open <= from) open += policy.wpostProvingPeriod;
    return { open, close: open + 60, challenge: open - 20, faultCutoff: open - 70 };
  }

  function postParams(h: ActorHarness, dlIdx: number, challenge: number, sectors: number[], skipped: number[] = []) {
    const sealed = (n: number) => h.miner.sectors[n]!.sealedCid;
    const good = sectors.find((n) => !skipped.includes(n))!;
    const proof = DigestVerifier.postProof({
      minerId: MINER,
      randomness: testRandomness.fromBeacon(DST.WindowedPoStChallengeSeed, challenge, entropy),
      challengedSectors: sectors.map((n) => {
        const s = skipped.includes(n) ? good : n;
        return { sealProof: 5, sectorNumber: s, sealedCid: sealed(s) };
      }),
    });
    return {
      deadline: dlIdx,
      partitions: [{ index: 0, skipped }],
      proofs: [{ postProof: 10, proofBytes: proof }],
      chainCommitEpoch: challenge,
      chainCommitRand: testRandomness.fromTickets(DST.PoStChainCommit, challenge, new Uint8Array(0)),
    };
  }

  const post = (h: ActorHarness, epoch: number, params: ReturnType<typeof postParams>) =>
    h.call({ caller: WORKER, epoch }, (rt) => submitWindowedPoSt(rt, params));

  test('a PoSt in the open deadline activates power; closed deadlines, foreign skips, bad randomness and bad proofs are rejected', async () => {
    const { h, a, at } = await setup();
    const w = nextOpen(h, a, at);
    await h.cron(at, w.open + 5);
    const good = postParams(h, a, w.challenge, [1, 2]);
    // not this deadline
    await rejects(h, ExitCode.ErrIllegalArgument, () => post(h, w.open + 5, { ...good, deadline: (a + 1) % 48 }));
    // skipped sectors must be in the partition
    await rejects(h, ExitCode.ErrIllegalArgument, () =>
      post(h, w.open + 5, postParams(h, a, w.challenge, [1, 2], [3])),
    );
    // chain commit randomness from another epoch
    await rejects(h, ExitCode.ErrIllegalArgument, () =>
      post(h, w.open + 5, { ...good, chainCommitRand: postParams(h, a, w.challenge + 1, [1, 2]).chainCommitRand }),
    );
    // chain commit epoch before the challenge
    await rejects(h, ExitCode.ErrIllegalArgument, () => post(h, w.open + 5, postParams(h, a, w.challenge - 1, [1, 2])));
    // a proof over the wrong randomness
    const wrong = postParams(h, a, w.challenge, [1, 2]);
    wrong.proofs[0]!.proofBytes = postParams(h, a, w.challenge + 1, [1, 2]).proofs[0]!.proofBytes;
    await rejects(h, ExitCode.ErrIllegalArgument, () => post(h, w.open + 5, wrong));
    // wrong PoSt proof type
    await rejects(h, ExitCode.ErrIllegalArgument, () =>
      post(h, w.open + 5, { ...good, proofs: [{ postProof: 5, proofBytes: good.proofs[0]!.proofBytes }] }),
    );

    const r = await post(h, w.open + 5, good);
    assert.equal(r.exitCode, 0, r.message);
    assert.equal(minerPower(h.root, policy, MINER).claim!.rawBytePower, 4096n);
    assert.deepEqual(activeSectorNumbers(h.miner), [1, 2]);
    // a second PoSt for the same partition in the same window
    await rejects(h, ExitCode.ErrIllegalArgument, () => post(h, w.open + 6, good));
    // the deadline has closed: PoSt for it is no longer accepted
    await h.cron(w.open + 6, w.close + 1);
    await rejects(h, ExitCode.ErrIllegalArgument, () => post(h, w.close + 1, good));
  });

  test('a partition that misses its deadline becomes faulty; a declared recovery proven at the next deadline restores power', async () => {
    const { h, a, b, at } = await setup();
    const wa = nextOpen(h, a, at);
    await h.cron(at, wa.open + 1);
    assert.equal((await post(h, wa.open + 1, postParams(h, a, wa.challenge, [1, 2]))).exitCode, 0);
    // deadline B passes with no PoSt
    const wb = nextOpen(h, b, wa.open + 1);
    await h.cron(wa.open + 1, wb.close + 1);
    const partB = h.miner.deadlines[b]!.partitions[0]!;
    assert.deepEqual(partB.faults, [3, 4]);
    assert.deepEqual(partB.unproven, []);
    assert.equal(minerPower(h.root, policy, MINER).claim!.rawBytePower, 4096n); // never-proven sectors had no power

    // deadline A missed next period: its power is lost
    const wa2 = nextOpen(h, a, wb.close + 1);
    await h.cron(wb.close + 1, wa2.close + 1);
    assert.equal(minerPower(h.root, policy, MINER).claim!.rawBytePower, 0n);
    assert.deepEqual(h.miner.deadlines[a]!.partitions[0]!.faults, [1, 2]);

    // recover B: the declaration must come before B's fault cutoff
    const wb2 = nextOpen(h, b, wa2.close + 1);
    await h.cron(wa2.close + 1, wb2.faultCutoff - 1);
    const decl = [{ deadline: b, partition: 0, sectors: [3, 4] }];
    await rejects(h, ExitCode.ErrIllegalArgument, () =>
      h.call({ caller: WORKER, epoch: wb2.faultCutoff - 1 }, (rt) =>
        declareFaultsRecovered(rt, [{ deadline: b, partition: 0, sectors: [3, 5] }]),
      ),
    );
    const late = await h.call({ caller: WORKER, epoch: wb2.faultCutoff }, (rt) => declareFaultsRecovered(rt, decl));
    assert.equal(late.exitCode, ExitCode.ErrIllegalArgument);
    const r = await h.call({ caller: WORKER, epoch: wb2.faultCutoff - 1 }, (rt) => declareFaultsRecovered(rt, decl));
    assert.equal(r.exitCode, 0, r.message);
    assert.deepEqual(h.miner.deadlines[b]!.partitions[0]!.recoveries, [3, 4]);
    await h.cron(wb2.faultCutoff - 1, wb2.open + 2);
    // skipping sector 4 keeps it faulty; sector 3 recovers
    const rr = await post(h, wb2.open + 2, postParams(h, b, wb2.challenge, [3, 4], [4]));
    assert.equal(rr.exitCode, 0, rr.message);
    const part = h.miner.deadlines[b]!.partitions[0]!;
    assert.deepEqual(part.faults, [4]);
    assert.deepEqual(part.recoveries, []);
    assert.equal(minerPower(h.root, policy, MINER).claim!.rawBytePower, 2048n);
  });

  test('an unproven pre-commit past its clean-up epoch loses its deposit', async () => {
    const h = new ActorHarness(policy);
    await precommit(h, [pci(1)]);
    const burnt0 = h.balance(99);
    const cleanUp = PC_EPOCH + 30 * 2880 + 10 + 960;
    // clean-ups are quantized up to a deadline boundary and run at that deadline's end
    await h.cron(PC_EPOCH, cleanUp + 120);
    assert.equal(h.miner.preCommittedSectors[1], undefined);
    assert.equal(h.miner.preCommitDeposits, 0n);
    assert.equal(h.balance(99) - burnt0, preCommitDepositForSector(policy, 2048));
    // the number stays allocated
    assert.deepEqual(h.miner.allocatedSectors, [1]);
  });
});

describe('owner and worker operations', () => {
  test('WithdrawBalance pays the owner at most the available balance; others are forbidden', async () => {
    const h = new ActorHarness(policy, 0, 1000n);
    await rejects(h, ExitCode.ErrForbidden, () =>
      h.call({ caller: WORKER, epoch: 10 }, (rt) => withdrawBalance(rt, 1n)),
    );
    await rejects(h, ExitCode.ErrIllegalArgument, () =>
      h.call({ caller: OWNER, epoch: 10 }, (rt) => withdrawBalance(rt, -1n)),
    );
    const owner0 = h.balance(OWNER);
    const r = await h.call({ caller: OWNER, epoch: 10 }, (rt) => withdrawBalance(rt, 10n ** 30n));
    assert.equal(r.exitCode, 0);
    assert.equal(r.ret, 1000n);
    assert.equal(h.balance(OWNER) - owner0, 1000n);
    // the create-miner deposit stays locked
    assert.equal(h.balance(MINER), h.miner.lockedFunds);
  });

  test('ChangeWorkerAddress: owner only, effective after WorkerKeyChangeDelay', async () => {
    const h = new ActorHarness(policy);
    await rejects(h, ExitCode.ErrForbidden, () =>
      h.call({ caller: WORKER, epoch: 10 }, (rt) =>
        changeWorkerAddress(rt, { newWorker: OTHER, newControlAddresses: [] }),
      ),
    );
    const r = await h.call({ caller: OWNER, epoch: 10 }, (rt) =>
      changeWorkerAddress(rt, { newWorker: OTHER, newControlAddresses: [WORKER] }),
    );
    assert.equal(r.exitCode, 0);
    assert.deepEqual(h.miner.info.pendingWorkerKey, { newWorker: OTHER, effectiveAt: 910 });
    assert.deepEqual(h.miner.info.controlAddresses, [WORKER]);
    await h.call({ caller: OWNER, epoch: 909 }, (rt) => confirmChangeWorkerAddress(rt));
    assert.equal(h.miner.info.worker, WORKER);
    await h.call({ caller: OWNER, epoch: 910 }, (rt) => confirmChangeWorkerAddress(rt));
    assert.equal(h.miner.info.worker, OTHER);
    assert.equal(h.miner.info.pendingWorkerKey, null);
  });
});
