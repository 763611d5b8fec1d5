// Window PoSt over an updated replica: a real 2KiB CC sector, updated by the proofs module's encoder into the
// persist store's update/ and update-cache/ (where the poster reads an updated sector), proven by the daemon's prover
// and checked with the devnet's own verifier against comm_r_new — and refused against the sector key's comm_r.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeSector } from '../../proofs/update/index.js';
import { devnetPoStVerdict, placeSealedSector, sealTestSector } from '../harness.test-util.js';
import { LocalWindowPoStProver } from '../proofs.js';
import type { WindowPoStInput } from '../prover.js';
import { cacheDir, sealedPath } from '../stores.js';

const dir = mkdtempSync(join(tmpdir(), 'vsm-snap-post-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the poster’s prover proves an updated sector from update/ against comm_r_new', async () => {
  const store = join(dir, 'store');
  const sid = { Miner: 1000, Number: 3 };
  const f = await sealTestSector(dir);
  placeSealedSector(store, sid, f);
  // new data: 2KiB of field elements (Fr32-padded bytes)
  const data = Buffer.alloc(2048);
  for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
  for (let i = 31; i < data.length; i += 32) data[i]! &= 0x3f;
  const staged = join(dir, 'staged');
  writeFileSync(staged, data);
  mkdirSync(join(store, 'update'), { recursive: true });
  const up = await encodeSector({
    sectorSize: 2048,
    sectorKeyPath: sealedPath(store, sid),
    sectorKeyCacheDir: cacheDir(store, sid),
    stagedDataPath: staged,
    newReplicaPath: sealedPath(store, sid, 'upgrade'),
    newCacheDir: cacheDir(store, sid, 'upgrade'),
  });
  assert.notDeepEqual(up.commRNew, f.commR);
  const sector = {
    sectorNumber: 3,
    sealProof: 5,
    commR: up.commRNew,
    sealedPath: sealedPath(store, sid, 'upgrade'),
    cacheDir: cacheDir(store, sid, 'upgrade'),
  };
  const input: WindowPoStInput = {
    minerId: 1000,
    postProof: 10,
    randomness: new Uint8Array(32).fill(5),
    sectors: [sector],
  };
  const prover = new LocalWindowPoStProver({ concurrency: 1 });
  const out = await prover.generateWindowPoSt(input);
  assert.deepEqual(out.faults, []);
  assert.equal(devnetPoStVerdict(input, out.proofBytes), undefined);
  // the chain still at the sector key's comm_r refuses it
  const old = { ...input, sectors: [{ ...sector, commR: f.commR }] };
  assert.notEqual(devnetPoStVerdict(old, out.proofBytes), undefined);
});
