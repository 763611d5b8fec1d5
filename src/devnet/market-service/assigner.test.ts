/**
 * AssignDeals / ReleaseDeals / ReleaseDirectDeals against an in-memory database: droplet's picking and aligning,
 * direct deals before builtin ones, one stored answer per sector, other providers' deals untouched, stale deals
 * marked expired, and the release rules.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import type { GetDealSpec } from '../../api/market.js';
import { commPToCid, setDefaultNetwork } from '../../fil/index.js';
import { zeroCommitment } from '../../proofs/commp.js';
import { DealAssigner } from './assigner.js';
import { type DealRow, DealStore } from './db.js';
import { fillers, pickAndAlign } from './pick.js';

setDefaultNetwork('t');

const SECTOR = 2048;
const pieceCid = (n: number) => commPToCid(new Uint8Array(32).fill(n)).toString();

function setup(height = 100) {
  const db = new Database(':memory:');
  const store = new DealStore(db);
  const h = { height };
  const assigner = new DealAssigner(store, () => h.height);
  let n = 0;
  const add = (o: Partial<DealRow> & { kind: DealRow['kind'] }): DealRow => {
    n++;
    const provider = o.provider_id ?? 1000;
    return store.insert({
      deal_id: o.kind === 'market' ? n : 0,
      allocation_id: o.kind === 'ddo' ? n : 0,
      proposal_cid: null,
      publish_cid: o.kind === 'market' ? 'bafy2bzaceapublish' : null,
      msg_id: null,
      proposal: null,
      piece_cid: pieceCid(n),
      piece_size: 256,
      payload_size: 200,
      client: 't1client',
      provider: `t0${provider}`,
      provider_id: provider,
      verified: o.kind === 'ddo' ? 1 : 0,
      start_epoch: 1000,
      end_epoch: 5000,
      term_min: null,
      term_max: null,
      alloc_expiration: null,
      state: 'waiting',
      sector: null,
      offset: null,
      activation_epoch: null,
      reason: null,
      ...o,
    });
  };
  return { db, store, assigner, add, h };
}

const noSpec: GetDealSpec | null = null;

describe('pickAndAlign', () => {
  test('smallest first, aligned, zero pieces before a deal that needs alignment and at the end', () => {
    const c = (key: number, pieceSize: number) => ({ key, pieceSize, startEpoch: 1, endEpoch: 2, verified: false });
    const placed = pickAndAlign([c(1, 128), c(2, 512)], SECTOR, null);
    assert.deepEqual(placed, [
      { key: 1, pieceSize: 128, offset: 0 },
      { key: null, pieceSize: 128, offset: 128 },
      { key: null, pieceSize: 256, offset: 256 },
      { key: 2, pieceSize: 512, offset: 512 },
      { key: null, pieceSize: 1024, offset: 1024 },
    ]);
    for (const p of placed) assert.equal(p.offset % p.pieceSize, 0, 'every piece is aligned to its size');
    assert.equal(
      placed.reduce((s, p) => s + p.pieceSize, 0),
      SECTOR,
    );
  });
  test('MaxPiece, MinPiece, MinUsedSpace, MaxPieceSize', () => {
    const c = (key: number, pieceSize: number) => ({ key, pieceSize, startEpoch: 1, endEpoch: 2, verified: false });
    const spec = (o: Partial<GetDealSpec>): GetDealSpec => ({
      MaxPiece: 0,
      MaxPieceSize: 0,
      MinPiece: 0,
      MinPieceSize: 0,
      MinUsedSpace: 0,
      StartEpoch: 0,
      EndEpoch: 0,
      SectorExpiration: null,
      ...o,
    });
    const deals = [c(1, 128), c(2, 128), c(3, 256)];
    assert.equal(pickAndAlign(deals, SECTOR, spec({ MaxPiece: 2 })).filter((p) => p.key).length, 2);
    assert.deepEqual(pickAndAlign(deals, SECTOR, spec({ MinPiece: 4 })), []);
    assert.deepEqual(pickAndAlign(deals, SECTOR, spec({ MinUsedSpace: 1024 })), []);
    assert.deepEqual(
      pickAndAlign(deals, SECTOR, spec({ MaxPieceSize: 128 }))
        .filter((p) => p.key)
        .map((p) => p.key),
      [1, 2],
    );
    assert.deepEqual(pickAndAlign([c(1, 4096)], SECTOR, null), [], 'a piece larger than the sector never fits');
    assert.throws(() => pickAndAlign([c(1, 300)], SECTOR, null), /invalid piece size/);
  });
  test('fillers cover a remainder with aligned powers of two', () => {
    assert.deepEqual(fillers(384, 1664), [
      { key: null, pieceSize: 128, offset: 384 },
      { key: null, pieceSize: 512, offset: 512 },
      { key: null, pieceSize: 1024, offset: 1024 },
    ]);
  });
});

describe('AssignDeals', () => {
  test('direct deals first, offsets and sector stored, zero pieces answered like droplet', () => {
    const { assigner, add, store } = setup();
    const m = add({ kind: 'market', piece_size: 128 });
    const d1 = add({ kind: 'ddo', piece_size: 512 });
    const d2 = add({ kind: 'ddo', piece_size: 256 });
    const out = assigner.assign({ Miner: 1000, Number: 7 }, SECTOR, noSpec);
    const deals = out.filter((d) => d.AllocationID);
    assert.deepEqual(
      deals.map((d) => [d.AllocationID, d.Offset, d.PieceSize]),
      [
        [d2.allocation_id, 0, 256],
        [d1.allocation_id, 512, 512],
      ],
    );
    assert.ok(
      out.every((d) => d.DealID === 0 && d.PublishCid === null),
      'no builtin deal while direct deals fit',
    );
    const zero = out.find((d) => !d.AllocationID)!;
    assert.equal(zero.PieceCID['/'], commPToCid(zeroCommitment(zero.PieceSize)).toString());
    assert.equal(
      out.reduce((s, d) => s + d.PieceSize, 0),
      SECTOR,
    );
    for (const d of [d1, d2]) {
      const r = store.get(d.id)!;
      assert.equal(r.state, 'sealing');
      assert.equal(r.sector, 7);
    }
    assert.equal(store.get(d2.id)!.offset, 0);
    assert.equal(store.get(d1.id)!.offset, 512);
    assert.equal(store.get(m.id)!.state, 'waiting');
    // the next sector gets the builtin deal
    const next = assigner.assign({ Miner: 1000, Number: 8 }, SECTOR, noSpec).filter((d) => d.DealID);
    assert.deepEqual(
      next.map((d) => [d.DealID, d.Offset, d.PublishCid?.['/']]),
      [[m.deal_id, 0, 'bafy2bzaceapublish']],
    );
  });

  test('the same sector asking again gets the same answer; another sector gets nothing twice', () => {
    const { assigner, add } = setup();
    add({ kind: 'ddo', piece_size: 256 });
    const first = assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, noSpec);
    add({ kind: 'ddo', piece_size: 128 }); // a new deal that would change a fresh pick
    const again = assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, noSpec);
    assert.deepEqual(again, first);
    const other = assigner.assign({ Miner: 1000, Number: 2 }, SECTOR, noSpec).filter((d) => d.AllocationID);
    assert.equal(other.length, 1);
    assert.notEqual(other[0].AllocationID, first.find((d) => d.AllocationID)!.AllocationID);
  });

  test('never a deal of another provider', () => {
    const { assigner, add, store } = setup();
    const theirs = add({ kind: 'ddo', provider_id: 2000 });
    assert.deepEqual(assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, noSpec), []);
    assert.equal(store.get(theirs.id)!.state, 'waiting');
    assert.throws(() => assigner.releaseDirectDeals('t01000', [theirs.allocation_id]), /belongs to t02000/);
  });

  test('a deal whose start epoch passed is marked expired, never assigned', () => {
    const { assigner, add, store, h } = setup(100);
    const stale = add({ kind: 'market', start_epoch: 90 });
    const ddoStale = add({ kind: 'ddo', start_epoch: 500, alloc_expiration: 100 });
    const ok = add({ kind: 'market', start_epoch: 200 });
    const out = assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, noSpec).filter((d) => d.DealID || d.AllocationID);
    assert.deepEqual(
      out.map((d) => d.DealID),
      [ok.deal_id],
    );
    assert.equal(store.get(stale.id)!.state, 'expired');
    assert.match(store.get(stale.id)!.reason!, /start epoch 90 passed/);
    assert.equal(store.get(ddoStale.id)!.state, 'expired');
    h.height = 300;
    assert.deepEqual(assigner.assign({ Miner: 1000, Number: 2 }, SECTOR, noSpec), []);
  });

  test('the spec window: start after spec.StartEpoch, end before spec.EndEpoch, sector expiration covering the end', () => {
    const { assigner, add } = setup(100);
    add({ kind: 'market', start_epoch: 150, end_epoch: 3000 });
    const late = add({ kind: 'market', start_epoch: 400, end_epoch: 3000 });
    const spec: GetDealSpec = {
      MaxPiece: 0,
      MaxPieceSize: 0,
      MinPiece: 0,
      MinPieceSize: 0,
      MinUsedSpace: 0,
      StartEpoch: 300,
      EndEpoch: 10_000,
      SectorExpiration: 2000,
    };
    assert.deepEqual(assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, spec), [], 'ends after the sector expires');
    const out = assigner.assign({ Miner: 1000, Number: 2 }, SECTOR, { ...spec, SectorExpiration: 4000 });
    assert.deepEqual(
      out.filter((d) => d.DealID).map((d) => d.DealID),
      [late.deal_id],
    );
  });

  test('a verified direct deal needs the sector lifetime inside the claim term', () => {
    const { assigner, add } = setup(100);
    add({ kind: 'ddo', term_min: 1000, term_max: 2000, alloc_expiration: 900, end_epoch: 1500 });
    const spec = (exp: number): GetDealSpec => ({
      MaxPiece: 0,
      MaxPieceSize: 0,
      MinPiece: 0,
      MinPieceSize: 0,
      MinUsedSpace: 0,
      StartEpoch: 0,
      EndEpoch: 0,
      SectorExpiration: exp,
    });
    assert.deepEqual(assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, spec(2500)), [], 'lifetime 2400 > TermMax');
    assert.equal(
      assigner.assign({ Miner: 1000, Number: 2 }, SECTOR, spec(1600)).filter((d) => d.AllocationID).length,
      1,
    );
  });

  test('release: back to waiting, assignable again; active deals refused; repeated release is harmless', () => {
    const { assigner, add, store } = setup();
    const m = add({ kind: 'market' });
    const d = add({ kind: 'ddo' });
    assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, noSpec); // takes the direct deal
    assigner.assign({ Miner: 1000, Number: 2 }, SECTOR, noSpec); // takes the builtin deal
    assigner.releaseDirectDeals('t01000', [d.allocation_id]);
    assigner.releaseDirectDeals('t01000', [d.allocation_id]);
    assigner.releaseDeals('t01000', [m.deal_id]);
    for (const r of [store.get(m.id)!, store.get(d.id)!]) {
      assert.equal(r.state, 'waiting');
      assert.equal(r.sector, null);
      assert.equal(r.offset, null);
    }
    // sector 1 asks again: its old answer was dropped, it gets a fresh pick
    const again = assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, noSpec);
    assert.equal(again.find((x) => x.AllocationID)?.AllocationID, d.allocation_id);
    store.update(d.id, { state: 'active' });
    assert.throws(() => assigner.releaseDirectDeals('t01000', [d.allocation_id]), /it is active/);
    assert.throws(() => assigner.releaseDeals('t01000', [999]), /deal 999 is not known/);
    assert.throws(
      () => assigner.releaseDeals('t3abc', [m.deal_id]),
      /Filecoin address|must be an ID address|checksum|invalid/,
    );
  });

  test('a failed release changes nothing (one transaction)', () => {
    const { assigner, add, store } = setup();
    const a = add({ kind: 'market' });
    const b = add({ kind: 'market' });
    assigner.assign({ Miner: 1000, Number: 1 }, SECTOR, noSpec);
    store.update(b.id, { state: 'active' });
    assert.throws(() => assigner.releaseDeals('t01000', [a.deal_id, b.deal_id]), /it is active/);
    assert.equal(store.get(a.id)!.state, 'sealing');
  });
});
