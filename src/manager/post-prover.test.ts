// The daemon's Window PoSt prover on a real sealed 2KiB sector laid out in a persist store: its proof bytes
// are what the devnet verifies (checked with the devnet's own verifier), stand-ins for skipped sectors
// collapse into the sector they repeat, and missing, short or corrupted sectors come back as faults.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SealedFixture } from '../proofs/porep/fixture.js';
import { postRandomness } from '../proofs/post/challenges.js';
import { decodePoStProof } from '../proofs/prover/index.js';
import { devnetPoStVerdict, placedPoStSector, placeSealedSector, sealTestSector } from './harness.test-util.js';
import { LocalWindowPoStProver } from './proofs.js';
import type { PoStSector, WindowPoStInput } from './prover.js';
import { cacheDir, sealedPath } from './stores.js';

const MINER = 1000;
const WINDOW_2K = 10; // StackedDrgWindow2KiBV1_1
const randomness = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff); // top bits set: the prover clears them

let dir: string;
let store: string;
let fixture: SealedFixture;

const sector = (n: number): PoStSector => placedPoStSector(store, fixture, MINER, n);

function place(...ns: number[]): void {
  for (const n of ns) placeSealedSector(store, { Miner: MINER, Number: n }, fixture);
}

function input(sectors: PoStSector[], over: Partial<WindowPoStInput> = {}): WindowPoStInput {
  return { minerId: MINER, postProof: WINDOW_2K, randomness, sectors, ...over };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vsm-post-'));
  store = join(dir, 'store');
  fixture = await sealTestSector(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalWindowPoStProver', () => {
  const prover = new LocalWindowPoStProver({ concurrency: 2 });

  it('proves a batch in the devnet format; stand-ins collapse into the sector they repeat', async () => {
    place(1, 2, 3);
    // partition 0: [1, 2] with 2 skipped (stand-in 1), partition 1: [3]
    const i = input([sector(1), sector(1), sector(3)]);
    const out = await prover.generateWindowPoSt(i);
    assert.deepEqual(out.faults, []);
    const { postProof, proofs } = decodePoStProof(out.proofBytes, {
      randomness: postRandomness(randomness),
      sectors: [1n, 3n].map((sectorId) => ({ sectorId, commR: fixture.commR })),
    });
    assert.equal(postProof, WINDOW_2K);
    assert.deepEqual(
      proofs.map((p) => p.sectorId),
      [1n, 3n],
    );
    assert.equal(proofs[0]!.vanillaProof.inclusionProofs.length, 10);
    assert.equal(devnetPoStVerdict(i, out.proofBytes), undefined);
    assert.equal(await prover.verifyWindowPoSt(i, out.proofBytes), true);

    // the same bytes do not prove anything else
    const other = new Uint8Array(randomness);
    other[0] ^= 1;
    assert.equal(await prover.verifyWindowPoSt({ ...i, randomness: other }, out.proofBytes), false);
    assert.match(devnetPoStVerdict({ ...i, randomness: other }, out.proofBytes)!, /inclusion proof/);
    // (the prover id does not enter Window PoSt v1.2's leaf challenges: another miner id changes nothing)
    assert.equal(await prover.verifyWindowPoSt(input([sector(1), sector(2), sector(3)]), out.proofBytes), false);
    assert.equal(await prover.verifyWindowPoSt(i, new TextEncoder().encode('{}')), false);
    assert.equal(await prover.verifyWindowPoSt(i, out.proofBytes.subarray(0, out.proofBytes.length - 1)), false);
  });

  it('reports missing, short and corrupted sectors as faults; the rest proves without them', async () => {
    place(4, 5, 6, 7, 8);
    unlinkSync(sealedPath(store, { Miner: MINER, Number: 5 }));
    truncateSync(sealedPath(store, { Miner: MINER, Number: 6 }), 1024);
    // every node of the replica changed: whatever leaves are challenged, their paths break
    const p7 = sealedPath(store, { Miner: MINER, Number: 7 });
    writeFileSync(
      p7,
      readFileSync(p7).map((b, k) => (k % 32 === 0 ? b ^ 1 : b)),
    );
    unlinkSync(join(cacheDir(store, { Miner: MINER, Number: 8 }), 'p_aux'));
    const all = [4, 5, 6, 7, 8].map(sector);
    const out = await prover.generateWindowPoSt(input(all));
    assert.deepEqual(out.faults, [5, 6, 7, 8]);
    assert.equal(out.proofBytes.length, 0);

    // what the poster does next: the faulty ones skipped, replaced by the first good sector
    const retry = input(all.map((s) => (s.sectorNumber === 4 ? s : sector(4))));
    const ok = await prover.generateWindowPoSt(retry);
    assert.deepEqual(ok.faults, []);
    assert.equal(devnetPoStVerdict(retry, ok.proofBytes), undefined);

    for (const [n, re] of [
      [4, undefined],
      [5, /ENOENT/],
      [6, /size 1024, expected 2048/],
      [7, /does not verify|not p_aux|tree-r-last/],
      [8, /p_aux/],
    ] as const) {
      const why = await prover.checkSector(sector(n), MINER, WINDOW_2K);
      if (re === undefined) assert.equal(why, undefined);
      else assert.match(why ?? 'provable', re, `sector ${n}`);
    }
  });

  it('refuses a sector of another size and a proof that is not Window PoSt', async () => {
    place(9);
    assert.match((await prover.checkSector({ ...sector(9), sealProof: 8 }, MINER, WINDOW_2K))!, /sector size/);
    assert.match((await prover.checkSector(sector(9), MINER, 0))!, /not a Window PoSt/);
    const out = await prover.generateWindowPoSt(input([{ ...sector(9), sealProof: 8 }]));
    assert.deepEqual(out.faults, [9]);
    await assert.rejects(prover.generateWindowPoSt(input([])), /no sectors/);
  });
});
