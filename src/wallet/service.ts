/**
 * The JSON-RPC face of the wallet (src/api/wallet.ts): decodes the wire shapes, calls the Wallet, encodes the
 * answers. Errors reach the caller as code 1 with a message that names the problem and never the key.
 */

import { createHash } from 'node:crypto';
import {
  type KeyInfo as KeyInfoJson,
  type MsgMeta,
  type QuerySignRecordParams,
  type Signature,
  type SignRecord,
  type Version,
  WALLET_API_VERSION,
  type WalletAPI,
} from '../api/wallet.js';
import { setupLogging } from '../common/log.js';
import { VERSION } from '../common/version.js';
import type { Address } from '../fil/index.js';
import {
  fromBase64,
  type KeyInfo,
  keyInfoFromJSON,
  keyInfoToJSON,
  parseAddress,
  signatureToJSON,
} from '../fil/index.js';
import type { ApiImpl, CallContext } from '../rpc/index.js';
import { createToken, isPerm, localAuth, PERMS, type Perm, rpcError } from '../rpc/index.js';
import { LOCAL_SOURCE, WalletError } from './keystore.js';
import { scrubKeyError } from './scrub.js';
import type { SignRecorder } from './sign-recorder.js';
import type { Wallet } from './wallet.js';

/** What the API needs of the gateway links (GatewayHub). */
export interface SupportAccounts {
  supportAccounts(): string[];
  addSupportAccount(account: string): Promise<void>;
  addAddresses(addrs: Address[]): Promise<void>;
}

export interface WalletServiceOptions {
  wallet: Wallet;
  /** The API's HS256 secret ([JWT] Secret), for AuthNew / AuthVerify. */
  secret: Uint8Array;
  /** The gateway links (a GatewayHub, also when no gateway is configured: it keeps the account list). */
  hub: SupportAccounts;
  /** Persist a support account added at run time (to config.toml, as the original does). */
  saveSupportAccounts?: (accounts: string[]) => void;
  /** The log level spec the daemon started with, so LogSetLevel can add to it. */
  logLevelSpec?: string;
  /** [SignRecorder] when enabled: ListSignedRecord reads it. */
  recorder?: SignRecorder;
}

/** Log subsystems of the daemon (LogList). */
export const WALLET_LOG_SUBSYSTEMS = ['main', 'wallet', 'wallet_event', 'rpc'];

function addressArg(v: unknown, what = 'address'): Address {
  if (typeof v !== 'string') throw rpcError(`${what} must be an address string, got ${JSON.stringify(v)}`);
  return parseAddress(v);
}

function metaArg(v: unknown): { type: string; extra: Uint8Array | undefined } {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw rpcError('meta must be an object {"Type": "<msg type>", "Extra": "<base64>"}');
  }
  const m = v as MsgMeta;
  if (m.Type !== undefined && typeof m.Type !== 'string') throw rpcError('meta.Type must be a string');
  if (m.Extra !== undefined && m.Extra !== null && typeof m.Extra !== 'string') {
    throw rpcError('meta.Extra must be base64 or null');
  }
  return { type: m.Type ?? '', extra: m.Extra ? fromBase64(m.Extra, 'meta.Extra') : undefined };
}

function passwordArg(v: unknown): string {
  if (typeof v !== 'string') throw rpcError('password must be a string');
  return v;
}

/**
 * Who is guessing, for the wrong-password backoff: the caller's IP and a digest of its token, so a client with
 * its own token (or from another host) that keeps sending wrong passwords only delays itself, not the operator.
 */
export function sourceOf(ctx: CallContext | undefined): string {
  if (!ctx) return LOCAL_SOURCE;
  const ra = ctx.remoteAddress;
  const ip = ra.lastIndexOf(':') > 0 ? ra.slice(0, ra.lastIndexOf(':')) : ra;
  const auth = ctx.headers.authorization;
  const tok = Array.isArray(auth) ? auth.join(',') : (auth ?? '');
  return `${ip}|${createHash('sha256').update(tok).digest('hex').slice(0, 16)}`;
}

export class WalletService implements ApiImpl<typeof WalletAPI> {
  private readonly wallet: Wallet;
  private logSpec: string;

  constructor(private readonly opts: WalletServiceOptions) {
    this.wallet = opts.wallet;
    this.logSpec = opts.logLevelSpec ?? 'info';
  }

  // -- IWallet ----------------------------------------------------------------------------------------------

  async WalletNew(keyType: string): Promise<string> {
    if (typeof keyType !== 'string') throw rpcError('key type must be a string: "bls" or "secp256k1"');
    return this.wallet.format(await this.wallet.newKey(keyType));
  }

  WalletHas(address: string): boolean {
    return this.wallet.has(addressArg(address));
  }

  WalletList(): string[] {
    return this.wallet.list().map((a) => this.wallet.format(a));
  }

  async WalletSign(signer: string, toSign: string, meta: MsgMeta): Promise<Signature> {
    const addr = addressArg(signer, 'signer');
    if (typeof toSign !== 'string' && toSign !== null) throw rpcError('toSign must be base64');
    const bytes = fromBase64(toSign ?? '', 'toSign');
    const sig = await this.wallet.sign(addr, bytes, metaArg(meta));
    return signatureToJSON(sig);
  }

