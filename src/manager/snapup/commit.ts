/**
 * The snapup committer (damocles' snapup_commit.go; docs/snapup-manager.md): for each submitted upgrade it sends
 * ProveReplicaUpdates3 (docs/snap-chain.md), follows the message until it lands, and once the new replica is also
 * persisted (SubmitPersistedEx with isUpgrade) removes the sector key when CleanupCCData is on and finalizes the
 * sector. Every step is written before it is taken: the message and its id before the push (the messager knows an id
 * it saw), so a restart resumes without sending twice.
 */
import { rm } from 'node:fs/promises';
import type { DeadlineInfo } from '../../api/full.js';
import { OnChainState, type SectorID, type SectorState, sectorName } from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import {
  CID,
  commRToCid,
  encodeProveReplicaUpdates3Params,
  fromBase64,
  PROVE_REPLICA_UPDATES3_METHOD,
  type UpdatePieceManifest,
} from '../../fil/index.js';
import { sealProof } from '../../proofs/index.js';
import { head, type MessagerAPI, minerAddr } from '../chain.js';
import { buildMessage, freshMessageId, messageJson, onChainState, sendSpec } from '../commit/msg.js';
import { commitmentControls, commitmentPolicy, feeCapAtto } from '../config.js';
import { activationPieces, type DealChainAPI } from '../market/manifest.js';
import { cacheDir, sealedPath } from '../stores.js';
import type { SnapDeps } from './sector.js';
import type { SnapSector } from './store.js';

const log = logger('snapup');

/** RegisteredUpdateProof of a seal proof (builtin-actors registered_update_proof): StackedDrg<size>V1 = 0…4. */
export function updateProofOf(sealProofType: number): number {
  if (!Number.isInteger(sealProofType) || sealProofType < 0 || sealProofType > 19)
    throw new Error(`no update proof for seal proof ${sealProofType}`);
  return sealProofType % 5;
}

/** Epochs the message may take to be executed (damocles assumes 10). */
export const EXECUTION_MARGIN = 10;

/**
 * Whether deadline `dl` may be updated when a message sent at `now` executes: not the current nor the next deadline
 * (the chain's deadline_is_mutable), also if the current one ends within the execution margin.
 */
export function deadlineMutable(cur: DeadlineInfo, dl: number, now: number): boolean {
  const n = cur.WPoStPeriodDeadlines;
  const ahead = (dl - cur.Index + n) % n;
  if (ahead <= 1) return false;
  return !(ahead === 2 && now + EXECUTION_MARGIN >= cur.Close);
}

export interface CommitterDeps extends SnapDeps {
  messager: Pick<MessagerAPI, 'HasMessageByUid' | 'GetMessageByUid'>;
  dealChain?: DealChainAPI;
}

/** One pass over every upgrade under way; errors are per sector (logged, retried at the next pass). */
export async function commitPass(d: CommitterDeps): Promise<void> {
  for (const t of d.snap.active()) {
    try {
      await d.st.sectorLock.run(`${t.sid.Miner}-${t.sid.Number}`, () => step(d, t.sid));
    } catch (err) {
      const why = (err as Error).message;
      d.snap.error(t.sid, why);
      d.metrics.failed('step_error');
      log.warn({ sector: sectorName(t.sid), phase: t.phase, err: why }, 'snapup commit step failed; retried');
    }
  }
}

async function step(d: CommitterDeps, sid: SectorID): Promise<void> {
  const t = d.snap.get(sid);
  const r = d.st.o.store.getSector(sid);
  if (!t || !r?.online) return;
  if (t.phase === 'submitted') await send(d, t, r.state);
  else if (t.phase === 'sent') await follow(d, t);
  else if (t.phase === 'landed') await finish(d, t, r.state);
}

