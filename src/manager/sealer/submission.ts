/**
 * PreCommit and ProveCommit submission and polling: each submission checked against the chain before it is
 * queued for sending (docs/spec/sealer-api.md §Manager behaviour per call, §Result enums).
 */
import {
  type AllocatedSector,
  bytes32FromJson,
  OnChainState,
  type PollStateResp,
  type PreCommitOnChainInfo,
  type ProofOnChainInfo,
  type SectorID,
  type SectorPieces,
  type SectorState,
  type SubmitResp,
  SubmitResult,
  sectorName,
  type Ticket,
} from '../../api/sealer.js';
import { logger } from '../../common/log.js';
import {
  bytesEqual,
  cidToCommD,
  cidToCommP,
  cidToCommR,
  cidToJSON,
  commDToCid,
  commRToCid,
  fromBase64,
  toBase64,
} from '../../fil/index.js';
import { computeCommD, type PieceInfo } from '../../proofs/index.js';
import type { SectorCaller } from '../auth.js';
import { drawSeed, drawTicket, head, minerAddr, preCommitInfo } from '../chain.js';
import { unsealableDeals } from '../market/lifetime.js';
import { dealMetrics } from '../market/metrics.js';
import { checkSid, online, resp, type SealerState, save, withOwnSector, withSector } from './common.js';

const log = logger('sealing');

/** The pieces of a sector as the proofs module reads them; a CC sector has none. */
function piecesOf(pieces: SectorPieces): PieceInfo[] {
  return (pieces ?? []).map((p) => ({ size: p.Piece.Size, commitment: cidToCommP(p.Piece.PieceCID) }));
}

function sameTicket(a: Ticket, b: Ticket): boolean {
  return a.Epoch === b.Epoch && a.Ticket === b.Ticket;
}

function bytes32OfCid(c: { '/': string }, kind: 'R' | 'D'): Uint8Array {
  return kind === 'R' ? cidToCommR(c) : cidToCommD(c);
}

export function submitPreCommit(
  st: SealerState,
  sector: AllocatedSector,
  info: PreCommitOnChainInfo,
  reset: boolean,
  caller: SectorCaller,
): Promise<SubmitResp> {
  const sid = checkSid(sector?.ID);
  return withOwnSector(st, sid, caller, async () => {
    const s = online(st, sid);
    const commR = bytes32FromJson(info?.CommR, 'CommR');
    const commD = bytes32FromJson(info?.CommD, 'CommD');
    const ticket = info.Ticket;
    const pre = { CommR: cidToJSON(commRToCid(commR)), CommD: cidToJSON(commDToCid(commD)), Ticket: ticket };
    if (s.Pre && !reset) {
      const same =
        s.Pre.CommR['/'] === pre.CommR['/'] && s.Pre.CommD['/'] === pre.CommD['/'] && sameTicket(s.Pre.Ticket, ticket);
      if (!same) {
        log.warn({ sector: sectorName(sid) }, 'PreCommit resubmitted with different content');
        return resp(SubmitResult.MismatchedSubmission, 'a different PreCommit was submitted for this sector before');
      }
      return resp(SubmitResult.Accepted);
    }
    if (s.Pre && reset) {
      // a reset may replace a PreCommit that failed, never one on its way to the chain or on it: its CommR is
      // what the ProveCommit will be checked against, and the deposit is at stake
      const busy = await preCommitInFlight(st, s);
      if (busy && s.Pre.CommR['/'] !== pre.CommR['/']) {
        log.warn({ sector: sectorName(sid), why: busy }, 'PreCommit reset refused');
        return resp(SubmitResult.MismatchedSubmission, `cannot reset the PreCommit: ${busy}`);
      }
    }
    const problem = await checkPreCommit(st, s, commR, commD, ticket);
    if (problem) {
      if (problem.res !== SubmitResult.Accepted)
        log.warn({ sector: sectorName(sid), res: problem.res, why: problem.desc }, 'PreCommit refused');
      if (problem.res === SubmitResult.Accepted) {
        // already on chain: record it, nothing to send
        s.Pre = pre;
        s.MessageInfo.NeedSend = false;
        save(st, s);
      }
      return resp(problem.res, problem.desc);
    }
    s.Pre = pre;
    s.MessageInfo = { ...s.MessageInfo, PreCommitCid: null, NeedSend: true };
    delete s.SendError;
    save(st, s);
    st.o.commit.enqueue('pre', sid);
    log.info({ sector: sectorName(sid), commR: pre.CommR['/'] }, 'PreCommit accepted');
    return resp(SubmitResult.Accepted);
  });
}