  async WalletExport(address: string, password: string, ctx?: CallContext): Promise<KeyInfoJson> {
    const ki = await this.wallet.exportKey(addressArg(address), passwordArg(password), sourceOf(ctx));
    try {
      return keyInfoToJSON(ki) as KeyInfoJson;
    } finally {
      ki.privateKey.fill(0);
    }
  }

  async WalletImport(key: KeyInfoJson): Promise<string> {
    let ki: KeyInfo;
    try {
      ki = keyInfoFromJSON(key);
    } catch (err) {
      throw new WalletError(`invalid key: ${scrubKeyError((err as Error).message, key)}`, 'invalid');
    }
    try {
      return this.wallet.format(await this.wallet.importKey(ki));
    } finally {
      ki.privateKey.fill(0);
    }
  }

  async WalletDelete(address: string, password: string, ctx?: CallContext): Promise<null> {
    await this.wallet.deleteKey(addressArg(address), passwordArg(password), sourceOf(ctx));
    return null;
  }

  // -- IWalletLock -------------------------------------------------------------------------------------------

  async SetPassword(password: string, ctx?: CallContext): Promise<null> {
    await this.wallet.setPassword(passwordArg(password), sourceOf(ctx));
    return null;
  }

  async Unlock(password: string, ctx?: CallContext): Promise<null> {
    await this.wallet.unlock(passwordArg(password), sourceOf(ctx));
    return null;
  }

  async Lock(password: string, ctx?: CallContext): Promise<null> {
    await this.wallet.lock(passwordArg(password), sourceOf(ctx));
    return null;
  }

  LockState(): boolean {
    return this.wallet.isLocked();
  }

  async VerifyPassword(password: string, ctx?: CallContext): Promise<null> {
    await this.wallet.verifyPassword(passwordArg(password), sourceOf(ctx));
    return null;
  }

  async ChangePassword(oldPassword: string, newPassword: string, ctx?: CallContext): Promise<null> {
    await this.wallet.changePassword(passwordArg(oldPassword), passwordArg(newPassword), sourceOf(ctx));
    return null;
  }

  // -- ICommon -----------------------------------------------------------------------------------------------

  async AuthVerify(token: string): Promise<Perm[]> {
    if (typeof token !== 'string') throw rpcError('token must be a string');
    try {
      return [...(await localAuth(this.opts.secret).verify(token)).perms];
    } catch (err) {
      throw rpcError(`JWT Verification failed: ${(err as Error).message}`);
    }
  }

  async AuthNew(perms: Perm[], password: string, ctx?: CallContext): Promise<string> {
    if (!Array.isArray(perms) || perms.length === 0) {
      throw rpcError(`perms must be a non-empty list of ${PERMS.join(', ')}`);
    }
    for (const p of perms) if (!isPerm(p)) throw rpcError(`unknown permission ${JSON.stringify(p)}`);
    // The original signs {"Allow": perms}; perms inherit downwards, so the highest one decides.
    const top = PERMS.filter((p) => perms.includes(p)).pop()!;
    // a token that can sign or administer is as good as the keys' use: only with the password
    if (top === 'sign' || top === 'admin') await this.wallet.verifyPassword(passwordArg(password), sourceOf(ctx));
    const token = await createToken(this.opts.secret, top, { style: 'lotus' });
    return Buffer.from(token).toString('base64');
  }

  LogList(): string[] {
    return [...WALLET_LOG_SUBSYSTEMS];
  }

  LogSetLevel(subsystem: string, level: string): null {
    if (typeof subsystem !== 'string' || !subsystem || typeof level !== 'string') {
      throw rpcError('LogSetLevel needs a subsystem and a level');
    }
    if (subsystem.length > 64 || level.length > 16) throw rpcError('LogSetLevel: subsystem or level too long');
    // one entry per subsystem: a repeated call replaces it, so the spec stays bounded
    const others = this.logSpec.split(',').filter((e) => e && !e.startsWith(`${subsystem}=`));
    const spec = subsystem === '*' ? `${level}` : [...others, `${subsystem}=${level}`].join(',');
    try {
      setupLogging({ levelSpec: spec });
    } catch (err) {
      throw rpcError((err as Error).message);
    }
    this.logSpec = spec;
    return null;
  }

  ListSignedRecord(params: QuerySignRecordParams): SignRecord[] {
    if (!this.opts.recorder) {
      throw rpcError('sign records are not kept: set [SignRecorder] Enable = true in config.toml and restart');
    }
    return this.opts.recorder.query(params);
  }

  Version(): Version {
    return { Version: VERSION, APIVersion: WALLET_API_VERSION };
  }

  // -- IWalletEvent ------------------------------------------------------------------------------------------

  async AddSupportAccount(account: string): Promise<null> {
    if (typeof account !== 'string' || !account.trim()) throw rpcError('account must be a non-empty string');
    const hub = this.opts.hub;
    if (hub.supportAccounts().includes(account)) throw rpcError(`account ${account} is already supported`);
    await hub.addSupportAccount(account);
    this.opts.saveSupportAccounts?.(hub.supportAccounts());
    return null;
  }

  async AddNewAddress(addresses: string[]): Promise<null> {
    if (!Array.isArray(addresses)) throw rpcError('addresses must be a list of address strings');
    const addrs = addresses.map((a) => addressArg(a));
    for (const a of addrs) {
      if (!this.wallet.has(a)) throw rpcError(`key not found: ${this.wallet.format(a)}`);
    }
    await this.opts.hub.addAddresses(addrs);
    return null;
  }
}
