/**
 * Chain messages (lotus chain/types/message.go, signedmessage.go).
 *
 * CBOR: a 10-tuple [Version, To, From, Nonce, Value, GasLimit, GasFeeCap, GasPremium, Method, Params] with
 * addresses as their binary form and amounts as Filecoin big.Int bytes. The message CID is
 * CIDv1(dag-cbor, blake2b-256(cbor)) and what a wallet signs is that CID's bytes.
 * SignedMessage: [Message, Signature bytes]; its CID is the unsigned message CID when the signature is BLS
 * (BLS messages go into blocks unsigned, covered by the block's aggregate), else the CID of the signed CBOR.
 * Lotus JSON: capitalised field names, amounts as decimal strings, Params base64 (null when empty), addresses
 * as strings, plus a "CID" field on output that input ignores.
 */
import { type Address, addressFromBytes, type Network, parseAddress } from './address.js';
import { fromBase64, toBase64 } from './bytes.js';
import {
  decodeBigInt,
  decodeCbor,
  encodeBigInt,
  encodeCbor,
  expectBytes,
  expectInt,
  expectTuple,
  expectUint,
} from './cbor.js';
import { type CID, cborCid, cidToJSON } from './cid.js';
import { EncodingError, FilError } from './errors.js';
import type { KeyInfo } from './keys.js';
import {
  checkSignature,
  type Signature,
  type SignatureJSON,
  SigType,
  signatureFromBytes,
  signatureFromJSON,
  signatureToBytes,
  signatureToJSON,
  signWithKey,
} from './signature.js';
import { bigIntFromJSON, FIL_PRECISION } from './token.js';

export interface Message {
  /** Always 0 on today's chain. */
  version: number;
  to: Address;
  from: Address;
  nonce: number;
  /** attoFIL */
  value: bigint;
  gasLimit: number;
  /** attoFIL per gas unit */
  gasFeeCap: bigint;
  /** attoFIL per gas unit */
  gasPremium: bigint;
  method: number;
  /** CBOR of the method's parameters; empty for none. */
  params: Uint8Array;
}

export interface SignedMessage {
  message: Message;
  signature: Signature;
}

export interface MessageJSON {
  Version: number;
  To: string;
  From: string;
  Nonce: number;
  Value: string;
  GasLimit: number;
  GasFeeCap: string;
  GasPremium: string;
  Method: number;
  Params: string | null;
  CID?: { '/': string };
}

export interface SignedMessageJSON {
  Message: MessageJSON;
  Signature: SignatureJSON;
  CID?: { '/': string };
}

/** Total FIL supply in attoFIL (2e9 FIL); no message may move more. */
export const TOTAL_FILECOIN = 2_000_000_000n * FIL_PRECISION;
/** Block gas limit (lotus buildconstants.BlockGasLimit). */
export const BLOCK_GAS_LIMIT = 10_000_000_000;

/** A message with defaults for the fields a caller often leaves out (version 0, value 0, method 0, no params, gas 0). */
export function newMessage(fields: Pick<Message, 'to' | 'from'> & Partial<Message>): Message {
  return {
    version: 0,
    nonce: 0,
    value: 0n,
    gasLimit: 0,
    gasFeeCap: 0n,
    gasPremium: 0n,
    method: 0,
    params: new Uint8Array(0),
    ...fields,
  };
}

function safeUint(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0)
    throw new EncodingError(`Message.${what} must be a non-negative integer, got ${v}`);
  return v;
}

function messageTuple(m: Message): unknown[] {
  if (!Number.isSafeInteger(m.gasLimit))
    throw new EncodingError(`Message.GasLimit must be an integer, got ${m.gasLimit}`);
  return [
    safeUint(m.version, 'Version'),
    m.to.bytes(),
    m.from.bytes(),
    safeUint(m.nonce, 'Nonce'),
    encodeBigInt(m.value),
    m.gasLimit,
    encodeBigInt(m.gasFeeCap),
    encodeBigInt(m.gasPremium),
    safeUint(m.method, 'Method'),
    m.params,
  ];
}

function addressField(v: unknown, what: string): Address {
  try {
    return addressFromBytes(expectBytes(v, what));
  } catch (e) {
    if (e instanceof EncodingError) throw e;
    throw new EncodingError(`${what}: ${(e as Error).message}`);
  }
}

