/**
 * The chains the ProveReplicaUpdates3 tests run on: a devnet node where owner, worker and client have funds and the
 * client 2KiB of datacap, and a miner whose sectors are sealed (digest seal proofs), proven and active.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import type { CID } from 'multiformats/cid';
import {
  allocationTransferParams,
  DatacapMethod,
  generateKey,
  idAddress,
  type Key,
  type Message,
  minerEntropy,
} from '../fil/index.js';
import {
  decodeBatchReturn,
  encodePreCommitSectorBatch2Params,
  encodeProveCommitSectors3Params,
  encodeSubmitWindowedPoStParams,
} from './codec.js';
import { deadlineIsMutable } from './dline.js';
import { findSector, type MinerState, minerDeadlineInfo } from './miner.js';
import { DevnetNode } from './node.js';
import { makePolicy, preCommitDepositForSector } from './policy.js';
import { DST, type ProofVerifier } from './runtime.js';
import { DATACAP_ACTOR } from './state.js';
import { applyMessage, createTestMiner, DigestVerifier, SHORT_PERIOD } from './testkit.js';

// 8 deadlines: a deadline stays mutable (not current, not next) for 5 windows, room for the refusals
export const policy = makePolicy({ ...SHORT_PERIOD, wpostPeriodDeadlines: 8 });
export const FIL = 10n ** 18n;

export interface SnapChains {
  /** a temporary directory, removed after the file's tests */
  dir: string;
  owner: Key;
  worker: Key;
  client: Key;
  /** A devnet node (its own chain) where owner, worker and client have funds and the client 2KiB of datacap. */
  newNode(name: string, verifier: ProofVerifier): DevnetNode;
}

