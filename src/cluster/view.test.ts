import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { bitCount, type DeadlineView, dutiesHeld, nextPoSt, type Snapshot, threadsFrom } from './probe.js';
import { createView, formatElapsed, formatStates, progressOf, renderLines } from './view.js';

// 2k policy: 48 deadlines of 60 epochs, proving period 2880
const dl = (current: number, periodStart: number): DeadlineView => {
  const index = Math.floor((current - periodStart) / 60) % 48;
  return {
    index,
    deadlines: 48,
    open: periodStart + index * 60,
    close: periodStart + index * 60 + 60,
    current,
    challengeWindow: 60,
    provingPeriod: 2880,
  };
};

const snap: Snapshot = {
  at: Date.now(),
  chain: {
    height: 1234,
    onChain: 2,
    active: 1,
    unproven: 1,
    faulty: 0,
    sectorDeadlines: [3, 7],
    deadline: dl(1234, 1000),
    next: { deadline: 7, open: 1420, isOpen: false, epochs: 186 },
    lastPoSt: { deadline: 3, periodStart: 1000, seenAt: 1190, partitions: 1 },
  },
  sectors: { Finalized: 2, PC1Done: 1, TicketAssigned: 1 },
  threads: threadsFrom([
    {
      location: '/c/worker/seal-1',
      plan: 'sealer',
      job_id: 's-t01000-3',
      index: 0,
      thread_state: { state: 'Running', elapsed: 75 },
      job_state: 'TicketAssigned',
      job_stage: 'PC1',
      last_error: null,
    },
    { location: '/c/worker/seal-2', index: 1, thread_state: { state: 'Paused' }, last_error: 'disk full' },
  ]),
  managerPoSt: { miner: '1000', deadline: 3, epoch: 1185, ok: true, proven: 1, faulty: 0 },
  errors: {},
};

