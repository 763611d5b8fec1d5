/**
 * The Filecoin full-node API (`Filecoin.*`, Lotus/Venus API v1 at `/rpc/v1`) as far as the cluster uses it:
 * the sector-manager's calls, the messager's, and a few the CLI prints (docs/spec/chain.md §Calls the cluster makes,
 * §Full-node methods). The devnet implements it; the manager and messager are clients. Shapes are what Lotus sends
 * (current network versions: Beneficiary fields, PowerBaseEpoch, DailyFee, UnsealedCid), so a real Lotus/Venus node can
 * stand in.
 *
 * Wire conventions (docs/spec/chain.md §JSON conventions): CIDs `{"/":"bafy…"}`; TipSetKey a CID array where `null` or
 * `[]` means the head; big integers decimal strings; bytes std base64; addresses strings (`t0…` on 2k); bitfields RLE
 * run-length arrays starting with a 0-run (`[0]` empty); epochs, sector numbers, enums numbers.
 */
import { channel, defineApi, method, type wire } from '../rpc/index.js';
// registers the Lotus error codes (OutOfGas, ActorNotFound) so chain clients get typed errors
import './errors.js';

export type CidJson = wire.CidJson;
/** TipSetKey: `null` (or `[]`) = the current head. */
export type TipSetKey = CidJson[] | null;
export type AddressString = string;
export type BigIntString = string;
export type Base64 = string;
/** go-bitfield JSON: run lengths starting with a 0-run; {0,1,2,8,9} → [0,3,5,2]; empty → [0]. */
export type BitFieldJson = number[];
export type ChainEpoch = number;

// ---------------------------------------------------------------------------------------------------------------
// Chain

export interface BeaconEntry {
  Round: number;
  Data: Base64;
}

export interface BlockHeader {
  Miner: AddressString;
  Ticket: { VRFProof: Base64 } | null;
  ElectionProof: { WinCount: number; VRFProof: Base64 } | null;
  BeaconEntries: BeaconEntry[] | null;
  WinPoStProof: { PoStProof: number; ProofBytes: Base64 }[] | null;
  Parents: CidJson[];
  ParentWeight: BigIntString;
  Height: ChainEpoch;
  ParentStateRoot: CidJson;
  ParentMessageReceipts: CidJson;
  Messages: CidJson;
  BLSAggregate: Signature | null;
  Timestamp: number;
  BlockSig: Signature | null;
  ForkSignaling: number;
  ParentBaseFee: BigIntString;
}

export interface TipSet {
  Cids: CidJson[];
  Blocks: BlockHeader[];
  Height: ChainEpoch;
}

/** ChainNotify values: the first is `[{Type:"current"}]`; then reverts before applies. */
export interface HeadChange {
  Type: 'current' | 'apply' | 'revert';
  Val: TipSet;
}

export interface Signature {
  /** 1 secp256k1, 2 BLS, 3 delegated */
  Type: number;
  Data: Base64;
}

/** Unsigned message (Lotus adds "CID" on output; input ignores it). */
export interface MessageJson {
  Version: number;
  To: AddressString;
  From: AddressString;
  Nonce: number;
  Value: BigIntString;
  GasLimit: number;
  GasFeeCap: BigIntString;
  GasPremium: BigIntString;
  Method: number;
  Params: Base64 | null;
  CID?: CidJson;
}

export interface SignedMessageJson {
  Message: MessageJson;
  Signature: Signature;
  CID?: CidJson;
}

export interface MessageReceipt {
  ExitCode: number;
  Return: Base64 | null;
  GasUsed: number;
  EventsRoot: CidJson | null;
}

/** StateWaitMsg / StateSearchMsg result. TipSet/Height: where the message was executed (child of inclusion). */
export interface MsgLookup {
  Message: CidJson;
  Receipt: MessageReceipt;
  ReturnDec: unknown;
  TipSet: CidJson[];
  Height: ChainEpoch;
}