/** Why the sector's recorded PreCommit may not be replaced now (queued, pending or on chain), or undefined. */
async function preCommitInFlight(st: SealerState, s: SectorState): Promise<string | undefined> {
  const sid = s.ID;
  if (s.MessageInfo.NeedSend && !s.MessageInfo.PreCommitCid) return 'its PreCommit is queued to be sent';
  const { tsk } = await head(st.o.chain);
  const pci = await preCommitInfo(st.o.chain, sid.Miner, sid.Number, tsk);
  if (pci) return `a PreCommit with SealedCID ${pci.Info.SealedCID['/']} is on chain`;
  const id = s.MessageInfo.PreCommitCid?.['/'];
  if (id) {
    const r = await st.o.commit.messageState(id);
    if (r.state === OnChainState.Pending || r.state === OnChainState.Packed || r.state === OnChainState.Landed)
      return `its PreCommit message ${id} is ${r.state === OnChainState.Pending ? 'pending' : 'on chain'}`;
  }
  return undefined;
}

/** checkPrecommit: CommD vs pieces, ticket value and age, the number on chain (and its SealedCID). */
async function checkPreCommit(
  st: SealerState,
  s: SectorState,
  commR: Uint8Array,
  commD: Uint8Array,
  ticket: Ticket,
): Promise<{ res: SubmitResult; desc: string } | undefined> {
  const sid = s.ID;
  const facts = await st.o.miners.get(sid.Miner);
  const expectD = computeCommD(facts.sectorSize, piecesOf(s.Pieces));
  if (!bytesEqual(expectD, commD)) {
    // damocles answers Mismatched (the worker pauses for a human) rather than Rejected (abort)
    return {
      res: SubmitResult.MismatchedSubmission,
      desc: `CommD ${commDToCid(commD)} differs from the pieces' ${commDToCid(expectD)}`,
    };
  }
  const { tsk, height } = await head(st.o.chain);
  if (!Number.isSafeInteger(ticket?.Epoch)) return { res: SubmitResult.Rejected, desc: 'ticket epoch missing' };
  if (ticket.Epoch > height)
    return { res: SubmitResult.Rejected, desc: `ticket epoch ${ticket.Epoch} is in the future` };
  if (ticket.Epoch < height - st.o.policy.maxPreCommitRandomnessLookback)
    return {
      res: SubmitResult.Rejected,
      desc: `ticket expired: epoch ${ticket.Epoch}, head ${height}, oldest allowed ${height - st.o.policy.maxPreCommitRandomnessLookback}`,
    };
  const expected = await drawTicket(st.o.chain, tsk, ticket.Epoch, sid.Miner);
  let given: Uint8Array;
  try {
    given = fromBase64(ticket.Ticket, 'ticket');
  } catch (err) {
    return { res: SubmitResult.Rejected, desc: (err as Error).message };
  }
  if (!bytesEqual(expected, given))
    return { res: SubmitResult.Rejected, desc: `ticket does not match the chain's randomness at ${ticket.Epoch}` };
  const pci = await preCommitInfo(st.o.chain, sid.Miner, sid.Number, tsk);
  if (pci) {
    if (pci.Info.SealRandEpoch !== ticket.Epoch)
      return {
        res: SubmitResult.Rejected,
        desc: `a PreCommit with ticket epoch ${pci.Info.SealRandEpoch} is on chain`,
      };
    const sealed = commRToCid(commR).toString();
    if (pci.Info.SealedCID['/'] !== sealed)
      return {
        res: SubmitResult.Rejected,
        desc: `the PreCommit on chain has SealedCID ${pci.Info.SealedCID['/']}, not ${sealed}`,
      };
    return { res: SubmitResult.Accepted, desc: 'PreCommit already on chain' };
  }
  if (await st.o.chain.StateMinerSectorAllocated(minerAddr(sid.Miner), sid.Number, tsk))
    return { res: SubmitResult.Rejected, desc: `sector number ${sid.Number} is already allocated on chain` };
  // a deal that starts before the sector can be proven (or outlives it) cannot be sealed: the worker aborts and
  // the sector's deals go back to the market
  const unsealable = unsealableDeals(s.Pieces, height, st.o.policy);
  if (unsealable) {
    dealMetrics().failed('seal', unsealable.reason);
    return { res: SubmitResult.Rejected, desc: `${unsealable.why}; the sector's deals are released` };
  }
  return undefined;
}

