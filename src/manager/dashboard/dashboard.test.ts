import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManagerAPI } from '../../api/sealer.js';
import { BitField } from '../../fil/index.js';
import { createClient, createToken, loadOrInitRepoAuth } from '../../rpc/index.js';
import { managerHome } from '../harness.test-util.js';
import { bitCount, bitIndexes, type DashboardState } from './index.js';

test('dashboard: bitCount counts the set bits of a Lotus-JSON RLE bitfield', () => {
  // Lotus JSON of bitfield {0, 2, 3, 7}: runs 0:1 1:1 0:1 1:2 0:3 1:1 → [0,1,1,2,3,1]
  assert.equal(bitCount([0, 1, 1, 2, 3, 1]), 4);
  assert.equal(bitCount([]), 0);
  assert.equal(bitCount(null), 0);
  // against src/fil's BitField (its JSON is the chain's)
  assert.equal(bitCount(BitField.fromNumbers([1, 5, 6, 100, 101, 102]).toJSON()), 6);
});

test('dashboard: page without a token, JSON and events need one (read), control needs admin', async () => {
  const { home, start } = managerHome('vsm-dash-unit-');
  const d = await start();
  const base = `http://127.0.0.1:${d.address.port}`;
  const api = createClient(ManagerAPI, { url: `${base}/rpc/v0` });
  try {
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<meta name="viewport"/);
    assert.doesNotMatch(html, /<script src=|<link [^>]*href="http/, 'self-contained: no external scripts or styles');

    const { secret, token: admin } = await loadOrInitRepoAuth(home);
    const read = await createToken(secret, 'read');
    assert.equal((await fetch(`${base}/dashboard/api/state`)).status, 401);
    assert.equal((await fetch(`${base}/dashboard/api/state?token=garbage`)).status, 401);
    await api.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null });
    const st = (await fetch(`${base}/dashboard/api/state`, { headers: { Authorization: `Bearer ${read}` } }).then((r) =>
      r.json(),
    )) as DashboardState;
    assert.deepEqual(
      st.sectors.map((s) => [s.id, s.state]),
      [['s-t01000-1', 'Allocated']],
    );
    assert.deepEqual(st.counts, { Allocated: 1 });
    assert.equal(st.miners[0]?.id, 1000);
    assert.equal(st.deadlines[0]?.miner, 1000);

    // the event stream's first event is the state
    const ac = new AbortController();
    const ev = await fetch(`${base}/dashboard/events?token=${read}`, { signal: ac.signal });
    assert.equal(ev.headers.get('content-type'), 'text/event-stream');
    const reader = ev.body!.getReader();
    let text = '';
    while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
    assert.match(text, /^data: \{.*"s-t01000-1"/);
    ac.abort();

    const body = JSON.stringify({ worker: 'nobody', index: 0, action: 'pause' });
    const post = (t: string) => fetch(`${base}/dashboard/api/worker?token=${t}`, { method: 'POST', body });
    assert.equal((await post(read)).status, 403);
    const unknown = await post(admin);
    assert.equal(unknown.status, 404);
    assert.match(await unknown.text(), /unknown worker nobody/);
    const bad = await fetch(`${base}/dashboard/api/worker?token=${admin}`, { method: 'POST', body: '{"worker":1}' });
    assert.equal(bad.status, 400);
  } finally {
    await api.close();
    await d.close();
  }
});

test('dashboard: bitIndexes lists the set bits of a Lotus-JSON RLE bitfield', () => {
  assert.deepEqual(bitIndexes([0, 1, 1, 2, 3, 1]), [0, 2, 3, 7]);
  assert.deepEqual(bitIndexes(BitField.fromNumbers([4, 9, 10]).toJSON()), [4, 9, 10]);
  assert.deepEqual(bitIndexes(null), []);
});

test('dashboard: a sector timeline is what workers reported, in order, and outlives a manager restart', async () => {
  const { home, start } = managerHome('vsm-dash-tl-');
  const { token } = await loadOrInitRepoAuth(home);
  const read = async (port: number) =>
    (await fetch(`http://127.0.0.1:${port}/dashboard/api/state?token=${token}`).then((r) =>
      r.json(),
    )) as DashboardState;

  let d = await start();
  const api = createClient(ManagerAPI, { url: `http://127.0.0.1:${d.address.port}/rpc/v0` });
  const s = await api.AllocateSector({ AllowedMiners: null, AllowedProofTypes: null });
  assert.ok(s);
  const report = (Next: string, Event: string, Failure: { Level: string; Desc: string } | null = null) =>
    api.ReportState(s.ID, {
      Worker: { Instance: 'w1', Location: '/seal/0' },
      StateChange: { Prev: '', Next, Event },
      Failure,
    });
  await report('DealsAcquired', 'SectorDealsAcquired');
  await report('DealsAcquired', 'SectorDealsAcquired'); // a worker re-reporting after its restart
  await report('PieceAdded', 'SectorPieceAdded', { Level: 'Temporary', Desc: 'disk busy' });
  await report('PieceAdded', 'SectorPieceAdded');
  await api.ReportFinalized(s.ID);
  await api.close();
  const before = (await read(d.address.port)).sectors[0];
  await d.close();

  d = await start();
  try {
    const st = await read(d.address.port);
    const row = st.sectors[0];
    assert.equal(row?.state, 'Finalized');
    assert.deepEqual(
      row?.timeline.map((t) => [t.state, t.event, t.failure]),
      [
        ['Allocated', null, null],
        ['DealsAcquired', 'SectorDealsAcquired', null],
        ['PieceAdded', 'SectorPieceAdded', 'Temporary: disk busy'],
        ['PieceAdded', 'SectorPieceAdded', null],
        ['Finalized', null, null],
      ],
    );
    assert.deepEqual(row?.timeline, before?.timeline, 'the same after a restart');
    const at = row?.timeline.map((t) => t.at) ?? [];
    assert.deepEqual(
      at,
      [...at].sort((a, b) => a - b),
      'in time order',
    );
    // the time in each state feeds the sector-manager's histogram (what a worker reported, the manager timed)
    const metrics = await fetch(`http://127.0.0.1:${d.address.port}/metrics`).then((r) => r.text());
    assert.match(
      metrics,
      /venus_sector_state_duration_seconds_count\{[^}]*state="DealsAcquired",sector_size="2KiB"[^}]*\} [1-9]/,
    );
    assert.match(
      metrics,
      /venus_sector_state_duration_seconds_count\{[^}]*state="PieceAdded",sector_size="2KiB"[^}]*\} [1-9]/,
    );
    // the current deadline is listed even with no partitions
    assert.equal(st.deadlines.filter((x) => x.current).length, 1);
  } finally {
    await d.close();
  }
});
