/**
 * ProveReplicaUpdates3 (SnapDeals) through signed messages on a devnet node: an active CC sector takes a verified
 * DDO allocation's piece; the chain checks the update proof against the old CommR (the sector key), the new CommR
 * and the CommD it computes from the pieces, claims the allocation, and the sector's SealedCID, SectorKeyCID and
 * power change (QA 10× raw for a fully verified sector). Window PoSt from then on is over the new CommR. Each
 * refusal is checked for its reason, with the state unchanged.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import {
  type Address,
  allocationTransferParams,
  commDToCid,
  commPToCid,
  commRToCid,
  DatacapMethod,
  type DealProposal,
  decodeProveReplicaUpdates3Return,
  encodeAddBalanceParams,
  encodeDealIdPayload,
  encodeDealProposal,
  encodeProveReplicaUpdates3Params,
  encodePublishStorageDealsParams,
  generateKey,
  idAddress,
  type Key,
  MarketMethod,
  type Message,
  minerEntropy,
  PROVE_REPLICA_UPDATES3_METHOD,
  type ProveReplicaUpdates3Params,
  type SectorUpdateManifest,
  signWithKey,
} from '../fil/index.js';
import { encodeInto, generateUpdateProof, generateUpdateVanillaProofs } from '../proofs/api/update.js';
import { randomSectorData, sealFixture } from '../proofs/porep/fixture.js';
import { sealProofFor } from '../proofs/registry.js';
import { devnetStatus, sectorJson } from './api-full.js';
import {
  decodeBatchReturn,
  decodeCreateMinerReturn,
  encodeCreateMinerParams,
  encodeDeclarations,
  encodePreCommitSectorBatch2Params,
  encodeProveCommitSectors3Params,
  encodeSubmitWindowedPoStParams,
} from './codec.js';
import { deadlineIsMutable } from './dline.js';
import { marketState } from './market/state.js';
import { findSector, type MinerState, minerDeadlineInfo } from './miner.js';
import { DevnetNode } from './node.js';
import { createMinerDeposit, initialPledgeForPower, makePolicy, preCommitDepositForSector } from './policy.js';
import { minerPower } from './power.js';
import { DST, type PieceInfo, type ProofVerifier, type ReplicaUpdateVerifyInfo } from './runtime.js';
import { DATACAP_ACTOR, MARKET_ACTOR } from './state.js';
import { applyMessage, DigestVerifier, SHORT_PERIOD, testSealedCid } from './testkit.js';
import { AcceptingVerifier, ProofsVerifier, unsealedCidForPieces, whyReplicaUpdateFails } from './verifier.js';
import { verifregState } from './verifreg/state.js';

// 8 deadlines: a deadline stays mutable (not current, not next) for 5 windows, room for the refusals
const policy = makePolicy({ ...SHORT_PERIOD, wpostPeriodDeadlines: 8 });
const FIL = 10n ** 18n;
let dir: string;
const nodes: DevnetNode[] = [];
let owner: Key;
let worker: Key;
let client: Key;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'devnet-snap-'));
  [owner, worker, client] = [generateKey('secp256k1'), generateKey('bls'), generateKey('secp256k1')];
});
after(async () => {
  for (const n of nodes) await n.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A devnet node (its own chain) where owner, worker and client have funds and the client 2KiB of datacap. */
function newNode(name: string, verifier: ProofVerifier): DevnetNode {
  mkdirSync(join(dir, name));
  const node = DevnetNode.create(
    join(dir, name, 'chain.db'),
    {
      policy,
      blockTimeMs: 100,
      genesisTimestamp: 1_700_000_000,
      seed: '35'.repeat(32),
      accounts: [owner, worker, client].map((k) => ({ address: k.address.toString(), balance: 1000n * FIL })),
      datacap: [{ address: client.address.toString(), bytes: 2048n }],
    },
    verifier,
  );
  nodes.push(node);
  return node;
}

interface SectorSpec {
  n: number;
  sealedCid: Uint8Array;
  /** Pieces sealed in (not verified, no deal); absent: committed capacity. */
  pieces?: { cid: Uint8Array; size: number }[];
}

