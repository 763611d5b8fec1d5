import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { bytes32ToJson, SubmitResult } from '../../api/sealer.js';
import { CID, cidToCommP, commDToCid, decodeCbor, expectArray, expectTuple, fromBase64 } from '../../fil/index.js';
import { computeCommD } from '../../proofs/index.js';
import { RpcError } from '../../rpc/index.js';
import { CommitmentManager } from '../commit/index.js';
import { parseManagerConfig } from '../config.js';
import { ManagerStore } from '../db.js';
import { testCommR, writeSectorFiles } from '../harness.test-util.js';
import { MinerInfoCache } from '../miners.js';
import { MinerMethod } from '../params.js';
import { SealerService } from '../sealer.js';
import { openTestDb } from '../sql/pg.test-util.js';
import { PersistStores, storesFromConfig } from '../stores.js';
import { FakeChain, fakeSealProof, fakeVerifier, TEST_POLICY } from '../testkit.js';
import { MarketConnection } from './client.js';
import { DealManager } from './deals.js';
import { answer, DDO_PIECE, FILLER_512, MARKET_PIECE } from './deals.test-util.js';
import { DealMetrics } from './metrics.js';
import { FakeMarket } from './testkit.js';

const dirs: string[] = [];
const markets: FakeMarket[] = [];
after(async () => {
  for (const m of markets) await m.down();
});

async function setup(o: { marketDown?: boolean } = {}) {
  const market = await new FakeMarket().start();
  markets.push(market);
  const token = await market.token('write');
  const dir = mkdtempSync(join(tmpdir(), 'vsm-deals-'));
  dirs.push(dir);
  const storeDir = join(dir, 'store');
  mkdirSync(storeDir);
  const cfg = parseManagerConfig(
    'test.cfg',
    `[[SectorManager.Miners]]
ID = 1000
EnableDeals = true
[Commitment.DefaultPolicy]
MsgConfidence = 2
[[PersistedStore.Stores]]
Name = "store-1"
Path = "${storeDir}"
[DealManagerConfig.MarketAPI]
Api = "${market.api}"
Token = "${token}"
`,
  );
  if (o.marketDown) await market.down();
  const chain = new FakeChain();
  chain.addMiner(1000);
  const db = new ManagerStore(openTestDb(join(dir, 'manager.db')));
  const connection = new MarketConnection(() => cfg);
  const metrics = new DealMetrics(new Registry());
  const deals = new DealManager({
    store: db,
    chain: chain.api(),
    policy: TEST_POLICY,
    config: () => cfg,
    market: connection,
    metrics,
    retryEveryMs: 50,
  });
  const miners = new MinerInfoCache(chain.api());
  const allocations: Record<number, number> = { 12: 33 };
  const commit = new CommitmentManager({
    store: db,
    chain: chain.api(),
    messager: chain.messager(),
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
    dealChain: { StateGetAllocationIdForPendingDeal: async (id) => allocations[id] ?? 0 },
  });
  const sealer = new SealerService({
    store: db,
    chain: chain.api(),
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
    commit,
    stores: new PersistStores(storesFromConfig(cfg), db),
    verifier: fakeVerifier,
    deals,
  });
  const close = async () => {
    await deals.stop();
    commit.stop();
    await connection.close();
    db.close();
  };
  return { market, chain, db, deals, sealer, commit, metrics, close, dir, allocations };
}

const SPEC = { MaxDeals: 3, MinUsedSpace: null };

