/**
 * Key encryption at rest, as venus-wallet does it (Ethereum keystore v3 recipe, docs/spec/chain.md §Wallet keystore):
 *   dk = scrypt(passphrase, salt, N, r=8, p, 32);  ct = AES-128-CTR(dk[0:16], iv, key);  mac = keccak256(dk[16:32] ‖ ct)
 * venus-wallet's passphrase is keccak256(password), so keystores move between this wallet and the original.
 */
import { createCipheriv, createDecipheriv, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { scryptAsync as nobleScrypt } from '@noble/hashes/scrypt.js';
import { keccak_256 } from '@noble/hashes/sha3.js';

const scryptAsync = promisify(scrypt) as (
  pw: Uint8Array,
  salt: Uint8Array,
  len: number,
  opts: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);

export interface CryptoJSON {
  cipher: 'aes-128-ctr';
  ciphertext: string;
  cipherparams: { iv: string };
  kdf: 'scrypt' | 'pbkdf2';
  kdfparams: Record<string, number | string>;
  mac: string;
}

export interface KdfParams {
  scryptN: number;
  scryptP: number;
}

/** The in-memory passphrase venus-wallet derives from the operator's password. */
export function passphraseOf(password: string): Uint8Array {
  return keccak_256(new TextEncoder().encode(password));
}

export class KeystoreMacError extends Error {
  constructor() {
    super('could not decrypt key: MAC mismatch (wrong password or corrupted key)');
  }
}

async function deriveKey(passphrase: Uint8Array, c: CryptoJSON): Promise<Buffer> {
  const p = c.kdfparams;
  const salt = Buffer.from(String(p.salt), 'hex');
  const dklen = Number(p.dklen ?? 32);
  if (dklen < 32) throw new Error(`keystore: dklen ${dklen} too short`);
  if (c.kdf === 'scrypt') {
    const N = Number(p.n);
    const r = Number(p.r);
    const pp = Number(p.p);
    if (!Number.isInteger(N) || N < 2 || (N & (N - 1)) !== 0) throw new Error(`keystore: bad scrypt n ${p.n}`);
    // OpenSSL enforces RFC 7914's N < 2^(16r); geth (and so old keystores) does not: fall back to noble there.
    if (r >= 1 && Math.log2(N) < 16 * r) {
      return scryptAsync(passphrase, salt, dklen, { N, r, p: pp, maxmem: 256 * N * r + 64 * 1024 * 1024 });
    }
    return Buffer.from(await nobleScrypt(passphrase, salt, { N, r, p: pp, dkLen: dklen, maxmem: 2 ** 32 }));
  }
  if (c.kdf === 'pbkdf2') {
    if (p.prf !== 'hmac-sha256') throw new Error(`keystore: unsupported pbkdf2 prf ${String(p.prf)}`);
    return pbkdf2Async(passphrase, salt, Number(p.c), dklen, 'sha256');
  }
  throw new Error(`keystore: unsupported kdf ${String((c as { kdf: unknown }).kdf)}`);
}

export async function encryptKey(passphrase: Uint8Array, plain: Uint8Array, kdf: KdfParams): Promise<CryptoJSON> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const c: CryptoJSON = {
    cipher: 'aes-128-ctr',
    ciphertext: '',
    cipherparams: { iv: iv.toString('hex') },
    kdf: 'scrypt',
    kdfparams: { n: kdf.scryptN, r: 8, p: kdf.scryptP, dklen: 32, salt: salt.toString('hex') },
    mac: '',
  };
  const dk = await deriveKey(passphrase, c);
  const cipher = createCipheriv('aes-128-ctr', dk.subarray(0, 16), iv);
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  c.ciphertext = ct.toString('hex');
  c.mac = Buffer.from(keccak_256(Buffer.concat([dk.subarray(16, 32), ct]))).toString('hex');
  dk.fill(0);
  return c;
}

export async function decryptKey(passphrase: Uint8Array, c: CryptoJSON): Promise<Uint8Array> {
  if (c.cipher !== 'aes-128-ctr') throw new Error(`keystore: unsupported cipher ${String(c.cipher)}`);
  const ct = Buffer.from(c.ciphertext, 'hex');
  const iv = Buffer.from(c.cipherparams?.iv ?? '', 'hex');
  if (iv.length !== 16) throw new Error('keystore: bad iv');
  const dk = await deriveKey(passphrase, c);
  const mac = Buffer.from(keccak_256(Buffer.concat([dk.subarray(16, 32), ct])));
  const want = Buffer.from(c.mac, 'hex');
  if (want.length !== mac.length || !timingSafeEqual(mac, want)) {
    dk.fill(0);
    throw new KeystoreMacError();
  }
  const d = createDecipheriv('aes-128-ctr', dk.subarray(0, 16), iv);
  const plain = Buffer.concat([d.update(ct), d.final()]);
  dk.fill(0);
  return new Uint8Array(plain);
}