export function pollPreCommitState(st: SealerState, sid: SectorID): Promise<PollStateResp> {
  checkSid(sid);
  return withSector(st, sid, async () => {
    const s = online(st, sid);
    if (!s.Pre) return { State: OnChainState.NotFound, Desc: 'no PreCommit submitted' };
    const id = s.MessageInfo.PreCommitCid?.['/'];
    if (!id) {
      if (s.MessageInfo.NeedSend) return { State: OnChainState.Pending, Desc: null };
      const { tsk } = await head(st.o.chain);
      if (await preCommitInfo(st.o.chain, sid.Miner, sid.Number, tsk))
        return { State: OnChainState.Landed, Desc: null };
      return { State: OnChainState.Failed, Desc: s.SendError ?? 'attempt to publish message but failed' };
    }
    const r = await st.o.commit.messageState(id);
    if (r.state === OnChainState.Landed) {
      const { tsk } = await head(st.o.chain);
      const pci = await preCommitInfo(st.o.chain, sid.Miner, sid.Number, tsk);
      if (!pci) {
        // the message landed but the PreCommit is gone: expired, or proven meanwhile
        const active = await st.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk);
        if (!active) return { State: OnChainState.ShouldAbort, Desc: 'PreCommit landed but is no longer on chain' };
      }
    }
    return { State: r.state, Desc: r.desc };
  });
}

export function submitProof(
  st: SealerState,
  sid: SectorID,
  info: ProofOnChainInfo,
  reset: boolean,
  caller: SectorCaller,
): Promise<SubmitResp> {
  checkSid(sid);
  return withOwnSector(st, sid, caller, async () => {
    const s = online(st, sid);
    if (!s.Pre) return resp(SubmitResult.Rejected, 'PreCommit info not found');
    let proof: Uint8Array;
    try {
      proof = fromBase64(info?.Proof ?? '', 'Proof');
    } catch (err) {
      return resp(SubmitResult.Rejected, (err as Error).message);
    }
    if (proof.length === 0) return resp(SubmitResult.Rejected, 'empty proof');
    if (s.Proof && !reset) {
      if (s.Proof.Proof !== info.Proof) {
        log.warn({ sector: sectorName(sid) }, 'proof resubmitted with different content');
        return resp(SubmitResult.MismatchedSubmission, 'a different proof was submitted for this sector before');
      }
      return resp(SubmitResult.Accepted);
    }
    const problem = await checkCommit(st, s, proof);
    if (problem) {
      if (problem.res === SubmitResult.Accepted) {
        s.Proof = { Proof: toBase64(proof) };
        s.MessageInfo.NeedSend = false;
        save(st, s);
      } else log.warn({ sector: sectorName(sid), res: problem.res, why: problem.desc }, 'proof refused');
      return resp(problem.res, problem.desc);
    }
    s.Proof = { Proof: toBase64(proof) };
    s.MessageInfo = { ...s.MessageInfo, CommitCid: null, NeedSend: true };
    delete s.SendError;
    save(st, s);
    st.o.commit.enqueue('prove', sid);
    log.info({ sector: sectorName(sid) }, 'proof accepted');
    return resp(SubmitResult.Accepted);
  });
}

