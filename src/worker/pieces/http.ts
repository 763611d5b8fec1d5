/**
 * GET of a piece over HTTP, as damocles' piece fetcher does it (docs/deals-worker.md, "Fetching"): the first
 * request goes to the manager's piece store with the worker's own credentials; a redirect (the manager sends
 * one to the market's /resource when it has no local copy) is followed with the piece token and the market's
 * API namespace header instead, so the manager's token never travels to another server. Every response is a
 * stream the caller reads and bounds; nothing is buffered here.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The market's API namespace header (venus-shared request_header.go). */
export const MARKET_NAMESPACE_HEADER = 'X-VENUS-API-NAMESPACE';
export const MARKET_NAMESPACE = 'v1.IMarket';

/** A failure to reach the server or read its answer: worth retrying. */
export class PieceNetworkError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PieceNetworkError';
  }
}

/** An HTTP status that is not a success (the caller decides what it means). */
export class PieceStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    message: string,
  ) {
    super(message);
    this.name = 'PieceStatusError';
  }
}

export interface OpenOptions {
  /** Headers of the first request (to the manager). */
  headers: Record<string, string>;
  /** Headers of requests after a redirect (to the market). */
  redirectHeaders: Record<string, string>;
  signal?: AbortSignal;
  /** Redirects followed at most (default 5). */
  maxRedirects?: number;
  /** A connection silent this long is dropped (default 60 s). */
  idleTimeoutMs?: number;
}

export interface OpenedPiece {
  body: IncomingMessage;
  /** Content-Length, when the server sent one. */
  length: number | null;
  /** Where the bytes finally came from (no query string: it may carry a token). */
  from: string;
}

/** A URL for messages: scheme, host and path only (a query string may carry a token). */
export function safeUrl(u: string | URL): string {
  try {
    const x = new URL(String(u));
    return `${x.protocol}//${x.host}${x.pathname}`;
  } catch {
    return '(bad URL)';
  }
}

function get(url: URL, headers: Record<string, string>, o: OpenOptions): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
      method: 'GET',
      headers,
      signal: o.signal,
    });
    req.setTimeout(o.idleTimeoutMs ?? 60_000, () => {
      req.destroy(new PieceNetworkError(`GET ${safeUrl(url)}: no answer for ${(o.idleTimeoutMs ?? 60_000) / 1000} s`));
    });
    req.on('response', resolve);
    req.on('error', (err) => {
      if (o.signal?.aborted) return reject(o.signal.reason);
      reject(err instanceof PieceNetworkError ? err : new PieceNetworkError(`GET ${safeUrl(url)}: ${err.message}`));
    });
    req.end();
  });
}

/** Opens a piece URL, following redirects; a non-2xx final answer is a PieceStatusError. */
export async function openPieceUrl(url: string, o: OpenOptions): Promise<OpenedPiece> {
  let u = new URL(url);
  let headers = o.headers;
  const max = o.maxRedirects ?? 5;
  for (let hop = 0; ; hop++) {
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new PieceStatusError(0, safeUrl(u), `piece URL ${safeUrl(u)}: only http and https are fetched`);
    }
    const res = await get(u, headers, o);
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && status !== 304) {
      res.resume(); // the redirect's own body is not wanted
      const loc = res.headers.location;
      if (!loc) throw new PieceStatusError(status, safeUrl(u), `GET ${safeUrl(u)}: HTTP ${status} without a Location`);
      if (hop >= max) throw new PieceStatusError(status, safeUrl(u), `GET ${safeUrl(url)}: more than ${max} redirects`);
      u = new URL(loc, u);
      headers = o.redirectHeaders;
      continue;
    }
    if (status < 200 || status >= 300) {
      // a short reason from the body, for the message (bounded, never the whole answer)
      let text = '';
      try {
        for await (const c of res) {
          text += Buffer.from(c as Uint8Array).toString('utf8');
          if (text.length > 300) break;
        }
      } catch {
        // the status says enough
      }
      res.destroy();
      const why = text.trim().replace(/\s+/g, ' ').slice(0, 200);
      throw new PieceStatusError(status, safeUrl(u), `GET ${safeUrl(u)}: HTTP ${status}${why ? `: ${why}` : ''}`);
    }
    const cl = res.headers['content-length'];
    const length = cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : null;
    return { body: res, length, from: safeUrl(u) };
  }
}
