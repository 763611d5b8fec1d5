/**
 * Filecoin addresses (go-address): protocol byte + payload, printed as network char + protocol digit + body.
 *
 *   ID (0)         f01234                       payload = uvarint(id), id < 2^63
 *   secp256k1 (1)  f1<base32(hash ‖ checksum)>  payload = blake2b-160(uncompressed 65-byte public key)
 *   actor (2)      f2<base32(hash ‖ checksum)>  payload = blake2b-160(data)
 *   BLS (3)        f3<base32(pk ‖ checksum)>    payload = 48-byte compressed G1 public key
 *   delegated (4)  f4<ns>f<base32(sub ‖ cks)>   payload = uvarint(namespace) ‖ subaddress (≤ 54 bytes)
 *
 * checksum = blake2b-4(protocol ‖ payload). The network prefix is not part of the bytes: the same address
 * prints as f… on mainnet and t… on test networks (the 2k devnet uses t). The process has a default network
 * (setDefaultNetwork) that toString() uses unless a network is passed.
 */
import {
  base32Decode,
  base32Encode,
  blake2bN,
  bytesEqual,
  concatBytes,
  decodeUvarint,
  encodeUvarint,
  toHex,
} from './bytes.js';
import { AddressError, EncodingError } from './errors.js';

export enum Protocol {
  ID = 0,
  Secp256k1 = 1,
  Actor = 2,
  BLS = 3,
  Delegated = 4,
}

/** 'f' mainnet, 't' testnets (calibnet, 2k devnet). */
export type Network = 'f' | 't';

/** Lengths and limits from go-address constants.go. */
export const PAYLOAD_HASH_LENGTH = 20;
export const CHECKSUM_LENGTH = 4;
export const BLS_PUBLIC_KEY_LENGTH = 48;
export const SECP256K1_PUBLIC_KEY_LENGTH = 65;
export const MAX_SUBADDRESS_LENGTH = 54;
export const MAX_ADDRESS_STRING_LENGTH = 2 + 19 + 1 + 93;
const MAX_ID = (1n << 63n) - 1n;

let defaultNetwork: Network = 'f';

/** Sets the network prefix used when an address is printed without an explicit one (go: address.CurrentNetwork). */
export function setDefaultNetwork(network: Network): void {
  if (network !== 'f' && network !== 't')
    throw new AddressError(`unknown network ${JSON.stringify(network)} (want "f" or "t")`);
  defaultNetwork = network;
}

export function getDefaultNetwork(): Network {
  return defaultNetwork;
}

/** An immutable Filecoin address. Build one with the functions below, never with `new`. */
export class Address {
  readonly protocol: Protocol;
  readonly payload: Uint8Array;

  /** Validates protocol and payload as go-address newAddress does. */
  private constructor(protocol: Protocol, payload: Uint8Array) {
    validatePayload(protocol, payload);
    this.protocol = protocol;
    this.payload = payload.slice();
  }

  /** @internal */
  static _make(protocol: number, payload: Uint8Array): Address {
    return new Address(protocol, payload);
  }

  /** Binary form: protocol byte ‖ payload (what CBOR carries as a byte string). */
  bytes(): Uint8Array {
    return concatBytes(Uint8Array.of(this.protocol), this.payload);
  }

  /** String form with the given network prefix, or the process default. */
  toString(network: Network = defaultNetwork): string {
    if (network !== 'f' && network !== 't')
      throw new AddressError(`unknown network ${JSON.stringify(network)} (want "f" or "t")`);
    const p = this.protocol;
    if (p === Protocol.ID) return `${network}0${decodeUvarint(this.payload).value}`;
    const cks = checksum(this.bytes());
    if (p === Protocol.Delegated) {
      const { value: ns, length } = decodeUvarint(this.payload);
      return `${network}4${ns}f${base32Encode(concatBytes(this.payload.subarray(length), cks))}`;
    }
    return `${network}${p}${base32Encode(concatBytes(this.payload, cks))}`;
  }

  /** Lotus JSON: the string form with the default network. */
  toJSON(): string {
    return this.toString();
  }

  equals(other: Address): boolean {
    return this.protocol === other.protocol && bytesEqual(this.payload, other.payload);
  }

  /** A network-independent string usable as a Map key (hex of the binary form). */
  key(): string {
    return toHex(this.bytes());
  }

  /** The actor ID of an ID address (f01234 → 1234); throws for other protocols or IDs beyond 2^53. */
  id(): number {
    const v = this.idBigInt();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new AddressError(`actor id ${v} does not fit a JS number`);
    return Number(v);
  }

