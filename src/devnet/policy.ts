/**
 * Network parameters of the devnet: the lotus `2k` network with the builtin-actors `devnet` bundle
 * (features sector-2k, sector-8m, small-deals, short-precommit, min-power-2k), current network version.
 *
 * Every epoch-valued constant counts epochs, not seconds: the actors assume 30-s epochs whatever the
 * block time, so deadline arithmetic in clients stays right however fast the devnet clock runs.
 * `init` may override them (e.g. a 10-epoch challenge window) to make Window PoSt cycles short in tests.
 */

/** Epochs per day as the actors count them (30-s epochs). */
export const EPOCHS_IN_DAY = 2880;
export const EPOCHS_IN_HOUR = 120;
/** builtin-actors EPOCHS_IN_YEAR = 365.25 days. */
export const EPOCHS_IN_YEAR = 1051920;

/** Network version reported by StateNetworkVersion (lotus master's 2k genesis). */
export const NETWORK_VERSION = 28;

export const SECTOR_SIZES = {
  '2KiB': 2048,
  '8MiB': 8 << 20,
  '512MiB': 512 << 20,
  '32GiB': 32 * 2 ** 30,
  '64GiB': 64 * 2 ** 30,
} as const;
export type SectorSizeName = keyof typeof SECTOR_SIZES;
const SIZE_ORDER = [2048, 8 << 20, 512 << 20, 32 * 2 ** 30, 64 * 2 ** 30];

/** Window PoSt partition size per sector size (go-state-types abi/sector.go WindowPoStPartitionSectors). */
const PARTITION_SECTORS = [2, 2, 2, 2349, 2300];
/** SNARK proof bytes per seal proof (10 partitions × 192 for 32G/64G, 1 × 192 otherwise). */
const SEAL_PROOF_SIZE = [192, 192, 192, 1920, 1920];

export interface SealProofInfo {
  /** RegisteredSealProof number. */
  proof: number;
  sectorSize: number;
  /** 'V1' (0–4), 'V1_1' (5–9), 'V1_1_Synthetic' (10–14), 'V1_2_NiPoRep' (15–19). */
  version: 'V1' | 'V1_1' | 'V1_1_Synthetic' | 'V1_2_NiPoRep';
  /** The RegisteredPoStProof (Window, V1_1) a miner sealing this proof type must use. */
  windowPoStProof: number;
  windowPoStPartitionSectors: number;
  /** Maximum SNARK proof size; the devnet's vanilla proofs are bigger, see ProofVerifier. */
  snarkProofSize: number;
}

/** Facts about a RegisteredSealProof (go-state-types abi/sector.go numbering), or undefined if unknown. */
export function sealProofInfo(proof: number): SealProofInfo | undefined {
  if (!Number.isInteger(proof) || proof < 0 || proof > 19) return undefined;
  const sizeIdx = proof % 5;
  const versions = ['V1', 'V1_1', 'V1_1_Synthetic', 'V1_2_NiPoRep'] as const;
  return {
    proof,
    sectorSize: SIZE_ORDER[sizeIdx]!,
    version: versions[Math.floor(proof / 5)]!,
    // current actors map every seal proof of a size to StackedDRGWindow<size>V1P1 (10..14)
    windowPoStProof: 10 + sizeIdx,
    windowPoStPartitionSectors: PARTITION_SECTORS[sizeIdx]!,
    snarkProofSize: SEAL_PROOF_SIZE[sizeIdx]!,
  };
}

export interface PoStProofInfo {
  proof: number;
  kind: 'winning' | 'window';
  /** 'V1' for 0..9, 'V1_1' for 10..14 (window only). */
  version: 'V1' | 'V1_1';
  sectorSize: number;
  windowPoStPartitionSectors: number;
}

/** Facts about a RegisteredPoStProof: Winning 0–4, Window V1 5–9, Window V1_1 10–14. */
export function postProofInfo(proof: number): PoStProofInfo | undefined {
  if (!Number.isInteger(proof) || proof < 0 || proof > 14) return undefined;
  const sizeIdx = proof % 5;
  return {
    proof,
    kind: proof < 5 ? 'winning' : 'window',
    version: proof < 10 ? 'V1' : 'V1_1',
    sectorSize: SIZE_ORDER[sizeIdx]!,
    windowPoStPartitionSectors: PARTITION_SECTORS[sizeIdx]!,
  };
}

/** Seal proof type (V1_1) for a sector size, as the sector-manager picks it. */
export function sealProofForSize(sectorSize: number): number {
  const idx = SIZE_ORDER.indexOf(sectorSize);
  if (idx < 0) throw new Error(`unknown sector size ${sectorSize}`);
  return 5 + idx;
}

