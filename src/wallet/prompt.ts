/**
 * Reading secrets for the CLI. From a terminal: the prompt, then input without echo ("*" per character, as the
 * original's gopass prompt). From anything else (a pipe, a file, a test): one line per question from stdin, so
 * scripts drive every command: `printf 'pw\npw\n' | venus-wallet setpwd`.
 * Prompts go to stderr so stdout carries only the command's result (`venus-wallet export ADDR > key.hex`).
 */
import type { Readable, Writable } from 'node:stream';
import { UserError } from '../common/cli.js';

export interface PromptIO {
  input: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  output: Writable;
}

const defaultIO = (): PromptIO => ({ input: process.stdin, output: process.stderr });

/** Lines of a non-terminal input, shared by successive questions (setpwd reads two). */
class LineQueue {
  private buffer = '';
  private ended = false;
  private waiting: (() => void) | undefined;
  private attached = false;

  constructor(private readonly input: Readable) {}

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.input.setEncoding('utf8');
    this.input.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiting?.();
    });
    this.input.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
    this.input.on('error', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  /** The next line without its line ending; undefined at end of input with nothing left. */
  async line(): Promise<string | undefined> {
    this.attach();
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl >= 0) {
        const line = this.buffer.slice(0, nl).replace(/\r$/, '');
        this.buffer = this.buffer.slice(nl + 1);
        if (this.buffer === '' && !this.ended) this.input.pause();
        return line;
      }
      if (this.ended) {
        if (this.buffer === '') return undefined;
        const rest = this.buffer;
        this.buffer = '';
        return rest.replace(/\r$/, '');
      }
      this.input.resume();
      await new Promise<void>((r) => {
        this.waiting = r;
      });
      this.waiting = undefined;
    }
  }

  /** Everything left, to the end of input. */
  async rest(): Promise<string> {
    this.attach();
    while (!this.ended) {
      this.input.resume();
      await new Promise<void>((r) => {
        this.waiting = r;
      });
      this.waiting = undefined;
    }
    const out = this.buffer;
    this.buffer = '';
    return out;
  }
}

const queues = new WeakMap<Readable, LineQueue>();
function queueOf(input: Readable): LineQueue {
  let q = queues.get(input);
  if (!q) {
    q = new LineQueue(input);
    queues.set(input, q);
  }
  return q;
}

/** Reads a line from a terminal in raw mode, echoing "*" (or nothing) per character. */
function readHidden(io: PromptIO, mask: string): Promise<string> {
  const input = io.input;
  return new Promise<string>((resolve, reject) => {
    let value = '';
    input.setRawMode?.(true);
    input.setEncoding('utf8');
    input.resume();
    const done = (err?: Error) => {
      input.off('data', onData);
      input.setRawMode?.(false);
      input.pause();
      io.output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new UserError('interrupted', 130));
        if (ch === '\u0004') {
          if (value === '') return done(new UserError('no password given'));
          return done();
        }
        if (ch === '\u007f' || ch === '\b') {
          if (value.length > 0) {
            value = value.slice(0, -1);
            if (mask) io.output.write('\b \b');
          }
          continue;
        }
        if (ch < ' ') continue;
        value += ch;
        if (mask) io.output.write(mask);
      }
    };
    input.on('data', onData);
  });
}

/** Asks for a secret: hidden on a terminal, one line of stdin otherwise. */
export async function readPassword(prompt: string, io: PromptIO = defaultIO()): Promise<string> {
  io.output.write(prompt);
  if (io.input.isTTY && io.input.setRawMode) return readHidden(io, '*');
  const line = await queueOf(io.input).line();
  io.output.write('\n');
  if (line === undefined) throw new UserError('no password given on stdin');
  return line;
}

/**
 * Reads input for `import`: one line from a terminal, not echoed (it is a private key); everything from a pipe or
 * file (a JSON key may span lines).
 */
export async function readInput(prompt: string, io: PromptIO = defaultIO()): Promise<string> {
  if (io.input.isTTY && io.input.setRawMode) {
    io.output.write(prompt);
    return readHidden(io, '');
  }
  return queueOf(io.input).rest();
}
