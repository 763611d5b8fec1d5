/**
 * The venus-wallet API (`Filecoin.*` at `/rpc/v0`), as venus-shared `api/wallet` declares it (IFullAPI =
 * ILocalWallet + ICommon + IWalletEvent), with the original's permissions (docs/spec/chain.md §Wallet API). Served by
 * `venus-wallet run` (src/wallet); used by its CLI, and by anything that signs with a wallet directly (a Lotus-style
 * `WalletSign` client). Through a gateway, clients call `Gateway.WalletSign` instead (src/api/gateway.ts).
 *
 * Wire shapes (docs/spec/chain.md §JSON conventions): addresses are strings (`f3…`/`t3…`, the prefix of the wallet's
 * --nettype; either prefix is accepted on input); bytes are std base64; a Signature is {"Type": 1|2, "Data": base64}; a
 * KeyInfo is {"Type": "bls"|"secp256k1", "PrivateKey": base64}. Methods without a result answer `null`.
 */
import { z } from 'zod';
import { defineApi, method, type Perm } from '../rpc/index.js';
import { Address, Bool, List, Str, Uint } from './schema.js';

// Param schemas check the JSON type and size only; the service parses addresses, keys and messages and says
// what is wrong with them (its messages name the value's problem: "invalid address …", "unknown key type …").
const Addr = Address;
const Password = Str(1024);
const KeyInfoSchema = z.object({ Type: Str(32), PrivateKey: Str(4096) });
const MsgMetaSchema = z.object({
  Type: Str(64),
  Extra: Str(16 << 20)
    .nullable()
    .optional(),
});
const QuerySchema = z.object({
  ID: Str(256).optional(),
  Type: Str(64).optional(),
  Signer: Str(256).optional(),
  IsError: Bool.optional(),
  Skip: Uint.optional(),
  Limit: Uint.optional(),
  After: Str(64).optional(),
  Before: Str(64).optional(),
});

export type AddressString = string;
export type Base64 = string;

/** Key types WalletNew accepts; the original also has "delegated" (f4), which this wallet refuses clearly. */
export type KeyTypeName = 'bls' | 'secp256k1';

/** types.KeyInfo. `PrivateKey`: BLS 32-byte little-endian scalar, secp256k1 32-byte big-endian scalar. */
export interface KeyInfo {
  Type: KeyTypeName;
  PrivateKey: Base64;
}

/** crypto.Signature: Type 1 secp256k1, 2 BLS (3 delegated is never produced here). */
export interface Signature {
  Type: number;
  Data: Base64;
}

/**
 * types.MsgType (venus-shared types/msg_meta.go). What WalletSign does with each (src/wallet/wallet.ts):
 * - `message`: Extra is the CBOR of the unsigned chain message; toSign must be that message's CID bytes and the
 *   signer must be its From, otherwise the request is refused.
 * - `unknown`: toSign is signed as given (the original's escape hatch; Lotus' ComputeVRF and `wallet sign` use it).
 * - `verifyaddress`: the gateway's registration challenge; toSign must be sha256(Extra ‖ the wallet's SignBytes).
 * - `f3`: raw bytes, as `unknown`.
 * The other types (block, deal proposals, vouchers, asks…) are market/miner objects this wallet does not sign.
 */
export const MsgTypes = {
  Undefined: '',
  Unknown: 'unknown',
  ChainMsg: 'message',
  Block: 'block',
  DealProposal: 'dealproposal',
  DrawRandomParam: 'drawrandomparam',
  SignedVoucher: 'signedvoucher',
  StorageAsk: 'storageask',
  AskResponse: 'askresponse',
  NetWorkResponse: 'networkresposne', // sic, as the original spells it on the wire
  ClientDeal: 'clientdeal',
  ProviderDealState: 'providerdealstate',
  VerifyAddress: 'verifyaddress',
  F3: 'f3',
} as const;
export type MsgType = (typeof MsgTypes)[keyof typeof MsgTypes];

/** types.MsgMeta. `Extra` is base64 (null or absent when empty). */
export interface MsgMeta {
  Type: MsgType | string;
  Extra?: Base64 | null;
}

/** types.Version. APIVersion is a packed semver: major<<16 | minor<<8 | patch. */
export interface Version {
  Version: string;
  APIVersion: number;
}

/** The API version venus-wallet reports (types.NewVer(1, 1, 0)). */
export const WALLET_API_VERSION = (1 << 16) | (1 << 8) | 0;

/** types.QuerySignRecordParams (ListSignedRecord). Zero values mean "no filter". */
export interface QuerySignRecordParams {
  ID?: string;
  Type?: MsgType | string;
  Signer?: AddressString;
  IsError?: boolean;
  Skip?: number;
  Limit?: number;
  /** RFC 3339 times. */
  After?: string;
  Before?: string;
}

