/**
 * Tokens as venus-auth (sophon-auth) and Lotus make them (docs/spec/chain.md §Tokens): JWT HS256 over a 32-byte
 * secret. Two payload styles are read:
 *   venus-auth  {"name": "<user>", "perm": "read|write|sign|admin", "ext": "<free text>"}
 *   Lotus       {"Allow": ["read", "write", "sign", "admin"]}
 * Permissions are ordered read < write < sign < admin and inherit downwards (sophon-auth AdaptOldStrategy),
 * so a Lotus token allowing only "admin" may also call read methods.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { TokenClaims } from './api.js';
import { ErrorCode, RpcError } from './errors.js';

export type Perm = 'read' | 'write' | 'sign' | 'admin';
export const PERMS: readonly Perm[] = ['read', 'write', 'sign', 'admin'];

export function isPerm(p: unknown): p is Perm {
  return typeof p === 'string' && (PERMS as readonly string[]).includes(p);
}

/** All permissions a perm grants: admin ⇒ every perm; sign ⇒ read, write, sign; … */
export function permsFor(perm: Perm): Perm[] {
  return PERMS.slice(0, PERMS.indexOf(perm) + 1);
}

/** The highest of a set of perms. */
export function highestPerm(perms: readonly Perm[]): Perm | undefined {
  let best = -1;
  for (const p of perms) best = Math.max(best, PERMS.indexOf(p));
  return best < 0 ? undefined : PERMS[best];
}

export function hasPerm(granted: readonly Perm[], need: Perm): boolean {
  return granted.includes(need);
}

/** A verified token: its claims plus the expanded permission list. */
export interface VerifiedToken extends TokenClaims {
  readonly perms: readonly Perm[];
  /** Expiry (ms since epoch) when the token has an `exp` claim; Lotus and venus tokens have none. */
  readonly expiresAt?: number;
}

/** Something that checks a bearer token: the local HS256 secret, or later a remote sophon-auth. */
export interface Authenticator {
  /** Resolves with the token's claims, or rejects with an RpcError (code 401) saying what is wrong. */
  verify(token: string): Promise<VerifiedToken>;
}

