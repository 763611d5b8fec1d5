/**
 * CIDs Filecoin uses:
 * - chain objects (messages, blocks, state): CIDv1, codec dag-cbor 0x71, multihash blake2b-256 0xb220 → "bafy2bza…";
 * - commitments (go-fil-commcid): CommD / piece CommP as codec fil-commitment-unsealed 0xf101 with multihash
 *   sha2-256-trunc254-padded 0x1012 → "baga6ea4sea…", and CommR as fil-commitment-sealed 0xf102 with
 *   poseidon-bls12_381-a2-fc1 0xb401 → "bagboea4b5a…". The 32 commitment bytes are the multihash digest as is.
 * Lotus JSON writes a CID as {"/": "<base32 string>"}.
 */
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { blake2b256 } from './bytes.js';
import { DAG_CBOR_CODE } from './cbor.js';
import { EncodingError } from './errors.js';

export { CID };

export const BLAKE2B_256_CODE = 0xb220;
export const FIL_COMMITMENT_UNSEALED_CODE = 0xf101;
export const FIL_COMMITMENT_SEALED_CODE = 0xf102;
export const SHA2_256_TRUNC254_PADDED_CODE = 0x1012;
export const POSEIDON_BLS12_381_A2_FC1_CODE = 0xb401;

const NAMES: Record<number, string> = {
  [DAG_CBOR_CODE]: 'dag-cbor',
  85: 'raw',
  112: 'dag-pb',
  [BLAKE2B_256_CODE]: 'blake2b-256',
  18: 'sha2-256',
  [FIL_COMMITMENT_UNSEALED_CODE]: 'fil-commitment-unsealed',
  [FIL_COMMITMENT_SEALED_CODE]: 'fil-commitment-sealed',
  [SHA2_256_TRUNC254_PADDED_CODE]: 'sha2-256-trunc254-padded',
  [POSEIDON_BLS12_381_A2_FC1_CODE]: 'poseidon-bls12_381-a2-fc1',
};
const codeName = (c: number) => `${NAMES[c] ?? 'unknown'} (0x${c.toString(16)})`;

/** CID of DAG-CBOR bytes: CIDv1(dag-cbor, blake2b-256(bytes)). This is a message's or block's CID. */
export function cborCid(cborBytes: Uint8Array): CID {
  return CID.createV1(DAG_CBOR_CODE, Digest.create(BLAKE2B_256_CODE, blake2b256(cborBytes)));
}

/**
 * Parses a CID from its string, its binary form, a multiformats CID, or Lotus JSON {"/": "…"}.
 * Throws an EncodingError naming `what` on anything else.
 */
export function toCid(v: unknown, what = 'CID'): CID {
  const asCid = CID.asCID(v);
  if (asCid) return asCid;
  try {
    if (typeof v === 'string') return CID.parse(v);
    if (v instanceof Uint8Array) return CID.decode(v);
    if (v !== null && typeof v === 'object' && typeof (v as { '/'?: unknown })['/'] === 'string') {
      return CID.parse((v as { '/': string })['/']);
    }
  } catch (e) {
    throw new EncodingError(`${what}: not a valid CID (${(e as Error).message})`);
  }
  throw new EncodingError(`${what}: expected a CID string or {"/": "…"}, got ${v === null ? 'null' : typeof v}`);
}

/** Lotus JSON form {"/": "bafy…"}. */
export function cidToJSON(c: CID): { '/': string } {
  return { '/': c.toString() };
}

/** Parses the Lotus JSON form {"/": "…"} (a bare string is accepted too). */
export function cidFromJSON(v: unknown, what = 'CID'): CID {
  return toCid(v, what);
}

function commitmentToCid(bytes: Uint8Array, codec: number, hash: number, what: string): CID {
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new EncodingError(
      `${what} must be 32 bytes, got ${bytes instanceof Uint8Array ? bytes.length : typeof bytes}`,
    );
  }
  return CID.createV1(codec, Digest.create(hash, bytes));
}

function cidToCommitment(v: unknown, codec: number, hash: number, what: string): Uint8Array {
  const c = toCid(v, what);
  if (c.version !== 1) throw new EncodingError(`${what}: ${c} is a CIDv0, want a CIDv1 with codec ${codeName(codec)}`);
  if (c.code !== codec) throw new EncodingError(`${what}: ${c} has codec ${codeName(c.code)}, want ${codeName(codec)}`);
  if (c.multihash.code !== hash) {
    throw new EncodingError(`${what}: ${c} has hash ${codeName(c.multihash.code)}, want ${codeName(hash)}`);
  }
  if (c.multihash.digest.length !== 32) {
    throw new EncodingError(`${what}: ${c} holds ${c.multihash.digest.length} bytes, want 32`);
  }
  return c.multihash.digest.slice();
}

/** CommD (unsealed sector data commitment) → CID baga6ea4sea… */
export function commDToCid(commD: Uint8Array): CID {
  return commitmentToCid(commD, FIL_COMMITMENT_UNSEALED_CODE, SHA2_256_TRUNC254_PADDED_CODE, 'CommD');
}

/** CID (or its string / Lotus JSON) → the 32 CommD bytes; refuses other codecs, hashes and lengths. */
export function cidToCommD(cid: unknown): Uint8Array {
  return cidToCommitment(cid, FIL_COMMITMENT_UNSEALED_CODE, SHA2_256_TRUNC254_PADDED_CODE, 'CommD');
}

/** Piece commitment CommP → piece CID v1 (same codec and hash as CommD). */
export function commPToCid(commP: Uint8Array): CID {
  return commitmentToCid(commP, FIL_COMMITMENT_UNSEALED_CODE, SHA2_256_TRUNC254_PADDED_CODE, 'CommP');
}

/** Piece CID v1 → the 32 CommP bytes. */
export function cidToCommP(cid: unknown): Uint8Array {
  return cidToCommitment(cid, FIL_COMMITMENT_UNSEALED_CODE, SHA2_256_TRUNC254_PADDED_CODE, 'CommP');
}

/** CommR (sealed replica commitment) → CID bagboea4b5a… */
export function commRToCid(commR: Uint8Array): CID {
  return commitmentToCid(commR, FIL_COMMITMENT_SEALED_CODE, POSEIDON_BLS12_381_A2_FC1_CODE, 'CommR');
}

/** CID (or its string / Lotus JSON) → the 32 CommR bytes; refuses other codecs, hashes and lengths. */
export function cidToCommR(cid: unknown): Uint8Array {
  return cidToCommitment(cid, FIL_COMMITMENT_SEALED_CODE, POSEIDON_BLS12_381_A2_FC1_CODE, 'CommR');
}
