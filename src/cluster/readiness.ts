/** How the supervisor tells that a daemon is ready: a line of its log, or a probe (HTTP, JSON-RPC) that answers. */
import { rpcCall } from './probe.js';

/** How to tell that a daemon is ready. */
export type Readiness =
  /** A line of its log (written after this start) matches. */
  | { log: RegExp }
  /** The probe resolves true (false or a throw: not yet). */
  | { probe: () => Promise<boolean>; what: string };

/** Readiness: something answers HTTP at this URL (any status: a 401 still means the server is up). */
export function httpReady(url: string, init: RequestInit = {}): Readiness {
  return {
    what: `an HTTP answer from ${url}`,
    probe: async () => {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), 2000);
      try {
        const res = await fetch(url, { ...init, signal: ac.signal });
        await res.arrayBuffer().catch(() => undefined);
        return true;
      } finally {
        clearTimeout(t);
      }
    },
  };
}

/** Readiness: a JSON-RPC call over HTTP POST gets a result (not an error). */
export function rpcReady(url: string, method: string, params: unknown[] = [], token?: string): Readiness {
  return {
    what: `${method} to answer at ${url}`,
    probe: async () => {
      await rpcCall(url, method, params, token, 2000);
      return true;
    },
  };
}
