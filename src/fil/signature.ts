/**
 * Signatures as Lotus makes and checks them (lotus lib/sigs/{secp,bls}).
 *
 * - secp256k1: ECDSA over blake2b-256(message) with RFC 6979 deterministic k and low S; 65 bytes r ‖ s ‖ v
 *   (v = recovery id 0/1). Verification recovers the public key and compares its f1 address.
 * - BLS (min-pk): signature in G2 (96 bytes compressed) over the raw message bytes, hashed to G2 with DST
 *   BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_; verification uses the f3 address payload as the public key.
 * For chain messages the signed bytes are the message CID's bytes (see message.ts).
 *
 * Byte form (crypto.Signature MarshalBinary, CBOR, and what `lotus wallet sign` prints as hex):
 * sigType byte ‖ data. JSON form: {"Type": 1|2, "Data": base64}.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { type Address, Protocol, secp256k1Address } from './address.js';
import { blake2b256, concatBytes, fromBase64, fromHex, toBase64, toHex } from './bytes.js';
import { FilError, KeyError } from './errors.js';
import { blsSecretKeyBE, type KeyInfo, type KeyType, validatePrivateKey } from './keys.js';

export enum SigType {
  Secp256k1 = 1,
  BLS = 2,
  /** f4 / Ethereum-style secp256k1 signatures; decoded but not produced or verified here. */
  Delegated = 3,
}

export interface Signature {
  type: SigType;
  data: Uint8Array;
}

export interface SignatureJSON {
  Type: number;
  Data: string;
}

/** DST of Filecoin BLS signatures (the IETF "NUL" ciphersuite, not the proof-of-possession one). */
export const BLS_DST = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_';
export const SECP256K1_SIGNATURE_LENGTH = 65;
export const BLS_SIGNATURE_LENGTH = 96;
/** go-state-types crypto.SignatureMaxLength. */
export const SIGNATURE_MAX_LENGTH = 200;

const bls = bls12_381.longSignatures;

export function sigTypeOfKeyType(type: KeyType): SigType {
  return type === 'bls' ? SigType.BLS : SigType.Secp256k1;
}

export function sigTypeName(t: number): string {
  return t === SigType.Secp256k1
    ? 'secp256k1'
    : t === SigType.BLS
      ? 'bls'
      : t === SigType.Delegated
        ? 'delegated'
        : `type ${t}`;
}

/** Signs `message` with a private key in Lotus storage form. */
export function sign(type: KeyType, privateKey: Uint8Array, message: Uint8Array): Signature {
  validatePrivateKey(type, privateKey);
  if (type === 'bls') {
    const point = bls.sign(bls.hash(message, BLS_DST), blsSecretKeyBE(privateKey));
    return { type: SigType.BLS, data: bls.Signature.toBytes(point) };
  }
  // noble's recovered format is v ‖ r ‖ s; Filecoin wants r ‖ s ‖ v
  const rec = secp256k1.sign(blake2b256(message), privateKey, { prehash: false, format: 'recovered', lowS: true });
  return { type: SigType.Secp256k1, data: concatBytes(rec.subarray(1), rec.subarray(0, 1)) };
}

/** Signs with a KeyInfo. */
export function signWithKey(key: KeyInfo, message: Uint8Array): Signature {
  return sign(key.type, key.privateKey, message);
}

/** Recovers the 65-byte public key from a secp256k1 signature (r ‖ s ‖ v) over `message`. */
export function recoverSecp256k1PublicKey(signature: Uint8Array, message: Uint8Array): Uint8Array {
  if (signature.length !== SECP256K1_SIGNATURE_LENGTH) {
    throw new KeyError(`secp256k1 signature must be ${SECP256K1_SIGNATURE_LENGTH} bytes, got ${signature.length}`);
  }
  const v = signature[64]!;
  if (v > 3) throw new KeyError(`secp256k1 signature recovery id must be 0-3, got ${v}`);
  const rec = concatBytes(Uint8Array.of(v), signature.subarray(0, 64));
  try {
    const compressed = secp256k1.recoverPublicKey(rec, blake2b256(message), { prehash: false });
    return secp256k1.Point.fromBytes(compressed).toBytes(false);
  } catch (e) {
    throw new KeyError(`secp256k1 signature does not recover a public key: ${(e as Error).message}`);
  }
}

/**
 * Checks that `signature` over `message` was made by the key behind `address`; throws a KeyError saying
 * why not (type/protocol mismatch, bad length, wrong signer, invalid point). Lotus sigs.Verify.
 */
export function checkSignature(signature: Signature, address: Address, message: Uint8Array): void {
  const t = signature.type;
  if (t === SigType.Secp256k1) {
    if (address.protocol !== Protocol.Secp256k1)
      throw new KeyError(`secp256k1 signature cannot verify for ${address}, which is not an f1 address`);
    const pk = recoverSecp256k1PublicKey(signature.data, message);
    if (!secp256k1Address(pk).equals(address)) throw new KeyError(`signature was not made by ${address}`);
    return;
  }
  if (t === SigType.BLS) {
    if (address.protocol !== Protocol.BLS)
      throw new KeyError(`BLS signature cannot verify for ${address}, which is not an f3 address`);
    if (signature.data.length !== BLS_SIGNATURE_LENGTH) {
      throw new KeyError(`BLS signature must be ${BLS_SIGNATURE_LENGTH} bytes, got ${signature.data.length}`);
    }
    let ok: boolean;
    try {
      ok = bls.verify(signature.data, bls.hash(message, BLS_DST), address.payload);
    } catch (e) {
      throw new KeyError(`BLS signature or public key is malformed: ${(e as Error).message}`);
    }
    if (!ok) throw new KeyError(`signature was not made by ${address}`);
    return;
  }
  throw new KeyError(`cannot verify a ${sigTypeName(t)} signature`);
}

