/**
 * `[SignFilter] Expr`: the original's sign filter. Before signing anything but the gateway's verifyaddress
 * challenge, the wallet runs `sh -c "<Expr>"` with the request as JSON on stdin:
 *
 *   {"SignType": "message", "Data": {<the message in Lotus JSON, with "CID">}}
 *   {"SignType": "unknown", "Data": "<base64 of the bytes to sign>"}
 *
 * Exit status 0 allows the request; anything else refuses it, with the command's output (bounded) as the reason.
 * A filter that does not answer within the timeout refuses. Examples (jq, a node script) are in docs/wallet.md.
 * Expr comes from config.toml, which only the operator can write (0600): it runs as the wallet's user.
 */
import { spawn } from 'node:child_process';
import { logger } from '../common/log.js';
import { decodeMessage, messageToJSON, type Network, toBase64 } from '../fil/index.js';
import { WalletError } from './keystore.js';

const log = logger('wallet');

/** What the filter sees ("SignMsg" in the original). */
export interface SignFilterInput {
  SignType: string;
  Data: unknown;
}

export interface SignFilterOptions {
  /** The shell command ([SignFilter] Expr); empty = allow everything. */
  expr: string;
  /** Milliseconds before an unanswered filter counts as a refusal (default 10 s). */
  timeoutMs?: number;
  network?: Network;
}

const MAX_OUTPUT = 4096;
const MAX_REASON = 300;

/** The filter's view of a sign request: the message decoded for "message", else the raw bytes. */
export function signFilterInput(type: string, toSign: Uint8Array, extra: Uint8Array | undefined, network?: Network) {
  if (type === 'message' && extra) {
    return { SignType: type, Data: messageToJSON(decodeMessage(extra), network) };
  }
  return { SignType: type, Data: toBase64(toSign) };
}

export class SignFilter {
  private readonly timeoutMs: number;

  constructor(private readonly opts: SignFilterOptions) {
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  get enabled(): boolean {
    return this.opts.expr.trim() !== '';
  }

  /** Resolves when the filter allows the request; throws a WalletError ('refused') naming its reason otherwise. */
  async check(input: SignFilterInput): Promise<void> {
    if (!this.enabled) return;
    const { code, output } = await this.run(`${JSON.stringify(input, null, 2)}\n`);
    if (code === 0) return;
    const reason = output.trim().slice(0, MAX_REASON) || `exit ${code}`;
    log.warn({ type: input.SignType, reason }, 'sign request refused by [SignFilter]');
    throw new WalletError(`sign request refused by [SignFilter] Expr: ${reason}`, 'refused');
  }

  private run(stdin: string): Promise<{ code: number | string; output: string }> {
    return new Promise((resolve) => {
      let output = '';
      let settled = false;
      const done = (code: number | string, extra = '') => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ code, output: extra || output });
      };
      const child = spawn('sh', ['-c', this.opts.expr], { stdio: ['pipe', 'pipe', 'pipe'] });
      const collect = (c: Buffer) => {
        if (output.length < MAX_OUTPUT) output += c.toString('utf8').slice(0, MAX_OUTPUT - output.length);
      };
      child.stdout.on('data', collect);
      child.stderr.on('data', collect);
      child.on('error', (err) => done('spawn', `cannot run the filter: ${err.message}`));
      child.on('close', (code, signal) => done(code ?? `signal ${signal}`));
      // a filter that exits without reading its input is fine: ignore EPIPE
      child.stdin.on('error', () => {});
      child.stdin.end(stdin);
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        done('timeout', `the filter did not answer within ${this.timeoutMs} ms`);
      }, this.timeoutMs);
    });
  }
}
