/**
 * ProveReplicaUpdates3 with a real 2KiB update proof (proofs/api/update.ts) checked by the chain against the sector
 * key, the new CommR and the CommD the chain computes from the piece; a changed byte is refused.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  commDToCid,
  commPToCid,
  commRToCid,
  encodeProveReplicaUpdates3Params,
  PROVE_REPLICA_UPDATES3_METHOD,
} from '../fil/index.js';
import { encodeInto, generateUpdateProof, generateUpdateVanillaProofs } from '../proofs/api/update.js';
import { randomSectorData, sealFixture } from '../proofs/porep/fixture.js';
import { sealProofFor } from '../proofs/registry.js';
import { initialPledgeForPower } from './policy.js';
import { minerPower } from './power.js';
import { activeMiner, policy, snapChains } from './replica-update.test-util.js';
import type { PieceInfo, ReplicaUpdateVerifyInfo } from './runtime.js';
import { DigestVerifier } from './testkit.js';
import { ProofsVerifier, unsealedCidForPieces } from './verifier.js';

const chains = snapChains();
const { client, worker } = chains;

/** Digest seal and PoSt proofs; real update proofs (the proofs module's vanilla proofs) and the real CommD rule. */
class RealUpdateVerifier extends DigestVerifier {
  private readonly real = new ProofsVerifier();
  override async verifyReplicaUpdate(i: ReplicaUpdateVerifyInfo): Promise<boolean> {
    this.calls++;
    return this.real.verifyReplicaUpdate(i);
  }
  override unsealedCid(sealProof: number, pieces: PieceInfo[]): Uint8Array {
    return unsealedCidForPieces(sealProof, pieces);
  }
}

test('a real 2KiB update proof is accepted against the sector key; a changed byte is refused', async () => {
  // a CC sector sealed for real, one whole-sector piece encoded into it, the update proven (proofs/api/update.ts)
  const tmp = join(chains.dir, 'real-proof');
  const cc = await sealFixture({
    proof: sealProofFor(2048),
    dir: join(tmp, 'cc'),
    parentDir: join(tmp, 'parents'),
    data: new Uint8Array(2048),
  });
  await writeFile(join(tmp, 'staged'), randomSectorData(2048));
  const enc = await encodeInto({
    sectorSize: 2048,
    sectorKeyPath: cc.sealedPath,
    sectorKeyCacheDir: cc.cacheDir,
    stagedDataPath: join(tmp, 'staged'),
    newReplicaPath: join(tmp, 'update', 'sealed'),
    newCacheDir: join(tmp, 'update', 'cache'),
  });
  const pub = { commROld: enc.commROld, commDNew: enc.commDNew, commRNew: enc.commRNew };
  const vanilla = await generateUpdateVanillaProofs({
    sectorSize: 2048,
    ...pub,
    sectorKeyPath: cc.sealedPath,
    sectorKeyCacheDir: cc.cacheDir,
    replicaPath: join(tmp, 'update', 'sealed'),
    replicaCacheDir: join(tmp, 'update', 'cache'),
  });
  const proof = await generateUpdateProof({ sectorSize: 2048, vanillaProofs: vanilla, ...pub });

  const verifier = new RealUpdateVerifier();
  const node = chains.newNode('real', verifier);
  const { maddr, miner, run, where, untilMutable, allocate } = await activeMiner(chains, node, verifier, [
    { n: 1, sealedCid: commRToCid(enc.commROld).bytes },
  ]);
  // the chain's CommD rule over one whole-sector piece gives the encoded data's comm_d_new
  const piece = commPToCid(enc.commDNew);
  assert.deepEqual(verifier.unsealedCid(5, [{ cid: piece.bytes, size: 2048 }]), commDToCid(enc.commDNew).bytes);
  await allocate(piece);
  const loc = where(1);
  await untilMutable(loc.deadline);
  const update = (proofBytes: Uint8Array) =>
    run(worker, {
      to: maddr,
      method: PROVE_REPLICA_UPDATES3_METHOD,
      value: initialPledgeForPower(policy, 20480n),
      params: encodeProveReplicaUpdates3Params({
        sectorUpdates: [
          {
            sector: 1,
            deadline: loc.deadline,
            partition: loc.partition,
            newSealedCid: commRToCid(enc.commRNew).bytes,
            pieces: [
              {
                cid: piece.bytes,
                size: 2048,
                verifiedAllocationKey: { client: node.lookupId(client.address)!, id: 1 },
                notify: [],
              },
            ],
          },
        ],
        sectorProofs: [proofBytes],
        aggregateProof: new Uint8Array(0),
        updateProofsType: 0,
        aggregateProofType: null,
        requireActivationSuccess: true,
        requireNotificationSuccess: true,
      }),
    });
  const bad = Uint8Array.from(proof);
  bad[bad.length - 40]! ^= 0x01;
  const refused = await update(bad);
  assert.equal(refused.exitCode, 16);
  assert.match(refused.error ?? '', /invalid proof for sector 1/);
  const ok = await update(proof);
  assert.equal(ok.exitCode, 0, ok.error);
  assert.deepEqual(miner().sectors[1]!.sealedCid, commRToCid(enc.commRNew).bytes);
  assert.deepEqual(miner().sectors[1]!.sectorKeyCid, commRToCid(enc.commROld).bytes);
  const claim = minerPower(node.view(), policy, maddr.id()).claim!;
  assert.deepEqual({ raw: claim.rawBytePower, qa: claim.qualityAdjPower }, { raw: 2048n, qa: 20480n });
});
