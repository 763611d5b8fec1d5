/**
 * The wallet itself: keys on the keystore, addressed by Filecoin addresses, and the signing rules of
 * venus-wallet's `storage/wallet/wallet.go` (docs/spec/chain.md §Wallet API, §Gateway protocol). Transport-free: the
 * JSON-RPC API (service.ts) and the gateway link (gateway-client.ts) both call this.
 *
 * Rows are keyed by the short address (the address string without its network character, "3abc…"), as the
 * original stores them, so one keystore serves f and t networks; addresses are printed with the wallet's network.
 */

import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { verifyAddressSignBytes } from '../api/gateway.js';
import { logger } from '../common/log.js';
import {
  type Address,
  bytesEqual,
  decodeMessage,
  FilError,
  generatePrivateKey,
  KEY_TYPES,
  type KeyInfo,
  type KeyType,
  keyFromPrivate,
  messageCid,
  type Network,
  parseAddress,
  type Signature,
  sign,
  validatePrivateKey,
} from '../fil/index.js';
import { type KeyStore, WalletError } from './keystore.js';
import { type SignFilter, signFilterInput } from './sign-filter.js';
import type { SignRecorder } from './sign-recorder.js';

const log = logger('wallet');

/** What a sign request says it is (types.MsgMeta with Extra as bytes). */
export interface SignMeta {
  type: string;
  extra?: Uint8Array | undefined;
}

export interface WalletOptions {
  /** Prefix of printed addresses: 'f' mainnet, 't' test networks. Default 'f'. */
  network?: Network;
  /** The random bytes sent to gateways as WalletRegisterPolicy.SignBytes (default: 32 fresh bytes per process). */
  signBytes?: Uint8Array;
  /** [SignFilter]: asked before every signature but the gateway's verifyaddress challenge. */
  filter?: SignFilter;
  /** [SignRecorder]: told of every answered sign request. */
  recorder?: SignRecorder;
}

/** Events: 'address-added' (Address), 'address-removed' (Address), 'unlocked' (), 'locked' (). */
export interface WalletEvents {
  'address-added': [Address];
  'address-removed': [Address];
  unlocked: [];
  locked: [];
}

/** Short address: the string form without the network character, as the original's `wallets.address`. */
export function shortAddress(addr: Address): string {
  return addr.toString('f').slice(1);
}

/** Parses a key type name as the original accepts it (KeyType strings), refusing the ones we cannot hold. */
export function parseKeyType(name: string): KeyType {
  if ((KEY_TYPES as readonly string[]).includes(name)) return name as KeyType;
  if (name === 'delegated') {
    throw new WalletError('key type "delegated" (f4/Ethereum keys) is not supported; use bls or secp256k1', 'invalid');
  }
  throw new WalletError(`unknown key type ${JSON.stringify(name)}: use bls or secp256k1`, 'invalid');
}

export class Wallet extends EventEmitter<WalletEvents> {
  readonly network: Network;
  /** Per-process random bytes for the gateway's verifyaddress challenge. */
  readonly signBytes: Uint8Array;
  /**
   * Password and key-store writes run one at a time: setpwd racing setpwd must not both "win", and a key stored
   * while change-password re-encrypts the others would stay under the old password. Signing does not queue.
   */
  private passwordOps: Promise<unknown> = Promise.resolve();
  private readonly filter: SignFilter | undefined;
  private readonly recorder: SignRecorder | undefined;

  constructor(
    readonly keystore: KeyStore,
    opts: WalletOptions = {},
  ) {
    super();
    this.network = opts.network ?? 'f';
    this.signBytes = opts.signBytes ?? new Uint8Array(randomBytes(32));
    this.filter = opts.filter;
    this.recorder = opts.recorder;
  }

  /** An address as this wallet prints it. */
  format(addr: Address): string {
    return addr.toString(this.network);
  }

  // -- lock -------------------------------------------------------------------------------------------------

  isLocked(): boolean {
    return this.keystore.isLocked();
  }

  hasPassword(): boolean {
    return this.keystore.hasPassword();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.passwordOps.then(fn, fn);
    this.passwordOps = run.catch(() => undefined);
    return run;
  }

  setPassword(password: string, source?: string): Promise<void> {
    return this.serial(async () => {
      await this.keystore.setPassword(password, source);
      log.info('password set; wallet unlocked');
      this.emit('unlocked');
    });
  }

  changePassword(oldPassword: string, newPassword: string, source?: string): Promise<void> {
    return this.serial(async () => {
      const wasLocked = this.isLocked();
      await this.keystore.changePassword(oldPassword, newPassword, source);
      log.info('password changed');
      if (wasLocked) this.emit('unlocked');
    });
  }

