/**
 * venus-messager (sophon-messager) API: `Message.*` on `/rpc/v0` (venus-shared api/messager, docs/spec/chain.md
 * §Messager). The sector-manager never signs: it pushes unsigned messages with a client-chosen id, and the messager
 * estimates gas, assigns the nonce, has the wallet sign (through the gateway), pushes to the node and watches the
 * chain.
 *
 * Message records flatten the unsigned message's fields next to the messager's own (ID, state, receipt…).
 */
import { defineApi, method } from '../rpc/index.js';
import type {
  AddressString,
  Base64,
  BigIntString,
  ChainEpoch,
  CidJson,
  MessageJson,
  MessageReceipt,
  Signature,
} from './full.js';

/** SendSpec (lowercase keys). The manager builds it from its fee config. */
export interface SendSpec {
  expireEpoch: ChainEpoch;
  /** multiply the estimated gas limit by this (1.25 → +25 %); 0 = the messager's default */
  gasOverEstimation: number;
  /** cap on the total fee (attoFIL); "0" = none */
  maxFee: BigIntString;
  /** cap on GasFeeCap (attoFIL); "0" = none */
  maxFeeCap?: BigIntString;
  /** multiply the estimated premium by this; 0 = the messager's default */
  gasOverPremium: number;
}

/** Message states (current numbering; v1.6.1 had 5 ReplacedMsg and 6 NoWalletMsg). */
export const MessageState = {
  UnKnown: 0,
  /** stored, not yet filled (no nonce, gas, signature) */
  UnFillMsg: 1,
  /** filled, signed and pushed to the mpool */
  FillMsg: 2,
  /** executed on chain; Receipt, Height, TipSetKey and Confidence are set */
  OnChainMsg: 3,
  /** the messager gave up (fill errors, or the message can never be included) */
  FailedMsg: 4,
  /** replaced by another message with the same nonce (v1.6.1 ReplacedMsg) */
  NonceConflictMsg: 5,
} as const;
export type MessageState = (typeof MessageState)[keyof typeof MessageState];

/** The names Go's `MessageState.String()` prints (the guide's log shows "msg state: FillMsg"). */
export const MESSAGE_STATE_NAMES: Record<number, string> = {
  0: 'UnKnown',
  1: 'UnFillMsg',
  2: 'FillMsg',
  3: 'OnChainMsg',
  4: 'Failed',
  5: 'NonceConflictMsg',
};

/**
 * Why the messager could not fill or send a message (MessageRecord.ErrorCode), beside the words of ErrorMsg, so
 * that readers branch on the code and the words are free to change. This project's messager (the devnet's) sets
 * it; venus-messager has no such field, so a record from it has none. In this project's 12xxx range
 * (src/api/errors.ts), apart from the RPC error codes.
 */
export const MessagerErrorCode = {
  /** no wallet signs for the sender: none registered with the gateway for the account, or it refused (locked) */
  WalletUnavailable: 12101,
  /** the gas could not be estimated: the message would fail, or the sender cannot pay */
  GasEstimation: 12102,
  /** the sender is not an account on chain */
  NoSender: 12103,
  /** the mempool refused the signed message */
  PushRefused: 12104,
  /** the send spec's ExpireEpoch passed before the message could be sent (it would only be included too late) */
  Expired: 12105,
} as const;
export type MessagerErrorCode = (typeof MessagerErrorCode)[keyof typeof MessagerErrorCode];

/** A message record as GetMessageByUid / WaitMessage return it. */
export interface MessageRecord {
  ID: string;
  UnsignedCid: CidJson | null;
  SignedCid: CidJson | null;
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
  Signature: Signature | null;
  /** inclusion height (executed in the next tipset) */
  Height: ChainEpoch;
  /** head − Height */
  Confidence: number;
  Receipt: MessageReceipt | null;
  TipSetKey: CidJson[] | null;
  Meta: SendSpec | null;
  WalletName: string;
  State: MessageState;
  ErrorMsg: string;
  /** why ErrorMsg is set, when the messager says (this project's; absent from venus-messager and when no error) */
  ErrorCode?: MessagerErrorCode;
  /** RFC 3339 */
  CreatedAt: string;
  UpdatedAt: string;
}

export const MessagerMethods = {
  /** → the id the messager chose (a uuid) */
  PushMessage: method<[msg: MessageJson, spec: SendSpec | null], string>('write', 2),
  /** → the id (echo). Pushing an id that exists returns it again without storing a second message. */
  PushMessageWithId: method<[id: string, msg: MessageJson, spec: SendSpec | null], string>('write', 3),
  HasMessageByUid: method<[id: string], boolean>('read', 1),
  /** errors when the id is unknown */
  GetMessageByUid: method<[id: string], MessageRecord>('read', 1),
  GetMessageBySignedCid: method<[cid: CidJson], MessageRecord>('read', 1),
  GetMessageByUnsignedCid: method<[cid: CidJson], MessageRecord>('read', 1),
  /** returns once OnChainMsg with Confidence > confidence (or at once on FailedMsg); no client timeout */
  WaitMessage: method<[id: string, confidence: number], MessageRecord>('read', 2, { timeoutMs: 0 }),
  ListMessageByAddress: method<[addr: AddressString], MessageRecord[] | null>('read', 1),
  MarkBadMessage: method<[id: string], null>('admin', 1),
  /** resend an unconfirmed message with new gas settings → new signed CID */
  ReplaceMessage: method<
    [
      params: {
        ID: string;
        Auto: boolean;
        MaxFee: BigIntString;
        GasLimit: number;
        GasPremium: BigIntString;
        GasFeecap: BigIntString;
        GasOverPremium: number;
      },
    ],
    CidJson
  >('admin', 1),
} as const;

export const MessagerAPI = defineApi('Message', MessagerMethods);
