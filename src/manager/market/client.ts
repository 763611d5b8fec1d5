/**
 * The sector-manager's client of the market (droplet / venus-market, or the devnet playing it):
 * `VENUS_MARKET.*` at `<market>/rpc/v1` with the namespace header `X-VENUS-API-NAMESPACE: v1.IMarket` and the
 * Bearer token of [DealManagerConfig.MarketAPI] (docs/deals-manager.md §Market client). Calls go over HTTP by
 * default; `transport: 'ws'` opens a WebSocket for ListenMarketEvent. `pieceResourceUrl` is where the market serves
 * a piece's bytes (`/resource?resource-id=<cid>`), the target of the piece store proxy's redirect.
 */
import { MARKET_API_NAMESPACE, MARKET_API_NAMESPACE_HEADER, MarketApi } from '../../api/market.js';
import { UserError } from '../../common/cli.js';
import { logger } from '../../common/log.js';
import { initMetrics } from '../../common/metrics.js';
import { type ApiClient, createClient, ErrorCode, parseApiInfo } from '../../rpc/index.js';
import { type ManagerConfig, redactApiInfo } from '../config.js';

const log = logger('market');

/** The market calls the manager makes. */
export type MarketAPI = ApiClient<typeof MarketApi>;

/** A connected market client. */
export type MarketClient = MarketAPI & { close(): Promise<void> };

/** Where the market is: its RPC URL, the HTTP origin for /resource, and the token (never logged). */
export interface MarketEndpoint {
  /** `http(s)://host:port/rpc/v1` (or ws(s):// with `transport: 'ws'`) */
  url: string;
  /** `http(s)://host:port`: the origin of `/resource` */
  base: string;
  token?: string;
}

/** How long one market call may take: AssignDeals runs a DB transaction in droplet, seconds at most. */
export const MARKET_CALL_TIMEOUT_MS = 30_000;

/**
 * The endpoint from [DealManagerConfig.MarketAPI] (a multiaddr, URL or TOKEN:multiaddr; Token wins over an
 * embedded one), or undefined when no market is configured.
 */
export function marketEndpoint(cfg: ManagerConfig, transport: 'http' | 'ws' = 'http'): MarketEndpoint | undefined {
  const api = cfg.DealManagerConfig.MarketAPI.Api.trim();
  if (api === '') return undefined;
  const info = parseApiInfo(api, { version: 'v1', defaultScheme: 'http' });
  const u = new URL(info.url);
  const secure = u.protocol === 'https:' || u.protocol === 'wss:';
  const httpScheme = secure ? 'https:' : 'http:';
  const wsScheme = secure ? 'wss:' : 'ws:';
  const base = `${httpScheme}//${u.host}`;
  u.protocol = transport === 'ws' ? wsScheme : httpScheme;
  const token = cfg.DealManagerConfig.MarketAPI.Token || info.token;
  return { url: u.toString(), base, ...(token ? { token } : {}) };
}

/** `<market>/resource?resource-id=<cid>`: where droplet serves (or redirects to) a piece's payload. */
export function pieceResourceUrl(base: string, pieceCid: string): string {
  return `${base.replace(/\/+$/, '')}/resource?resource-id=${encodeURIComponent(pieceCid)}`;
}

/** A client of the configured market, or undefined when [DealManagerConfig.MarketAPI] Api is not set. */
export function connectMarket(
  cfg: ManagerConfig,
  opts: { transport?: 'http' | 'ws'; onConnect?: () => void; onDisconnect?: (reason: Error) => void } = {},
): (MarketClient & { endpoint: MarketEndpoint }) | undefined {
  const ep = marketEndpoint(cfg, opts.transport ?? 'http');
  if (!ep) return undefined;
  const client = createClient(MarketApi, {
    url: ep.url,
    ...(ep.token ? { token: ep.token } : {}),
    headers: { [MARKET_API_NAMESPACE_HEADER]: MARKET_API_NAMESPACE },
    timeoutMs: MARKET_CALL_TIMEOUT_MS,
    hooks: initMetrics('venus-sector-manager').rpcClientHooks(),
    ...(opts.onConnect ? { onConnect: opts.onConnect } : {}),
    ...(opts.onDisconnect ? { onDisconnect: opts.onDisconnect } : {}),
  });
  return { ...client, endpoint: ep };
}

