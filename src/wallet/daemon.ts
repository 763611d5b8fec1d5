/**
 * `venus-wallet run`: opens (or creates) the repo, the keystore and the JSON-RPC API, registers with the
 * configured gateways, and runs until stopped (SIGINT/SIGTERM in the CLI).
 */
import { WalletAPI } from '../api/wallet.js';
import { UserError } from '../common/cli.js';
import { parseDuration } from '../common/config.js';
import { logger } from '../common/log.js';
import type { Network } from '../fil/index.js';
import { RpcServer } from '../rpc/index.js';
import { loadWalletConfig, type WalletConfig, writeWalletConfig } from './config.js';
import { GatewayHub } from './gateway-client.js';
import { KeyStore } from './keystore.js';
import {
  initRepo,
  jwtSecret,
  keystorePath,
  lockRepo,
  NETTYPE_FILE,
  readNetType,
  removeApiFile,
  saveNetType,
  writeApiFile,
} from './repo.js';
import { WalletService } from './service.js';
import { SignFilter } from './sign-filter.js';
import { SignRecorder } from './sign-recorder.js';
import { networkOfNetType, Wallet } from './wallet.js';

const log = logger('main');

export interface DaemonOptions {
  /** Repo directory, already resolved ("~" expanded). */
  repo: string;
  /** --nettype when given (flag or env): remembered in <repo>/nettype. Else the remembered one, else mainnet. */
  netType?: string | undefined;
  /** Unlock (or set, on a wallet without one) with this password before serving. */
  password?: string;
  /** --gateway-api / --gateway-token / --support-accounts: override [APIRegisterHub] when given. */
  gatewayApi?: string[];
  gatewayToken?: string;
  supportAccounts?: string[];
  logLevelSpec?: string;
  /** Test hooks for the gateway links' backoff. */
  gatewayRetryInitialMs?: number;
  gatewayRetryMaxMs?: number;
}

export interface RunningDaemon {
  /** The multiaddr the API listens on (also written to <repo>/api). */
  readonly multiaddr: string;
  /** http://host:port/rpc/v0 */
  readonly url: string;
  readonly config: WalletConfig;
  readonly wallet: Wallet;
  readonly hub: GatewayHub;
  /** Stops serving, leaves the gateways, closes the keystore (wiping cached keys). Idempotent. */
  stop(): Promise<void>;
  /** Settles once stopped. */
  readonly stopped: Promise<void>;
}

function hubConfig(c: WalletConfig, o: DaemonOptions): WalletConfig['APIRegisterHub'] {
  const hub = { ...c.APIRegisterHub };
  if (o.gatewayApi?.length) {
    hub.RegisterAPI = o.gatewayApi;
    hub.Token = o.gatewayToken ?? hub.Token;
    if (o.supportAccounts) hub.SupportAccounts = o.supportAccounts;
  } else {
    if (o.gatewayToken) hub.Token = o.gatewayToken;
    if (o.supportAccounts?.length) hub.SupportAccounts = o.supportAccounts;
  }
  if (hub.RegisterAPI.length && !hub.Token.trim()) {
    throw new UserError('gateway token not set: give --gateway-token or [APIRegisterHub] Token in config.toml');
  }
  if (hub.RegisterAPI.length && hub.SupportAccounts.length === 0) {
    log.warn('no support accounts: the gateway serves only the account of the token');
  }
  return hub;
}

/** The address prefix: --nettype (remembered), else the remembered one, else mainnet, saying which and why. */
function chooseNetwork(o: DaemonOptions): Network {
  const file = `${o.repo}/${NETTYPE_FILE}`;
  const name = o.netType ?? readNetType(o.repo);
  if (name === undefined) {
    log.info(
      'network mainnet (the default): addresses print as f…; on a test network or the devnet start once with ' +
        '`--nettype 2k` (or cali, force, …; remembered in the repo)',
    );
    return 'f';
  }
  let network: Network;
  try {
    network = networkOfNetType(name);
  } catch (err) {
    throw new UserError(o.netType ? (err as Error).message : `${file}: ${(err as Error).message}`);
  }
  if (o.netType) saveNetType(o.repo, o.netType);
  log.info(`network ${name}${o.netType ? '' : ` (from ${file})`}: addresses print as ${network}…`);
  return network;
}

function multiaddrOf(host: string, port: number): string {
  return host.includes(':') ? `/ip6/${host}/tcp/${port}/http` : `/ip4/${host}/tcp/${port}/http`;
}