/** types.SignRecord. */
export interface SignRecord {
  ID: string;
  Type: MsgType | string;
  Signer: AddressString;
  /** The error text of a refused/failed sign request, null when it succeeded. */
  Err: string | null;
  RawMsg: Base64 | null;
  Signature: Signature | null;
  CreateAt: string;
}

/** ILocalWallet = IWallet + IWalletLock. */
export const WalletMethods = {
  /** Create a key ("bls" | "secp256k1") and return its address. Wallet must be unlocked. */
  WalletNew: method<[keyType: KeyTypeName], AddressString>('admin', 1, { params: { keyType: Str(32) } }),
  WalletHas: method<[address: AddressString], boolean>('read', 1, { params: { address: Addr } }),
  WalletList: method<[], AddressString[]>('read'),
  /** Sign `toSign` (base64) with the key of `signer`; see MsgTypes for what each meta type checks. */
  WalletSign: method<[signer: AddressString, toSign: Base64, meta: MsgMeta], Signature>('sign', 3, {
    params: { signer: Addr, toSign: Str(16 << 20).nullable(), meta: MsgMetaSchema },
  }),
  /**
   * Beyond the original: the wallet password is the second param (checked server-side, with the wrong-password
   * backoff), so an admin token alone cannot take a key. The same for WalletDelete and sign/admin AuthNew.
   */
  WalletExport: method<[address: AddressString, password: string], KeyInfo>('admin', 2, {
    params: { address: Addr, password: Password },
  }),
  /** Store a key (importing one already present returns its address, as the original). */
  WalletImport: method<[key: KeyInfo], AddressString>('admin', 1, { params: { key: KeyInfoSchema } }),
  WalletDelete: method<[address: AddressString, password: string], null>('admin', 2, {
    params: { address: Addr, password: Password },
  }),

  /** Set the first password (and unlock). Refused once a password exists ("password already set"). */
  SetPassword: method<[password: string], null>('admin', 1, { params: { password: Password } }),
  Unlock: method<[password: string], null>('admin', 1, { params: { password: Password } }),
  /** Locking needs the password too, as in the original. */
  Lock: method<[password: string], null>('admin', 1, { params: { password: Password } }),
  /** true = locked. */
  LockState: method<[], boolean>('admin'),
  VerifyPassword: method<[password: string], null>('admin', 1, { params: { password: Password } }),
} as const;

/** ICommon. */
export const CommonMethods = {
  /** Permissions a token grants on this wallet (errors for a token of another secret). */
  AuthVerify: method<[token: string], Perm[]>('read', 1, { params: { token: Str(8192) } }),
  /**
   * A new token for these permissions; the result is the token's bytes, so base64 of the JWT text. Tokens that can
   * sign or administer need the wallet password (ignored, may be "", for read/write tokens).
   */
  AuthNew: method<[perms: Perm[], password: string], Base64>('admin', 2, {
    params: { perms: List(Str(16), 8), password: Password },
  }),
  LogList: method<[], string[]>('read'),
  LogSetLevel: method<[subsystem: string, level: string], null>('write', 2, {
    params: { subsystem: Str(128), level: Str(16) },
  }),
  ListSignedRecord: method<[params: QuerySignRecordParams], SignRecord[]>('read', 1, {
    params: { params: QuerySchema },
  }),
  Version: method<[], Version>('read'),
} as const;

/** IWalletEvent: gateway registration at run time. */
export const WalletEventMethods = {
  /** Add an account this wallet signs for on every gateway, and persist it to [APIRegisterHub] SupportAccounts. */
  AddSupportAccount: method<[account: string], null>('admin', 1, { params: { account: Str(256) } }),
  /** Announce addresses to every connected gateway (new keys are announced automatically). */
  AddNewAddress: method<[addresses: AddressString[]], null>('admin', 1, {
    params: { addresses: List(Addr, 10_000) },
  }),
} as const;

/**
 * Beyond the original: change the password. Every key is re-encrypted in one transaction; needs the old password.
 * (The original has no way to change it; `setpwd` on a wallet that has one is refused here as there.)
 */
export const WalletExtraMethods = {
  ChangePassword: method<[oldPassword: string, newPassword: string], null>('admin', 2, {
    params: { oldPassword: Password, newPassword: Password },
  }),
} as const;

/** Everything `venus-wallet run` serves under `Filecoin.` (the original's IFullAPI plus ChangePassword). */
export const WalletAPI = defineApi('Filecoin', {
  ...WalletMethods,
  ...CommonMethods,
  ...WalletEventMethods,
  ...WalletExtraMethods,
});

/** Just the signing surface (IWallet), for clients such as a Lotus-style signer that talk to a wallet directly. */
export const WalletSignerAPI = defineApi('Filecoin', {
  WalletHas: WalletMethods.WalletHas,
  WalletList: WalletMethods.WalletList,
  WalletSign: WalletMethods.WalletSign,
});