/**
 * The sector sizes `venus-devnet init` accepts unless told otherwise: the devnet bundle's 2KiB and 8MiB, and the
 * deployment guide's 512MiB, so the guide's `util miner create --sector-size=512MiB` works on a new devnet.
 */
export const DEFAULT_SECTOR_SIZES = [SECTOR_SIZES['2KiB'], SECTOR_SIZES['8MiB'], SECTOR_SIZES['512MiB']];

/** "2KiB", "8MiB", "512MiB" for a size in bytes. */
export function sectorSizeName(size: number): string {
  return (Object.keys(SECTOR_SIZES) as SectorSizeName[]).find((k) => SECTOR_SIZES[k] === size) ?? `${size} B`;
}

/** Go-style duration of `ms` for people: "48m0s", "4m0s", "1h12m0s", "20s". */
function humanDuration(ms: number): string {
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  return h ? `${h}h${m}m${sec}s` : m ? `${m}m${sec}s` : `${sec}s`;
}

/**
 * The proving-period policy in one line, as `init` and `status` print it: how long a Window PoSt cycle takes at
 * this block time, so an operator knows how long the first PoSt can take.
 */
export function describeProvingPolicy(
  p: Pick<Policy, 'wpostPeriodDeadlines' | 'wpostChallengeWindow' | 'wpostChallengeLookback' | 'sectorSizes'>,
  blockTimeMs: number,
): string {
  const period = p.wpostPeriodDeadlines * p.wpostChallengeWindow;
  return (
    `proving period ${p.wpostPeriodDeadlines} deadlines × ${p.wpostChallengeWindow} epochs = ${period} epochs ` +
    `(${humanDuration(period * blockTimeMs)} at ${blockTimeMs}ms blocks; a deadline every ${humanDuration(p.wpostChallengeWindow * blockTimeMs)}), ` +
    `challenge lookback ${p.wpostChallengeLookback} epochs; sector sizes ${p.sectorSizes.map(sectorSizeName).join(', ')}`
  );
}

/** Parses "2KiB", "8MiB", "512MiB", "32GiB", "64GiB" (or a byte count) into bytes. */
export function parseSectorSize(s: string): number {
  const t = s.trim();
  if (/^\d+$/.test(t) && SIZE_ORDER.includes(Number(t))) return Number(t);
  const hit = (Object.keys(SECTOR_SIZES) as SectorSizeName[]).find((k) => k.toLowerCase() === t.toLowerCase());
  if (!hit) throw new Error(`unknown sector size "${s}" (one of ${Object.keys(SECTOR_SIZES).join(', ')})`);
  return SECTOR_SIZES[hit];
}

export interface Policy {
  networkName: string;
  /** Nominal block delay reported to clients (lotus 2k: 4 s); the devnet clock may tick faster. */
  blockDelaySecs: number;

  preCommitChallengeDelay: number;
  wpostChallengeWindow: number;
  wpostPeriodDeadlines: number;
  /** = wpostChallengeWindow × wpostPeriodDeadlines. */
  wpostProvingPeriod: number;
  wpostChallengeLookback: number;
  faultDeclarationCutoff: number;
  wpostMaxChainCommitAge: number;
  wpostDisputeWindow: number;
  faultMaxAge: number;
  workerKeyChangeDelay: number;
  chainFinality: number;
  /** What the sector-manager subtracts from the head for the ticket epoch (= chain finality). */
  sealRandomnessLookback: number;
  maxPreCommitRandomnessLookback: number;
  /** Prove-commit window for V1_1 / synthetic proofs, in days (30); V1 proofs get 1 day. */
  maxProveCommitDays: number;
  expiredPreCommitCleanUpDelay: number;
  minSectorExpiration: number;
  maxSectorExpirationExtension: number;
  /** Sector maximum lifetime for V1_1 proofs (5 years; V1: 540 days). */
  sectorMaximumLifetime: number;
  minAggregatedSectors: number;
  maxAggregatedSectors: number;
  postedPartitionsMax: number;
  addressedPartitionsMax: number;
  addressedSectorsMax: number;
  maxPartitionsPerDeadline: number;
  maxControlAddresses: number;
  maxPeerIdLength: number;
  maxMultiaddrData: number;
  interactivePoRepConfidence: number;
  messageConfidence: number;
  /** Minimum miner power for consensus (bytes). */
  minimumConsensusPower: bigint;
  /** Sector sizes this network accepts (the devnet bundle: 2KiB and 8MiB; `init --sector-sizes` may add 512MiB). */
  sectorSizes: number[];

  // simplified economics (attoFIL); consistent, not mainnet-faithful
  /** Initial pledge per byte of quality-adjusted power. */
  pledgePerByte: bigint;
  /** Pre-commit deposit per byte of maximum QA power (10 × raw); the deposit is half the CC pledge by default. */
  preCommitDepositPerQaByte: bigint;
  /** Reward minted to the block's miner each epoch (kept in the reward actor when there is no power). */
  blockReward: bigint;