test('AcquireDeals asks the market once: a retry answers the stored deals', async () => {
  const h = await setup();
  try {
    h.market.queue = answer();
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const sid = sector!.ID;
    const pieces = await h.sealer.acquireDeals(sid, SPEC);
    assert.ok(pieces);
    assert.equal(pieces.length, 3);
    assert.deepEqual(
      pieces.map((p) => [p.Piece.Size, p.DealInfo?.DealID, p.DealInfo?.AllocationID, p.DealInfo?.IsBuiltinMarket]),
      [
        [512, 0, 7, false],
        [512, 0, 0, false],
        [1024, 12, 0, true],
      ],
    );
    assert.equal(pieces[2]!.DealInfo?.PayloadSize, 900);
    assert.equal(pieces[2]!.DealInfo?.Offset, 1024);
    // what the market was asked: the worker's MaxDeals, the epochs from the sector's lifetime policy
    const call = h.market.calls.find((c) => c.method === 'AssignDeals')!;
    assert.equal(call.namespace, 'v1.IMarket');
    assert.deepEqual(call.params.slice(0, 2), [{ Miner: 1000, Number: sid.Number }, 2048]);
    const spec = call.params[2] as Record<string, unknown>;
    assert.equal(spec.MaxPiece, 3);
    assert.equal(spec.StartEpoch, h.chain.height + TEST_POLICY.preCommitChallengeDelay);
    assert.equal(
      spec.EndEpoch,
      h.chain.height + TEST_POLICY.preCommitChallengeDelay + TEST_POLICY.maxSectorExpirationExtension,
    );
    assert.equal(spec.SectorExpiration, null);

    // retried (the answer was lost): the same pieces, the market not asked again
    h.market.queue = answer();
    assert.deepEqual(await h.sealer.acquireDeals(sid, SPEC), pieces);
    assert.equal(h.market.count('AssignDeals'), 1);
    // and after a restart of the manager too: the pieces are in the database
    assert.deepEqual(h.db.getSector(sid)?.state.Pieces, pieces);
    const rows = h.deals.deals.ofSector(sid.Miner, sid.Number);
    assert.deepEqual(
      rows.map((r) => [r.kind, r.dealId, r.allocationId, r.state, r.client]),
      [
        ['ddo', 0, 7, 'assigned', 't01001'],
        ['market', 12, 0, 'assigned', 't01002'],
      ],
    );
    assert.equal((await h.metrics.assigned.get()).values.find((v) => v.labels.kind === 'ddo')?.value, 1);
    assert.equal((await h.metrics.assigned.get()).values.find((v) => v.labels.kind === 'market')?.value, 1);
  } finally {
    await h.close();
  }
});

test('a miner without EnableDeals, or no deals, gets a CC sector (null) and nothing is stored', async () => {
  const h = await setup();
  try {
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    assert.equal(await h.sealer.acquireDeals(sector!.ID, SPEC), null, 'the market has no deals');
    assert.equal(h.db.getSector(sector!.ID)?.state.Pieces, null);
    assert.equal(h.market.count('AssignDeals'), 1);
  } finally {
    await h.close();
  }
});

test('market unreachable: a temporary error the worker retries, nothing stored; then the deals come', async () => {
  const h = await setup({ marketDown: true });
  try {
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const sid = sector!.ID;
    await assert.rejects(h.sealer.acquireDeals(sid, SPEC), (e: unknown) => {
      // an RpcError (not SectorStateNotFound): the worker's classify() makes it a temporary failure and retries
      assert.ok(e instanceof RpcError);
      assert.equal(e.code, 1);
      assert.match(e.message, /the market is unreachable: .*nothing was assigned; the worker retries/);
      return true;
    });
    assert.equal(h.db.getSector(sid)?.state.Pieces, null);
    assert.deepEqual(h.deals.deals.ofSector(sid.Miner, sid.Number), []);
    assert.equal((await h.metrics.failures.get()).values.find((v) => v.labels.reason === 'unreachable')?.value, 1);
    await h.market.up();
    h.market.queue = answer();
    const pieces = await h.sealer.acquireDeals(sid, SPEC);
    assert.equal(pieces?.length, 3);
  } finally {
    await h.close();
  }
});

test('ReportAborted releases builtin deals with ReleaseDeals and DDO with ReleaseDirectDeals', async () => {
  const h = await setup();
  try {
    h.market.queue = answer();
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const sid = sector!.ID;
    await h.sealer.acquireDeals(sid, SPEC);
    await h.sealer.reportAborted(sid, 'piece CommP mismatch');
    await h.deals.releasePending();
    assert.deepEqual(h.market.released, [12]);
    assert.deepEqual(h.market.releasedDirect, [7]);
    const calls = h.market.calls
      .filter((c) => c.method.startsWith('Release'))
      .map((c) => [c.method, String(c.params[0]).replace(/^f0/, 't0'), c.namespace])
      .sort();
    assert.deepEqual(calls, [
      ['ReleaseDeals', 't01000', 'v1.IMarket'],
      ['ReleaseDirectDeals', 't01000', 'v1.IMarket'],
    ]);
    assert.deepEqual(
      h.deals.deals.ofSector(sid.Miner, sid.Number).map((r) => r.state),
      ['released', 'released'],
    );
    // a second abort report changes nothing
    await h.sealer.reportAborted(sid, 'again');
    await h.deals.releasePending();
    assert.equal(h.market.released.length + h.market.releasedDirect.length, 2);
  } finally {
    await h.close();
  }
});

