/**
 * The full-node API (`Filecoin.*`, src/api/full.ts) over the devnet node, in Lotus' JSON shapes.
 *
 * State queries read the head state; a `tsk` naming an older tipset sets the epoch the answer is computed
 * for (deadline info, randomness), not the state: the devnet keeps only the head state.
 */
import type {
  Actor,
  DeadlineInfo as DeadlineInfoJson,
  FullNodeAPI,
  HeadChange as HeadChangeJson,
  MessageJson,
  MinerInfo as MinerInfoJson,
  SectorOnChainInfo as SectorJson,
  TipSet as TipSetJsonT,
  TipSetKey,
} from '../api/full.js';
import { VERSION } from '../common/version.js';
import {
  type Address,
  BLOCK_GAS_LIMIT,
  type CID,
  cborCid,
  cidFromJSON,
  cidToJSON,
  encodeCbor,
  fromBase64,
  idAddress,
  type Message,
  messageCid,
  messageFromJSON,
  messageToJSON,
  parseAddress,
  signedMessageFromJSON,
  signedMessageToJSON,
  toBase64,
} from '../fil/index.js';
import { type ApiImpl, type CallContext, PushChannel, rpcError } from '../rpc/index.js';
import { dealMethods } from './api-deals.js';
import {
  ACTOR_NAMES,
  actorCodeCid,
  big,
  headChangeJson,
  msgLookupJson,
  preCommitInfoFromJson,
  preCommitJson,
  sectorJson,
} from './api-json.js';
import { bitfieldFromJson, bitfieldToJson } from './bitfield.js';
import { type TipSet, tipSetJson } from './chain.js';
import { deadlineInfoJson, nextNotElapsed } from './dline.js';
import { stringifyState } from './jsonc.js';
import {
  activeSectorNumbers,
  activeSectors,
  findSector,
  getAvailableBalance,
  liveSectors,
  type MinerState,
  minerDeadlineInfo,
  minerTotals,
} from './miner.js';
import type { DevnetNode, HeadChange } from './node.js';
import {
  createMinerDeposit,
  initialPledgeForPower,
  NETWORK_VERSION,
  networkParamsJson,
  preCommitDepositForSector,
  sealProofInfo,
} from './policy.js';
import { minerPower } from './power.js';
import { has } from './sets.js';
import type { ActorRecord } from './state.js';
import { accountKey } from './vm.js';

export { actorCodeCid, headChangeJson, msgLookupJson, preCommitJson, sectorJson } from './api-json.js';

const EMPTY = '<empty>';

const addr = (id: number) => idAddress(id).toString();