/**
 * Whether an error means "the service could not be reached" (retry later) rather than "it said no": connection
 * lost or refused, timeout, server limits, an HTTP 5xx. (Used for the market and, the same way, the chain node.)
 */
export function isMarketUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === ErrorCode.Connection || code === ErrorCode.Timeout || code === ErrorCode.LimitExceeded) return true;
  // an HTTP 5xx or a proxy in front of droplet that is up while droplet is not
  return typeof code === 'number' && code >= 500 && code < 600;
}

/** Why the market probe failed, naming the key to fix (the token itself is never shown). */
export function explainMarketFailure(api: string, err: unknown): string {
  const e = err as { code?: unknown; message?: string };
  const msg = String(e?.message ?? err).trim();
  const file = 'sector-manager.cfg';
  let why: string;
  if (e?.code === ErrorCode.Unauthorized)
    why = `token refused ([DealManagerConfig.MarketAPI] Token in ${file}): ${msg}`;
  else if (e?.code === ErrorCode.MissingPermission || (e?.code === ErrorCode.App && /permission|perm\b/i.test(msg)))
    why = `the token lacks the write permission AssignDeals needs ([DealManagerConfig.MarketAPI] Token in ${file}): ${msg}`;
  else if (e?.code === ErrorCode.Connection || e?.code === ErrorCode.Timeout)
    why = `${msg} ([DealManagerConfig.MarketAPI] Api in ${file})`;
  else if (e?.code === ErrorCode.MethodNotFound)
    why = `it does not serve VENUS_MARKET v1 (is [DealManagerConfig.MarketAPI] Api a droplet?): ${msg}`;
  else why = `${msg} (check [DealManagerConfig.MarketAPI] Api and Token in ${file})`;
  return `cannot use the market at ${redactApiInfo(api)}: ${why}`;
}

/**
 * `daemon run`'s market probe, when a miner has EnableDeals: `ReleaseDeals(miner, [])` — authenticated, needs the
 * write permission AssignDeals needs too, and releases nothing. Throws a UserError naming the key to fix.
 */
export async function probeMarket(
  cfg: ManagerConfig,
  market: Pick<MarketAPI, 'ReleaseDeals'>,
  miner: string,
  timeoutMs = 15_000,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`ReleaseDeals: no answer within ${timeoutMs / 1000}s`) as Error & { code: number };
      err.code = ErrorCode.Timeout;
      reject(err);
    }, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([market.ReleaseDeals(miner, []), late]);
  } catch (err) {
    throw new UserError(explainMarketFailure(cfg.DealManagerConfig.MarketAPI.Api, err));
  } finally {
    clearTimeout(timer);
  }
  log.info({ market: redactApiInfo(cfg.DealManagerConfig.MarketAPI.Api), miner }, 'market reachable');
}

/**
 * The market client of the current config: connected on first use, and again when a config reload changes
 * [DealManagerConfig.MarketAPI] (the old client is closed). `get()` is undefined while no market is configured.
 */
export class MarketConnection {
  private current: { key: string; client: MarketClient & { endpoint: MarketEndpoint } } | undefined;
  private readonly fixed: MarketAPI | undefined;

  /** `fixed`: a client to use whatever the config says (tests, the daemon's test hook). */
  constructor(
    private readonly config: () => ManagerConfig,
    opts: { fixed?: MarketAPI; transport?: 'http' | 'ws' } = {},
  ) {
    this.fixed = opts.fixed;
    this.transport = opts.transport ?? 'http';
  }
  private readonly transport: 'http' | 'ws';

  get(): MarketAPI | undefined {
    if (this.fixed) return this.fixed;
    const m = this.config().DealManagerConfig.MarketAPI;
    const key = `${m.Api}\u0000${m.Token}`;
    if (this.current?.key === key) return this.current.client;
    const old = this.current?.client;
    this.current = undefined;
    if (old) void old.close().catch(() => undefined);
    const client = connectMarket(this.config(), { transport: this.transport });
    if (client) {
      this.current = { key, client };
      log.info({ market: client.endpoint.base }, 'market client ready');
    }
    return client;
  }

  /** The market's HTTP origin (for `/resource`), or undefined without a market. */
  base(): string | undefined {
    return marketEndpoint(this.config())?.base;
  }

  async close(): Promise<void> {
    const c = this.current?.client;
    this.current = undefined;
    if (c) await c.close();
  }
}
