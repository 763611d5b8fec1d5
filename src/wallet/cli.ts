/**
 * venus-wallet's commands (the original's `cli/*.go` and `cmd/daemon.go`). `run` is the daemon; every other
 * command talks to it over JSON-RPC, with the address from <repo>/api (else [API] ListenAddress) and the token
 * from [JWT] Token in <repo>/config.toml.
 */
import { readFile } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { type KeyInfo as KeyInfoJson, MsgTypes, WalletAPI } from '../api/wallet.js';
import { UserError } from '../common/cli.js';
import { logger } from '../common/log.js';
import {
  exportKeyInfo,
  fromBase64,
  fromHex,
  importKeyInfo,
  type KeyInfo,
  keyInfoFromJSON,
  keyInfoToJSON,
  type Network,
  parseAddress,
  setDefaultNetwork,
  signatureFromJSON,
  signatureToHex,
  toBase64,
} from '../fil/index.js';
import {
  type ApiClient,
  createClient,
  ErrorCode,
  isPerm,
  PERMS,
  parseApiInfo,
  permsFor,
  RpcError,
} from '../rpc/index.js';
import { readInput, readPassword } from './prompt.js';
import { apiAddress, DEFAULT_REPO, jwtToken, readRepoConfig, resolveRepo } from './repo.js';
import { scrubKeyError } from './scrub.js';
import { NET_TYPES, networkOfNetType } from './wallet.js';

const log = logger('main');

interface Globals {
  repo: string;
  /** --nettype's prefix when given (flag or VENUS_ADDRESS_TYPE); undefined: as the daemon prints them. */
  network: Network | undefined;
  /** The --nettype name when given. */
  netType: string | undefined;
  logLevel?: string;
}

function globals(cmd: Command): Globals {
  const o = cmd.optsWithGlobals() as { repo?: string; nettype?: string; logLevel?: string };
  let root = cmd;
  while (root.parent) root = root.parent;
  const given = root.getOptionValueSource('nettype') !== 'default' && o.nettype !== undefined;
  let network: Network | undefined;
  try {
    // checked even when it only repeats the default, so `--nettype bogus` is refused with the list
    network = networkOfNetType(o.nettype ?? 'mainnet');
  } catch (err) {
    throw new UserError((err as Error).message);
  }
  if (given) setDefaultNetwork(network);
  else network = undefined;
  const g: Globals = { repo: resolveRepo(o.repo ?? DEFAULT_REPO), network, netType: given ? o.nettype : undefined };
  if (o.logLevel !== undefined) g.logLevel = o.logLevel;
  return g;
}

type Client = ApiClient<typeof WalletAPI>;

