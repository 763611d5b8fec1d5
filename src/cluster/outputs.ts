/**
 * What the programs print or leave behind that the runner reads: the devnet home's token and funded accounts,
 * the account in a venus-auth token, the miner id `util miner create` printed, the address `import` printed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../common/cli.js';

/** The account name in a venus-auth token ({name, perm}), so the wallet signs for the devnet's account. */
export function tokenAccount(token: string): string | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { name?: unknown };
    return typeof payload.name === 'string' && payload.name ? payload.name : undefined;
  } catch {
    return undefined;
  }
}

export interface DevnetAccount {
  address: string;
  type?: string;
  keyFile: string;
}

/** What `venus-devnet init` leaves in its home that the other programs need (src/devnet/home.ts). */
export function readDevnetHome(dir: string): { token: string; accounts: DevnetAccount[] } {
  const tokenFile = join(dir, 'token');
  const settingsFile = join(dir, 'devnet.json');
  if (!existsSync(tokenFile) || !existsSync(settingsFile)) {
    throw new UserError(
      `${dir} lacks ${existsSync(tokenFile) ? 'devnet.json' : 'token'} after venus-devnet init: ` +
        'the devnet home layout is not what this runner expects (token, devnet.json with accounts and key files)',
    );
  }
  const token = readFileSync(tokenFile, 'utf8').trim();
  const settings = JSON.parse(readFileSync(settingsFile, 'utf8')) as { accounts?: DevnetAccount[] };
  const accounts = (settings.accounts ?? []).filter((a) => a && typeof a.address === 'string' && a.keyFile);
  if (!accounts.length) throw new UserError(`${settingsFile} lists no funded accounts with key files`);
  return { token, accounts };
}

/** The miner id that `util miner create` printed ("miner actor: t01001 (t2…)", or the id alone). */
export function parseMinerId(output: string): string | undefined {
  const actor = [...output.matchAll(/miner actor:\s*([tf]0\d+)/g)].pop();
  if (actor) return actor[1];
  const alone = [...output.matchAll(/^\s*([tf]0\d+)\s*$/gm)].pop();
  return alone?.[1];
}

/** The address that `venus-wallet import` printed ("imported key t3… successfully!"). */
export function parseImported(output: string): string | undefined {
  return /imported key (\S+)/.exec(output)?.[1] ?? /^\s*([tf][0-4]\w+)\s*$/m.exec(output)?.[1];
}
