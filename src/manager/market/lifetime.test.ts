import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SectorPieceV2 } from '../../api/sealer.js';
import { TEST_POLICY } from '../testkit.js';
import { dealWindow, sectorExpiration, unsealableDeals } from './lifetime.js';

const P = { ...TEST_POLICY, preCommitChallengeDelay: 150 };
const DAY = P.epochsInDay;

function deal(o: { id?: number; alloc?: number; start: number; end: number }): SectorPieceV2 {
  return {
    Piece: { Size: 512, PieceCID: { '/': 'baga' } },
    DealInfo: {
      DealID: o.id ?? 0,
      AllocationID: o.alloc ?? 0,
      PayloadSize: 100,
      StartEpoch: o.start,
      EndEpoch: o.end,
      IsBuiltinMarket: (o.id ?? 0) > 0,
      IsCompatible: false,
    },
  };
}
const filler: SectorPieceV2 = {
  Piece: { Size: 512, PieceCID: { '/': 'baga' } },
  DealInfo: { DealID: 0, AllocationID: 0, PayloadSize: 0, IsBuiltinMarket: false, IsCompatible: false },
};

test('a CC sector lives LifetimeDays, within the chain bounds', () => {
  const r = sectorExpiration(1000, P, null, 540);
  assert.deepEqual(r, { expiration: 1000 + 150 + 540 * DAY });
  // too short a lifetime: the chain's minimum plus a month for the ProveCommit
  assert.deepEqual(sectorExpiration(1000, P, null, 10), { expiration: 1000 + 150 + P.minSectorExpiration + 31 * DAY });
  // too long: the chain's maximum
  assert.deepEqual(sectorExpiration(1000, P, null, 5000), { expiration: 1000 + 150 + P.maxSectorExpirationExtension });
  // pledge fillers are not deals
  assert.deepEqual(sectorExpiration(1000, P, [filler], 540), r);
});

test('a deal sector expires when its last deal ends: never before any deal end', () => {
  const pieces = [
    deal({ alloc: 7, start: 5000, end: 900 * DAY }),
    filler,
    deal({ id: 12, start: 6000, end: 800 * DAY }),
  ];
  const r = sectorExpiration(1000, P, pieces, 540);
  assert.deepEqual(r, { expiration: 900 * DAY });
  assert.ok('expiration' in r && pieces.every((p) => r.expiration >= (p.DealInfo?.EndEpoch ?? 0)));
  // a short deal: the chain's minimum lifetime (still after the deal's end)
  const short = sectorExpiration(1000, P, [deal({ id: 3, start: 5000, end: 100 * DAY })], 540);
  assert.deepEqual(short, { expiration: 1000 + 150 + P.minSectorExpiration + 31 * DAY });
  // the chain's rule (builtin-actors validate_expiration): from the PreCommit's epoch plus the longest ProveCommit
  // delay (30 days + PreCommitChallengeDelay) the sector lives MinSectorExpiration, also when the PreCommit lands
  // hours after the expiration was chosen (seen on the devnet: 2 epochs late failed with "must exceed 518400")
  const landed = 1000 + DAY / 2;
  const exp = (short as { expiration: number }).expiration;
  assert.ok(exp - (landed + 30 * DAY + 150) >= P.minSectorExpiration, `${exp}`);
});

test('deals a sector cannot cover are refused with the reason', () => {
  const w = dealWindow(1000, P);
  assert.deepEqual(w, { start: 1150, end: 1150 + P.maxSectorExpirationExtension });
  const tooLong = sectorExpiration(1000, P, [deal({ id: 4, start: 5000, end: w.end + 1 })]);
  assert.ok('error' in tooLong);
  assert.match(tooLong.error, /^deal 4 ends at epoch \d+, after the latest expiration this sector can have/);
  const late = unsealableDeals([deal({ alloc: 9, start: 1150, end: 600 * DAY })], 1000, P);
  assert.equal(late?.reason, 'start_passed');
  assert.match(late?.why ?? '', /^allocation 9 starts at epoch 1150, before this sector could be proven \(head 1000/);
  assert.equal(unsealableDeals([deal({ alloc: 9, start: 1151, end: 600 * DAY })], 1000, P), undefined);
});
