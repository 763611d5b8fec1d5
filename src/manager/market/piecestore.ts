/**
 * The piece store endpoint workers fetch deal data from (damocles' pkg/piecestore/proxy.go,
 * docs/deals-manager.md §Piece store): `GET /piecestore/<pieceCid>` (and HEAD) on the manager's API port.
 *
 * - A token is required (any permission: read or above), sent as `Authorization: Bearer …`; never in the URL.
 * - The piece is looked up in [[DealManagerConfig.LocalPieceStores]] as `<dir>/<cid>` then `<dir>/<cid>.car` and
 *   streamed with its Content-Length;
 * - else 302 to the market's `<market>/resource?resource-id=<cid>` (the worker follows it with its piece token);
 * - else 404 naming what was looked at.
 * The name must parse as a CID (so no path separators, no `..`); the resolved file must lie in the store's
 * directory; at most MAX_STREAMS downloads run at once (503 beyond).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { logger } from '../../common/log.js';
import { CID } from '../../fil/index.js';
import { hasPerm, type RpcServer } from '../../rpc/index.js';
import type { ManagerConfig } from '../config.js';
import { marketEndpoint, pieceResourceUrl } from './client.js';

const log = logger('piecestore');

export const PIECESTORE_PATH = '/piecestore/';
/** Downloads served at once from the local stores. */
export const MAX_STREAMS = 32;
/** A CID string is well under this. */
const MAX_NAME = 128;

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

/** The piece CID a request names, or an error message. */
export function pieceNameOf(url: string | undefined): { cid: string } | { error: string } {
  const path = (url ?? '').split('?')[0]!;
  const raw = path.slice(PIECESTORE_PATH.length);
  if (raw === '' || raw.length > MAX_NAME * 3) return { error: 'expected /piecestore/<piece CID>' };
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    return { error: 'the piece name is not valid URL encoding' };
  }
  // a CID is base-encoded letters and digits only: this alone keeps "/", "\" and ".." out
  if (!/^[A-Za-z0-9]{1,128}$/.test(name)) return { error: `"${name.slice(0, 64)}" is not a piece CID` };
  let cid: CID;
  try {
    cid = CID.parse(name);
  } catch {
    return { error: `"${name.slice(0, 64)}" is not a piece CID` };
  }
  return { cid: cid.toString() };
}

/** `<dir>/<cid>` or `<dir>/<cid>.car` in the first store that has it as a regular file. */
async function findLocal(
  cfg: ManagerConfig,
  cid: string,
): Promise<{ path: string; size: number; store: string } | undefined> {
  for (const s of cfg.DealManagerConfig.LocalPieceStores) {
    const root = resolve(s.Path);
    for (const name of [cid, `${cid}.car`]) {
      const p = resolve(root, name);
      if (!p.startsWith(root + sep)) continue;
      try {
        const st = await stat(p);
        if (st.isFile()) return { path: p, size: st.size, store: s.Name || s.Path };
      } catch {
        // not in this store
      }
    }
  }
  return undefined;
}

export class PieceStoreProxy {
  private streams = 0;

  constructor(
    private readonly config: () => ManagerConfig,
    private readonly maxStreams = MAX_STREAMS,
  ) {}

  mount(server: Pick<RpcServer, 'route' | 'authenticate'>): void {
    const h = (req: IncomingMessage, res: ServerResponse) => this.handle(server, req, res);
    server.route('GET', `${PIECESTORE_PATH}*`, h);
    server.route('HEAD', `${PIECESTORE_PATH}*`, h);
  }

  async handle(server: Pick<RpcServer, 'authenticate'>, req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const caller = await server.authenticate(req);
      if (!hasPerm(caller.perms, 'read')) return text(res, 403, 'the token lacks the read permission\n');
    } catch (err) {
      return text(res, 401, `${(err as Error).message}\n`, { 'WWW-Authenticate': 'Bearer' });
    }
    const name = pieceNameOf(req.url);
    if ('error' in name) return text(res, 400, `${name.error}\n`);
    const cid = name.cid;
    const cfg = this.config();
    const local = await findLocal(cfg, cid);
    if (local) return this.serve(req, res, cid, local);
    const market = marketEndpoint(cfg);
    if (market) {
      res.writeHead(302, {
        Location: pieceResourceUrl(market.base, cid),
        'Cache-Control': 'no-store',
        'Content-Length': 0,
      });
      res.end();
      log.debug({ piece: cid }, 'piece redirected to the market');
      return;
    }
    const stores = cfg.DealManagerConfig.LocalPieceStores.length;
    log.warn({ piece: cid, stores }, 'piece not found');
    return text(
      res,
      404,
      `piece ${cid} is in none of the ${stores} local piece store(s) ([[DealManagerConfig.LocalPieceStores]]) ` +
        'and no market is configured ([DealManagerConfig.MarketAPI] Api)\n',
    );
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    cid: string,
    f: { path: string; size: number; store: string },
  ): Promise<void> {
    const headers = {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(f.size),
      'Cache-Control': 'no-store',
    };
    if ((req.method ?? 'GET').toUpperCase() === 'HEAD') {
      res.writeHead(200, headers);
      res.end();
      return;
    }
    if (this.streams >= this.maxStreams)
      return text(res, 503, `too many piece downloads at once (${this.maxStreams}); try again\n`, {
        'Retry-After': '5',
      });
    this.streams++;
    try {
      res.writeHead(200, headers);
      await pipeline(createReadStream(f.path), res);
      log.debug({ piece: cid, store: f.store, bytes: f.size }, 'piece served');
    } catch (err) {
      log.warn({ piece: cid, store: f.store, err: (err as Error).message }, 'piece download interrupted');
      res.destroy();
    } finally {
      this.streams--;
    }
  }
}
