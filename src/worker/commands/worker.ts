/**
 * `venus-worker worker list|pause -i N|resume -i N [-s STATE]`: the sealing threads of a running worker,
 * over its control API (VenusWorker.*). The worker is found with `-H host:port` (env VENUS_WORKER_HOST),
 * or `-c config` ([worker] rpc_server / [worker_server]), else 127.0.0.1:17890. The token is VENUS_WORKER_TOKEN,
 * else, with `-c`, the admin token the worker keeps in its auth_dir (docs/security-worker.md).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { WORKER_RPC_PORT, WorkerAPI, type WorkerThreadInfo } from '../../api/worker.js';
import { UserError } from '../../common/cli.js';
import { ConfigError } from '../../common/config.js';
import { createClient, ErrorCode, RpcConnectionError, RpcError } from '../../rpc/index.js';
import { loadWorkerConfig } from '../config.js';
import { isState, STATES } from '../sealing/index.js';

interface ConnOpts {
  host?: string;
  config?: string;
}

interface Conn {
  url: string;
  token?: string;
  /** Where a refused token came from, or how to get one. */
  tokenHint: string;
}

function connection(o: ConnOpts): Conn {
  let hostPort = o.host ?? process.env.VENUS_WORKER_HOST;
  let token = process.env.VENUS_WORKER_TOKEN?.trim() || undefined;
  let tokenHint = token
    ? 'the token in VENUS_WORKER_TOKEN'
    : "give the worker's config with -c (its auth_dir holds an admin token) or set VENUS_WORKER_TOKEN";
  if (o.config) {
    let c: ReturnType<typeof loadWorkerConfig>;
    try {
      c = loadWorkerConfig(o.config);
    } catch (err) {
      if (err instanceof ConfigError) throw new UserError(err.message);
      throw err;
    }
    if (!hostPort) {
      const h = c.rpcServer.host === '0.0.0.0' || c.rpcServer.host === '::' ? '127.0.0.1' : c.rpcServer.host;
      hostPort = `${h}:${c.rpcServer.port}`;
    }
    if (!token) {
      const file = join(c.rpcServer.authDir, 'token');
      try {
        token = readFileSync(file, 'utf8').trim() || undefined;
        tokenHint = `the token in ${file}`;
      } catch (err) {
        tokenHint = `no token: cannot read ${file} (${(err as NodeJS.ErrnoException).code}); has the worker started once?`;
      }
    }
  }
  hostPort ??= `127.0.0.1:${WORKER_RPC_PORT}`;
  const url = /^https?:\/\//.test(hostPort) ? hostPort : `http://${hostPort}/rpc/v0`;
  return { url, token, tokenHint };
}

async function withWorker<T>(o: ConnOpts, fn: (c: ReturnType<typeof createClient<typeof WorkerAPI>>) => Promise<T>) {
  const { url, token, tokenHint } = connection(o);
  const c = createClient(WorkerAPI, { url, token, timeoutMs: 15_000 });
  try {
    return await fn(c);
  } catch (err) {
    if (err instanceof RpcConnectionError) throw new UserError(`cannot reach the worker at ${url}: ${err.message}`);
    if (err instanceof RpcError && err.code === ErrorCode.Unauthorized) {
      throw new UserError(`the worker refused the call: ${err.message} (${tokenHint})`);
    }
    if (err instanceof RpcError) throw new UserError(err.message);
    throw err;
  } finally {
    await c.close();
  }
}

function elapsed(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${m}m${sec}s` : m ? `${m}m${sec}s` : `${sec}s`;
}

/** The table `worker list` prints. */
export function formatThreads(list: WorkerThreadInfo[]): string {
  const rows = [['#', 'location', 'sector', 'state', 'stage', 'thread', 'elapsed', 'last error']];
  for (const t of list) {
    const ts = t.thread_state;
    rows.push([
      String(t.index),
      t.location,
      t.job_id ?? '-',
      t.job_state,
      t.job_stage ?? '-',
      ts.proc ? `${ts.state}(${ts.proc})` : ts.state,
      elapsed(ts.elapsed),
      t.last_error ?? '-',
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

function index(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`-i/--index: expected a thread number, not "${v}"`);
  return n;
}

export function registerWorkerCommands(program: Command): Command {
  const worker = program
    .command('worker')
    .description('list, pause and resume the sealing threads of a running worker')
    .option(
      '-H, --host <host:port>',
      `the worker's control API (env VENUS_WORKER_HOST; default 127.0.0.1:${WORKER_RPC_PORT})`,
    )
    .option(
      '-c, --config <file>',
      "read the control API address and the admin token from the worker's config (token: env VENUS_WORKER_TOKEN)",
    );
  worker
    .command('list')
    .description('one line per sealing thread')
    .option('--json', 'print the threads as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const list = await withWorker(cmd.optsWithGlobals(), (c) => c.WorkerList());
      process.stdout.write(opts.json ? `${JSON.stringify(list, null, 2)}\n` : formatThreads(list));
    });
  worker
    .command('pause')
    .description('pause a thread after its current step')
    .requiredOption('-i, --index <n>', 'thread number (see worker list)', index)
    .action(async (opts: { index: number }, cmd: Command) => {
      const ok = await withWorker(cmd.optsWithGlobals(), (c) => c.WorkerPause(opts.index));
      process.stdout.write(ok ? `thread ${opts.index} pausing\n` : `thread ${opts.index} is already paused\n`);
    });
  worker
    .command('resume')
    .description('resume a paused thread, optionally moving its sector to STATE first (Aborted drops it)')
    .requiredOption('-i, --index <n>', 'thread number (see worker list)', index)
    .option('-s, --state <state>', `state to resume in: ${STATES.join(', ')}`)
    .action(async (opts: { index: number; state?: string }, cmd: Command) => {
      if (opts.state !== undefined && !isState(opts.state)) {
        throw new UserError(`-s/--state: unknown state "${opts.state}" (expected one of ${STATES.join(', ')})`);
      }
      const ok = await withWorker(cmd.optsWithGlobals(), (c) => c.WorkerResume(opts.index, opts.state ?? null));
      process.stdout.write(ok ? `thread ${opts.index} resumed\n` : `thread ${opts.index} is not paused\n`);
    });
  return worker;
}