test('release while the market is down: kept, retried, sent once it is back (also after a restart)', async () => {
  const h = await setup();
  try {
    h.market.queue = answer();
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const sid = sector!.ID;
    await h.sealer.acquireDeals(sid, SPEC);
    await h.market.down();
    await h.sealer.reportAborted(sid, 'aborted');
    await h.deals.releasePending();
    let rows = h.deals.deals.ofSector(sid.Miner, sid.Number);
    assert.deepEqual(
      rows.map((r) => r.state),
      ['releasing', 'releasing'],
    );
    assert.ok(
      rows.every((r) => r.releaseAttempts >= 1 && /ECONNREFUSED|fetch failed|cannot reach/.test(r.releaseError!)),
    );
    assert.equal(h.deals.deals.countPendingReleases(), 2);
    assert.equal(await h.metrics.pending.get().then((g) => g.values[0]?.value), 2);

    // a new manager over the same database (a restart) finds them due and sends them when the market is back
    const again = new DealManager({
      store: h.db,
      chain: h.chain.api(),
      policy: TEST_POLICY,
      config: () => parseManagerConfig('t.cfg', ''),
      market: { get: () => undefined },
      metrics: new DealMetrics(new Registry()),
    });
    assert.equal(again.deals.countPendingReleases(), 2);
    await h.market.up();
    h.deals.start();
    for (let i = 0; i < 100 && h.deals.deals.countPendingReleases() > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
    rows = h.deals.deals.ofSector(sid.Miner, sid.Number);
    assert.deepEqual(
      rows.map((r) => r.state),
      ['released', 'released'],
    );
    assert.deepEqual(h.market.released, [12]);
    assert.deepEqual(h.market.releasedDirect, [7]);
  } finally {
    await h.close();
  }
});

test('a deal that starts before the sector can be proven becomes a filler and is released', async () => {
  const h = await setup();
  try {
    h.market.queue = answer({ ddoStart: 105 }); // head 100 + delay 10 = 110
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const sid = sector!.ID;
    const pieces = await h.sealer.acquireDeals(sid, SPEC);
    assert.ok(pieces);
    assert.equal(pieces[0]!.DealInfo?.AllocationID, 0, 'the DDO deal is now a filler');
    assert.equal(pieces[0]!.Piece.PieceCID['/'], FILLER_512['/']);
    assert.equal(pieces[2]!.DealInfo?.DealID, 12);
    await h.deals.releasePending();
    assert.deepEqual(h.market.releasedDirect, [7]);
    assert.deepEqual(h.market.released, []);
    assert.equal((await h.metrics.failures.get()).values.find((v) => v.labels.reason === 'start_passed')?.value, 1);
  } finally {
    await h.close();
  }
});

test('an answer that breaks the layout is not sealed: its deals are released, the sector is CC', async () => {
  const h = await setup();
  try {
    const bad = answer();
    bad[2]!.Offset = 512; // overlaps the filler
    h.market.queue = bad;
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    assert.equal(await h.sealer.acquireDeals(sector!.ID, SPEC), null);
    await h.deals.releasePending();
    assert.deepEqual(h.market.released, [12]);
    assert.deepEqual(h.market.releasedDirect, [7]);
  } finally {
    await h.close();
  }
});

/** Runs a deal sector to its ProveCommitSectors3 and returns the pushed PreCommit and ProveCommit params. */
async function sealDealSector(h: Awaited<ReturnType<typeof setup>>, deals = answer()) {
  h.market.queue = deals;
  const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
  const sid = sector!.ID;
  const pieces = (await h.sealer.acquireDeals(sid, SPEC))!;
  const commD = computeCommD(
    2048,
    pieces.map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) })),
  );
  const ticket = await h.sealer.assignTicket(sid);
  const info = { CommR: bytes32ToJson(testCommR(sid)), CommD: bytes32ToJson(commD), Ticket: ticket };
  assert.deepEqual(await h.sealer.submitPreCommit(sector!, info, false), { Res: SubmitResult.Accepted, Desc: null });
  await h.commit.idle();
  const pre = h.chain.records.get(h.chain.pushed[0]!)!;
  assert.equal(pre.Method, MinerMethod.PreCommitSectorBatch2);
  await h.chain.mine(3);
  h.sealer.storeReserveSpace(sid, 4096, null);
  writeSectorFiles(join(h.dir, 'store'), sid);
  assert.equal(await h.sealer.submitPersistedEx(sid, 'store-1', false), true);
  await h.chain.mine(20);
  const seeded = await h.sealer.waitSeed(sid, 5);
  const proof = fakeSealProof({
    sealProof: 5,
    minerId: sid.Miner,
    sectorNumber: sid.Number,
    ticket: fromBase64(ticket.Ticket),
    seed: fromBase64(seeded.Seed!.Seed),
    commR: testCommR(sid),
    commD,
  });
  const r = await h.sealer.submitProof(sid, { Proof: Buffer.from(proof).toString('base64') }, false);
  assert.equal(r.Res, SubmitResult.Accepted, r.Desc ?? '');
  await h.commit.idle();
  const pushed = h.chain.pushed[1];
  if (pushed === undefined) return { sid, commD, pre: fromBase64(pre.Params!), prove: undefined };
  const prove = h.chain.records.get(pushed)!;
  assert.equal(prove.Method, MinerMethod.ProveCommitSectors3);
  return { sid, commD, pre: fromBase64(pre.Params!), prove: fromBase64(prove.Params!), proveValue: prove.Value };
}

