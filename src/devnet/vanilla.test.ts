/**
 * Real proofs on the devnet: a 2KiB sector sealed by the proofs module with the chain's ticket, C1 with the
 * chain's seed, C2 by the vanilla prover (vanilla seal proof bytes) as ProveCommitSectors3's proof; then a
 * Window PoSt of vanilla proofs (vanilla PoSt bytes) over the chain's challenge randomness. Both verified in
 * full by the devnet. (The earlier JSON formats are checked in src/proofs/prover/check.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  blake2b256,
  commRToCid,
  generateKey,
  type Key,
  keyFromPrivate,
  type Message,
  minerEntropy,
  randomnessToFr32,
} from '../fil/index.js';
import { sealProof } from '../proofs/index.js';
import { sealCommitPhase1 } from '../proofs/porep/c1.js';
import { sealFixture } from '../proofs/porep/fixture.js';
import { postRandomness } from '../proofs/post/challenges.js';
import { generateWindowPoStVanilla, postProofInfo } from '../proofs/post/vanilla.js';
import { encodePoStProof, VanillaSealProver } from '../proofs/prover/index.js';
import { proverIdFromActorId } from '../proofs/sdr/index.js';
import {
  decodeBatchReturn,
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
import { applyMessage, createTestMiner, SHORT_PERIOD, testNode } from './testkit.js';
import { VanillaBackend } from './vanilla.js';
import { ProofsVerifier } from './verifier.js';

const policy = makePolicy(SHORT_PERIOD);
let dir: string;
let node: DevnetNode;
let owner: Key;
let worker: Key;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'devnet-vanilla-'));
  owner = keyFromPrivate('secp256k1', blake2b256(new TextEncoder().encode('owner')));
  worker = generateKey('bls');
  node = testNode(dir, {
    policy,
    seed: '22',
    keys: [owner, worker],
    verifier: new ProofsVerifier(new VanillaBackend()),
  });
});
after(async () => {
  await node.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (key: Key, m: Partial<Message> & Pick<Message, 'to'>) => applyMessage(node, key, m);

test('a sealed 2KiB sector is proven with its vanilla seal proof and its Window PoSt; proofs over other randomness are refused', async () => {
  const maddr = await createTestMiner(node, policy, owner, worker);
  const entropy = minerEntropy(maddr);
  const proof = sealProof('StackedDrg2KiBV1_1');

  // ticket from the chain, seal a committed-capacity sector (all zeros, so CommD is the empty CommD)
  const ticketEpoch = node.head.height - 1;
  const ticket = randomnessToFr32(node.randomness().fromTickets(DST.SealRandomness, ticketEpoch, entropy));
  const sector = await sealFixture({
    proof,
    dir: join(dir, 's1'),
    parentDir: join(dir, 'parents'),
    data: new Uint8Array(2048),
    proverId: proverIdFromActorId(maddr.id()),
    sectorId: 1n,
    ticket,
  });
  const pre = await run(worker, {
    to: maddr,
    method: 28,
    value: preCommitDepositForSector(policy, 2048),
    params: encodePreCommitSectorBatch2Params([
      {
        sealProof: proof.id,
        sectorNumber: 1,
        sealedCid: commRToCid(sector.commR).bytes,
        sealRandEpoch: ticketEpoch,
        dealIds: [],
        expiration: node.head.height + 700_000,
        unsealedCid: null,
      },
    ]),
  });
  assert.equal(pre.exitCode, 0, pre.error);
  const pc = (node.minerState(maddr)!.st as MinerState).preCommittedSectors[1]!;
  const seedEpoch = pc.preCommitEpoch + policy.preCommitChallengeDelay;
  await node.mineUntil(seedEpoch + 1);
  const seed = randomnessToFr32(node.randomness().fromBeacon(DST.InteractiveSealChallengeSeed, seedEpoch, entropy));

  const c1 = (s: Uint8Array) =>
    sealCommitPhase1({
      proof,
      cacheDir: sector.cacheDir,
      sealedPath: sector.sealedPath,
      proverId: sector.proverId,
      sectorId: 1n,
      ticket,
      seed: s,
      commD: sector.commD,
      commR: sector.commR,
    });
  const prove = (bytes: Uint8Array) =>
    run(worker, {
      to: maddr,
      method: 34,
      value: initialPledgeForPower(policy, 2048n),
      params: encodeProveCommitSectors3Params({
        sectorActivations: [{ sectorNumber: 1, pieces: [] }],
        sectorProofs: [bytes],
        aggregateProof: new Uint8Array(0),
        aggregateProofType: null,
        requireActivationSuccess: true,
        requireNotificationSuccess: false,
      }),
    });

  const c2 = async (s: Uint8Array) =>
    new VanillaSealProver().sealCommitPhase2({ c1: await c1(s), minerId: BigInt(maddr.id()), sectorId: 1n });
  const otherSeed = new Uint8Array(32).fill(5);
  const wrong = await prove(await c2(otherSeed));
  assert.equal(wrong.exitCode, ExitCode.ErrIllegalArgument, wrong.error);
  assert.equal(
    await prove(new TextEncoder().encode('{"not":"a proof"}')).then((r) => r.exitCode),
    ExitCode.ErrIllegalArgument,
  );

  const good = await prove(await c2(seed));
  assert.equal(good.exitCode, 0, good.error);
  assert.deepEqual(decodeBatchReturn(good.return), { successCount: 1, failCodes: [] });
  const miner = () => node.minerState(maddr)!.st as MinerState;
  assert.ok(miner().sectors[1]);

  // Window PoSt in the sector's deadline, with vanilla proofs
  const { deadline } = findSector(miner(), 1)!;
  let dl = minerDeadlineInfo(policy, miner(), node.head.height);
  let open = dl.periodStart + deadline * policy.wpostChallengeWindow;
  if (open <= node.head.height) open += policy.wpostProvingPeriod;
  dl = minerDeadlineInfo(policy, miner(), open);
  await node.mineUntil(dl.open);
  const vanilla = async (rand: Uint8Array) => {
    const r = await generateWindowPoStVanilla({
      proof: 10,
      randomness: postRandomness(rand),
      proverId: sector.proverId,
      replicas: [{ sectorId: 1n, commR: sector.commR, cacheDir: sector.cacheDir, sealedPath: sector.sealedPath }],
    });
    assert.deepEqual(r.faults, []);
    return encodePoStProof(postProofInfo(10), r.proofs);
  };
  const post = (proofBytes: Uint8Array) =>
    run(worker, {
      to: maddr,
      method: 5,
      params: encodeSubmitWindowedPoStParams({
        deadline: dl.index,
        partitions: [{ index: 0, skipped: [] }],
        proofs: [{ postProof: 10, proofBytes }],
        chainCommitEpoch: dl.challenge,
        chainCommitRand: node.randomness().fromTickets(DST.PoStChainCommit, dl.challenge, new Uint8Array(0)),
      }),
    });
  const challenge = node.randomness().fromBeacon(DST.WindowedPoStChallengeSeed, dl.challenge, entropy);
  const otherRand = node.randomness().fromBeacon(DST.WindowedPoStChallengeSeed, dl.challenge - 1, entropy);
  const bad = await post(await vanilla(otherRand));
  assert.equal(bad.exitCode, ExitCode.ErrIllegalArgument, bad.error);
  const ok = await post(await vanilla(challenge));
  assert.equal(ok.exitCode, 0, ok.error);
  assert.equal(minerPower(node.view(), policy, maddr.id()).claim!.rawBytePower, 2048n);
});
