/**
 * Where unsealed bytes go (docs/deals-unseal.md §Destinations), as damocles' worker understands them:
 *   file:///abs/path          a file on the worker's machine
 *   http(s)://host/path       a PUT of the bytes
 *   market://STORE/PIECE_CID  the market's piece store: PUT <market>/resource?resource-id=PIECE_CID&store=STORE
 * A market:// destination is handed to the worker with the market's host, scheme and token in its query (the worker
 * does not know the market); the stored task keeps it without them, so no token sits in the database or a log.
 */
import { RpcError } from '../../rpc/index.js';

export const MAX_DEST_LENGTH = 2048;
export const MAX_DESTS = 16;

/** Checks one destination; returns it normalised (URL serialisation), or throws naming what is wrong. */
export function checkDest(dest: unknown): string {
  if (typeof dest !== 'string' || dest.length === 0)
    throw new RpcError(1, 'unseal destination must be a non-empty URL');
  if (dest.length > MAX_DEST_LENGTH)
    throw new RpcError(1, `unseal destination is ${dest.length} characters long (at most ${MAX_DEST_LENGTH})`);
  let u: URL;
  try {
    u = new URL(dest);
  } catch {
    throw new RpcError(
      1,
      `unseal destination ${JSON.stringify(redactDest(dest))} is not a URL (file:///…, http(s)://…, market://…)`,
    );
  }
  // credentials in a URL would land in the database and the logs
  if (u.username || u.password)
    throw new RpcError(1, `unseal destination ${redactDest(dest)}: user and password in the URL are not accepted`);
  switch (u.protocol) {
    case 'file:':
      if (u.host && u.host !== 'localhost')
        throw new RpcError(
          1,
          `unseal destination ${redactDest(dest)}: a file:// URL names a local path (file:///abs/path)`,
        );
      if (u.pathname === '/' || u.pathname.endsWith('/'))
        throw new RpcError(1, `unseal destination ${redactDest(dest)}: a file:// URL must name a file, not a folder`);
      if (u.search || u.hash)
        throw new RpcError(1, `unseal destination ${redactDest(dest)}: a file:// URL takes no query`);
      break;
    case 'http:':
    case 'https:':
      if (!u.hostname) throw new RpcError(1, `unseal destination ${redactDest(dest)}: no host`);
      break;
    case 'market:':
      if (!u.hostname)
        throw new RpcError(1, `unseal destination ${redactDest(dest)}: market://STORE/PIECE_CID needs the store name`);
      if (u.search)
        throw new RpcError(1, `unseal destination ${redactDest(dest)}: the manager adds the market's address itself`);
      break;
    default:
      throw new RpcError(
        1,
        `unseal destination ${redactDest(dest)}: unsupported scheme "${u.protocol.replace(/:$/, '')}" (file, http, https, market)`,
      );
  }
  return u.toString();
}

/** A destination for logs and pages: no query string (it may hold a token), at most 200 characters. */
export function redactDest(dest: string): string {
  const q = dest.search(/[?#]/);
  const s = q >= 0 ? `${dest.slice(0, q)}?…` : dest;
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

/** The market's piece store as the worker reaches it. */
export interface MarketTarget {
  /** http(s)://host:port of the market */
  url: string;
  token: string;
}

/**
 * The destinations as the worker gets them: market:// ones with host, scheme and token added (damocles' query
 * names), or refused when no market is configured.
 */
export function destsForWorker(dests: string[], market: MarketTarget | undefined): string[] {
  return dests.map((d) => {
    if (!d.startsWith('market:')) return d;
    if (!market)
      throw new RpcError(1, `unseal destination ${redactDest(d)} needs the market's address, and none is configured`);
    const m = new URL(market.url);
    const u = new URL(d);
    u.searchParams.set('host', m.host);
    u.searchParams.set('scheme', m.protocol.replace(/:$/, '').replace(/^ws/, 'http'));
    u.searchParams.set('token', market.token);
    return u.toString();
  });
}
