/**
 * A minimal venus-gateway, wallet part only, speaking the protocol of src/api/gateway.ts (docs/spec/chain.md §Gateway
 * protocol) as sophon-gateway's `walletevent` does: for tests of the wallet's registration, and a reference for the
 * devnet's gateway. It keeps connections in memory, verifies every address with the verifyaddress challenge, and routes
 * Gateway.WalletSign / WalletHas to a connection registered for one of the caller's accounts.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  type ConnectState,
  type GatewayAPI,
  type RequestEvent,
  type ResponseEvent,
  verifyAddressSignBytes,
  type WalletDetail,
  type WalletRegisterPolicy,
} from '../api/gateway.js';
import { type MsgMeta, type Signature, WALLET_API_VERSION } from '../api/wallet.js';
import { checkSignature, fromBase64, parseAddress, signatureFromJSON, toBase64 } from '../fil/index.js';
import { type ApiImpl, type CallContext, PushChannel, rpcError } from '../rpc/index.js';

interface WalletConn {
  channelId: string;
  account: string;
  supportAccounts: Set<string>;
  /** address key (network-independent) → address string as the wallet sent it */
  addrs: Map<string, string>;
  signBytes: Uint8Array;
  out: PushChannel<RequestEvent>;
  ip: string;
  requests: number;
  createdAt: Date;
  registered: boolean;
}

export interface MiniGatewayOptions {
  /** Send a wrong verifyaddress challenge (to check that the wallet refuses to sign it). */
  tamperChallenge?: boolean;
  /** How long to wait for a wallet's answer (default 10 s). */
  requestTimeoutMs?: number;
}

/** Events: 'registered' (channelId, account), 'refused' (error message), 'closed' (channelId). */
export class MiniGateway extends EventEmitter implements ApiImpl<typeof GatewayAPI> {
  /** The gateway's random bytes, sent as Meta.Extra of every challenge. */
  readonly random = new Uint8Array(randomBytes(32));
  private readonly conns = new Map<string, WalletConn>();
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  constructor(private readonly opts: MiniGatewayOptions = {}) {
    super();
  }

  /** Registered connections. */
  connections(): { channelId: string; account: string; addrs: string[]; supportAccounts: string[] }[] {
    return [...this.conns.values()]
      .filter((c) => c.registered)
      .map((c) => ({
        channelId: c.channelId,
        account: c.account,
        addrs: [...c.addrs.values()],
        supportAccounts: [...c.supportAccounts],
      }));
  }