  unlock(password: string, source?: string): Promise<void> {
    return this.serial(async () => {
      if (!this.keystore.hasPassword()) throw new WalletError('password not set', 'no-password');
      if (!this.isLocked()) throw new WalletError('wallet already unlocked', 'refused');
      await this.keystore.unlock(password, source);
      log.info('wallet unlocked');
      this.emit('unlocked');
    });
  }

  lock(password: string, source?: string): Promise<void> {
    return this.serial(async () => {
      if (!this.keystore.hasPassword()) throw new WalletError('password not set', 'no-password');
      if (this.isLocked()) throw new WalletError('wallet already locked', 'refused');
      await this.keystore.lock(password, source);
      log.info('wallet locked');
      this.emit('locked');
    });
  }

  verifyPassword(password: string, source?: string): Promise<void> {
    return this.serial(() => this.keystore.verifyPassword(password, source));
  }

  /** Throws "password not set" / "wallet locked" unless keys can be used now. */
  requireUnlocked(): void {
    if (!this.keystore.isLocked()) return;
    if (!this.keystore.hasPassword()) throw new WalletError('password not set', 'no-password');
    throw new WalletError('wallet locked', 'locked');
  }

  // -- keys -------------------------------------------------------------------------------------------------

  /** Creates a key; the row is written in one transaction before the address is returned. */
  async newKey(typeName: string): Promise<Address> {
    const type = parseKeyType(typeName);
    this.requireUnlocked();
    return this.serial(async () => {
      const privateKey = generatePrivateKey(type);
      try {
        const { address } = keyFromPrivate(type, privateKey);
        await this.keystore.put(shortAddress(address), { type, privateKey }, this.format(address));
        log.info({ address: this.format(address) }, 'new key');
        this.emit('address-added', address);
        return address;
      } finally {
        privateKey.fill(0);
      }
    });
  }

  has(addr: Address): boolean {
    return this.keystore.has(shortAddress(addr));
  }

  /** Addresses in creation order. A row whose address does not parse is skipped with a warning. */
  list(): Address[] {
    const out: Address[] = [];
    for (const short of this.keystore.list()) {
      try {
        out.push(parseAddress(`f${short}`));
      } catch (err) {
        log.warn({ row: short, err: (err as Error).message }, 'skipping a key row with an invalid address');
      }
    }
    return out;
  }

  private async keyOf(addr: Address): Promise<KeyInfo> {
    this.requireUnlocked();
    const name = this.format(addr);
    if (!this.has(addr)) throw new WalletError(`key not found: ${name}`, 'not-found');
    const stored = await this.keystore.get(shortAddress(addr), name);
    if (stored.type !== 'bls' && stored.type !== 'secp256k1') {
      stored.privateKey.fill(0);
      throw new WalletError(`key ${name} has type "${stored.type}", which this wallet cannot use`, 'corrupt');
    }
    try {
      validatePrivateKey(stored.type, stored.privateKey);
    } catch (err) {
      stored.privateKey.fill(0);
      throw new WalletError(
        `key ${name} is corrupted (${(err as Error).message}); other keys are unaffected`,
        'corrupt',
      );
    }
    return { type: stored.type, privateKey: stored.privateKey };
  }

  /**
   * Signs `toSign` with the key of `signer`, after the checks of the meta type:
   * - "message": Extra must decode as the unsigned message; its From must be the signer and toSign its CID bytes.
   * - "unknown" (and "f3"): signed as given.
   * - "verifyaddress": toSign must be sha256(Extra ‖ signBytes), the gateway's registration challenge.
   * Anything else is refused. Then [SignFilter] is asked (not for verifyaddress), and the outcome is recorded
   * ([SignRecorder]) whether signed or refused.
   */
  async sign(signer: Address, toSign: Uint8Array, meta: SignMeta): Promise<Signature> {
    this.requireUnlocked();
    const name = this.format(signer);
    const rawMsg = meta.type === 'message' ? meta.extra : toSign;
    try {
      const signature = await this.signChecked(signer, name, toSign, meta);
      this.recorder?.record({ type: meta.type, signer: name, rawMsg, signature });
      return signature;
    } catch (err) {
      this.recorder?.record({ type: meta.type, signer: name, rawMsg, err: (err as Error).message });
      throw err;
    }
  }