  // gas / fees
  minimumBaseFee: bigint;
  blockGasLimit: number;
  blockGasTarget: number;
}

export type PolicyOverrides = Partial<Omit<Policy, 'wpostProvingPeriod'>>;

/** The `2k` network, as lotus builds it with the builtin-actors devnet bundle. */
export function policy2k(): Policy {
  const challengeWindow = 60;
  const deadlines = 48;
  return {
    networkName: '2k',
    blockDelaySecs: 4,
    preCommitChallengeDelay: 10,
    wpostChallengeWindow: challengeWindow,
    wpostPeriodDeadlines: deadlines,
    wpostProvingPeriod: challengeWindow * deadlines,
    wpostChallengeLookback: 20,
    faultDeclarationCutoff: 70,
    wpostMaxChainCommitAge: challengeWindow,
    wpostDisputeWindow: 1800,
    faultMaxAge: EPOCHS_IN_DAY * 42,
    workerKeyChangeDelay: 900,
    chainFinality: 900,
    sealRandomnessLookback: 900,
    maxPreCommitRandomnessLookback: EPOCHS_IN_DAY + 900,
    maxProveCommitDays: 30,
    expiredPreCommitCleanUpDelay: 8 * EPOCHS_IN_HOUR,
    minSectorExpiration: 180 * EPOCHS_IN_DAY,
    maxSectorExpirationExtension: 1278 * EPOCHS_IN_DAY,
    sectorMaximumLifetime: 5 * EPOCHS_IN_YEAR,
    minAggregatedSectors: 4,
    maxAggregatedSectors: 819,
    postedPartitionsMax: 3,
    addressedPartitionsMax: 3000,
    addressedSectorsMax: 25000,
    maxPartitionsPerDeadline: 3000,
    maxControlAddresses: 10,
    maxPeerIdLength: 128,
    maxMultiaddrData: 1024,
    interactivePoRepConfidence: 6,
    messageConfidence: 5,
    minimumConsensusPower: 2048n,
    sectorSizes: [SECTOR_SIZES['2KiB'], SECTOR_SIZES['8MiB']],
    // ~0.2 FIL for a 32GiB CC sector, like mainnet in 2024
    pledgePerByte: 5_820_766n,
    preCommitDepositPerQaByte: 291_038n,
    blockReward: 5_000_000_000_000_000_000n,
    minimumBaseFee: 100n,
    blockGasLimit: 10_000_000_000,
    blockGasTarget: 5_000_000_000,
  };
}

/**
 * The 2k policy with overrides applied. The proving period is always derived from the window and the
 * deadline count, and the overrides are checked for the invariants the actors rely on.
 */
export function makePolicy(overrides: PolicyOverrides = {}): Policy {
  const p: Policy = { ...policy2k(), ...overrides } as Policy;
  p.wpostProvingPeriod = p.wpostChallengeWindow * p.wpostPeriodDeadlines;
  if (overrides.wpostMaxChainCommitAge === undefined) p.wpostMaxChainCommitAge = p.wpostChallengeWindow;
  validatePolicy(p);
  return p;
}

export function validatePolicy(p: Policy): void {
  const positive: (keyof Policy)[] = [
    'preCommitChallengeDelay',
    'wpostChallengeWindow',
    'wpostPeriodDeadlines',
    'wpostChallengeLookback',
    'postedPartitionsMax',
    'blockDelaySecs',
  ];
  for (const k of positive) {
    const v = p[k] as number;
    if (!Number.isInteger(v) || v <= 0) throw new Error(`policy ${k} must be a positive integer, got ${v}`);
  }
  if (p.wpostProvingPeriod !== p.wpostChallengeWindow * p.wpostPeriodDeadlines) {
    throw new Error('policy wpostProvingPeriod must equal wpostChallengeWindow × wpostPeriodDeadlines');
  }
  // a fault declaration must be final before the challenge is known
  if (p.faultDeclarationCutoff < p.wpostChallengeLookback) {
    throw new Error('policy faultDeclarationCutoff must be ≥ wpostChallengeLookback');
  }
  if (p.sectorSizes.length === 0) throw new Error('policy needs at least one sector size');
  for (const s of p.sectorSizes) {
    if (!SIZE_ORDER.includes(s)) throw new Error(`policy sector size ${s} is not a Filecoin sector size`);
  }
}

/** Maximum epochs between pre-commit and prove-commit for a seal proof (actors policy.rs max_prove_commit_duration). */
export function maxProveCommitDuration(p: Policy, sealProof: number): number | undefined {
  const info = sealProofInfo(sealProof);
  if (!info) return undefined;
  if (info.version === 'V1') return EPOCHS_IN_DAY + p.preCommitChallengeDelay;
  if (info.version === 'V1_2_NiPoRep') return undefined;
  return p.maxProveCommitDays * EPOCHS_IN_DAY + p.preCommitChallengeDelay;
}

