/**
 * Gateway registration ([APIRegisterHub], venus-wallet `wallet_event/listenevent.go` and sophon-gateway
 * `walletevent/wallet_client.go`): the wallet dials every configured gateway over WebSocket, listens for wallet
 * events, answers WalletList, proves each address with the verifyaddress challenge, and then serves the gateway's
 * WalletSign requests for its accounts. The protocol is described step by step in src/api/gateway.ts.
 *
 * Each gateway gets its own link with its own loop: when the event channel ends (gateway restarted, socket lost,
 * registration refused), the link listens again after a backoff (1 s, doubling to 30 s, back to 1 s once a
 * registration completes). Unlocking the wallet retries at once, since a locked wallet cannot pass verifyaddress.
 */

import {
  type ConnectedCompleted,
  GATEWAY_WALLET_RPC_VERSION,
  GatewayAPI,
  type RequestEvent,
  type WalletSignRequest,
} from '../api/gateway.js';
import { type Logger, logger } from '../common/log.js';
import { type Address, fromBase64, parseAddress, signatureToJSON, toBase64 } from '../fil/index.js';
import { createClient, parseApiInfo } from '../rpc/index.js';
import { WalletError } from './keystore.js';
import type { Wallet } from './wallet.js';

const baseLog = logger('wallet_event');

export interface GatewayHubOptions {
  /** Gateway endpoints: multiaddrs (/ip4/…/tcp/45132, no scheme = ws), URLs, or "TOKEN:multiaddr" API infos. */
  urls: string[];
  /** sophon-auth token for the gateways (its name is the wallet's account there). */
  token: string;
  supportAccounts: string[];
  wallet: Wallet;
  /** First and largest delay between listen attempts (default 1 s and 30 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** WebSocket keepalive (default 30 s), so a vanished gateway is noticed. */
  pingIntervalMs?: number;
  /** How often a locked wallet says so (default once a minute). */
  lockedWarnEveryMs?: number;
}

/** The operator's fix for a wallet that cannot sign, named in the warnings. */
export function unlockHint(wallet: Wallet): string {
  return wallet.hasPassword()
    ? 'run `venus-wallet unlock` (or start with `venus-wallet run --password`)'
    : 'run `venus-wallet setpwd`';
}

/** The WebSocket URL of a gateway as configured in RegisterAPI (plus a token embedded in an API info string). */
export function gatewayEndpoint(addr: string): { url: string; token?: string } {
  const info = parseApiInfo(addr, { version: GATEWAY_WALLET_RPC_VERSION, defaultScheme: 'ws' });
  const url = info.url.replace(/^http(s?):/, 'ws$1:');
  return info.token === undefined ? { url } : { url, token: info.token };
}

function decodeJsonPayload(payload: string | null, what: string): unknown {
  if (payload === null || payload === undefined || payload === '') return null;
  const text = new TextDecoder().decode(fromBase64(payload, `${what} payload`));
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`${what} payload is not JSON`);
  }
}

function encodeJsonPayload(v: unknown): string {
  return toBase64(new TextEncoder().encode(JSON.stringify(v)));
}

/** One gateway: a loop of listen sessions. */
class GatewayLink {
  readonly log: Logger;
  /** Channel id of the current registration (set by InitConnect), undefined while not registered. */
  channelId: string | undefined;
  private client: ReturnType<typeof createClient<typeof GatewayAPI>> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;
  private delay: number;
  private loop: Promise<void> | undefined;
  private readonly url: string;
  private readonly token: string;
  private lastLockedWarn = Number.NEGATIVE_INFINITY;

  constructor(
    readonly addr: string,
    private readonly hub: GatewayHub,
    private readonly opts: GatewayHubOptions,
  ) {
    const ep = gatewayEndpoint(addr);
    this.url = ep.url;
    this.token = ep.token ?? opts.token;
    this.log = baseLog.child({ 'api hub': addr });
    this.delay = opts.retryInitialMs ?? 1000;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.client?.close();
    await this.loop;
  }

  /** Skip the rest of the backoff (e.g. the wallet was just unlocked). */
  retryNow(): void {
    this.delay = this.opts.retryInitialMs ?? 1000;
    this.wake?.();
  }

  get connected(): boolean {
    return this.channelId !== undefined;
  }

  /** The client of the current session, if registered. */
  registered(): { client: NonNullable<GatewayLink['client']>; channelId: string } | undefined {
    if (!this.client || !this.channelId) return undefined;
    return { client: this.client, channelId: this.channelId };
  }