async function send(d: CommitterDeps, t: SnapSector, s: SectorState): Promise<void> {
  const { st } = d;
  const info = t.submitted!;
  const miner = t.sid.Miner;
  const maddr = minerAddr(miner);
  const { tsk, height } = await head(d.chain);
  const onChain = await d.chain.StateSectorGetInfo(maddr, t.sid.Number, tsk);
  const loc = await d.chain.StateSectorPartition(maddr, t.sid.Number, tsk);
  if (!onChain || !loc) {
    fail(d, t, 'the sector is no longer on chain');
    return;
  }
  const cur = await d.chain.StateMinerProvingDeadline(maddr, tsk);
  if (!deadlineMutable(cur, loc.Deadline, height)) {
    // proven now or next: the chain refuses updates there; the next passes try again
    d.snap.error(t.sid, `deadline ${loc.Deadline} is being proven (current ${cur.Index}): waiting`);
    log.info(
      { sector: sectorName(t.sid), deadline: loc.Deadline, current: cur.Index },
      'update waits: deadline immutable',
    );
    return;
  }
  const acts = await activationPieces(s, d.chain, d.dealChain, tsk);
  const pieces: UpdatePieceManifest[] = acts.map((a) => ({
    cid: a.cid.bytes,
    size: a.size,
    verifiedAllocationKey: a.verifiedAllocationKey ?? null,
    notify: a.notify ?? [],
  }));
  // verified pieces weigh 10× in QA power: the pledge rises to that of the new power and the rise is locked now
  const verified = pieces.filter((p) => p.verifiedAllocationKey).reduce((n, p) => n + p.size, 0);
  let value = 0n;
  if (verified > 0) {
    const pledge = BigInt(
      await d.chain.StateMinerInitialPledgeForSector(
        onChain.Expiration - height,
        sealProof(s.SectorType).sectorSize,
        verified,
        tsk,
      ),
    );
    value = pledge - BigInt(onChain.InitialPledge);
    if (value < 0n) value = 0n;
  }
  const params = encodeProveReplicaUpdates3Params({
    sectorUpdates: [
      {
        sector: t.sid.Number,
        deadline: loc.Deadline,
        partition: loc.Partition,
        newSealedCid: CID.parse(commRCid(info.CommR)).bytes,
        pieces,
      },
    ],
    sectorProofs: [fromBase64(info.Proof, 'Proof')],
    aggregateProof: new Uint8Array(0),
    updateProofsType: updateProofOf(s.SectorType),
    aggregateProofType: null,
    requireActivationSuccess: true,
    requireNotificationSuccess: false,
  });
  const cfg = st.o.config();
  const p = commitmentPolicy(cfg, miner);
  const cap = feeCapAtto(p.MaxProCommitFeeCap);
  const from = commitmentControls(cfg, miner).ProveCommit || (await st.o.miners.get(miner)).worker;
  const msg = buildMessage({
    from,
    to: maddr,
    method: PROVE_REPLICA_UPDATES3_METHOD,
    params,
    value,
    ...(cap !== undefined ? { gasFeeCap: cap } : {}),
  });
  const id = await freshMessageId(d.messager, msg, (x) => st.o.store.getMessage(x) !== undefined);
  const json = messageJson(msg);
  const spec = sendSpec(p.ProCommitGasOverEstimation, cap);
  st.o.store.tx(() => {
    st.o.store.putMessage({ id, miner, kind: 'other', sectors: [t.sid.Number], message: json, spec });
    d.snap.sent(t.sid, id);
    st.o.store.recordSectorEvent(t.sid, { state: 'SnapUpSent', event: `ProveReplicaUpdates3 ${id}` });
  });
  log.info(
    { sector: sectorName(t.sid), id, deadline: loc.Deadline, partition: loc.Partition, pledge: value.toString() },
    'ProveReplicaUpdates3 recorded',
  );
  d.metrics.step('sent');
  if (await st.o.commit.push(id, json, spec)) d.snap.pushed(t.sid);
}

/** The CommR bytes (JSON [32]byte) as a sealed CID string. */
function commRCid(commR: number[]): string {
  return commRToCid(Uint8Array.from(commR)).toString();
}

