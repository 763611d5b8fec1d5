/**
 * What the manager needs from the chain node and the messager: typed subsets of the Filecoin.* and Message.*
 * clients (src/api), so the daemon plugs in RPC clients and tests plug in the devnet or an in-process chain.
 * Plus the network policy the manager reasons with, and the randomness it draws (docs/spec/chain.md §Network policy,
 * §Randomness).
 */
import { DomainSeparationTag as DST, type FullNodeAPI, type TipSetKey } from '../api/full.js';
import type { MessagerAPI as MessagerDecl } from '../api/messager.js';
import { encodeCbor, fromBase64, idAddress, toBase64 } from '../fil/index.js';
import { type ApiClient, ErrorCode, RpcError } from '../rpc/index.js';

type Full = ApiClient<typeof FullNodeAPI>;

/** The full-node calls the manager makes. */
export type ChainAPI = Pick<
  Full,
  | 'ChainHead'
  | 'ChainNotify'
  | 'StateMinerInfo'
  | 'StateMinerProvingDeadline'
  | 'StateMinerDeadlines'
  | 'StateMinerPartitions'
  | 'StateMinerSectors'
  | 'StateSectorGetInfo'
  | 'StateSectorPreCommitInfo'
  | 'StateMinerSectorAllocated'
  | 'StateMinerPreCommitDepositForPower'
  | 'StateMinerInitialPledgeCollateral'
  | 'StateMinerInitialPledgeForSector'
  | 'StateNetworkVersion'
  | 'StateGetNetworkParams'
  | 'StateGetRandomnessFromTickets'
  | 'StateGetRandomnessFromBeacon'
  | 'StateLookupID'
  | 'StateAccountKey'
>;

/** The messager calls the manager makes. */
export type MessagerAPI = Pick<
  ApiClient<typeof MessagerDecl>,
  'PushMessageWithId' | 'HasMessageByUid' | 'GetMessageByUid' | 'WaitMessage'
>;

/** Network policy the manager needs (epochs; the actors count 30-s epochs whatever the block time). */
export interface NetworkPolicy {
  networkName: string;
  blockDelaySecs: number;
  preCommitChallengeDelay: number;
  /** SealRandomnessLookback = ChainFinality */
  sealRandomnessLookback: number;
  /** EPOCHS_IN_DAY + ChainFinality: the oldest ticket a PreCommit may use */
  maxPreCommitRandomnessLookback: number;
  interactivePoRepConfidence: number;
  minSectorExpiration: number;
  maxSectorExpirationExtension: number;
  epochsInDay: number;
  /** POSTED_PARTITIONS_MAX */
  maxPartitionsPerPoStMessage: number;
  /** DELCARATIONS_MAX per DeclareFaultsRecovered */
  declarationsMax: number;
  /** MIN_AGGREGATED_SECTORS: ProveCommitSectors3 aggregates from this many sectors up */
  minAggregatedSectors: number;
  maxAggregatedSectors: number;
}

export const MAINNET_POLICY: NetworkPolicy = {
  networkName: 'mainnet',
  blockDelaySecs: 30,
  preCommitChallengeDelay: 150,
  sealRandomnessLookback: 900,
  maxPreCommitRandomnessLookback: 2880 + 900,
  interactivePoRepConfidence: 6,
  minSectorExpiration: 180 * 2880,
  maxSectorExpirationExtension: 1278 * 2880,
  epochsInDay: 2880,
  maxPartitionsPerPoStMessage: 3,
  declarationsMax: 3000,
  minAggregatedSectors: 4,
  maxAggregatedSectors: 819,
};

/** Reads the chain's own parameters (the original reads StateGetNetworkParams at start, --net is only a hint). */
export async function fetchNetworkPolicy(chain: Pick<ChainAPI, 'StateGetNetworkParams'>): Promise<NetworkPolicy> {
  const p = await chain.StateGetNetworkParams();
  // the devnet adds its epoch constants under "Policy" (Lotus clients ignore it); use them when present
  const x = ((p as unknown as { Policy?: Record<string, unknown> }).Policy ?? {}) as Record<string, unknown>;
  const num = (k: string, d: number) => (typeof x[k] === 'number' ? (x[k] as number) : d);
  return {
    networkName: p.NetworkName,
    blockDelaySecs: p.BlockDelaySecs,
    preCommitChallengeDelay: p.PreCommitChallengeDelay,
    sealRandomnessLookback: num('SealRandomnessLookback', MAINNET_POLICY.sealRandomnessLookback),
    maxPreCommitRandomnessLookback: num(
      'MaxPreCommitRandomnessLookback',
      MAINNET_POLICY.maxPreCommitRandomnessLookback,
    ),
    interactivePoRepConfidence: num('InteractivePoRepConfidence', MAINNET_POLICY.interactivePoRepConfidence),
    minSectorExpiration: num('MinSectorExpiration', MAINNET_POLICY.minSectorExpiration),
    maxSectorExpirationExtension: num('MaxSectorExpirationExtension', MAINNET_POLICY.maxSectorExpirationExtension),
    epochsInDay: MAINNET_POLICY.epochsInDay,
    maxPartitionsPerPoStMessage: num('PostedPartitionsMax', MAINNET_POLICY.maxPartitionsPerPoStMessage),
    declarationsMax: MAINNET_POLICY.declarationsMax,
    minAggregatedSectors: num('MinAggregatedSectors', MAINNET_POLICY.minAggregatedSectors),
    maxAggregatedSectors: num('MaxAggregatedSectors', MAINNET_POLICY.maxAggregatedSectors),
  };
}