/**
 * A miner whose sectors are sealed (digest seal proofs), proven and active after one Window PoSt, with helpers:
 * post a deadline, find a sector, wait for deadlines to be mutable.
 */
async function activeMiner(node: DevnetNode, verifier: DigestVerifier, sectors: SectorSpec[]) {
  const run = (key: Key, m: Partial<Message> & Pick<Message, 'to'>) => applyMessage(node, key, m, 500_000_000);
  const create = await run(owner, {
    to: idAddress(4),
    method: 2,
    value: createMinerDeposit(policy),
    params: encodeCreateMinerParams({
      owner: owner.address,
      worker: worker.address,
      windowPoStProofType: 10,
      peer: new Uint8Array(0),
      multiaddrs: [],
    }),
  });
  assert.equal(create.exitCode, 0, create.error);
  const maddr = decodeCreateMinerReturn(create.return).idAddress;
  const miner = () => node.minerState(maddr)!.st as MinerState;
  const entropy = minerEntropy(maddr);
  const expiration = node.head.height + 700_000;

  const commDs = sectors.map((s) => verifier.unsealedCid(5, s.pieces ?? []));
  const ticketEpoch = node.head.height - 1;
  const pre = await run(worker, {
    to: maddr,
    method: 28,
    value: BigInt(sectors.length) * preCommitDepositForSector(policy, 2048),
    params: encodePreCommitSectorBatch2Params(
      sectors.map((s, i) => ({
        sealProof: 5,
        sectorNumber: s.n,
        sealedCid: s.sealedCid,
        sealRandEpoch: ticketEpoch,
        dealIds: [],
        expiration,
        unsealedCid: s.pieces ? commDs[i]! : null,
      })),
    ),
  });
  assert.equal(pre.exitCode, 0, pre.error);
  const seedEpoch = miner().preCommittedSectors[1]!.preCommitEpoch + policy.preCommitChallengeDelay;
  await node.mineUntil(seedEpoch + 1);
  const prove = await run(worker, {
    to: maddr,
    method: 34,
    value: FIL,
    params: encodeProveCommitSectors3Params({
      sectorActivations: sectors.map((s) => ({
        sectorNumber: s.n,
        pieces: (s.pieces ?? []).map((pc) => ({ ...pc, verifiedAllocationKey: null, notify: [] })),
      })),
      sectorProofs: sectors.map((s, i) =>
        DigestVerifier.sealProof({
          minerId: maddr.id(),
          sectorNumber: s.n,
          ticket: node.randomness().fromTickets(DST.SealRandomness, ticketEpoch, entropy),
          seed: node.randomness().fromBeacon(DST.InteractiveSealChallengeSeed, seedEpoch, entropy),
          sealedCid: s.sealedCid,
          unsealedCid: commDs[i]!,
        }),
      ),
      aggregateProof: new Uint8Array(0),
      aggregateProofType: null,
      requireActivationSuccess: true,
      requireNotificationSuccess: true,
    }),
  });
  assert.equal(prove.exitCode, 0, prove.error);
  assert.deepEqual(decodeBatchReturn(prove.return), { successCount: sectors.length, failCodes: [] });

  // Window PoSt over every partition of a deadline at its next window; sealed CIDs as the state has them unless
  // overridden (to prove with the wrong ones)
  const postDeadline = async (dl: number, sealedOverride: Map<number, Uint8Array> = new Map()) => {
    let d = minerDeadlineInfo(policy, miner(), node.head.height);
    let open = d.periodStart + dl * policy.wpostChallengeWindow;
    // the window still open (room for the message to land in it) or the next one
    if (open + policy.wpostChallengeWindow <= node.head.height + 3) open += policy.wpostProvingPeriod;
    d = minerDeadlineInfo(policy, miner(), Math.max(open, node.head.height));
    if (d.open > node.head.height) await node.mineUntil(d.open);
    const parts = miner().deadlines[dl]!.partitions;
    const numbers = parts.flatMap((p) => p.sectors).sort((a, b) => a - b);
    const challengedSectors = numbers.map((n) => ({
      sealProof: 5,
      sectorNumber: n,
      sealedCid: sealedOverride.get(n) ?? miner().sectors[n]!.sealedCid,
    }));
    const rand = node.randomness().fromBeacon(DST.WindowedPoStChallengeSeed, d.challenge, entropy);
    return run(worker, {
      to: maddr,
      method: 5,
      params: encodeSubmitWindowedPoStParams({
        deadline: dl,
        partitions: parts.map((_, index) => ({ index, skipped: [] })),
        proofs: [
          {
            postProof: 10,
            proofBytes: DigestVerifier.postProof({ minerId: maddr.id(), randomness: rand, challengedSectors }),
          },
        ],
        chainCommitEpoch: d.challenge,
        chainCommitRand: node.randomness().fromTickets(DST.PoStChainCommit, d.challenge, new Uint8Array(0)),
      }),
    });
  };
  const where = (n: number) => findSector(miner(), n)!;
  // mines until every given deadline is mutable (neither the current nor the next one) for the next few epochs
  const untilMutable = async (...dls: number[]) => {
    const mutable = (e: number) =>
      dls.every((dl) => deadlineIsMutable(policy, minerDeadlineInfo(policy, miner(), e).periodStart, dl, e));
    while (![1, 2, 3, 4].every((k) => mutable(node.head.height + k))) await node.mine();
  };
  const deadlines = [...new Set(sectors.map((s) => where(s.n).deadline))].sort((a, b) => a - b);
  for (const dl of deadlines) {
    const posted = await postDeadline(dl);
    assert.equal(posted.exitCode, 0, posted.error);
  }
  return { maddr, miner, expiration, run, postDeadline, where, untilMutable };
}

