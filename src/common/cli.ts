/** Shared plumbing for the thin CLI entry points: global flags, logging, error exit. */
import { type Command, CommanderError } from 'commander';
import { setupLogging } from './log.js';

/** An error meant for the operator: printed as one line, without a stack trace. */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Adds --log-level and applies it before any action runs. */
export function withLogging(program: Command): Command {
  program.option('--log-level <spec>', 'log level, e.g. "info" or "info,rpc=debug" (env: RUST_LOG, GOLOG_LOG_LEVEL)');
  program.option('--log-format <format>', 'log output: text or json (env: LOG_FORMAT)');
  program.hook('preAction', (cmd) => {
    const o = cmd.optsWithGlobals() as { logLevel?: string; logFormat?: string };
    if (o.logFormat !== undefined && o.logFormat !== 'text' && o.logFormat !== 'json') {
      throw new UserError(`--log-format must be "text" or "json", not "${o.logFormat}"`);
    }
    setupLogging({ levelSpec: o.logLevel, format: o.logFormat as 'text' | 'json' | undefined });
  });
  return program;
}

/** A subcommand whose implementation has not landed yet: listed in --help, refuses to run. */
export function pending(cmd: Command, what: string): Command {
  return cmd.allowUnknownOption(true).action(() => {
    throw new UserError(`${what} is not implemented yet in this build`, 2);
  });
}

/** Parses argv and turns thrown errors into a clear message and exit code. */
export async function runMain(program: Command, argv = process.argv): Promise<void> {
  program.exitOverride();
  program.configureOutput({ outputError: (str, write) => write(str) });
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // help and version are "errors" to commander; their exit code is 0
      process.exitCode = err.exitCode;
      return;
    }
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`Error: ${msg}\n`);
    if (process.env.VENUS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof UserError ? err.exitCode : 1;
  }
}
