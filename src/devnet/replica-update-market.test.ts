/**
 * ProveReplicaUpdates3 with a builtin market deal: the market is notified, the deal is active in the sector, and
 * unverified data leaves QA power equal to raw.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  commPToCid,
  type DealProposal,
  encodeAddBalanceParams,
  encodeDealIdPayload,
  encodeDealProposal,
  encodeProveReplicaUpdates3Params,
  encodePublishStorageDealsParams,
  idAddress,
  MarketMethod,
  PROVE_REPLICA_UPDATES3_METHOD,
  signWithKey,
} from '../fil/index.js';
import { marketState } from './market/state.js';
import { minerPower } from './power.js';
import { activeMiner, FIL, policy, snapChains } from './replica-update.test-util.js';
import { MARKET_ACTOR } from './state.js';
import { DigestVerifier, testSealedCid } from './testkit.js';

const chains = snapChains();
const { client, worker } = chains;

test('a builtin market deal snapped into a CC sector: the market is notified and the deal is active in it', async () => {
  const verifier = new DigestVerifier();
  const node = chains.newNode('market', verifier);
  const { maddr, miner, run, where, untilMutable } = await activeMiner(chains, node, verifier, [
    { n: 1, sealedCid: testSealedCid(1) },
  ]);
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
  const piece = commPToCid(new Uint8Array(32).fill(9));
  const proposal: DealProposal = {
    pieceCid: piece,
    pieceSize: 2048,
    verifiedDeal: false,
    client: client.address,
    provider: maddr,
    label: 'snap',
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
  const loc = where(1);
  await untilMutable(loc.deadline);
  const pieces = [
    {
      cid: piece.bytes,
      size: 2048,
      verifiedAllocationKey: null,
      notify: [{ address: idAddress(MARKET_ACTOR), payload: encodeDealIdPayload(1) }],
    },
  ];
  const ok = await run(worker, {
    to: maddr,
    method: PROVE_REPLICA_UPDATES3_METHOD,
    params: encodeProveReplicaUpdates3Params({
      sectorUpdates: [
        { sector: 1, deadline: loc.deadline, partition: loc.partition, newSealedCid: testSealedCid(9), pieces },
      ],
      sectorProofs: [
        DigestVerifier.updateProof({
          updateProofType: 0,
          sectorKeyCid: testSealedCid(1),
          newSealedCid: testSealedCid(9),
          newUnsealedCid: verifier.unsealedCid(5, [{ cid: piece.bytes, size: 2048 }]),
        }),
      ],
      aggregateProof: new Uint8Array(0),
      updateProofsType: 0,
      aggregateProofType: null,
      requireActivationSuccess: true,
      requireNotificationSuccess: true,
    }),
  });
  assert.equal(ok.exitCode, 0, ok.error);
  assert.equal(marketState(node.view()).states[1]!.sectorNumber, 1);
  const s = miner().sectors[1]!;
  assert.equal(s.dealWeight, 2048n * BigInt(s.expiration - ok.epoch));
  assert.equal(s.verifiedDealWeight, 0n);
  // unverified data: QA power stays equal to raw
  const claim = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: claim.rawBytePower, qa: claim.qualityAdjPower }, { raw: 2048n, qa: 2048n });
});
