/**
 * A fully verified sector through signed messages on a devnet node (fast policy): a direct (DDO) allocation and a
 * builtin verified deal activated by ProveCommitSectors3, then Window PoSt: the miner's quality-adjusted power is
 * 10× its raw power (builtin-actors qa_power_for_weight), as `status` shows; a missed PoSt takes both away.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  allocationTransferParams,
  commPToCid,
  DatacapMethod,
  type DealProposal,
  encodeAddBalanceParams,
  encodeDealIdPayload,
  encodeDealProposal,
  encodePublishStorageDealsParams,
  generateKey,
  idAddress,
  type Key,
  MarketMethod,
  type Message,
  minerEntropy,
  signWithKey,
} from '../fil/index.js';
import { devnetStatus } from './api-full.js';
import {
  decodeBatchReturn,
  encodePreCommitSectorBatch2Params,
  encodeProveCommitSectors3Params,
  encodeSubmitWindowedPoStParams,
} from './codec.js';
import { marketState } from './market/state.js';
import { findSector, type MinerState, minerDeadlineInfo } from './miner.js';
import { DevnetNode } from './node.js';
import { initialPledgeForPower, makePolicy, preCommitDepositForSector } from './policy.js';
import { minerPower } from './power.js';
import { DST } from './runtime.js';
import { DATACAP_ACTOR, MARKET_ACTOR } from './state.js';
import { applyMessage, createTestMiner, DigestVerifier, SHORT_PERIOD, testSealedCid } from './testkit.js';
import { verifregState } from './verifreg/state.js';

const policy = makePolicy(SHORT_PERIOD);
const FIL = 10n ** 18n;
const verifier = new DigestVerifier();
let dir: string;
let node: DevnetNode;
let owner: Key;
let worker: Key;
let client: Key;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'devnet-deals-life-'));
  [owner, worker, client] = [generateKey('secp256k1'), generateKey('bls'), generateKey('secp256k1')];
  node = DevnetNode.create(
    join(dir, 'chain.db'),
    {
      policy,
      blockTimeMs: 100,
      genesisTimestamp: 1_700_000_000,
      seed: '22'.repeat(32),
      accounts: [owner, worker, client].map((k) => ({ address: k.address.toString(), balance: 1000n * FIL })),
      datacap: [{ address: client.address.toString(), bytes: 2048n }],
    },
    verifier,
  );
});
after(async () => {
  await node.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (key: Key, m: Partial<Message> & Pick<Message, 'to'>) => applyMessage(node, key, m, 200_000_000);

test('a fully verified sector (DDO allocation + builtin verified deal) has 10× QA power once proven', async () => {
  const maddr = await createTestMiner(node, policy, owner, worker, 200_000_000);
  const miner = () => node.minerState(maddr)!.st as MinerState;
  const entropy = minerEntropy(maddr);
  const clientId = node.lookupId(client.address)!;
  const ddoPiece = commPToCid(new Uint8Array(32).fill(1));
  const dealPiece = commPToCid(new Uint8Array(32).fill(2));
  const expiration = node.head.height + 700_000;

  // the client: a direct allocation for the miner, escrow, and a verified builtin deal the worker publishes
  const alloc = await run(client, {
    to: idAddress(DATACAP_ACTOR),
    method: DatacapMethod.TransferExported,
    params: allocationTransferParams([
      {
        provider: maddr.id(),
        data: ddoPiece,
        size: 1024,
        termMin: 600_000,
        termMax: 800_000,
        expiration: node.head.height + 500,
      },
    ]),
  });
  assert.equal(alloc.exitCode, 0, alloc.error);
  for (const [key, who] of [
    [client, client.address],
    [worker, maddr],
  ] as const) {
    const r = await run(key, {
      to: idAddress(MARKET_ACTOR),
      method: MarketMethod.AddBalance,
      value: FIL,
      params: encodeAddBalanceParams(who),
    });
    assert.equal(r.exitCode, 0, r.error);
  }
  const proposal: DealProposal = {
    pieceCid: dealPiece,
    pieceSize: 1024,
    verifiedDeal: true,
    client: client.address,
    provider: maddr,
    label: 'deal',
    startEpoch: node.head.height + 300,
    endEpoch: node.head.height + 300 + 600_000,
    storagePricePerEpoch: 1n,
    providerCollateral: FIL / 100n,
    clientCollateral: 0n,
  };
  const pub = await run(worker, {
    to: idAddress(MARKET_ACTOR),
    method: MarketMethod.PublishStorageDeals,
    params: encodePublishStorageDealsParams([
      { proposal, clientSignature: signWithKey(client, encodeDealProposal(proposal)) },
    ]),
  });
  assert.equal(pub.exitCode, 0, pub.error);
  const dealAlloc = marketState(node.view()).pendingDealAllocationIds[1]!;
  assert.equal(dealAlloc, 2);

  // seal: CommD over both pieces
  const pieces = [
    { cid: ddoPiece.bytes, size: 1024 },
    { cid: dealPiece.bytes, size: 1024 },
  ];
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
        expiration,
        unsealedCid: verifier.unsealedCid(5, pieces),
      },
    ]),
  });
  assert.equal(pre.exitCode, 0, pre.error);
  const seedEpoch = miner().preCommittedSectors[1]!.preCommitEpoch + policy.preCommitChallengeDelay;
  await node.mineUntil(seedEpoch + 1);
  const proof = DigestVerifier.sealProof({
    minerId: maddr.id(),
    sectorNumber: 1,
    ticket: node.randomness().fromTickets(DST.SealRandomness, ticketEpoch, entropy),
    seed: node.randomness().fromBeacon(DST.InteractiveSealChallengeSeed, seedEpoch, entropy),
    sealedCid: testSealedCid(1),
    unsealedCid: verifier.unsealedCid(5, pieces),
  });
  const prove = await run(worker, {
    to: maddr,
    method: 34,
    value: initialPledgeForPower(policy, 20480n),
    params: encodeProveCommitSectors3Params({
      sectorActivations: [
        {
          sectorNumber: 1,
          pieces: [
            { cid: ddoPiece.bytes, size: 1024, verifiedAllocationKey: { client: clientId, id: 1 }, notify: [] },
            {
              cid: dealPiece.bytes,
              size: 1024,
              verifiedAllocationKey: { client: clientId, id: dealAlloc },
              notify: [{ address: idAddress(MARKET_ACTOR), payload: encodeDealIdPayload(1) }],
            },
          ],
        },
      ],
      sectorProofs: [proof],
      aggregateProof: new Uint8Array(0),
      aggregateProofType: null,
      requireActivationSuccess: true,
      requireNotificationSuccess: true,
    }),
  });
  assert.equal(prove.exitCode, 0, prove.error);
  assert.deepEqual(decodeBatchReturn(prove.return), { successCount: 1, failCodes: [] });
  assert.equal(marketState(node.view()).states[1]!.sectorNumber, 1);
  assert.deepEqual(Object.keys(verifregState(node.view()).claims[maddr.id()]!), ['1', '2']);

  // Window PoSt: the sector's power counts, QA = 10 × raw
  const { deadline } = findSector(miner(), 1)!;
  let d = minerDeadlineInfo(policy, miner(), node.head.height);
  let open = d.periodStart + deadline * policy.wpostChallengeWindow;
  if (open <= node.head.height) open += policy.wpostProvingPeriod;
  d = minerDeadlineInfo(policy, miner(), open);
  await node.mineUntil(d.open);
  const rand = node.randomness().fromBeacon(DST.WindowedPoStChallengeSeed, d.challenge, entropy);
  const posted = await run(worker, {
    to: maddr,
    method: 5,
    params: encodeSubmitWindowedPoStParams({
      deadline: d.index,
      partitions: [{ index: 0, skipped: [] }],
      proofs: [
        {
          postProof: 10,
          proofBytes: DigestVerifier.postProof({
            minerId: maddr.id(),
            randomness: rand,
            challengedSectors: [{ sealProof: 5, sectorNumber: 1, sealedCid: testSealedCid(1) }],
          }),
        },
      ],
      chainCommitEpoch: d.challenge,
      chainCommitRand: node.randomness().fromTickets(DST.PoStChainCommit, d.challenge, new Uint8Array(0)),
    }),
  });
  assert.equal(posted.exitCode, 0, posted.error);
  const claim = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: claim.rawBytePower, qa: claim.qualityAdjPower }, { raw: 2048n, qa: 20480n });
  const status = devnetStatus(node).Miners.find((m) => m.Miner === maddr.toString())!;
  assert.equal(status.RawBytePower, '2048');
  assert.equal(status.QualityAdjPower, '20480');

  // a missed deadline takes the QA power away with the raw power
  let next = minerDeadlineInfo(policy, miner(), node.head.height);
  let open2 = next.periodStart + deadline * policy.wpostChallengeWindow;
  if (open2 <= node.head.height) open2 += policy.wpostProvingPeriod;
  next = minerDeadlineInfo(policy, miner(), open2);
  await node.mineUntil(next.close + 1);
  const lost = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: lost.rawBytePower, qa: lost.qualityAdjPower }, { raw: 0n, qa: 0n });
});