  /** The actor ID of an ID address as a bigint (full 63-bit range). */
  idBigInt(): bigint {
    if (this.protocol !== Protocol.ID) throw new AddressError(`${this.toString()} is not an ID address`);
    return decodeUvarint(this.payload).value;
  }

  /** Namespace and subaddress of a delegated (f4) address. */
  delegated(): { namespace: bigint; subaddress: Uint8Array } {
    if (this.protocol !== Protocol.Delegated) throw new AddressError(`${this.toString()} is not a delegated address`);
    const { value, length } = decodeUvarint(this.payload);
    return { namespace: value, subaddress: this.payload.slice(length) };
  }
}

function validatePayload(protocol: number, payload: Uint8Array): void {
  switch (protocol) {
    case Protocol.ID: {
      const { value, length } = readUvarint(payload, 'ID address');
      if (length !== payload.length)
        throw new AddressError(`ID address payload has ${payload.length - length} extra bytes after the id`);
      if (value > MAX_ID) throw new AddressError(`ID address id ${value} is out of range (max 2^63-1)`);
      return;
    }
    case Protocol.Secp256k1:
    case Protocol.Actor:
      if (payload.length !== PAYLOAD_HASH_LENGTH) {
        throw new AddressError(
          `${protocolName(protocol)} address payload is ${payload.length} bytes, want ${PAYLOAD_HASH_LENGTH}`,
        );
      }
      return;
    case Protocol.BLS:
      if (payload.length !== BLS_PUBLIC_KEY_LENGTH) {
        throw new AddressError(`BLS address payload is ${payload.length} bytes, want ${BLS_PUBLIC_KEY_LENGTH}`);
      }
      return;
    case Protocol.Delegated: {
      const { value, length } = readUvarint(payload, 'delegated address namespace');
      if (value > MAX_ID) throw new AddressError(`delegated address namespace ${value} is out of range (max 2^63-1)`);
      if (payload.length - length > MAX_SUBADDRESS_LENGTH) {
        throw new AddressError(
          `delegated subaddress is ${payload.length - length} bytes, max ${MAX_SUBADDRESS_LENGTH}`,
        );
      }
      return;
    }
    default:
      throw new AddressError(`unknown address protocol ${protocol} (want 0-4)`);
  }
}

function readUvarint(bytes: Uint8Array, what: string): { value: bigint; length: number } {
  try {
    return decodeUvarint(bytes);
  } catch (e) {
    throw new AddressError(`${what}: ${(e as Error).message}`);
  }
}

function protocolName(p: number): string {
  return ['ID', 'secp256k1', 'actor', 'BLS', 'delegated'][p] ?? `protocol ${p}`;
}

function checksum(protocolAndPayload: Uint8Array): Uint8Array {
  return blake2bN(protocolAndPayload, CHECKSUM_LENGTH);
}

function toBigId(id: number | bigint, what: string): bigint {
  if (typeof id === 'number' && !Number.isSafeInteger(id)) throw new AddressError(`${what} ${id} is not an integer`);
  const v = BigInt(id);
  if (v < 0n || v > MAX_ID) throw new AddressError(`${what} ${id} is out of range (0 to 2^63-1)`);
  return v;
}

/** ID address of an actor ID (0 ≤ id < 2^63). */
export function idAddress(id: number | bigint): Address {
  return Address._make(Protocol.ID, encodeUvarint(toBigId(id, 'actor id')));
}

/** secp256k1 address of an uncompressed 65-byte public key (0x04 ‖ X ‖ Y). */
export function secp256k1Address(publicKey: Uint8Array): Address {
  if (publicKey.length !== SECP256K1_PUBLIC_KEY_LENGTH || publicKey[0] !== 4) {
    throw new AddressError(
      `secp256k1 public key must be 65 bytes, uncompressed (0x04…); got ${publicKey.length} bytes`,
    );
  }
  return Address._make(Protocol.Secp256k1, blake2bN(publicKey, PAYLOAD_HASH_LENGTH));
}

/** Actor address: blake2b-160 of arbitrary data (e.g. the creator address and nonce). */
export function actorAddress(data: Uint8Array): Address {
  return Address._make(Protocol.Actor, blake2bN(data, PAYLOAD_HASH_LENGTH));
}

/** BLS address of a 48-byte compressed G1 public key. */
export function blsAddress(publicKey: Uint8Array): Address {
  return Address._make(Protocol.BLS, publicKey);
}

/** Delegated (f4) address: namespace actor ID and subaddress (≤ 54 bytes; 20 for an Ethereum address under f410). */
export function delegatedAddress(namespace: number | bigint, subaddress: Uint8Array): Address {
  const ns = toBigId(namespace, 'delegated namespace');
  return Address._make(Protocol.Delegated, concatBytes(encodeUvarint(ns), subaddress));
}

