import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignDeadlines } from './assign.js';
import {
  currentProvingPeriodStart,
  deadlineInfoAt,
  deadlineInfoJson,
  deadlineIsMutable,
  newDeadlineInfo,
  nextNotElapsed,
  quantizeDown,
  quantizeUp,
} from './dline.js';
import { assignProvingPeriodOffset } from './miner.js';
import { makePolicy, networkParamsJson, policyFromJson, policyToJson } from './policy.js';
import { idAddressCbor } from './testkit.js';

const p = makePolicy();

test('DeadlineInfo matches the lotus StateMinerProvingDeadline sample (docs/spec/chain.md §Deadline info)', () => {
  // a miner whose proving period starts at 9660 (offset 9660 mod 2880 = 1020), at epoch 10101
  assert.deepEqual(deadlineInfoJson(deadlineInfoAt(p, 1020, 10101)), {
    CurrentEpoch: 10101,
    PeriodStart: 9660,
    Index: 7,
    Open: 10080,
    Close: 10140,
    Challenge: 10060,
    FaultCutoff: 10010,
    WPoStPeriodDeadlines: 48,
    WPoStProvingPeriod: 2880,
    WPoStChallengeWindow: 60,
    WPoStChallengeLookback: 20,
    FaultDeclarationCutoff: 70,
  });
});

test('quantization follows builtin-actors QuantSpec, including negative epochs', () => {
  const q = { unit: 10, offset: 3 };
  assert.equal(quantizeUp(q, 3), 3);
  assert.equal(quantizeUp(q, 4), 13);
  assert.equal(quantizeUp(q, 13), 13);
  assert.equal(quantizeUp(q, -5), 3); // ceil(-0.8) = 0: the grid point above -5 is 3
  assert.equal(quantizeUp(q, -7), -7);
  assert.equal(quantizeDown(q, 12), 3);
  assert.equal(quantizeDown(q, -8), -17);
});

test('next-not-elapsed, mutability and proving period start', () => {
  const d = newDeadlineInfo(p, 0, 2, 500);
  assert.equal(d.close, 180);
  const n = nextNotElapsed(p, d);
  assert.equal(n.periodStart, 2880);
  assert.equal(n.open, 2880 + 120);
  // current deadline (index 8 at epoch 500) and the next one are immutable, the one after is mutable
  assert.equal(deadlineIsMutable(p, 0, 8, 500), false);
  assert.equal(deadlineIsMutable(p, 0, 9, 500), false);
  assert.equal(deadlineIsMutable(p, 0, 10, 500), true);
  assert.equal(deadlineIsMutable(p, 0, 7, 500), true);
  // last deadline of the period: the next is deadline 0 of the next period
  assert.equal(deadlineIsMutable(p, 0, 0, 2830), false);
  assert.equal(currentProvingPeriodStart(p, 5000, 1000), 3880);
  assert.equal(currentProvingPeriodStart(p, 5000, 120), 3000);
  assert.equal(currentProvingPeriodStart(p, 5000, 2500), 2500);
});

test('proving period offset is blake2b(cbor(addr) ‖ BE_i64(epoch)) mod the period, and stays in range', () => {
  const seen = new Set<number>();
  for (let id = 1000; id < 1040; id++) {
    const o = assignProvingPeriodOffset(p, idAddressCbor(id), 0);
    assert.ok(o >= 0 && o < 2880);
    seen.add(o);
  }
  assert.ok(seen.size > 30, 'offsets spread over the period');
  assert.notEqual(
    assignProvingPeriodOffset(p, idAddressCbor(1000), 0),
    assignProvingPeriodOffset(p, idAddressCbor(1000), 1),
  );
});

// The cases of builtin-actors actors/miner/tests/deadline_assignment.rs (partition size 4, 100 partitions max).
test('deadline assignment reproduces the builtin-actors test cases', () => {
  type Spec = { live: number; dead: number; expect: number[] } | null;
  const cases: { sectors: number; deadlines: Spec[] }[] = [
    {
      sectors: 10,
      deadlines: [
        { live: 0, dead: 0, expect: [0, 1, 2, 3, 8, 9] },
        { live: 0, dead: 0, expect: [4, 5, 6, 7] },
      ],
    },
    {
      sectors: 5,
      deadlines: [{ live: 0, dead: 0, expect: [3, 4] }, null, null, { live: 1, dead: 0, expect: [0, 1, 2] }],
    },
    {
      sectors: 1,
      deadlines: [
        { live: 8, dead: 0, expect: [] },
        { live: 7, dead: 5, expect: [0] },
      ],
    },
    {
      sectors: 1,
      deadlines: [
        { live: 4, dead: 4, expect: [] },
        { live: 4, dead: 0, expect: [0] },
      ],
    },
    {
      sectors: 1,
      deadlines: [
        { live: 1, dead: 0, expect: [] },
        { live: 2, dead: 0, expect: [0] },
      ],
    },
    {
      sectors: 1,
      deadlines: [
        { live: 1, dead: 0, expect: [] },
        { live: 0, dead: 2, expect: [0] },
      ],
    },
    {
      sectors: 1,
      deadlines: [
        { live: 0, dead: 1, expect: [] },
        { live: 0, dead: 2, expect: [0] },
      ],
    },
    {
      sectors: 1,
      deadlines: [
        { live: 1, dead: 1, expect: [] },
        { live: 0, dead: 2, expect: [0] },
      ],
    },
  ];
  cases.forEach((tc, i) => {
    const loads = tc.deadlines.flatMap((d, index) =>
      d ? [{ index, liveSectors: d.live, totalSectors: d.live + d.dead }] : [],
    );
    const sectors = [...Array(tc.sectors).keys()];
    const got = assignDeadlines(100, 4, loads, sectors, 48);
    tc.deadlines.forEach((d, idx) => {
      assert.deepEqual(got[idx], d ? d.expect : [], `case ${i}, deadline ${idx}`);
    });
  });
  const all48 = Array.from({ length: 48 }, (_, index) => ({ index, liveSectors: 0, totalSectors: 0 }));
  assert.throws(() => assignDeadlines(5, 5, all48, [...Array(1201).keys()], 48), /max partitions/);
  assert.ok(assignDeadlines(5, 5, all48, [...Array(1200).keys()], 48).every((s) => s.length === 25));
});

test('policy overrides keep the proving period consistent and round-trip through JSON', () => {
  const fast = makePolicy({
    wpostChallengeWindow: 10,
    wpostPeriodDeadlines: 6,
    wpostChallengeLookback: 3,
    faultDeclarationCutoff: 5,
  });
  assert.equal(fast.wpostProvingPeriod, 60);
  assert.equal(fast.wpostMaxChainCommitAge, 10);
  assert.deepEqual(policyFromJson(JSON.parse(JSON.stringify(policyToJson(fast)))), fast);
  assert.throws(() => makePolicy({ faultDeclarationCutoff: 10 }), /faultDeclarationCutoff/);
  assert.throws(() => makePolicy({ sectorSizes: [4096] }), /not a Filecoin sector size/);
  const j = networkParamsJson(p, 123) as { PreCommitChallengeDelay: number; Policy: { WPoStProvingPeriod: number } };
  assert.equal(j.PreCommitChallengeDelay, 10);
  assert.equal(j.Policy.WPoStProvingPeriod, 2880);
});