/** A fresh 32-byte HS256 secret, as Lotus and venus-wallet generate. */
export function generateSecret(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

export interface TokenOptions {
  /** Account name (venus-auth `name`); the gateway uses it as the wallet account. Default "". */
  name?: string;
  /** Free text (venus-auth `ext`). */
  ext?: string;
  /**
   * Payload style: 'venus' {name, perm, ext}; 'lotus' {Allow: [...]} (every perm up to `perm`, as Lotus writes
   * its admin token); 'both' (default) carries both so either kind of verifier accepts it.
   */
  style?: 'venus' | 'lotus' | 'both';
  /** Lifetime in seconds (adds `exp`). Venus and Lotus tokens do not expire; tests use this. */
  expiresInSeconds?: number;
}

/** Sign a token granting `perm`. */
export async function createToken(secret: Uint8Array, perm: Perm, opts: TokenOptions = {}): Promise<string> {
  if (!isPerm(perm)) throw new Error(`unknown permission "${perm}" (expected one of ${PERMS.join(', ')})`);
  checkSecret(secret);
  const style = opts.style ?? 'both';
  const payload: Record<string, unknown> = {};
  if (style !== 'venus') payload.Allow = permsFor(perm);
  if (style !== 'lotus') {
    payload.name = opts.name ?? '';
    payload.perm = perm;
    payload.ext = opts.ext ?? '';
  }
  const jwt = new SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' });
  if (opts.expiresInSeconds !== undefined) {
    jwt.setExpirationTime(Math.floor(Date.now() / 1000) + opts.expiresInSeconds);
  }
  return jwt.sign(secret);
}

function unauthorized(message: string): RpcError {
  return new RpcError(ErrorCode.Unauthorized, message);
}

function checkSecret(secret: Uint8Array): void {
  if (!(secret instanceof Uint8Array) || secret.length === 0) throw new Error('JWT secret must be non-empty bytes');
}

/** Read the claims of a verified payload in either style. */
export function claimsFromPayload(payload: Record<string, unknown>): Omit<VerifiedToken, 'expiresAt'> {
  const perms = new Set<Perm>();
  const { Allow, perm, name, ext } = payload;
  if (Allow !== undefined && Allow !== null) {
    if (!Array.isArray(Allow)) throw unauthorized('token claim "Allow" must be a list of permissions');
    for (const p of Allow) {
      if (!isPerm(p)) throw unauthorized(`token allows unknown permission ${JSON.stringify(p)}`);
      for (const q of permsFor(p)) perms.add(q);
    }
  }
  if (perm !== undefined && perm !== null && perm !== '') {
    if (!isPerm(perm)) throw unauthorized(`token has unknown permission ${JSON.stringify(perm)}`);
    for (const q of permsFor(perm)) perms.add(q);
  }
  const list = PERMS.filter((p) => perms.has(p));
  const top = highestPerm(list);
  if (!top) throw unauthorized('token grants no permission (no "perm" or "Allow" claim)');
  return {
    name: typeof name === 'string' ? name : '',
    ext: typeof ext === 'string' ? ext : '',
    perm: top,
    perms: list,
  };
}

/** The verifier for tokens signed with one local secret (what every service does for its own tokens). */
export function localAuth(secret: Uint8Array): Authenticator {
  checkSecret(secret);
  // Verified tokens are cached: a JWT check per HTTP call would otherwise dominate small calls.
  const cache = new Map<string, VerifiedToken>();
  return {
    async verify(token: string): Promise<VerifiedToken> {
      const hit = cache.get(token);
      if (hit && (hit.expiresAt === undefined || hit.expiresAt > Date.now())) return hit;
      let payload: Record<string, unknown>;
      try {
        ({ payload } = await jwtVerify(token, secret, { algorithms: ['HS256'] }));
      } catch (err) {
        throw unauthorized(explainJoseError(err));
      }
      const claims = claimsFromPayload(payload);
      const v: VerifiedToken =
        typeof payload.exp === 'number' ? { ...claims, expiresAt: payload.exp * 1000 } : { ...claims };
      if (cache.size >= 1000) cache.clear();
      cache.set(token, v);
      return v;
    },
  };
}

/** Tries each verifier in turn (local secret first, then e.g. a remote auth service), as venus' AuthMux does. */
export function anyAuth(...verifiers: Authenticator[]): Authenticator {
  return {
    async verify(token: string): Promise<VerifiedToken> {
      let first: unknown;
      for (const v of verifiers) {
        try {
          return await v.verify(token);
        } catch (err) {
          first ??= err;
        }
      }
      throw first ?? unauthorized('no token verifier configured');
    },
  };
}

function explainJoseError(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'token expired';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return 'token signature does not match (signed with another secret)';
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'token algorithm not allowed (only HS256 is accepted)';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `token rejected: ${err.message}`;
  if (err instanceof joseErrors.JOSEError) return 'malformed token (not a JWT)';
  return 'token could not be verified';
}

/** Pull the bearer token out of an Authorization header value or a `?token=` query value. */
export function bearerToken(authorization: string | undefined, queryToken: string | null): string | undefined {
  if (authorization !== undefined && authorization !== '') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw unauthorized('Authorization header must be "Bearer <token>"');
    return m[1];
  }
  if (queryToken) return queryToken;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Repo files, as Lotus lays them out: the secret in keystore/ under the base32 name of "auth-jwt-private"
// as a KeyInfo {"Type":"jwt-hmac-secret","PrivateKey":"<base64>"}, and an admin token in <repo>/token.

/** Keystore entry name of the API secret (Lotus/venus `JWTSecretName`). */
export const JWT_SECRET_NAME = 'auth-jwt-private';
/** KeyInfo type of the API secret (Lotus `KTJwtHmacSecret`). */
export const JWT_SECRET_KEY_TYPE = 'jwt-hmac-secret';

/** Lotus keystore file names are the RFC 4648 base32 of the key name, upper case, without padding. */
export function keystoreFileName(name: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = Buffer.from(name, 'utf8');
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

export interface RepoAuth {
  secret: Uint8Array;
  /** The admin token (contents of <repo>/token). */
  token: string;
  secretPath: string;
  tokenPath: string;
}

/**
 * Load the repo's API secret and admin token, creating them on first use (mode 0600, keystore dir 0700).
 * An existing secret is kept; a missing token is re-issued from it.
 */
export async function loadOrInitRepoAuth(repo: string, opts: { tokenName?: string } = {}): Promise<RepoAuth> {
  const keystore = join(repo, 'keystore');
  const secretPath = join(keystore, keystoreFileName(JWT_SECRET_NAME));
  const tokenPath = join(repo, 'token');
  let secret: Uint8Array;
  const existing = await readFile(secretPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing !== undefined) {
    secret = parseSecretKeyInfo(existing, secretPath);
  } else {
    secret = generateSecret();
    await mkdir(keystore, { recursive: true, mode: 0o700 });
    const ki = { Type: JWT_SECRET_KEY_TYPE, PrivateKey: Buffer.from(secret).toString('base64') };
    await writeFile(secretPath, JSON.stringify(ki), { mode: 0o600 });
    await chmod(secretPath, 0o600);
  }
  let token = (
    await readFile(tokenPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return '';
      throw err;
    })
  ).trim();
  if (token) {
    // A token left from another secret would lock the operator out: check it, re-issue if stale.
    try {
      await localAuth(secret).verify(token);
    } catch {
      token = '';
    }
  }
  if (!token) {
    token = await createToken(secret, 'admin', { name: opts.tokenName ?? 'admin' });
    await writeFile(tokenPath, token, { mode: 0o600 });
    await chmod(tokenPath, 0o600);
  }
  return { secret, token, secretPath, tokenPath };
}

function parseSecretKeyInfo(text: string, path: string): Uint8Array {
  let ki: unknown;
  try {
    ki = JSON.parse(text);
  } catch {
    throw new Error(`${path}: not a JSON KeyInfo`);
  }
  const { Type, PrivateKey } = (ki ?? {}) as { Type?: unknown; PrivateKey?: unknown };
  if (Type !== JWT_SECRET_KEY_TYPE || typeof PrivateKey !== 'string') {
    throw new Error(`${path}: expected {"Type":"${JWT_SECRET_KEY_TYPE}","PrivateKey":"<base64>"}`);
  }
  const secret = new Uint8Array(Buffer.from(PrivateKey, 'base64'));
  if (secret.length < 16) throw new Error(`${path}: secret is only ${secret.length} bytes`);
  return secret;
}
