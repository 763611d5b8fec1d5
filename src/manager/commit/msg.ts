/**
 * Message plumbing shared by commitments, Window PoSt and the CLI: deterministic message ids, fee specs, and
 * how a messager record maps to the OnChainState a worker sees (docs/spec/sealer-api.md §Result enums, §Manager
 * behaviour per call).
 */
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import type { MessageJson } from '../../api/full.js';
import { type MessageRecord, MessageState, type SendSpec } from '../../api/messager.js';
import { OnChainState } from '../../api/sealer.js';
import {
  blake2bN,
  concatBytes,
  encodeMessage,
  fromBase64,
  type Message,
  messageFromJSON,
  messageToJSON,
  newMessage,
  parseAddress,
} from '../../fil/index.js';
import type { MessagerAPI } from '../chain.js';
import { decodeBatchReturn } from '../params.js';

const RAW_CODE = 0x55;
/** go-multihash BLAKE2B_MAX: blake2b-512 */
const BLAKE2B_512_CODE = 0xb240;

/**
 * damocles NewMIdFromBytes(byte(i) ‖ cbor(msg)): CIDv1(raw, blake2b-512). The same message and counter give
 * the same id, so pushing it again after a restart is recognised by the messager instead of sent twice.
 */
export function messageId(msg: Message, counter: number): string {
  if (!Number.isInteger(counter) || counter < 0 || counter > 255) throw new RangeError(`counter ${counter} not a byte`);
  const seed = concatBytes(Uint8Array.of(counter), encodeMessage(msg));
  return CID.createV1(RAW_CODE, createDigest(BLAKE2B_512_CODE, blake2bN(seed, 64))).toString();
}

/** The first id for `msg` the messager does not know yet (and `taken` does not hold). */
export async function freshMessageId(
  messager: Pick<MessagerAPI, 'HasMessageByUid'>,
  msg: Message,
  taken: (id: string) => boolean = () => false,
): Promise<string> {
  for (let i = 0; i < 256; i++) {
    const id = messageId(msg, i);
    if (taken(id)) continue;
    if (!(await messager.HasMessageByUid(id))) return id;
  }
  throw new Error('no free message id after 256 tries (the messager already holds this message 256 times)');
}

/** An unsigned message to a miner with nonce and gas left for the messager to fill. */
export function buildMessage(p: {
  from: string;
  to: string;
  method: number;
  params: Uint8Array;
  value?: bigint;
  gasFeeCap?: bigint;
}): Message {
  return newMessage({
    from: parseAddress(p.from),
    to: parseAddress(p.to),
    method: p.method,
    params: p.params,
    value: p.value ?? 0n,
    gasFeeCap: p.gasFeeCap ?? 0n,
  });
}

export function messageJson(m: Message): MessageJson {
  const j = messageToJSON(m) as unknown as MessageJson;
  return j;
}

export function messageFromJson(j: unknown): Message {
  return messageFromJSON(j);
}

export function sendSpec(gasOverEstimation: number, maxFeeCap: bigint | undefined): SendSpec {
  return {
    expireEpoch: 0,
    gasOverEstimation,
    maxFee: '0',
    maxFeeCap: (maxFeeCap ?? 0n).toString(),
    gasOverPremium: 0,
  };
}

/** Exit codes the worker may retry after (damocles: out of gas, insufficient funds → Failed). */
const RETRYABLE_EXIT = new Set([
  6 /* SysErrInsufficientFunds */, 7 /* SysErrOutOfGas */, 19 /* ErrInsufficientFunds */,
]);

export interface OnChainResult {
  state: OnChainState;
  desc: string | null;
  /** set once executed */
  height?: number;
}

/**
 * A messager record as the worker's OnChainState. `confidence` is the configured MsgConfidence; `index` is
 * the sector's position in a ProveCommitSectors3 batch, whose BatchReturn can fail single sectors.
 */
export function onChainState(rec: MessageRecord, confidence: number, index?: number): OnChainResult {
  switch (rec.State) {
    case MessageState.UnKnown:
    case MessageState.UnFillMsg:
    case MessageState.FillMsg:
      return { state: OnChainState.Pending, desc: rec.ErrorMsg || null };
    case MessageState.FailedMsg:
      return {
        state: OnChainState.Failed,
        desc: `message failed in the messager: ${rec.ErrorMsg || 'no reason given'}`,
      };
    case MessageState.NonceConflictMsg:
      // damocles handleMessage: a replaced message (venus-messager's ReplacedMsg, e.g. `mpool replace` with more
      // gas) is followed like an on-chain one — the record carries the replacement's receipt. Without a receipt
      // nothing ran under this nonce for us: Failed, so the worker resubmits and a new message goes out.
      if (!rec.Receipt)
        return {
          state: OnChainState.Failed,
          desc: `message's nonce was used by another message${rec.ErrorMsg ? ` (${rec.ErrorMsg})` : ''}; send again`,
        };
      return executedState(rec, rec.Receipt, confidence, index);
    case MessageState.OnChainMsg: {
      const r = rec.Receipt;
      if (!r) return { state: OnChainState.Pending, desc: 'on chain without receipt yet' };
      return executedState(rec, r, confidence, index);
    }
    default:
      return { state: OnChainState.Pending, desc: `messager state ${rec.State}` };
  }
}

/** True when the message, or the replacement the messager followed, was executed with exit code 0. */
export function executedOk(rec: MessageRecord): boolean {
  return (
    (rec.State === MessageState.OnChainMsg || rec.State === MessageState.NonceConflictMsg) &&
    rec.Receipt?.ExitCode === 0
  );
}

/** An executed message (OnChainMsg, or NonceConflictMsg following its replacement) by its receipt. */
function executedState(
  rec: MessageRecord,
  r: NonNullable<MessageRecord['Receipt']>,
  confidence: number,
  index: number | undefined,
): OnChainResult {
  if (r.ExitCode !== 0) {
    const desc = `message ${rec.SignedCid?.['/'] ?? rec.ID} exited with code ${r.ExitCode} at height ${rec.Height}`;
    return { state: RETRYABLE_EXIT.has(r.ExitCode) ? OnChainState.Failed : OnChainState.PermFailed, desc };
  }
  if (index !== undefined && r.Return) {
    try {
      const br = decodeBatchReturn(fromBase64(r.Return, 'Receipt.Return'));
      const fail = br.failCodes.find((f) => f.idx === index);
      if (fail)
        return {
          state: RETRYABLE_EXIT.has(fail.code) ? OnChainState.Failed : OnChainState.PermFailed,
          desc: `sector failed in the batch with code ${fail.code}`,
        };
    } catch {
      // not a BatchReturn: nothing per sector to read
    }
  }
  if (rec.Confidence < confidence)
    return { state: OnChainState.Packed, desc: `confidence ${rec.Confidence} < ${confidence}`, height: rec.Height };
  return { state: OnChainState.Landed, desc: null, height: rec.Height };
}