  /** One WARN per minute while the wallet is locked, with the command that fixes it, instead of an error per try. */
  private warnLocked(what: string): void {
    const now = Date.now();
    if (now - this.lastLockedWarn < (this.opts.lockedWarnEveryMs ?? 60_000)) return;
    this.lastLockedWarn = now;
    this.log.warn(`${what}: ${unlockHint(this.opts.wallet)}`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      // A locked wallet holding keys cannot pass the gateway's verifyaddress challenge: wait for `unlock` (which
      // wakes this link at once) instead of registering and failing every second.
      const wallet = this.opts.wallet;
      if (wallet.isLocked() && wallet.list().length > 0) {
        this.warnLocked('the wallet is locked, so it cannot register with the gateway');
        await this.sleep(this.opts.lockedWarnEveryMs ?? 60_000);
        continue;
      }
      let registered = false;
      try {
        registered = await this.session(() => {
          registered = true;
        });
        if (!this.stopped) this.log.warn('wallet event channel closed by the gateway; listening again');
      } catch (err) {
        if (!this.stopped) this.log.error({ err: (err as Error).message }, 'listen wallet event failed');
      }
      if (this.stopped) break;
      if (registered) this.delay = this.opts.retryInitialMs ?? 1000;
      const wait = this.delay;
      this.delay = Math.min(this.delay * 2, this.opts.retryMaxMs ?? 30_000);
      await this.sleep(wait);
      if (!this.stopped && !(wallet.isLocked() && wallet.list().length > 0)) {
        this.log.info('restarting listen wallet event');
      }
    }
  }

  /** One registration: listen, answer events until the channel ends. Resolves true if InitConnect came. */
  private async session(onRegistered: () => void): Promise<boolean> {
    const client = createClient(GatewayAPI, {
      url: this.url,
      token: this.token,
      reconnect: false,
      headers: { 'X-VENUS-API-NAMESPACE': 'gateway.IGateway' },
      pingIntervalMs: this.opts.pingIntervalMs ?? 30_000,
    });
    this.client = client;
    let registered = false;
    try {
      if (this.stopped) return false;
      await client.rpc.connect();
      const accounts = this.hub.supportAccounts();
      this.log.info({ 'support accounts': accounts }, 'listen wallet event');
      const events = await client.ListenWalletEvent({
        SupportAccounts: accounts,
        SignBytes: toBase64(this.opts.wallet.signBytes),
      });
      for await (const ev of events) {
        if (ev.Method === 'InitConnect') {
          const id = this.initConnect(ev);
          if (id !== undefined) {
            registered = true;
            onRegistered();
          }
          continue;
        }
        // Answer in the background, as the original's goroutines: a slow signature must not hold up the channel.
        void this.answer(client, ev);
      }
      return registered;
    } finally {
      this.channelId = undefined;
      if (this.client === client) this.client = undefined;
      await client.close();
    }
  }

  private initConnect(ev: RequestEvent): string | undefined {
    try {
      const p = decodeJsonPayload(ev.Payload, 'InitConnect') as ConnectedCompleted | null;
      if (!p || typeof p.ChannelId !== 'string' || !p.ChannelId) throw new Error('InitConnect has no ChannelId');
      this.channelId = p.ChannelId;
      this.log.info(`connect to server ${p.ChannelId}`);
      return p.ChannelId;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'init connect error');
      return undefined;
    }
  }

  private async answer(client: NonNullable<GatewayLink['client']>, ev: RequestEvent): Promise<void> {
    let payload: string | null = null;
    let error = '';
    try {
      switch (ev.Method) {
        case 'WalletList': {
          const wallet = this.opts.wallet;
          payload = encodeJsonPayload(wallet.list().map((a) => wallet.format(a)));
          break;
        }
        case 'WalletSign': {
          const req = decodeJsonPayload(ev.Payload, 'WalletSign') as WalletSignRequest | null;
          if (!req || typeof req !== 'object') throw new Error('WalletSign request has no payload');
          const meta = req.Meta ?? { Type: '' };
          const sig = await this.opts.wallet.sign(
            parseAddress(String(req.Signer)),
            fromBase64(req.ToSign ?? '', 'ToSign'),
            {
              type: typeof meta.Type === 'string' ? meta.Type : '',
              extra: meta.Extra ? fromBase64(meta.Extra, 'Meta.Extra') : undefined,
            },
          );
          payload = encodeJsonPayload(signatureToJSON(sig));
          this.log.debug({ signer: req.Signer, type: meta.Type }, 'signed for the gateway');
          break;
        }
        default:
          throw new Error(`unexpected wallet event "${ev.Method}"`);
      }
    } catch (err) {
      error = (err as Error).message || String(err);
      payload = null;
      if (err instanceof WalletError && (err.reason === 'locked' || err.reason === 'no-password')) {
        this.warnLocked(`the wallet is locked: refusing the gateway's ${ev.Method} requests`);
      } else {
        this.log.error({ method: ev.Method, err: error }, 'wallet event refused');
      }
    }
    try {
      await client.ResponseWalletEvent({ Id: ev.Id, Payload: payload, Error: error });
    } catch (err) {
      this.log.error({ method: ev.Method, err: (err as Error).message }, 'response wallet event error');
    }
  }
}

