/**
 * Where an unsealed piece goes (docs/deals-worker.md, "Unseal"), one destination URL at a time, as damocles'
 * unseal planner reads them:
 *   market://<store>/<pieceCid>?host=…&scheme=…&token=…  PUT <scheme>://<host>/resource?resource-id=<cid>&size=<n>
 *                                                        (&store=<store>), Bearer <token> (else the piece token);
 *                                                        the manager adds host, scheme and token (AcquireUnsealDest)
 *   file:///path                                         written atomically (a temporary file, fsync, rename)
 *   http(s)://…                                          PUT, Bearer <piece_token> when one is configured
 * Failure levels: a server that cannot be reached or answers 5xx is temporary; a destination this worker cannot
 * use (bad URL, unknown scheme, refused with 4xx) is permanent. Tokens never appear in messages.
 */
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fsyncPath } from '../fsync.js';
import { perm, temp } from '../sealing/failure.js';
import { safeUrl } from './http.js';

export interface UploadOptions {
  /** The piece CID (baga…) being uploaded. */
  cid: string;
  pieceToken: string | null;
  signal?: AbortSignal;
  /** A connection silent this long is dropped (default 60 s). */
  idleTimeoutMs?: number;
}

/** A destination as it may be logged: scheme, host and path (the query may carry a token). */
export function safeDest(dest: string): string {
  try {
    const u = new URL(dest);
    if (u.protocol === 'file:') return dest.split('?')[0]!;
    return safeUrl(u);
  } catch {
    return '(not a URL)';
  }
}

function put(url: URL, file: string, size: number, headers: Record<string, string>, o: UploadOptions): Promise<void> {
  const where = `PUT ${safeUrl(url)}`;
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'PUT',
      headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      signal: o.signal,
    });
    const ms = o.idleTimeoutMs ?? 60_000;
    req.setTimeout(ms, () => req.destroy(new Error(`no progress for ${ms / 1000} s`)));
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      let text = '';
      res.on('data', (c: Buffer) => {
        if (text.length < 300) text += c.toString('utf8');
      });
      res.on('error', () => {});
      res.on('end', () => {
        const why = text.trim().replace(/\s+/g, ' ').slice(0, 200);
        const msg = `${where}: HTTP ${status}${why ? `: ${why}` : ''}`;
        if (status >= 200 && status < 300) resolve();
        else if (status >= 500 || status === 408 || status === 429) reject(temp(msg));
        else reject(perm(status === 401 || status === 403 ? `${msg} (check the token)` : msg));
      });
    });
    req.on('error', (err) => {
      if (o.signal?.aborted) return reject(o.signal.reason);
      reject(temp(`${where}: ${err.message}`, err));
    });
    const body = createReadStream(file);
    body.on('error', (err) => req.destroy(err));
    body.pipe(req);
  });
}

/** The market's /resource URL and token for a market:// destination (damocles' mapping). */
export function marketTarget(dest: URL, cid: string, size: number): { url: URL; token: string | null } {
  const q = dest.searchParams;
  const host = q.get('host');
  const scheme = q.get('scheme');
  if (!host || !scheme) {
    throw perm(
      `${safeDest(dest.href)}: a market:// destination needs the market's host and scheme, which the manager ` +
        'adds (Venus.AcquireUnsealDest); is the market endpoint configured in the manager?',
    );
  }
  if (scheme !== 'http' && scheme !== 'https')
    throw perm(`${safeDest(dest.href)}: market scheme "${scheme}" is not http(s)`);
  const pathCid = decodeURIComponent(dest.pathname.replace(/^\/+|\/+$/g, ''));
  if (pathCid && pathCid !== cid) throw perm(`${safeDest(dest.href)} names piece ${pathCid}, not the unsealed ${cid}`);
  let url: URL;
  try {
    url = new URL(`${scheme}://${host}/resource`);
  } catch {
    throw perm(`${safeDest(dest.href)}: bad market host`);
  }
  url.searchParams.set('resource-id', cid);
  url.searchParams.set('size', String(size));
  if (dest.hostname) url.searchParams.set('store', decodeURIComponent(dest.hostname));
  return { url, token: q.get('token') || null };
}

/** Uploads `file` (the unsealed piece) to one destination; resolves to the destination as it may be logged. */
export async function uploadPiece(dest: string, file: string, o: UploadOptions): Promise<string> {
  let u: URL;
  try {
    u = new URL(dest);
  } catch {
    throw perm(`unseal destination ${JSON.stringify(safeDest(dest))} is not a URL`);
  }
  const { size } = await stat(file);
  switch (u.protocol) {
    case 'market:': {
      const { url, token } = marketTarget(u, o.cid, size);
      const bearer = token ?? o.pieceToken;
      await put(url, file, size, bearer ? { Authorization: `Bearer ${bearer}` } : {}, o);
      return `${safeUrl(url)} (market)`;
    }
    case 'http:':
    case 'https:':
      await put(u, file, size, o.pieceToken ? { Authorization: `Bearer ${o.pieceToken}` } : {}, o);
      return safeUrl(u);
    case 'file:': {
      let path: string;
      try {
        path = fileURLToPath(u);
      } catch (err) {
        throw perm(`unseal destination ${safeDest(dest)}: ${(err as Error).message}`);
      }
      const tmp = `${path}.tmp-${process.pid}`;
      try {
        await mkdir(dirname(path), { recursive: true });
        await copyFile(file, tmp);
        await fsyncPath(tmp);
        await rename(tmp, path);
        await fsyncPath(dirname(path));
      } catch (err) {
        await rm(tmp, { force: true });
        throw perm(`write the unsealed piece to ${path}: ${(err as Error).message}`, err);
      }
      return path;
    }
    default:
      throw perm(
        `unseal destination ${safeDest(dest)}: scheme ${u.protocol.replace(/:$/, '')} is not supported ` +
          '(market://, file://, http:// or https://)',
      );
  }
}