test('a CC sector updated with a verified DDO piece: new SealedCID, SectorKeyCID, claim, QA 10× raw; refusals', async () => {
  const verifier = new DigestVerifier();
  const node = newNode('digest', verifier);
  // sectors 1 and 2 committed capacity, sector 3 with an (unverified) piece
  const dataPiece = { cid: commPToCid(new Uint8Array(32).fill(3)).bytes, size: 2048 };
  const { maddr, miner, expiration, run, postDeadline, where, untilMutable } = await activeMiner(node, verifier, [
    { n: 1, sealedCid: testSealedCid(1) },
    { n: 2, sealedCid: testSealedCid(2) },
    { n: 3, sealedCid: testSealedCid(3), pieces: [dataPiece] },
  ]);
  const clientId = node.lookupId(client.address)!;
  const rawBefore = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: rawBefore.rawBytePower, qa: rawBefore.qualityAdjPower }, { raw: 6144n, qa: 6144n });

  // the client's direct (DDO) allocation of a whole-sector piece for this provider
  const piece = commPToCid(new Uint8Array(32).fill(7));
  const alloc = await run(client, {
    to: idAddress(DATACAP_ACTOR),
    method: DatacapMethod.TransferExported,
    params: allocationTransferParams([
      {
        provider: maddr.id(),
        data: piece,
        size: 2048,
        termMin: 600_000,
        termMax: 800_000,
        expiration: node.head.height + 1000,
      },
    ]),
  });
  assert.equal(alloc.exitCode, 0, alloc.error);

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

/** Digest seal and PoSt proofs; real update proofs (the proofs module's vanilla proofs) and the real CommD rule. */
class RealUpdateVerifier extends DigestVerifier {
  private readonly real = new ProofsVerifier();
  override async verifyReplicaUpdate(i: ReplicaUpdateVerifyInfo): Promise<boolean> {
    this.calls++;
    return this.real.verifyReplicaUpdate(i);
  }
  override unsealedCid(sealProof: number, pieces: PieceInfo[]): Uint8Array {
    return unsealedCidForPieces(sealProof, pieces);
  }
}