test('PreCommit: no DealIDs, UnsealedCid = the CommD submitted, expiration = the last deal end', async () => {
  const h = await setup();
  try {
    const { commD, pre } = await sealDealSector(h);
    const info = expectTuple(expectArray(expectTuple(decodeCbor(pre), 1, 'p')[0], 's')[0], 7, 'pci');
    assert.deepEqual(info[4], [], 'DealIDs empty: the pieces are activated by ProveCommitSectors3');
    assert.equal(info[5], 700_000, 'expires when the builtin deal (the last) ends');
    assert.equal(String(info[6]), commDToCid(commD).toString());
  } finally {
    await h.close();
  }
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('ProveCommitSectors3: one manifest per deal piece (DDO allocation key; builtin f05 notify + allocation), bytes', async () => {
  const h = await setup();
  try {
    const { sid, prove, proveValue } = await sealDealSector(h);
    assert.ok(prove);
    // 512 + 1024 of 2048 bytes verified: pledge over QA power (StateMinerInitialPledgeForSector), less the deposit;
    // the per-PreCommit estimate (5000) knows no deals and left the ProveCommit short of funds on the devnet
    assert.equal(proveValue, String((5000n * BigInt(2048 - 1536 + 1536 * 10)) / 2048n - 1000n));
    const cidBytes = (c: { '/': string }) => {
      const b = CID.parse(c['/']).bytes;
      // dag-cbor CID: tag 42, bytes(0x00 ‖ cid)
      return `d82a58${(b.length + 1).toString(16).padStart(2, '0')}00${hex(b)}`;
    };
    assert.ok(sid.Number < 24);
    const ddo = `84${cidBytes(DDO_PIECE)}190200` + '821903e907' + '80'; // [cid, 512, [1001, 7], []]
    const builtin =
      `84${cidBytes(MARKET_PIECE)}190400` + // [cid, 1024,
      '821903ea1821' + // [1002, 33] (StateGetAllocationIdForPendingDeal(12) = 33),
      '8182420005410c'; // [[f05, CBOR(12)]]]
    const head = `86` + `81` + `82${sid.Number.toString(16).padStart(2, '0')}` + `82${ddo}${builtin}`;
    const t = expectTuple(decodeCbor(prove), 6, 'ProveCommitSectors3Params');
    const proof = expectArray(t[1], 'proofs')[0] as Uint8Array;
    const tail = `81${`5820${hex(proof)}`}` + '40' + 'f6' + 'f4' + 'f4';
    assert.equal(hex(prove), head + tail);

    // without an allocation for the builtin deal: no key, the notification stays
    h.allocations[12] = 0;
    const { activationPieces } = await import('./manifest.js');
    const s = h.db.getSector(sid)!.state;
    const pieces = await activationPieces(
      s,
      h.chain.api(),
      { StateGetAllocationIdForPendingDeal: async () => 0 },
      null,
    );
    assert.equal(pieces[1]?.verifiedAllocationKey, null);
    assert.equal(hex(pieces[1]!.notify![0]!.payload), '0c');
    assert.equal(pieces[1]!.notify![0]!.address.toString().slice(1), '05');
    await assert.rejects(activationPieces(s, h.chain.api(), undefined, null), /StateGetAllocationIdForPendingDeal/);
  } finally {
    await h.close();
  }
});

test('SubmitPreCommit refuses (the worker aborts, deals released) a sector whose deal start has passed', async () => {
  const h = await setup();
  try {
    h.market.queue = answer();
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const sid = sector!.ID;
    const pieces = (await h.sealer.acquireDeals(sid, SPEC))!;
    // sealing took long: the DDO deal (start 5000) can no longer be proven before it starts
    h.chain.height = 4995;
    const commD = computeCommD(
      2048,
      pieces.map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) })),
    );
    const ticket = await h.sealer.assignTicket(sid);
    const r = await h.sealer.submitPreCommit(
      sector!,
      { CommR: bytes32ToJson(testCommR(sid)), CommD: bytes32ToJson(commD), Ticket: ticket },
      false,
    );
    assert.equal(r.Res, SubmitResult.Rejected);
    assert.match(r.Desc ?? '', /allocation 7 starts at epoch 5000, before this sector could be proven/);
    await h.sealer.reportAborted(sid, `SubmitPreCommit rejected: ${r.Desc}`);
    await h.deals.releasePending();
    assert.deepEqual(h.market.releasedDirect, [7]);
    assert.deepEqual(h.market.released, [12]);
  } finally {
    await h.close();
  }
});

