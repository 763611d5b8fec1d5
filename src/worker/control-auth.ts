/**
 * Who may call the worker's control API: tokens signed with the worker's own secret (created at first start in
 * `auth_dir`, with an admin token beside it for `venus-worker worker …`), and, when `manager_secret_path` is
 * set, tokens signed with the sector-manager's secret (its dashboard pauses and resumes threads with them).
 * docs/security-worker.md says why these two and not a call to the manager.
 */
import { readFile, stat } from 'node:fs/promises';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import { type Authenticator, anyAuth, JWT_SECRET_KEY_TYPE, loadOrInitRepoAuth, localAuth } from '../rpc/index.js';
import type { ControlServerConfig } from './control-config.js';

const log = logger('worker');

export interface ControlAuth {
  auth: Authenticator;
  /** The worker's admin token file (what `venus-worker worker -c CONFIG …` sends). */
  tokenPath: string;
  /** Whether the manager's tokens are accepted. */
  managerTokens: boolean;
}

/**
 * Reads a JWT secret file: Lotus' keystore KeyInfo `{"Type":"jwt-hmac-secret","PrivateKey":"<base64>"}` (what the
 * sector-manager writes). The error names the config key and the file, never its content.
 */
export async function readSecretFile(path: string, key: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UserError(`${key}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let ki: { Type?: unknown; PrivateKey?: unknown } | null;
  try {
    ki = JSON.parse(text) as { Type?: unknown; PrivateKey?: unknown } | null;
  } catch {
    ki = null; // reported below
  }
  if (ki?.Type !== JWT_SECRET_KEY_TYPE || typeof ki.PrivateKey !== 'string') {
    throw new UserError(
      `${key}: ${path} is not a JWT secret (expected the sector-manager's keystore file, ` +
        `{"Type":"${JWT_SECRET_KEY_TYPE}","PrivateKey":"<base64>"})`,
    );
  }
  const secret = new Uint8Array(Buffer.from(ki.PrivateKey, 'base64'));
  if (secret.length < 16) throw new UserError(`${key}: the secret in ${path} is only ${secret.length} bytes`);
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) {
    log.warn({ file: path, mode: mode.toString(8) }, `${key}: the secret file is readable by other users (chmod 600)`);
  }
  return secret;
}

/** Loads (creating on first start) the worker's secret and the manager's, and the verifier over both. */
export async function loadControlAuth(cfg: ControlServerConfig): Promise<ControlAuth> {
  const at = `[${cfg.section}]`;
  let own: Awaited<ReturnType<typeof loadOrInitRepoAuth>>;
  try {
    own = await loadOrInitRepoAuth(cfg.authDir, { tokenName: 'venus-worker' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(
      `${at} auth_dir: cannot create or read the worker's secret in ${cfg.authDir}: ${e.code ?? e.message}`,
    );
  }
  const verifiers = [localAuth(own.secret)];
  if (cfg.managerSecretPath) {
    verifiers.push(localAuth(await readSecretFile(cfg.managerSecretPath, `${at} manager_secret_path`)));
  }
  return { auth: anyAuth(...verifiers), tokenPath: own.tokenPath, managerTokens: verifiers.length > 1 };
}