/** Miner address string for an actor id ("t01000" on test networks, per the process' default network). */
export function minerAddr(miner: number): string {
  return idAddress(miner).toString();
}

/** Randomness entropy of the miner flows: CBOR of the miner's ID address (f01000 → 43 00 e8 07). */
export function minerEntropy(miner: number): string {
  return toBase64(encodeCbor(idAddress(miner).bytes()));
}

/** The current head's key and height. */
export async function head(chain: Pick<ChainAPI, 'ChainHead'>): Promise<{ tsk: TipSetKey; height: number }> {
  const ts = await chain.ChainHead();
  return { tsk: ts.Cids, height: ts.Height };
}

/** Seal ticket: SealRandomness from tickets at `epoch`, entropy CBOR(miner). */
export async function drawTicket(
  chain: Pick<ChainAPI, 'StateGetRandomnessFromTickets'>,
  tsk: TipSetKey,
  epoch: number,
  miner: number,
): Promise<Uint8Array> {
  return fromBase64(
    await chain.StateGetRandomnessFromTickets(DST.SealRandomness, epoch, minerEntropy(miner), tsk),
    'ticket',
  );
}

/** Interactive seal seed: InteractiveSealChallengeSeed from the beacon at `epoch`, entropy CBOR(miner). */
export async function drawSeed(
  chain: Pick<ChainAPI, 'StateGetRandomnessFromBeacon'>,
  tsk: TipSetKey,
  epoch: number,
  miner: number,
): Promise<Uint8Array> {
  return fromBase64(
    await chain.StateGetRandomnessFromBeacon(DST.InteractiveSealChallengeSeed, epoch, minerEntropy(miner), tsk),
    'seed',
  );
}

/** Window PoSt challenge: WindowedPoStChallengeSeed from the beacon at the deadline's Challenge epoch. */
export async function drawWindowPoStChallenge(
  chain: Pick<ChainAPI, 'StateGetRandomnessFromBeacon'>,
  tsk: TipSetKey,
  epoch: number,
  miner: number,
): Promise<Uint8Array> {
  return fromBase64(
    await chain.StateGetRandomnessFromBeacon(DST.WindowedPoStChallengeSeed, epoch, minerEntropy(miner), tsk),
    'post randomness',
  );
}

/** ChainCommitRand of SubmitWindowedPoSt: PoStChainCommit from tickets, no entropy. */
export async function drawPoStCommitRand(
  chain: Pick<ChainAPI, 'StateGetRandomnessFromTickets'>,
  tsk: TipSetKey,
  epoch: number,
): Promise<Uint8Array> {
  return fromBase64(await chain.StateGetRandomnessFromTickets(DST.PoStChainCommit, epoch, null, tsk), 'commit rand');
}

/**
 * A node's answer that a pre-commit does not exist: Venus v1.6.1 sends it as an application error (code 1) whose
 * text is all that tells it from a failure. A connection or timeout error, or any other code, is a failure
 * whatever its text (a proxy's "404 Not Found" must not read as "no pre-commit", which would send it again).
 */
function isNotFoundAnswer(err: unknown): boolean {
  return err instanceof RpcError && err.code === ErrorCode.App && /not ?exist|not found/i.test(err.message);
}

/** StateSectorPreCommitInfo returning null for "not found" (Venus v1.6.1 errors instead). */
export async function preCommitInfo(
  chain: Pick<ChainAPI, 'StateSectorPreCommitInfo'>,
  miner: number,
  n: number,
  tsk: TipSetKey,
) {
  try {
    return await chain.StateSectorPreCommitInfo(minerAddr(miner), n, tsk);
  } catch (err) {
    if (isNotFoundAnswer(err)) return null;
    throw err;
  }
}