/** Turns RPC failures into one clear line for the operator. */
function explain(err: unknown, g: Globals): Error {
  if (err instanceof UserError) return err;
  if (err instanceof RpcError) {
    if (err.code === ErrorCode.Connection) return new UserError(`${err.message}. Is the venus-wallet running?`);
    if (err.code === ErrorCode.Unauthorized) {
      return new UserError(`the wallet refused the token from ${g.repo}/config.toml [JWT] Token: ${err.message}`);
    }
    return new UserError(err.message);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Runs `fn` with a client of the running daemon. The daemon is asked first (Version), so a command that prompts
 * for a password inside `fn` fails at once when the daemon is down or refuses the token, before any prompt.
 */
async function withClient<T>(g: Globals, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = readRepoConfig(g.repo);
  const token = jwtToken(c);
  const { url } = parseApiInfo(apiAddress(g.repo, c), { version: 'v0', defaultScheme: 'http' });
  const client = createClient(WalletAPI, { url, token });
  try {
    await client.Version();
    return await fn(client);
  } catch (err) {
    throw explain(err, g);
  } finally {
    await client.close();
  }
}

/** An address checked, in --nettype's prefix when given, else as written (the daemon prints its own prefix). */
function addr(s: string, g: Globals): string {
  try {
    const a = parseAddress(s);
    return g.network ? a.toString(g.network) : s;
  } catch (err) {
    throw new UserError((err as Error).message);
  }
}

function printAddress(s: string, g: Globals): void {
  process.stdout.write(`${addr(s, g)}\n`);
}

/** The original's StringSliceFlag: repeatable, comma-separated values allowed. */
function collect(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

async function askPasswordTwice(first = 'Password:', again = 'Enter Password again:'): Promise<string> {
  const pw = await readPassword(first);
  const pw2 = await readPassword(again);
  if (pw !== pw2) throw new UserError('the input passwords are inconsistent');
  if (pw === '') throw new UserError('password must not be empty');
  return pw;
}

const IMPORT_FORMATS = ['hex-lotus', 'hex-venus', 'json-lotus', 'json-venus', 'json', 'gfc-json'] as const;

/** Parses a key as `import` reads it; errors say what is wrong, never what the key is. */
export function parseKeyInput(data: string, format: string): KeyInfo {
  const text = data.trim();
  if (!text) throw new UserError('no key given (empty input)');
  try {
    switch (format) {
      case 'hex-lotus':
      case 'hex-venus':
        // A JSON KeyInfo is unambiguous (hex never starts with "{"): accept it without --format.
        if (text.startsWith('{')) return keyInfoFromJSON(text);
        return importKeyInfo(text);
      case 'json-lotus':
      case 'json-venus':
      case 'json':
        return keyInfoFromJSON(text);
      case 'gfc-json': {
        let f: { KeyInfo?: { PrivateKey?: unknown; SigType?: unknown }[] };
        try {
          f = JSON.parse(text);
        } catch {
          throw new UserError('failed to parse go-filecoin key: not JSON');
        }
        const k = f?.KeyInfo?.[0];
        if (!k) throw new UserError('failed to parse go-filecoin key: no KeyInfo[0]');
        const type = k.SigType === 1 ? 'secp256k1' : k.SigType === 2 ? 'bls' : undefined;
        if (!type) throw new UserError(`unrecognized key type: ${JSON.stringify(k.SigType)}`);
        return keyInfoFromJSON({ Type: type, PrivateKey: k.PrivateKey });
      }
      default:
        throw new UserError(`unrecognized format: ${format} (one of ${IMPORT_FORMATS.join(', ')})`);
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`invalid key: ${scrubKeyError((err as Error).message, text)}`);
  }
}

/** Adds every venus-wallet command to the program (global --repo and --nettype are defined here too). */
export function registerWalletCommands(program: Command): Command {
  // `venus-wallet list | head -1`: a closed pipe ends the command quietly, as Go programs do
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  program
    .addOption(new Option('--repo <dir>', 'wallet repo').env('VENUS_WALLET_PATH').default(DEFAULT_REPO))
    .addOption(
      new Option(
        '--nettype <net>',
        `network, sets the address prefix f/t (${NET_TYPES.join(', ')}); \`run\` remembers it in the repo, ` +
          'other commands print addresses as the daemon does unless given',
      )
        .env('VENUS_ADDRESS_TYPE')
        .default('mainnet'),
    );

  program
    .command('run')
    .description('Start a venus wallet process')
    .option('--password [password]', 'unlock at start; without a value, ask for it (terminal, else stdin)')
    .option('--pwd [password]', 'alias of --password')
    .option('--gateway-api <addr>', 'gateway to register with (repeatable; overrides [APIRegisterHub])', collect)
    .option('--gateway-token <token>', 'token for the gateways')
    .option('--support-accounts <account>', 'accounts this wallet signs for (repeatable)', collect)
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const g = globals(cmd);
      if (typeof opts.gatewayToken === 'string') {
        log.warn('a token on the command line is visible to other users (ps); prefer [APIRegisterHub] Token');
      }
      const pwOpt = opts.password ?? opts.pwd;
      let password: string | undefined;
      if (pwOpt === true) password = await readPassword('Password:');
      else if (typeof pwOpt === 'string') {
        log.warn('a password on the command line is visible to other users (ps); prefer `run --password` alone');
        password = pwOpt;
      }
      // loaded here: the daemon's modules (SQLite, the server) would slow every other command's start
      const { startDaemon } = await import('./daemon.js');
      const d = await startDaemon({
        repo: g.repo,
        netType: g.netType,
        ...(password !== undefined ? { password } : {}),
        ...(opts.gatewayApi ? { gatewayApi: opts.gatewayApi as string[] } : {}),
        ...(typeof opts.gatewayToken === 'string' ? { gatewayToken: opts.gatewayToken } : {}),
        ...(opts.supportAccounts ? { supportAccounts: opts.supportAccounts as string[] } : {}),
        ...(g.logLevel !== undefined ? { logLevelSpec: g.logLevel } : {}),
      });
      const onSignal = (sig: NodeJS.Signals) => {
        log.info(`received ${sig}, shutting down`);
        void d.stop();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const { npmLauncher, watchLauncher } = await import('./launcher.js');
      const npm = npmLauncher();
      const unwatch =
        npm === undefined
          ? () => {}
          : watchLauncher(npm, () => {
              log.warn(`npm (pid ${npm}), which started this daemon, is gone; shutting down`);
              void d.stop();
            });
      if (npm !== undefined) {
        log.info(
          `started through npm (pid ${npm}): stopping npm stops this daemon (pid ${process.pid}) too; ` +
            'run `node dist/cli/venus-wallet.js run` (or `npm link`) for a single process',
        );
      }
      await d.stopped;
      unwatch();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });

  program
    .command('set-password')
    .alias('setpwd')
    .description('Store a credential for a keystore file (asks twice)')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, async (c) => c.SetPassword(await askPasswordTwice()));
      process.stdout.write('Password set successfully\n');
    });

  program
    .command('change-password')
    .description('Change the password (asks for the old one, then the new one twice); re-encrypts every key')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, async (c) => {
        const old = await readPassword('Old Password:');
        const pw = await askPasswordTwice('New Password:', 'Enter New Password again:');
        await c.ChangePassword(old, pw);
      });
      process.stdout.write('Password changed successfully\n');
    });

  program
    .command('unlock')
    .description('Unlock the wallet private key, so that it can be used for signing')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, async (c) => c.Unlock(await readPassword('Password:')));
      process.stdout.write('wallet unlock successfully\n');
    });

  program
    .command('lock')
    .description('Restrict the use of secret keys after locking wallet')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, async (c) => c.Lock(await readPassword('Password:')));
      process.stdout.write('wallet lock successfully\n');
    });

  program
    .command('lock-state')
    .description('View the status of the key lock')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const locked = await withClient(g, (c) => c.LockState());
      process.stdout.write(`wallet state: ${locked ? 'locked' : 'unlocked'}\n`);
    });

  program
    .command('new')
    .description('Generate a new key of the given type')
    .argument('[type]', 'bls | secp256k1', 'secp256k1')
    .action(async (type: string, _o, cmd: Command) => {
      const g = globals(cmd);
      if (type !== 'bls' && type !== 'secp256k1') {
        throw new UserError(
          type === 'delegated'
            ? 'key type "delegated" (f4/Ethereum keys) is not supported; use bls or secp256k1'
            : `unknown key type "${type}": use bls or secp256k1`,
        );
      }
      const a = await withClient(g, (c) => c.WalletNew(type));
      printAddress(a, g);
    });

  program
    .command('list')
    .alias('ls')
    .description('List wallet address')
    .action(async (_o, cmd: Command) => {
      const g = globals(cmd);
      const list = await withClient(g, (c) => c.WalletList());
      for (const a of list ?? []) printAddress(a, g);
    });

  program
    .command('export')
    .description('export keys (asks for the password; prints the Lotus hex key format)')
    .argument('<address>')
    .action(async (address: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const a = addr(address, g);
      const ki = await withClient(g, async (c) => c.WalletExport(a, await readPassword('Password:')));
      const key = keyInfoFromJSON(ki);
      try {
        process.stdout.write(`${exportKeyInfo(key)}\n`);
      } finally {
        key.privateKey.fill(0);
      }
    });

  program
    .command('import')
    .description('import keys: hex-lotus (`lotus wallet export` output) by default, or a JSON KeyInfo')
    .argument('[path]', 'key file; "-" or none reads stdin')
    .addOption(new Option('--format <format>', 'input format').choices(IMPORT_FORMATS).default('hex-lotus'))
    .action(async (path: string | undefined, opts: { format: string }, cmd: Command) => {
      const g = globals(cmd);
      let data: string;
      if (path === undefined || path === '-') data = await readInput('Enter private key: ');
      else {
        try {
          data = await readFile(path, 'utf8');
        } catch (err) {
          throw new UserError(`cannot read key file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
        }
      }
      const key = parseKeyInput(data, opts.format);
      const json = keyInfoToJSON(key) as KeyInfoJson;
      key.privateKey.fill(0);
      const a = await withClient(g, (c) => c.WalletImport(json));
      process.stdout.write(`imported key ${addr(a, g)} successfully!\n`);
    });

  program
    .command('sign')
    .description('sign a hex-encoded message (asks for the password; prints hex of type byte ‖ signature)')
    .argument('<address>', 'signing address')
    .argument('<hexMessage>', 'bytes to sign, hex')
    .option('--msg-type <type>', 'MsgMeta.Type: unknown (raw bytes) or message (with --extra)', MsgTypes.Unknown)
    .option('--extra <hex>', 'MsgMeta.Extra, hex (for "message": the unsigned message CBOR)')
    .action(async (address: string, hexMessage: string, opts: { msgType: string; extra?: string }, cmd: Command) => {
      const g = globals(cmd);
      const a = addr(address, g);
      let msg: Uint8Array;
      let extra: Uint8Array | undefined;
      try {
        msg = fromHex(hexMessage, 'hexMessage');
        if (opts.extra !== undefined) extra = fromHex(opts.extra, '--extra');
      } catch (err) {
        throw new UserError((err as Error).message);
      }
      const sig = await withClient(g, async (c) => {
        await c.VerifyPassword(await readPassword('Password:'));
        return c.WalletSign(a, toBase64(msg), {
          Type: opts.msgType,
          Extra: extra ? toBase64(extra) : null,
        });
      });
      process.stdout.write(`${signatureToHex(signatureFromJSON(sig))}\n`);
    });

  program
    .command('del')
    .description('Del a wallet private key (asks for the password)')
    .argument('<address>')
    .action(async (address: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const a = addr(address, g);
      await withClient(g, async (c) => c.WalletDelete(a, await readPassword('Password:')));
      process.stdout.write('success\n');
    });

  program
    .command('support')
    .description('Add an account that can be signed with the private key (on every gateway; saved in config.toml)')
    .argument('<account>')
    .action(async (account: string, _o, cmd: Command) => {
      const g = globals(cmd);
      await withClient(g, (c) => c.AddSupportAccount(account));
    });

  const auth = program.command('auth').description('Manage RPC permissions');
  auth
    .command('api-info')
    .description('Get token with API info required to connect to this wallet')
    .option('--perm <perm>', `permission to assign to the token, one of: ${PERMS.join(', ')}`)
    .action(async (opts: { perm?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (opts.perm === undefined) throw new UserError('--perm flag not set');
      const perm = opts.perm;
      if (!isPerm(perm)) throw new UserError(`--perm flag has to be one of: ${PERMS.join(', ')}`);
      const c = readRepoConfig(g.repo);
      const where = apiAddress(g.repo, c);
      // tokens that can sign or administer need the password, as in the original (checked by the daemon)
      const token = await withClient(g, async (cl) => {
        const pw = perm === 'admin' || perm === 'sign' ? await readPassword('Password:') : '';
        return cl.AuthNew(permsFor(perm), pw);
      });
      process.stdout.write(`${new TextDecoder().decode(fromBase64(token, 'token'))}:${where}\n`);
    });

  return program;
}
