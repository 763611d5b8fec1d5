/**
 * What the end-to-end tests share: running a program to completion, polling until something holds, and the wallet's part for an in-process
 * devnet (register with its gateway, sign with the genesis keys) where a test does not run venus-wallet itself.
 */
import { spawn } from 'node:child_process';
import { startGenesisWallet } from '../../src/devnet/genesis-wallet.js';
import type { DevnetService } from '../../src/devnet/service.js';
import type { KeyInfo } from '../../src/fil/index.js';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node …args` to its end; stdout and stderr collected. With `input`, that is the whole of its stdin; with
 * `timeoutMs`, a run past it is killed (SIGKILL) and the promise rejects with what it wrote to stderr.
 */
export function runNode(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  cwd = ROOT,
  o: { input?: string; timeoutMs?: number; what?: string } = {},
): Promise<Exited> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { env, cwd });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    p.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    const t =
      o.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            p.kill('SIGKILL');
            reject(new Error(`${o.what ?? args.join(' ')} did not finish in ${o.timeoutMs} ms\n${stderr}`));
          }, o.timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    if (o.input !== undefined) p.stdin.end(o.input);
  });
}

/** Polls `fn` every `every` ms until it returns something other than undefined; throws after `ms`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number, every = 500): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** A CLI from the sources (through tsx), logging in the text format the tests read. */
export function runCli(cli: string, args: string[]): Promise<Exited> {
  return runNode(['--import', 'tsx', cli, ...args], { ...process.env, RUST_LOG: 'info', LOG_FORMAT: 'text' });
}

/** The wallet's part for the devnet: register with the gateway and sign with the genesis keys. */
export async function startDevnetWallet(devnet: DevnetService, keys: KeyInfo[]): Promise<() => void> {
  const stop = await startGenesisWallet(devnet, keys);
  return () => void stop();
}