/** checkCommit: PreCommit on chain, seed epoch reached and seed value right, proof verified locally. */
async function checkCommit(
  st: SealerState,
  s: SectorState,
  proof: Uint8Array,
): Promise<{ res: SubmitResult; desc: string } | undefined> {
  const sid = s.ID;
  const { tsk, height } = await head(st.o.chain);
  if (await st.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk))
    return { res: SubmitResult.Accepted, desc: 'sector already proven on chain' };
  const pci = await preCommitInfo(st.o.chain, sid.Miner, sid.Number, tsk);
  if (!pci) return { res: SubmitResult.Rejected, desc: 'no PreCommit on chain for this sector' };
  if (!s.Seed) return { res: SubmitResult.Rejected, desc: 'no seed assigned (call WaitSeed first)' };
  const seedEpoch = pci.PreCommitEpoch + st.o.policy.preCommitChallengeDelay;
  if (s.Seed.Epoch !== seedEpoch)
    return { res: SubmitResult.Rejected, desc: `seed epoch ${s.Seed.Epoch} is not the PreCommit's ${seedEpoch}` };
  if (height < seedEpoch)
    return { res: SubmitResult.Rejected, desc: `seed epoch ${seedEpoch} not reached (head ${height})` };
  const seed = await drawSeed(st.o.chain, tsk, seedEpoch, sid.Miner);
  if (!bytesEqual(seed, fromBase64(s.Seed.Seed, 'seed')))
    return { res: SubmitResult.Rejected, desc: 'seed differs from the chain (reorg?)' };
  const pre = s.Pre!;
  const ok = await st.o.verifier.verifySeal({
    sealProof: s.SectorType,
    minerId: sid.Miner,
    sectorNumber: sid.Number,
    ticket: fromBase64(pre.Ticket.Ticket, 'ticket'),
    seed,
    commR: bytes32OfCid(pre.CommR, 'R'),
    commD: bytes32OfCid(pre.CommD, 'D'),
    proof,
  });
  if (!ok) return { res: SubmitResult.Rejected, desc: 'invalid proof (local verification failed)' };
  return undefined;
}

export function pollProofState(st: SealerState, sid: SectorID): Promise<PollStateResp> {
  checkSid(sid);
  return withSector(st, sid, async () => {
    // a sector being upgraded: its ProveReplicaUpdates3 (snapup/), also once it is finalized
    const snap = st.snap?.pollState(sid);
    if (snap) return snap;
    const s = online(st, sid);
    if (!s.Proof) return { State: OnChainState.NotFound, Desc: 'no proof submitted' };
    const id = s.MessageInfo.CommitCid?.['/'];
    const { tsk } = await head(st.o.chain);
    if (!id) {
      if (s.MessageInfo.NeedSend) return { State: OnChainState.Pending, Desc: null };
      if (await st.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk))
        return { State: OnChainState.Landed, Desc: null };
      return { State: OnChainState.Failed, Desc: s.SendError ?? 'attempt to publish message but failed' };
    }
    const rec = st.o.store.getMessage(id);
    const index = rec ? rec.sectors.indexOf(sid.Number) : undefined;
    const r = await st.o.commit.messageState(id, index !== undefined && index >= 0 ? index : undefined);
    if (r.state === OnChainState.Landed) {
      const active = await st.o.chain.StateSectorGetInfo(minerAddr(sid.Miner), sid.Number, tsk);
      if (!active) return { State: OnChainState.PermFailed, Desc: 'ProveCommit landed but the sector is not on chain' };
    }
    return { State: r.state, Desc: r.desc };
  });
}
