/**
 * Endpoints as operators write them (docs/spec/chain.md §Endpoints):
 *   API-info strings   "<token>:/ip4/127.0.0.1/tcp/1234/http"   (FULLNODE_API_INFO, `auth api-info`)
 *   multiaddrs         /ip4/…, /ip6/…, /dns/…, /dns4/…, /dns6/… + /tcp/<port> + /http | /https | /ws | /wss
 *   plain URLs         http://host:port  (the RPC path is appended)
 * Multiaddr → URL follows venus-shared DialArgs: no scheme component means ws://; a /version/vN component
 * overrides the API version.
 */

export type Scheme = 'http' | 'https' | 'ws' | 'wss';

export interface Endpoint {
  scheme: Scheme;
  /** Host name or IP (IPv6 without brackets). */
  host: string;
  port: number;
  /** API version from a /version/vN component, if present. */
  version?: string;
}

function bad(ma: string, why: string): Error {
  return new Error(`invalid multiaddr "${ma}": ${why}`);
}

/** Parse a multiaddr such as /ip4/127.0.0.1/tcp/1234/http. */
export function parseMultiaddr(ma: string, opts: { defaultScheme?: Scheme } = {}): Endpoint {
  const s = ma.trim();
  if (!s.startsWith('/')) throw bad(ma, 'must start with "/"');
  const parts = s.split('/').slice(1);
  if (parts[parts.length - 1] === '') parts.pop();
  let host: string | undefined;
  let port: number | undefined;
  let scheme: Scheme | undefined;
  let tls = false;
  let version: string | undefined;
  for (let i = 0; i < parts.length; i++) {
    const proto = parts[i];
    const needValue = (): string => {
      const v = parts[++i];
      if (v === undefined || v === '') throw bad(ma, `/${proto} needs a value`);
      return v;
    };
    switch (proto) {
      case 'ip4': {
        const v = needValue();
        if (!isIPv4(v)) throw bad(ma, `"${v}" is not an IPv4 address`);
        host = v;
        break;
      }
      case 'ip6': {
        const v = needValue();
        if (!v.includes(':') || !/^[0-9a-fA-F:.]+$/.test(v)) throw bad(ma, `"${v}" is not an IPv6 address`);
        host = v;
        break;
      }
      case 'dns':
      case 'dns4':
      case 'dns6':
      case 'dnsaddr': {
        const v = needValue();
        if (!/^[A-Za-z0-9.-]+$/.test(v)) throw bad(ma, `"${v}" is not a host name`);
        host = v;
        break;
      }
      case 'tcp': {
        const v = needValue();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) throw bad(ma, `"${v}" is not a TCP port`);
        port = n;
        break;
      }
      case 'tls':
        tls = true;
        break;
      case 'http':
      case 'https':
      case 'ws':
      case 'wss':
        if (scheme) throw bad(ma, `two schemes (/${scheme} and /${proto})`);
        scheme = proto;
        break;
      case 'version':
        version = needValue();
        break;
      default:
        throw bad(ma, `unsupported component /${proto}`);
    }
  }
  if (host === undefined) throw bad(ma, 'no /ip4, /ip6 or /dns host');
  if (port === undefined) throw bad(ma, 'no /tcp port');
  scheme ??= opts.defaultScheme ?? 'ws';
  if (tls) scheme = scheme === 'http' ? 'https' : scheme === 'ws' ? 'wss' : scheme;
  const ep: Endpoint = { scheme, host, port };
  if (version !== undefined) ep.version = version;
  return ep;
}

