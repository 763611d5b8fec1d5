// The Deals section of the dashboard: the deals and unseal tasks the manager database holds, drawn as text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DealStore } from '../market/store.js';
import { addSealedSector, makeTasks, tempDb } from '../unseal/fixture.test-util.js';
import { type FakeElement, rowsOf, runPage } from './page.test-util.js';
import { listDealRows, listUnsealRows } from './queries.js';

const XSS = '<img src=x onerror="alert(1)">';

test('deals come from the deal records of the sectors, unseal tasks from their table (bounded, empty when none)', () => {
  const { db } = tempDb();
  assert.deepEqual(listUnsealRows(db.db, 10), { tasks: [], counts: {} }, 'no unseal table yet: nothing, no error');
  assert.deepEqual(listDealRows(db.db, 10), [], 'no deal table yet: nothing, no error');
  const s1 = addSealedSector(db, 1);
  addSealedSector(db, 2, { online: true });
  const deals = listDealRows(db.db, 10);
  assert.equal(deals.length, 4);
  const first = deals.find((d) => d.number === 1 && d.piece === s1.a)!;
  assert.deepEqual(first, {
    miner: 1000,
    number: 1,
    state: 'Finalized',
    piece: s1.a,
    size: 1024,
    client: 't01001',
    dealId: 0,
    allocationId: 7,
    kind: 'ddo',
    verified: true,
  });
  const builtin = deals.find((d) => d.number === 1 && d.piece === s1.b)!;
  assert.equal(builtin.kind, 'market');
  assert.equal(builtin.dealId, 12);
  assert.equal(builtin.verified, null, 'a builtin deal without an allocation: not recorded');
  assert.deepEqual(
    deals.map((d) => d.number),
    [2, 2, 1, 1],
    'newest first',
  );
  assert.equal(deals.find((d) => d.number === 2)!.state, 'Allocated', 'a sector being sealed');
  assert.equal(listDealRows(db.db, 3).length, 3, 'row limit');
  // a released deal shows its record's state
  new DealStore(db.db).markReleasing(1000, 2);
  assert.deepEqual(
    listDealRows(db.db, 10)
      .filter((d) => d.number === 2)
      .map((d) => d.state),
    ['releasing', 'releasing'],
  );

  const tasks = makeTasks(db);
  tasks.request({ sid: s1.sid, pieceCid: s1.a, dest: 'file:///tmp/a', source: 'cli' });
  tasks.allocate({ AllowedMiners: null, AllowedProofTypes: null }, { admin: false, name: 'w1' });
  tasks.achieve(s1.sid, s1.a, 'bad bytes', { admin: false, name: 'w1' });
  tasks.request({ sid: s1.sid, pieceCid: s1.b, dest: 'file:///tmp/b', source: 'market', eventId: 'e' });
  const u = listUnsealRows(db.db, 10);
  assert.deepEqual(u.counts, { failed: 1, set_up: 1 });
  assert.deepEqual(
    u.tasks.map((t) => [t.number, t.piece, t.state, t.error, t.source, t.worker, t.size]),
    [
      [1, s1.b, 'set_up', '', 'market', null, 1016],
      [1, s1.a, 'failed', 'bad bytes', 'cli', 'w1', 1016],
    ],
  );
});

test('the Deals section draws deals and unseal tasks as text, with empty states', () => {
  const page = runPage('');
  assert.ok(page.byId.has('deals') && page.byId.has('unseals') && page.byId.has('unseal-counts'));
  page.send({ deals: [], unseals: [], unsealCounts: {} });
  assert.equal(page.byId.get('deals')!.textContent.includes('no deals assigned to sectors yet'), true);
  assert.equal(page.byId.get('unseals')!.textContent.includes('no unseal tasks'), true);

  page.send({
    deals: [
      {
        miner: 1000,
        number: 3,
        state: 'Finalized',
        piece: 'baga6ea4seaqpiece1',
        size: 2048,
        client: 't01001',
        dealId: 0,
        allocationId: 4,
        kind: 'ddo',
        verified: true,
      },
      {
        miner: 1000,
        number: 4,
        state: XSS,
        piece: XSS,
        size: XSS,
        client: XSS,
        dealId: XSS,
        allocationId: null,
        kind: 'market',
        verified: null,
      },
    ],
    unseals: [
      {
        id: 9,
        miner: 1000,
        number: 3,
        piece: 'baga6ea4seaqpiece1',
        size: 2032,
        state: 'failed',
        error: XSS,
        source: 'market',
        worker: 'w1',
        attempts: 2,
        updatedAt: Date.now(),
      },
    ],
    unsealCounts: { failed: 1, [XSS]: 2 },
  });
  const deals = rowsOf(page.byId.get('deals')!);
  assert.equal(deals.length, 2);
  const cells = (r: FakeElement) => r.children.map((c) => c.textContent);
  assert.deepEqual(cells(deals[0]!), [
    'baga6ea4seaqpiece1…',
    't01001',
    '2.0 KiB',
    'yes',
    's-t01000-3',
    'Finalized',
    'DDO alloc 4',
  ]);
  assert.equal(deals[0]!.getAttribute('data-deal'), 's-t01000-3/baga6ea4seaqpiece1');
  assert.equal(cells(deals[1]!)[3], '?', 'verified unknown');
  assert.equal(cells(deals[1]!)[6], `market #${XSS}`);
  const unseals = rowsOf(page.byId.get('unseals')!);
  assert.equal(unseals.length, 1);
  assert.deepEqual(cells(unseals[0]!).slice(0, 7), [
    '#9',
    'baga6ea4seaqpiece1…',
    's-t01000-3',
    '2.0 KiB',
    'failed (try 2)',
    'market',
    'w1',
  ]);
  assert.equal(cells(unseals[0]!)[8], XSS, 'the error is shown as text');
  assert.equal(page.byId.get('unseal-counts')!.textContent, `failed: 1${XSS}: 2`);
  // nothing from the data became an element
  for (const e of page.all()) assert.notEqual(e.tagName, 'img');
  assert.deepEqual(page.warnings, []);
});
