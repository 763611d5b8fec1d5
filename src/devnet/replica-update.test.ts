/**
 * ProveReplicaUpdates3 (SnapDeals) through signed messages on a devnet node: an active CC sector takes a verified
 * DDO allocation's piece; the chain checks the update proof against the old CommR (the sector key), the new CommR
 * and the CommD it computes from the pieces, claims the allocation, and the sector's SealedCID, SectorKeyCID and
 * power change (QA 10× raw for a fully verified sector). Window PoSt from then on is over the new CommR. Each
 * refusal is checked for its reason, with the state unchanged.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type Address,
  commPToCid,
  decodeProveReplicaUpdates3Return,
  encodeProveReplicaUpdates3Params,
  PROVE_REPLICA_UPDATES3_METHOD,
  type ProveReplicaUpdates3Params,
  type SectorUpdateManifest,
} from '../fil/index.js';
import { devnetStatus, sectorJson } from './api-full.js';
import { encodeDeclarations } from './codec.js';
import { minerDeadlineInfo } from './miner.js';
import { initialPledgeForPower } from './policy.js';
import { minerPower } from './power.js';
import { activeMiner, policy, snapChains } from './replica-update.test-util.js';
import { DigestVerifier, testSealedCid } from './testkit.js';
import { AcceptingVerifier, ProofsVerifier, whyReplicaUpdateFails } from './verifier.js';
import { verifregState } from './verifreg/state.js';

const chains = snapChains();
const { client, worker } = chains;

test('a CC sector updated with a verified DDO piece: new SealedCID, SectorKeyCID, claim, QA 10× raw; refusals', async () => {
  const verifier = new DigestVerifier();
  const node = chains.newNode('digest', verifier);
  // sectors 1 and 2 committed capacity, sector 3 with an (unverified) piece
  const dataPiece = { cid: commPToCid(new Uint8Array(32).fill(3)).bytes, size: 2048 };
  const { maddr, miner, expiration, run, postDeadline, where, untilMutable, allocate } = await activeMiner(
    chains,
    node,
    verifier,
    [
      { n: 1, sealedCid: testSealedCid(1) },
      { n: 2, sealedCid: testSealedCid(2) },
      { n: 3, sealedCid: testSealedCid(3), pieces: [dataPiece] },
    ],
  );
  const clientId = node.lookupId(client.address)!;
  const rawBefore = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: rawBefore.rawBytePower, qa: rawBefore.qualityAdjPower }, { raw: 6144n, qa: 6144n });

  // the client's direct (DDO) allocation of a whole-sector piece for this provider
  const piece = commPToCid(new Uint8Array(32).fill(7));
  await allocate(piece);

  // the update's deadline must be mutable (neither the current nor the next one)
  const s1 = where(1);
  await untilMutable(s1.deadline, where(3).deadline);

  const newSealed = testSealedCid(101);
  const goodProof = (sector: number, sealed: Uint8Array, ps: { cid: Uint8Array; size: number }[]) =>
    DigestVerifier.updateProof({
      updateProofType: 0,
      sectorKeyCid: miner().sectors[sector]!.sealedCid,
      newSealedCid: sealed,
      newUnsealedCid: verifier.unsealedCid(5, ps),
    });
  const verifiedPiece = (cid: Uint8Array, size: number) => ({
    cid,
    size,
    verifiedAllocationKey: { client: clientId, id: 1 },
    notify: [] as { address: Address; payload: Uint8Array }[],
  });
  const update = (
    u: Partial<SectorUpdateManifest> & { sector: number },
    o: Partial<ProveReplicaUpdates3Params> = {},
  ) => {
    const loc = where(u.sector);
    const manifest: SectorUpdateManifest = {
      deadline: loc.deadline,
      partition: loc.partition,
      newSealedCid: newSealed,
      pieces: [verifiedPiece(piece.bytes, 2048)],
      ...u,
    };
    const ps = manifest.pieces.map((pm) => ({ cid: pm.cid, size: pm.size }));
    return run(worker, {
      to: maddr,
      method: PROVE_REPLICA_UPDATES3_METHOD,
      value: initialPledgeForPower(policy, 20480n),
      params: encodeProveReplicaUpdates3Params({
        sectorUpdates: [manifest],
        sectorProofs: [goodProof(u.sector, manifest.newSealedCid, ps)],
        aggregateProof: new Uint8Array(0),
        updateProofsType: 0,
        aggregateProofType: null,
        requireActivationSuccess: true,
        requireNotificationSuccess: true,
        ...o,
      }),
    });
  };
  const refused = async (why: RegExp, r: Awaited<ReturnType<typeof update>>) => {
    assert.equal(r.exitCode, 16, `expected illegal argument, got ${r.exitCode}: ${r.error}`);
    assert.match(r.error ?? '', why);
    assert.deepEqual(miner().sectors[1]!.sealedCid, testSealedCid(1));
    assert.equal(miner().sectors[1]!.sectorKeyCid, undefined);
  };

  // refusals, each for its reason, nothing changed
  await refused(/invalid proof for sector 1/, await update({ sector: 1 }, { sectorProofs: [Uint8Array.of(1, 2, 3)] }));
  const otherDeadline = (s1.deadline + 4) % policy.wpostPeriodDeadlines;
  await refused(/not in deadline/, await update({ sector: 1, deadline: otherDeadline }));
  await refused(/not in deadline/, await update({ sector: 1, partition: 7 }));
  await refused(/expected proof type 0, was 1/, await update({ sector: 1 }, { updateProofsType: 1 }));
  const otherPiece = commPToCid(new Uint8Array(32).fill(8)).bytes;
  await refused(/claim failed/, await update({ sector: 1, pieces: [verifiedPiece(otherPiece, 2048)] }));
  await refused(/claim failed/, await update({ sector: 1, pieces: [verifiedPiece(piece.bytes, 1024)] }));
  await refused(/non-zero data, skipping sector 3/, await update({ sector: 3, pieces: [] }));
  assert.equal(verifregState(node.view()).claims[maddr.id()], undefined);

  // the update
  const oldPledge = miner().sectors[1]!.initialPledge;
  const ok = await update({ sector: 1 });
  assert.equal(ok.exitCode, 0, ok.error);
  assert.deepEqual(decodeProveReplicaUpdates3Return(ok.return), { successCount: 1, failCodes: [] });
  const s = miner().sectors[1]!;
  assert.deepEqual(s.sealedCid, newSealed);
  assert.deepEqual(s.sectorKeyCid, testSealedCid(1));
  assert.equal(s.powerBaseEpoch, ok.epoch);
  assert.equal(s.verifiedDealWeight, 2048n * BigInt(expiration - ok.epoch));
  assert.equal(s.dealWeight, 0n);
  assert.equal(s.initialPledge, initialPledgeForPower(policy, 20480n));
  assert.ok(s.initialPledge > oldPledge);
  // StateSectorGetInfo shows the sector key
  const json = sectorJson(s);
  assert.equal(json.SectorKeyCID?.['/'], sectorJson({ ...s, sealedCid: testSealedCid(1) }).SealedCID['/']);
  assert.notEqual(json.SealedCID['/'], json.SectorKeyCID?.['/']);
  // the claim: allocation 1 now a claim on sector 1
  const claim = verifregState(node.view()).claims[maddr.id()]!['1']!;
  assert.equal(claim.sector, 1);
  assert.equal(claim.client, clientId);
  // power: sector 1 is fully verified, QA 10× its raw power; raw unchanged
  const after = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: after.rawBytePower, qa: after.qualityAdjPower }, { raw: 6144n, qa: 20480n + 4096n });
  const status = devnetStatus(node).Miners.find((m) => m.Miner === maddr.toString())!;
  assert.equal(status.RawBytePower, '6144');
  assert.equal(status.QualityAdjPower, String(20480 + 4096));

  // once is all: the sector now holds data
  const twice = await update({ sector: 1, newSealedCid: testSealedCid(102), pieces: [] });
  assert.equal(twice.exitCode, 16);
  assert.match(twice.error ?? '', /non-zero data, skipping sector 1/);
  assert.deepEqual(miner().sectors[1]!.sealedCid, newSealed);

  // Window PoSt from now on is over the new CommR: the old one fails, the new one passes
  const stale = await postDeadline(s1.deadline, new Map([[1, testSealedCid(1)]]));
  assert.equal(stale.exitCode, 16);
  assert.match(stale.error ?? '', /invalid post/);
  const fresh = await postDeadline(s1.deadline);
  assert.equal(fresh.exitCode, 0, fresh.error);
  const proven = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.equal(proven.qualityAdjPower, 20480n + 4096n);

  // a faulty sector cannot be updated
  const s2 = where(2);
  // sector 2 shares sector 1's deadline, being proven right now: immutable
  assert.equal(s2.deadline, s1.deadline);
  const immutable = await update({ sector: 2, newSealedCid: testSealedCid(103), pieces: [] });
  assert.equal(immutable.exitCode, 16);
  assert.match(immutable.error ?? '', /cannot upgrade sectors in immutable deadline/);
  // declared once its deadline's current window has closed (the declaration is then for the next one)
  while (minerDeadlineInfo(policy, miner(), node.head.height + 1).index === s2.deadline) await node.mine();
  const fault = await run(worker, {
    to: maddr,
    method: 10,
    params: encodeDeclarations([{ deadline: s2.deadline, partition: s2.partition, sectors: [2] }]),
  });
  assert.equal(fault.exitCode, 0, fault.error);
  await untilMutable(s2.deadline);
  const faulty = await update({ sector: 2, newSealedCid: testSealedCid(103), pieces: [] });
  assert.equal(faulty.exitCode, 16);
  assert.match(faulty.error ?? '', /sector isn't active, skipping sector 2/);
  assert.equal(miner().sectors[2]!.sectorKeyCid, undefined);
});

test('verifiers: AcceptingVerifier takes any non-empty update proof; ProofsVerifier refuses malformed input', async () => {
  const info = {
    updateProofType: 0,
    sectorKeyCid: testSealedCid(1),
    newSealedCid: testSealedCid(2),
    newUnsealedCid: new DigestVerifier().unsealedCid(5, []),
  };
  const accepting = new AcceptingVerifier();
  assert.equal(await accepting.verifyReplicaUpdate({ ...info, proof: Uint8Array.of(1) }), true);
  assert.equal(await accepting.verifyReplicaUpdate({ ...info, proof: new Uint8Array(0) }), false);
  const real = new ProofsVerifier();
  assert.equal(await real.verifyReplicaUpdate({ ...info, proof: Uint8Array.of(1) }), false);
  assert.match(whyReplicaUpdateFails({ ...info, proof: Uint8Array.of(1) }) ?? '', /./);
  // a sealed CID given where the unsealed one belongs: refused, never a throw
  assert.match(
    whyReplicaUpdateFails({ ...info, newUnsealedCid: testSealedCid(3), proof: Uint8Array.of(1) }) ?? '',
    /./,
  );
});