test('a sector whose manifest cannot be built is dropped with the reason, not its batch', async () => {
  const h = await setup();
  try {
    const deals = answer();
    deals[0]!.Client = 't3notanidaddress'; // the fake chain's StateLookupID answers it unchanged: no actor id
    const { sid, prove } = await sealDealSector(h, deals);
    assert.equal(prove, undefined, 'no ProveCommitSectors3 for it');
    const s = h.db.getSector(sid)!.state;
    assert.match(
      s.SendError ?? '',
      /^cannot build its piece activation manifests: .*t3notanidaddress is not an ID address/,
    );
  } finally {
    await h.close();
  }
});

test('a deal dropped from the front leaves a filler no padding would: then every piece gets a manifest entry', async () => {
  const h = await setup();
  try {
    // the DDO deal at offset 0 cannot be sealed (starts too soon): a zero filler takes its place
    const { prove, pre } = await sealDealSector(h, answer({ ddoStart: 105 }));
    assert.ok(prove);
    const acts = expectArray(expectTuple(decodeCbor(prove), 6, 'p')[0], 'acts');
    const pieces = expectArray(expectTuple(acts[0], 2, 'act')[1], 'pieces').map((x) => expectTuple(x, 4, 'pam'));
    assert.deepEqual(
      pieces.map((p) => [p[1], p[2] === null, (p[3] as unknown[]).length]),
      [
        [512, true, 0],
        [512, true, 0],
        [1024, false, 1],
      ],
    );
    // what the chain does: CommD from the manifest's pieces (zero padding for alignment and the end) = UnsealedCid
    const declared = String(expectTuple(expectArray(expectTuple(decodeCbor(pre), 1, 'p')[0], 's')[0], 7, 'pci')[6]);
    const fromManifest = computeCommD(
      2048,
      pieces.map((p) => ({ size: p[1] as number, commitment: cidToCommP(p[0]) })),
    );
    assert.equal(commDToCid(fromManifest).toString(), declared);
    // while the deal pieces alone would have given another CommD
    const dealOnly = computeCommD(2048, [{ size: 1024, commitment: cidToCommP(MARKET_PIECE) }]);
    assert.notEqual(commDToCid(dealOnly).toString(), declared);
  } finally {
    await h.close();
  }
});

test("a builtin deal with id 0 (a chain's first deal) is a deal, told by its PublishCid: kept and released", async () => {
  const h = await setup();
  try {
    const deals = answer();
    deals[2]!.DealID = 0;
    h.market.queue = deals;
    const sector = await h.sealer.allocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const sid = sector!.ID;
    const pieces = (await h.sealer.acquireDeals(sid, SPEC))!;
    assert.equal(pieces[2]!.DealInfo?.IsBuiltinMarket, true);
    assert.deepEqual(
      h.deals.deals.ofSector(sid.Miner, sid.Number).map((r) => [r.kind, r.dealId]),
      [
        ['ddo', 0],
        ['market', 0],
      ],
    );
    await h.sealer.reportAborted(sid, 'aborted');
    await h.deals.releasePending();
    assert.deepEqual(h.market.released, [0]);
    assert.deepEqual(h.market.releasedDirect, [7]);
  } finally {
    await h.close();
  }
});