/** MpoolPushMessage / GasEstimateMessageGas spec. */
export interface MessageSendSpec {
  MaxFee: BigIntString;
  MsgUuid?: string;
  MaximizeFeeCap?: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Actors and miners

export interface Actor {
  Code: CidJson;
  Head: CidJson;
  Nonce: number;
  Balance: BigIntString;
  DelegatedAddress: AddressString | null;
}

export interface BeneficiaryTerm {
  Quota: BigIntString;
  UsedQuota: BigIntString;
  Expiration: ChainEpoch;
}

/** StateMinerInfo. Owner/Worker/Controls are ID addresses; an undefined address prints "<empty>". */
export interface MinerInfo {
  Owner: AddressString;
  Worker: AddressString;
  NewWorker: AddressString;
  ControlAddresses: AddressString[] | null;
  WorkerChangeEpoch: ChainEpoch;
  /** peer id string, or null */
  PeerId: string | null;
  /** base64 multiaddr bytes */
  Multiaddrs: Base64[] | null;
  WindowPoStProofType: number;
  SectorSize: number;
  WindowPoStPartitionSectors: number;
  ConsensusFaultElapsed: ChainEpoch;
  PendingOwnerAddress: AddressString | null;
  Beneficiary: AddressString;
  BeneficiaryTerm: BeneficiaryTerm;
  PendingBeneficiaryTerm: unknown | null;
}

/** dline.Info, StateMinerProvingDeadline (the next deadline not elapsed at the tipset). */
export interface DeadlineInfo {
  CurrentEpoch: ChainEpoch;
  PeriodStart: ChainEpoch;
  Index: number;
  Open: ChainEpoch;
  Close: ChainEpoch;
  Challenge: ChainEpoch;
  FaultCutoff: ChainEpoch;
  WPoStPeriodDeadlines: number;
  WPoStProvingPeriod: number;
  WPoStChallengeWindow: number;
  WPoStChallengeLookback: number;
  FaultDeclarationCutoff: number;
}

/** StateMinerDeadlines item. */
export interface Deadline {
  PostSubmissions: BitFieldJson;
  DisputableProofCount: number;
  DailyFee?: BigIntString;
}

/** StateMinerPartitions item. */
export interface Partition {
  AllSectors: BitFieldJson;
  FaultySectors: BitFieldJson;
  RecoveringSectors: BitFieldJson;
  LiveSectors: BitFieldJson;
  ActiveSectors: BitFieldJson;
}

/** SectorPreCommitInfo (v9+): the params entry of PreCommitSectorBatch2 and the chain's record. */
export interface SectorPreCommitInfo {
  SealProof: number;
  SectorNumber: number;
  SealedCID: CidJson;
  SealRandEpoch: ChainEpoch;
  DealIDs: number[] | null;
  Expiration: ChainEpoch;
  UnsealedCid: CidJson | null;
}

export interface SectorPreCommitOnChainInfo {
  Info: SectorPreCommitInfo;
  PreCommitDeposit: BigIntString;
  PreCommitEpoch: ChainEpoch;
}

export interface SectorOnChainInfo {
  SectorNumber: number;
  SealProof: number;
  SealedCID: CidJson;
  DealIDs?: number[] | null;
  Activation: ChainEpoch;
  Expiration: ChainEpoch;
  DealWeight: BigIntString;
  VerifiedDealWeight: BigIntString;
  InitialPledge: BigIntString;
  ExpectedDayReward: BigIntString;
  ExpectedStoragePledge: BigIntString;
  PowerBaseEpoch: ChainEpoch;
  ReplacedDayReward: BigIntString;
  SectorKeyCID: CidJson | null;
  Flags: number;
  DailyFee?: BigIntString;
}

export interface SectorLocation {
  Deadline: number;
  Partition: number;
}

export interface SectorExpiration {
  OnTime: ChainEpoch;
  Early: ChainEpoch;
}

export interface PowerClaim {
  RawBytePower: BigIntString;
  QualityAdjPower: BigIntString;
}

export interface MinerPower {
  MinerPower: PowerClaim;
  TotalPower: PowerClaim;
  HasMinPower: boolean;
}

// ---------------------------------------------------------------------------------------------------------------
// Storage market and verified registry (Lotus api.MarketDeal, market.DealProposal, verifreg.Allocation/Claim)

/** go-state-types market.DealProposal; Label is the text label (a byte label as base64). */
export interface DealProposalJson {
  PieceCID: CidJson;
  PieceSize: number;
  VerifiedDeal: boolean;
  Client: AddressString;
  Provider: AddressString;
  Label: string;
  StartEpoch: ChainEpoch;
  EndEpoch: ChainEpoch;
  StoragePricePerEpoch: BigIntString;
  ProviderCollateral: BigIntString;
  ClientCollateral: BigIntString;
}

/** Lotus MarketDealState: −1 for epochs that have not happened (a published, not activated deal). */
export interface MarketDealState {
  SectorNumber: number;
  SectorStartEpoch: ChainEpoch;
  LastUpdatedEpoch: ChainEpoch;
  SlashEpoch: ChainEpoch;
}

export interface MarketDeal {
  Proposal: DealProposalJson;
  State: MarketDealState;
}

export interface MarketBalance {
  Escrow: BigIntString;
  Locked: BigIntString;
}

/** verifreg Allocation: Client and Provider are actor IDs (numbers). */
export interface AllocationJson {
  Client: number;
  Provider: number;
  Data: CidJson;
  Size: number;
  TermMin: ChainEpoch;
  TermMax: ChainEpoch;
  Expiration: ChainEpoch;
}

export interface ClaimJson {
  Provider: number;
  Client: number;
  Data: CidJson;
  Size: number;
  TermMin: ChainEpoch;
  TermMax: ChainEpoch;
  TermStart: ChainEpoch;
  Sector: number;
}

export interface DealCollateralBounds {
  Min: BigIntString;
  Max: BigIntString;
}

/** StateGetNetworkParams (the manager reads policy from it at start). */
export interface NetworkParams {
  NetworkName: string;
  BlockDelaySecs: number;
  ConsensusMinerMinPower: BigIntString;
  SupportedProofTypes: number[] | null;
  PreCommitChallengeDelay: ChainEpoch;
  ForkUpgradeParams: Record<string, number>;
  Eip155ChainID?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Randomness (docs/spec/chain.md §Randomness)

/** go-state-types crypto.DomainSeparationTag: one definition, in src/fil. */
export { DomainSeparationTag } from '../fil/index.js';

// ---------------------------------------------------------------------------------------------------------------
// The declaration

export const FullNodeMethods = {
  // chain
  ChainHead: method<[], TipSet>('read'),
  ChainNotify: channel<[], HeadChange[]>('read'),
  ChainGetTipSet: method<[tsk: TipSetKey], TipSet>('read', 1),
  /** a null round answers the tipset at an earlier epoch */
  ChainGetTipSetByHeight: method<[epoch: ChainEpoch, tsk: TipSetKey], TipSet>('read', 2),
  ChainGetMessage: method<[cid: CidJson], MessageJson>('read', 1),
  ChainGetParentMessages: method<[blockCid: CidJson], { Cid: CidJson; Message: MessageJson }[] | null>('read', 1),
  ChainGetParentReceipts: method<[blockCid: CidJson], MessageReceipt[] | null>('read', 1),
  ChainReadObj: method<[cid: CidJson], Base64>('read', 1),
  ChainHasObj: method<[cid: CidJson], boolean>('read', 1),

  // miner state
  StateMinerInfo: method<[maddr: AddressString, tsk: TipSetKey], MinerInfo>('read', 2),
  StateMinerProvingDeadline: method<[maddr: AddressString, tsk: TipSetKey], DeadlineInfo>('read', 2),
  StateMinerDeadlines: method<[maddr: AddressString, tsk: TipSetKey], Deadline[]>('read', 2),
  StateMinerPartitions: method<[maddr: AddressString, dlIdx: number, tsk: TipSetKey], Partition[] | null>('read', 3),
  /** sectors: a bitfield filter, or null for all */
  StateMinerSectors: method<
    [maddr: AddressString, sectors: BitFieldJson | null, tsk: TipSetKey],
    SectorOnChainInfo[] | null
  >('read', 3),
  StateMinerActiveSectors: method<[maddr: AddressString, tsk: TipSetKey], SectorOnChainInfo[] | null>('read', 2),
  StateSectorGetInfo: method<[maddr: AddressString, n: number, tsk: TipSetKey], SectorOnChainInfo | null>('read', 3),
  /** null when missing (Venus v1.6.1 errors "precommit info is not exists" instead: clients handle both) */
  StateSectorPreCommitInfo: method<
    [maddr: AddressString, n: number, tsk: TipSetKey],
    SectorPreCommitOnChainInfo | null
  >('read', 3),
  StateSectorPartition: method<[maddr: AddressString, n: number, tsk: TipSetKey], SectorLocation | null>('read', 3),
  StateSectorExpiration: method<[maddr: AddressString, n: number, tsk: TipSetKey], SectorExpiration | null>('read', 3),
  StateMinerSectorAllocated: method<[maddr: AddressString, n: number, tsk: TipSetKey], boolean>('read', 3),
  StateMinerPreCommitDepositForPower: method<
    [maddr: AddressString, pci: SectorPreCommitInfo, tsk: TipSetKey],
    BigIntString
  >('read', 3),
  StateMinerInitialPledgeCollateral: method<
    [maddr: AddressString, pci: SectorPreCommitInfo, tsk: TipSetKey],
    BigIntString
  >('read', 3),
  /** newer Lotus: pledge for a sector of `size` bytes lasting `duration` epochs with `verifiedSize` verified bytes */
  StateMinerInitialPledgeForSector: method<
    [duration: ChainEpoch, sectorSize: number, verifiedSize: number, tsk: TipSetKey],
    BigIntString
  >('read', 4),
  StateMinerAvailableBalance: method<[maddr: AddressString, tsk: TipSetKey], BigIntString>('read', 2),
  StateMinerPower: method<[maddr: AddressString, tsk: TipSetKey], MinerPower | null>('read', 2),
  /** FIP-0077 deposit CreateMiner's Value must cover (newer Lotus) */
  StateMinerCreationDeposit: method<[tsk: TipSetKey], BigIntString>('read', 1),
  StateListMiners: method<[tsk: TipSetKey], AddressString[] | null>('read', 1),

  // storage market, verified registry (deals)
  /** errors "deal N not found" for an unknown or removed deal */
  StateMarketStorageDeal: method<[dealId: number, tsk: TipSetKey], MarketDeal>('read', 2),
  /** deal ID (decimal string) → deal */
  StateMarketDeals: method<[tsk: TipSetKey], Record<string, MarketDeal>>('read', 1),
  StateMarketBalance: method<[addr: AddressString, tsk: TipSetKey], MarketBalance>('read', 2),
  /** 0 (NoAllocationID) when the deal has none pending */
  StateGetAllocationIdForPendingDeal: method<[dealId: number, tsk: TipSetKey], number>('read', 2),
  StateGetAllocationForPendingDeal: method<[dealId: number, tsk: TipSetKey], AllocationJson | null>('read', 2),
  StateGetAllocation: method<[client: AddressString, allocationId: number, tsk: TipSetKey], AllocationJson | null>(
    'read',
    3,
  ),
  /** allocation ID (decimal string) → allocation */
  StateGetAllocations: method<[client: AddressString, tsk: TipSetKey], Record<string, AllocationJson>>('read', 2),
  StateGetClaim: method<[provider: AddressString, claimId: number, tsk: TipSetKey], ClaimJson | null>('read', 3),
  StateGetClaims: method<[provider: AddressString, tsk: TipSetKey], Record<string, ClaimJson>>('read', 2),
  /** the client's datacap in bytes, null without any */
  StateVerifiedClientStatus: method<[addr: AddressString, tsk: TipSetKey], BigIntString | null>('read', 2),
  StateDealProviderCollateralBounds: method<[size: number, verified: boolean, tsk: TipSetKey], DealCollateralBounds>(
    'read',
    3,
  ),

  // actors, accounts, misc.
  StateGetActor: method<[addr: AddressString, tsk: TipSetKey], Actor | null>('read', 2),
  StateLookupID: method<[addr: AddressString, tsk: TipSetKey], AddressString>('read', 2),
  StateAccountKey: method<[addr: AddressString, tsk: TipSetKey], AddressString>('read', 2),
  StateNetworkVersion: method<[tsk: TipSetKey], number>('read', 1),
  StateNetworkName: method<[], string>('read'),
  StateGetNetworkParams: method<[], NetworkParams>('read'),
  /** 32 bytes, base64; entropy base64 (or null) */
  StateGetRandomnessFromTickets: method<
    [dst: number, epoch: ChainEpoch, entropy: Base64 | null, tsk: TipSetKey],
    Base64
  >('read', 4),
  StateGetRandomnessFromBeacon: method<
    [dst: number, epoch: ChainEpoch, entropy: Base64 | null, tsk: TipSetKey],
    Base64
  >('read', 4),
  StateGetRandomnessDigestFromTickets: method<[epoch: ChainEpoch, tsk: TipSetKey], Base64>('read', 2),
  StateGetRandomnessDigestFromBeacon: method<[epoch: ChainEpoch, tsk: TipSetKey], Base64>('read', 2),
  /** lookbackLimit −1 = no limit. Waits until `confidence` epochs passed; no client timeout. */
  StateWaitMsg: method<
    [cid: CidJson, confidence: number, lookbackLimit: number, allowReplaced: boolean],
    MsgLookup | null
  >('read', 4, { timeoutMs: 0 }),
  StateSearchMsg: method<
    [tsk: TipSetKey, cid: CidJson, lookbackLimit: number, allowReplaced: boolean],
    MsgLookup | null
  >('read', 4),
  StateCall: method<[msg: MessageJson, tsk: TipSetKey], unknown>('read', 2),

  // mempool, gas, wallet
  MpoolPush: method<[msg: SignedMessageJson], CidJson>('write', 1),
  MpoolBatchPush: method<[msgs: SignedMessageJson[]], CidJson[]>('write', 1),
  MpoolPushMessage: method<[msg: MessageJson, spec: MessageSendSpec | null], SignedMessageJson>('sign', 2),
  MpoolGetNonce: method<[addr: AddressString], number>('read', 1),
  GasEstimateMessageGas: method<[msg: MessageJson, spec: MessageSendSpec | null, tsk: TipSetKey], MessageJson>(
    'read',
    3,
  ),
  GasEstimateGasLimit: method<[msg: MessageJson, tsk: TipSetKey], number>('read', 2),
  GasEstimateGasPremium: method<
    [nblocksincl: number, sender: AddressString, gasLimit: number, tsk: TipSetKey],
    BigIntString
  >('read', 4),
  GasEstimateFeeCap: method<[msg: MessageJson, maxQueueBlks: number, tsk: TipSetKey], BigIntString>('read', 3),
  WalletBalance: method<[addr: AddressString], BigIntString>('read', 1),
  Version: method<[], { Version: string; APIVersion: number; BlockDelay: number }>('read'),
} as const;

export const FullNodeAPI = defineApi('Filecoin', FullNodeMethods);

/**
 * Lotus' StateGetAllocationIdForPendingDeal (a builtin-market deal's verified allocation; 0 = none), as the
 * sector-manager reads it for ProveCommitSectors3 manifests. Declared apart from FullNodeAPI so a node that does not
 * serve it yet still serves FullNodeAPI; a node that does serves both.
 */
export const FullNodeDealAPI = defineApi('Filecoin', {
  StateGetAllocationIdForPendingDeal: method<[dealId: number, tsk: TipSetKey], number>('read', 2),
} as const);
