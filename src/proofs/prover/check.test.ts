// The chain-side checks the devnet and the sector-manager share, on a real 2KiB seal: the vanilla formats this
// project writes and the JSON formats earlier versions wrote are both verified in full, and a proof of anything
// else (another sector, seed, randomness, set of sectors) or garbage is refused with a reason.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeC1Output, type SealCommitPhase1Output, sealCommitPhase1 } from '../porep/c1.js';
import { type SealedFixture, sealFixture } from '../porep/fixture.js';
import { postRandomness } from '../post/challenges.js';
import { fallbackSectorProofToJson, generateWindowPoStVanilla } from '../post/vanilla.js';
import { type SealProofInfo, sealProof } from '../registry.js';
import { proverIdFromActorId } from '../sdr/index.js';
import {
  type ChainSealCheck,
  VanillaPoStProver,
  VanillaSealProver,
  whySealProofFails,
  whyWindowPoStFails,
} from './index.js';

const MINER = 1000;
const ticket = new Uint8Array(32).fill(7);
// chain randomness with the top bits set: the checks clear them as the provers did
const seed = new Uint8Array(32).fill(0xc9);
const randomness = new Uint8Array(32).map((_, i) => (i * 29 + 3) | 0xc0);
let dir: string;
let sector: SealedFixture<SealProofInfo>;
let c1: SealCommitPhase1Output;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prover-check-'));
  sector = await sealFixture({
    proof: sealProof('StackedDrg2KiBV1_1'),
    dir: join(dir, 's'),
    parentDir: join(dir, 'parents'),
    proverId: proverIdFromActorId(MINER),
    sectorId: 42n,
    ticket,
  });
  c1 = await sealCommitPhase1({ ...sector, seed: postRandomness(seed) });
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('whySealProofFails', () => {
  const check = (proof: Uint8Array, over: Partial<ChainSealCheck> = {}): string | undefined =>
    whySealProofFails({
      sealProof: 5,
      minerId: MINER,
      sectorNumber: 42,
      ticket,
      seed,
      commR: sector.commR,
      commD: sector.commD,
      proof,
      ...over,
    });

  it('verifies vanilla seal proof bytes and refuses them for anything else', async () => {
    const bytes = await new VanillaSealProver().sealCommitPhase2({ c1, minerId: BigInt(MINER), sectorId: 42n });
    assert.equal(check(bytes), undefined);
    assert.match(check(bytes, { sectorNumber: 43 }) ?? '', /./);
    assert.match(check(bytes, { seed: new Uint8Array(32) }) ?? '', /./);
    assert.match(check(bytes, { commR: new Uint8Array(32) }) ?? '', /./);
    assert.match(check(bytes, { sealProof: 6 }) ?? '', /seal proof/);
    assert.match(check(bytes.subarray(0, bytes.length - 1)) ?? '', /length|truncated/);
  });

  it("still verifies earlier versions' JSON C1 output", () => {
    const json = encodeC1Output(c1);
    assert.equal(check(json), undefined);
    assert.match(check(json, { commR: new Uint8Array(32) }) ?? '', /comm_r differs/);
    assert.match(check(json, { ticket: new Uint8Array(32) }) ?? '', /ticket differs/);
    assert.match(check(json, { minerId: 1001 }) ?? '', /replica id differs/);
  });

  it('refuses garbage with a reason', () => {
    assert.match(check(new TextEncoder().encode('{"not":"a proof"}')) ?? '', /neither vanilla seal proof bytes/);
    assert.match(check(new Uint8Array(0)) ?? '', /neither/);
  });
});

describe('whyWindowPoStFails', () => {
  const replica = () => ({
    sectorId: 42n,
    commR: sector.commR,
    cacheDir: sector.cacheDir,
    sealedPath: sector.sealedPath,
  });

  it('verifies vanilla PoSt bytes; a stand-in repeating the good sector changes nothing', async () => {
    const r = await new VanillaPoStProver().generateWindowPoSt({
      proof: 10,
      minerId: BigInt(MINER),
      randomness,
      replicas: [replica()],
    });
    assert.deepEqual(r.faults, []);
    const proofs = r.proofs;
    const sectors = [
      { sectorNumber: 42, commR: sector.commR },
      { sectorNumber: 42, commR: sector.commR },
    ];
    assert.equal(whyWindowPoStFails({ minerId: MINER, randomness, proofs, sectors }), undefined);
    const other = randomness.map((b, i) => (i === 0 ? b ^ 1 : b));
    assert.match(whyWindowPoStFails({ minerId: MINER, randomness: other, proofs, sectors }) ?? '', /./);
    assert.match(
      whyWindowPoStFails({
        minerId: MINER,
        randomness,
        proofs,
        sectors: [...sectors, { sectorNumber: 43, commR: sector.commR }],
      }) ?? '',
      /covers 1 sectors, 2 are challenged/,
    );
    assert.match(
      whyWindowPoStFails({ minerId: MINER, randomness, proofs: [...proofs, ...proofs], sectors }) ?? '',
      /expected one proof, got 2/,
    );
  });

  it("still verifies earlier versions' JSON list of sector proofs", async () => {
    const r = await generateWindowPoStVanilla({
      proof: 10,
      randomness: postRandomness(randomness),
      proverId: proverIdFromActorId(MINER),
      replicas: [replica()],
    });
    const proofBytes = new TextEncoder().encode(JSON.stringify(r.proofs.map(fallbackSectorProofToJson)));
    const sectors = [{ sectorNumber: 42, commR: sector.commR }];
    assert.equal(
      whyWindowPoStFails({ minerId: MINER, randomness, proofs: [{ postProof: 10, proofBytes }], sectors }),
      undefined,
    );
    const wrongR = [{ sectorNumber: 42, commR: new Uint8Array(32) }];
    assert.match(
      whyWindowPoStFails({ minerId: MINER, randomness, proofs: [{ postProof: 10, proofBytes }], sectors: wrongR }) ??
        '',
      /./,
    );
    const garbage = new TextEncoder().encode('[1,2');
    assert.match(
      whyWindowPoStFails({ minerId: MINER, randomness, proofs: [{ postProof: 10, proofBytes: garbage }], sectors }) ??
        '',
      /neither vanilla PoSt bytes nor JSON/,
    );
  });
});
