/**
 * A throwaway PostgreSQL server for tests and the local cluster runner (docs/manager-db.md): initdb in a directory
 * of the caller's, password auth (scram) with a random password, 127.0.0.1 only on a free port, a database
 * "venus". Binaries from PATH or Debian's /usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root: as
 * root, the server runs as the `postgres` user (Debian's package makes it), else `nobody`.
 *
 * The server dies with its owner: a small detached watcher (sh) checks every second that the owning process is
 * alive and, once it is gone without stopping the server (kill -9), shuts the server down and removes its
 * directory, so a killed test or runner leaves no PostgreSQL behind.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface LocalPostgres {
  /** postgres://venus:<password>@127.0.0.1:<port>/venus */
  dsn: string;
  port: number;
  /** Stops the server (fast shutdown) and removes its directory. */
  stop(): Promise<void>;
}

/** A server this process started: it can also be stopped and started again in place. */
export interface LocalPostgresServer extends LocalPostgres {
  /** Stops the server and keeps its files (tests: a database that went away). */
  halt(): Promise<void>;
  /** Starts a halted server again, on the same port. */
  resume(): Promise<void>;
}

export interface LocalPostgresOptions {
  /** a directory for the server's files (created; removed by stop) */
  dir: string;
  log?: (line: string) => void;
  /** tests only: fsync off (a crash of the machine loses the data) */
  fast?: boolean;
  /** the process the server dies with (default this one); 0: none, it outlives whoever started it */
  owner?: number;
}

/** The directory holding initdb and pg_ctl, or undefined. */
function binDir(): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter))
    if (d && existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl'))) return d;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const d = join(root, v, 'bin');
    if (existsSync(join(d, 'initdb')) && existsSync(join(d, 'pg_ctl'))) return d;
  }
  return undefined;
}

/** Whether a local PostgreSQL can be started here (initdb and pg_ctl found). */
export function pgAvailable(): boolean {
  return binDir() !== undefined;
}

/** The user the server runs as: ourselves, or as root `postgres` (else `nobody`). */
function serverUser(): { uid: number; gid: number; name: string } | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
      if (Number.isInteger(uid) && Number.isInteger(gid)) return { uid, gid, name };
    } catch {
      // no such user: the next
    }
  }
  throw new Error('running as root and neither a "postgres" nor a "nobody" user exists to run PostgreSQL as');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startLocalPostgres(o: LocalPostgresOptions): Promise<LocalPostgresServer> {
  const bin = binDir();
  if (!bin)
    throw new Error('PostgreSQL not found: install it (Debian: apt-get install postgresql) or put initdb on PATH');
  const log = o.log ?? (() => {});
  const user = serverUser();
  const data = join(o.dir, 'data');
  const sock = join(o.dir, 'sock');
  const pwfile = join(o.dir, 'pwfile');
  mkdirSync(sock, { recursive: true });
  const password = randomBytes(18).toString('base64url');
  writeFileSync(pwfile, password, { mode: 0o600 });
  if (user) for (const p of [o.dir, sock, pwfile]) chownSync(p, user.uid, user.gid);
  const as = {
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
    cwd: o.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' },
  };
  const fail = (what: string, e: unknown): never => {
    const err = e as { stderr?: string; stdout?: string; message?: string };
    throw new Error(`${what} failed: ${(err.stderr || err.stdout || err.message || String(e)).trim().slice(-2000)}`);
  };
  log(`initdb ${data}${user ? ` as ${user.name}` : ''}`);
  await run(
    join(bin, 'initdb'),
    [
      '-D',
      data,
      '-U',
      'venus',
      '--auth=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--locale=C',
      ...(o.fast ? ['--no-sync'] : []),
    ],
    as,
  ).catch((e) => fail('initdb', e));
  rmSync(pwfile, { force: true });

  let port = 0;
  const pgStart = () => {
    const opts = [`-k ${sock}`, '-c listen_addresses=127.0.0.1', `-p ${port}`];
    if (o.fast) opts.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
    return run(
      join(bin, 'pg_ctl'),
      ['-D', data, '-l', join(o.dir, 'server.log'), '-w', '-t', '60', '-o', opts.join(' '), 'start'],
      as,
    );
  };
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await pgStart();
      break;
    } catch (e) {
      // the free port went to someone else between the probe and the bind: another one
      if (attempt >= 3) fail(`pg_ctl start (see ${join(o.dir, 'server.log')})`, e);
    }
  }
  log(`PostgreSQL on 127.0.0.1:${port}`);
  const owner = o.owner ?? process.pid;
  if (owner > 0) watchOwner(owner, o.dir, data);
  const base = `postgres://venus:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE venus');
  } finally {
    await admin.end();
  }
  let stopped = false;
  const pgStop = () => run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'], as);
  return {
    dsn: `${base}/venus`,
    port,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pgStop().catch((e) => log(`pg_ctl stop: ${e}`));
      rmSync(o.dir, { recursive: true, force: true });
    },
    halt: async () => {
      await pgStop().catch((e) => fail('pg_ctl stop', e));
    },
    resume: async () => {
      await pgStart().catch((e) => fail(`pg_ctl start (see ${join(o.dir, 'server.log')})`, e));
      if (owner > 0) watchOwner(owner, o.dir, data);
    },
  };
}

/**
 * A detached sh that outlives `owner`: while the owner lives and the server runs it sleeps; when the owner is
 * gone with the server still running, it asks the postmaster for a fast shutdown (SIGINT), waits for it and
 * removes `dir`. A server stopped normally (its postmaster.pid gone) ends the watcher within a second.
 */
function watchOwner(owner: number, dir: string, data: string): void {
  const pidFile = join(data, 'postmaster.pid');
  const script = [
    'while kill -0 "$1" 2>/dev/null && [ -f "$2" ]; do sleep 1; done',
    '[ -f "$2" ] || exit 0',
    'pm=$(head -n 1 "$2")',
    'case "$pm" in ""|*[!0-9]*) exit 0;; esac',
    'kill -INT "$pm" 2>/dev/null',
    'i=0; while kill -0 "$pm" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done',
    'kill -0 "$pm" 2>/dev/null && kill -QUIT "$pm" 2>/dev/null',
    'rm -rf "$3"',
  ].join('\n');
  const w = spawn('/bin/sh', ['-c', script, 'pg-owner-watch', String(owner), pidFile, dir], {
    detached: true,
    stdio: 'ignore',
  });
  w.on('error', () => {}); // no sh: the server outlives a killed owner, as before
  w.unref();
}

/** Stops a server started by startLocalPostgres from a process's exit path (synchronous). */
export function stopLocalPostgresSync(dir: string): void {
  const bin = binDir();
  if (!bin) return;
  const user = serverUser();
  try {
    execFileSync(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop'], {
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      stdio: 'ignore',
    });
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
}