  private async signChecked(signer: Address, name: string, toSign: Uint8Array, meta: SignMeta): Promise<Signature> {
    switch (meta.type) {
      case 'message': {
        if (!meta.extra || meta.extra.length === 0) {
          throw new WalletError('sign request of type "message" must carry the message CBOR in Extra', 'refused');
        }
        let msg: ReturnType<typeof decodeMessage>;
        try {
          msg = decodeMessage(meta.extra);
        } catch (err) {
          throw new WalletError(`Extra is not a chain message: ${(err as Error).message}`, 'refused');
        }
        if (!msg.from.equals(signer)) {
          throw new WalletError(`signer(${name}) is not msg sender(${this.format(msg.from)})`, 'refused');
        }
        const cid = messageCid(msg);
        if (!bytesEqual(toSign, cid.bytes)) {
          throw new WalletError(`bytes to sign are not the CID of the message in Extra (${cid.toString()})`, 'refused');
        }
        break;
      }
      case 'unknown':
      case 'f3':
        break;
      case 'verifyaddress': {
        const want = verifyAddressSignBytes(meta.extra ?? new Uint8Array(0), this.signBytes);
        if (!bytesEqual(toSign, want)) {
          throw new WalletError('verifyaddress: sign data does not match the challenge of this wallet', 'refused');
        }
        break;
      }
      case '':
        throw new WalletError('sign request has no message type (MsgMeta.Type)', 'refused');
      default:
        throw new WalletError(`unsupported message type "${meta.type}"`, 'refused');
    }
    if (meta.type !== 'verifyaddress' && this.filter?.enabled) {
      await this.filter.check(signFilterInput(meta.type, toSign, meta.extra, this.network));
    }
    const key = await this.keyOf(signer);
    try {
      const sig = sign(key.type, key.privateKey, toSign);
      log.debug({ signer: name, type: meta.type }, 'signed');
      return sig;
    } catch (err) {
      if (err instanceof FilError) throw new WalletError(`cannot sign with ${name}: ${err.message}`, 'corrupt');
      throw err;
    } finally {
      key.privateKey.fill(0);
    }
  }

  /**
   * The key in Lotus KeyInfo form, only with the wallet's password: a token, even an admin one, is not enough to
   * take a key away. The caller owns (and should wipe) the returned bytes.
   */
  async exportKey(addr: Address, password: string, source?: string): Promise<KeyInfo> {
    this.requireUnlocked();
    await this.verifyPassword(password, source);
    const key = await this.keyOf(addr);
    log.info({ address: this.format(addr) }, 'key exported');
    return key;
  }

  /** Stores a key; importing a key already held returns its address (as the original). */
  async importKey(ki: KeyInfo): Promise<Address> {
    this.requireUnlocked();
    let address: Address;
    try {
      address = keyFromPrivate(ki.type, ki.privateKey).address;
    } catch (err) {
      if (err instanceof FilError) throw new WalletError(`invalid key: ${err.message}`, 'invalid');
      throw err;
    }
    return this.serial(async () => {
      if (this.has(address)) return address;
      await this.keystore.put(
        shortAddress(address),
        { type: ki.type, privateKey: ki.privateKey },
        this.format(address),
      );
      log.info({ address: this.format(address) }, 'key imported');
      this.emit('address-added', address);
      return address;
    });
  }

  /** Deletes a key, only with the wallet's password (as export). */
  async deleteKey(addr: Address, password: string, source?: string): Promise<void> {
    this.requireUnlocked();
    await this.verifyPassword(password, source);
    await this.serial(async () => {
      if (!this.has(addr)) throw new WalletError(`key not found: ${this.format(addr)}`, 'not-found');
      this.keystore.delete(shortAddress(addr));
      log.info({ address: this.format(addr) }, 'key deleted');
      this.emit('address-removed', addr);
    });
  }
}

/**
 * Network names --nettype accepts: the original's list (mainnet, integrationnet, 2k, cali, interop, force,
 * butterfly) and the spellings the other programs and the deployment guide use (`--net=forcenet`, calibnet, …).
 */
export const NET_TYPES = [
  'mainnet',
  'main',
  'integrationnet',
  '2k',
  'devnet',
  'cali',
  'calibnet',
  'calibrationnet',
  'calibration',
  'interop',
  'interopnet',
  'force',
  'forcenet',
  'butterfly',
  'butterflynet',
  'nerpa',
  'nerpanet',
] as const;

/** Address prefix of a --nettype: 'f' on mainnet, 't' on every test network; an unknown name is refused. */
export function networkOfNetType(name: string): Network {
  const n = name.trim().toLowerCase();
  if (n === 'mainnet' || n === 'main') return 'f';
  if ((NET_TYPES as readonly string[]).includes(n)) return 't';
  throw new WalletError(`invalid network name ${JSON.stringify(name)} (one of ${NET_TYPES.join(', ')})`, 'invalid');
}