test('a real 2KiB update proof is accepted against the sector key; a changed byte is refused', async () => {
  // a CC sector sealed for real, one whole-sector piece encoded into it, the update proven (proofs/api/update.ts)
  const tmp = join(dir, 'real-proof');
  const cc = await sealFixture({
    proof: sealProofFor(2048),
    dir: join(tmp, 'cc'),
    parentDir: join(tmp, 'parents'),
    data: new Uint8Array(2048),
  });
  await writeFile(join(tmp, 'staged'), randomSectorData(2048));
  const enc = await encodeInto({
    sectorSize: 2048,
    sectorKeyPath: cc.sealedPath,
    sectorKeyCacheDir: cc.cacheDir,
    stagedDataPath: join(tmp, 'staged'),
    newReplicaPath: join(tmp, 'update', 'sealed'),
    newCacheDir: join(tmp, 'update', 'cache'),
  });
  const pub = { commROld: enc.commROld, commDNew: enc.commDNew, commRNew: enc.commRNew };
  const vanilla = await generateUpdateVanillaProofs({
    sectorSize: 2048,
    ...pub,
    sectorKeyPath: cc.sealedPath,
    sectorKeyCacheDir: cc.cacheDir,
    replicaPath: join(tmp, 'update', 'sealed'),
    replicaCacheDir: join(tmp, 'update', 'cache'),
  });
  const proof = await generateUpdateProof({ sectorSize: 2048, vanillaProofs: vanilla, ...pub });

  const verifier = new RealUpdateVerifier();
  const node = newNode('real', verifier);
  const { maddr, miner, run, where, untilMutable } = await activeMiner(node, verifier, [
    { n: 1, sealedCid: commRToCid(enc.commROld).bytes },
  ]);
  // the chain's CommD rule over one whole-sector piece gives the encoded data's comm_d_new
  const piece = commPToCid(enc.commDNew);
  assert.deepEqual(verifier.unsealedCid(5, [{ cid: piece.bytes, size: 2048 }]), commDToCid(enc.commDNew).bytes);
  const alloc = await run(client, {
    to: idAddress(DATACAP_ACTOR),
    method: DatacapMethod.TransferExported,
    params: allocationTransferParams([
      {
        provider: maddr.id(),
        data: piece,
        size: 2048,
        termMin: 600_000,
        termMax: 800_000,
        expiration: node.head.height + 1000,
      },
    ]),
  });
  assert.equal(alloc.exitCode, 0, alloc.error);
  const loc = where(1);
  await untilMutable(loc.deadline);
  const update = (proofBytes: Uint8Array) =>
    run(worker, {
      to: maddr,
      method: PROVE_REPLICA_UPDATES3_METHOD,
      value: initialPledgeForPower(policy, 20480n),
      params: encodeProveReplicaUpdates3Params({
        sectorUpdates: [
          {
            sector: 1,
            deadline: loc.deadline,
            partition: loc.partition,
            newSealedCid: commRToCid(enc.commRNew).bytes,
            pieces: [
              {
                cid: piece.bytes,
                size: 2048,
                verifiedAllocationKey: { client: node.lookupId(client.address)!, id: 1 },
                notify: [],
              },
            ],
          },
        ],
        sectorProofs: [proofBytes],
        aggregateProof: new Uint8Array(0),
        updateProofsType: 0,
        aggregateProofType: null,
        requireActivationSuccess: true,
        requireNotificationSuccess: true,
      }),
    });
  const bad = Uint8Array.from(proof);
  bad[bad.length - 40]! ^= 0x01;
  const refused = await update(bad);
  assert.equal(refused.exitCode, 16);
  assert.match(refused.error ?? '', /invalid proof for sector 1/);
  const ok = await update(proof);
  assert.equal(ok.exitCode, 0, ok.error);
  assert.deepEqual(miner().sectors[1]!.sealedCid, commRToCid(enc.commRNew).bytes);
  assert.deepEqual(miner().sectors[1]!.sectorKeyCid, commRToCid(enc.commROld).bytes);
  const claim = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: claim.rawBytePower, qa: claim.qualityAdjPower }, { raw: 2048n, qa: 20480n });
});

test('a builtin market deal snapped into a CC sector: the market is notified and the deal is active in it', async () => {
  const verifier = new DigestVerifier();
  const node = newNode('market', verifier);
  const { maddr, miner, run, where, untilMutable } = await activeMiner(node, verifier, [
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
