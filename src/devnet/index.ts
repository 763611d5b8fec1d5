/**
 * venus-devnet: an embedded Filecoin chain (2k network, current actors' miner rules), messager, gateway and
 * auth speaking the Lotus/Venus APIs. Import from here.
 *
 * - DevnetService.start({ home }) — everything `venus-devnet run` serves, on one port (after initHome).
 * - DevnetNode — the chain alone (genesis, mempool, mining by hand or on a clock, SQLite persistence).
 * - Actor param encoders (codec.js) for the messages the sealing cluster sends, and the policy helpers.
 */
export { DevnetAPI, type DevnetStatus, type MinerStatus } from './api.js';
export { actorCodeCid, devnetStatus, fullNodeImpl } from './api-full.js';
export { bitfieldFromBytes, bitfieldFromJson, bitfieldToBytes, bitfieldToJson } from './bitfield.js';
export { type BlockHeader, ChainRandomness, type TipSet, tipSetJson } from './chain.js';
export {
  type CreateMinerParams,
  decodeBatchReturn,
  decodeCreateMinerReturn,
  encodeChangeWorkerAddressParams,
  encodeCreateMinerParams,
  encodeDeclarations,
  encodePreCommitSectorBatch2Params,
  encodeProveCommitSectors3Params,
  encodeSubmitWindowedPoStParams,
  encodeWithdrawBalanceParams,
} from './codec.js';
export { type DeadlineInfo, deadlineInfoAt, deadlineInfoJson, newDeadlineInfo, nextNotElapsed } from './dline.js';
export { ActorError, ExitCode, exitCodeName } from './exitcode.js';
export { Gateway } from './gateway.js';
export {
  createHomeToken,
  DEFAULT_LISTEN,
  DEVNET_ACCOUNT,
  type HomeSettings,
  type InitOptions,
  initHome,
  loadClientKey,
  loadKeys,
  loadSettings,
} from './home.js';
export { Messager } from './messager.js';
export {
  type BatchReturn,
  MinerMethod,
  type MinerState,
  minerDeadlineInfo,
  type PoStPartition,
  type ProveCommitSectors3Params,
  type RecoveryDeclaration,
  type SectorPreCommitInfo,
  type SubmitWindowedPoStParams,
} from './miner.js';
export { type DevnetConfig, DevnetNode, type HeadChange, type MsgLookup } from './node.js';
export {
  createMinerDeposit,
  EPOCHS_IN_DAY,
  initialPledgeForPower,
  makePolicy,
  maxProveCommitDuration,
  NETWORK_VERSION,
  type Policy,
  type PolicyOverrides,
  parseSectorSize,
  policy2k,
  preCommitDepositForSector,
  sealProofForSize,
  sealProofInfo,
} from './policy.js';
export {
  type AggregateSealVerifyInfo,
  type ChallengedSector,
  DST,
  type PieceInfo,
  type ProofVerifier,
  type ReplicaUpdateVerifyInfo,
  type SealVerifyInfo,
  type WindowPoStVerifyInfo,
} from './runtime.js';
export { DevnetService, type StartOptions } from './service.js';
export { checkVanillaSealProof, checkVanillaWindowPoSt, VanillaBackend } from './vanilla.js';
export {
  AcceptingVerifier,
  ProofsVerifier,
  unsealedCidForPieces,
  type VanillaProofBackend,
  whyReplicaUpdateFails,
} from './verifier.js';