/** Keys and a directory for one test file's nodes; registers the hook that closes them after its tests. */
export function snapChains(): SnapChains {
  const dir = mkdtempSync(join(tmpdir(), 'devnet-snap-'));
  const [owner, worker, client] = [generateKey('secp256k1'), generateKey('bls'), generateKey('secp256k1')];
  const nodes: DevnetNode[] = [];
  after(async () => {
    for (const n of nodes) await n.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const newNode = (name: string, verifier: ProofVerifier): DevnetNode => {
    mkdirSync(join(dir, name));
    const node = DevnetNode.create(
      join(dir, name, 'chain.db'),
      {
        policy,
        blockTimeMs: 100,
        genesisTimestamp: 1_700_000_000,
        seed: '35'.repeat(32),
        accounts: [owner, worker, client].map((k) => ({ address: k.address.toString(), balance: 1000n * FIL })),
        datacap: [{ address: client.address.toString(), bytes: 2048n }],
      },
      verifier,
    );
    nodes.push(node);
    return node;
  };
  return { dir, owner, worker, client, newNode };
}

export interface SectorSpec {
  n: number;
  sealedCid: Uint8Array;
  /** Pieces sealed in (not verified, no deal); absent: committed capacity. */
  pieces?: { cid: Uint8Array; size: number }[];
}

/**
 * A miner whose sectors are sealed (digest seal proofs), proven and active after one Window PoSt, with helpers:
 * post a deadline, find a sector, wait for deadlines to be mutable.
 */
export async function activeMiner(
  { owner, worker, client }: SnapChains,
  node: DevnetNode,
  verifier: DigestVerifier,
  sectors: SectorSpec[],
) {
  const run = (key: Key, m: Partial<Message> & Pick<Message, 'to'>) => applyMessage(node, key, m, 500_000_000);
  const maddr = await createTestMiner(node, policy, owner, worker, 500_000_000);
  const miner = () => node.minerState(maddr)!.st as MinerState;
  const entropy = minerEntropy(maddr);
  const expiration = node.head.height + 700_000;

  const commDs = sectors.map((s) => verifier.unsealedCid(5, s.pieces ?? []));
  const ticketEpoch = node.head.height - 1;
  const pre = await run(worker, {
    to: maddr,
    method: 28,
    value: BigInt(sectors.length) * preCommitDepositForSector(policy, 2048),
    params: encodePreCommitSectorBatch2Params(
      sectors.map((s, i) => ({
        sealProof: 5,
        sectorNumber: s.n,
        sealedCid: s.sealedCid,
        sealRandEpoch: ticketEpoch,
        dealIds: [],
        expiration,
        unsealedCid: s.pieces ? commDs[i]! : null,
      })),
    ),
  });
  assert.equal(pre.exitCode, 0, pre.error);
  const seedEpoch = miner().preCommittedSectors[1]!.preCommitEpoch + policy.preCommitChallengeDelay;
  await node.mineUntil(seedEpoch + 1);
  const prove = await run(worker, {
    to: maddr,
    method: 34,
    value: FIL,
    params: encodeProveCommitSectors3Params({
      sectorActivations: sectors.map((s) => ({
        sectorNumber: s.n,
        pieces: (s.pieces ?? []).map((pc) => ({ ...pc, verifiedAllocationKey: null, notify: [] })),
      })),
      sectorProofs: sectors.map((s, i) =>
        DigestVerifier.sealProof({
          minerId: maddr.id(),
          sectorNumber: s.n,
          ticket: node.randomness().fromTickets(DST.SealRandomness, ticketEpoch, entropy),
          seed: node.randomness().fromBeacon(DST.InteractiveSealChallengeSeed, seedEpoch, entropy),
          sealedCid: s.sealedCid,
          unsealedCid: commDs[i]!,
        }),
      ),
      aggregateProof: new Uint8Array(0),
      aggregateProofType: null,
      requireActivationSuccess: true,
      requireNotificationSuccess: true,
    }),
  });
  assert.equal(prove.exitCode, 0, prove.error);
  assert.deepEqual(decodeBatchReturn(prove.return), { successCount: sectors.length, failCodes: [] });

  // Window PoSt over every partition of a deadline at its next window; sealed CIDs as the state has them unless
  // overridden (to prove with the wrong ones)
  const postDeadline = async (dl: number, sealedOverride: Map<number, Uint8Array> = new Map()) => {
    let d = minerDeadlineInfo(policy, miner(), node.head.height);
    let open = d.periodStart + dl * policy.wpostChallengeWindow;
    // the window still open (room for the message to land in it) or the next one
    if (open + policy.wpostChallengeWindow <= node.head.height + 3) open += policy.wpostProvingPeriod;
    d = minerDeadlineInfo(policy, miner(), Math.max(open, node.head.height));
    if (d.open > node.head.height) await node.mineUntil(d.open);
    const parts = miner().deadlines[dl]!.partitions;
    const numbers = parts.flatMap((p) => p.sectors).sort((a, b) => a - b);
    const challengedSectors = numbers.map((n) => ({
      sealProof: 5,
      sectorNumber: n,
      sealedCid: sealedOverride.get(n) ?? miner().sectors[n]!.sealedCid,
    }));
    const rand = node.randomness().fromBeacon(DST.WindowedPoStChallengeSeed, d.challenge, entropy);
    return run(worker, {
      to: maddr,
      method: 5,
      params: encodeSubmitWindowedPoStParams({
        deadline: dl,
        partitions: parts.map((_, index) => ({ index, skipped: [] })),
        proofs: [
          {
            postProof: 10,
            proofBytes: DigestVerifier.postProof({ minerId: maddr.id(), randomness: rand, challengedSectors }),
          },
        ],
        chainCommitEpoch: d.challenge,
        chainCommitRand: node.randomness().fromTickets(DST.PoStChainCommit, d.challenge, new Uint8Array(0)),
      }),
    });
  };
  const where = (n: number) => findSector(miner(), n)!;
  // mines until every given deadline is mutable (neither the current nor the next one) for the next few epochs
  const untilMutable = async (...dls: number[]) => {
    const mutable = (e: number) =>
      dls.every((dl) => deadlineIsMutable(policy, minerDeadlineInfo(policy, miner(), e).periodStart, dl, e));
    while (![1, 2, 3, 4].every((k) => mutable(node.head.height + k))) await node.mine();
  };
  const deadlines = [...new Set(sectors.map((s) => where(s.n).deadline))].sort((a, b) => a - b);
  for (const dl of deadlines) {
    const posted = await postDeadline(dl);
    assert.equal(posted.exitCode, 0, posted.error);
  }
  // the client's direct (DDO) allocation of a whole-sector piece for this miner
  const allocate = async (piece: CID) => {
    const r = await run(client, {
      to: idAddress(DATACAP_ACTOR),
      method: DatacapMethod.TransferExported,
      params: allocationTransferParams([
        {
          provider: maddr.id(),
          data: piece,
          size: 2048,
          termMin: 600_000,
          termMax: 800_000,
          expiration: node.head.height + 1000,
        },
      ]),
    });
    assert.equal(r.exitCode, 0, r.error);
  };
  return { maddr, miner, expiration, run, postDeadline, where, untilMutable, allocate };
}