/** Address from its binary form (protocol byte ‖ payload), e.g. from CBOR. */
export function addressFromBytes(bytes: Uint8Array): Address {
  if (bytes.length === 0) throw new AddressError('empty address bytes');
  if (bytes.length === 1) throw new AddressError('address bytes hold a protocol but no payload');
  return Address._make(bytes[0]!, bytes.subarray(1));
}

/**
 * Parses an address string with either network prefix ('f' or 't'). Errors say what is wrong: length,
 * network prefix, protocol, ID range, base32 character or trailing bits, payload length, checksum.
 */
export function parseAddress(str: string): Address {
  return parseAddressWithNetwork(str).address;
}

/** Like parseAddress, also returning the network prefix the string had. */
export function parseAddressWithNetwork(str: string): { address: Address; network: Network } {
  if (typeof str !== 'string') throw new AddressError(`address must be a string, got ${typeof str}`);
  const q = JSON.stringify(str.length > 120 ? `${str.slice(0, 120)}…` : str);
  const fail = (why: string): never => {
    throw new AddressError(`invalid address ${q}: ${why}`);
  };
  if (str.length === 0) fail('empty');
  if (str.length < 3) fail(`too short (${str.length} characters)`);
  if (str.length > MAX_ADDRESS_STRING_LENGTH)
    fail(`too long (${str.length} characters, max ${MAX_ADDRESS_STRING_LENGTH})`);
  const network = str[0];
  if (network !== 'f' && network !== 't') fail(`unknown network prefix ${JSON.stringify(network)} (want "f" or "t")`);
  const pchar = str[1]!;
  if (!/^[0-4]$/.test(pchar)) fail(`unknown protocol ${JSON.stringify(pchar)} (want 0-4)`);
  const protocol = Number(pchar) as Protocol;
  const raw = str.slice(2);
  const net = network as Network;

  const parseDecimal = (s: string, what: string): bigint => {
    if (s.length === 0) fail(`${what} is empty`);
    if (s.length > 19) fail(`${what} is too long (${s.length} digits, max 19)`);
    if (!/^[0-9]+$/.test(s)) fail(`${what} ${JSON.stringify(s)} is not a decimal number`);
    const v = BigInt(s);
    if (v > MAX_ID) fail(`${what} ${s} is out of range (max 2^63-1)`);
    return v;
  };
  const decode32 = (s: string, offset: number): Uint8Array => {
    try {
      return base32Decode(s, 'body', offset);
    } catch (e) {
      if (e instanceof EncodingError) return fail(e.message);
      throw e;
    }
  };

  if (protocol === Protocol.ID) {
    return { address: idAddress(parseDecimal(raw, 'actor id')), network: net };
  }

  let payload: Uint8Array;
  let cks: Uint8Array;
  if (protocol === Protocol.Delegated) {
    const sep = raw.indexOf('f');
    if (sep < 0) fail('delegated address has no "f" between namespace and subaddress');
    const ns = parseDecimal(raw.slice(0, sep), 'delegated namespace');
    const body = decode32(raw.slice(sep + 1), sep + 3);
    if (body.length < CHECKSUM_LENGTH) fail(`body is ${body.length} bytes, shorter than the 4-byte checksum`);
    const sub = body.subarray(0, body.length - CHECKSUM_LENGTH);
    if (sub.length > MAX_SUBADDRESS_LENGTH)
      fail(`delegated subaddress is ${sub.length} bytes, max ${MAX_SUBADDRESS_LENGTH}`);
    payload = concatBytes(encodeUvarint(ns), sub);
    cks = body.subarray(body.length - CHECKSUM_LENGTH);
  } else {
    const body = decode32(raw, 2);
    if (body.length < CHECKSUM_LENGTH) fail(`body is ${body.length} bytes, shorter than the 4-byte checksum`);
    payload = body.subarray(0, body.length - CHECKSUM_LENGTH);
    cks = body.subarray(body.length - CHECKSUM_LENGTH);
    const want = protocol === Protocol.BLS ? BLS_PUBLIC_KEY_LENGTH : PAYLOAD_HASH_LENGTH;
    if (payload.length !== want) fail(`${protocolName(protocol)} payload is ${payload.length} bytes, want ${want}`);
  }
  if (!bytesEqual(checksum(concatBytes(Uint8Array.of(protocol), payload)), cks)) fail('bad checksum');
  return { address: Address._make(protocol, payload), network: net };
}

/** True for an Address instance. */
export function isAddress(x: unknown): x is Address {
  return x instanceof Address;
}
