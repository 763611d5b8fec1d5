import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import type { SectorOnChainInfo } from '../../api/full.js';
import { MessageState } from '../../api/messager.js';
import { bytes32ToJson, OnChainState, type SectorID, SubmitResult, sectorName } from '../../api/sealer.js';
import {
  CID,
  cidToCommP,
  commRToCid,
  decodeCbor,
  decodeProveReplicaUpdates3Params,
  encodeCbor,
  fromBase64,
  PROVE_REPLICA_UPDATES3_METHOD,
  toBase64,
} from '../../fil/index.js';
import { computeCommD } from '../../proofs/index.js';
import { CommitmentManager } from '../commit/index.js';
import { parseManagerConfig } from '../config.js';
import { ManagerStore } from '../db.js';
import { testCommR, writeSectorFiles } from '../harness.test-util.js';
import { MarketConnection } from '../market/client.js';
import { DealManager } from '../market/deals.js';
import { answer, DDO_PIECE, FILLER_512, MARKET_PIECE } from '../market/deals.test-util.js';
import { DealMetrics } from '../market/metrics.js';
import { FakeMarket } from '../market/testkit.js';
import { MinerInfoCache } from '../miners.js';
import { checkSectors } from '../poster/check.js';
import { SealerService } from '../sealer.js';
import { openTestDb } from '../sql/pg.test-util.js';
import { cacheDir, PersistStores, sealedPath, storesFromConfig } from '../stores.js';
import { FakeChain, fakePoStProver, fakeVerifier, TEST_POLICY } from '../testkit.js';
import { UnsealTasks } from '../unseal/tasks.js';
import type { SnapChainAPI } from './index.js';
import { SnapMetrics } from './metrics.js';

const markets: FakeMarket[] = [];
after(async () => {
  for (const m of markets) await m.down();
});

const W1 = { Instance: 'w1', Location: '/seal/1' };
const CALLER = { admin: false, name: 'w1' } as never;
const SPEC = { Sector: { AllowedMiners: null, AllowedProofTypes: null, Worker: W1 }, Deals: { MaxDeals: 3 } } as never;

/** The fake chain's API plus the two calls snapup adds (the devnet and Lotus serve them). */
function snapChain(chain: FakeChain): SnapChainAPI {
  const api = chain.api();
  return {
    ...api,
    StateMinerActiveSectors: async (a) => {
      const m = chain.miners.get(Number(a.slice(2)))!;
      const faulty = new Set([...m.partitions.values()].flatMap((ps) => ps.flatMap((p) => [...p.faulty])));
      return [...m.sectors.values()].filter((s) => !faulty.has(s.SectorNumber));
    },
    StateSectorPartition: async (a, n) => {
      const m = chain.miners.get(Number(a.slice(2)))!;
      for (const [dl, ps] of m.partitions) {
        const i = ps.findIndex((p) => p.all.includes(n));
        if (i >= 0) return { Deadline: dl, Partition: i };
      }
      return null;
    },
  };
}