/** All gateway links of the wallet; the JSON-RPC API's AddSupportAccount / AddNewAddress go through here. */
export class GatewayHub {
  private readonly links: GatewayLink[];
  private accounts: string[];
  private readonly onAdded = (a: Address) => {
    this.addAddresses([a]).catch(() => {});
  };
  private readonly onRemoved = (a: Address) => {
    this.removeAddresses([a]).catch(() => {});
  };
  private readonly onUnlocked = () => {
    for (const l of this.links) if (!l.connected) l.retryNow();
  };

  constructor(private readonly opts: GatewayHubOptions) {
    this.accounts = [...opts.supportAccounts];
    this.links = opts.urls.map((u) => new GatewayLink(u, this, opts));
  }

  supportAccounts(): string[] {
    return [...this.accounts];
  }

  start(): void {
    if (this.links.length === 0) {
      baseLog.warn('no gateway configured ([APIRegisterHub] RegisterAPI is empty): signing only through this API');
      return;
    }
    baseLog.info({ urls: this.opts.urls, 'support accounts': this.accounts }, 'api hub');
    this.opts.wallet.on('address-added', this.onAdded);
    this.opts.wallet.on('address-removed', this.onRemoved);
    this.opts.wallet.on('unlocked', this.onUnlocked);
    for (const l of this.links) l.start();
  }

  async stop(): Promise<void> {
    this.opts.wallet.off('address-added', this.onAdded);
    this.opts.wallet.off('address-removed', this.onRemoved);
    this.opts.wallet.off('unlocked', this.onUnlocked);
    await Promise.all(this.links.map((l) => l.stop()));
  }

  /** Per gateway: where, and the channel id while registered. */
  status(): { addr: string; channelId: string | undefined }[] {
    return this.links.map((l) => ({ addr: l.addr, channelId: l.channelId }));
  }

  /** Adds an account on every registered gateway (SupportNewAccount) and for future registrations. */
  async addSupportAccount(account: string): Promise<void> {
    if (!this.accounts.includes(account)) this.accounts.push(account);
    await this.eachRegistered('SupportNewAccount', (c, ch) => c.SupportNewAccount(ch, account));
  }

  /** Announces addresses to every registered gateway (which re-verifies them with verifyaddress). */
  async addAddresses(addrs: Address[]): Promise<void> {
    const list = addrs.map((a) => this.opts.wallet.format(a));
    await this.eachRegistered('AddNewAddress', (c, ch) => c.AddNewAddress(ch, list));
  }

  async removeAddresses(addrs: Address[]): Promise<void> {
    const list = addrs.map((a) => this.opts.wallet.format(a));
    await this.eachRegistered('RemoveAddress', (c, ch) => c.RemoveAddress(ch, list));
  }

  private async eachRegistered(
    what: string,
    fn: (client: NonNullable<ReturnType<GatewayLink['registered']>>['client'], channelId: string) => Promise<unknown>,
  ): Promise<void> {
    const errors: string[] = [];
    await Promise.all(
      this.links.map(async (l) => {
        const r = l.registered();
        if (!r) return;
        try {
          await fn(r.client, r.channelId);
        } catch (err) {
          const msg = (err as Error).message;
          l.log.error({ err: msg }, `${what} failed`);
          errors.push(`${l.addr}: ${msg}`);
        }
      }),
    );
    if (errors.length) throw new Error(`${what}: ${errors.join('; ')}`);
  }
}