export function fullNodeImpl(node: DevnetNode): ApiImpl<typeof FullNodeAPI> {
  const policy = node.policy;

  const tipset = (tsk: TipSetKey): TipSet => {
    if (tsk === null || tsk === undefined || tsk.length === 0) return node.head;
    const ts = node.tipSetByCid(cidFromJSON(tsk[0], 'TipSetKey'));
    if (!ts) throw rpcError(`loading tipset ${JSON.stringify(tsk)}: not found`);
    return ts;
  };
  const parseAddr = (s: string): Address => {
    try {
      return parseAddress(s);
    } catch (e) {
      throw rpcError(`invalid address ${JSON.stringify(s)}: ${(e as Error).message}`);
    }
  };
  const actor = (s: string): ActorRecord => {
    const a = parseAddr(s);
    const id = node.lookupId(a);
    const rec = id === undefined ? undefined : node.state.actors[id];
    if (!rec) throw rpcError(`resolution lookup failed (${s}): actor not found`);
    return rec;
  };
  const minerOf = (s: string): { id: number; st: MinerState } => {
    const rec = actor(s);
    if (rec.kind !== 'miner') throw rpcError(`actor ${s} is not a miner (it is ${ACTOR_NAMES[rec.kind]})`);
    return { id: rec.id, st: rec.state as MinerState };
  };
  const sectorsJson = (st: MinerState, nums: number[]): SectorJson[] | null => {
    const out = nums.filter((n) => st.sectors[n]).map((n) => sectorJson(st.sectors[n]!));
    return out.length ? out : null;
  };
  const randArgs = (epoch: number, entropy: string | null, tsk: TipSetKey) => {
    const ts = tipset(tsk);
    if (epoch > ts.height) throw rpcError(`cannot draw randomness from the future (${epoch} > ${ts.height})`);
    return { ts, ent: entropy ? fromBase64(entropy, 'entropy') : new Uint8Array(0) };
  };
  const messageParam = (m: MessageJson): Message => {
    try {
      return messageFromJSON(m);
    } catch (e) {
      throw rpcError(`invalid message: ${(e as Error).message}`);
    }
  };

  return {
    // ---- chain
    ChainHead: () => tipSetJson(node.head) as unknown as TipSetJsonT,
    ChainNotify: (ctx: CallContext) => {
      const ch = new PushChannel<HeadChangeJson[]>();
      ch.push([{ Type: 'current', Val: tipSetJson(node.head) as unknown as TipSetJsonT }]);
      const onHead = (c: HeadChange) => ch.push([headChangeJson(c)]);
      node.events.on('head', onHead);
      const stop = () => {
        node.events.off('head', onHead);
        ch.end();
      };
      ch.onReturn(stop);
      ctx.signal.addEventListener('abort', stop, { once: true });
      return ch;
    },
    ChainGetTipSet: (tsk) => tipSetJson(tipset(tsk)) as unknown as TipSetJsonT,
    ChainGetTipSetByHeight: (epoch, tsk) => {
      const ts = tipset(tsk);
      if (epoch > ts.height) throw rpcError(`looking for tipset with height greater than start point`);
      if (epoch < 0) throw rpcError(`looking for tipset with negative height ${epoch}`);
      return tipSetJson(node.tipSetAt(epoch)) as unknown as TipSetJsonT;
    },
    ChainGetMessage: (cid) => {
      const sm = node.getMessage(cidFromJSON(cid));
      if (!sm) throw rpcError(`failed to load message: blockstore: block not found`);
      return messageToJSON(sm.message);
    },
    ChainGetParentMessages: (blockCid) => {
      const ts = node.tipSetByCid(cidFromJSON(blockCid));
      if (!ts) throw rpcError('failed to load block header: block not found');
      if (ts.height === 0) return null;
      const msgs = node.blockMessages(ts.height - 1);
      return msgs.length
        ? msgs.map((m) => ({ Cid: cidToJSON(m.cid), Message: messageToJSON(m.signed.message) }))
        : null;
    },
    ChainGetParentReceipts: (blockCid) => {
      const ts = node.tipSetByCid(cidFromJSON(blockCid));
      if (!ts) throw rpcError('failed to load block header: block not found');
      const rs = node.receiptsAt(ts.height);
      return rs.length
        ? rs.map((r) => ({
            ExitCode: r.exitCode,
            Return: r.return.length ? toBase64(r.return) : null,
            GasUsed: r.gasUsed,
            EventsRoot: null,
          }))
        : null;
    },
    ChainReadObj: (cid) => {
      const b = node.readObj(cidFromJSON(cid));
      if (!b) throw rpcError(`blockstore: block not found`);
      return toBase64(b);
    },
    ChainHasObj: (cid) => node.readObj(cidFromJSON(cid)) !== undefined,

    // ---- miner state
    StateMinerInfo: (maddr, _tsk) => {
      const { st } = minerOf(maddr);
      const i = st.info;
      const info: MinerInfoJson = {
        Owner: addr(i.owner),
        Worker: addr(i.worker),
        NewWorker: i.pendingWorkerKey ? addr(i.pendingWorkerKey.newWorker) : EMPTY,
        ControlAddresses: i.controlAddresses.length ? i.controlAddresses.map(addr) : null,
        WorkerChangeEpoch: i.pendingWorkerKey ? i.pendingWorkerKey.effectiveAt : -1,
        PeerId: i.peerId.length ? Buffer.from(i.peerId).toString('base64') : null,
        Multiaddrs: i.multiaddrs.length ? i.multiaddrs.map((m) => toBase64(m)) : null,
        WindowPoStProofType: i.windowPoStProofType,
        SectorSize: i.sectorSize,
        WindowPoStPartitionSectors: i.windowPoStPartitionSectors,
        ConsensusFaultElapsed: i.consensusFaultElapsed,
        PendingOwnerAddress: i.pendingOwnerAddress === null ? null : addr(i.pendingOwnerAddress),
        Beneficiary: addr(i.beneficiary),
        BeneficiaryTerm: {
          Quota: big(i.beneficiaryTerm.quota),
          UsedQuota: big(i.beneficiaryTerm.usedQuota),
          Expiration: i.beneficiaryTerm.expiration,
        },
        PendingBeneficiaryTerm: null,
      };
      return info;
    },
    StateMinerProvingDeadline: (maddr, tsk) => {
      const { st } = minerOf(maddr);
      const ts = tipset(tsk);
      return deadlineInfoJson(
        nextNotElapsed(policy, minerDeadlineInfo(policy, st, ts.height)),
      ) as unknown as DeadlineInfoJson;
    },
    StateMinerDeadlines: (maddr) => {
      const { st } = minerOf(maddr);
      return st.deadlines.map((d) => ({
        PostSubmissions: bitfieldToJson(d.partitionsPosted),
        DisputableProofCount: 0,
        DailyFee: '0',
      }));
    },
    StateMinerPartitions: (maddr, dlIdx) => {
      const { st } = minerOf(maddr);
      const d = st.deadlines[dlIdx];
      if (!d) throw rpcError(`invalid deadline index ${dlIdx}`);
      return d.partitions.map((p) => ({
        AllSectors: bitfieldToJson(p.sectors),
        FaultySectors: bitfieldToJson(p.faults),
        RecoveringSectors: bitfieldToJson(p.recoveries),
        LiveSectors: bitfieldToJson(liveSectors(p)),
        ActiveSectors: bitfieldToJson(activeSectors(p)),
      }));
    },
    StateMinerSectors: (maddr, filter) => {
      const { st } = minerOf(maddr);
      const all = Object.keys(st.sectors)
        .map(Number)
        .sort((a, b) => a - b);
      if (filter === null) return sectorsJson(st, all);
      const want = bitfieldFromJson(filter);
      return sectorsJson(
        st,
        all.filter((n) => has(want, n)),
      );
    },
    StateMinerActiveSectors: (maddr) => {
      const { st } = minerOf(maddr);
      return sectorsJson(st, activeSectorNumbers(st));
    },
    StateSectorGetInfo: (maddr, n) => {
      const { st } = minerOf(maddr);
      const s = st.sectors[n];
      return s ? sectorJson(s) : null;
    },
    StateSectorPreCommitInfo: (maddr, n) => {
      const { st } = minerOf(maddr);
      const p = st.preCommittedSectors[n];
      return p ? preCommitJson(p) : null;
    },
    StateSectorPartition: (maddr, n) => {
      const { st } = minerOf(maddr);
      const loc = findSector(st, n);
      if (!loc) throw rpcError(`sector ${n} not due at any deadline`);
      return { Deadline: loc.deadline, Partition: loc.partition };
    },
    StateSectorExpiration: (maddr, n) => {
      const { st } = minerOf(maddr);
      const s = st.sectors[n];
      const loc = findSector(st, n);
      if (!s || !loc) throw rpcError(`failed to find sector ${n}`);
      const part = st.deadlines[loc.deadline]!.partitions[loc.partition]!;
      const early = part.faultExpirations[n];
      return { OnTime: s.expiration, Early: early !== undefined && early < s.expiration ? early : 0 };
    },
    StateMinerSectorAllocated: (maddr, n) => has(minerOf(maddr).st.allocatedSectors, n),
    StateMinerPreCommitDepositForPower: (maddr, pci) => {
      const { st } = minerOf(maddr);
      preCommitInfoFromJson(pci);
      // lotus multiplies by 110/100 to leave room for the deposit to grow before inclusion
      return big((preCommitDepositForSector(policy, st.info.sectorSize) * 110n) / 100n);
    },
    StateMinerInitialPledgeCollateral: (maddr, pci) => {
      const { st } = minerOf(maddr);
      preCommitInfoFromJson(pci);
      return big((initialPledgeForPower(policy, BigInt(st.info.sectorSize)) * 110n) / 100n);
    },
    StateMinerInitialPledgeForSector: (_duration, sectorSize, verifiedSize) => {
      if (!policy.sectorSizes.includes(sectorSize) && !sealProofInfo(5)) throw rpcError('unknown sector size');
      // QA power: verified bytes count 10×
      const qa = BigInt(sectorSize) - BigInt(verifiedSize) + BigInt(verifiedSize) * 10n;
      return big((initialPledgeForPower(policy, qa) * 110n) / 100n);
    },
    StateMinerAvailableBalance: (maddr) => {
      const { id, st } = minerOf(maddr);
      return big(getAvailableBalance(st, node.state.actors[id]!.balance));
    },
    StateMinerPower: (maddr) => {
      const { id } = minerOf(maddr);
      const p = minerPower(node.view(), policy, id);
      const claim = p.claim ?? { rawBytePower: 0n, qualityAdjPower: 0n };
      return {
        MinerPower: { RawBytePower: big(claim.rawBytePower), QualityAdjPower: big(claim.qualityAdjPower) },
        TotalPower: { RawBytePower: big(p.total.raw), QualityAdjPower: big(p.total.qa) },
        HasMinPower: p.hasMinPower,
      };
    },

    // ---- actors, accounts
    StateGetActor: (s) => {
      const a = parseAddr(s);
      const id = node.lookupId(a);
      const rec = id === undefined ? undefined : node.state.actors[id];
      if (!rec) throw rpcError(`resolution lookup failed (${s}): actor not found`);
      const res: Actor = {
        Code: cidToJSON(actorCodeCid(rec.kind)),
        Head: cidToJSON(stateHeadCid(rec)),
        Nonce: rec.nonce,
        Balance: big(rec.balance),
        DelegatedAddress: null,
      };
      return res;
    },
    StateLookupID: (s) => {
      const id = node.lookupId(parseAddr(s));
      if (id === undefined) throw rpcError(`resolution lookup failed (${s}): actor not found`);
      return addr(id);
    },
    StateAccountKey: (s) => {
      const a = parseAddr(s);
      if (a.protocol === 1 || a.protocol === 3) return a.toString();
      const rec = actor(s);
      const key = accountKey(rec);
      if (!key) throw rpcError(`address ${s} is not an account actor`);
      return key.toString();
    },
    StateNetworkVersion: () => NETWORK_VERSION,
    StateNetworkName: () => policy.networkName,
    StateGetNetworkParams: () => {
      const p = networkParamsJson(
        { ...policy, blockDelaySecs: Math.max(1, Math.round(node.config.blockTimeMs / 1000)) },
        node.config.genesisTimestamp,
      );
      return {
        ...(p as object),
        SupportedProofTypes: policy.sectorSizes.map((s) => 5 + [2048, 8 << 20, 512 << 20].indexOf(s)),
        BlockDelayMillis: node.config.blockTimeMs,
      } as never;
    },
    StateGetRandomnessFromTickets: (dst, epoch, entropy, tsk) => {
      const { ts, ent } = randArgs(epoch, entropy, tsk);
      return toBase64(node.randomness(ts.height).fromTickets(dst, epoch, ent));
    },
    StateGetRandomnessFromBeacon: (dst, epoch, entropy, tsk) => {
      const { ts, ent } = randArgs(epoch, entropy, tsk);
      return toBase64(node.randomness(ts.height).fromBeacon(dst, epoch, ent));
    },
    StateGetRandomnessDigestFromTickets: (epoch, tsk) => {
      const { ts } = randArgs(epoch, null, tsk);
      return toBase64(node.randomness(ts.height).ticketDigest(epoch));
    },
    StateGetRandomnessDigestFromBeacon: (epoch, tsk) => {
      const { ts } = randArgs(epoch, null, tsk);
      return toBase64(node.randomness(ts.height).beaconDigest(epoch));
    },
    StateWaitMsg: async (cid, confidence, _limit, _allowReplaced, ctx) => {
      const r = await node.waitMsg(cidFromJSON(cid), confidence, ctx.signal);
      return msgLookupJson(r);
    },
    StateSearchMsg: (_tsk, cid) => {
      const r = node.searchMsg(cidFromJSON(cid));
      return r ? msgLookupJson(r) : null;
    },
    StateCall: async (m) => {
      const msg = messageParam(m);
      const r = await node.call({ ...msg, gasLimit: msg.gasLimit || BLOCK_GAS_LIMIT }, { skipSenderChecks: true });
      return {
        MsgCid: cidToJSON(messageCid(msg)),
        Msg: messageToJSON(msg),
        MsgRct: {
          ExitCode: r.receipt.exitCode,
          Return: r.receipt.return.length ? toBase64(r.receipt.return) : null,
          GasUsed: r.receipt.gasUsed,
          EventsRoot: null,
        },
        GasCost: null,
        ExecutionTrace: null,
        Error: r.error ?? '',
        Duration: 0,
      };
    },

    // ---- mempool, gas, wallet
    MpoolPush: (sm) => {
      try {
        return cidToJSON(node.mpoolPush(signedMessageFromJSON(sm)));
      } catch (e) {
        throw rpcError((e as Error).message);
      }
    },
    MpoolBatchPush: (sms) =>
      sms.map((sm) => {
        try {
          return cidToJSON(node.mpoolPush(signedMessageFromJSON(sm)));
        } catch (e) {
          throw rpcError((e as Error).message);
        }
      }),
    MpoolPushMessage: async (m, spec) => {
      const msg = messageParam(m);
      try {
        const sm = await node.mpoolPushMessage(msg, spec?.MaxFee ? BigInt(spec.MaxFee) : 0n);
        return signedMessageToJSON(sm);
      } catch (e) {
        throw rpcError((e as Error).message);
      }
    },
    MpoolGetNonce: (a) => node.mpoolNonce(parseAddr(a)),
    GasEstimateMessageGas: async (m, spec) => {
      const msg = messageParam(m);
      try {
        const est = await node.estimateMessageGas(msg, spec?.MaxFee ? BigInt(spec.MaxFee) : 0n);
        return messageToJSON(est);
      } catch (e) {
        throw rpcError((e as Error).message);
      }
    },
    GasEstimateGasLimit: async (m) => {
      try {
        return await node.estimateGasLimit(messageParam(m));
      } catch (e) {
        throw rpcError((e as Error).message);
      }
    },
    GasEstimateGasPremium: () => big(node.estimateGasPremium()),
    GasEstimateFeeCap: (m, maxQueueBlks) => big(node.estimateFeeCap(messageParam(m), maxQueueBlks)),
    WalletBalance: (a) => {
      const id = node.lookupId(parseAddr(a));
      return big(id === undefined ? 0n : node.state.actors[id]!.balance);
    },
    Version: () => ({
      Version: `${VERSION}+venus-devnet`,
      APIVersion: (2 << 16) | (3 << 8),
      BlockDelay: Math.max(1, Math.round(node.config.blockTimeMs / 1000)),
    }),
    StateMinerCreationDeposit: () => big(createMinerDeposit(policy)),
    StateListMiners: () => node.minerIds().map(addr),
    ...dealMethods(node),
  } as ApiImpl<typeof FullNodeAPI>;
}

