// Window and Winning PoSt on real, finalized 2KiB seals: challenge derivation (independent-model values,
// docs/spec/proofs.md §Test vectors), faulty-sector detection (deleted and corrupted sectors reported, the rest
// proved), the verifier's rejection of every flipped field, JSON both ways.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clearCache } from '../porep/finalize.js';
import { type SealedFixture, sealFixture } from '../porep/fixture.js';
import { postProof, type SealProofInfo, sealProof } from '../registry.js';
import {
  challengeIndex,
  leafChallenge,
  postLeafChallenges,
  postRandomness,
  sectorChallenge,
  winningPostSectorChallenge,
} from './challenges.js';
import {
  type FallbackPoStSectorProof,
  fallbackSectorProofFromJson,
  fallbackSectorProofToJson,
  generateWindowPoStVanilla,
  generateWinningPoStVanilla,
  type PoStReplica,
  partitionVanillaProofs,
  verifyPoStVanilla,
  verifyPoStVanillaOrThrow,
  windowPoStPartitions,
} from './vanilla.js';

const WINDOW_2K = postProof('StackedDrgWindow2KiBV1_1'); // rust V1_2, id 10
const WINNING_2K = postProof('StackedDrgWinning2KiBV1');
const proverId = new Uint8Array(32).map((_, i) => i);
const randomness = postRandomness(new Uint8Array(32).fill(0xc3));

let dir: string;
let base: SealedFixture<SealProofInfo>;
let replicas: PoStReplica[];

/** Sector n: a copy of one sealed sector under another id (PoSt does not look at the replica id). */
async function copySector(n: number): Promise<PoStReplica> {
  const d = join(dir, `sector-${n}`);
  await cp(base.cacheDir, join(d, 'cache'), { recursive: true });
  await cp(base.sealedPath, join(d, 'sealed'));
  return { sectorId: BigInt(n), commR: base.commR, cacheDir: join(d, 'cache'), sealedPath: join(d, 'sealed') };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'post-test-'));
  base = await sealFixture({ proof: sealProof(5), dir: join(dir, 'base'), parentDir: join(dir, 'parents') });
  await clearCache(base.cacheDir); // PoSt works from what finalize keeps
  replicas = [];
  for (const n of [7, 3, 12, 5, 9]) replicas.push(await copySector(n));
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('PoSt challenges', () => {
  it('matches the independent model (docs/spec/proofs.md §Window and Winning PoSt) and rust indexing rules', () => {
    assert.equal(sectorChallenge(new Uint8Array(32).fill(3), 0, 10, proverId), 1n);
    const winning = postLeafChallenges(WINNING_2K, new Uint8Array(32).fill(3), 1n);
    assert.equal(winning.length, 66);
    assert.deepEqual(winning.slice(0, 4), [15, 30, 60, 40]);
    // v1.2: independent of the sector's position; v1.0: sector_index · count + n
    assert.equal(challengeIndex('1.2.0', 5, 10, 3), 3);
    assert.equal(challengeIndex('1.0.0', 5, 10, 3), 53);
    const v12 = postLeafChallenges(WINDOW_2K, randomness, 9n, 4);
    assert.deepEqual(v12, postLeafChallenges(WINDOW_2K, randomness, 9n, 0));
    const old = postProof('StackedDrgWindow2KiBV1');
    assert.notDeepEqual(postLeafChallenges(old, randomness, 9n, 4), postLeafChallenges(old, randomness, 9n, 0));
    assert.equal(v12[0], leafChallenge(randomness, 9n, 0, 2048));
    assert.deepEqual(winningPostSectorChallenge(new Uint8Array(32).fill(3), 10, proverId), [1n]);
  });

  it('refuses randomness and prover ids that are not field elements', () => {
    assert.throws(() => sectorChallenge(new Uint8Array(32).fill(0xff), 0, 10, proverId), /randomness/);
    assert.throws(() => postLeafChallenges(WINDOW_2K, new Uint8Array(32).fill(0xff), 1n), /randomness/);
    assert.equal(postRandomness(new Uint8Array(32).fill(0xff))[31], 0x3f);
  });
});