  private request(conn: WalletConn, method: string, payload: unknown): Promise<unknown> {
    const id = randomUUID();
    conn.requests++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`wallet did not answer ${method} in time`));
      }, this.opts.requestTimeoutMs ?? 10_000);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const ok = conn.out.push({
        Id: id,
        Method: method,
        Payload: payload === null ? null : toBase64(new TextEncoder().encode(JSON.stringify(payload))),
      });
      if (!ok) {
        this.pending.delete(id);
        clearTimeout(timer);
        reject(new Error('wallet connection closed'));
      }
    });
  }

  private async verify(conn: WalletConn, addr: string): Promise<void> {
    let toSign = verifyAddressSignBytes(this.random, conn.signBytes);
    if (this.opts.tamperChallenge) toSign = toSign.map((b) => b ^ 1);
    let sig: Signature;
    try {
      sig = (await this.request(conn, 'WalletSign', {
        Signer: addr,
        ToSign: toBase64(toSign),
        Meta: { Type: 'verifyaddress', Extra: toBase64(this.random) },
      })) as Signature;
    } catch (err) {
      throw new Error(`wallet ${conn.account} verify address ${addr} failed, signed error ${(err as Error).message}`);
    }
    checkSignature(signatureFromJSON(sig), parseAddress(addr), toSign);
  }

  private drop(conn: WalletConn): void {
    if (this.conns.get(conn.channelId) !== conn) return;
    this.conns.delete(conn.channelId);
    conn.out.end();
    this.emit('closed', conn.channelId);
  }

  private accountOf(ctx: CallContext, method: string): string {
    const name = ctx.token?.name;
    if (!name) throw rpcError(`unable to get account name in method ${method} request`);
    return name;
  }

  ListenWalletEvent(policy: WalletRegisterPolicy, ctx: CallContext): PushChannel<RequestEvent> {
    const account = this.accountOf(ctx, 'ListenWalletEvent');
    const out = new PushChannel<RequestEvent>();
    const conn: WalletConn = {
      channelId: randomUUID(),
      account,
      supportAccounts: new Set([account, ...(policy?.SupportAccounts ?? [])]),
      addrs: new Map(),
      signBytes: fromBase64(policy?.SignBytes ?? '', 'SignBytes'),
      out,
      ip: ctx.remoteAddress,
      requests: 0,
      createdAt: new Date(),
      registered: false,
    };
    this.conns.set(conn.channelId, conn);
    out.onReturn(() => this.drop(conn));
    ctx.connection?.onClose(() => this.drop(conn));
    void (async () => {
      try {
        const addrs = (await this.request(conn, 'WalletList', null)) as string[] | null;
        for (const a of addrs ?? []) {
          await this.verify(conn, a);
          conn.addrs.set(parseAddress(a).key(), a);
        }
        conn.registered = true;
        out.push({
          Id: randomUUID(),
          Method: 'InitConnect',
          Payload: toBase64(new TextEncoder().encode(JSON.stringify({ ChannelId: conn.channelId }))),
        });
        this.emit('registered', conn.channelId, account);
      } catch (err) {
        this.emit('refused', (err as Error).message);
        this.drop(conn);
      }
    })();
    return out;
  }

  ResponseWalletEvent(resp: ResponseEvent): null {
    const p = this.pending.get(resp?.Id);
    if (!p) throw rpcError(`no request ${resp?.Id} waiting for a response`);
    this.pending.delete(resp.Id);
    if (resp.Error) p.reject(new Error(resp.Error));
    else p.resolve(resp.Payload ? JSON.parse(new TextDecoder().decode(fromBase64(resp.Payload))) : null);
    return null;
  }

  private connOf(channelId: string, ctx: CallContext, method: string): WalletConn {
    const account = this.accountOf(ctx, method);
    const conn = this.conns.get(channelId);
    if (!conn || conn.account !== account) {
      throw rpcError(`no connect found for wallet ${account} and channelID ${channelId}`);
    }
    return conn;
  }

  SupportNewAccount(channelId: string, account: string, ctx: CallContext): null {
    this.connOf(channelId, ctx, 'SupportNewAccount').supportAccounts.add(account);
    return null;
  }

  async AddNewAddress(channelId: string, addresses: string[], ctx: CallContext): Promise<null> {
    const conn = this.connOf(channelId, ctx, 'AddNewAddress');
    for (const a of addresses) await this.verify(conn, a);
    for (const a of addresses) conn.addrs.set(parseAddress(a).key(), a);
    return null;
  }

  RemoveAddress(channelId: string, addresses: string[], ctx: CallContext): null {
    const conn = this.connOf(channelId, ctx, 'RemoveAddress');
    for (const a of addresses) conn.addrs.delete(parseAddress(a).key());
    return null;
  }

  private channelsFor(addr: string, accounts: string[]): WalletConn[] {
    const key = parseAddress(addr).key();
    return [...this.conns.values()].filter(
      (c) => c.registered && c.addrs.has(key) && (accounts ?? []).some((a) => c.supportAccounts.has(a)),
    );
  }

  WalletHas(address: string, accounts: string[]): boolean {
    return this.channelsFor(address, accounts).length > 0;
  }

  async WalletSign(address: string, accounts: string[], toSign: string, meta: MsgMeta): Promise<Signature> {
    const [conn] = this.channelsFor(address, accounts);
    if (!conn) throw rpcError(`no wallet connection holds ${address} for accounts ${JSON.stringify(accounts)}`);
    return (await this.request(conn, 'WalletSign', { Signer: address, ToSign: toSign, Meta: meta })) as Signature;
  }

  private detail(account: string): WalletDetail {
    const conns = [...this.conns.values()].filter((c) => c.registered && c.account === account);
    const support = new Set<string>();
    for (const c of conns) for (const s of c.supportAccounts) support.add(s);
    return {
      Account: account,
      SupportAccounts: [...support],
      ConnectStates: conns.map(
        (c): ConnectState => ({
          Addrs: [...c.addrs.values()],
          ChannelId: c.channelId,
          Ip: c.ip,
          RequestCount: c.requests,
          CreateTime: c.createdAt.toISOString(),
        }),
      ),
    };
  }

  ListWalletInfo(): WalletDetail[] {
    const accounts = new Set([...this.conns.values()].filter((c) => c.registered).map((c) => c.account));
    return [...accounts].map((a) => this.detail(a));
  }

  ListWalletInfoByWallet(wallet: string): WalletDetail {
    return this.detail(wallet);
  }

  Version(): { Version: string; APIVersion: number } {
    return { Version: 'mini-gateway', APIVersion: WALLET_API_VERSION };
  }
}