/** A CID standing for an actor's state: the devnet keeps no IPLD state tree, so a digest of the state. */
export function stateHeadCid(rec: ActorRecord): CID {
  return cborCid(encodeCbor(new TextEncoder().encode(stringifyState(rec.state))));
}

/** Devnet.Status: height, network, and per miner power, sector counts, deadline and last Window PoSt. */
export function devnetStatus(node: DevnetNode): import('./api.js').DevnetStatus {
  const miners = node.minerIds().map((id) => {
    const rec = node.state.actors[id]!;
    const st = rec.state as MinerState;
    const p = minerPower(node.view(), node.policy, id).claim;
    const t = minerTotals(st);
    const d = nextNotElapsed(node.policy, minerDeadlineInfo(node.policy, st, node.head.height));
    return {
      Miner: addr(id),
      Owner: addr(st.info.owner),
      Worker: addr(st.info.worker),
      SectorSize: st.info.sectorSize,
      RawBytePower: big(p?.rawBytePower ?? 0n),
      QualityAdjPower: big(p?.qualityAdjPower ?? 0n),
      Sectors: {
        Live: t.live,
        Active: t.active,
        Faulty: t.faulty,
        Recovering: t.recovering,
        Unproven: t.unproven,
        PreCommitted: t.precommitted,
      },
      CurrentDeadline: {
        Index: d.index,
        Open: d.open,
        Close: d.close,
        Challenge: d.challenge,
        PeriodStart: d.periodStart,
      },
      LastWindowPoStEpoch: st.lastWindowPoStEpoch,
      AvailableBalance: big(getAvailableBalance(st, rec.balance)),
    };
  });
  return {
    Height: node.head.height,
    HeadCid: node.head.cid.toString(),
    NetworkName: node.policy.networkName,
    NetworkVersion: NETWORK_VERSION,
    BlockTimeMs: node.config.blockTimeMs,
    BaseFee: big(node.head.block.parentBaseFee),
    MempoolSize: node.pending().length,
    Miners: miners,
    Policy: {
      wpostPeriodDeadlines: node.policy.wpostPeriodDeadlines,
      wpostChallengeWindow: node.policy.wpostChallengeWindow,
      wpostChallengeLookback: node.policy.wpostChallengeLookback,
      sectorSizes: node.policy.sectorSizes,
    },
  };
}
