/**
 * `venus-worker processor <stage>`: the child side of the external processor protocol, serving the
 * in-process implementation of one stage. The worker starts it for `[processors.<stage>]` without `bin`.
 * stdout carries only protocol lines; logs go to stderr.
 */
import type { Command } from 'commander';
import { UserError } from '../../common/cli.js';
import { BUILTIN, STAGES, type Stage, serveProcessor } from '../processor/index.js';

export function registerProcessorCommand(program: Command): Command {
  return program
    .command('processor')
    .description('run as an external processor for a stage (speaks JSON lines on stdin/stdout)')
    .argument('<stage>', `one of ${STAGES.join(', ')}`)
    .action(async (stage: string) => {
      if (!(STAGES as readonly string[]).includes(stage)) {
        throw new UserError(`unknown stage "${stage}" (expected one of ${STAGES.join(', ')})`);
      }
      const impl = BUILTIN[stage as Stage] as (task: unknown) => Promise<unknown>;
      await serveProcessor(stage, impl);
    });
}
