// The vanilla prover boundary on real 2KiB seals: C2 bytes and PoSt bytes in the versioned compact format,
// verified against the chain's public inputs only; flipped bytes anywhere (sampled), wrong inputs, bad
// headers and the wrong proof kind are rejected; faulty sectors leave the others provable.
import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type SealCommitPhase1Output, sealCommitPhase1 } from '../porep/c1.js';
import { clearCache } from '../porep/finalize.js';
import { type SealedFixture, sealFixture } from '../porep/fixture.js';
import { winningPostSectorChallenge } from '../post/challenges.js';
import type { PoStReplica } from '../post/vanilla.js';
import { postProof, type SealProofInfo, sealProof } from '../registry.js';
import { proverIdFromActorId } from '../sdr/index.js';
import {
  decodeSealProof,
  ProofRejected,
  VanillaPoStProver,
  VanillaSealProver,
  verifySealProof,
  verifySealProofOrThrow,
  verifyWindowPoStProof,
  verifyWindowPoStProofOrThrow,
  verifyWinningPoStProof,
} from './index.js';

const MINER = 1000n;
const seed = new Uint8Array(32).fill(9);
let dir: string;
let sector: SealedFixture<SealProofInfo>;
let c1: SealCommitPhase1Output;
let replicas: PoStReplica[];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prover-test-'));
  sector = await sealFixture({
    proof: sealProof('StackedDrg2KiBV1_1'),
    dir: join(dir, 's'),
    parentDir: join(dir, 'parents'),
    proverId: proverIdFromActorId(MINER),
    sectorId: 42n,
  });
  c1 = await sealCommitPhase1({ ...sector, seed });
  await clearCache(sector.cacheDir);
  replicas = [];
  for (const id of [42n, 43n, 44n]) {
    const d = join(dir, `r${id}`);
    await cp(sector.cacheDir, join(d, 'cache'), { recursive: true });
    await cp(sector.sealedPath, join(d, 'sealed'));
    replicas.push({ sectorId: id, commR: sector.commR, cacheDir: join(d, 'cache'), sealedPath: join(d, 'sealed') });
  }
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('vanilla seal proof (C2)', () => {
  let bytes: Uint8Array;
  const input = () => ({
    sealProof: 5,
    minerId: MINER,
    sectorId: 42n,
    ticket: sector.ticket,
    seed,
    commR: sector.commR,
    commD: sector.commD,
    proof: bytes,
  });

  it('encodes the C1 output compactly and verifies from public inputs only', async () => {
    bytes = await new VanillaSealProver().sealCommitPhase2({ c1, minerId: MINER, sectorId: 42n });
    assert.equal(Buffer.from(bytes.subarray(0, 4)).toString(), 'FVSP');
    assert.equal(bytes[4], 1, 'version');
    assert.equal(bytes[5], 5, 'registered seal proof');
    assert.equal(bytes.length, 10 + 64 + 2 * 8984);
    verifySealProofOrThrow(input());
    assert.deepEqual(decodeSealProof(bytes, sector.commD).proofs, c1.vanillaProofs);
  });

  it('refuses to prove for another miner or sector', async () => {
    await assert.rejects(
      new VanillaSealProver().sealCommitPhase2({ c1, minerId: MINER + 1n, sectorId: 42n }),
      /replica id/,
    );
  });

  it('rejects flipped bytes (every 23rd), wrong public inputs and bad headers', () => {
    let n = 0;
    for (let pos = 0; pos < bytes.length; pos += 23) {
      const bad = bytes.slice();
      bad[pos] ^= 1 << (pos % 8);
      assert.equal(verifySealProof({ ...input(), proof: bad }), false, `flip at ${pos}`);
      n++;
    }
    assert.ok(n > 700);
    const other = (b: Uint8Array) => {
      const c = b.slice();
      c[7] ^= 0x20;
      return c;
    };
    assert.equal(verifySealProof({ ...input(), minerId: MINER + 1n }), false, 'miner');
    assert.equal(verifySealProof({ ...input(), sectorId: 41n }), false, 'sector');
    assert.equal(verifySealProof({ ...input(), ticket: other(sector.ticket) }), false, 'ticket');
    assert.equal(verifySealProof({ ...input(), seed: other(seed) }), false, 'seed');
    assert.equal(verifySealProof({ ...input(), commR: other(sector.commR) }), false, 'comm_r');
    assert.equal(verifySealProof({ ...input(), commD: other(sector.commD) }), false, 'comm_d');
    assert.throws(() => verifySealProofOrThrow({ ...input(), sealProof: 6 }), /seal proof 5, the sector uses 6/);
    assert.throws(
      () => verifySealProofOrThrow({ ...input(), proof: bytes.subarray(0, bytes.length - 1) }),
      /wrong length/,
    );
    const v2 = bytes.slice();
    v2[4] = 2;
    assert.throws(() => verifySealProofOrThrow({ ...input(), proof: v2 }), /version 2/);
    assert.throws(
      () => verifySealProofOrThrow({ ...input(), proof: new TextEncoder().encode('{"registered_proof":1}') }),
      ProofRejected,
    );
  });
});