async function follow(d: CommitterDeps, t: SnapSector): Promise<void> {
  const { st } = d;
  const id = t.messageId!;
  if (!t.pushed) {
    const m = st.o.store.getMessage(id);
    if (!m) throw new Error(`message ${id} is not recorded`);
    if (!(await st.o.commit.push(id, m.message, m.spec))) return;
    d.snap.pushed(t.sid);
  }
  const rec = await d.messager.GetMessageByUid(id);
  const confidence = commitmentPolicy(st.o.config(), t.sid.Miner).MsgConfidence;
  const res = onChainState(rec, confidence, 0);
  if (res.state === OnChainState.Landed) {
    st.o.store.tx(() => {
      d.snap.landed(t.sid, res.height ?? 0);
      st.o.store.recordSectorEvent(t.sid, {
        state: 'SnapUpLanded',
        event: `new sealed CID ${commRCid(t.submitted!.CommR)} at ${res.height}`,
      });
    });
    d.metrics.step('landed');
    log.info({ sector: sectorName(t.sid), id, height: res.height }, 'replica update landed');
    return;
  }
  if (res.state === OnChainState.Failed) {
    // out of gas, funds, or a nonce taken: sent again
    st.o.store.tx(() => {
      d.snap.submitted(t.sid, t.submitted!);
      d.snap.error(t.sid, res.desc);
    });
    d.metrics.failed('resend');
    log.warn({ sector: sectorName(t.sid), id, why: res.desc }, 'ProveReplicaUpdates3 failed; sending again');
    return;
  }
  if (res.state === OnChainState.PermFailed) fail(d, t, res.desc ?? 'the chain refused the update');
}

function fail(d: CommitterDeps, t: SnapSector, why: string): void {
  d.st.o.store.tx(() => {
    d.snap.failed(t.sid, why);
    d.st.o.store.recordSectorEvent(t.sid, { state: 'SnapUpFailed', failure: why });
  });
  d.metrics.failed('failed');
  log.error(
    { sector: sectorName(t.sid), why },
    'replica update failed for good; the sector stays CC (`util sealer sectors abort` ends the upgrade)',
  );
}

/** After landing: waits for the persisted replica, then removes the sector key (CleanupCCData) and finalizes. */
async function finish(d: CommitterDeps, t: SnapSector, s: SectorState): Promise<void> {
  const { st } = d;
  const up = st.o.store.findSector('upgrade', t.sid);
  if (!up) return; // SubmitPersistedEx(…, true) not yet
  const m = st.o.config().SectorManager.Miners.find((x) => x.ID === t.sid.Miner);
  if (m?.CleanupCCData ?? true) await cleanupSectorKey(d, t.sid);
  s.Finalized = true;
  st.o.store.tx(() => {
    st.o.store.putSector(s, false);
    st.o.stores.release(t.sid);
    d.snap.done(t.sid);
    d.snap.removeCandidate(t.sid);
    st.o.store.recordSectorEvent(t.sid, { state: 'SnapUpFinalized', event: `replica in ${up.SealedFile}` });
  });
  d.metrics.step('finalized');
  log.info({ sector: sectorName(t.sid), instance: up.SealedFile }, 'sector upgraded');
}

/** Removes the CC replica (sealed file and cache) from the store the normal index names. */
async function cleanupSectorKey(d: CommitterDeps, sid: SectorID): Promise<void> {
  const at = d.st.o.store.findSector('normal', sid);
  if (!at) return;
  const sealed = d.st.o.stores.get(at.SealedFile);
  const cache = d.st.o.stores.get(at.CacheDir);
  if (sealed) await rm(sealedPath(sealed.path, sid), { force: true });
  if (cache) await rm(cacheDir(cache.path, sid), { recursive: true, force: true });
  log.info({ sector: sectorName(sid), instance: at.SealedFile }, 'sector key removed (CleanupCCData)');
}
