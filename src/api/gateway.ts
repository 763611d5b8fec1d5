/**
 * The venus-gateway API (`Gateway.*`, venus-shared `api/gateway/v2`), wallet part plus Version: how wallets
 * register with a gateway and how clients (the messager, market) sign through it (docs/spec/chain.md §Gateway
 * protocol). venus-wallet (src/wallet/gateway-client.ts) is the service-provider side; the devnet implements the
 * gateway side.
 *
 * Transport: WebSocket only for the wallet side (ListenWalletEvent returns a channel). The original wallet dials
 * `/rpc/v1` (gateway v1 client); v2 clients use `/rpc/v2`; the methods are the same, so a gateway should serve all of
 * `/rpc/v0`, `/rpc/v1` and `/rpc/v2`. Auth: a sophon-auth token whose `name` is the wallet's account.
 *
 * The registration protocol, step by step:
 * 1. Wallet → `Gateway.ListenWalletEvent({SupportAccounts, SignBytes})` with 32 random bytes it keeps for the life
 *    of the process. The gateway answers with a channel of RequestEvent.
 * 2. Gateway → event `{Method: "WalletList", Payload: null}`. Wallet → `Gateway.ResponseWalletEvent({Id, Payload:
 *    base64(JSON ["f3…", …]), Error: ""})`.
 * 3. For each address, gateway → `{Method: "WalletSign", Payload: base64(JSON WalletSignRequest)}` with
 *    `ToSign = sha256(gatewayRand ‖ SignBytes)` and `Meta = {Type: "verifyaddress", Extra: gatewayRand}`
 *    (see verifyAddressSignBytes). The wallet signs only if ToSign is exactly that, and answers the Signature
 *    JSON; the gateway checks it against the address. Any failure: the gateway closes the channel.
 * 4. Gateway → `{Method: "InitConnect", Payload: base64(JSON {"ChannelId": "<uuid>"})}`; no answer. The wallet
 *    logs "connect to server <ChannelId>" and is registered under its token's account plus SupportAccounts.
 * 5. From then on, `WalletSign` events carry real requests (`Meta.Type "message"`, Extra = message CBOR); the
 *    answer is `ResponseWalletEvent({Id, Payload: base64(JSON Signature), Error: ""})`, or on refusal
 *    `{Id, Payload: null, Error: "<why>"}`.
 * 6. At run time the wallet calls `AddNewAddress(channelId, [addr])` after creating/importing a key (the gateway
 *    re-runs the verifyaddress challenge for it), `RemoveAddress(channelId, [addr])` after deleting one, and
 *    `SupportNewAccount(channelId, account)`.
 * 7. Clients sign through the gateway with `Gateway.WalletHas(addr, accounts)` and
 *    `Gateway.WalletSign(addr, accounts, toSign, meta)`; the gateway routes to a wallet connection registered for
 *    one of `accounts` that holds `addr` (the messager passes [its token's name]).
 * If the channel ends (socket closed, gateway restarted), the wallet listens again: after 1 s in the original,
 * with backoff here. The gateway forgets a connection's addresses when its socket closes.
 */
import { createHash } from 'node:crypto';
import { channel, defineApi, method } from '../rpc/index.js';
import type { AddressString, Base64, MsgMeta, Signature, Version } from './wallet.js';

/** A uuid string ("e26f1e5c-47f7-4561-a11d-18fab6e748af"), types.UUID on the wire. */
export type UUID = string;

/** gateway.WalletRegisterPolicy: the ListenWalletEvent argument. */
export interface WalletRegisterPolicy {
  /** Accounts (besides the token's own) whose requests this wallet serves. */
  SupportAccounts: string[] | null;
  /** The wallet's random bytes (base64 of 32 bytes) mixed into every verifyaddress challenge. */
  SignBytes: Base64;
}

/** Event methods the gateway sends to a wallet. */
export type WalletEventMethod = 'InitConnect' | 'WalletList' | 'WalletSign';

/** gateway.RequestEvent, a value of the ListenWalletEvent channel. */
export interface RequestEvent {
  Id: UUID;
  Method: WalletEventMethod | string;
  /** base64 of the JSON payload: null (WalletList), WalletSignRequest, or ConnectedCompleted (InitConnect). */
  Payload: Base64 | null;
}

/** gateway.ResponseEvent: the wallet's answer to one RequestEvent. Exactly one of Payload / Error is meaningful. */
export interface ResponseEvent {
  Id: UUID;
  /** base64 of the JSON result (address list or Signature); null on error. */
  Payload: Base64 | null;
  /** "" on success. */
  Error: string;
}

/** gateway.WalletSignRequest: the JSON inside a WalletSign event's Payload. */
export interface WalletSignRequest {
  Signer: AddressString;
  ToSign: Base64;
  Meta: MsgMeta;
}

/** gateway.ConnectedCompleted: the JSON inside an InitConnect event's Payload. */
export interface ConnectedCompleted {
  ChannelId: UUID;
}

/** gateway.ConnectState. */
export interface ConnectState {
  Addrs: AddressString[];
  ChannelId: UUID;
  Ip: string;
  RequestCount: number;
  /** RFC 3339. */
  CreateTime: string;
}

/** gateway.WalletDetail (ListWalletInfo). */
export interface WalletDetail {
  Account: string;
  SupportAccounts: string[];
  ConnectStates: ConnectState[];
}

/** IWalletServiceProvider: what a wallet calls (perm read: any valid token of the account). */
export const WalletServiceProviderMethods = {
  ListenWalletEvent: channel<[policy: WalletRegisterPolicy], RequestEvent>('read', 1),
  ResponseWalletEvent: method<[resp: ResponseEvent], null>('read', 1),
  SupportNewAccount: method<[channelId: UUID, account: string], null>('read', 2),
  AddNewAddress: method<[channelId: UUID, addresses: AddressString[]], null>('read', 2),
  RemoveAddress: method<[channelId: UUID, addresses: AddressString[]], null>('read', 2),
} as const;

/** IWalletClient: what the messager / market call to sign through the gateway (perm admin). */
export const WalletClientMethods = {
  ListWalletInfo: method<[], WalletDetail[]>('admin'),
  ListWalletInfoByWallet: method<[wallet: string], WalletDetail>('admin', 1),
  WalletHas: method<[address: AddressString, accounts: string[]], boolean>('admin', 2),
  WalletSign: method<[address: AddressString, accounts: string[], toSign: Base64, meta: MsgMeta], Signature>(
    'admin',
    4,
  ),
} as const;

export const GatewayAPI = defineApi('Gateway', {
  ...WalletServiceProviderMethods,
  ...WalletClientMethods,
  Version: method<[], Version>('read'),
});

/** RPC path versions a gateway serves; the wallet dials v1 as the original does. */
export const GATEWAY_RPC_PATHS = ['/rpc/v0', '/rpc/v1', '/rpc/v2'] as const;
export const GATEWAY_WALLET_RPC_VERSION = 'v1';

/**
 * The bytes a wallet signs to prove it holds an address (types/wallet GetSignData): sha256 of the gateway's
 * random bytes (sent as Meta.Extra) followed by the wallet's SignBytes from its WalletRegisterPolicy.
 */
export function verifyAddressSignBytes(gatewayRandom: Uint8Array, walletSignBytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(gatewayRandom).update(walletSignBytes).digest());
}
