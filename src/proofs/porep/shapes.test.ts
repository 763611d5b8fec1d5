// Vanilla PoRep proofs on the compound tree shapes (sub2 4KiB, top2 32KiB: the 32/64GiB shapes in small)
// and on API 1.0 graphs: proved from sealed files, verified, and round-tripped through rust's synthetic
// record format and the JSON form.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ApiVersion, porepConfig, porepIdFor } from '../registry.js';
import { challengeProofFromJson, challengeProofToJson } from './c1.js';
import { interactiveChallenges } from './challenges.js';
import { sealFixture } from './fixture.js';
import { PorepProver } from './prove.js';
import { decodeSynthProofs, encodeSynthProofs, recordSize } from './records.js';
import { verifyPorepProofs, verifyPorepProofsOrThrow } from './verify.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'porep-shapes-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('vanilla PoRep proofs on every tree shape', () => {
  for (const [size, api, id] of [
    [4096, '1.1.0', 5],
    [32768, '1.1.0', 5],
    [2048, '1.0.0', 0],
  ] as [number, ApiVersion, number][]) {
    it(`${size} bytes, API ${api}`, async () => {
      const cfg = porepConfig({ sectorSize: size, porepId: porepIdFor(id), apiVersion: api });
      const s = await sealFixture({ proof: cfg, dir: join(dir, `s-${size}-${api}`), parentDir: join(dir, 'parents') });
      const seed = new Uint8Array(32).fill(7);
      const prover = await PorepProver.open(cfg, s, { commD: s.commD, commR: s.commR });
      let proofs: Awaited<ReturnType<PorepProver['proveAll']>>;
      try {
        proofs = await prover.proveAll(
          interactiveChallenges(cfg.nodes, s.replicaId, seed, cfg.challengesPerPartition, 0),
        );
      } finally {
        await prover.close();
      }
      const pub = { replicaId: s.replicaId, commD: s.commD, commR: s.commR, seed };
      verifyPorepProofsOrThrow(cfg, pub, [proofs]);
      assert.equal(!!proofs[0].commRLastProof.sub, cfg.shape.sub > 0);
      assert.equal(!!proofs[0].commRLastProof.top, cfg.shape.top > 0);

      const file = encodeSynthProofs(proofs, cfg);
      assert.equal(file.length, 96 + proofs.length * recordSize(cfg));
      const back = decodeSynthProofs(file, cfg, [0, 1]);
      assert.deepEqual(back, proofs, 'records rebuild the same proofs (labeling and encoding proofs included)');
      const viaJson = proofs.map((p) =>
        challengeProofFromJson(JSON.parse(JSON.stringify(challengeProofToJson(p))), cfg.shape),
      );
      assert.deepEqual(viaJson, proofs);

      // a flipped byte anywhere in the records is rejected (sampled: c1.test.ts flips every field)
      let rejected = 0;
      for (let pos = 0; pos < file.length; pos += 113) {
        const bad = file.slice();
        bad[pos] ^= 0x04;
        let ok: boolean;
        try {
          ok = verifyPorepProofs(cfg, pub, [decodeSynthProofs(bad, cfg, [0, 1])]);
        } catch {
          ok = false; // undecodable (a parent index beyond the sector)
        }
        assert.equal(ok, false, `flip at record byte ${pos} accepted`);
        rejected++;
      }
      assert.ok(rejected > 100, `${rejected} flips`);
    });
  }
});
