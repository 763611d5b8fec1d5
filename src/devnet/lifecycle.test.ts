/**
 * A sector's life through signed messages on the devnet node (fast policy: 4 deadlines of 20 epochs):
 * CreateMiner, PreCommitSectorBatch2, ProveCommitSectors3, SubmitWindowedPoSt, a missed deadline, recovery.
 * Tickets, seeds and PoSt challenges come from the node's own chain randomness.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  blake2b256,
  generateKey,
  idAddress,
  type Key,
  keyFromPrivate,
  type Message,
  minerEntropy,
} from '../fil/index.js';
import {
  decodeBatchReturn,
  encodeDeclarations,
  encodePreCommitSectorBatch2Params,
  encodeProveCommitSectors3Params,
  encodeSubmitWindowedPoStParams,
} from './codec.js';
import { ExitCode } from './exitcode.js';
import { findSector, type MinerState, minerDeadlineInfo } from './miner.js';
import type { DevnetNode } from './node.js';
import { initialPledgeForPower, makePolicy, preCommitDepositForSector } from './policy.js';
import { minerPower } from './power.js';
import { DST } from './runtime.js';
import { applyMessage, createTestMiner, DigestVerifier, SHORT_PERIOD, testNode, testSealedCid } from './testkit.js';

const policy = makePolicy(SHORT_PERIOD);

let dir: string;
let node: DevnetNode;
let owner: Key;
let worker: Key;
let maddr = idAddress(0);
const verifier = new DigestVerifier();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'devnet-life-'));
  owner = keyFromPrivate('secp256k1', blake2b256(new TextEncoder().encode('owner')));
  worker = generateKey('bls');
  node = testNode(dir, { policy, seed: '11', keys: [owner, worker], verifier });
});
after(async () => {
  await node.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (key: Key, m: Partial<Message> & Pick<Message, 'to'>) => applyMessage(node, key, m, 200_000_000);

const miner = () => node.minerState(maddr)!.st as MinerState;

test('a sector goes from pre-commit to power, misses a deadline, and recovers', async () => {
  maddr = await createTestMiner(node, policy, owner, worker, 200_000_000);
  const entropy = minerEntropy(maddr);

  // pre-commit sector 1 (ticket one epoch back)
  const ticketEpoch = node.head.height - 1;
  const pre = await run(worker, {
    to: maddr,
    method: 28,
    value: preCommitDepositForSector(policy, 2048),
    params: encodePreCommitSectorBatch2Params([
      {
        sealProof: 5,
        sectorNumber: 1,
        sealedCid: testSealedCid(1),
        sealRandEpoch: ticketEpoch,
        dealIds: [],
        expiration: node.head.height + 700_000,
        unsealedCid: null,
      },
    ]),
  });
  assert.equal(pre.exitCode, 0, pre.error);
  const pc = miner().preCommittedSectors[1]!;
  assert.equal(pc.preCommitEpoch, pre.epoch);
  const seedEpoch = pc.preCommitEpoch + policy.preCommitChallengeDelay;

  const proveParams = (proof: Uint8Array) =>
    encodeProveCommitSectors3Params({
      sectorActivations: [{ sectorNumber: 1, pieces: [] }],
      sectorProofs: [proof],
      aggregateProof: new Uint8Array(0),
      aggregateProofType: null,
      requireActivationSuccess: true,
      requireNotificationSuccess: false,
    });
  const proofAt = () =>
    DigestVerifier.sealProof({
      minerId: maddr.id(),
      sectorNumber: 1,
      ticket: node.randomness().fromTickets(DST.SealRandomness, ticketEpoch, entropy),
      seed: node.randomness().fromBeacon(DST.InteractiveSealChallengeSeed, seedEpoch, entropy),
      sealedCid: testSealedCid(1),
      unsealedCid: verifier.unsealedCid(5, []),
    });

  // too early: the message executes before the seed epoch has passed
  assert.ok(node.head.height < seedEpoch);
  const early = await run(worker, { to: maddr, method: 34, params: proveParams(new Uint8Array(32)) });
  assert.equal(early.exitCode, ExitCode.ErrForbidden, early.error);

  await node.mineUntil(seedEpoch + 1);
  const bad = await run(worker, { to: maddr, method: 34, params: proveParams(new Uint8Array(32)) });
  assert.equal(bad.exitCode, ExitCode.ErrIllegalArgument);
  const good = await run(worker, {
    to: maddr,
    method: 34,
    value: initialPledgeForPower(policy, 2048n),
    params: proveParams(proofAt()),
  });
  assert.equal(good.exitCode, 0, good.error);
  assert.deepEqual(decodeBatchReturn(good.return), { successCount: 1, failCodes: [] });

  // Window PoSt in the sector's deadline
  const { deadline } = findSector(miner(), 1)!;
  const postAt = (dl: number) => {
    let d = minerDeadlineInfo(policy, miner(), node.head.height);
    let open = d.periodStart + dl * policy.wpostChallengeWindow;
    if (open <= node.head.height) open += policy.wpostProvingPeriod;
    d = minerDeadlineInfo(policy, miner(), open);
    return d;
  };
  const post = (dl: ReturnType<typeof postAt>, skipped: number[] = []) => {
    const rand = node.randomness().fromBeacon(DST.WindowedPoStChallengeSeed, dl.challenge, entropy);
    const sealed = miner().sectors[1]!.sealedCid;
    return encodeSubmitWindowedPoStParams({
      deadline: dl.index,
      partitions: [{ index: 0, skipped }],
      proofs: [
        {
          postProof: 10,
          proofBytes: DigestVerifier.postProof({
            minerId: maddr.id(),
            randomness: rand,
            challengedSectors: [{ sealProof: 5, sectorNumber: 1, sealedCid: sealed }],
          }),
        },
      ],
      chainCommitEpoch: dl.challenge,
      chainCommitRand: node.randomness().fromTickets(DST.PoStChainCommit, dl.challenge, new Uint8Array(0)),
    });
  };
  const w1 = postAt(deadline);
  await node.mineUntil(w1.open);
  const posted = await run(worker, { to: maddr, method: 5, params: post(w1) });
  assert.equal(posted.exitCode, 0, posted.error);
  assert.equal(minerPower(node.view(), policy, maddr.id()).claim!.rawBytePower, 2048n);

  // the next occurrence of the deadline passes without a PoSt: the sector is faulty, power gone
  const w2 = postAt(deadline);
  await node.mineUntil(w2.close + 1);
  assert.deepEqual(miner().deadlines[deadline]!.partitions[0]!.faults, [1]);
  assert.equal(minerPower(node.view(), policy, maddr.id()).claim!.rawBytePower, 0n);

  // declare the recovery before the next fault cutoff, then prove it
  const w3 = postAt(deadline);
  assert.ok(node.head.height + 2 < w3.faultCutoff, 'room to declare before the cutoff');
  const rec = await run(worker, {
    to: maddr,
    method: 11,
    params: encodeDeclarations([{ deadline, partition: 0, sectors: [1] }]),
  });
  assert.equal(rec.exitCode, 0, rec.error);
  await node.mineUntil(w3.open);
  const again = await run(worker, { to: maddr, method: 5, params: post(w3) });
  assert.equal(again.exitCode, 0, again.error);
  assert.equal(minerPower(node.view(), policy, maddr.id()).claim!.rawBytePower, 2048n);
  assert.deepEqual(miner().deadlines[deadline]!.partitions[0]!.faults, []);
});
