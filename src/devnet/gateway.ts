/**
 * The venus-gateway wallet side (src/api/gateway.ts; docs/spec/chain.md §Gateway protocol): wallets register over a
 * WebSocket channel, prove each address with the verifyaddress challenge, and then receive the sign requests that
 * clients (the devnet's messager, or any `Gateway.WalletSign` caller) route to them by account.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  type ConnectState,
  type GatewayAPI,
  type RequestEvent,
  type ResponseEvent,
  verifyAddressSignBytes,
  type WalletDetail,
  type WalletRegisterPolicy,
} from '../api/gateway.js';
import type { MsgMeta, Signature as SignatureJson } from '../api/wallet.js';
import { logger } from '../common/log.js';
import {
  fromBase64,
  parseAddress,
  type Signature,
  signatureFromJSON,
  toBase64,
  verifySignature,
} from '../fil/index.js';
import { type ApiImpl, type CallContext, PushChannel, rpcError } from '../rpc/index.js';

const log = logger('devnet.gateway');

/** How long a wallet has to answer one event. */
const EVENT_TIMEOUT_MS = 30_000;

interface Pending {
  resolve: (payload: Uint8Array | null) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

interface WalletConn {
  channelId: string;
  account: string;
  supportAccounts: Set<string>;
  addresses: Set<string>;
  signBytes: Uint8Array;
  channel: PushChannel<RequestEvent>;
  pending: Map<string, Pending>;
  ip: string;
  requests: number;
  created: Date;
  ready: boolean;
}

export class Gateway {
  private readonly conns = new Map<string, WalletConn>();