describe('vanilla PoSt proofs', () => {
  const window = postProof('StackedDrgWindow2KiBV1_1');
  const winning = postProof('StackedDrgWinning2KiBV1');
  const randomness = new Uint8Array(32).fill(0xee); // top bits cleared by prover and verifier alike
  const sectors = () => replicas.map((r) => ({ sectorId: r.sectorId, commR: r.commR }));

  it('Window PoSt: one proof for all sectors, verified; flipped bytes rejected', async () => {
    const r = await new VanillaPoStProver().generateWindowPoSt({ proof: window, minerId: MINER, randomness, replicas });
    assert.deepEqual(r.faults, []);
    assert.equal(r.proofs.length, 1);
    const proof = r.proofs[0];
    assert.equal(proof.postProof, 10);
    assert.equal(proof.proofBytes.length, 10 + 3 * (8 + 64 + 10 * 15 * 32));
    verifyWindowPoStProofOrThrow({ randomness, minerId: MINER, proofs: [proof], sectors: sectors() });
    for (let pos = 0; pos < proof.proofBytes.length; pos += 31) {
      const bad = proof.proofBytes.slice();
      bad[pos] ^= 0x10;
      assert.equal(
        verifyWindowPoStProof({
          randomness,
          minerId: MINER,
          proofs: [{ ...proof, proofBytes: bad }],
          sectors: sectors(),
        }),
        false,
        `flip at ${pos}`,
      );
    }
    const other = randomness.slice();
    other[0] ^= 1;
    assert.equal(
      verifyWindowPoStProof({ randomness: other, minerId: MINER, proofs: [proof], sectors: sectors() }),
      false,
    );
    // (the prover id plays no part in Window PoSt leaf challenges, in rust too: comm_r binds the miner)
    assert.equal(
      verifyWindowPoStProof({ randomness, minerId: MINER, proofs: [proof], sectors: sectors().slice(1) }),
      false,
    );
    assert.equal(
      verifyWinningPoStProof({ randomness, minerId: MINER, proofs: [proof], sectors: sectors() }),
      false,
      'not a winning proof',
    );
    assert.equal(
      verifyWindowPoStProof({ randomness, minerId: MINER, proofs: [proof, proof], sectors: sectors() }),
      false,
    );
  });

  it('Window PoSt: a faulty sector is reported, the others proved and verified', async () => {
    await rm(join(replicas[1].cacheDir, 'sc-02-data-tree-r-last.dat'));
    const r = await new VanillaPoStProver().generateWindowPoSt({ proof: window, minerId: MINER, randomness, replicas });
    assert.deepEqual(r.faults, [43n]);
    const good = sectors().filter((s) => s.sectorId !== 43n);
    verifyWindowPoStProofOrThrow({ randomness, minerId: MINER, proofs: r.proofs, sectors: good });
  });

  it('Winning PoSt: the selected sector, 66 challenges, verified', async () => {
    const proverId = proverIdFromActorId(MINER);
    const [idx] = winningPostSectorChallenge(
      randomness.map((b, i) => (i === 31 ? b & 0x3f : b)),
      3,
      proverId,
    );
    const chosen = [replicas[0], replicas[2]][Number(idx) % 2];
    const proofs = await new VanillaPoStProver().generateWinningPoSt({
      proof: winning,
      minerId: MINER,
      randomness,
      replicas: [chosen],
    });
    assert.equal(proofs[0].proofBytes.length, 10 + 8 + 64 + 66 * 15 * 32);
    assert.ok(
      verifyWinningPoStProof({
        randomness,
        minerId: MINER,
        proofs,
        sectors: [{ sectorId: chosen.sectorId, commR: chosen.commR }],
      }),
    );
    assert.equal(
      verifyWindowPoStProof({
        randomness,
        minerId: MINER,
        proofs,
        sectors: [{ sectorId: chosen.sectorId, commR: chosen.commR }],
      }),
      false,
    );
  });
});