async function setup(o: { dir?: string; chain?: FakeChain; market?: FakeMarket; cleanup?: boolean } = {}) {
  const market = o.market ?? (await new FakeMarket().start());
  if (!o.market) markets.push(market);
  const token = await market.token('write');
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'vsm-snap-'));
  const storeDir = join(dir, 'store');
  mkdirSync(storeDir, { recursive: true });
  const cfg = parseManagerConfig(
    'test.cfg',
    `[[SectorManager.Miners]]
ID = 1000
EnableDeals = true
EnableSnapUp = true
${o.cleanup === false ? 'CleanupCCData = false' : ''}
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
  const chain = o.chain ?? new FakeChain();
  if (!chain.miners.has(1000)) chain.addMiner(1000);
  const api = snapChain(chain);
  const db = new ManagerStore(openTestDb(join(dir, 'manager.db')));
  const connection = new MarketConnection(() => cfg);
  const deals = new DealManager({
    store: db,
    chain: api,
    policy: TEST_POLICY,
    config: () => cfg,
    market: connection,
    metrics: new DealMetrics(new Registry()),
    retryEveryMs: 50,
  });
  const miners = new MinerInfoCache(api);
  const dealChain = { StateGetAllocationIdForPendingDeal: async (id: number) => (id === 12 ? 33 : 0) };
  const commit = new CommitmentManager({
    store: db,
    chain: api,
    messager: chain.messager(),
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
    dealChain,
  });
  const stores = new PersistStores(storesFromConfig(cfg), db);
  const registry = new Registry();
  const snapM = new SnapMetrics(registry);
  const sealer = new SealerService({
    store: db,
    chain: api,
    policy: TEST_POLICY,
    config: () => cfg,
    miners,
    commit,
    stores,
    verifier: fakeVerifier,
    deals,
    snapup: { messager: chain.messager(), dealChain, metrics: snapM },
  });
  const close = async () => {
    await sealer.snapup!.stop();
    await deals.stop();
    commit.stop();
    await connection.close();
    db.close();
  };
  return { market, chain, api, db, sealer, snap: sealer.snapup!, stores, storeDir, dir, miners, close, registry };
}

type H = Awaited<ReturnType<typeof setup>>;

/** An active CC sector sealed by this manager: on chain, indexed, its files in the store. */
function ccSector(h: H, n: number, patch: Partial<SectorOnChainInfo> = {}): SectorID {
  const sid = { Miner: 1000, Number: n };
  h.chain.activateSector(1000, n, 5, testCommR(sid));
  Object.assign(h.chain.miners.get(1000)!.sectors.get(n)!, patch);
  writeSectorFiles(h.storeDir, sid);
  h.db.indexSector('normal', sid, { SealedFile: 'store-1', CacheDir: 'store-1' });
  return sid;
}

function newCommR(): Uint8Array {
  const b = new Uint8Array(32).fill(9);
  b[31] = 0x51; // bit 254 set, still below the Fr modulus (as a real CommR seen on the devnet)
  return b;
}

function submission(h: H, sid: SectorID, o: { commD?: Uint8Array; proof?: string } = {}) {
  const s = h.db.getSector(sid)!.state;
  const pieces = s.Pieces!;
  const commD =
    o.commD ??
    computeCommD(
      2048,
      pieces.map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) })),
    );
  return {
    CommR: bytes32ToJson(newCommR()),
    CommD: bytes32ToJson(commD),
    AccessInstance: 'store-1',
    Pieces: pieces.map((p) => p.Piece.PieceCID),
    Proof: o.proof ?? toBase64(Uint8Array.of(1, 2, 3)),
  };
}

/** The updated replica's files as a snapup thread persists them (update/, update-cache/). */
/** CC sector 1 a candidate, allocated to w1 with the market's deals; `submitted`: its update written and proved. */
async function allocatedSector(h: H, o: { submitted?: boolean } = {}): Promise<SectorID> {
  const sid = ccSector(h, 1);
  await h.snap.preFetch(1000, null);
  h.market.queue = answer();
  assert.ok(await h.snap.allocate(SPEC, CALLER));
  if (o.submitted) {
    writeUpdateFiles(h.storeDir, sid);
    await h.snap.submit(sid, submission(h, sid), CALLER);
  }
  return sid;
}

function writeUpdateFiles(root: string, sid: SectorID): void {
  mkdirSync(join(root, 'update'), { recursive: true });
  mkdirSync(join(root, 'update-cache', sectorName(sid)), { recursive: true });
  writeFileSync(sealedPath(root, sid, 'upgrade'), Buffer.alloc(2048, 3));
  for (const f of ['p_aux', 't_aux', 'sc-02-data-tree-r-last.dat'])
    writeFileSync(join(cacheDir(root, sid, 'upgrade'), f), 'y');
}

function land(h: H, id: string): void {
  const rec = h.chain.records.get(id)!;
  rec.State = MessageState.OnChainMsg;
  rec.Height = h.chain.height;
  rec.Confidence = 5;
  rec.Receipt = { ExitCode: 0, Return: toBase64(encodeCbor([1, []])), GasUsed: 1, EventsRoot: null };
}

test('snap fetch imports only active CC sectors that can outlive a deal; candidates lists them', async () => {
  const h = await setup();
  try {
    const cc = ccSector(h, 1);
    ccSector(h, 2, { DealWeight: '100' });
    ccSector(h, 3, { Expiration: h.chain.height + TEST_POLICY.minSectorExpiration - 1 });
    ccSector(h, 4, { SectorKeyCID: { '/': commRToCid(newCommR()).toString() } });
    ccSector(h, 5);
    for (const ps of h.chain.miners.get(1000)!.partitions.values()) for (const p of ps) p.faulty.add(5);
    const r = await h.snap.preFetch(1000, null);
    assert.deepEqual(r, { Total: 1, Diff: 1 });
    assert.deepEqual(await h.snap.preFetch(1000, null), { Total: 1, Diff: 0 });
    const list = h.snap.candidates(1000);
    assert.equal(list.length, 1);
    assert.deepEqual(list[0]!.Sector, cc);
    assert.equal(list[0]!.Deadline, 5);
    assert.equal(list[0]!.State, '');
    // another deadline: nothing of it
    assert.deepEqual(await h.snap.preFetch(1000, 7), { Total: 1, Diff: 0 });
    // the sector went faulty: the next fetch drops it
    for (const ps of h.chain.miners.get(1000)!.partitions.values()) for (const p of ps) p.faulty.add(1);
    assert.deepEqual(await h.snap.preFetch(1000, null), { Total: 0, Diff: 0 });
  } finally {
    await h.close();
  }
});

test('AllocateSanpUpSector: deals through the market for the candidate, the same answer again (also after a restart), none without deals', async () => {
  const h = await setup();
  let h2: H | undefined;
  try {
    const sid = ccSector(h, 1);
    ccSector(h, 2);
    await h.snap.preFetch(1000, null);
    // no deals: nothing handed out, the candidates stay
    assert.equal(await h.sealer.api().AllocateSanpUpSector(SPEC, {} as never), null);
    assert.equal(h.snap.candidates(1000).length, 2);
    h.market.queue = answer();
    const a = await h.snap.allocate(SPEC, CALLER);
    assert.ok(a);
    assert.deepEqual(a.Sector.ID, sid);
    assert.deepEqual(
      a.Pieces!.map((p) => p.Piece.PieceCID['/']),
      [DDO_PIECE['/'], FILLER_512['/'], MARKET_PIECE['/']],
    );
    assert.deepEqual(a.Public.CommR, bytes32ToJson(testCommR(sid)));
    assert.equal(a.Public.Expiration, h.chain.miners.get(1000)!.sectors.get(1)!.Expiration);
    assert.equal(a.Private.AccessInstance, 'store-1');
    // the market was asked with the sector's expiration as the bound
    const ask = h.market.calls.find((c) => c.method === 'AssignDeals')!.params[2] as { SectorExpiration: number };
    assert.equal(ask.SectorExpiration, a.Public.Expiration);
    const s = h.db.getSector(sid)!;
    assert.ok(s.online && s.state.Upgraded);
    // the worker lost the answer: the same seal store gets the same sector, the market is not asked again
    const asks = h.market.count('AssignDeals');
    assert.deepEqual(await h.snap.allocate(SPEC, CALLER), a);
    assert.equal(h.market.count('AssignDeals'), asks);
    await h.close();
    h2 = await setup({ dir: h.dir, chain: h.chain, market: h.market });
    assert.deepEqual(await h2.snap.allocate(SPEC, CALLER), a);
    // another seal store: the other candidate (no deals left: null)
    const other = { Sector: { Worker: { Instance: 'w2', Location: '/seal/2' } }, Deals: { MaxDeals: 3 } } as never;
    assert.equal(await h2.snap.allocate(other, { admin: false, name: 'w2' } as never), null);
    assert.equal(h2.snap.candidates(1000).find((c) => c.Sector.Number === 1)!.State, 'allocated');
  } finally {
    if (h2) await h2.close();
    else await h.close();
  }
});

test('SubmitSnapUpProof checks the proof, pieces and CommD; ProveReplicaUpdates3 carries the manifests, the pledge rise and the new CommR; cleanup only once landed and persisted', async () => {
  const h = await setup();
  try {
    const sid = await allocatedSector(h);
    const empty = await h.snap.submit(sid, submission(h, sid, { proof: '' }), CALLER);
    assert.equal(empty.Res, SubmitResult.Rejected);
    const badD = await h.snap.submit(sid, submission(h, sid, { commD: new Uint8Array(32) }), CALLER);
    assert.equal(badD.Res, SubmitResult.Rejected);
    assert.match(badD.Desc!, /CommD/);
    // a CommR at or above the Fr modulus is no Poseidon root (the top byte 0x74 > the modulus' 0x73)
    const above = newCommR();
    above[31] = 0x74;
    const badR = await h.snap.submit(sid, { ...submission(h, sid), CommR: bytes32ToJson(above) }, CALLER);
    assert.match(badR.Desc!, /CommR is not a field element/);
    const wrongPieces = { ...submission(h, sid), Pieces: [DDO_PIECE] };
    assert.match((await h.snap.submit(sid, wrongPieces, CALLER)).Desc!, /pieces count/);
    const info = submission(h, sid);
    // the new replica is not in the store yet: the worker persists it again
    const missed = await h.snap.submit(sid, info, CALLER);
    assert.equal(missed.Res, SubmitResult.FilesMissed);
    assert.match(missed.Desc!, /update\/s-t01000-1/);
    writeUpdateFiles(h.storeDir, sid);
    assert.equal((await h.sealer.pollProofState(sid)).State, OnChainState.NotFound);
    assert.equal((await h.snap.submit(sid, info, CALLER)).Res, SubmitResult.Accepted);
    assert.equal((await h.snap.submit(sid, info, CALLER)).Res, SubmitResult.Accepted);
    const other = { ...info, Proof: toBase64(Uint8Array.of(9)) };
    assert.equal((await h.snap.submit(sid, other, CALLER)).Res, SubmitResult.MismatchedSubmission);

    await h.snap.kick();
    const t = h.snap.snap.get(sid)!;
    assert.equal(t.phase, 'sent');
    const rec = h.chain.records.get(t.messageId!)!;
    assert.equal(rec.Method, PROVE_REPLICA_UPDATES3_METHOD);
    const p = decodeProveReplicaUpdates3Params(decodeCbor(fromBase64(rec.Params!)));
    const loc = await h.api.StateSectorPartition('t01000', 1, null);
    assert.equal(p.sectorUpdates.length, 1);
    const u = p.sectorUpdates[0]!;
    assert.deepEqual([u.sector, u.deadline, u.partition], [1, loc!.Deadline, loc!.Partition]);
    assert.ok(CID.decode(u.newSealedCid).equals(commRToCid(newCommR())));
    assert.equal(p.updateProofsType, 0);
    assert.deepEqual(p.sectorProofs, [Uint8Array.of(1, 2, 3)]);
    // DDO allocation 7 of client t01001; builtin deal 12 with its pending allocation 33 and a notification to f05
    assert.deepEqual(
      u.pieces.map((x) => [CID.decode(x.cid).toString(), x.size, x.verifiedAllocationKey, x.notify.length]),
      [
        [DDO_PIECE['/'], 512, { client: 1001, id: 7 }, 0],
        [MARKET_PIECE['/'], 1024, { client: 1002, id: 33 }, 1],
      ],
    );
    // 1536 of 2048 bytes verified: the fake's pledge 5000 × (512 + 15360) / 2048, less the current pledge (0)
    assert.equal(rec.Value, '38750');
    // a restart re-sends nothing: the id is recorded
    await h.snap.kick();
    assert.equal([...h.chain.records.values()].filter((r) => r.Method === PROVE_REPLICA_UPDATES3_METHOD).length, 1);

    // persisted, not on chain: the sector key stays, the worker polls Pending
    await h.snap.kick();
    assert.ok(existsSync(sealedPath(h.storeDir, sid)));
    assert.equal(h.snap.snap.get(sid)!.phase, 'sent');
    assert.equal((await h.sealer.pollProofState(sid)).State, OnChainState.Pending);
    // ReportFinalized from the worker does not end an upgrade in flight
    await h.sealer.reportFinalized(sid, CALLER);
    assert.ok(h.db.getSector(sid)!.online);

    land(h, t.messageId!);
    await h.snap.kick();
    await h.snap.kick();
    assert.equal(h.snap.snap.get(sid)!.phase, 'done');
    assert.equal((await h.sealer.pollProofState(sid)).State, OnChainState.Landed);
    assert.equal(h.db.findSector('upgrade', sid)?.SealedFile, 'store-1');
    assert.ok(!existsSync(sealedPath(h.storeDir, sid)), 'the sector key is removed');
    assert.ok(!existsSync(cacheDir(h.storeDir, sid)));
    assert.ok(existsSync(sealedPath(h.storeDir, sid, 'upgrade')));
    const s = h.db.getSector(sid)!;
    assert.ok(!s.online && s.state.Finalized && s.state.Upgraded);
    assert.equal(h.snap.candidates(1000).length, 0);
    // the worker then reports the update files and finishes: both fine on the finalized sector
    assert.equal(await h.sealer.submitPersistedEx(sid, 'store-1', true, CALLER), true);
    await h.sealer.reportFinalized(sid, CALLER);
    const text = await h.registry.metrics();
    for (const step of ['allocated', 'submitted', 'sent', 'landed', 'finalized'])
      assert.match(text, new RegExp(`venus_snapup_steps_total\\{step="${step}"\\} 1`));
    assert.match(text, /venus_snapup_failures_total\{reason="rejected"\} 4/);
  } finally {
    await h.close();
  }
});

test('CleanupCCData = false keeps the sector key; a refused update is PermFailed to the worker and the abort releases its deals', async () => {
  const h = await setup({ cleanup: false });
  try {
    const sid = ccSector(h, 1);
    const sid2 = ccSector(h, 2);
    await h.snap.preFetch(1000, null);
    h.market.queue = answer();
    await h.snap.allocate(SPEC, CALLER);
    writeUpdateFiles(h.storeDir, sid);
    await h.snap.submit(sid, submission(h, sid), CALLER);
    await h.snap.kick();
    land(h, h.snap.snap.get(sid)!.messageId!);
    await h.snap.kick();
    await h.snap.kick();
    assert.equal(h.snap.snap.get(sid)!.phase, 'done');
    assert.ok(existsSync(sealedPath(h.storeDir, sid)), 'CleanupCCData = false');

    // the second sector: the chain refuses the update for good
    h.market.queue = answer();
    const w2 = { Sector: { Worker: { Instance: 'w2', Location: '/seal/2' } }, Deals: { MaxDeals: 3 } } as never;
    const CALLER2 = { admin: false, name: 'w2' } as never;
    const a2 = await h.snap.allocate(w2, CALLER2);
    assert.deepEqual(a2?.Sector.ID, sid2);
    writeUpdateFiles(h.storeDir, sid2);
    await h.snap.submit(sid2, submission(h, sid2), CALLER2);
    await h.snap.kick();
    const rec = h.chain.records.get(h.snap.snap.get(sid2)!.messageId!)!;
    land(h, rec.ID);
    rec.Receipt!.ExitCode = 16;
    await h.snap.kick();
    const poll = await h.sealer.pollProofState(sid2);
    assert.equal(poll.State, OnChainState.PermFailed);
    assert.match(poll.Desc!, /code 16/);
    await h.sealer.reportAborted(sid2, 'update refused', CALLER2);
    const s2 = h.db.getSector(sid2)!;
    assert.ok(!s2.online && !s2.state.Upgraded);
    assert.ok(existsSync(sealedPath(h.storeDir, sid2)), 'the sector key of a refused update stays');
  } finally {
    await h.close();
  }
});

/** One CC sector upgraded to done (CleanupCCData as configured), with the ticket it was sealed with. */
async function upgradedSector(h: H): Promise<SectorID> {
  const sid = await allocatedSector(h, { submitted: true });
  await h.snap.kick();
  land(h, h.snap.snap.get(sid)!.messageId!);
  await h.snap.kick();
  await h.snap.kick();
  assert.equal(h.snap.snap.get(sid)!.phase, 'done');
  // as sealed here: the PreCommit's ticket and CommD (a CC sector's)
  const r = h.db.getSector(sid)!;
  const ticket = { Ticket: Buffer.alloc(32, 4).toString('base64'), Epoch: 10 };
  r.state.Ticket = ticket;
  r.state.Pre = {
    CommR: h.chain.miners.get(1000)!.sectors.get(1)!.SealedCID,
    CommD: { '/': 'baga6ea4seaqcc' },
    Ticket: ticket,
  } as never;
  h.db.putSector(r.state, false);
  // the chain after ProveReplicaUpdates3: the new sealed CID, the CC one as the sector key
  const onChain = h.chain.miners.get(1000)!.sectors.get(1)!;
  onChain.SectorKeyCID = onChain.SealedCID;
  onChain.SealedCID = { '/': commRToCid(newCommR()).toString() };
  return sid;
}

test('an upgraded sector: unseal tasks name the updated replica, comm_d_new and the sector key', async () => {
  const h = await setup({ cleanup: false });
  try {
    const sid = await upgradedSector(h);
    const tasks = new UnsealTasks({ store: h.db, registry: new Registry() });
    const { task } = tasks.request({ sid, pieceCid: DDO_PIECE, dest: 'file:///tmp/x', source: 'cli' });
    const info = tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, {
      admin: false,
      name: 'w9',
    } as never);
    assert.ok(info, `allocated (task ${task.id})`);
    const submitted = h.snap.snap.get(sid)!.submitted!;
    assert.deepEqual(info.CommD, submitted.CommD, "the update's comm_d_new");
    assert.equal(info.PrivateInfo.AccessInstance, 'store-1');
    assert.deepEqual(info.Upgrade, { CommROld: bytes32ToJson(testCommR(sid)), SectorKeyInstance: 'store-1' });
    assert.deepEqual(info.Ticket, h.db.getSector(sid)!.state.Pre!.Ticket);
    // a sector whose upgrade has not landed is not unsealed from a replica that is not its own yet
    const r = h.db.getSector(sid)!;
    h.snap.snap.failed(sid, 'test');
    tasks.achieve(sid, DDO_PIECE, 'done', { admin: false, name: 'w9' } as never);
    const again = tasks.request({ sid, pieceCid: DDO_PIECE, dest: 'file:///tmp/x', source: 'cli' });
    assert.equal(tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, { admin: true } as never), null);
    assert.match(tasks.get(again.task.id)!.error ?? '', /being upgraded: its update has not landed yet/);
    assert.ok(r.state.Upgraded);
  } finally {
    await h.close();
  }
});

test('an upgraded sector is set for rebuild with its sector key and deal pieces; a foreign sector key is refused', async () => {
  const h = await setup();
  try {
    const sid = await upgradedSector(h);
    const onChain = h.chain.miners.get(1000)!.sectors.get(1)!;
    await assert.rejects(h.sealer.sectorSetForRebuild(sid, { PiecesAvailable: false }), (e: Error) =>
      /--pieces-available/.test(e.message),
    );
    const keyCid = onChain.SectorKeyCID!;
    onChain.SectorKeyCID = { '/': commRToCid(newCommR()).toString() };
    await assert.rejects(h.sealer.sectorSetForRebuild(sid, { PiecesAvailable: true }), (e: Error) =>
      /is not the one it was upgraded from/.test(e.message),
    );
    onChain.SectorKeyCID = keyCid;
    assert.equal(await h.sealer.sectorSetForRebuild(sid, { PiecesAvailable: true }), true);
    const w = { Instance: 'w3', Location: '/seal/r' };
    const info = (await h.sealer.allocateRebuildSector({ AllowedMiners: null, AllowedProofTypes: null, Worker: w }, {
      admin: false,
      name: 'w3',
    } as never))!;
    assert.equal(info.IsSnapUp, true);
    assert.deepEqual(info.SealedCID, onChain.SealedCID, "the chain's new sealed CID");
    assert.deepEqual(info.UpgradePublic?.CommR, bytes32ToJson(testCommR(sid)), 'the sector key');
    assert.deepEqual(info.UpgradePublic?.SealedCID, keyCid);
    assert.deepEqual(
      info.PiecesV2?.map((p) => p.Piece.PieceCID['/']),
      [DDO_PIECE['/'], FILLER_512['/'], MARKET_PIECE['/']],
      'the pieces as encoded, fillers too',
    );
    assert.deepEqual(info.Ticket, h.db.getSector(sid)!.state.Pre!.Ticket);
    // the rebuilt update files reported: indexed as the upgrade's, the rebuild ends
    const CALLER = { admin: false, name: 'w3' } as never;
    assert.equal(await h.sealer.submitPersistedEx(sid, 'store-1', true, CALLER), true);
    await h.sealer.reportFinalized(sid, CALLER);
    const s = h.db.getSector(sid)!;
    assert.ok(!s.online && s.state.Finalized && !s.state.NeedRebuild && s.state.Upgraded);
  } finally {
    await h.close();
  }
});

test('a sector in the current or next deadline waits for its update until the deadline is mutable', async () => {
  const h = await setup();
  try {
    const cur = h.chain.deadlineInfo().Index;
    const sid = { Miner: 1000, Number: 1 };
    h.chain.activateSector(1000, 1, cur + 1, testCommR(sid));
    writeSectorFiles(h.storeDir, sid);
    h.db.indexSector('normal', sid, { SealedFile: 'store-1', CacheDir: 'store-1' });
    await h.snap.preFetch(1000, null);
    h.market.queue = answer();
    await h.snap.allocate(SPEC, CALLER);
    writeUpdateFiles(h.storeDir, sid);
    await h.snap.submit(sid, submission(h, sid), CALLER);
    await h.snap.kick();
    assert.equal(h.snap.snap.get(sid)!.phase, 'submitted');
    assert.match(h.snap.snap.get(sid)!.error!, /being proven/);
    assert.equal(h.chain.records.size, 0);
    // two deadlines on, it is far enough ahead
    h.chain.height += 2 * h.chain.deadlines.window + 1;
    await h.snap.kick();
    assert.equal(h.snap.snap.get(sid)!.phase, 'sent');
  } finally {
    await h.close();
  }
});

test('a message recorded but not pushed (messager down, then a restart) is pushed once under its id', async () => {
  const h = await setup();
  let h2: H | undefined;
  try {
    const sid = await allocatedSector(h, { submitted: true });
    h.chain.pushError = new Error('messager down');
    await h.snap.kick();
    const t = h.snap.snap.get(sid)!;
    assert.equal(t.phase, 'sent');
    assert.equal(t.pushed, false);
    assert.equal(h.chain.records.size, 0);
    h.chain.pushError = undefined;
    await h.close();
    h2 = await setup({ dir: h.dir, chain: h.chain, market: h.market });
    await h2.snap.kick();
    await h2.snap.kick();
    assert.deepEqual([...h.chain.records.keys()], [t.messageId]);
    assert.equal(h2.snap.snap.get(sid)!.pushed, true);
  } finally {
    if (h2) await h2.close();
    else await h.close();
  }
});

test('an abort before the message gives the deals back and leaves the sector CC', async () => {
  const h = await setup();
  try {
    const sid = await allocatedSector(h);
    await h.sealer.reportAborted(sid, 'encode failed', CALLER);
    const s = h.db.getSector(sid)!;
    assert.ok(!s.online && !s.state.Upgraded && !s.state.AbortReason);
    assert.equal(h.snap.snap.get(sid), undefined);
    assert.equal(h.snap.candidates(1000)[0]!.State, '');
  } finally {
    await h.close();
  }
});

test('Window PoSt reads an updated sector from update/ with the chain’s new CommR', async () => {
  const h = await setup();
  try {
    const sid = ccSector(h, 1);
    ccSector(h, 2);
    writeUpdateFiles(h.storeDir, sid);
    h.db.indexSector('upgrade', sid, { SealedFile: 'store-1', CacheDir: 'store-1' });
    const onChain = h.chain.miners.get(1000)!.sectors.get(1)!;
    onChain.SectorKeyCID = onChain.SealedCID;
    onChain.SealedCID = { '/': commRToCid(newCommR()).toString() };
    const res = await checkSectors(
      { chain: h.api, store: h.db, stores: h.stores, prover: fakePoStProver(existsSync), miners: h.miners },
      1000,
      [1, 2],
      false,
    );
    assert.deepEqual([...res.good].sort(), [1, 2]);
    const up = res.infos.get(1)!;
    assert.equal(up.sealedPath, sealedPath(h.storeDir, sid, 'upgrade'));
    assert.equal(up.cacheDir, cacheDir(h.storeDir, sid, 'upgrade'));
    assert.deepEqual(up.commR, newCommR());
    assert.equal(res.infos.get(2)!.sealedPath, sealedPath(h.storeDir, { Miner: 1000, Number: 2 }));
    // the update's files gone: the sector is not provable, whatever its sector key
    const { rmSync } = await import('node:fs');
    rmSync(sealedPath(h.storeDir, sid, 'upgrade'));
    const again = await checkSectors(
      { chain: h.api, store: h.db, stores: h.stores, prover: fakePoStProver(existsSync), miners: h.miners },
      1000,
      [1],
      false,
    );
    assert.ok(again.bad.has(1));
  } finally {
    await h.close();
  }
});