describe('Window PoSt', () => {
  let proofs: FallbackPoStSectorProof[];
  const pub = () => ({
    randomness,
    proverId,
    sectors: replicas.map((r) => ({ sectorId: r.sectorId, commR: r.commR })),
  });

  it('proves every sector of several partitions, sorted by sector id, and verifies', async () => {
    const r = await generateWindowPoStVanilla({ proof: WINDOW_2K, randomness, proverId, replicas });
    assert.deepEqual(r.faults, []);
    proofs = r.proofs;
    assert.deepEqual(
      proofs.map((p) => p.sectorId),
      [3n, 5n, 7n, 9n, 12n],
    );
    for (const p of proofs) assert.equal(p.vanillaProof.inclusionProofs.length, 10);
    verifyPoStVanillaOrThrow(WINDOW_2K, pub(), proofs);
    assert.equal(windowPoStPartitions(WINDOW_2K, 5), 3);
    const parts = partitionVanillaProofs(WINDOW_2K, proofs);
    assert.equal(parts.length, 3);
    assert.equal(parts[2][1], parts[2][0], 'the short partition repeats its last sector');
  });

  it('rejects every single flipped field, and other randomness or comm_r', () => {
    let flips = 0;
    const p = structuredClone(proofs[1]);
    const nodes: Uint8Array[] = [p.vanillaProof.commC, p.vanillaProof.commRLast];
    for (const ip of p.vanillaProof.inclusionProofs) {
      nodes.push(ip.leaf, ip.root);
      for (const el of ip.base) nodes.push(...el.hashes);
    }
    const all = [proofs[0], p, ...proofs.slice(2)];
    for (const [i, b] of nodes.entries()) {
      b[i % 32] ^= 1 << (i % 8);
      assert.equal(verifyPoStVanilla(WINDOW_2K, pub(), all), false, `node ${i}`);
      b[i % 32] ^= 1 << (i % 8);
      flips++;
    }
    for (const el of p.vanillaProof.inclusionProofs.flatMap((ip) => ip.base)) {
      el.index ^= 1;
      assert.equal(verifyPoStVanilla(WINDOW_2K, pub(), all), false, 'path index');
      el.index ^= 1;
      flips++;
    }
    assert.ok(verifyPoStVanilla(WINDOW_2K, pub(), all));
    assert.ok(flips > 150);
    const other = postRandomness(new Uint8Array(32).fill(0x44));
    assert.equal(verifyPoStVanilla(WINDOW_2K, { ...pub(), randomness: other }, proofs), false);
    const sectors = pub().sectors.map((s, i) => (i === 0 ? { ...s, sectorId: 4n } : s));
    assert.equal(verifyPoStVanilla(WINDOW_2K, { ...pub(), sectors }, proofs), false);
    assert.equal(verifyPoStVanilla(WINDOW_2K, pub(), proofs.slice(1)), false, 'a missing sector proof');
  });

  it('reports a deleted and a corrupted sector as faulty and proves the rest', async () => {
    const deleted = replicas[0]; // sector 7: sealed file gone
    const corrupted = replicas[2]; // sector 12: one byte of the replica flipped
    await rm(deleted.sealedPath);
    const sealed = await readFile(corrupted.sealedPath);
    sealed[777] ^= 0x02;
    await writeFile(corrupted.sealedPath, sealed);
    const r = await generateWindowPoStVanilla({ proof: WINDOW_2K, randomness, proverId, replicas });
    assert.deepEqual(
      r.faults.map((f) => f.sectorId),
      [7n, 12n],
    );
    assert.match(r.faults[0].error, /ENOENT/);
    assert.match(r.faults[1].error, /does not verify|corrupt/);
    assert.deepEqual(
      r.proofs.map((p) => p.sectorId),
      [3n, 5n, 9n],
    );
    const good = replicas.filter((x) => x !== deleted && x !== corrupted);
    verifyPoStVanillaOrThrow(WINDOW_2K, { randomness, proverId, sectors: good }, r.proofs);
    // the pre-1.2 Window proof challenges by position: the rest are re-challenged without the faulty ones
    const old = postProof('StackedDrgWindow2KiBV1');
    const r0 = await generateWindowPoStVanilla({ proof: old, randomness, proverId, replicas });
    assert.deepEqual(
      r0.faults.map((f) => f.sectorId),
      [7n, 12n],
    );
    verifyPoStVanillaOrThrow(old, { randomness, proverId, sectors: good }, r0.proofs);
  });

  it('reports short tree-r-last files and a missing p_aux', async () => {
    const short = replicas[1]; // sector 3
    const noAux = replicas[3]; // sector 5
    await truncate(join(short.cacheDir, 'sc-02-data-tree-r-last.dat'), 16);
    await rm(join(noAux.cacheDir, 'p_aux'));
    const r = await generateWindowPoStVanilla({
      proof: WINDOW_2K,
      randomness,
      proverId,
      replicas: [short, noAux, replicas[4]],
    });
    assert.deepEqual(
      r.faults.map((f) => f.sectorId),
      [3n, 5n],
    );
    assert.deepEqual(
      r.proofs.map((p) => p.sectorId),
      [9n],
    );
  });

  it("round-trips rust's FallbackPoStSectorProof JSON", () => {
    const json = fallbackSectorProofToJson(proofs[0]) as Record<string, unknown>;
    assert.deepEqual(Object.keys(json), ['sector_id', 'comm_r', 'vanilla_proof']);
    const text = JSON.stringify(json);
    assert.ok(text.includes('"vanilla_proof":{"sectors":[{"inclusion_proofs":[{"data":{"Single":{"root":'));
    assert.deepEqual(fallbackSectorProofFromJson(WINDOW_2K, JSON.parse(text)), proofs[0]);
  });
});

describe('Winning PoSt', () => {
  it('proves the 66 challenges of the selected sector', async () => {
    const r = replicas[4]; // sector 9, intact
    const [p] = await generateWinningPoStVanilla({ proof: WINNING_2K, randomness, proverId, replicas: [r] });
    assert.equal(p.vanillaProof.inclusionProofs.length, 66);
    const pub = { randomness, proverId, sectors: [{ sectorId: r.sectorId, commR: r.commR }] };
    verifyPoStVanillaOrThrow(WINNING_2K, pub, [p]);
    assert.equal(verifyPoStVanilla(WINDOW_2K, pub, [p]), false, 'not a Window PoSt proof');
    await assert.rejects(
      generateWinningPoStVanilla({ proof: WINNING_2K, randomness, proverId, replicas: [r, r] }),
      /1 sector/,
    );
    await assert.rejects(
      generateWinningPoStVanilla({ proof: WINNING_2K, randomness, proverId, replicas: [replicas[0]] }),
      /ENOENT/,
    );
  });
});
