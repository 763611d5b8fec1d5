/**
 * `npx venus-wallet run` starts three processes: `npm exec venus-wallet run`, a `sh -c venus-wallet run` and the
 * daemon (node). An operator following `ps -ef | grep wallet` + `kill -9 <pid>` picks the first line, npm, and the
 * daemon used to live on, holding the repo. So a daemon started through npm exec watches that npm process and stops
 * when it is gone. A daemon started directly (`node dist/cli/venus-wallet.js run`, or after `npm link`, as
 * docs/wallet.md recommends) watches nothing: `nohup … &` must outlive its shell. Linux only (/proc); elsewhere
 * nothing is watched.
 */
import { readFileSync } from 'node:fs';

function cmdline(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so read after the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number.parseInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '', 10);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

const NPM = /(^|\/)(npm|npx)(-cli\.js)?$/;
const SHELL = /(^|\/)(sh|bash|dash)$/;

/**
 * The pid of the `npm exec` / `npx` process this daemon was started by, when the chain up to it is only npm and
 * the shell it runs `venus-wallet` in; undefined otherwise (started directly, or by another program).
 */
export function npmLauncher(env: NodeJS.ProcessEnv = process.env, ppid = process.ppid): number | undefined {
  if (env.npm_command !== 'exec' && env.npm_lifecycle_event !== 'npx') return undefined;
  let pid: number | undefined = ppid;
  for (let depth = 0; depth < 3 && pid !== undefined && pid > 1; depth++) {
    const cmd = cmdline(pid);
    if (!cmd || cmd.length === 0) return undefined;
    // npm sets its title to "npm exec …"; without it, it is "node …/npm-cli.js exec …"
    if (cmd[0] === 'npm' || cmd[0]!.startsWith('npm ') || cmd.slice(0, 2).some((a) => NPM.test(a))) return pid;
    if (!(SHELL.test(cmd[0]!) && cmd.join(' ').includes('venus-wallet'))) return undefined;
    pid = parentOf(pid);
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // a killed process its parent has not reaped yet is a zombie: gone for our purpose
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Calls `onGone` once when `pid` exits (checked every `everyMs`); returns the function that stops watching. */
export function watchLauncher(pid: number, onGone: () => void, everyMs = 1000): () => void {
  const t = setInterval(() => {
    if (alive(pid)) return;
    clearInterval(t);
    onGone();
  }, everyMs);
  t.unref();
  return () => clearInterval(t);
}
