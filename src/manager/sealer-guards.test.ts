/** Attacks on the worker API that only input checks stop (docs/security.md): H2, H5, M3, M4. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytes32ToJson, ManagerAPI, SubmitResult } from '../api/sealer.js';
import { createClient } from '../rpc/index.js';
import { makeHarness, managerHome, preCommitInfoFor } from './harness.test-util.js';
import { boundedCheck, MAX_CHECK_SECTORS, provableNumbers } from './provable.js';
import { MAX_TEXT } from './reports.js';

const SPEC = { AllowedMiners: null, AllowedProofTypes: null };

test('H2: SubmitPreCommit(reset=true) never replaces a CommR that is queued, pending or on chain', async () => {
  const h = makeHarness();
  const s = h.sealer;
  const sector = (await s.allocateSector(SPEC))!;
  const sid = sector.ID;
  const ticket = await s.assignTicket(sid);
  const info = preCommitInfoFor(sid, ticket);
  const bogus = { ...info, CommR: bytes32ToJson(new Uint8Array(32).fill(7)) };
  assert.equal((await s.submitPreCommit(sector, info, false)).Res, SubmitResult.Accepted);
  const recorded = h.db.getSector(sid)!.state.Pre;

  // queued (not yet pushed), then pending in the messager, then on chain: the attacker's reset is refused each time
  const queued = await s.submitPreCommit(sector, bogus, true);
  await h.commit.idle();
  const pending = await s.submitPreCommit(sector, bogus, true);
  await h.chain.mine(3);
  const landed = await s.submitPreCommit(sector, bogus, true);
  for (const [when, r] of [
    ['queued', queued],
    ['pending', pending],
    ['on chain', landed],
  ] as const) {
    assert.equal(r.Res, SubmitResult.MismatchedSubmission, `${when}: ${r.Desc}`);
    assert.match(r.Desc ?? '', /cannot reset the PreCommit/);
  }
  assert.match(landed.Desc ?? '', /a PreCommit with SealedCID \S+ is on chain/);
  assert.deepEqual(h.db.getSector(sid)!.state.Pre, recorded, 'the recorded CommR is intact');
  assert.equal(h.chain.pushed.length, 1, 'no second PreCommit was sent');

  // the same PreCommit again with reset is fine (a worker that lost the answer)
  assert.equal((await s.submitPreCommit(sector, info, true)).Res, SubmitResult.Accepted);
  // a record without its PreCommit (lost, restored): the chain's SealedCID is compared
  const st = h.db.getSector(sid)!.state;
  delete st.Pre;
  h.db.putSector(st, true);
  const r = await s.submitPreCommit(sector, bogus, false);
  assert.equal(r.Res, SubmitResult.Rejected);
  assert.match(r.Desc ?? '', /the PreCommit on chain has SealedCID \S+, not \S+/);
  assert.equal(h.db.getSector(sid)!.state.Pre, undefined);
  assert.equal((await s.submitPreCommit(sector, info, false)).Res, SubmitResult.Accepted);
  assert.deepEqual(h.db.getSector(sid)!.state.Pre, recorded);
  h.commit.stop();
});

test('H5: AllocateSectorsBatch takes 1..64 sectors, never coerces the count, never passes MaxNumber', async () => {
  const h = makeHarness({ cfgText: '[[SectorManager.Miners]]\nID = 1000\n' }); // no MaxNumber
  const s = h.sealer;
  const rows = () => (h.db.db.prepare('SELECT count(*) AS n FROM sectors').get() as { n: number }).n;
  for (const count of [1e9, 10_000, 65, 0, -1, 1.5, '5', null, Number.NaN, { n: 5 }] as unknown[])
    await assert.rejects(
      s.allocateSectorsBatch(SPEC, count as number),
      /AllocateSectorsBatch: count must be an integer from 1 to 64, got /,
      String(count),
    );
  assert.equal(rows(), 0, 'nothing allocated');
  assert.equal(h.db.lastNumber(1000), undefined, 'no number burnt');
  assert.equal((await s.allocateSectorsBatch(SPEC, 64)).length, 64);
  h.commit.stop();
  // MaxNumber caps a batch: what is left, then nothing
  const capped = makeHarness({ cfgText: '[[SectorManager.Miners]]\nID = 1000\nMaxNumber = 5\n' });
  assert.deepEqual(
    (await capped.sealer.allocateSectorsBatch(SPEC, 64)).map((x) => x.ID.Number),
    [1, 2, 3, 4, 5],
  );
  assert.deepEqual(await capped.sealer.allocateSectorsBatch(SPEC, 3), []);
  assert.equal(capped.db.lastNumber(1000), 5);
  capped.commit.stop();
});

test('M3: worker strings become bounded rows and known metric labels; a malformed report is refused, state intact', async () => {
  const { start } = managerHome('vsm-m3-');
  const d = await start();
  const base = `http://127.0.0.1:${d.address.port}`;
  const api = createClient(ManagerAPI, { url: `${base}/rpc/v0` });
  const worker = { Instance: 'w', Location: '/seal/1' };
  try {
    const sid = (await api.AllocateSector(SPEC))!.ID;
    const before = (await fetch(`${base}/metrics`).then((r) => r.text())).length;
    // the attack: a fresh state name per call grows one histogram series each
    for (let i = 0; i < 300; i++)
      await api.ReportState(sid, {
        Worker: worker,
        StateChange: { Prev: 'x', Next: `fuzz_state_${i}`, Event: 'e' },
        Failure: null,
      });
    await api.ReportState(sid, {
      Worker: worker,
      StateChange: { Prev: 'x', Next: 'PC1Done', Event: 'e' },
      Failure: null,
    });
    const metrics = await fetch(`${base}/metrics`).then((r) => r.text());
    assert.doesNotMatch(metrics, /fuzz_state_/);
    assert.match(metrics, /venus_sector_state_duration_seconds_count\{[^}]*state="other"/);
    assert.ok(metrics.length - before < 20_000, `/metrics grew by ${metrics.length - before} bytes`);

    // 60 KB of text in a failure (the API refuses more than 64 KiB): stored cut at 4 KiB with a marker
    const big = 'A'.repeat(60_000);
    await api.ReportState(sid, {
      Worker: worker,
      StateChange: { Prev: 'PC1Done', Next: 'PC1Done', Event: 'e' },
      Failure: { Level: 'Temporary', Desc: big },
    });
    const desc = d.store.getSector(sid)!.state.LatestState!.Failure!.Desc;
    assert.equal(desc.length, MAX_TEXT);
    assert.match(desc, / … \[truncated: 60000 chars\]$/);
    assert.ok(d.store.sectorEvents(sid).every((e) => (e.failure ?? '').length <= MAX_TEXT + 32));
    const kept = d.store.getSector(sid)!.state;
    // no Worker (it broke the dashboard), a non-string reason, a 1 MiB state name: refused, nothing stored
    for (const [what, call] of [
      [
        'no Worker',
        () => api.ReportState(sid, { StateChange: { Prev: 'A', Next: 'B', Event: 'E' }, Failure: null } as never),
      ],
      ['no StateChange', () => api.ReportState(sid, { Worker: worker, Failure: null } as never)],
      [
        'numeric Next',
        () =>
          api.ReportState(sid, {
            Worker: worker,
            StateChange: { Prev: 'A', Next: 1, Event: 'E' },
            Failure: null,
          } as never),
      ],
      ['reason object', () => api.ReportAborted(sid, { why: 1 } as never)],
    ] as const)
      await assert.rejects(call(), /invalid params: (req\.Worker|req\.StateChange|reason)/, what);
    assert.deepEqual(d.store.getSector(sid)!.state, kept);
    await api.ReportAborted(sid, big);
    const aborted = d.store.getSector(sid)!.state.AbortReason;
    assert.equal(aborted.length, MAX_TEXT);
    // a WorkerPing with markup counts or a 1 MiB name is refused
    const summary = { Threads: 1, Empty: 1, Paused: 0, Running: 0, Waiting: 0, Errors: 0 };
    await assert.rejects(
      api.WorkerPing({ Name: 'w', Dest: '', Version: 'x', Summary: { ...summary, Threads: '<img>' as never } }),
      /invalid params: info\.Summary\.Threads must be a non-negative/,
    );
    await assert.rejects(
      api.WorkerPing({ Name: big, Dest: '', Version: 'x', Summary: summary }),
      /invalid params: info\.Name must be/,
    );
    assert.equal((await api.WorkerPingInfoList())?.length ?? 0, 0);
  } finally {
    await api.close();
    await d.close();
  }
});

test('M4: CheckProvable takes at most a partition, deduplicated; checks a few sectors per step, one call at a time', async () => {
  const { start } = managerHome('vsm-m4-');
  const d = await start();
  const api = createClient(ManagerAPI, { url: `http://127.0.0.1:${d.address.port}/rpc/v0` });
  const si = (n: unknown) => ({ SealProof: 5, SectorNumber: n, SectorKey: null, SealedCID: { '/': 'x' } }) as never;
  try {
    await assert.rejects(
      api.CheckProvable(
        1000,
        5,
        Array.from({ length: MAX_CHECK_SECTORS + 1 }, (_, i) => si(i)),
        true,
        false,
      ),
      /CheckProvable: at most 2349 sectors per call \(a partition\), got 2350/,
    );
    await assert.rejects(
      api.CheckProvable(1000, 5, [si('1')], false, false),
      /sectors\[0\]\.SectorNumber must be a non-negative integer/,
    );
    await assert.rejects(api.CheckProvable(1000, 5, [si(1)], 'yes' as never, false), /strict must be true or false/);
    // the attack: one sector repeated; answered once, and fast
    const t0 = Date.now();
    const res = await api.CheckProvable(
      1000,
      5,
      Array.from({ length: 2000 }, () => si(1)),
      true,
      false,
    );
    assert.deepEqual(Object.keys(res ?? {}), ['1']);
    assert.ok(Date.now() - t0 < 5_000, `${Date.now() - t0} ms`);
    assert.equal((await fetch(`http://127.0.0.1:${d.address.port}/healthcheck`)).status, 200);
  } finally {
    await api.close();
    await d.close();
  }

  // the event loop stays free between sectors, concurrent calls queue, and a budget ends a long check
  const calls: number[][] = [];
  const busy = (ms: number) => {
    const end = Date.now() + ms;
    while (Date.now() < end);
  };
  const check = boundedCheck(
    async (_m, numbers) => {
      calls.push(numbers);
      busy(30 * numbers.length); // a strict check's CPU on the loop
      return new Map(numbers.filter((n) => n % 2).map((n) => [n, 'odd']));
    },
    { budgetMs: 1500 },
  );
  let worstLag = 0;
  let last = Date.now();
  const tick = setInterval(() => {
    worstLag = Math.max(worstLag, Date.now() - last);
    last = Date.now();
  }, 5);
  const numbers = Array.from({ length: 60 }, (_, i) => i);
  const [a, b] = await Promise.all([check(1000, numbers, true), check(1000, [1, 2], true)]);
  clearInterval(tick);
  // without the steps the loop would be blocked for the whole budget (1.5 s); a loaded machine adds some lag
  assert.ok(worstLag < 400, `event loop blocked for ${worstLag} ms (one sector is 30 ms)`);
  assert.ok(
    calls.every((c) => c.length === 1),
    'strict: one sector per step',
  );
  assert.equal(a['1'], 'odd');
  assert.equal(a['2'], undefined);
  const skipped = Object.entries(a).filter(([, why]) => /not checked: the CheckProvable time budget/.test(why));
  assert.ok(skipped.length > 0 && skipped.length < 60, `${skipped.length} sectors past the budget`);
  assert.deepEqual(b, { '1': 'odd' }, 'the second call ran after the first, with its own budget');
  assert.deepEqual(provableNumbers(1000, [si(3), si(3), si(4)]), [3, 4]);
});