function tupleToMessage(v: unknown): Message {
  const t = expectTuple(v, 10, 'Message');
  return {
    version: expectUint(t[0], 'Message.Version'),
    to: addressField(t[1], 'Message.To'),
    from: addressField(t[2], 'Message.From'),
    nonce: expectUint(t[3], 'Message.Nonce'),
    value: decodeBigInt(expectBytes(t[4], 'Message.Value'), 'Message.Value'),
    gasLimit: expectInt(t[5], 'Message.GasLimit'),
    gasFeeCap: decodeBigInt(expectBytes(t[6], 'Message.GasFeeCap'), 'Message.GasFeeCap'),
    gasPremium: decodeBigInt(expectBytes(t[7], 'Message.GasPremium'), 'Message.GasPremium'),
    method: expectUint(t[8], 'Message.Method'),
    params: expectBytes(t[9], 'Message.Params'),
  };
}

/** CBOR bytes of a message. */
export function encodeMessage(m: Message): Uint8Array {
  return encodeCbor(messageTuple(m));
}

/** Message from its CBOR bytes; errors name the bad field. */
export function decodeMessage(bytes: Uint8Array): Message {
  return tupleToMessage(decodeCbor(bytes));
}

/** The message CID (bafy2bza…). */
export function messageCid(m: Message): CID {
  return cborCid(encodeMessage(m));
}

/** The bytes a wallet signs for this message: its CID's binary form (38 bytes). */
export function messageSigningBytes(m: Message): Uint8Array {
  return messageCid(m).bytes;
}

/** CBOR bytes of a signed message. */
export function encodeSignedMessage(sm: SignedMessage): Uint8Array {
  return encodeCbor([messageTuple(sm.message), signatureToBytes(sm.signature)]);
}

export function decodeSignedMessage(bytes: Uint8Array): SignedMessage {
  const t = expectTuple(decodeCbor(bytes), 2, 'SignedMessage');
  const message = tupleToMessage(t[0]);
  let signature: Signature;
  try {
    signature = signatureFromBytes(expectBytes(t[1], 'SignedMessage.Signature'));
  } catch (e) {
    if (e instanceof EncodingError) throw e;
    throw new EncodingError(`SignedMessage.Signature: ${(e as Error).message}`);
  }
  return { message, signature };
}

/** CID of a signed message: the unsigned message CID for BLS, else the CID of the signed CBOR (Lotus). */
export function signedMessageCid(sm: SignedMessage): CID {
  if (sm.signature.type === SigType.BLS) return messageCid(sm.message);
  return cborCid(encodeSignedMessage(sm));
}

/** Signs a message's CID bytes with the key. The caller makes sure the key belongs to message.from. */
export function signMessage(key: KeyInfo, m: Message): SignedMessage {
  return { message: m, signature: signWithKey(key, messageSigningBytes(m)) };
}

/**
 * Checks a signed message's signature against its From address (which must be f1 or f3: an ID address
 * needs chain state to resolve first). Throws a KeyError saying why it fails.
 */
export function checkSignedMessage(sm: SignedMessage, signer: Address = sm.message.from): void {
  checkSignature(sm.signature, signer, messageSigningBytes(sm.message));
}

/** Boolean form of checkSignedMessage. */
export function verifySignedMessage(sm: SignedMessage, signer: Address = sm.message.from): boolean {
  try {
    checkSignedMessage(sm, signer);
    return true;
  } catch (e) {
    if (e instanceof FilError) return false;
    throw e;
  }
}

/**
 * Lotus' syntactic checks for block inclusion (Message.ValidForBlockInclusion): version 0, 0 ≤ value ≤ 2e9 FIL,
 * fee cap and premium ≥ 0, premium ≤ fee cap, 0 < gas limit ≤ block gas limit, gas limit ≥ minGas.
 * Throws an EncodingError with Lotus' wording.
 */
