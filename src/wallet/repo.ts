/**
 * The wallet repo (default ~/.venus_wallet), laid out as the original's `filemgr`:
 *   config.toml      [API] [DB] [JWT] [Factor] [SignFilter] [APIRegisterHub] [SignRecorder] (config.ts)
 *   keystore.sqlit   the keys ([DB] Conn)
 * The API secret and the CLI's admin token live in config.toml's [JWT] section, hex-encoded, as the original keeps
 * them (`Secret` = hex of 32 random bytes, `Token` = hex of the JWT text {"Allow":["read","write","sign","admin"]}),
 * so a repo moves between this wallet and the original in both directions. Two files are added, as Lotus does:
 *   api              the multiaddr the daemon actually listens on (ListenAddress may say port 0); removed at stop
 *   repo.lock        the pid of the running daemon, so two daemons never share one keystore
 *   nettype          the --nettype of the last start that gave one (a restart without the flag keeps it)
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../common/cli.js';
import { expandHome } from '../common/config.js';
import { logger } from '../common/log.js';
import { createToken, generateSecret, localAuth } from '../rpc/index.js';
import {
  CONFIG_FILE,
  defaultWalletConfig,
  hasWalletConfig,
  KEYSTORE_FILE,
  loadWalletConfig,
  type WalletConfig,
  writeWalletConfig,
} from './config.js';
import { restrictMode, writeFileAtomic } from './files.js';

const log = logger('main');

export const API_FILE = 'api';
/** The --nettype the daemon was last started with, so a restart without it prints the same prefix. */
export const NETTYPE_FILE = 'nettype';
export const LOCK_FILE = 'repo.lock';
export const DEFAULT_REPO = '~/.venus_wallet';

export function resolveRepo(repo: string): string {
  return resolve(expandHome(repo));
}

/** The keystore file a config points at ("~" expanded; relative paths are relative to the repo). */
export function keystorePath(repo: string, c: WalletConfig): string {
  const conn = c.DB.Conn.trim() || join(repo, KEYSTORE_FILE);
  return resolve(repo, expandHome(conn));
}

/** A fresh [JWT] section: random secret and an all-permission token, both hex, as the original's RandJWTConfig. */
export async function randomJwtConfig(): Promise<WalletConfig['JWT']> {
  const secret = generateSecret();
  const token = await createToken(secret, 'admin', { style: 'lotus' });
  return { Secret: Buffer.from(secret).toString('hex'), Token: Buffer.from(token).toString('hex') };
}

function decodeHex(s: string, what: string): Buffer {
  const t = s.trim();
  if (!/^([0-9a-fA-F]{2})*$/.test(t)) throw new UserError(`${CONFIG_FILE}: ${what} must be hex`);
  return Buffer.from(t, 'hex');
}

/** The API secret from [JWT] Secret. */
export function jwtSecret(c: WalletConfig): Uint8Array {
  const secret = decodeHex(c.JWT.Secret, 'JWT.Secret');
  if (secret.length < 16) throw new UserError(`${CONFIG_FILE}: JWT.Secret is ${secret.length} bytes; want 32 (hex)`);
  return new Uint8Array(secret);
}

/** The CLI's token from [JWT] Token (hex of the JWT text). */
export function jwtToken(c: WalletConfig): string {
  return decodeHex(c.JWT.Token, 'JWT.Token').toString('utf8');
}

/**
 * Opens the repo for the daemon: creates it, config.toml and the [JWT] section on first start; fills in what an
 * operator's config leaves empty (DB.Conn, JWT); re-issues a Token that no longer matches the Secret. The file is
 * rewritten only when something was filled in.
 */
export async function initRepo(repo: string): Promise<WalletConfig> {
  mkdirSync(repo, { recursive: true, mode: 0o700 });
  const existed = hasWalletConfig(repo);
  const c = existed ? loadWalletConfig(repo) : defaultWalletConfig(repo);
  let changed = !existed;
  if (!c.DB.Conn.trim()) {
    c.DB.Conn = join(repo, KEYSTORE_FILE);
    changed = true;
  }
  if (!c.JWT.Secret.trim()) {
    c.JWT = await randomJwtConfig();
    changed = true;
  } else {
    const secret = jwtSecret(c);
    let ok = false;
    try {
      await localAuth(secret).verify(jwtToken(c));
      ok = true;
    } catch {
      // an empty or stale token would lock the CLI out: issue one from the secret
    }
    if (!ok) {
      c.JWT.Token = Buffer.from(await createToken(secret, 'admin', { style: 'lotus' })).toString('hex');
      changed = true;
    }
  }
  if (changed) writeWalletConfig(repo, c);
  else if (restrictMode(join(repo, CONFIG_FILE))) {
    // an operator-made file (0644) carries the API secret: nobody else may read it
    log.warn(`${join(repo, CONFIG_FILE)} was readable by other users; set its mode to 0600 (it holds [JWT] Secret)`);
  }
  return c;
}

/** Reads the repo's config for a CLI command; never creates anything. */
export function readRepoConfig(repo: string): WalletConfig {
  if (!hasWalletConfig(repo)) {
    throw new UserError(`no wallet repo at ${repo} (no ${CONFIG_FILE}); start the daemon with \`venus-wallet run\``);
  }
  return loadWalletConfig(repo);
}

/** Where the CLI finds the daemon: the `api` file the running daemon wrote, else [API] ListenAddress. */
export function apiAddress(repo: string, c: WalletConfig): string {
  const f = join(repo, API_FILE);
  if (existsSync(f)) {
    const s = readFileSync(f, 'utf8').trim();
    if (s) return s;
  }
  return c.API.ListenAddress;
}

/** The remembered --nettype, or undefined. */
export function readNetType(repo: string): string | undefined {
  const f = join(repo, NETTYPE_FILE);
  if (!existsSync(f)) return undefined;
  return readFileSync(f, 'utf8').trim() || undefined;
}

export function saveNetType(repo: string, name: string): void {
  if (readNetType(repo) === name) return;
  writeFileAtomic(join(repo, NETTYPE_FILE), `${name}\n`, 0o600);
}

export function writeApiFile(repo: string, multiaddr: string): void {
  writeFileAtomic(join(repo, API_FILE), multiaddr, 0o600);
}

export function removeApiFile(repo: string): void {
  rmSync(join(repo, API_FILE), { force: true });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the repo for this process: refuses while another live daemon holds it; a lock left by a killed daemon
 * (kill -9) is taken over. Returns the release function.
 */
export function lockRepo(repo: string): () => void {
  const f = join(repo, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(f, String(process.pid), { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(f, 'utf8').trim() === String(process.pid)) rmSync(f, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(readFileSync(f, 'utf8').trim(), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) {
        throw new UserError(
          `repo ${repo} is in use by another venus-wallet (pid ${pid}); it is still running: kill ${pid}`,
        );
      }
      rmSync(f, { force: true });
    }
  }
  throw new UserError(`cannot lock repo ${repo}`);
}
