import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { setupLogging } from '../common/log.js';
import {
  type ApiImpl,
  type CallContext,
  channel,
  createClient,
  createToken,
  defineApi,
  generateSecret,
  method,
  PushChannel,
  RpcError,
  RpcServer,
} from './index.js';

setupLogging({ levelSpec: 'warn,rpc=silent' });

export const TestAPI = defineApi('Test', {
  Add: method<[a: number, b: number], number>('read', 2),
  Echo: method<[v: unknown], unknown>('read', 1),
  Write: method<[s: string], void>('write', 1),
  Sign: method<[s: string], string>('sign', 1),
  Admin: method<[], string>('admin'),
  WhoAmI: method<[], { name: string; perm: string; transport: string }>('read'),
  Fail: method<[code: number, message: string], never>('read', 2),
  FailCoded: method<[], never>('read'),
  FailPlain: method<[], never>('read'),
  Bug: method<[], never>('read'),
  Slow: method<[ms: number], string>('read', 1),
  Native: method<[], { n: string; b: string }>('read'),
  Count: channel<[n: number], number>('read', 1),
  Forever: channel<[], number>('read'),
  Feed: channel<[], string>('read'),
});

/** A port nobody listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** Every value of a subscription, until it ends. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}

/** A promise and its resolve function. */
export function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

class SectorStateNotFound extends Error {
  readonly code = 11001;
}

// What the server saw, for the cancellation tests.
export const seen = {
  slowAborted: deferred<string>(),
  foreverEnded: deferred(),
  feedReturned: deferred(),
};

export const impl: ApiImpl<typeof TestAPI> = {
  Add: (a, b) => a + b,
  Echo: async (v) => v,
  Write: () => {},
  Sign: (s) => `signed:${s}`,
  Admin: () => 'admin ok',
  WhoAmI: (ctx) => ({ name: ctx.token?.name ?? '', perm: ctx.token?.perm ?? '', transport: ctx.transport }),
  Fail: (code, message) => {
    throw new RpcError(code, message);
  },
  FailCoded: () => {
    throw new SectorStateNotFound('sector state not found');
  },
  FailPlain: () => {
    throw new Error('wallet locked');
  },
  Bug: () => {
    const o = undefined as unknown as { x: { y: number } };
    return o.x.y as never;
  },
  Slow: async (ms, ctx) => {
    try {
      await sleep(ms, undefined, { signal: ctx.signal });
      return 'done';
    } catch (err) {
      seen.slowAborted.resolve(String((ctx.signal.reason as Error)?.message ?? err));
      throw err;
    }
  },
  Native: () => ({ n: 12345678901234567890n, b: new Uint8Array([1, 2, 3]) }) as unknown as { n: string; b: string },
  async *Count(n: number) {
    for (let i = 1; i <= n; i++) yield i;
  },
  async *Forever(ctx: CallContext) {
    try {
      for (let i = 0; ; i++) {
        yield i;
        await sleep(2, undefined, { signal: ctx.signal });
      }
    } finally {
      seen.foreverEnded.resolve();
    }
  },
  Feed: () => {
    const ch = new PushChannel<string>();
    ch.onReturn(() => seen.feedReturned.resolve());
    ch.push('a');
    ch.push('b');
    return ch;
  },
};

// Compile-time checks: these lines must not type-check (tsc runs over test files too).
function typeChecks(server: RpcServer) {
  // @ts-expect-error Add takes numbers
  server.register(TestAPI, { ...impl, Add: (a: string, b: string) => a + b });
  // @ts-expect-error Sign must return a string
  server.register(TestAPI, { ...impl, Sign: () => 42 });
  // @ts-expect-error a method is missing
  server.register(TestAPI, { Add: impl.Add });
  const c = createClient(TestAPI, { url: 'http://127.0.0.1:1/rpc/v0' });
  // @ts-expect-error wrong param type
  void c.Add('1', 2);
  // @ts-expect-error wrong param count
  void c.Add(1);
  const n: Promise<number> = c.Add(1, 2);
  // @ts-expect-error the param count must match the tuple
  method<[string, string], void>('read', 1);
  void n;
}
void typeChecks;

export const secret = generateSecret();
export let server: RpcServer;
/** http://127.0.0.1:<port> of the test server. */
export let base: string;
/** A token per permission, named user-<perm>. */
export const tokens: Record<string, string> = {};

/** A raw POST to the test server (the read token unless headers say otherwise). */
export async function post(body: string, headers: Record<string, string> = {}, path = '/rpc/v0') {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${tokens.read}`, ...headers },
    body,
  });
  const text = await res.text();
  return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
}

/** The test server for the calling test file: started before its tests, closed after them. */
export function useTestServer(): void {
  before(async () => {
    server = new RpcServer({ auth: secret, maxBodyBytes: 64 * 1024 });
    server.register(TestAPI, impl);
    server.route('GET', '/healthcheck', (_req, res) => {
      res.end('ok');
    });
    const { port } = await server.listen();
    base = `http://127.0.0.1:${port}`;
    for (const p of ['read', 'write', 'sign', 'admin'] as const) {
      tokens[p] = await createToken(secret, p, { name: `user-${p}` });
    }
  });

  after(async () => {
    await server.close();
  });
}
