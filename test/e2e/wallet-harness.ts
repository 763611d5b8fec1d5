/**
 * Drives the real venus-wallet processes (node dist/cli/venus-wallet.js; `npm run build` first) the way an operator
 * does: the daemon in the background with its log in a file (as `nohup … > wallet.log 2>&1 &`), the CLI commands
 * with their input on stdin. Every daemon started here is killed in `cleanup()`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runNode } from './common.js';

export { ROOT };

export const BIN = join(ROOT, 'dist/cli/venus-wallet.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class WalletHarness {
  /** HOME of the simulated operator: the default repo is $HOME/.venus_wallet. */
  readonly home = mkdtempSync(join(tmpdir(), 'wallet-e2e-'));
  readonly daemons = new Set<ChildProcess>();

  constructor(readonly extraArgs: string[] = []) {}

  get repo(): string {
    return join(this.home, '.venus_wallet');
  }

  env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: this.home, NODE_ENV: 'test' };
    delete env.VENUS_WALLET_PATH;
    delete env.VENUS_ADDRESS_TYPE;
    delete env.LOG_FORMAT;
    return env;
  }

  /** Runs `venus-wallet ARGS` with `input` on stdin (closed after); resolves when it exits. */
  cli(args: string[], input = '', timeoutMs = 20_000): Promise<CliResult> {
    return runNode([BIN, ...this.extraArgs, ...args], this.env(), this.home, {
      input,
      timeoutMs,
      what: `venus-wallet ${args.join(' ')}`,
    });
  }

  /** `venus-wallet run ARGS` in the background, log to `logName` in $HOME; waits for the API to answer. */
  async startDaemon(args: string[] = [], opts: { input?: string; logName?: string } = {}): Promise<Daemon> {
    const logPath = join(this.home, opts.logName ?? 'wallet.log');
    const start = existsSync(logPath) ? readFileSync(logPath, 'utf8').length : 0;
    const fd = openSync(logPath, 'a');
    const p = spawn(process.execPath, [BIN, ...this.extraArgs, 'run', ...args], {
      env: this.env(),
      cwd: this.home,
      stdio: ['pipe', fd, fd],
    });
    closeSync(fd);
    this.daemons.add(p);
    const exited = new Promise<number | null>((resolve) =>
      p.on('exit', (code, sig) => {
        this.daemons.delete(p);
        resolve(code ?? (sig ? -1 : null));
      }),
    );
    p.stdin!.end(opts.input ?? '');
    const d = new Daemon(p, logPath, exited);
    await d.waitForLog(/start rpc server at \[(\/ip[46]\/[^\]]+)\]/, 60_000, start);
    return d;
  }

  /** Writes $HOME/.venus_wallet/config.toml before the first start (fast scrypt for tests, a free port). */
  writeConfig(extra = ''): void {
    mkdirSync(this.repo, { recursive: true });
    writeFileSync(
      join(this.repo, 'config.toml'),
      `[API]\nListenAddress = "/ip4/127.0.0.1/tcp/0/http"\n\n[Factor]\nScryptN = 1024\nScryptP = 1\n${extra}`,
    );
  }

  async cleanup(): Promise<void> {
    for (const p of this.daemons) p.kill('SIGKILL');
    this.daemons.clear();
  }
}

export class Daemon {
  constructor(
    readonly proc: ChildProcess,
    readonly logPath: string,
    readonly exited: Promise<number | null>,
  ) {}

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, 'utf8') : '';
  }

  /** Polls the log file until `re` matches text written after `from`. */
  async waitForLog(re: RegExp, ms = 10_000, from = 0): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    let dead = false;
    void this.exited.then(() => {
      dead = true;
    });
    for (;;) {
      const m = this.log().slice(from).match(re);
      if (m) return m;
      if (dead) throw new Error(`daemon exited before ${re}:\n${this.log().slice(from)}`);
      if (Date.now() > end) throw new Error(`no ${re} in the daemon log within ${ms} ms:\n${this.log().slice(from)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  kill9(): Promise<number | null> {
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  async stop(): Promise<number | null> {
    this.proc.kill('SIGTERM');
    return this.exited;
  }
}