/** Boolean form of checkSignature: false for any invalid, mismatched or malformed signature. */
export function verifySignature(signature: Signature, address: Address, message: Uint8Array): boolean {
  try {
    checkSignature(signature, address, message);
    return true;
  } catch (e) {
    if (e instanceof FilError) return false;
    throw e;
  }
}

/** Aggregates BLS signatures (as in a block's BLSAggregate). An empty list is refused. */
export function aggregateBlsSignatures(signatures: (Signature | Uint8Array)[]): Signature {
  if (signatures.length === 0) throw new KeyError('no BLS signatures to aggregate');
  const datas = signatures.map((s, i) => {
    const d = s instanceof Uint8Array ? s : s.data;
    if (!(s instanceof Uint8Array) && s.type !== SigType.BLS)
      throw new KeyError(`signature ${i} is ${sigTypeName(s.type)}, not BLS`);
    if (d.length !== BLS_SIGNATURE_LENGTH)
      throw new KeyError(`signature ${i} is ${d.length} bytes, want ${BLS_SIGNATURE_LENGTH}`);
    return d;
  });
  try {
    return { type: SigType.BLS, data: bls.Signature.toBytes(bls.aggregateSignatures(datas)) };
  } catch (e) {
    throw new KeyError(`cannot aggregate BLS signatures: ${(e as Error).message}`);
  }
}

/**
 * Verifies a BLS aggregate over distinct messages, one signer (f3 address or 48-byte public key) per message.
 * Duplicate messages make it fail, as the bls-signatures crate Lotus uses does (rogue-key countermeasure).
 */
export function verifyBlsAggregate(
  aggregate: Signature | Uint8Array,
  signers: (Address | Uint8Array)[],
  messages: Uint8Array[],
): boolean {
  const data = aggregate instanceof Uint8Array ? aggregate : aggregate.data;
  if (!(aggregate instanceof Uint8Array) && aggregate.type !== SigType.BLS) return false;
  if (signers.length !== messages.length || messages.length === 0 || data.length !== BLS_SIGNATURE_LENGTH) return false;
  if (new Set(messages.map(toHex)).size !== messages.length) return false;
  const items: { message: ReturnType<typeof bls.hash>; publicKey: Uint8Array }[] = [];
  for (let i = 0; i < messages.length; i++) {
    const s = signers[i]!;
    let pk: Uint8Array;
    if (s instanceof Uint8Array) pk = s;
    else if (s.protocol === Protocol.BLS) pk = s.payload;
    else return false;
    items.push({ message: bls.hash(messages[i]!, BLS_DST), publicKey: pk });
  }
  try {
    return bls.verifyBatch(data, items);
  } catch {
    return false;
  }
}

/** Binary form: type byte ‖ data (what CBOR holds and `lotus wallet sign` prints as hex). */
export function signatureToBytes(sig: Signature): Uint8Array {
  return concatBytes(Uint8Array.of(sig.type), sig.data);
}

/** Inverse of signatureToBytes, with go-state-types' checks (non-empty, ≤ 200 bytes, known type). */
export function signatureFromBytes(bytes: Uint8Array): Signature {
  if (!(bytes instanceof Uint8Array)) throw new KeyError('signature must be bytes');
  if (bytes.length === 0) throw new KeyError('signature bytes are empty');
  if (bytes.length > SIGNATURE_MAX_LENGTH)
    throw new KeyError(`signature bytes too long (${bytes.length}, max ${SIGNATURE_MAX_LENGTH})`);
  const t = bytes[0]!;
  if (t !== SigType.Secp256k1 && t !== SigType.BLS && t !== SigType.Delegated) {
    throw new KeyError(`unknown signature type ${t} (want 1 secp256k1, 2 bls or 3 delegated)`);
  }
  return { type: t, data: bytes.slice(1) };
}

/** Hex of the binary form, as `lotus wallet sign` prints it. */
export function signatureToHex(sig: Signature): string {
  return toHex(signatureToBytes(sig));
}

/** Parses `lotus wallet sign` output (hex of type byte ‖ data). */
export function signatureFromHex(hex: string): Signature {
  let bytes: Uint8Array;
  try {
    bytes = fromHex(hex.trim(), 'signature');
  } catch (e) {
    throw new KeyError((e as FilError).message);
  }
  return signatureFromBytes(bytes);
}

export function signatureToJSON(sig: Signature): SignatureJSON {
  return { Type: sig.type, Data: toBase64(sig.data) };
}

export function signatureFromJSON(v: unknown, what = 'Signature'): Signature {
  if (v === null || typeof v !== 'object')
    throw new KeyError(`${what}: expected {"Type", "Data"}, got ${v === null ? 'null' : typeof v}`);
  const o = v as Record<string, unknown>;
  if (o.Type !== SigType.Secp256k1 && o.Type !== SigType.BLS && o.Type !== SigType.Delegated) {
    throw new KeyError(
      `${what}: unknown signature Type ${JSON.stringify(o.Type)} (want 1 secp256k1, 2 bls or 3 delegated)`,
    );
  }
  if (typeof o.Data !== 'string' && o.Data !== null) throw new KeyError(`${what}: Data must be a base64 string`);
  let data: Uint8Array;
  try {
    data = o.Data === null ? new Uint8Array(0) : fromBase64(o.Data as string, `${what}.Data`);
  } catch (e) {
    throw new KeyError((e as FilError).message);
  }
  return { type: o.Type, data };
}