describe('live view', () => {
  test('next Window PoSt deadline among the sector deadlines', () => {
    // period starts at 1000; at 1234 the current deadline is 3 (1180–1240)
    assert.deepEqual(nextPoSt(dl(1234, 1000), [3, 7]), { deadline: 3, open: 1180, isOpen: true, epochs: 6 });
    assert.deepEqual(nextPoSt(dl(1241, 1000), [3, 7]), { deadline: 7, open: 1420, isOpen: false, epochs: 179 });
    // after deadline 7 of this period: deadline 3 of the next period
    assert.deepEqual(nextPoSt(dl(1500, 1000), [3, 7]), {
      deadline: 3,
      open: 1000 + 2880 + 180,
      isOpen: false,
      epochs: 4060 - 1500,
    });
    assert.equal(nextPoSt(dl(1500, 1000), []), undefined);
  });

  test('bitfield counts and worker rows', () => {
    assert.equal(bitCount([0, 3, 5, 2]), 5); // {0,1,2,8,9}
    assert.equal(bitCount([0]), 0);
    assert.equal(bitCount([2, 1]), 1);
    assert.equal(bitCount(null), 0);
    const [t0, t1] = snap.threads!;
    assert.deepEqual(t0, {
      index: 0,
      location: '/c/worker/seal-1',
      sector: 's-t01000-3',
      state: 'Running',
      jobState: 'TicketAssigned',
      stage: 'PC1',
      elapsedSec: 75,
    });
    assert.deepEqual(t1, { index: 1, location: '/c/worker/seal-2', state: 'Paused', lastError: 'disk full' });
    assert.equal(
      threadsFrom([{ thread_state: { state: 'Running', elapsed: { secs: 9, nanos: 5 } } }])[0]?.elapsedSec,
      9,
    );
  });

  test('what a snapshot shows', () => {
    const text = renderLines({ home: '/c', sectorSize: '2KiB', miner: 't01000' }, snap, (t) => t.elapsedSec).join('\n');
    assert.match(text, /^chain {5}height 1234 {3}deadline 3\/48 \(epochs 1180–1240\)$/m);
    assert.match(text, /^on chain {2}2 sector\(s\): active 1, unproven 1, faulty 0 {3}in deadline\(s\) 3, 7$/m);
    assert.match(text, /^Window PoSt {2}next: deadline 7 opens at epoch 1420 \(in 186 epochs\)$/m);
    assert.match(
      text,
      /^last PoSt manager: deadline 3 at epoch 1185 ok, 1 proven, 0 faulty {3}chain: deadline 3 submitted/m,
    );
    assert.match(text, /^sectors {3}TicketAssigned 1 · PC1Done 1 · Finalized 2$/m);
    assert.match(text, /^ {3}0 seal-1 {3}s-t01000-3 {5}Running {2}PC1 {16}█{3}░{7} {2}5\/16 +1:15$/m);
    assert.match(text, /^ {3}1 seal-2 {3}- {14}Paused .* ! disk full$/m);
    const down = renderLines(
      { home: '/c', sectorSize: '2KiB' },
      { at: 0, errors: { chain: 'not listening', worker: 'not listening' } },
      () => undefined,
    );
    assert.ok(down.includes('chain     unavailable: not listening'));
    assert.ok(down.includes('  worker unavailable: not listening'));
  });

  test('several managers: who holds which duty, a standby, one down', () => {
    assert.deepEqual(
      dutiesHeld(
        'venus_sector_manager_duty_held{duty="chain"} 1\nvenus_sector_manager_duty_held{duty="post"} 1\n' +
          'venus_sector_manager_duty_held{duty="commit"} 0\nother 1\n',
      ),
      ['post', 'chain'],
    );
    assert.deepEqual(dutiesHeld(''), []);
    const lines = renderLines(
      { home: '/h', sectorSize: '2KiB' },
      {
        at: 0,
        errors: {},
        managers: [
          { name: 'manager-1', duties: ['post', 'chain'] },
          { name: 'manager-2', duties: [] },
          { name: 'manager-3', duties: [], error: 'not listening' },
        ],
      },
      () => undefined,
    );
    assert.ok(
      lines.includes('managers  manager-1: post, chain · manager-2: standby · manager-3: down (not listening)'),
      lines.join('\n'),
    );
    // one manager: no such line
    assert.ok(
      !renderLines({ home: '/h', sectorSize: '2KiB' }, { at: 0, errors: {} }, () => undefined).some((l) =>
        l.startsWith('managers'),
      ),
    );
  });

  test('helpers', () => {
    assert.equal(formatElapsed(75), '1:15');
    assert.equal(formatElapsed(3725), '1:02:05');
    assert.equal(formatElapsed(undefined), '');
    assert.deepEqual(progressOf('PC2Done'), { step: 7, of: 16 });
    assert.equal(progressOf('Weird'), undefined);
    assert.equal(formatStates({ Zed: 1, Allocated: 2 }), 'Allocated 2 · Zed 1');
  });

  test('line mode prints what changed, once', () => {
    const out = new PassThrough();
    let written = '';
    out.on('data', (b: Buffer) => {
      written += b.toString();
    });
    const v = createView('auto', out as unknown as NodeJS.WriteStream, { home: '/c', sectorSize: '2KiB' });
    v.update(snap, []);
    const first = written;
    assert.match(first, /thread 0 seal-1 +s-t01000-3 +Running +PC1/);
    assert.match(first, /height 1234, 2 sector\(s\) on chain/);
    written = '';
    v.update({ ...snap, chain: { ...snap.chain!, height: 1235, next: { ...snap.chain!.next!, epochs: 185 } } }, []);
    assert.equal(written, ''); // only the height and a countdown moved
    const moved = structuredClone(snap);
    moved.threads![0]!.stage = 'PC2';
    moved.threads![0]!.jobState = 'PC1Done';
    v.update(moved, []);
    assert.match(written, /thread 0 seal-1 +s-t01000-3 +Running +PC2/);
    assert.doesNotMatch(written, /seal-2/);
    v.event('manager: ready');
    assert.match(written, /\d\d:\d\d:\d\d manager: ready\n$/);
    v.stop();
  });

  test('terminal mode redraws in place', () => {
    const out = new PassThrough() as unknown as NodeJS.WriteStream & { isTTY: boolean };
    out.isTTY = true;
    out.columns = 100;
    out.rows = 30;
    let written = '';
    (out as unknown as PassThrough).on('data', (b: Buffer) => {
      written += b.toString();
    });
    const v = createView('auto', out, { home: '/c', sectorSize: '2KiB', miner: 't01000' });
    v.update(snap, []);
    assert.ok(written.startsWith('\x1b[?25l')); // cursor hidden
    assert.match(written, /\x1b\[H.*venus-cluster.*miner t01000/s);
    assert.match(written, /height 1234/);
    v.stop();
    assert.ok(written.endsWith('\x1b[?25h\n')); // cursor back
  });
});
