/**
 * The devnet's records in Lotus' JSON shapes (sectors, pre-commits, message lookups, head changes), the
 * builtin actor code CIDs, and SectorPreCommitInfo parsed from JSON: what fullNodeImpl (api-full.ts) answers with.
 */
import type {
  HeadChange as HeadChangeJson,
  MsgLookup as MsgLookupJson,
  SectorPreCommitInfo as PreCommitInfoJson,
  SectorOnChainInfo as SectorJson,
  TipSet as TipSetJsonT,
} from '../api/full.js';
import { CID, cidToJSON, toBase64 } from '../fil/index.js';
import { tipSetJson } from './chain.js';
import { decodeSectorPreCommitInfo } from './codec.js';
import type { SectorOnChainInfo, SectorPreCommitOnChainInfo } from './miner.js';
import type { HeadChange, MsgLookup } from './node.js';
import type { ActorKind } from './state.js';

/** Builtin actor code CIDs: CIDv1 raw, identity multihash of "fil/<actors version>/<name>" (as specs-actors v1–v7 did). */
export const ACTOR_NAMES: Record<ActorKind, string> = {
  system: 'system',
  init: 'init',
  reward: 'reward',
  cron: 'cron',
  power: 'storagepower',
  market: 'storagemarket',
  verifreg: 'verifiedregistry',
  datacap: 'datacap',
  eam: 'eam',
  burnt: 'account',
  account: 'account',
  miner: 'storageminer',
};
export function actorCodeCid(kind: ActorKind): CID {
  const bytes = new TextEncoder().encode(`fil/17/${ACTOR_NAMES[kind]}`);
  // identity multihash: 0x00, length, bytes
  const mh = new Uint8Array(2 + bytes.length);
  mh[0] = 0;
  mh[1] = bytes.length;
  mh.set(bytes, 2);
  return CID.create(1, 0x55, { code: 0, size: bytes.length, digest: bytes, bytes: mh });
}

const cidJson = (b: Uint8Array) => cidToJSON(CID.decode(b));
export const big = (n: bigint) => n.toString();

export function sectorJson(s: SectorOnChainInfo): SectorJson {
  return {
    SectorNumber: s.sectorNumber,
    SealProof: s.sealProof,
    SealedCID: cidJson(s.sealedCid),
    DealIDs: null,
    Activation: s.activation,
    Expiration: s.expiration,
    DealWeight: big(s.dealWeight),
    VerifiedDealWeight: big(s.verifiedDealWeight),
    InitialPledge: big(s.initialPledge),
    ExpectedDayReward: big(s.expectedDayReward),
    ExpectedStoragePledge: big(s.expectedStoragePledge),
    PowerBaseEpoch: s.powerBaseEpoch,
    ReplacedDayReward: big(s.replacedDayReward),
    SectorKeyCID: s.sectorKeyCid ? cidJson(s.sectorKeyCid) : null,
    Flags: s.flags,
    DailyFee: big(s.dailyFee),
  };
}

export function preCommitJson(p: SectorPreCommitOnChainInfo) {
  return {
    Info: {
      SealProof: p.info.sealProof,
      SectorNumber: p.info.sectorNumber,
      SealedCID: cidJson(p.info.sealedCid),
      SealRandEpoch: p.info.sealRandEpoch,
      DealIDs: p.info.dealIds.length ? p.info.dealIds : null,
      Expiration: p.info.expiration,
      UnsealedCid: p.info.unsealedCid ? cidJson(p.info.unsealedCid) : null,
    },
    PreCommitDeposit: big(p.preCommitDeposit),
    PreCommitEpoch: p.preCommitEpoch,
  };
}

export function msgLookupJson(r: MsgLookup): MsgLookupJson {
  return {
    Message: cidToJSON(r.message),
    Receipt: {
      ExitCode: r.receipt.exitCode,
      Return: r.receipt.return.length ? toBase64(r.receipt.return) : null,
      GasUsed: r.receipt.gasUsed,
      EventsRoot: null,
    },
    ReturnDec: null,
    TipSet: [cidToJSON(r.tipset.cid)],
    Height: r.height,
  };
}

export const headChangeJson = (c: HeadChange): HeadChangeJson => ({
  Type: c.type,
  Val: tipSetJson(c.tipset) as unknown as TipSetJsonT,
});

/** Parses a Lotus SectorPreCommitInfo JSON (StateMinerPreCommitDepositForPower's argument). */
export function preCommitInfoFromJson(j: PreCommitInfoJson) {
  return decodeSectorPreCommitInfo([
    j.SealProof,
    j.SectorNumber,
    CID.parse(j.SealedCID['/']),
    j.SealRandEpoch,
    j.DealIDs ?? [],
    j.Expiration,
    j.UnsealedCid ? CID.parse(j.UnsealedCid['/']) : null,
  ]);
}