export async function startDaemon(o: DaemonOptions): Promise<RunningDaemon> {
  log.info(`wallet repo: ${o.repo}`);
  const config = await initRepo(o.repo);
  let keepMs: number;
  try {
    keepMs = parseDuration(config.SignRecorder.KeepDuration);
  } catch (err) {
    throw new UserError(`config.toml [SignRecorder] KeepDuration: ${(err as Error).message}`);
  }
  const network = chooseNetwork(o);
  const hubCfg = hubConfig(config, o);
  const secret = jwtSecret(config);
  const release = lockRepo(o.repo);
  let keystore: KeyStore | undefined;
  let recorder: SignRecorder | undefined;
  let server: RpcServer | undefined;
  try {
    const dbPath = keystorePath(o.repo, config);
    keystore = new KeyStore(dbPath, { scryptN: config.Factor.ScryptN, scryptP: config.Factor.ScryptP });
    const filter = new SignFilter({ expr: config.SignFilter.Expr, network });
    if (filter.enabled) log.info({ expr: config.SignFilter.Expr }, '[SignFilter] asks this command before signing');
    if (config.SignRecorder.Enable) {
      recorder = new SignRecorder(keystore.database, keepMs);
      log.info({ keep: config.SignRecorder.KeepDuration }, '[SignRecorder] records every sign request');
    }
    const wallet = new Wallet(keystore, {
      network,
      filter,
      ...(recorder ? { recorder } : {}),
    });
    log.info({ keystore: dbPath, keys: wallet.list().length }, 'keystore opened');
    if (o.password !== undefined) {
      try {
        if (wallet.hasPassword()) await wallet.unlock(o.password);
        else await wallet.setPassword(o.password);
      } catch (err) {
        throw new UserError(`cannot unlock the wallet: ${(err as Error).message}`);
      }
    } else if (!wallet.hasPassword()) {
      log.warn('no password set yet: run `venus-wallet setpwd`');
    } else {
      log.warn('wallet is locked: run `venus-wallet unlock` (or start with `run --password`) before it can sign');
    }

    const hub = new GatewayHub({
      urls: hubCfg.RegisterAPI,
      token: hubCfg.Token,
      supportAccounts: hubCfg.SupportAccounts,
      wallet,
      ...(o.gatewayRetryInitialMs !== undefined ? { retryInitialMs: o.gatewayRetryInitialMs } : {}),
      ...(o.gatewayRetryMaxMs !== undefined ? { retryMaxMs: o.gatewayRetryMaxMs } : {}),
    });
    const service = new WalletService({
      wallet,
      secret,
      hub,
      ...(o.logLevelSpec !== undefined ? { logLevelSpec: o.logLevelSpec } : {}),
      ...(recorder ? { recorder } : {}),
      saveSupportAccounts: (accounts) => {
        // as the original's AppendSupportAccount: the account survives a restart
        const c = loadWalletConfig(o.repo);
        c.APIRegisterHub.SupportAccounts = accounts;
        writeWalletConfig(o.repo, c);
      },
    });
    server = new RpcServer({ auth: secret, paths: ['/rpc/v0'] });
    server.register(WalletAPI, service);
    server.route('GET', '/healthcheck', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{}');
    });
    let bound: { host: string; port: number };
    try {
      bound = await server.listen(config.API.ListenAddress);
    } catch (err) {
      throw new UserError(`[API] ListenAddress ${config.API.ListenAddress}: ${(err as Error).message}`);
    }
    const { host, port } = bound;
    const multiaddr = multiaddrOf(host, port);
    writeApiFile(o.repo, multiaddr);
    log.info(`start rpc server at [${multiaddr}] ...`);
    hub.start();

    let stopping: Promise<void> | undefined;
    let resolveStopped!: () => void;
    const stopped = new Promise<void>((r) => {
      resolveStopped = r;
    });
    const ks = keystore;
    const srv = server;
    const rec = recorder;
    const stop = (): Promise<void> => {
      stopping ??= (async () => {
        log.info('stopping');
        await hub.stop().catch((err) => log.warn({ err: String(err) }, 'leaving the gateways failed'));
        await srv.close().catch((err) => log.warn({ err: String(err) }, 'closing the API failed'));
        rec?.close();
        ks.close();
        removeApiFile(o.repo);
        release();
        log.info('venus-wallet stopped');
        resolveStopped();
      })();
      return stopping;
    };
    return {
      multiaddr,
      url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/rpc/v0`,
      config,
      wallet,
      hub,
      stop,
      stopped,
    };
  } catch (err) {
    await server?.close().catch(() => {});
    recorder?.close();
    keystore?.close();
    release();
    throw err;
  }
}