export function checkMessageValid(m: Message, minGas = 0): void {
  const fail = (why: string): never => {
    throw new EncodingError(why);
  };
  if (m.version !== 0) fail("'Version' unsupported");
  if (m.value < 0n) fail("'Value' field cannot be negative");
  if (m.value > TOTAL_FILECOIN) fail("'Value' field cannot be greater than total filecoin supply");
  if (m.gasFeeCap < 0n) fail("'GasFeeCap' field cannot be negative");
  if (m.gasPremium < 0n) fail("'GasPremium' field cannot be negative");
  if (m.gasPremium > m.gasFeeCap) fail("'GasFeeCap' less than 'GasPremium'");
  if (m.gasLimit > BLOCK_GAS_LIMIT) fail("'GasLimit' field cannot be greater than a block's gas limit");
  if (m.gasLimit <= 0) fail(`'GasLimit' field ${m.gasLimit} must be positive`);
  if (m.gasLimit < minGas)
    fail(`'GasLimit' field cannot be less than the cost of storing a message on chain ${m.gasLimit} < ${minGas}`);
}

/** Lotus JSON of a message, with its CID. Addresses use `network` or the process default. */
export function messageToJSON(m: Message, network?: Network): MessageJSON {
  return {
    Version: m.version,
    To: m.to.toString(network),
    From: m.from.toString(network),
    Nonce: m.nonce,
    Value: m.value.toString(),
    GasLimit: m.gasLimit,
    GasFeeCap: m.gasFeeCap.toString(),
    GasPremium: m.gasPremium.toString(),
    Method: m.method,
    Params: m.params.length === 0 ? null : toBase64(m.params),
    CID: cidToJSON(messageCid(m)),
  };
}

function jsonUint(o: Record<string, unknown>, key: string, dflt?: number): number {
  const v = o[key];
  if (v === undefined && dflt !== undefined) return dflt;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new EncodingError(`Message.${key}: expected a non-negative integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function jsonAddress(o: Record<string, unknown>, key: string): Address {
  const v = o[key];
  if (typeof v !== 'string')
    throw new EncodingError(`Message.${key}: expected an address string, got ${JSON.stringify(v)}`);
  try {
    return parseAddress(v);
  } catch (e) {
    throw new EncodingError(`Message.${key}: ${(e as Error).message}`);
  }
}

function jsonBig(o: Record<string, unknown>, key: string): bigint {
  try {
    return bigIntFromJSON(o[key], `Message.${key}`);
  } catch (e) {
    throw new EncodingError((e as Error).message);
  }
}

/** Message from Lotus JSON (Version may be absent, meaning 0; Params "" or null for none; CID ignored). */
export function messageFromJSON(v: unknown): Message {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new EncodingError('Message: expected a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.GasLimit !== 'number' || !Number.isSafeInteger(o.GasLimit)) {
    throw new EncodingError(`Message.GasLimit: expected an integer, got ${JSON.stringify(o.GasLimit)}`);
  }
  let params: Uint8Array;
  if (o.Params === undefined || o.Params === null || o.Params === '') params = new Uint8Array(0);
  else if (typeof o.Params === 'string') {
    try {
      params = fromBase64(o.Params, 'Message.Params');
    } catch (e) {
      throw new EncodingError((e as Error).message);
    }
  } else throw new EncodingError('Message.Params: expected a base64 string or null');
  return {
    version: jsonUint(o, 'Version', 0),
    to: jsonAddress(o, 'To'),
    from: jsonAddress(o, 'From'),
    nonce: jsonUint(o, 'Nonce'),
    value: jsonBig(o, 'Value'),
    gasLimit: o.GasLimit,
    gasFeeCap: jsonBig(o, 'GasFeeCap'),
    gasPremium: jsonBig(o, 'GasPremium'),
    method: jsonUint(o, 'Method'),
    params,
  };
}

/** Lotus JSON of a signed message, with its CID. */
export function signedMessageToJSON(sm: SignedMessage, network?: Network): SignedMessageJSON {
  return {
    Message: messageToJSON(sm.message, network),
    Signature: signatureToJSON(sm.signature),
    CID: cidToJSON(signedMessageCid(sm)),
  };
}

export function signedMessageFromJSON(v: unknown): SignedMessage {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new EncodingError('SignedMessage: expected a JSON object');
  const o = v as Record<string, unknown>;
  let signature: Signature;
  try {
    signature = signatureFromJSON(o.Signature, 'SignedMessage.Signature');
  } catch (e) {
    throw new EncodingError((e as Error).message);
  }
  return { message: messageFromJSON(o.Message), signature };
}
