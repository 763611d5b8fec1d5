/**
 * Deal states from the chain: a publish message landing gives the deal its id (or fails it with the exit code),
 * the chain's deal state / claim makes a deal active, a deal the chain dropped unactivated expires, a slashed one
 * is slashed. The market never needs the sealer to report.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { encodePublishStorageDealsReturn, setDefaultNetwork } from '../../fil/index.js';
import type { MarketMessager } from './chain.js';
import { actorPublishCodec } from './codec.js';
import { type DealRow, DealStore } from './db.js';
import { FakeChain } from './testkit.js';
import { DealTracker } from './tracker.js';

setDefaultNetwork('t');

class FakeMessager implements MarketMessager {
  status_: ReturnType<MarketMessager['status']> = { state: 'pending' };
  push(id: string) {
    return id;
  }
  status() {
    return this.status_;
  }
}

function setup() {
  const store = new DealStore(new Database(':memory:'));
  const chain = new FakeChain();
  const messager = new FakeMessager();
  const tracker = new DealTracker(store, chain, messager, actorPublishCodec);
  const add = (o: Partial<DealRow>) =>
    store.insert({
      kind: 'market',
      deal_id: 0,
      allocation_id: 0,
      proposal_cid: null,
      publish_cid: null,
      msg_id: 'm1',
      proposal: null,
      piece_cid: 'baga',
      piece_size: 256,
      payload_size: 100,
      client: 't1c',
      provider: 't01000',
      provider_id: 1000,
      verified: 0,
      start_epoch: 500,
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
  return { store, chain, messager, tracker, add };
}

describe('deal tracker', () => {
  test('publishing → waiting with the deal id from the return; a failed publish is failed', async () => {
    const { store, messager, tracker, add } = setup();
    const d = add({ state: 'publishing' });
    await tracker.kick();
    assert.equal(store.get(d.id)!.state, 'publishing');
    messager.status_ = {
      state: 'onchain',
      cid: 'bafy2bzacepublish',
      exitCode: 0,
      ret: encodePublishStorageDealsReturn({ ids: [42], validDeals: [0] }),
    };
    await tracker.kick();
    const r = store.get(d.id)!;
    assert.equal(r.state, 'waiting');
    assert.equal(r.deal_id, 42);
    assert.equal(r.publish_cid, 'bafy2bzacepublish');
    const f = add({ state: 'publishing', msg_id: 'm2' });
    messager.status_ = { state: 'onchain', cid: 'bafyx', exitCode: 16, ret: new Uint8Array() };
    await tracker.kick();
    assert.equal(store.get(f.id)!.state, 'failed');
    assert.match(store.get(f.id)!.reason!, /exited with code 16/);
  });

  test('builtin: active from the chain deal state, expired when dropped unactivated, slashed', async () => {
    const { store, chain, tracker, add } = setup();
    const a = add({ deal_id: 1, state: 'sealing', sector: 3, offset: 0 });
    const gone = add({ deal_id: 2, state: 'sealing', sector: 4, offset: 0 });
    const s = add({ deal_id: 3, state: 'active', sector: 5, offset: 0 });
    chain.deals.set(1, { SectorStartEpoch: 120, LastUpdatedEpoch: -1, SlashEpoch: -1 });
    chain.deals.set(3, { SectorStartEpoch: 50, LastUpdatedEpoch: -1, SlashEpoch: 130 });
    await tracker.kick();
    assert.equal(store.get(a.id)!.state, 'active');
    assert.equal(store.get(a.id)!.activation_epoch, 120);
    assert.equal(store.get(gone.id)!.state, 'sealing', 'not gone for good before its start epoch');
    assert.equal(store.get(s.id)!.state, 'slashed');
    chain.head = 600;
    await tracker.kick();
    assert.equal(store.get(gone.id)!.state, 'expired');
    assert.match(store.get(gone.id)!.reason!, /not activated by its start epoch 500/);
  });

  test('direct: active once the claim exists (its sector and term start), expired past the allocation expiration', async () => {
    const { store, chain, tracker, add } = setup();
    const d = add({
      kind: 'ddo',
      allocation_id: 7,
      verified: 1,
      state: 'sealing',
      sector: 9,
      offset: 0,
      alloc_expiration: 400,
    });
    const late = add({
      kind: 'ddo',
      allocation_id: 8,
      verified: 1,
      state: 'sealing',
      sector: 10,
      offset: 0,
      alloc_expiration: 150,
    });
    chain.claims.set(7, {
      Provider: 1000,
      Client: 1005,
      Data: { '/': 'baga' },
      Size: 256,
      TermMin: 1,
      TermMax: 2,
      TermStart: 110,
      Sector: 9,
    });
    await tracker.kick();
    assert.equal(store.get(d.id)!.state, 'active');
    assert.equal(store.get(d.id)!.activation_epoch, 110);
    assert.equal(store.get(late.id)!.state, 'sealing');
    chain.head = 151;
    await tracker.kick();
    assert.equal(store.get(late.id)!.state, 'expired');
  });
});