function isIPv4(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every((x) => /^\d{1,3}$/.test(x) && Number(x) <= 255);
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** Endpoint → base URL without path, e.g. "http://127.0.0.1:1234". */
export function endpointToUrl(ep: Endpoint): string {
  return `${ep.scheme}://${hostForUrl(ep.host)}:${ep.port}`;
}

/** Multiaddr → base URL without path. */
export function multiaddrToUrl(ma: string, opts: { defaultScheme?: Scheme } = {}): string {
  return endpointToUrl(parseMultiaddr(ma, opts));
}

/** URL → multiaddr: "http://127.0.0.1:1234/rpc/v0" → "/ip4/127.0.0.1/tcp/1234/http" (the path is dropped). */
export function urlToMultiaddr(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid URL "${url}"`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!['http', 'https', 'ws', 'wss'].includes(scheme)) throw new Error(`unsupported URL scheme "${scheme}" in ${url}`);
  const port = u.port ? Number(u.port) : scheme === 'https' || scheme === 'wss' ? 443 : 80;
  let host = u.hostname;
  let proto: string;
  if (host.startsWith('[')) {
    host = host.slice(1, -1);
    proto = 'ip6';
  } else if (isIPv4(host)) proto = 'ip4';
  else proto = 'dns';
  return `/${proto}/${host}/tcp/${port}/${scheme}`;
}

export interface ApiInfo {
  /** The token part, if any. */
  token?: string;
  /** Full RPC URL, e.g. "ws://127.0.0.1:1234/rpc/v1". */
  url: string;
  /** The address as given (multiaddr or URL). */
  addr: string;
}

// venus-shared api_info.go: a JWT (three base64url parts) followed by ":".
const INFO_WITH_TOKEN = /^([a-zA-Z0-9\-_]+?\.[a-zA-Z0-9\-_]+?\.(?:[a-zA-Z0-9\-_]+)?):(.+)$/;

/**
 * Parse "TOKEN:/ip4/…/tcp/…/http", a bare multiaddr, or a URL ("http://host:port", with or without a path).
 * The RPC path `/rpc/<version>` is appended (a /version/vN multiaddr component wins over `opts.version`);
 * a URL that already has a path keeps it.
 */
export function parseApiInfo(info: string, opts: { version?: string; defaultScheme?: Scheme } = {}): ApiInfo {
  const s = info.trim();
  if (!s) throw new Error('empty API info (expected "TOKEN:/ip4/<ip>/tcp/<port>/http" or a URL)');
  let token: string | undefined;
  let addr = s;
  const m = INFO_WITH_TOKEN.exec(s);
  if (m) {
    token = m[1];
    addr = m[2]!;
  }
  const version = opts.version ?? 'v0';
  let url: string;
  if (addr.startsWith('/')) {
    const ep = parseMultiaddr(addr, opts.defaultScheme ? { defaultScheme: opts.defaultScheme } : {});
    url = `${endpointToUrl(ep)}/rpc/${ep.version ?? version}`;
  } else {
    let u: URL;
    try {
      u = new URL(addr);
    } catch {
      throw new Error(
        `invalid API address "${addr}" (expected a multiaddr like /ip4/127.0.0.1/tcp/1234/http or a URL)`,
      );
    }
    if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) {
      throw new Error(`unsupported URL scheme "${u.protocol}" in "${addr}"`);
    }
    url = u.pathname === '/' || u.pathname === '' ? `${addr.replace(/\/+$/, '')}/rpc/${version}` : addr;
  }
  const out: ApiInfo = { url, addr };
  if (token !== undefined) out.token = token;
  return out;
}

/** "TOKEN:/ip4/…" as `auth api-info` prints it. */
export function formatApiInfo(token: string, multiaddr: string): string {
  return `${token}:${multiaddr}`;
}

/**
 * Where a server should listen: a multiaddr ("/ip4/0.0.0.0/tcp/5678/http"), "host:port", ":port", a URL,
 * or a bare port number.
 */
export function parseListenAddress(addr: string | number): { host: string; port: number } {
  if (typeof addr === 'number') return { host: '127.0.0.1', port: checkPort(addr, String(addr)) };
  const s = addr.trim();
  if (s.startsWith('/')) {
    const ep = parseMultiaddr(s, { defaultScheme: 'http' });
    return { host: ep.host, port: ep.port };
  }
  if (/^[a-z]+:\/\//i.test(s)) {
    const u = new URL(s);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: checkPort(Number(u.port || 80), s) };
  }
  if (/^\d+$/.test(s)) return { host: '127.0.0.1', port: checkPort(Number(s), s) };
  const i = s.lastIndexOf(':');
  if (i < 0) throw new Error(`invalid listen address "${addr}" (expected /ip4/<ip>/tcp/<port>, host:port or a URL)`);
  const host = s.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: checkPort(Number(s.slice(i + 1)), s) };
}

function checkPort(n: number, s: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port in "${s}"`);
  return n;
}
