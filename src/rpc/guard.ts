/**
 * Checks on an HTTP request before any token or body is read (docs/spec/rpc.md "Browsers"): a web page the
 * operator opens must not reach these APIs. A browser always sends `Host`, and `Origin` on cross-site POSTs and
 * WebSocket upgrades; command-line and daemon clients send no `Origin` and are not affected.
 *
 * - Host: DNS rebinding points an attacker's name at 127.0.0.1 or a LAN address; the browser then sends
 *   `Host: attacker.example`. Only IP literals, localhost, this machine's name and configured names pass.
 * - Origin: a page of another site posting here. Present ⇒ must be this server itself (same host:port as
 *   `Host`) or a configured origin.
 * - Content-Type: `text/plain` is a CORS "simple" request a page can send without asking; JSON-RPC POSTs
 *   must say `application/json`.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { quote } from './errors.js';

export interface GuardOptions {
  /** Host names accepted besides IP literals, localhost and this machine's name; '*' accepts any. */
  allowedHosts?: readonly string[];
  /** Origins ("https://ops.example:8443") accepted besides this server's own; '*' accepts any. */
  allowedOrigins?: readonly string[];
}

export class RequestGuard {
  private readonly hosts: Set<string>;
  private readonly anyHost: boolean;
  private readonly origins: Set<string>;
  private readonly anyOrigin: boolean;

  constructor(o: GuardOptions = {}) {
    const own = hostname().toLowerCase();
    this.hosts = new Set(['localhost', own, own.split('.')[0]!]);
    for (const h of o.allowedHosts ?? []) this.hosts.add(h.toLowerCase());
    this.anyHost = this.hosts.has('*');
    this.origins = new Set((o.allowedOrigins ?? []).map((s) => s.toLowerCase().replace(/\/+$/, '')));
    this.anyOrigin = this.origins.has('*');
  }

  /** Why the Host header is refused, or undefined when it is fine. */
  checkHost(req: IncomingMessage): string | undefined {
    const host = req.headers.host;
    if (host === undefined || this.anyHost) return undefined; // HTTP/1.0 clients; browsers always send one
    const name = hostName(host);
    if (name === undefined) return `malformed Host header ${quote(host)}`;
    if (isIP(name) || name === 'localhost' || name.endsWith('.localhost') || this.hosts.has(name)) return undefined;
    return (
      `Host ${quote(name)} is not a name of this server (allowed: IP addresses, localhost, ${[...this.hosts].filter((h) => h !== 'localhost').join(', ')}); ` +
      'add it to the allowed hosts if clients use it'
    );
  }

  /** Why the Origin header is refused, or undefined when absent or allowed. */
  checkOrigin(req: IncomingMessage): string | undefined {
    const origin = req.headers.origin;
    if (origin === undefined || this.anyOrigin) return undefined;
    const o = origin.toLowerCase().replace(/\/+$/, '');
    if (this.origins.has(o)) return undefined;
    let url: URL | undefined;
    try {
      url = new URL(o);
    } catch {
      url = undefined;
    }
    const host = req.headers.host?.toLowerCase();
    // same origin: the page was served by this server under the Host the browser is talking to
    if (url && (url.protocol === 'http:' || url.protocol === 'https:') && host !== undefined && url.host === host) {
      return undefined;
    }
    return `cross-site request refused: Origin ${quote(origin)} is not this server`;
  }

  /** Why a JSON-RPC POST's Content-Type is refused, or undefined for application/json. */
  checkContentType(req: IncomingMessage): string | undefined {
    const ct = req.headers['content-type'];
    const media = ct?.split(';')[0]?.trim().toLowerCase();
    if (media === 'application/json') return undefined;
    return `Content-Type must be application/json (got ${ct === undefined ? 'none' : quote(ct)})`;
  }
}

/** The lower-case host name of a Host header ("[::1]:80" → "::1", "a.b:1" → "a.b"), undefined if malformed. */
function hostName(host: string): string | undefined {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    if (end < 0) return undefined;
    const rest = h.slice(end + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
    return h.slice(1, end);
  }
  const m = /^([a-z0-9._-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1] : undefined;
}

/** Whether a request URL carries a token in its query string. */
export function hasQueryToken(url: string | undefined): boolean {
  const q = (url ?? '').indexOf('?');
  return q >= 0 && new URLSearchParams(url!.slice(q + 1)).has('token');
}

/** A request URL fit for a log line: the path only (a query string may hold a token). */
export function redactUrl(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  const path = q >= 0 ? `${u.slice(0, q)}?…` : u;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}
