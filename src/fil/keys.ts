/**
 * Private keys in the form Lotus and venus-wallet store them (types.KeyInfo):
 * - secp256k1: the 32-byte big-endian scalar; public key = 65-byte uncompressed point; address f1 = blake2b-160(pk).
 * - bls: the 32-byte **little-endian** scalar (as the Rust bls-signatures crate serializes it); public key =
 *   48-byte compressed G1 point; address f3 = the public key. noble-curves wants big-endian, so we reverse.
 *
 * Lotus `wallet export` prints hex(JSON {"Type":"bls"|"secp256k1","PrivateKey":"<std base64>"}); `wallet import`
 * reads that back. Both directions are here, plus the plain JSON object form the wallet APIs carry.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type Address, blsAddress, secp256k1Address } from './address.js';
import { fromBase64, fromHex, toBase64, toHex } from './bytes.js';
import { type FilError, KeyError } from './errors.js';

export type KeyType = 'bls' | 'secp256k1';

export const KEY_TYPES: readonly KeyType[] = ['bls', 'secp256k1'];

/** A private key as Lotus stores it (BLS little-endian, secp256k1 big-endian). */
export interface KeyInfo {
  type: KeyType;
  privateKey: Uint8Array;
}

/** A private key with its public key and address. */
export interface Key extends KeyInfo {
  publicKey: Uint8Array;
  address: Address;
}

/** Lotus JSON form of a KeyInfo. */
export interface KeyInfoJSON {
  Type: KeyType;
  PrivateKey: string;
}

const BLS_ORDER = bls12_381.fields.Fr.ORDER;
const SECP_ORDER = secp256k1.Point.Fn.ORDER;

function bytesToBigIntBE(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(`0x${toHex(b)}`);
}

function checkType(type: unknown): KeyType {
  if (type === 'bls' || type === 'secp256k1') return type;
  if (type === 'delegated')
    throw new KeyError('key type "delegated" (f4/Ethereum keys) is not supported; use "bls" or "secp256k1"');
  throw new KeyError(`unknown key type ${JSON.stringify(type)} (want "bls" or "secp256k1")`);
}

/** BLS scalar from Lotus' little-endian bytes, as big-endian bytes for noble; refuses 0 and values ≥ r. */
export function blsSecretKeyBE(privateKeyLE: Uint8Array): Uint8Array {
  if (privateKeyLE.length !== 32) throw new KeyError(`BLS private key must be 32 bytes, got ${privateKeyLE.length}`);
  const be = privateKeyLE.slice().reverse();
  const s = bytesToBigIntBE(be);
  if (s === 0n) throw new KeyError('BLS private key is zero');
  if (s >= BLS_ORDER) throw new KeyError('BLS private key is not a canonical scalar (≥ the group order)');
  return be;
}

function checkSecp(privateKey: Uint8Array): Uint8Array {
  if (privateKey.length !== 32) throw new KeyError(`secp256k1 private key must be 32 bytes, got ${privateKey.length}`);
  const s = bytesToBigIntBE(privateKey);
  if (s === 0n || s >= SECP_ORDER) throw new KeyError('secp256k1 private key is out of range (0 or ≥ the group order)');
  return privateKey;
}

/** Throws a KeyError unless the private key is valid for its type. */
export function validatePrivateKey(type: KeyType, privateKey: Uint8Array): void {
  if (!(privateKey instanceof Uint8Array)) throw new KeyError('private key must be bytes');
  if (checkType(type) === 'bls') blsSecretKeyBE(privateKey);
  else checkSecp(privateKey);
}

/** A fresh random private key in Lotus storage form. */
export function generatePrivateKey(type: KeyType): Uint8Array {
  if (checkType(type) === 'bls') {
    // keygen returns a uniform non-zero scalar, big-endian; Lotus stores it little-endian
    return bls12_381.longSignatures.keygen().secretKey.slice().reverse();
  }
  return secp256k1.utils.randomSecretKey();
}

/** Public key of a private key: secp256k1 65 bytes uncompressed, BLS 48 bytes compressed G1. */
export function publicKeyOf(type: KeyType, privateKey: Uint8Array): Uint8Array {
  if (checkType(type) === 'bls') return bls12_381.longSignatures.getPublicKey(blsSecretKeyBE(privateKey)).toBytes(true);
  return secp256k1.getPublicKey(checkSecp(privateKey), false);
}

/** Address of a public key of the given type (f1 / f3). */
export function addressOfPublicKey(type: KeyType, publicKey: Uint8Array): Address {
  return checkType(type) === 'bls' ? blsAddress(publicKey) : secp256k1Address(publicKey);
}

/** Address of a private key (f1 / f3). */
export function addressOf(type: KeyType, privateKey: Uint8Array): Address {
  return addressOfPublicKey(type, publicKeyOf(type, privateKey));
}

/** Validates a private key and derives its public key and address. */
export function keyFromPrivate(type: KeyType, privateKey: Uint8Array): Key {
  const publicKey = publicKeyOf(type, privateKey);
  return { type, privateKey: privateKey.slice(), publicKey, address: addressOfPublicKey(type, publicKey) };
}

/** A new random key with its public key and address. */
export function generateKey(type: KeyType): Key {
  return keyFromPrivate(type, generatePrivateKey(type));
}

/** Lotus JSON form {"Type": …, "PrivateKey": base64}. */
export function keyInfoToJSON(ki: KeyInfo): KeyInfoJSON {
  return { Type: checkType(ki.type), PrivateKey: toBase64(ki.privateKey) };
}

/** Parses the Lotus JSON form (object or JSON text) and validates the key. */
export function keyInfoFromJSON(v: unknown): KeyInfo {
  let obj = v;
  if (typeof v === 'string') {
    try {
      obj = JSON.parse(v);
    } catch (e) {
      throw new KeyError(`key info is not valid JSON: ${(e as Error).message}`);
    }
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
    throw new KeyError('key info must be a JSON object {"Type", "PrivateKey"}');
  const o = obj as Record<string, unknown>;
  if (!('Type' in o)) throw new KeyError('key info has no "Type"');
  const type = checkType(o.Type);
  if (typeof o.PrivateKey !== 'string') throw new KeyError('key info "PrivateKey" must be a base64 string');
  let privateKey: Uint8Array;
  try {
    privateKey = fromBase64(o.PrivateKey, 'PrivateKey');
  } catch (e) {
    throw new KeyError(`key info ${(e as FilError).message}`);
  }
  validatePrivateKey(type, privateKey);
  return { type, privateKey };
}

/** Lotus `wallet export` format: hex of the JSON {"Type":…,"PrivateKey":…} (Go field order). */
export function exportKeyInfo(ki: KeyInfo): string {
  validatePrivateKey(ki.type, ki.privateKey);
  return toHex(new TextEncoder().encode(JSON.stringify(keyInfoToJSON(ki))));
}

/** Parses Lotus `wallet export` output (surrounding whitespace allowed) and validates the key. */
export function importKeyInfo(exported: string): KeyInfo {
  if (typeof exported !== 'string') throw new KeyError('exported key must be a string');
  const s = exported.trim();
  if (s.length === 0) throw new KeyError('exported key is empty');
  let raw: Uint8Array;
  try {
    raw = fromHex(s, 'exported key');
  } catch (e) {
    const hint = s.startsWith('{') ? ' (this looks like JSON; pass it to keyInfoFromJSON)' : '';
    throw new KeyError(`${(e as FilError).message}${hint}`);
  }
  return keyInfoFromJSON(new TextDecoder().decode(raw));
}