export function sectorMaximumLifetime(p: Policy, sealProof: number): number | undefined {
  const info = sealProofInfo(sealProof);
  if (!info) return undefined;
  return info.version === 'V1' ? 540 * EPOCHS_IN_DAY : p.sectorMaximumLifetime;
}

/** Seal proofs accepted in PreCommitSectorBatch2: V1_1 and synthetic PoRep of the network's sizes. */
export function canPreCommitSealProof(p: Policy, sealProof: number): boolean {
  const info = sealProofInfo(sealProof);
  return (
    !!info && (info.version === 'V1_1' || info.version === 'V1_1_Synthetic') && p.sectorSizes.includes(info.sectorSize)
  );
}

/** Window PoSt proofs accepted for new miners: V1_1 of the network's sizes. */
export function isValidPoStProofType(p: Policy, postProof: number): boolean {
  const info = postProofInfo(postProof);
  return !!info && info.kind === 'window' && info.version === 'V1_1' && p.sectorSizes.includes(info.sectorSize);
}

/** Initial pledge for an amount of QA power (simplified: linear in power). */
export function initialPledgeForPower(p: Policy, qaPower: bigint): bigint {
  return qaPower * p.pledgePerByte;
}

/** QA power of a committed-capacity sector, or one whose pieces carry no verified allocation. */
export function qaPowerMax(sectorSize: number): bigint {
  // verified deal multiplier 100 / base 10
  return (BigInt(sectorSize) * 100n) / 10n;
}

/** Pre-commit deposit for one sector (the actors deposit for the maximum QA power a sector can reach). */
export function preCommitDepositForSector(p: Policy, sectorSize: number): bigint {
  return qaPowerMax(sectorSize) * p.preCommitDepositPerQaByte;
}

/** Miner creation deposit (FIP-0077): pledge for MINIMUM_CONSENSUS_POWER / 10. */
export function createMinerDeposit(p: Policy): bigint {
  return initialPledgeForPower(p, p.minimumConsensusPower / 10n);
}

/**
 * StateGetNetworkParams result: lotus' NetworkParams fields, plus `Policy` with the epoch constants a
 * client needs to compute deadlines (lotus clients ignore the extra field).
 */
export function networkParamsJson(p: Policy, genesisTimestamp: number): Record<string, unknown> {
  return {
    NetworkName: p.networkName,
    BlockDelaySecs: p.blockDelaySecs,
    ConsensusMinerMinPower: p.minimumConsensusPower.toString(),
    PreCommitChallengeDelay: p.preCommitChallengeDelay,
    ForkUpgradeParams: {},
    Eip155ChainID: 31415926,
    GenesisTimestamp: genesisTimestamp,
    Policy: {
      WPoStProvingPeriod: p.wpostProvingPeriod,
      WPoStChallengeWindow: p.wpostChallengeWindow,
      WPoStPeriodDeadlines: p.wpostPeriodDeadlines,
      WPoStChallengeLookback: p.wpostChallengeLookback,
      FaultDeclarationCutoff: p.faultDeclarationCutoff,
      WPoStMaxChainCommitAge: p.wpostMaxChainCommitAge,
      WPoStDisputeWindow: p.wpostDisputeWindow,
      ChainFinality: p.chainFinality,
      SealRandomnessLookback: p.sealRandomnessLookback,
      MaxPreCommitRandomnessLookback: p.maxPreCommitRandomnessLookback,
      MaxProveCommitDuration: p.maxProveCommitDays * EPOCHS_IN_DAY + p.preCommitChallengeDelay,
      MinSectorExpiration: p.minSectorExpiration,
      MaxSectorExpirationExtension: p.maxSectorExpirationExtension,
      InteractivePoRepConfidence: p.interactivePoRepConfidence,
      MessageConfidence: p.messageConfidence,
      PostedPartitionsMax: p.postedPartitionsMax,
      MinAggregatedSectors: p.minAggregatedSectors,
      MaxAggregatedSectors: p.maxAggregatedSectors,
      SupportedSectorSizes: p.sectorSizes,
    },
  };
}

/** The overridable policy fields in a JSON-safe form (bigints as decimal strings), for the devnet config. */
export function policyToJson(p: Policy): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(p)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out;
}

export function policyFromJson(j: Record<string, unknown>): Policy {
  const base = policy2k() as unknown as Record<string, unknown>;
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(j)) {
    if (!(k in base)) throw new Error(`unknown policy field "${k}"`);
    o[k] = typeof base[k] === 'bigint' ? BigInt(v as string) : v;
  }
  delete o.wpostProvingPeriod;
  return makePolicy(o as PolicyOverrides);
}