  /** Sends an event to a wallet and waits for its ResponseWalletEvent. */
  private request(c: WalletConn, method: string, payload: unknown): Promise<Uint8Array | null> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.pending.delete(id);
        reject(new Error(`wallet ${c.account} did not answer ${method} within ${EVENT_TIMEOUT_MS / 1000}s`));
      }, EVENT_TIMEOUT_MS);
      c.pending.set(id, { resolve, reject, timer });
      c.requests++;
      const ev: RequestEvent = {
        Id: id,
        Method: method,
        Payload: payload === null ? null : toBase64(new TextEncoder().encode(JSON.stringify(payload))),
      };
      if (!c.channel.push(ev)) {
        clearTimeout(timer);
        c.pending.delete(id);
        reject(new Error(`wallet ${c.account} is gone`));
      }
    });
  }

  /** The verifyaddress challenge: the wallet signs sha256(random ‖ its SignBytes) with the address's key. */
  private async verifyAddress(c: WalletConn, address: string): Promise<void> {
    const rand = new Uint8Array(randomBytes(32));
    const toSign = verifyAddressSignBytes(rand, c.signBytes);
    const meta: MsgMeta = { Type: 'verifyaddress', Extra: toBase64(rand) };
    const payload = await this.request(c, 'WalletSign', { Signer: address, ToSign: toBase64(toSign), Meta: meta });
    if (!payload) throw new Error(`wallet returned no signature for ${address}`);
    const sig = signatureFromJSON(JSON.parse(new TextDecoder().decode(payload)));
    if (!verifySignature(sig, parseAddress(address), toSign)) {
      throw new Error(`wallet signature for ${address} does not verify`);
    }
  }

  private async register(c: WalletConn): Promise<void> {
    const listPayload = await this.request(c, 'WalletList', null);
    const addrs = listPayload ? ((JSON.parse(new TextDecoder().decode(listPayload)) as string[] | null) ?? []) : [];
    for (const a of addrs) {
      await this.verifyAddress(c, a);
      c.addresses.add(parseAddress(a).toString());
    }
    c.ready = true;
    c.channel.push({
      Id: randomUUID(),
      Method: 'InitConnect',
      Payload: toBase64(new TextEncoder().encode(JSON.stringify({ ChannelId: c.channelId }))),
    });
    log.info({ account: c.account, channel: c.channelId, addresses: [...c.addresses] }, 'wallet registered');
  }

  private drop(c: WalletConn, why: string): void {
    if (!this.conns.delete(c.channelId)) return;
    for (const p of c.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error(`wallet connection closed: ${why}`));
    }
    c.pending.clear();
    c.channel.end();
    log.info({ account: c.account, channel: c.channelId, why }, 'wallet unregistered');
  }

  listen(policy: WalletRegisterPolicy, ctx: CallContext): PushChannel<RequestEvent> {
    const account = ctx.token?.name ?? '';
    const c: WalletConn = {
      channelId: randomUUID(),
      account,
      supportAccounts: new Set(policy.SupportAccounts ?? []),
      addresses: new Set(),
      signBytes: fromBase64(policy.SignBytes ?? '', 'SignBytes'),
      channel: new PushChannel<RequestEvent>(),
      pending: new Map(),
      ip: ctx.remoteAddress,
      requests: 0,
      created: new Date(),
      ready: false,
    };
    this.conns.set(c.channelId, c);
    c.channel.onReturn(() => this.drop(c, 'channel closed'));
    ctx.connection?.onClose(() => this.drop(c, 'socket closed'));
    ctx.signal.addEventListener('abort', () => this.drop(c, 'call cancelled'), { once: true });
    // registration runs after the channel id has gone out to the wallet
    setImmediate(() => {
      this.register(c).catch((e: Error) => {
        log.warn({ account, err: e.message }, 'wallet registration failed');
        this.drop(c, e.message);
      });
    });
    return c.channel;
  }

  respond(resp: ResponseEvent): void {
    for (const c of this.conns.values()) {
      const p = c.pending.get(resp.Id);
      if (!p) continue;
      c.pending.delete(resp.Id);
      clearTimeout(p.timer);
      if (resp.Error) p.reject(new Error(resp.Error));
      else p.resolve(resp.Payload ? fromBase64(resp.Payload, 'Payload') : null);
      return;
    }
    throw rpcError(`no pending request ${resp.Id}`);
  }

  private conn(channelId: string): WalletConn {
    const c = this.conns.get(channelId);
    if (!c) throw rpcError(`channel ${channelId} not found`);
    return c;
  }

  /** Connections that serve `accounts` and hold `address`. With no match by account, any holder (one-tenant devnet). */
  private route(address: string, accounts: string[]): WalletConn | undefined {
    const a = parseAddress(address).toString();
    const holders = [...this.conns.values()].filter((c) => c.ready && c.addresses.has(a));
    const byAccount = holders.find(
      (c) => accounts.includes(c.account) || accounts.some((acct) => c.supportAccounts.has(acct)),
    );
    return byAccount ?? holders[0];
  }

  has(address: string, accounts: string[]): boolean {
    return this.route(address, accounts) !== undefined;
  }

  /** Routes a sign request to a registered wallet and returns its signature. */
  async sign(address: string, accounts: string[], toSign: Uint8Array, meta: MsgMeta): Promise<Signature> {
    const c = this.route(address, accounts);
    if (!c) throw rpcError(`no wallet registered for address ${address} (accounts ${JSON.stringify(accounts)})`);
    const payload = await this.request(c, 'WalletSign', { Signer: address, ToSign: toBase64(toSign), Meta: meta });
    if (!payload) throw rpcError(`wallet returned no signature for ${address}`);
    return signatureFromJSON(JSON.parse(new TextDecoder().decode(payload)));
  }

  details(): WalletDetail[] {
    const byAccount = new Map<string, WalletDetail>();
    for (const c of this.conns.values()) {
      const d = byAccount.get(c.account) ?? { Account: c.account, SupportAccounts: [], ConnectStates: [] };
      for (const s of c.supportAccounts) if (!d.SupportAccounts.includes(s)) d.SupportAccounts.push(s);
      const st: ConnectState = {
        Addrs: [...c.addresses],
        ChannelId: c.channelId,
        Ip: c.ip,
        RequestCount: c.requests,
        CreateTime: c.created.toISOString(),
      };
      d.ConnectStates.push(st);
      byAccount.set(c.account, d);
    }
    return [...byAccount.values()];
  }

  impl(): ApiImpl<typeof GatewayAPI> {
    return {
      ListenWalletEvent: (policy, ctx) => this.listen(policy, ctx),
      ResponseWalletEvent: (resp) => {
        this.respond(resp);
        return null;
      },
      SupportNewAccount: (channelId, account) => {
        this.conn(channelId).supportAccounts.add(account);
        return null;
      },
      AddNewAddress: async (channelId, addresses) => {
        const c = this.conn(channelId);
        for (const a of addresses ?? []) {
          try {
            await this.verifyAddress(c, a);
          } catch (e) {
            throw rpcError(`verify address ${a}: ${(e as Error).message}`);
          }
          c.addresses.add(parseAddress(a).toString());
        }
        return null;
      },
      RemoveAddress: (channelId, addresses) => {
        const c = this.conn(channelId);
        for (const a of addresses ?? []) c.addresses.delete(parseAddress(a).toString());
        return null;
      },
      ListWalletInfo: () => this.details(),
      ListWalletInfoByWallet: (wallet) => {
        const d = this.details().find((x) => x.Account === wallet);
        if (!d) throw rpcError(`wallet ${wallet} not found`);
        return d;
      },
      WalletHas: (address, accounts) => this.has(address, accounts ?? []),
      WalletSign: async (address, accounts, toSign, meta) => {
        const sig = await this.sign(address, accounts ?? [], fromBase64(toSign, 'toSign'), meta);
        return { Type: sig.type, Data: toBase64(sig.data) } satisfies SignatureJson;
      },
      Version: () => ({ Version: 'venus-devnet gateway', APIVersion: (2 << 16) | (0 << 8) }),
    };
  }
}
